"""Database push pages: the consumer's staff subscribe, see receipts, run now, pause and resume; 404 outside scope."""

from __future__ import annotations

import pytest
from django.urls import reverse

from sharing.models import PushSubscription
from sharing.push import run as push_engine
from sharing.services import push as push_services

pytestmark = pytest.mark.django_db

DSN = "postgresql://front:s3cret-pw@127.0.0.1:1/front"


@pytest.fixture
def sub(people_push, other_staff):
    _entry, grant, _keys = people_push
    return push_services.push_subscription_create(actor=other_staff, grant_id=grant.pk, dsn=DSN, table="hj",
                                                  interval_minutes=5)


def test_consumer_staff_subscribe_from_the_page_and_the_dsn_is_never_shown(people_push, other_staff, web_as,
                                                                            audit_log):
    _entry, grant, _keys = people_push
    client = web_as(other_staff)
    page = client.get(reverse("sharing:push-list"))
    html = page.content.decode()
    assert page.status_code == 200 and "数据库推送" in html and 'id="push-form"' in html
    response = client.post(reverse("sharing:push-list"), {"grant": grant.pk, "dsn": DSN, "table": "hj_people",
                                                          "interval_minutes": 15})
    sub = PushSubscription.objects.get()
    assert response.status_code == 302 and response["Location"] == sub.get_absolute_url()
    assert (sub.consumer_id, sub.target_table, sub.interval_minutes, sub.target_label) == (
        other_staff.department_id, "hj_people", 15, "127.0.0.1:1/front")
    detail = client.get(sub.get_absolute_url()).content.decode()
    assert "127.0.0.1:1/front" in detail and "s3cret-pw" not in detail and "front:" not in detail
    assert "s3cret-pw" not in str(audit_log("sharing.push.created")[0].data)
    bad = client.post(reverse("sharing:push-list"), {"grant": grant.pk, "dsn": DSN, "table": "Bad Name",
                                                     "interval_minutes": 15})
    assert bad.status_code == 200 and PushSubscription.objects.count() == 1 and "s3cret-pw" not in bad.content.decode()


@pytest.mark.parametrize(("actor", "status"), [("other_staff", 200), ("staff", 404), ("reviewer", 200)])
def test_detail_is_404_outside_the_consumer_scope(sub, request, web_as, actor, status):
    response = web_as(request.getfixturevalue(actor)).get(sub.get_absolute_url())
    assert response.status_code == status


def test_anonymous_is_sent_to_login(sub, client):
    assert client.get(reverse("sharing:push-list")).status_code == 302
    assert client.get(sub.get_absolute_url()).status_code == 302


def test_run_now_pause_resume(sub, other_staff, staff, reviewer, web_as, monkeypatch, audit_log,
                              django_capture_on_commit_callbacks):
    from sharing import tasks

    queued = []
    monkeypatch.setattr(tasks.push_run_task, "delay", lambda *args: queued.append(args))
    client = web_as(other_staff)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("sharing:push-run", args=[sub.pk]))
    assert response.status_code == 302 and queued == [(sub.pk, "manual", other_staff.pk)]
    assert audit_log("sharing.push.requested")[0].actor_id == other_staff.pk
    # The queued run itself: the target refuses; the receipt shows it on the page.
    run = push_engine.push_run(subscription_id=sub.pk, trigger="manual", actor_id=other_staff.pk)
    assert run.error_code == "connection_refused"
    page = client.get(sub.get_absolute_url()).content.decode()
    assert "connection_refused" in page and "前置库拒绝连接" in page
    client.post(reverse("sharing:push-pause", args=[sub.pk]), {"reason": "前置库维护"})
    sub.refresh_from_db()
    assert not sub.active and sub.paused_reason == "前置库维护"
    client.post(reverse("sharing:push-resume", args=[sub.pk]))
    sub.refresh_from_db()
    assert sub.active and [e.action for e in audit_log() if e.action.startswith("sharing.push.")][-2:] == [
        "sharing.push.paused", "sharing.push.resumed"]
    # Someone who may see but not change it (the bureau) gets 403; the provider's staff do not see it: 404.
    assert web_as(reviewer).post(reverse("sharing:push-pause", args=[sub.pk])).status_code == 403
    assert web_as(staff).post(reverse("sharing:push-run", args=[sub.pk])).status_code == 404


def test_beat_task_claims_and_queues(sub, monkeypatch, django_capture_on_commit_callbacks):
    from sharing import tasks
    from sharing.tasks import push_due_task

    queued = []
    monkeypatch.setattr(tasks.push_run_task, "delay", lambda *args: queued.append(args))
    with django_capture_on_commit_callbacks(execute=True):
        assert push_due_task() == 1
    assert queued == [(sub.pk, "schedule", None)]
    assert tasks.push_run_task.name == "sharing.tasks.push_run"
