"""The audit primitive: same transaction as the change, append-only, chained in batches by the sealer."""

import pytest
from django.db import connection, transaction
from django.db.utils import InternalError, ProgrammingError

from portal import audit
from portal.models import AuditChainLink, AuditEvent, AuditSeal
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def test_event_is_rolled_back_with_the_change(staff):
    with pytest.raises(RuntimeError), transaction.atomic():
        audit.record(actor=staff, action="portal.test.changed", obj=staff, data={"x": 1})
        raise RuntimeError("the use case failed")
    assert not AuditEvent.objects.filter(action="portal.test.changed").exists()


def test_event_carries_who_what_where(staff, client):
    from portal import context

    token = context.bind(context.RequestContext(ip="10.1.2.3", request_id="req-12345678"))
    try:
        event = audit.record(actor=staff, action="portal.test.read", obj=staff.department, data={"rows": 3})
    finally:
        context.reset(token)
    event.refresh_from_db()
    assert event.actor_label == "staff" and event.role == "dept_staff"
    assert event.department == staff.department
    assert (event.object_type, event.object_id) == ("portal.department", str(staff.department.pk))
    assert (event.ip, event.request_id, event.result) == ("10.1.2.3", "req-12345678", "success")


@pytest.mark.parametrize("statement", ["UPDATE portal_auditevent SET action = 'x'", "DELETE FROM portal_auditevent"])
def test_the_trail_is_append_only(staff, statement):
    audit.record(actor=staff, action="portal.test.changed")
    with pytest.raises((InternalError, ProgrammingError)), transaction.atomic(), connection.cursor() as cur:
        cur.execute(statement)


def test_sealer_chains_in_batches_and_verifies(staff):
    for i in range(7):
        audit.record(actor=staff, action="portal.test.changed", data={"i": i})
    assert audit.seal_pending(batch=5) == 5
    assert audit.seal_pending(batch=5) == 2
    assert audit.seal_pending(batch=5) == 0
    assert AuditSeal.objects.count() == 2
    check = audit.verify_chain()
    assert check.ok and check.checked == 7


def test_verification_finds_a_changed_event(staff):
    for i in range(3):
        audit.record(actor=staff, action="portal.test.changed", data={"i": i})
    audit.seal_pending()
    fields = [f"event__{f}" for f in audit._CANONICAL_FIELDS]
    links = list(AuditChainLink.objects.order_by("seq").values("seq", "prev_hash", "hash", *fields))
    links[1]["event__data"] = {"i": 99}  # what an edit behind the triggers' back would look like
    check = audit.verify_chain(links=links)
    assert (check.ok, check.broken_at_seq, check.reason) == (False, 2, "hash")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_late_commit_with_a_lower_id_is_chained_next_run():
    """Commit order is not id order: the sealer must neither skip nor double such an event."""
    import psycopg
    from django.conf import settings

    user = make_user()
    db = settings.DATABASES["default"]
    other = psycopg.connect(
        host=db["HOST"] or None, port=db["PORT"] or None, user=db["USER"], password=db["PASSWORD"] or None,
        dbname=db["NAME"],
    )
    try:
        with other.cursor() as cur:  # transaction stays open: this event's id is lower but uncommitted
            cur.execute(
                "INSERT INTO portal_auditevent (occurred_at, actor_label, role, action, object_type, object_id,"
                " object_repr, data, request_id, result) VALUES (now(), 'late', '', 'portal.test.late', '', '',"
                " '', '{}', '', 'success') RETURNING id"
            )
            late_id = cur.fetchone()[0]
        early = audit.record(actor=user, action="portal.test.early")
        assert early.pk > late_id
        audit.seal_pending()
        assert set(AuditChainLink.objects.values_list("event_id", flat=True)) >= {early.pk}
        assert not AuditChainLink.objects.filter(event_id=late_id).exists()
        other.commit()
        audit.seal_pending()
        late_link = AuditChainLink.objects.get(event_id=late_id)
        assert late_link.seq > AuditChainLink.objects.get(event_id=early.pk).seq
        assert AuditChainLink.objects.count() == AuditEvent.objects.count()
        assert audit.verify_chain().ok
    finally:
        other.close()


def test_login_success_and_failure_are_audited(client, staff, audit_log):
    from tests.factories import PASSWORD

    client.post("/login/", {"username": "staff", "password": "wrong"})
    client.post("/login/", {"username": "staff", "password": PASSWORD})
    (failed,) = audit_log("portal.auth.login_failed")
    (ok,) = audit_log("portal.auth.login")
    assert (failed.actor, failed.actor_label, failed.result) == (None, "staff", "failure")
    assert ok.actor == staff


def test_a_machine_principal_is_recorded_by_name_and_department(dept):
    class Principal:
        is_authenticated = True
        department = dept

        def get_username(self):
            return "client:abc"

    event = audit.record(actor=Principal(), action="portal.test.read")
    event.refresh_from_db()
    assert (event.actor, event.actor_label, event.department, event.role) == (None, "client:abc", dept, "")


COLUMNS = ("actor_id", "actor_label", "role", "department_id", "action", "object_type", "object_id", "object_repr",
           "data", "ip", "request_id", "result")


def columns(event: AuditEvent) -> dict:
    event.refresh_from_db()
    return {name: getattr(event, name) for name in COLUMNS}


@pytest.mark.parametrize("who", ["system", "person", "machine"])
def test_record_rows_writes_what_record_writes(who, staff, other_dept, dept):
    """The set-based insert fills every column as record() does for the same actor, department and request."""
    from portal import context

    class Principal:
        is_authenticated = True
        department = other_dept

        def get_username(self):
            return "client:abc"

    actor = {"system": None, "person": staff, "machine": Principal()}[who]
    token = context.bind(context.RequestContext(ip="10.1.2.3", request_id="req-1"))
    try:
        one = audit.record(actor=actor, action="portal.test.swept", obj=dept, data={"n": 1})
        audit.record_rows(
            "SELECT NULL::bigint, id, name, jsonb_build_object('n', 1) FROM portal_department WHERE id = %(id)s",
            {"id": dept.pk}, actor=actor, action="portal.test.swept", object_type="portal.department",
        )
    finally:
        context.reset(token)
    first, second = AuditEvent.objects.filter(action="portal.test.swept").order_by("id")
    assert first.pk == one.pk
    assert columns(second) == columns(first)


def test_record_rows_keeps_a_rows_department_and_cuts_the_repr(dept, other_dept):
    users = [make_user(department=dept), make_user(department=other_dept)]
    audit.record_rows(
        "SELECT department_id, id, repeat('x', 400), NULL FROM portal_user WHERE id IN (%(a)s, %(b)s)",
        {"a": users[0].pk, "b": users[1].pk}, action="portal.test.swept", object_type="portal.user",
        request_id="celery:1",
    )
    events = {e.object_id: e for e in AuditEvent.objects.filter(action="portal.test.swept")}
    assert {events[str(u.pk)].department_id for u in users} == {dept.pk, other_dept.pk}
    assert all(len(e.object_repr) == 300 and e.data == {} and e.request_id == "celery:1" for e in events.values())
    assert all((e.actor_id, e.actor_label, e.role) == (None, "system", "") for e in events.values())


RENAME_SQL = """
WITH renamed AS (UPDATE portal_department SET short_name = short_name || '*' WHERE id IN (%(a)s, %(b)s)
                 RETURNING id, short_name),
     audited AS ({audited})
SELECT (SELECT count(*) FROM audited)
"""


def test_record_rows_sql_audits_the_rows_an_update_returns_in_the_same_statement(dept, other_dept):
    """As a data-modifying CTE next to the UPDATE: one event per changed row, in one statement."""
    audited, params = audit.record_rows_sql(
        "SELECT id, id, short_name, jsonb_build_object('renamed', true) FROM renamed",
        action="portal.department.renamed", object_type="portal.department",
    )
    with connection.cursor() as cur:
        cur.execute(RENAME_SQL.format(audited=audited), {"a": dept.pk, "b": other_dept.pk, **params})
        assert cur.fetchone()[0] == 2
    events = AuditEvent.objects.filter(action="portal.department.renamed").order_by("object_id")
    assert [(e.object_id, e.department_id, e.object_repr[-1], e.data) for e in events] == [
        (str(d.pk), d.pk, "*", {"renamed": True}) for d in sorted([dept, other_dept], key=lambda d: str(d.pk))
    ]
