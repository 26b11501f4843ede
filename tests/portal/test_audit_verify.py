"""The audit trail's verification (portal.audit_verify, portal.services.audit_chain): each way of tampering with the
trail behind the triggers' back, found at its first bad position; TRUNCATE refused; the command, the beat task's
alert and the audit administrator's button.

Tampering runs as the test database's superuser in replica mode (`session_replication_role`), which switches off
the append-only and queue triggers for the statement — what an intruder with the database owner's rights would do.
"""

import datetime as dt

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.db.utils import InternalError, ProgrammingError
from django.urls import reverse
from django.utils import timezone

from portal import audit
from portal.choices import AuditResult, Role
from portal.models import AuditChainLink, AuditEvent, AuditSeal, AuditVerification, Notification
from portal.services.audit_chain import audit_chain_verify
from portal.tasks import audit_verify_task

pytestmark = pytest.mark.django_db

_INSERT = ("INSERT INTO portal_auditevent (occurred_at, actor_label, role, action, object_type, object_id,"
           " object_repr, data, request_id, result) VALUES (%s, 'intruder', '', 'portal.test.forged', '', '', '',"
           " '{}'::jsonb, '', 'success') RETURNING id")


def tamper(sql: str, params=()):
    """One statement with the trail's triggers off (and back on for the rest of the test)."""
    with connection.cursor() as cur:
        cur.execute("SET session_replication_role = replica")
        try:
            cur.execute(sql, params)
            return cur.fetchone()[0] if cur.description else None
        finally:
            cur.execute("SET session_replication_role = DEFAULT")


@pytest.fixture
def chain(staff):
    """Six events in two seals (positions 1–4, 5–6), verified intact once; returns the links' event ids by position."""
    for i in range(4):
        audit.record(actor=staff, action="portal.test.changed", data={"i": i, "when": dt.date(2026, 12, 1)})
    audit.seal_pending()
    for i in range(4, 6):
        audit.record(actor=staff, action="portal.test.changed", data={"i": i})
    audit.seal_pending()
    first = AuditChainLink.objects.order_by("seq").first().seq
    assert first == 1
    return dict(AuditChainLink.objects.values_list("seq", "event_id"))


def full():
    return audit_chain_verify(actor=None, full=True, via="command")


def broken_at(run):
    return (run.ok, run.break_seq, run.break_kind)


def test_an_intact_trail_verifies_and_the_next_run_starts_after_it(chain, staff):
    run = full()
    total = max(chain)  # the fixture's users' own events are chained too
    assert (run.ok, run.full, run.first_seq, run.last_seq, run.checked) == (True, True, 1, total, total)
    assert run.head_hash == AuditChainLink.objects.get(seq=total).hash
    audit.record(actor=staff, action="portal.test.changed", data={"i": 9})
    run2 = audit_chain_verify(actor=None, via="command")  # seals the new event and the first run's own event first
    assert (run2.ok, run2.full, run2.first_seq) == (True, False, total + 1)
    assert run2.last_seq == AuditChainLink.objects.order_by("-seq").first().seq
    event = AuditEvent.objects.filter(action="portal.audit.verified").latest("id")
    assert event.result == AuditResult.SUCCESS and event.data["first_seq"] == total + 1 and event.data["ok"]


def test_a_changed_byte_is_found_at_its_position(chain):
    tamper("UPDATE portal_auditevent SET object_repr = object_repr || 'x' WHERE id = %s", [chain[3]])
    assert broken_at(full()) == (False, 3, "hash")


def test_a_changed_link_hash_is_found_at_its_position(chain):
    tamper("UPDATE portal_auditchainlink SET hash = repeat('0', 64) WHERE seq = 2")
    assert broken_at(full()) == (False, 2, "hash")


def test_a_deleted_middle_event_is_found_at_the_deleted_position(chain):
    tamper("DELETE FROM portal_auditchainlink WHERE seq = 3")
    tamper("DELETE FROM portal_auditevent WHERE id = %s", [chain[3]])
    run = full()
    assert broken_at(run) == (False, 3, "gap") and run.last_seq == 2


def test_an_event_deleted_under_its_link_is_found_at_its_position(chain):
    tamper("DELETE FROM portal_auditevent WHERE id = %s", [chain[2]])
    assert broken_at(full()) == (False, 2, "missing_event")
    tamper("DELETE FROM portal_auditchainlink WHERE seq = 2")  # the test database's teardown checks foreign keys


def test_a_deleted_tail_is_found_by_its_seal(chain):
    last = max(chain)
    tamper("DELETE FROM portal_auditchainlink WHERE seq >= %s", [last - 1])
    tamper("DELETE FROM portal_auditevent WHERE id = ANY(%s)", [[chain[last - 1], chain[last]]])
    assert broken_at(full()) == (False, last - 1, "tail")


def test_a_tail_deleted_with_its_seal_is_found_by_the_last_verified_run(chain):
    assert full().ok
    last = max(chain)
    seal = AuditChainLink.objects.get(seq=last).seal_id
    for sql in ("DELETE FROM portal_auditchainlink WHERE seal_id = %s", "DELETE FROM portal_auditseal WHERE id = %s"):
        tamper(sql, [seal])
    first_gone = AuditSeal.objects.order_by("-last_seq").first().last_seq + 1
    assert broken_at(audit_chain_verify(actor=None, via="command")) == (False, first_gone, "tail")
    assert broken_at(full()) == (False, first_gone, "tail")


def test_a_seal_that_disagrees_with_the_chain_is_a_break_at_its_first_position(chain):
    seal = AuditSeal.objects.order_by("first_seq").first()
    tamper("UPDATE portal_auditseal SET head_hash = repeat('f', 64) WHERE id = %s", [seal.pk])
    assert broken_at(full()) == (False, seal.first_seq, "seal")


def test_a_seal_whose_count_disagrees_is_a_break(chain):
    seal = AuditSeal.objects.order_by("-first_seq").first()
    tamper("UPDATE portal_auditseal SET count = count + 1 WHERE id = %s", [seal.pk])
    assert broken_at(full()) == (False, seal.first_seq, "seal")


def test_a_backdated_insert_is_found_where_the_sealer_chained_it(chain):
    with connection.cursor() as cur:  # triggers on: the event is queued and chained like any other
        cur.execute(_INSERT, [timezone.now() - dt.timedelta(hours=2)])
        forged = cur.fetchone()[0]
    audit.seal_pending()
    position = AuditChainLink.objects.get(event_id=forged).seq
    assert broken_at(full()) == (False, position, "backdated")


def test_an_honest_late_commit_within_the_lag_is_no_break(chain):
    with connection.cursor() as cur:
        cur.execute(_INSERT, [timezone.now() - dt.timedelta(minutes=5)])
    assert full().ok


def test_an_insert_with_the_triggers_off_is_found_at_the_position_it_would_take(chain):
    forged = tamper(_INSERT, [timezone.now() - dt.timedelta(hours=1)])
    assert not AuditChainLink.objects.filter(event_id=forged).exists()
    run = audit_chain_verify(actor=None, full=True, via="command")  # the sealer never sees it: it is not queued
    assert not AuditChainLink.objects.filter(event_id=forged).exists()
    later = AuditChainLink.objects.filter(event_id__gt=forged).order_by("event_id").first()
    assert broken_at(run) == (False, later.seq if later else max(chain) + 1, "unchained")
    assert str(forged) in run.break_detail


def test_an_unchained_event_younger_than_the_lag_is_not_yet_a_break(chain):
    tamper(_INSERT, [timezone.now()])
    assert full().ok


def test_an_incremental_run_trusts_what_was_verified_and_the_nightly_full_run_does_not(chain):
    assert full().ok
    tamper("UPDATE portal_auditevent SET object_repr = 'x' WHERE id = %s", [chain[2]])
    run = audit_chain_verify(actor=None, via="command")
    assert run.ok and not run.full and run.first_seq > max(chain)
    assert broken_at(full()) == (False, 2, "hash")


def test_an_incremental_run_finds_a_change_to_the_head_it_trusted(chain, staff):
    run = full()
    tamper("UPDATE portal_auditchainlink SET hash = repeat('1', 64) WHERE seq = %s", [run.last_seq])
    assert broken_at(audit_chain_verify(actor=None, via="command")) == (False, run.last_seq, "hash")


@pytest.mark.parametrize("table", ["portal_auditevent", "portal_auditchainlink", "portal_auditseal"])
def test_truncate_is_refused(chain, table):
    with connection.cursor() as cur:  # the test's own deferred foreign-key checks would refuse TRUNCATE first
        cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
    with (pytest.raises((InternalError, ProgrammingError), match="append-only"), transaction.atomic(),
          connection.cursor() as cur):
        cur.execute(f"TRUNCATE {table} CASCADE")
    assert AuditEvent.objects.exists() and AuditChainLink.objects.exists() and AuditSeal.objects.exists()


# ---------------------------------------------------------------- the command


def test_command_exits_0_on_an_intact_trail(chain, capsys):
    call_command("audit_verify", "--full")
    assert "审计日志完好" in capsys.readouterr().out
    assert AuditVerification.objects.get().via == "command"


def test_command_exits_1_and_names_the_first_bad_position(chain, capsys):
    tamper("UPDATE portal_auditevent SET data = '{\"i\": 99}'::jsonb WHERE id = %s", [chain[4]])
    with pytest.raises(SystemExit) as exit_:
        call_command("audit_verify", "--full")
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    assert "首个异常位置 4" in err and "hash" in err


# ---------------------------------------------------------------- the beat task alerts


def test_a_break_alerts_every_audit_and_security_admin_once(chain, audit_admin, security_admin, system_admin, staff):
    tamper("UPDATE portal_auditevent SET action = 'portal.test.other' WHERE id = %s", [chain[2]])
    result = audit_verify_task.apply(kwargs={"full": True}).get()
    assert result["ok"] is False and result["break_seq"] == 2
    notes = Notification.objects.filter(title__contains="位置 2")
    assert sorted(n.recipient.username for n in notes) == sorted([audit_admin.username, security_admin.username])
    assert notes.get(recipient=audit_admin).url == reverse("security:audit")
    assert notes.get(recipient=security_admin).url == ""
    event = AuditEvent.objects.filter(action="portal.audit.verified").latest("id")
    assert event.result == AuditResult.FAILURE and event.actor_label == "system"
    assert (event.data["break_seq"], event.data["break_kind"], event.data["alerted"]) == (2, "hash", 2)
    assert AuditVerification.objects.get().via == "beat"
    audit_verify_task.apply()  # the same break again: recorded, not announced again
    assert Notification.objects.filter(title__contains="位置 2").count() == 2
    assert AuditVerification.objects.filter(ok=False, break_seq=2).count() == 2


def test_an_intact_trail_alerts_nobody(chain, audit_admin, security_admin):
    assert audit_verify_task.apply().get()["ok"] is True
    assert not Notification.objects.exists()


def test_beat_schedule_runs_incremental_and_nightly_full(settings):
    entries = {k: v for k, v in settings.CELERY_BEAT_SCHEDULE.items() if v["task"] == "portal.tasks.audit_verify"}
    assert len(entries) == 2
    assert sorted(v.get("kwargs", {}).get("full", False) for v in entries.values()) == [False, True]


# ---------------------------------------------------------------- the audit administrator's page


def test_page_shows_the_last_verification(chain, web_as, audit_admin):
    tamper("UPDATE portal_auditevent SET action = 'portal.test.other' WHERE id = %s", [chain[3]])
    full()
    page = web_as(audit_admin).get(reverse("security:audit")).content.decode()
    assert 'data-testid="audit-verification"' in page and "首个异常位置 3" in page and "事件内容与链哈希不符" in page


def test_verify_now_runs_and_audits(chain, web_as, audit_admin):
    client = web_as(audit_admin)
    assert "尚未校验" in client.get(reverse("security:audit")).content.decode()
    response = client.post(reverse("security:audit-verify"), follow=True)
    assert response.status_code == 200 and "审计日志完好" in response.content.decode()
    run = AuditVerification.objects.get()
    assert run.ok and run.via == "page"
    event = AuditEvent.objects.get(action="portal.audit.verified")
    assert event.actor == audit_admin and event.object_id == str(run.pk)


@pytest.mark.parametrize("role", [Role.SECURITY_ADMIN, Role.SYSTEM_ADMIN, Role.DEPT_STAFF])
def test_verify_now_is_the_audit_admins_alone(chain, web_as, role):
    from tests.factories import make_user

    response = web_as(make_user(role)).post(reverse("security:audit-verify"))
    assert response.status_code == 404
    assert not AuditVerification.objects.exists()


def test_verify_now_wants_post(web_as, audit_admin):
    assert web_as(audit_admin).get(reverse("security:audit-verify")).status_code == 405
    assert not AuditVerification.objects.exists()
