"""Retention of the audit trail (R29.1): purge what is older than the retention floor, after archiving it.

`audit_purge(before=…)` — run by `manage.py audit_purge` with the database OWNER's credentials (the purge function is
the owner's; the application role may not execute it):
1. refuses a cut-off younger than PORTAL["AUDIT_RETENTION_MIN_DAYS"] days, never fewer than 183 (six months);
2. seals what is pending and runs a FULL verification; refuses unless it is intact and covers what would go;
3. picks the seals made before the cut-off (local midnight), as a prefix of the chain ending on a seal boundary;
4. writes the day bundle of every day it removes (portal.audit_bundle; signed seals and public keys included) to the
   archive directory and takes each file's SHA-256;
5. in one transaction: writes a signed AuditPurge record (range, count, the chain's hash at the last purged position
   and that event's time), deletes through the owner's SECURITY DEFINER function `portal_audit_purge(id)` (the only
   way past the append-only triggers; see migration 0009), and records `portal.audit.purged` (range, count, bundle
   files and their SHA-256) — an event chained like any other.
`portal.audit_verify.verify` then starts from the latest purge record whose signature holds.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from portal import audit, audit_bundle
from portal.choices import AuditResult
from portal.errors import PortalError
from portal.models import AuditChainLink, AuditPurge, AuditSeal

from .audit_chain import audit_chain_verify

RETENTION_FLOOR_DAYS = 183  # six months: no setting goes below it


def retention_days() -> int:
    return max(RETENTION_FLOOR_DAYS, int(settings.PORTAL.get("AUDIT_RETENTION_MIN_DAYS") or 0))


def _purgeable(start_of_cutoff: dt.datetime, after: int) -> list[dict]:
    """The seals after position `after`, in chain order, up to the first made on or after the cut-off."""
    prefix = []
    seals = AuditSeal.objects.filter(first_seq__gt=after).order_by("first_seq").values(
        "first_seq", "last_seq", "sealed_at")
    for seal in seals.iterator(chunk_size=2000):
        if seal["sealed_at"] >= start_of_cutoff:
            break
        prefix.append(seal)
    return prefix


def audit_purge(*, before: dt.date, archive_dir: Path) -> AuditPurge:
    """Archive and delete the trail's positions sealed before `before` (see the module docstring)."""
    floor = retention_days()
    latest_allowed = timezone.localdate() - dt.timedelta(days=floor)
    if before > latest_allowed:
        raise PortalError(_("审计日志至少保留 %(days)s 天：清理截止日期不得晚于 %(date)s。") % {
            "days": floor, "date": latest_allowed.isoformat()}, code="audit_purge_too_recent")
    run = audit_chain_verify(actor=None, full=True, via="command")
    if not run.ok:
        raise PortalError(_("审计日志校验未通过（位置 %(seq)s，%(kind)s），不得清理。") % {
            "seq": run.break_seq, "kind": run.break_kind}, code="audit_purge_unverified")
    previous = AuditPurge.objects.first()
    after = previous.last_seq if previous else 0
    cutoff, _end = audit_bundle.day_bounds(before)
    seals = _purgeable(cutoff, after)
    if not seals:
        raise PortalError(_("%(date)s 之前没有可清理的已封存审计日志。") % {"date": before.isoformat()},
                          code="audit_purge_nothing")
    last_seq = seals[-1]["last_seq"]
    if (run.last_seq or 0) < last_seq:
        raise PortalError(_("位置 %(seq)s 尚未校验，不得清理。") % {"seq": last_seq}, code="audit_purge_unverified")
    archive_dir.mkdir(parents=True, exist_ok=True)
    days = sorted({timezone.localdate(s["sealed_at"]) for s in seals})
    bundles = []
    for day in days:
        path = archive_dir / f"audit-{day.isoformat()}.jsonl.gz"
        with path.open("wb") as fh:
            facts = audit_bundle.write_bundle(day, fh, upto_seq=last_seq)
        bundles.append({"date": day.isoformat(), "file": str(path), "sha256": facts.sha256,
                        "first_seq": facts.first_seq, "last_seq": facts.last_seq, "events": facts.events})
    with transaction.atomic():
        head = AuditChainLink.objects.select_related("event").get(seq=last_seq)
        first_seq, count, purged_at = after + 1, last_seq - after, timezone.now()
        facts = {"first_seq": first_seq, "last_seq": last_seq, "count": count, "head_hash": head.hash,
                 "last_occurred_at": head.event.occurred_at, "before": before, "purged_at": purged_at}
        kid, signature = audit.sign(audit.purge_statement(**facts, kid=audit.seal_key().kid))
        purge = AuditPurge.objects.create(**facts, bundles=bundles, kid=kid, signature=signature)
        with connection.cursor() as cur:
            cur.execute("SELECT portal_audit_purge(%s)", [purge.pk])
            deleted = cur.fetchone()[0]
        if deleted != count:
            raise PortalError(_("清理的事件数（%(n)s）与位置数（%(count)s）不符，已撤销。") % {
                "n": deleted, "count": count}, code="audit_purge_mismatch")
        audit.record(
            actor=None, actor_label="system", action="portal.audit.purged", obj=purge,
            result=AuditResult.SUCCESS,
            data={"first_seq": first_seq, "last_seq": last_seq, "count": count, "before": before.isoformat(),
                  "head_hash": head.hash, "bundles": [{"file": b["file"], "sha256": b["sha256"]} for b in bundles]},
        )
    return purge
