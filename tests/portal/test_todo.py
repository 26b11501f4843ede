"""我的待办: each role's page and API list what that person must act on — clocks and the chapters' clock-less work —
and nothing of anyone else's; messages of one kind fold into one unread message (portal.todo, Digest)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from catalog.services.entries import catalog_entry_save, catalog_entry_sign_off, catalog_entry_submit
from portal.choices import Role
from portal.models import AuditVerification, Notification
from portal.services.notifications import notification_mark_read
from security.choices import IncidentSeverity
from security.services.incidents import (
    security_incident_close,
    security_incident_handle,
    security_incident_report,
)
from security.services.secrecy import secrecy_review_flag
from sharing.services.requests import sharing_request_comment, sharing_request_submit
from tests.catalog.helpers import entry_items, entry_values
from tests.factories import make_user
from tests.sharing.helpers import published_entry, request_values

pytestmark = pytest.mark.django_db


def todo_keys(client) -> dict[str, int]:
    body = client.get(reverse("api-todo")).json()
    return {g["key"]: g["count"] for g in body["groups"]}


def page_keys(client) -> set[str]:
    html = client.get(reverse("home")).content.decode()
    return {chunk.split('"', 1)[0] for chunk in html.split('data-key="')[1:]}


def draft(staff, name="企业营业执照登记信息"):
    return catalog_entry_save(actor=staff, department=staff.department, values=entry_values(name=name),
                              items=entry_items())


def test_the_head_sees_the_entries_waiting_for_sign_off_until_signed(staff, head, other_staff, bureau, api_as):
    entries = [draft(staff, name=f"企业登记信息{i}") for i in range(7)]
    for entry in entries:
        catalog_entry_submit(actor=staff, entry_id=entry.pk)
    as_head = api_as(head)
    body = as_head.get(reverse("api-todo")).json()
    signoff = next(g for g in body["groups"] if g["key"] == "catalog.signoff")
    assert signoff["count"] == 7
    assert len(signoff["items"]) == 5  # the first few; the link lists them all
    assert signoff["url"] == reverse("catalog:review-queue")
    assert {i["url"] for i in signoff["items"]} <= {reverse("catalog:entry-detail", args=[e.pk]) for e in entries}
    assert "catalog.signoff" in page_keys(as_head)
    # Neither the clerk who filed them nor another department's people have anything to sign.
    assert "catalog.signoff" not in todo_keys(api_as(staff))
    assert "catalog.signoff" not in todo_keys(api_as(other_staff))

    for entry in entries:
        catalog_entry_sign_off(actor=head, entry_id=entry.pk)
    assert "catalog.signoff" not in todo_keys(as_head)


def test_a_bureau_review_is_a_clock_row_not_a_group(staff, head, reviewer, bureau, api_as):
    entry = draft(staff)
    catalog_entry_submit(actor=staff, entry_id=entry.pk)
    catalog_entry_sign_off(actor=head, entry_id=entry.pk)
    body = api_as(reviewer).get(reverse("api-todo")).json()
    assert [d["clock"] for d in body["deadlines"]] == ["catalog_review"]
    assert body["deadlines"][0]["remaining_working_days"] is not None
    assert not [g for g in body["groups"] if g["key"].startswith("catalog.")]


def test_the_provider_sees_requests_waiting_for_its_comment(staff, head, other_staff, dept, bureau, reviewer, api_as):
    entry = published_entry(dept)
    req = sharing_request_submit(actor=other_staff, entry_id=entry.pk, values=request_values())
    assert todo_keys(api_as(staff))["sharing.comment"] == 1
    assert todo_keys(api_as(head))["sharing.comment"] == 1
    # The consumer waits on the bureau, not on itself; the bureau's review is a clock.
    assert "sharing.comment" not in todo_keys(api_as(other_staff))
    assert "sharing.comment" not in todo_keys(api_as(reviewer))
    # A clerk of the provider without the comment permission on that resource has nothing to do.
    clerk = make_user(Role.DEPT_STAFF, department=dept, username="newclerk")
    assert "sharing.comment" not in todo_keys(api_as(clerk))

    sharing_request_comment(actor=staff, request_id=req.pk, body="数据可按条件共享")
    assert "sharing.comment" not in todo_keys(api_as(head))  # the department has answered


def test_the_security_admin_sees_open_incidents_and_locked_accounts(security_admin, reviewer, dept, staff, api_as,
                                                                   client):
    incident = security_incident_report(
        actor=security_admin, title="接口异常调用", severity=IncidentSeverity.LARGER,
        occurred_at=timezone.now() - dt.timedelta(hours=1), description="夜间批量拉取", resource_keys=[],
        department_ids=[dept.pk])
    for _ in range(5):
        client.post(reverse("login"), {"username": "staff", "password": "Wrong@Passw0rd1"}, REMOTE_ADDR="10.1.1.1")
    as_admin = api_as(security_admin)
    keys = todo_keys(as_admin)
    assert keys["security.incidents"] == 1
    assert keys["security.locks"] == 1
    # The bureau reads the incident register, but handling is the security administrator's.
    assert "security.incidents" not in todo_keys(api_as(reviewer))

    security_incident_handle(actor=security_admin, incident_id=incident.pk, measures="停用客户端")
    security_incident_close(actor=security_admin, incident_id=incident.pk, conclusion="已处置")
    assert "security.incidents" not in todo_keys(as_admin)


def test_a_reviewer_sees_the_secrecy_reviews_waiting_for_a_decision(reviewer, security_admin, dept, api_as):
    entry = published_entry(dept)
    secrecy_review_flag(actor=security_admin, resource=entry.resource_key, reason="涉及敏感信息")
    assert todo_keys(api_as(reviewer))["security.secrecy"] == 1
    assert "security.secrecy" not in todo_keys(api_as(security_admin))  # flagged it; deciding is the bureau's


def test_the_audit_admin_is_told_of_a_broken_or_stale_verification(audit_admin, security_admin, api_as):
    as_auditor = api_as(audit_admin)
    assert todo_keys(as_auditor) == {"security.audit_stale": 1}  # never verified
    now = timezone.now()
    AuditVerification.objects.create(via="beat", started_at=now, finished_at=now, ok=True, last_seq=10)
    assert todo_keys(as_auditor) == {}
    AuditVerification.objects.create(via="beat", started_at=now + dt.timedelta(minutes=15), ok=False, break_seq=7,
                                     break_kind="hash", break_detail="事件内容与链哈希不符")
    body = as_auditor.get(reverse("api-todo")).json()
    assert [(g["key"], g["urgent"]) for g in body["groups"]] == [("security.audit_broken", True)]
    assert "7" in body["groups"][0]["items"][0]["title"]
    assert "security.audit_broken" not in todo_keys(api_as(security_admin))


def test_review_messages_fold_into_one_unread_message(staff, head, reviewer, bureau):
    entries = [draft(staff, name=f"企业登记信息{i}") for i in range(3)]
    for entry in entries:
        catalog_entry_submit(actor=staff, entry_id=entry.pk)
        catalog_entry_sign_off(actor=head, entry_id=entry.pk)
    unread = list(Notification.objects.filter(recipient=reviewer, read_at__isnull=True))
    assert len(unread) == 1
    assert unread[0].count == 3
    assert unread[0].title == "有 3 项目录待审核"
    assert unread[0].url == reverse("catalog:review-queue")
    assert "企业登记信息2" in unread[0].body  # the newest
    head_unread = Notification.objects.filter(recipient=head, read_at__isnull=True)
    assert [(n.title, n.count) for n in head_unread] == [("有 3 项目录待签发", 3)]

    notification_mark_read(user=reviewer)
    another = draft(staff, name="企业登记信息9")
    catalog_entry_submit(actor=staff, entry_id=another.pk)
    catalog_entry_sign_off(actor=head, entry_id=another.pk)
    fresh = Notification.objects.get(recipient=reviewer, read_at__isnull=True)
    assert (fresh.title, fresh.count) == ("待审核目录：企业登记信息9", 1)
    assert fresh.url == reverse("catalog:entry-detail", args=[another.pk])


def test_the_todo_api_and_page_need_a_signed_in_user(client):
    assert client.get(reverse("api-todo")).status_code in (401, 403)
    assert client.get(reverse("home")).status_code == 302



def test_the_security_admin_sees_open_anomalies_first(security_admin, reviewer, dept, api_as):
    from security.models import LeakAnomaly
    from tests.hostile.world import _anomaly

    anomaly = _anomaly(dept)
    body = api_as(security_admin).get(reverse("api-todo")).json()
    assert (body["groups"][0]["key"], body["groups"][0]["count"], body["groups"][0]["urgent"]) == (
        "security.anomalies", 1, True)
    assert body["groups"][0]["items"][0]["url"] == reverse("security:anomaly-detail", args=[anomaly.pk])
    assert "security.anomalies" not in todo_keys(api_as(reviewer))
    LeakAnomaly.objects.filter(pk=anomaly.pk).update(state="dismissed")
    assert "security.anomalies" not in todo_keys(api_as(security_admin))


def test_an_item_waiting_since_a_date_or_a_time_reads_as_iso(staff, api_as, monkeypatch):
    import datetime as dt

    from portal import todo

    def provider(user, today):
        return [todo.TodoGroup(key="test.dates", title="测试", url="/", count=2, items=(
            todo.TodoItem(title="日期", url="/", since=dt.date(2026, 12, 1)),
            todo.TodoItem(title="时间", url="/", since=dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC))))]

    monkeypatch.setitem(todo._providers, "test", provider)
    group = next(g for g in api_as(staff).get(reverse("api-todo")).json()["groups"] if g["key"] == "test.dates")
    assert [i["since"] for i in group["items"]] == ["2026-12-01", "2026-12-01T10:00:00+08:00"]
