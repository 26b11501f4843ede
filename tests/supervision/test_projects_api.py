"""The project API and the pages take the same steps through the same services (the same states, the same audit
trail), and the API refuses bad input with a stable code and a Chinese message, writing nothing."""

import pytest
from django.urls import reverse

from portal.models import AuditEvent
from supervision.models import InformatizationProject
from tests.supervision.helpers import ALL_CHECKS, ALL_DECLARED, catalog_entry

pytestmark = pytest.mark.django_db

API = "/api/v1/supervision/projects/"
BODY = {"name": "市场主体信用监管平台", "funding_kind": "government", "budget": "120.50",
        "period_start": "2026-03-01", "period_end": "2026-12-31",
        "description": "建设企业信用信息归集和分级分类监管功能。",
        "declared_checks": ALL_DECLARED}


def trail(project) -> list[str]:
    return list(AuditEvent.objects.filter(object_type="supervision.informatizationproject",
                                          object_id=str(project.pk)).order_by("id").values_list("action", flat=True))


def test_api_transitions_are_the_page_transitions(client, api_as, web_as, staff, reviewer, dept):
    entry = catalog_entry(dept, "企业信用信息")
    # Through the API.
    staff_api, reviewer_api = api_as(staff), api_as(reviewer)
    created = staff_api.post(API, {**BODY, "resources": [{"name": "企业信用信息", "resource": entry.resource_key},
                                                         {"name": "信用评价结果"}]}, format="json")
    assert created.status_code == 201, created.content
    by_api = InformatizationProject.objects.get(pk=created.json()["id"])
    states = [created.json()["state"]]
    for who, step, body in [(staff_api, "submit", None), (reviewer_api, "return", {"reason": "补充建设依据"}),
                            (staff_api, "submit", None), (reviewer_api, "approve", {"checks": ALL_CHECKS}),
                            (staff_api, "start", None), (staff_api, "complete", None)]:
        response = who.post(f"{API}{by_api.pk}/{step}/", body or {}, format="json")
        assert response.status_code == 200, (step, response.content)
        states.append(response.json()["state"])
    assert response.json()["missing_resources"] == ["信用评价结果"]
    assert response.json()["resources"][0]["resource"] == entry.resource_key

    # Through the pages.
    page = web_as(staff)
    response = page.post(reverse("supervision:project-create"), {
        **BODY, "name": "市场主体信用监管平台（页面）",
        "resources": f"企业信用信息 | {entry.resource_key}\n信用评价结果"})
    assert response.status_code == 302
    by_page = InformatizationProject.objects.exclude(pk=by_api.pk).get()
    page_states = [by_page.state]
    for who, step, body in [(staff, "submit", {}), (reviewer, "return", {"reason": "补充建设依据"}),
                            (staff, "submit", {}), (reviewer, "approve", {"checks": ALL_CHECKS}),
                            (staff, "start", {}), (staff, "complete", {})]:
        client = web_as(who)
        assert client.post(reverse(f"supervision:project-{step}", args=[by_page.pk]), body).status_code == 302
        by_page.refresh_from_db()
        page_states.append(by_page.state)
    assert states == page_states == ["draft", "submitted", "returned", "submitted", "approved",
                                     "under_construction", "completed"]
    assert trail(by_api) == trail(by_page)
    by_api.refresh_from_db()
    assert by_page.missing_resources == by_api.missing_resources == ["信用评价结果"]


@pytest.mark.parametrize("override, field", [
    ({"budget": -5}, "budget"), ({"budget": "１２"}, "budget"), ({"budget": "1.999"}, "budget"),
    ({"funding_kind": "loan"}, "funding_kind"), ({"period_start": "２０２６-03-01"}, "period_start"),
    ({"period_end": "2025-01-01"}, "period_end"), ({"declared_checks": ["gov_cloud", "no_duplicate"]},
                                                   "declared_checks"),
    ({"resources": [{"name": "重复"}, {"name": "重复"}]}, "resources"), ({"name": "a\x00b"}, "name"),
])
def test_the_api_refuses_bad_input_and_writes_nothing(api_as, staff, override, field):
    api = api_as(staff)
    before = AuditEvent.objects.count()
    response = api.post(API, {**BODY, "resources": [{"name": "企业信用信息"}], **override}, format="json")
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "invalid", body
    assert field in (body.get("errors") or {}) or field in body["detail"], body
    assert any("\u4e00" <= ch <= "\u9fff" for ch in body["detail"]), body
    assert not InformatizationProject.objects.exists() and AuditEvent.objects.count() == before


def test_the_api_refuses_steps_out_of_turn_with_stable_codes(api_as, staff, reviewer):
    api = api_as(staff)
    project = api.post(API, {**BODY, "declared_checks": ["egov_network"], "resources": [{"name": "企业信用信息"}]},
                       format="json").json()
    assert api.post(f"{API}{project['id']}/start/", format="json").json()["code"] == "invalid_state"
    assert api.post(f"{API}{project['id']}/submit/", format="json").status_code == 200
    twice = api.post(f"{API}{project['id']}/submit/", format="json")
    assert twice.status_code == 409 and twice.json()["code"] == "already_submitted"
    frozen = api.put(f"{API}{project['id']}/", {**BODY, "resources": []}, format="json")
    assert frozen.status_code == 409 and frozen.json()["code"] == "not_editable"
    refused = api_as(reviewer).post(f"{API}{project['id']}/approve/", {"checks": ALL_CHECKS}, format="json")
    assert refused.status_code == 400 and refused.json()["code"] == "checklist_failed"
    assert "依托市政务云平台建设" in refused.json()["detail"]
    detail = api.get(f"{API}{project['id']}/").json()
    assert detail["state"] == "submitted"
    assert detail["checklist_failures"] == ["gov_cloud", "data_platform", "no_exchange"]
    assert api.get(f"{API}?state=submitted&funding_kind=government").json()["results"][0]["id"] == project["id"]
    assert api.get(f"{API}?state=built").status_code == 400
    assert api.get(f"{API}?sate=submitted").status_code == 400
    assert api.get(f"{API}?missing_catalog=true").json()["results"] == []
