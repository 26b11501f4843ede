"""The consumer's 前置库 (R22.1): checks of the DSN and table a subscription names, the connection, the target table.

Target table (created if missing): `record_id bigint primary key` (the platform's record id: stable and unique, where
a masked subject key would not be), `data jsonb` — the record exactly as the pull serves it (so it can be posted to
/api/v1/verify/ as it is), `updated_at timestamptz`, `deleted boolean`, `pushed_at timestamptz`, `trace text` (the
trace id of the run that last wrote the row: its `sharing.push.delivered` event names the subscription, consumer,
grant, purpose and time; `manage.py trace_leak` finds it in a leaked dump of the table). JSONB rather than typed
columns: the granted items change with grants and catalog update cases, and no DDL on the consumer's side is needed
then. JSONB keeps no formatting (key order, spaces, quoting are normalised), so a pushed row cannot carry the
download's kind of fingerprint: its trace is the `trace` column, which whoever copies the rows can leave out — the
documented limit of tracing pushed data. A table made before the column existed gets it added (`ALTER TABLE … ADD
COLUMN IF NOT EXISTS`); where the consumer's role may not alter its table, rows are pushed without it (the run's event
says `traced: false`). A deleted record is kept as a row with `deleted = true` and its values removed (as the
incremental pull reports it), so the consumer sees deletions.
"""

from __future__ import annotations

import ipaddress

import psycopg
from django.conf import settings
from django.utils.translation import gettext as _
from psycopg import sql

from portal.errors import PortalError

from ..models.push import TABLE_NAME_RE
from .errors import PushFailed

CONNECT_TIMEOUT = 5  # seconds: a dead 前置库 must not hold a worker
MAX_DSN_LENGTH = 500
# DSN keywords a consumer may set: nothing that reads the platform's own files (passfile, service, sslkey …) or
# changes our session (options).
DSN_KEYWORDS = frozenset({"host", "hostaddr", "port", "dbname", "user", "password", "sslmode",
                          "target_session_attrs", "connect_timeout", "application_name"})
TARGET_STATEMENT_TIMEOUT_MS = 10 * 60 * 1000
TARGET_COLUMNS = {"record_id", "data", "updated_at", "deleted", "pushed_at"}
TRACE_COLUMN = "trace"


def parse_dsn(dsn: str) -> dict:
    """The DSN's parts (URI or key=value); raises PortalError `invalid` without echoing the DSN."""
    dsn = (dsn or "").strip()
    bad = PortalError(_("前置库连接串无效：请填写 postgresql://用户:口令@主机:端口/库名"),
                      errors={"dsn": [_("连接串无效")]})
    if not dsn or len(dsn) > MAX_DSN_LENGTH:
        raise bad
    try:
        parts = psycopg.conninfo.conninfo_to_dict(dsn)
    except psycopg.ProgrammingError as exc:
        raise bad from exc
    host = parts.get("host") or parts.get("hostaddr")
    if not host or not parts.get("dbname") or set(parts) - DSN_KEYWORDS:
        raise bad
    hosts = [h.strip() for h in host.split(",")]
    if any(h.startswith(("/", "@")) for h in hosts):
        raise bad  # a Unix socket is the platform's own machine, not the consumer's 前置库
    refused = [h for h in hosts if not host_allowed(h)]
    if refused:
        # Without this, department staff could make the platform probe any address it can reach.
        msg = _("前置库地址不在平台允许的范围内，请联系市大数据局登记前置库地址")
        raise PortalError(msg, code="host_not_allowed", errors={"dsn": [msg]})
    return parts


def host_allowed(host: str) -> bool:
    """Whether `host` (a name or an IP) is a registered 前置库 address: PORTAL["PUSH_ALLOWED_HOSTS"] lists
    host names and IP networks (CIDR); an empty list allows nothing."""
    host = host.strip().strip("[]").lower()
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    for allowed in settings.PORTAL["PUSH_ALLOWED_HOSTS"]:
        allowed = allowed.strip().lower()
        if address is None:
            if host == allowed:
                return True
            continue
        try:
            if address in ipaddress.ip_network(allowed, strict=False):
                return True
        except ValueError:
            continue  # a host name entry; an IP never matches it
    return False


def target_label(parts: dict) -> str:
    host = parts.get("host") or parts.get("hostaddr")
    return f"{host}:{parts.get('port') or 5432}/{parts['dbname']}"[:200]


def check_table(table: str) -> str:
    table = (table or "").strip()
    if not TABLE_NAME_RE.match(table):
        raise PortalError(_("表名只能包含小写字母、数字和下划线，以字母或下划线开头，最长 63 个字符"),
                          errors={"table": [_("表名无效")]})
    return table


def connect(dsn: str):
    try:
        parse_dsn(dsn)  # stored DSNs were checked at creation; check again (rules may have tightened since)
        return psycopg.connect(dsn, connect_timeout=CONNECT_TIMEOUT, application_name="jiaozuo-portal-push",
                               options=f"-c statement_timeout={TARGET_STATEMENT_TIMEOUT_MS}")
    except PortalError as exc:
        raise PushFailed("host_not_allowed" if exc.code == "host_not_allowed" else "dsn_invalid") from None
    except psycopg.OperationalError as exc:
        text = str(exc).lower()
        state = getattr(exc, "sqlstate", None) or ""
        if "connection refused" in text:
            code = "connection_refused"
        elif "timeout" in text or "timed out" in text:
            code = "connection_timeout"
        elif state in ("28P01", "28000") or "authentication" in text:
            code = "authentication_failed"
        elif state == "3D000" or ("database" in text and "does not exist" in text):
            code = "target_database_missing"
        else:
            code = "connection_failed"
        raise PushFailed(code, state) from None
    except psycopg.Error:
        raise PushFailed("dsn_invalid") from None


def ensure_table(conn, table: str) -> bool:
    """Create the table if missing, check its columns; whether it has the `trace` column (added if it can be)."""
    ident = sql.Identifier(table)
    with conn.cursor() as cur:
        cur.execute(sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (record_id bigint PRIMARY KEY, data jsonb NOT NULL,"
            " updated_at timestamptz NOT NULL, deleted boolean NOT NULL DEFAULT false,"
            " pushed_at timestamptz NOT NULL DEFAULT now(), trace text)").format(ident))
        columns = _columns(cur, table)
    if not columns >= TARGET_COLUMNS:
        raise PushFailed("target_table_mismatch")
    conn.commit()
    if TRACE_COLUMN in columns:
        return True
    try:  # a table made before the trace column: add it if the consumer's role may
        with conn.cursor() as cur:
            cur.execute(sql.SQL("ALTER TABLE {} ADD COLUMN IF NOT EXISTS trace text").format(ident))
        conn.commit()
    except psycopg.Error:
        conn.rollback()
        return False
    return True


def _columns(cur, table: str) -> set[str]:
    cur.execute("SELECT column_name FROM information_schema.columns"
                " WHERE table_schema = current_schema() AND table_name = %s", [table])
    return {row[0] for row in cur.fetchall()}


def upsert_sql(table: str, *, traced: bool = True):
    """The batch's upsert: (record_id, data, updated_at, deleted, trace) a row; (record_id, data, updated_at,
    deleted) when not `traced`."""
    ident = sql.Identifier(table)
    if traced:
        return sql.SQL(
            "INSERT INTO {t} (record_id, data, updated_at, deleted, pushed_at, trace)"
            " VALUES (%s, %s, %s, %s, now(), %s)"
            " ON CONFLICT (record_id) DO UPDATE SET data = EXCLUDED.data, updated_at = EXCLUDED.updated_at,"
            " deleted = EXCLUDED.deleted, pushed_at = EXCLUDED.pushed_at, trace = EXCLUDED.trace"
            " WHERE {t}.updated_at <= EXCLUDED.updated_at"
        ).format(t=ident)
    return sql.SQL(
        "INSERT INTO {t} (record_id, data, updated_at, deleted, pushed_at) VALUES (%s, %s, %s, %s, now())"
        " ON CONFLICT (record_id) DO UPDATE SET data = EXCLUDED.data, updated_at = EXCLUDED.updated_at,"
        " deleted = EXCLUDED.deleted, pushed_at = EXCLUDED.pushed_at"
        " WHERE {t}.updated_at <= EXCLUDED.updated_at"
    ).format(t=ident)
