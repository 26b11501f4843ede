"""The audit trail's verification as a use case: seal what is pending, verify, keep the run, alert on a break.

Run by the beat (incremental every 15 minutes, full nightly), by `manage.py audit_verify` and by the audit
administrator's button on /security/audit/. A break is announced to every audit and security administrator once: a
run that finds the same break as the run before it (same position and kind) records it without a new message.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from portal import audit, audit_bundle, audit_verify
from portal.choices import AuditResult, Role
from portal.errors import NotFound, PortalError
from portal.models import AuditVerification, User

from .notifications import notify

_VERIFY_LOCK = 0x4A5A_A0D2  # pg advisory lock key: one verification at a time


def _lag() -> dt.timedelta:
    return dt.timedelta(seconds=settings.PORTAL["AUDIT_SEAL_LAG_SECONDS"])


def latest_verification() -> AuditVerification | None:
    return AuditVerification.objects.first()


def audit_chain_verify(*, actor: User | None, full: bool = False, via: str, request_id: str = "") -> AuditVerification:
    """Seal pending events, verify the trail (from the last intact run, or all of it with `full`), record the run.

    `actor` None is the system (beat, command line); a person must be the audit administrator (else NotFound, as
    the trail's pages answer everyone else).
    """
    if actor is not None and not actor.has_role(Role.AUDIT_ADMIN):
        raise NotFound()
    while audit.seal_pending(batch=settings.PORTAL["AUDIT_SEAL_BATCH"]):
        pass
    with transaction.atomic():
        with connection.cursor() as cur:
            cur.execute("SELECT pg_try_advisory_xact_lock(%s)", [_VERIFY_LOCK])
            if not cur.fetchone()[0]:
                raise PortalError(_("另一次审计日志校验正在进行，请稍后再看结果。"), code="audit_verify_busy")
        previous = latest_verification()
        started = timezone.now()
        outcome = audit_verify.verify(full=full, lag=_lag(), now=started)
        broken = outcome.broken
        run = AuditVerification.objects.create(
            started_at=started, finished_at=timezone.now(), full=outcome.full, via=via,
            first_seq=outcome.first_seq, last_seq=outcome.last_seq, head_hash=outcome.head_hash,
            checked=outcome.checked, ok=outcome.ok,
            break_seq=broken.seq if broken else None, break_kind=broken.kind if broken else "",
            break_detail=(broken.detail if broken else "")[:300],
        )
        alerted = 0
        if broken and not (previous and not previous.ok and (previous.break_seq, previous.break_kind)
                           == (broken.seq, broken.kind)):
            alerted = _alert(run, broken)
        audit.record(
            actor=actor, actor_label=None if actor else "system", action="portal.audit.verified", obj=run,
            object_repr=f"{run.first_seq or '-'}–{run.last_seq or '-'}",
            result=AuditResult.SUCCESS if outcome.ok else AuditResult.FAILURE,
            data={"full": outcome.full, "via": via, "first_seq": run.first_seq, "last_seq": run.last_seq,
                  "checked": run.checked, "ok": run.ok, "break_seq": run.break_seq, "break_kind": run.break_kind,
                  "alerted": alerted, **({"task": request_id} if request_id else {})},
        )
        return run


def _alert(run: AuditVerification, broken: audit_verify.Break) -> int:
    title = _("审计日志校验发现异常：位置 %(seq)s（%(kind)s）") % {"seq": broken.seq, "kind": broken.label}
    body = _("校验于 %(time)s 发现审计日志哈希链自位置 %(seq)s 起不可信：%(detail)s。请核查数据库操作记录。") % {
        "time": timezone.localtime(run.finished_at).strftime("%Y-%m-%d %H:%M:%S"), "seq": broken.seq,
        "detail": broken.detail or broken.label,
    }
    admins = User.objects.filter(is_active=True).distinct()
    # The trail's page is the audit administrator's alone (三员分立): the security administrator gets no link to it.
    sent = notify(recipients=admins.filter(roles__role=Role.AUDIT_ADMIN), title=title, body=body,
                  url=reverse("security:audit"))
    sent += notify(recipients=admins.filter(roles__role=Role.SECURITY_ADMIN).exclude(roles__role=Role.AUDIT_ADMIN),
                   title=title, body=body)
    return sent


def audit_bundle_export(*, actor: User | None, day: dt.date, out, via: str) -> audit_bundle.BundleFacts:
    """Write the day bundle of `day` to the binary file `out` and record `portal.audit.bundle_exported` (range,
    counts, the file's SHA-256) in the same transaction. A person must be the audit administrator (else NotFound)."""
    if actor is not None and not actor.has_role(Role.AUDIT_ADMIN):
        raise NotFound()
    with transaction.atomic():
        facts = audit_bundle.write_bundle(day, out)
        audit.record(
            actor=actor, actor_label=None if actor else "system", action="portal.audit.bundle_exported",
            object_type="portal.auditseal", object_id=day.isoformat(),
            object_repr=f"{day.isoformat()} {facts.first_seq or '-'}–{facts.last_seq or '-'}",
            data={"date": day.isoformat(), "first_seq": facts.first_seq, "last_seq": facts.last_seq,
                  "events": facts.events, "seals": facts.seals, "sha256": facts.sha256, "size": facts.size,
                  "via": via},
        )
        return facts
