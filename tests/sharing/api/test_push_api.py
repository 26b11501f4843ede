"""/api/v1/sharing/push-subscriptions/: an integrator subscribes a push grant, pauses, resumes, runs it and reads the
receipts — through the page's services, in the page's scope (the consumer's; the bureau reads); the connection
string never comes back."""

from __future__ import annotations

import pytest

from sharing.models import PushSubscription
from sharing.push import run as push_engine

pytestmark = pytest.mark.django_db
URL = "/api/v1/sharing/push-subscriptions/"
DSN = "postgresql://pusher:s3cret-pw@127.0.0.1:5432/frontdb"


def test_the_consumer_subscribes_pauses_resumes_and_reads_receipts(people_push, other_staff, staff, reviewer,
                                                                   other_dept, api_as, audit_log):
    _entry, grant, _keys = people_push
    consumer = api_as(other_staff)
    made = consumer.post(URL, {"grant": grant.pk, "dsn": DSN, "table": "hj_people", "interval_minutes": 30},
                         format="json")
    assert made.status_code == 201, made.content
    sub = made.json()
    assert sub["grant"] == grant.pk and sub["active"] is True and sub["target_table"] == "hj_people"
    assert "s3cret" not in made.content.decode() and "dsn" not in sub
    assert [e.data["table"] for e in audit_log("sharing.push.created")] == ["hj_people"]

    # The bureau reads it; the provider does not see the consumer's front-end database, nor change it.
    assert api_as(reviewer).get(f"{URL}{sub['id']}/").status_code == 200
    assert api_as(staff).get(URL).json()["results"] == []
    assert api_as(staff).post(f"{URL}{sub['id']}/pause/", {}, format="json").status_code == 404

    paused = consumer.post(f"{URL}{sub['id']}/pause/", {"reason": "前置库维护"}, format="json")
    assert paused.status_code == 200 and paused.json()["active"] is False
    assert paused.json()["paused_reason"] == "前置库维护"
    again = consumer.post(f"{URL}{sub['id']}/pause/", {}, format="json")
    assert again.status_code == 400 and again.json()["code"] == "invalid_state"
    resumed = consumer.post(f"{URL}{sub['id']}/resume/", {}, format="json")
    assert resumed.status_code == 200 and resumed.json()["active"] is True
    assert consumer.post(f"{URL}{sub['id']}/run/", {}, format="json").status_code == 202

    push_engine.push_run(subscription_id=sub["id"])  # refused by the unreachable front-end database: a receipt
    runs = consumer.get(f"{URL}{sub['id']}/runs/").json()
    assert len(runs) == 1 and runs[0]["status"] == "failed" and runs[0]["error_code"]


def test_bad_subscriptions_are_refused_with_their_field(people_push, other_staff, staff, api_as):
    _entry, grant, _keys = people_push
    consumer = api_as(other_staff)
    for body, field in [
        ({"grant": grant.pk, "dsn": DSN, "table": "hj_people", "interval_minutes": 0}, "interval_minutes"),
        ({"grant": grant.pk, "dsn": DSN, "table": 'x"; DROP TABLE y; --'}, "table"),
        ({"grant": grant.pk, "dsn": "not a dsn", "table": "hj_people"}, "dsn"),
        ({"dsn": DSN, "table": "hj_people"}, "grant"),
    ]:
        response = consumer.post(URL, body, format="json")
        assert response.status_code == 400, (body, response.content)
        assert field in response.json()["errors"], (body, response.json())
    # The provider's staff cannot subscribe the consumer's grant.
    assert api_as(staff).post(URL, {"grant": grant.pk, "dsn": DSN, "table": "hj_people"},
                              format="json").status_code == 404
    assert not PushSubscription.objects.exists()
