"""The application's database role (manage.py grant_app_role): DML everywhere, insert-only on the audit trail.

Everything runs inside the test's transaction (CREATE ROLE and GRANT are transactional in PostgreSQL), so the
role disappears with the rollback. Each statement runs as the role inside a savepoint: rolling back to it also
undoes the SET LOCAL ROLE.
"""

from __future__ import annotations

import uuid

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from psycopg import errors, sql

from portal import audit
from portal.models import AuditEvent, Notification

pytestmark = pytest.mark.django_db


@pytest.fixture
def app_role():
    role = f"portal_app_{uuid.uuid4().hex[:8]}"
    with connection.cursor() as cur:
        cur.execute(sql.SQL("CREATE ROLE {} NOLOGIN NOSUPERUSER").format(sql.Identifier(role)))
    call_command("grant_app_role", role, stdout=open("/dev/null", "w"))  # noqa: SIM115
    return role


def as_role(role: str, statement, params=()):
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(role)))
        cur.execute(statement, params)
        cur.execute("RESET ROLE")


def refused(role: str, statement, params=()) -> bool:
    try:
        as_role(role, statement, params)
    except Exception as exc:  # Django wraps psycopg's error; the cause says which
        if isinstance(exc.__cause__, errors.InsufficientPrivilege):
            return True
        raise
    return False


def test_app_role_writes_the_trail_but_cannot_rewrite_or_empty_it(app_role, staff):
    audit.record(actor=staff, action="test.before")
    event = AuditEvent.objects.latest("id")

    as_role(app_role, "INSERT INTO portal_auditevent (occurred_at, actor_label, role, action, object_type, object_id,"
                      " object_repr, data, request_id, result) VALUES (now(), 'x', '', 'test.as_app', '', '', '',"
                      " '{}', '', 'success')")
    assert AuditEvent.objects.filter(action="test.as_app").exists()
    # The privilege check comes before the append-only trigger: the role is refused as such (42501), not by it.
    for table in ("portal_auditevent", "portal_auditchainlink", "portal_auditseal"):
        name = sql.Identifier(table)
        assert refused(app_role, sql.SQL("DELETE FROM {}").format(name)), table
        assert refused(app_role, sql.SQL("TRUNCATE {}").format(name)), table
    assert refused(app_role, "UPDATE portal_auditevent SET action = 'forged' WHERE id = %s", [event.pk])
    assert AuditEvent.objects.get(pk=event.pk).action == "test.before"


def test_app_role_keeps_ordinary_dml_and_the_sealer_queue(app_role, staff):
    note = Notification.objects.create(recipient=staff, title="t", body="b")
    as_role(app_role, "UPDATE portal_notification SET title = 'changed' WHERE id = %s", [note.pk])
    as_role(app_role, "DELETE FROM portal_auditpending")  # the sealer drains its queue
    as_role(app_role, "CREATE TEMP TABLE staging_probe (x int)")  # the ingest's staging tables
    assert Notification.objects.get(pk=note.pk).title == "changed"
    assert refused(app_role, "TRUNCATE portal_notification")
    assert refused(app_role, "ALTER TABLE portal_auditevent DISABLE TRIGGER USER")


def test_a_superuser_role_is_refused():
    with pytest.raises(CommandError, match="superuser"):
        call_command("grant_app_role", "postgres")
    with pytest.raises(CommandError, match="does not exist"):
        call_command("grant_app_role", "no_such_role_here")
