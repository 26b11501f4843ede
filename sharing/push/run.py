"""Database push (数据库推送, R22.1): the run that fulfils a subscription (its services: sharing.services.push).

A subscription = a grant × the consumer's own PostgreSQL database (前置库, DSN stored encrypted) × a table ×
an interval. A run (`push_run`, called by the Celery task `sharing.tasks.push_run`):

1. takes a per-subscription advisory lock (a second run of the same subscription returns at once); a run
   whose worker died (no heartbeat — one per batch — for PORTAL["PUSH_STALE_SECONDS"]) is failed as
   `interrupted` by the kernel's reaper (portal.services.jobs; the kind is registered in sharing.apps);
2. checks the grant at the moment of the run (revoked / not covering push → `no_grant`, run out →
   `grant_expired`; then `read_permission` for the entry itself); a refusal pauses the subscription;
3. reads the rows changed after the watermark (updated_at, id) in (updated_at, id) order off the dataset's
   table (storage.reading.shown, the pull's reader), BATCH rows at a time (its (updated_at, id) index), up to a
   *horizon*: the start of the oldest transaction still open in our database (minus SETTLE). Rows get `updated_at`
   = their transaction's time, so a row committed late can never land below a watermark already passed;
4. renders each row exactly as the pull does for that grant (the same reader: granted items in full,
   other personal items masked, only projected encrypted items decrypted, verification flags, the R26.1
   integrity signature of document resources);
5. upserts each batch into the target (INSERT … ON CONFLICT (record_id) DO UPDATE, never over a newer row)
   in the target's transaction, commits there, then advances the watermark here. A crash between the two
   re-sends one batch, which the upsert absorbs: delivery is idempotent and resumes where it stopped
   (the target table: sharing.push.target).

Every run leaves a receipt (PushRun) and one audit event, `sharing.push.delivered` or `sharing.push.failed`
(stable error code; never the DSN, a password or a driver message). Each run has a trace id (`data["trace"]` of that
event), written in the target's `trace` column of every row it upserts (sharing.push.target: the trace a pushed row
can carry, since JSONB keeps no formatting variant; `manage.py trace_leak` finds it in a leaked dump).
"""


from __future__ import annotations

import contextlib
import datetime as dt
import logging
import time
import uuid

import psycopg
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from psycopg.types.json import Jsonb

from catalog.choices import ExchangeMethod
from portal import audit
from portal.choices import AuditResult
from portal.errors import PortalError
from portal.permissions import int_or_none
from portal.services.jobs import job_heartbeat
from security import crypto

from ..choices import GrantState, PushRunStatus
from ..data_api.calls import DataCall, mask_kinds
from ..data_api.records import verification_fields
from ..models import Grant, PushRun, PushSubscription
from ..policy import Permission, read_permission
from .errors import ERRORS, PAUSING, PushFailed
from .target import connect, ensure_table, upsert_sql

logger = logging.getLogger(__name__)

BATCH = 5000
SETTLE = dt.timedelta(seconds=2)  # margin under the horizon for rows stamped by Python just before BEGIN
_LOCK_BASE = 0x5055_5348 << 32  # "PUSH": advisory lock key = base + subscription id
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


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


def _batch(call, mark: tuple[dt.datetime, int] | None, horizon: dt.datetime) -> list[tuple]:
    """The next rows changed after the watermark `mark` (updated_at, id), deleted ones included, in (updated_at, id)
    order off the dataset's table, BATCH at most, those stamped before `horizon` only (the order is by updated_at: the
    rows at or past the horizon are the batch's tail) — read and rendered by the pull's own reader
    (storage.reading.shown: the call's items, masked as its grant says, the R14.4 flag): (id, updated_at, deleted,
    flagged, values)."""
    from aggregation.choices import VerificationState
    from aggregation.storage import reading

    rows = [(rid, dt.datetime.fromisoformat(reading.api_stamp(stamp)), deleted, flagged, values)
            for rid, stamp, deleted, flagged, values in reading.shown(
                call.dataset, call.projection, kinds=call.mask_kinds, since=mark[0] if mark else _EPOCH, after=mark,
                include_deleted=True, limit=BATCH, open_state=VerificationState.OPEN.value)]
    cut = next((i for i, r in enumerate(rows) if r[1] >= horizon), None)
    return rows if cut is None else rows[:cut]


def _render_batch(call, rows) -> list[tuple]:
    """Each row as the pull gives it for the call's grant (`_batch`), with its integrity signature (R26.1)."""
    from security.documents import attach_integrity

    out = []
    for rid, updated_at, deleted, flagged, values in rows:
        row = {"deleted": True} if deleted else {**values, "deleted": False}
        row["updated_at"] = updated_at.isoformat()
        row.update(verification_fields(bool(flagged)))
        attach_integrity(call, row)
        out.append((rid, Jsonb(row), updated_at, deleted))
    return out


def _receipt(run: PushRun, sub: PushSubscription, *, code: str = "", sqlstate: str = "", call=None) -> dict:
    """The data of a run's audit event: what went where, how much, between which watermarks; why it failed."""
    data = {
        "run": run.pk, "trace": getattr(run, "trace", None), "traced": getattr(run, "traced", False),
        "grant": sub.grant_id, "resource": sub.grant.entry.code, "target": sub.target_label,
        "table": sub.target_table, "trigger": run.trigger, "rows": run.rows, "deleted": run.deleted_rows,
        "batches": run.batches, "duration_ms": run.duration_ms,
        "watermark_from": [run.watermark_from_at, run.watermark_from_id],
        "watermark_to": [run.watermark_to_at, run.watermark_to_id],
    }
    if call is not None:
        data.update(items=call.projection, masked=sorted(call.mask_kinds), purpose=call.purpose)
    if code:
        data.update(code=code, sqlstate=sqlstate, paused=code in PAUSING)
    return data


def _close_subscription(sub_id: int, run: PushRun, code: str = "") -> None:
    """What a run's end does to its subscription: the time of its last run; paused on grant refusals."""
    fields = {"last_run_at": run.finished_at}
    if code in PAUSING:
        fields.update(active=False, paused_reason=str(ERRORS[code]))
    PushSubscription.objects.filter(pk=sub_id).update(**fields)


def _finish(run: PushRun, sub: PushSubscription, *, code: str = "", sqlstate: str = "", started: float,
            call=None) -> PushRun:
    """Close the receipt and write the run's one audit event (same transaction); pause on grant refusals.

    A run the reaper already failed (its heartbeats stopped too long) keeps that verdict and its audit event."""
    with transaction.atomic():
        trace, traced = getattr(run, "trace", None), getattr(run, "traced", False)
        run = PushRun.objects.select_for_update().get(pk=run.pk)
        run.trace, run.traced = trace, traced
        if run.status != PushRunStatus.RUNNING:
            return run
        run.finished_at = timezone.now()
        run.duration_ms = int((time.monotonic() - started) * 1000)
        run.status = PushRunStatus.FAILED if code else PushRunStatus.SUCCEEDED
        run.error_code = code
        run.error_message = str(ERRORS.get(code, "")) + (f" (SQLSTATE {sqlstate})" if sqlstate else "")
        run.save(update_fields=["finished_at", "duration_ms", "status", "error_code", "error_message"])
        _close_subscription(sub.pk, run, code)
        audit.record(actor=run.requested_by, obj=sub,
                     action="sharing.push.failed" if code else "sharing.push.delivered", department=sub.consumer,
                     result=AuditResult.FAILURE if code else AuditResult.SUCCESS,
                     data=_receipt(run, sub, code=code, sqlstate=sqlstate, call=call))
    return run


# A run whose worker died, as the kernel's reaper closes it (registered in sharing.apps): failed "interrupted",
# the same audit event and subscription state as a run that ends with that code.


def interrupted_message(stale: dt.timedelta) -> str:
    return str(ERRORS["interrupted"])


def interrupted_receipt(run: PushRun) -> dict:
    return _receipt(run, run.subscription, code="interrupted")


def interrupted_close(run: PushRun) -> None:
    _close_subscription(run.subscription_id, run, "interrupted")


def lost_message() -> str:
    """A run whose worker process died under it (portal.services.jobs.worker_lost): same code, "interrupted"."""
    return f"{ERRORS['interrupted']}（处理进程意外退出，worker lost）"


def lost_runs(args: tuple, kwargs: dict) -> Q:
    """The run a `sharing.tasks.push_run(subscription_id, …)` call was making: its subscription's running run.

    The task creates its receipt itself, so the call names only the subscription; the per-subscription advisory lock
    allows one run at a time, and the dead process's session holds it until PostgreSQL ends that session."""
    sub = args[0] if args else kwargs.get("subscription_id")
    return Q(subscription_id=sub) if isinstance(sub, int) else Q(pk__in=[])


def push_run(*, subscription_id: int, trigger: str = "schedule", actor_id: int | None = None) -> PushRun | None:
    """Run one subscription now (see the module docstring); returns its receipt, or None when another run of it
    is in progress or it does not exist. Never raises for a failure of the target: the receipt records it."""
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
        sub.refresh_from_db()
        run = PushRun.objects.create(
            subscription=sub, trigger=trigger[:10], requested_by_id=actor_id, watermark_from_at=sub.watermark_at,
            watermark_from_id=sub.watermark_id, watermark_to_at=sub.watermark_at, watermark_to_id=sub.watermark_id,
        )
        run.trace = uuid.uuid4().hex  # in the run's event and in each row it writes (not a column of PushRun)
        run.traced = False
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
    horizon = _horizon()
    try:
        dsn = crypto.decrypt(sub.target_dsn_enc)
    except crypto.DecryptionError:
        raise PushFailed("dsn_invalid") from None
    conn = connect(dsn)
    try:
        try:
            run.traced = ensure_table(conn, sub.target_table)
        except psycopg.Error as exc:
            raise PushFailed("target_permission_denied" if exc.sqlstate == "42501" else "target_write_failed",
                             exc.sqlstate or "") from None
        upsert = upsert_sql(sub.target_table, traced=run.traced)
        mark = (sub.watermark_at, sub.watermark_id) if sub.watermark_at else None
        while True:
            rows = _batch(call, mark, horizon)
            if not rows:
                return
            params = _render_batch(call, rows)
            if run.traced:
                params = [(*p, run.trace) for p in params]
            try:
                with conn.cursor() as cur:
                    cur.executemany(upsert, params)
                conn.commit()
            except psycopg.Error as exc:
                # A connection the target lost (its server stopped or restarted mid-batch) cannot roll back: the
                # server has rolled the batch back itself. Either way the run ends with the target's code.
                with contextlib.suppress(psycopg.Error):
                    conn.rollback()
                raise PushFailed("target_permission_denied" if exc.sqlstate == "42501" else "target_write_failed",
                                 exc.sqlstate or "") from None
            # Acknowledged by the target: advance the watermark here (a crash before this re-sends the batch).
            last = rows[-1]
            mark = (last[1], last[0])
            deleted = sum(1 for r in rows if r[2])
            counts = {"rows": run.rows + len(rows), "deleted_rows": run.deleted_rows + deleted,
                      "batches": run.batches + 1, "watermark_to_at": mark[0], "watermark_to_id": mark[1]}
            with transaction.atomic():
                PushSubscription.objects.filter(pk=sub.pk).update(watermark_at=mark[0], watermark_id=mark[1])
                alive = job_heartbeat(PushRun, run.pk, **counts)
                if not alive:  # the reaper failed the run meanwhile: the receipt still counts what was acknowledged
                    PushRun.objects.filter(pk=run.pk).update(**counts)
            if not alive:
                raise PushFailed("interrupted")  # stop here; _finish keeps the reaper's verdict
            run.rows, run.deleted_rows, run.batches = counts["rows"], counts["deleted_rows"], counts["batches"]
            if len(rows) < BATCH:
                return
    finally:
        conn.close()
