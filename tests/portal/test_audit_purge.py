"""Retention purge of the audit trail (manage.py audit_purge, portal.services.audit_retention): never younger than
six months, never what is not sealed and verified; what it removes is archived as day bundles that verify stand-alone,
the purge is itself an audited, chained event, and verify() still passes from the signed purge record on.
"""

import datetime as dt
import hashlib
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone
from psycopg import errors, sql

from portal import audit
from portal.models import AuditChainLink, AuditEvent, AuditPurge, AuditSeal
from portal.services.audit_chain import audit_chain_verify

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


def tamper(sql_text: str, params=()):
    with connection.cursor() as cur:
        cur.execute("SET session_replication_role = replica")
        try:
            cur.execute(sql_text, params)
        finally:
            cur.execute("SET session_replication_role = DEFAULT")


def full():
    return audit_chain_verify(actor=None, full=True, via="command")


def _days_ago(n: int) -> dt.datetime:
    return timezone.now() - dt.timedelta(days=n)


@pytest.fixture
def trail(monkeypatch):
    """Three events sealed 300 days ago, two 250 days ago, two today; returns {age: [positions]}."""
    assert not AuditEvent.objects.exists()
    real_now = timezone.now
    ages = {}
    for age, n, moment in ((300, 3, _days_ago(300)), (250, 2, _days_ago(250))):
        monkeypatch.setattr(timezone, "now", lambda moment=moment: moment)
        ids = [audit.record(actor=None, actor_label="system", action="portal.test.old", data={"age": age}).pk
               for _ in range(n)]
        audit.seal_pending()
        ages[age] = sorted(AuditChainLink.objects.filter(event_id__in=ids).values_list("seq", flat=True))
    monkeypatch.setattr(timezone, "now", real_now)
    ids = [audit.record(actor=None, actor_label="system", action="portal.test.recent").pk for _ in range(2)]
    audit.seal_pending()
    ages[0] = sorted(AuditChainLink.objects.filter(event_id__in=ids).values_list("seq", flat=True))
    return ages


def purge(before: dt.date, archive: Path, capsys):
    with pytest.raises(SystemExit) as exit_:
        call_command("audit_purge", "--before", before.isoformat(), "--archive-dir", str(archive))
        raise SystemExit(0)
    out = capsys.readouterr()
    return exit_.value.code, out.out + out.err


@pytest.mark.parametrize("days", [0, 100, 182])
def test_a_cutoff_younger_than_six_months_is_refused(trail, tmp_path, capsys, settings, days):
    settings.PORTAL = {**settings.PORTAL, "AUDIT_RETENTION_MIN_DAYS": 30}  # a setting never goes below six months
    code, output = purge(timezone.localdate() - dt.timedelta(days=days), tmp_path, capsys)
    assert code == 2 and "audit_purge_too_recent" in output and "至少保留 183 天" in output
    assert not AuditPurge.objects.exists() and AuditEvent.objects.count() == 7


def test_a_longer_retention_setting_is_honoured(trail, tmp_path, capsys, settings):
    settings.PORTAL = {**settings.PORTAL, "AUDIT_RETENTION_MIN_DAYS": 400}
    code, output = purge(timezone.localdate() - dt.timedelta(days=280), tmp_path, capsys)
    assert code == 2 and "audit_purge_too_recent" in output


def test_a_broken_trail_is_not_purged(trail, tmp_path, capsys):
    first = AuditChainLink.objects.get(seq=trail[300][1])
    tamper("UPDATE portal_auditevent SET action = 'portal.test.other' WHERE id = %s", [first.event_id])
    code, output = purge(timezone.localdate() - dt.timedelta(days=280), tmp_path, capsys)
    assert code == 2 and "audit_purge_unverified" in output
    assert not AuditPurge.objects.exists() and not list(tmp_path.iterdir())


def test_purge_archives_deletes_audits_and_the_trail_still_verifies(trail, tmp_path, capsys):
    code, output = purge(timezone.localdate() - dt.timedelta(days=280), tmp_path, capsys)
    assert code == 0, output
    record = AuditPurge.objects.get()
    assert (record.first_seq, record.last_seq, record.count) == (1, 3, 3)
    # What the purge verified first (full run) and its own event are chained after the old positions.
    assert not AuditChainLink.objects.filter(seq__lte=3).exists() and not AuditSeal.objects.filter(first_seq=1).exists()
    assert not AuditEvent.objects.filter(action="portal.test.old", data__age=300).exists()
    assert AuditEvent.objects.filter(action="portal.test.old", data__age=250).count() == 2
    event = AuditEvent.objects.get(action="portal.audit.purged")
    (bundle,) = record.bundles
    path = Path(bundle["file"])
    assert path.parent == tmp_path and bundle["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert event.data["bundles"] == [{"file": str(path), "sha256": bundle["sha256"]}]
    assert (event.data["first_seq"], event.data["last_seq"], event.data["count"]) == (1, 3, 3)

    run = full()
    assert run.ok and run.first_seq == 4, (run.break_seq, run.break_kind, run.break_detail)
    assert AuditChainLink.objects.filter(event_id=event.pk).exists()  # the purge's own event is chained
    assert audit_chain_verify(actor=None, via="command").ok

    done = subprocess.run([sys.executable, str(ROOT / "clients" / "audit_verify_bundle.py"), str(path)],  # noqa: S603
                          capture_output=True, text=True, timeout=60, env={"PATH": os.environ["PATH"]})
    assert done.returncode == 0 and "3 events" in done.stdout, done.stdout + done.stderr


def test_after_a_purge_recent_events_stay_undeletable_and_a_deletion_is_found(trail, tmp_path, capsys):
    assert purge(timezone.localdate() - dt.timedelta(days=280), tmp_path, capsys)[0] == 0
    recent = AuditChainLink.objects.get(seq=trail[0][0])
    for statement, param in (("DELETE FROM portal_auditevent WHERE id = %s", recent.event_id),
                             ("DELETE FROM portal_auditchainlink WHERE seq = %s", recent.seq),
                             ("DELETE FROM portal_auditseal WHERE first_seq = %s", recent.seq),
                             ("DELETE FROM portal_auditpurge WHERE last_seq > %s", 0)):
        with pytest.raises(Exception, match="append-only"), transaction.atomic(), connection.cursor() as cur:
            cur.execute(statement, [param])
    # What an intruder with the owner's rights can still do (switch the triggers off) is found, at its position:
    tamper("DELETE FROM portal_auditchainlink WHERE seq = %s", [recent.seq])
    tamper("DELETE FROM portal_auditevent WHERE id = %s", [recent.event_id])
    run = full()
    assert (run.ok, run.break_seq, run.break_kind) == (False, recent.seq, "gap")


def test_the_purge_function_refuses_positions_sealed_within_six_months(trail):
    seq = trail[0][-1]
    link = AuditChainLink.objects.select_related("event").get(seq=seq)
    record = AuditPurge.objects.create(first_seq=1, last_seq=seq, count=seq, head_hash=link.hash,
                                       last_occurred_at=link.event.occurred_at, before=timezone.localdate(),
                                       kid="x", signature="x")
    with pytest.raises(Exception, match="sealed within six months"), transaction.atomic(), connection.cursor() as cur:
        cur.execute("SELECT portal_audit_purge(%s)", [record.pk])
    assert AuditEvent.objects.count() == 7


def test_the_application_role_may_not_run_the_purge(trail):
    role = f"portal_app_{uuid.uuid4().hex[:8]}"
    with connection.cursor() as cur:
        cur.execute(sql.SQL("CREATE ROLE {} NOLOGIN NOSUPERUSER").format(sql.Identifier(role)))
    call_command("grant_app_role", role, stdout=open(os.devnull, "w"))  # noqa: SIM115
    with pytest.raises(Exception) as raised, transaction.atomic(), connection.cursor() as cur:
        cur.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(role)))
        cur.execute("SELECT portal_audit_purge(1)")
    assert isinstance(raised.value.__cause__, errors.InsufficientPrivilege)
    with pytest.raises(Exception) as raised, transaction.atomic(), connection.cursor() as cur:
        cur.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(role)))
        cur.execute("DELETE FROM portal_auditpurge")
    assert isinstance(raised.value.__cause__, errors.InsufficientPrivilege)


def test_a_forged_purge_record_is_a_signature_break(trail, tmp_path, capsys):
    """A superuser deletes old positions and writes a purge record of their own: it is not signed by the seal key."""
    last = trail[250][-1]
    link = AuditChainLink.objects.select_related("event").get(seq=last)
    AuditPurge.objects.create(first_seq=1, last_seq=last, count=last, head_hash=link.hash,
                              last_occurred_at=link.event.occurred_at, before=timezone.localdate(), kid="forged",
                              signature="AAAA")
    tamper("DELETE FROM portal_auditchainlink WHERE seq <= %s", [last])
    run = full()
    assert (run.ok, run.break_seq, run.break_kind) == (False, last + 1, "signature")
