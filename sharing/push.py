"""Database push (数据库推送, R22.1): services of push subscriptions and the run that fulfils them.

A subscription = a grant × the consumer's own PostgreSQL database (前置库, DSN stored encrypted) × a table ×
an interval. A run (`push_run`, called by the Celery task `sharing.tasks.push_run`):

1. takes a per-subscription advisory lock (a second run of the same subscription returns at once); a run
   left "running" by a dead worker is closed as `interrupted`;
2. checks the grant at the moment of the run (revoked / not covering push → `no_grant`, run out →
   `grant_expired`; then `read_permission` for the entry itself); a refusal pauses the subscription;
3. reads the rows changed after the watermark (updated_at, id) in (updated_at, id) order, BATCH rows at a
   time (index (dataset_id, updated_at, id)), up to a *horizon*: the start of the oldest transaction still
   open in our database (minus SETTLE). Rows get `updated_at` = their transaction's time, so a row committed
   late can never land below a watermark already passed;
4. renders each row exactly as the pull does for that grant (sharing.data_api: granted items in full,
   other personal items masked, only projected encrypted items decrypted, verification flags, the R26.1
   integrity signature of document resources);
5. upserts each batch into the target (INSERT … ON CONFLICT (record_id) DO UPDATE, never over a newer row)
   in the target's transaction, commits there, then advances the watermark here. A crash between the two
   re-sends one batch, which the upsert absorbs: delivery is idempotent and resumes where it stopped.

Target table (created if missing): `record_id bigint primary key` (the platform's record id: stable and
unique, where a masked subject key would not be), `data jsonb` — the record exactly as the pull serves it
(so it can be posted to /api/v1/verify/ as it is), `updated_at timestamptz`, `deleted boolean`,
`pushed_at timestamptz`. JSONB rather than typed columns: the granted items change with grants and catalog
update cases, and no DDL on the consumer's side is needed then. A deleted record is kept as a row with
`deleted = true` and its values removed (as the incremental pull reports it), so the consumer sees deletions.

Every run leaves a receipt (PushRun) and one audit event, `sharing.push.delivered` or `sharing.push.failed`
(stable error code; never the DSN, a password or a driver message).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import time

import psycopg
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from psycopg import sql
from psycopg.types.json import Jsonb

from catalog.choices import ExchangeMethod
from portal import audit
from portal.choices import AuditResult
from portal.errors import NotFound, PermissionDenied, PortalError
from portal.permissions import int_or_none
from portal.services.workdays import local_today
from security import crypto

from .access import Permission, read_permission
from .choices import GrantState
from .models import Grant
from .models_push import TABLE_NAME_RE, PushRun, PushRunStatus, PushSubscription
from .querysets import STAFF_ROLES

logger = logging.getLogger(__name__)

BATCH = 5000
CONNECT_TIMEOUT = 5  # seconds: a dead 前置库 must not hold a worker
SETTLE = dt.timedelta(seconds=2)  # margin under the horizon for rows stamped by Python just before BEGIN
MAX_DSN_LENGTH = 500
# DSN keywords a consumer may set: nothing that reads the platform's own files (passfile, service, sslkey …) or
# changes our session (options).
DSN_KEYWORDS = frozenset({"host", "hostaddr", "port", "dbname", "user", "password", "sslmode",
                          "target_session_attrs", "connect_timeout", "application_name"})
TARGET_STATEMENT_TIMEOUT_MS = 10 * 60 * 1000
_LOCK_BASE = 0x5055_5348 << 32  # "PUSH": advisory lock key = base + subscription id
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

ERRORS = {
    "no_grant": gettext_lazy("授权已撤销或不再包含数据库推送，订阅已暂停"),
    "grant_expired": gettext_lazy("授权已过期，订阅已暂停；请重新提交共享申请"),
    "not_found": gettext_lazy("资源已不再发布，订阅已暂停"),
    "method_not_offered": gettext_lazy("资源不再提供数据库推送，订阅已暂停"),
    "connection_refused": gettext_lazy("前置库拒绝连接（地址或端口不可达）"),
    "connection_timeout": gettext_lazy("连接前置库超时"),
    "authentication_failed": gettext_lazy("前置库认证失败（用户名或口令错误）"),
    "target_database_missing": gettext_lazy("前置库中不存在该数据库"),
    "connection_failed": gettext_lazy("无法连接前置库"),
    "target_permission_denied": gettext_lazy("前置库账号无权建表或写入目标表"),
    "target_table_mismatch": gettext_lazy(
        "目标表已存在但结构不符（需 record_id、data、updated_at、deleted、pushed_at 列）"),
    "target_write_failed": gettext_lazy("写入前置库失败"),
    "dsn_invalid": gettext_lazy("前置库连接串无效"),
    "host_not_allowed": gettext_lazy("前置库地址不在平台允许的范围内"),
    "interrupted": gettext_lazy("推送进程中断，下次推送将从上次确认的水位继续"),
    "internal_error": gettext_lazy("推送时发生内部错误"),
}
PAUSING = frozenset({"no_grant", "grant_expired", "not_found", "method_not_offered"})
TARGET_COLUMNS = {"record_id", "data", "updated_at", "deleted", "pushed_at"}


class PushFailed(Exception):
    """A run stopped with a stable code (the message shown is ERRORS[code], never the driver's text)."""

    def __init__(self, code: str, sqlstate: str = ""):
        self.code, self.sqlstate = code, sqlstate
        super().__init__(code)


# ---------------------------------------------------------------- input checks


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



def access_subscription_by_id(user, subscription_id, *, action: str = "view", for_update: bool = False):
    """The subscription if `user` may `action` it: NotFound outside the view scope, PermissionDenied inside."""
    pk = int_or_none(subscription_id)
    if pk is None:
        raise NotFound()
    qs = PushSubscription.objects.restrict(user, action).filter(pk=pk).select_related("grant__entry", "consumer")
    if for_update:
        qs = qs.select_for_update(of=("self",))
    sub = qs.first()
    if sub is not None:
        return sub
    if action != "view" and PushSubscription.objects.restrict(user, "view").filter(pk=pk).exists():
        raise PermissionDenied()
    raise NotFound()


def pushable_grants(user):
    """The user's department's grants that include the push method and are valid today."""
    if not (user.is_authenticated and user.has_role(*STAFF_ROLES) and user.department_id):
        return Grant.objects.none()
    today = local_today()
    return (Grant.objects.filter(consumer_id=user.department_id, state=GrantState.ACTIVE, valid_from__lte=today,
                                 valid_to__gte=today, methods__contains=[ExchangeMethod.PUSH])
            .select_related("entry").order_by("-id"))


# ---------------------------------------------------------------- subscriptions


def push_subscription_create(*, actor, grant_id, dsn: str, table: str, interval_minutes: int = 60) -> PushSubscription:
    """The consumer department's staff subscribe a grant (with the push method) to a table of their 前置库.

    Raises NotFound (grant outside the department), PortalError (grant not valid / without push, bad DSN,
    table or interval, same target twice). Audits sharing.push.created (target host/database, never the DSN).
    """
    if not (actor.is_authenticated and actor.has_role(*STAFF_ROLES) and actor.department_id):
        raise PermissionDenied(_("只有使用部门的数据专员或负责人可以订阅数据库推送"))
    grant = pushable_grants(actor).filter(pk=int_or_none(grant_id) or 0).first()
    if grant is None:
        if Grant.objects.filter(pk=int_or_none(grant_id) or 0, consumer_id=actor.department_id).exists():
            raise PortalError(_("该授权当前无效或不包含数据库推送方式"), code="no_grant",
                              errors={"grant": [_("授权无效")]})
        raise NotFound()
    parts = parse_dsn(dsn)
    table = check_table(table)
    interval = int_or_none(interval_minutes)
    if interval is None or not 1 <= interval <= 10080:
        raise PortalError(_("推送间隔应在 1 至 10080 分钟之间"), errors={"interval_minutes": [_("超出范围")]})
    label = target_label(parts)
    with transaction.atomic():
        if PushSubscription.objects.filter(grant=grant, target_label=label, target_table=table).exists():
            raise PortalError(_("该授权已订阅推送到同一前置库的同一张表"), errors={"table": [_("重复订阅")]})
        sub = PushSubscription.objects.create(
            grant=grant, consumer_id=grant.consumer_id, target_dsn_enc=crypto.encrypt(dsn.strip()),
            target_label=label, target_table=table, interval_minutes=interval, next_run_at=timezone.now(),
            created_by=actor,
        )
        audit.record(actor=actor, action="sharing.push.created", obj=sub,
                     data={"grant": grant.pk, "resource": grant.entry.code, "target": label, "table": table,
                           "interval_minutes": interval})
    return sub


def push_subscription_pause(*, actor, subscription_id, reason: str = "") -> PushSubscription:
    """Stop scheduled runs (the watermark is kept). Raises NotFound, PermissionDenied, InvalidTransition-like."""
    with transaction.atomic():
        sub = access_subscription_by_id(actor, subscription_id, action="change", for_update=True)
        if not sub.active:
            raise PortalError(_("订阅已暂停"), code="invalid_state")
        sub.active, sub.paused_reason = False, (reason or _("手动暂停")).strip()[:300]
        sub.save(update_fields=["active", "paused_reason"])
        audit.record(actor=actor, action="sharing.push.paused", obj=sub,
                     data={"active": {"old": True, "new": False}, "reason": sub.paused_reason})
    return sub


def push_subscription_resume(*, actor, subscription_id) -> PushSubscription:
    """Resume scheduled runs from the kept watermark (due at once). Raises NotFound, PermissionDenied."""
    with transaction.atomic():
        sub = access_subscription_by_id(actor, subscription_id, action="change", for_update=True)
        if sub.active:
            raise PortalError(_("订阅未暂停"), code="invalid_state")
        sub.active, sub.paused_reason, sub.next_run_at = True, "", timezone.now()
        sub.save(update_fields=["active", "paused_reason", "next_run_at"])
        audit.record(actor=actor, action="sharing.push.resumed", obj=sub, data={"active": {"old": False, "new": True}})
    return sub


def push_subscription_run_now(*, actor, subscription_id) -> PushSubscription:
    """Queue a run at once (the "run now" button); the run checks the grant itself. Audits sharing.push.requested."""
    from .push_tasks import push_run_task

    with transaction.atomic():
        sub = access_subscription_by_id(actor, subscription_id, action="change", for_update=True)
        audit.record(actor=actor, action="sharing.push.requested", obj=sub, data={"trigger": "manual"})
        actor_id = actor.pk
        transaction.on_commit(lambda: push_run_task.delay(sub.pk, "manual", actor_id))
    return sub


_DUE_SQL = """
UPDATE sharing_pushsubscription
   SET next_run_at = clock_timestamp() + make_interval(mins => interval_minutes)
 WHERE active AND (next_run_at IS NULL OR next_run_at <= clock_timestamp())
RETURNING id
"""


def push_due(*, enqueue: bool = True) -> list[int]:
    """Claim the subscriptions that are due (one set-based UPDATE, safe to run twice or concurrently: each row is
    claimed once because the UPDATE re-checks `next_run_at` on the rows it locks) and queue a run for each."""
    with transaction.atomic():
        with connection.cursor() as cur:
            cur.execute(_DUE_SQL)
            ids = [row[0] for row in cur.fetchall()]
        if enqueue and ids:
            from .push_tasks import push_run_task

            transaction.on_commit(lambda: [push_run_task.delay(pk, "schedule", None) for pk in ids])
    return ids


# ---------------------------------------------------------------- the run


def _grant_refusal(sub: PushSubscription, now: dt.datetime) -> tuple[str, Permission | None]:
    """("", permission for the subscription's grant) or (error code, None), checked at the moment of the run."""
    grant = Grant.objects.select_related("entry").get(pk=sub.grant_id)
    day = timezone.localdate(now)
    if grant.state == GrantState.REVOKED or ExchangeMethod.PUSH not in grant.methods:
        return "no_grant", None
    if grant.state == GrantState.EXPIRED or grant.valid_to < day:
        return "grant_expired", None
    if not grant.is_valid_on(day):
        return "no_grant", None
    entry = grant.entry
    base_or_granted = set(grant.items) | set(entry.items.filter(is_base_item=True).values_list("name", flat=True))
    wanted = [n for n in entry.items.order_by("position").values_list("name", flat=True) if n in base_or_granted]
    try:
        read_permission(department=sub.consumer, entry=entry, items=wanted, method=ExchangeMethod.PUSH, at=now)
    except PortalError as exc:
        return (exc.code if exc.code in ERRORS else "no_grant"), None
    # Rendered for *this* grant: its items in full, other personal items masked (as the pull does).
    return "", Permission(entry, sub.consumer, ExchangeMethod.PUSH, tuple(wanted), grant, "grant")


def _horizon() -> dt.datetime:
    """Rows stamped before this are committed: the oldest open transaction of our database bounds the read."""
    with connection.cursor() as cur:
        cur.execute(
            "SELECT LEAST(clock_timestamp(), (SELECT min(xact_start) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid() AND xact_start IS NOT NULL"
            " AND backend_type = 'client backend'))"
        )
        return cur.fetchone()[0] - SETTLE


def _connect(dsn: str):
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


def _ensure_table(conn, table: str) -> None:
    ident = sql.Identifier(table)
    with conn.cursor() as cur:
        cur.execute(sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (record_id bigint PRIMARY KEY, data jsonb NOT NULL,"
            " updated_at timestamptz NOT NULL, deleted boolean NOT NULL DEFAULT false,"
            " pushed_at timestamptz NOT NULL DEFAULT now())").format(ident))
        cur.execute("SELECT column_name FROM information_schema.columns"
                    " WHERE table_schema = current_schema() AND table_name = %s", [table])
        columns = {row[0] for row in cur.fetchall()}
    if not columns >= TARGET_COLUMNS:
        raise PushFailed("target_table_mismatch")
    conn.commit()


def _upsert_sql(table: str):
    ident = sql.Identifier(table)
    return sql.SQL(
        "INSERT INTO {t} (record_id, data, updated_at, deleted, pushed_at) VALUES (%s, %s, %s, %s, now())"
        " ON CONFLICT (record_id) DO UPDATE SET data = EXCLUDED.data, updated_at = EXCLUDED.updated_at,"
        " deleted = EXCLUDED.deleted, pushed_at = EXCLUDED.pushed_at"
        " WHERE {t}.updated_at <= EXCLUDED.updated_at"
    ).format(t=ident)


def _render_batch(call, rows) -> list[tuple]:
    from aggregation.selectors.verification import records_under_verification
    from security.documents import attach_integrity

    from .data_api import RowRenderer, verification_fields

    flagged = records_under_verification([r[0] for r in rows])
    renderer = RowRenderer(call)
    out = []
    for rid, data, updated_at, deleted_at, masked in rows:
        if deleted_at is not None:
            row = {"deleted": True}
        else:
            row = renderer.values(data, masked)
            row["deleted"] = False
        row["updated_at"] = updated_at.isoformat()
        row.update(verification_fields(rid in flagged))
        attach_integrity(call, row)
        out.append((rid, Jsonb(row), updated_at, deleted_at is not None))
    return out


def _finish(run: PushRun, sub: PushSubscription, *, code: str = "", sqlstate: str = "", started: float,
            call=None) -> PushRun:
    """Close the receipt and write the run's one audit event (same transaction); pause on grant refusals."""
    with transaction.atomic():
        run.refresh_from_db()
        run.finished_at = timezone.now()
        run.duration_ms = int((time.monotonic() - started) * 1000)
        run.status = PushRunStatus.FAILED if code else PushRunStatus.SUCCEEDED
        run.error_code = code
        run.error_message = str(ERRORS.get(code, "")) + (f" (SQLSTATE {sqlstate})" if sqlstate else "")
        run.save(update_fields=["finished_at", "duration_ms", "status", "error_code", "error_message"])
        fields = {"last_run_at": run.finished_at}
        if code in PAUSING:
            fields.update(active=False, paused_reason=str(ERRORS[code]))
        PushSubscription.objects.filter(pk=sub.pk).update(**fields)
        data = {
            "run": run.pk, "grant": sub.grant_id, "resource": sub.grant.entry.code, "target": sub.target_label,
            "table": sub.target_table, "trigger": run.trigger, "rows": run.rows, "deleted": run.deleted_rows,
            "batches": run.batches, "duration_ms": run.duration_ms,
            "watermark_from": [run.watermark_from_at, run.watermark_from_id],
            "watermark_to": [run.watermark_to_at, run.watermark_to_id],
        }
        if call is not None:
            data.update(items=call.projection, masked=sorted(call.mask_kinds), purpose=call.purpose)
        if code:
            data.update(code=code, sqlstate=sqlstate, paused=code in PAUSING)
        audit.record(actor=run.requested_by, obj=sub,
                     action="sharing.push.failed" if code else "sharing.push.delivered", department=sub.consumer,
                     result=AuditResult.FAILURE if code else AuditResult.SUCCESS, data=data)
    return run


def push_run(*, subscription_id: int, trigger: str = "schedule", actor_id: int | None = None) -> PushRun | None:
    """Run one subscription now (see the module docstring); returns its receipt, or None when another run of it
    is in progress or it does not exist. Never raises for a failure of the target: the receipt records it."""
    from .data_api import DataCall, mask_kinds

    sub = (
        PushSubscription.objects.select_related("grant__entry", "consumer")
        .filter(pk=int_or_none(subscription_id) or 0)
        .first()
    )
    if sub is None or (trigger == "schedule" and not sub.active):
        return None  # paused after the beat job claimed it
    lock = _LOCK_BASE + sub.pk
    with connection.cursor() as cur:
        cur.execute("SELECT pg_try_advisory_lock(%s)", [lock])
        if not cur.fetchone()[0]:
            return None
    started = time.monotonic()
    try:
        # We hold the lock: a run still "running" was left by a dead worker.
        for stale in PushRun.objects.filter(subscription=sub, status=PushRunStatus.RUNNING):
            _finish(stale, sub, code="interrupted", started=time.monotonic())
        sub.refresh_from_db()
        run = PushRun.objects.create(
            subscription=sub, trigger=trigger[:10], requested_by_id=actor_id, watermark_from_at=sub.watermark_at,
            watermark_from_id=sub.watermark_id, watermark_to_at=sub.watermark_at, watermark_to_id=sub.watermark_id,
        )
        call = None
        try:
            code, permission = _grant_refusal(sub, timezone.now())
            if code:
                raise PushFailed(code)
            entry = permission.entry
            dataset = getattr(entry, "dataset", None)
            call = DataCall(user=None, entry=entry, dataset=dataset, permission=permission,
                            method=ExchangeMethod.PUSH, purpose=sub.grant.get_purpose_display(),
                            projection=list(permission.items))
            if dataset is None:
                return _finish(run, sub, started=started, call=call)
            call.encrypted = frozenset(dataset.encrypted_items) | {dataset.key_item_name}
            call.mask_kinds = mask_kinds(entry, dataset, permission, call.projection)
            _deliver(sub, run, call)
        except PushFailed as exc:
            return _finish(run, sub, code=exc.code, sqlstate=exc.sqlstate, started=started, call=call)
        except Exception:
            logger.exception("push run %s of subscription %s failed", run.pk, sub.pk)
            return _finish(run, sub, code="internal_error", started=started, call=call)
        return _finish(run, sub, started=started, call=call)
    finally:
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_unlock(%s)", [lock])


def _deliver(sub: PushSubscription, run: PushRun, call) -> None:
    from .data_api import records_queryset

    horizon = _horizon()
    try:
        dsn = crypto.decrypt(sub.target_dsn_enc)
    except crypto.DecryptionError:
        raise PushFailed("dsn_invalid") from None
    conn = _connect(dsn)
    try:
        try:
            _ensure_table(conn, sub.target_table)
        except psycopg.Error as exc:
            raise PushFailed("target_permission_denied" if exc.sqlstate == "42501" else "target_write_failed",
                             exc.sqlstate or "") from None
        upsert = _upsert_sql(sub.target_table)
        mark = (sub.watermark_at, sub.watermark_id) if sub.watermark_at else None
        while True:
            call.since, call.cursor = (mark[0], mark) if mark else (_EPOCH, None)
            rows = list(records_queryset(call).filter(updated_at__lt=horizon)[:BATCH])
            if not rows:
                return
            params = _render_batch(call, rows)
            try:
                with conn.cursor() as cur:
                    cur.executemany(upsert, params)
                conn.commit()
            except psycopg.Error as exc:
                conn.rollback()
                raise PushFailed("target_permission_denied" if exc.sqlstate == "42501" else "target_write_failed",
                                 exc.sqlstate or "") from None
            # Acknowledged by the target: advance the watermark here (a crash before this re-sends the batch).
            last = rows[-1]
            mark = (last[2], last[0])
            deleted = sum(1 for r in rows if r[3] is not None)
            with transaction.atomic():
                PushSubscription.objects.filter(pk=sub.pk).update(watermark_at=mark[0], watermark_id=mark[1])
                PushRun.objects.filter(pk=run.pk).update(
                    rows=run.rows + len(rows), deleted_rows=run.deleted_rows + deleted, batches=run.batches + 1,
                    watermark_to_at=mark[0], watermark_to_id=mark[1])
            run.rows, run.deleted_rows, run.batches = run.rows + len(rows), run.deleted_rows + deleted, run.batches + 1
            if len(rows) < BATCH:
                return
    finally:
        conn.close()
