"""Database push subscriptions (R22.1): subscribe a grant to a table of the consumer's 前置库, pause, resume, run now,
and the beat sweep that claims the due subscriptions. The run itself: sharing.push.run.
"""

from __future__ import annotations

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from portal import audit
from portal.errors import NotFound, PermissionDenied, PortalError
from portal.permissions import int_or_none, is_department_member
from portal.services import jobs
from security import crypto

from ..models import Grant, PushSubscription
from ..permissions import access_subscription_by_id
from ..push.target import check_table, parse_dsn, target_label
from ..selectors import pushable_grants

PUSH_RUN_TASK = "sharing.tasks.push_run"  # sharing.tasks.push_run_task


def push_subscription_create(*, actor, grant_id, dsn: str, table: str, interval_minutes: int = 60) -> PushSubscription:
    """The consumer department's staff subscribe a grant (with the push method) to a table of their 前置库.

    Raises NotFound (grant outside the department), PortalError (grant not valid / without push, bad DSN,
    table or interval, same target twice). Audits sharing.push.created (target host/database, never the DSN).
    """
    if not is_department_member(actor):
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
    with transaction.atomic():
        sub = access_subscription_by_id(actor, subscription_id, action="change", for_update=True)
        audit.record(actor=actor, action="sharing.push.requested", obj=sub, data={"trigger": "manual"})
        jobs.enqueue(PUSH_RUN_TASK, sub.pk, "manual", actor.pk)
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
        if enqueue:
            jobs.enqueue_many(PUSH_RUN_TASK, [(pk, "schedule", None) for pk in ids])
    return ids
