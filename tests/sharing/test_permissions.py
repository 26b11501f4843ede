"""Permission matrix over every sharing page and endpoint: anonymous, outsider, consumer, provider, reviewer, admin.

Outside the caller's scope answers 404 (not 403); inside the scope but not allowed answers 403.
"""

import pytest
from django.urls import reverse

from catalog.choices import EntryState
from sharing.services.clients import api_client_register
from sharing.services.requests import sharing_request_approve, sharing_request_comment, sharing_request_submit
from tests.permissions import LOGIN, Row, SignedClient, check_matrix
from tests.sharing.helpers import request_values
from tests.support import LOOPBACK

pytestmark = pytest.mark.django_db

ACTORS = ["anonymous", "staff", "head", "other_staff", "county_bureau_user", "reviewer", "security_admin"]
API_ACTORS = [*ACTORS, "api_client"]  # the API also answers other_staff's department's signed API client


@pytest.fixture
def world(make_entry, other_staff, staff, head, reviewer, security_admin, county_bureau_user, settings, tmp_path):
    """A published conditional entry of `dept` (staff/head), a request by `other_dept` (other_staff), a grant."""
    settings.MEDIA_ROOT = tmp_path
    from django.core.files.uploadedfile import SimpleUploadedFile

    entry = make_entry()
    draft = make_entry(state=EntryState.DRAFT)
    req = sharing_request_submit(
        actor=other_staff, entry_id=entry.pk, values=request_values(),
        attachments=[SimpleUploadedFile("a.pdf", b"%PDF-1.4")])
    req2 = sharing_request_submit(actor=other_staff, entry_id=entry.pk, values=request_values())
    grant = sharing_request_approve(actor=reviewer, request_id=req2.pk)
    client, secret = api_client_register(actor=security_admin, department_id=other_staff.department_id,
                                         name="系统", allowed_networks=LOOPBACK)
    return {"entry": entry, "draft": draft, "req": req, "grant": grant, "client": client, "secret": secret,
            "attachment": req.attachments.get()}


@pytest.fixture
def people(request, world):
    return {name: None if name == "anonymous" else request.getfixturevalue(name) for name in ACTORS} | {
        "api_client": SignedClient(world["client"].client_id, world["secret"])}


def by_actor(statuses) -> dict:
    """Expected statuses in ACTORS (pages) or API_ACTORS (API) order -> {actor: status}."""
    return dict(zip(ACTORS if len(statuses) == len(ACTORS) else API_ACTORS, statuses, strict=True))


OK, NF, FORBIDDEN = 200, 404, 403

PAGES = {
    # name: (url builder, expected per actor in ACTORS order)
    # The security administrator (last) reaches the client pages only (三员分立: portal.confinement).
    "index": (lambda w: reverse("sharing:index"), [LOGIN, OK, OK, OK, OK, OK, NF]),
    "interface": (lambda w: reverse("sharing:interface-spec", args=[w["entry"].pk]), [LOGIN, OK, OK, OK, OK, OK, NF]),
    "interface-draft": (lambda w: reverse("sharing:interface-spec", args=[w["draft"].pk]),
                        [LOGIN, NF, NF, NF, NF, NF, NF]),
    # The interface page's OpenAPI document (R20): whoever may see the page.
    "interface-openapi": (lambda w: reverse("sharing:interface-openapi", args=[w["entry"].pk]),
                          [LOGIN, OK, OK, OK, OK, OK, NF]),
    "interface-openapi-draft": (lambda w: reverse("sharing:interface-openapi", args=[w["draft"].pk]),
                                [LOGIN, NF, NF, NF, NF, NF, NF]),
    "request-new": (lambda w: reverse("sharing:request-new", args=[w["entry"].pk]), [LOGIN, OK, OK, OK, NF, NF, NF]),
    "request-list": (lambda w: reverse("sharing:request-list"), [LOGIN, OK, OK, OK, OK, OK, NF]),
    "request-detail": (lambda w: reverse("sharing:request-detail", args=[w["req"].pk]),
                       [LOGIN, OK, OK, OK, NF, OK, NF]),
    "attachment": (lambda w: reverse("sharing:attachment", args=[w["attachment"].pk]),
                   [LOGIN, OK, OK, OK, NF, OK, NF]),
    "review-queue": (lambda w: reverse("sharing:review-queue"), [LOGIN, NF, NF, NF, NF, OK, NF]),
    "grant-list": (lambda w: reverse("sharing:grant-list"), [LOGIN, OK, OK, OK, OK, OK, NF]),
    "client-list": (lambda w: reverse("sharing:client-list"), [LOGIN, NF, NF, NF, NF, NF, OK]),
}


def test_pages(people, world):
    check_matrix(people, [Row("get", build(world), by_actor(expected), label=page)
                          for page, (build, expected) in PAGES.items()])


POSTS = {
    # name: (url builder, data, expected per actor) — 302 = done (redirect back with a message)
    "comment": (lambda w: reverse("sharing:request-comment", args=[w["req"].pk]), {"body": "意见"},
                [LOGIN, 302, 302, FORBIDDEN, NF, FORBIDDEN, NF]),
    "approve": (lambda w: reverse("sharing:request-approve", args=[w["req"].pk]),
                lambda w: {"items": w["req"].items, "valid_from": w["req"].valid_from.isoformat(),
                           "valid_to": w["req"].valid_to.isoformat()},
                [LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, NF, 302, NF]),
    "client-resume": (lambda w: reverse("sharing:client-resume", args=[w["client"].pk]), {},
                      [LOGIN, NF, NF, NF, NF, NF, 302]),
    "reject": (lambda w: reverse("sharing:request-reject", args=[w["req"].pk]), {"reason": "理由"},
               [LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, NF, 302, NF]),
    "withdraw": (lambda w: reverse("sharing:request-withdraw", args=[w["req"].pk]), {},
                 [LOGIN, FORBIDDEN, FORBIDDEN, 302, NF, FORBIDDEN, NF]),
    "revoke": (lambda w: reverse("sharing:grant-revoke", args=[w["grant"].pk]), {"reason": "理由"},
               [LOGIN, 302, 302, FORBIDDEN, NF, 302, NF]),
    "client-suspend": (lambda w: reverse("sharing:client-suspend", args=[w["client"].pk]), {"reason": "理由"},
                       [LOGIN, NF, NF, NF, NF, NF, 302]),
    "client-rotate": (lambda w: reverse("sharing:client-rotate", args=[w["client"].pk]), {},
                      [LOGIN, NF, NF, NF, NF, NF, OK]),
}


def test_posts(people, world):
    # isolated: each cell meets the world as built (e.g. the staff's revoke does not pre-empt the head's)
    check_matrix(people, [Row("post", build(world), by_actor(expected), body=data(world) if callable(data) else data,
                              label=action)
                          for action, (build, data, expected) in POSTS.items()], isolated=True)


def test_approve_page_flow(web_as, world, reviewer, audit_log):
    req = world["req"]
    url = reverse("sharing:request-approve", args=[req.pk])
    response = web_as(reviewer).post(url, {"items": ["注册资本"], "valid_from": req.valid_from.isoformat(),
                                           "valid_to": req.valid_to.isoformat(), "comment": "同意"})
    assert response.status_code == 302
    req.refresh_from_db()
    assert req.state == "approved" and req.grant.items == ["注册资本"]


def test_register_client_shows_secret_once(web_as, security_admin, other_dept):
    response = web_as(security_admin).post(reverse("sharing:client-list"), {
        "department": other_dept.pk, "name": "新系统", "rate_per_minute": 100, "contact": "",
        "allowed_networks": "10.0.0.0/8"})
    assert response.status_code == 200 and b'data-testid="secret"' in response.content
    assert "no-store" in response["Cache-Control"] or "no-cache" in response["Cache-Control"]
    again = web_as(security_admin).get(reverse("sharing:client-list"))
    assert b'data-testid="secret"' not in again.content


def test_request_form_submits(web_as, other_staff, world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    entry = world["entry"]
    values = request_values()
    response = web_as(other_staff).post(reverse("sharing:request-new", args=[entry.pk]), {
        **{k: v for k, v in values.items() if k not in ("valid_from", "valid_to")},
        "valid_from": values["valid_from"].isoformat(), "valid_to": values["valid_to"].isoformat(),
    })
    assert response.status_code == 302, response.content.decode()[:2000]


def test_catalog_page_filters_by_sharing_type(web_as, staff, make_entry):
    make_entry(name="无条件资源甲", share_type="1")
    make_entry(name="有条件资源乙", share_type="2")
    page = web_as(staff).get(reverse("sharing:index") + "?share_type=1").content.decode()
    assert "无条件资源甲" in page and "有条件资源乙" not in page


def test_review_queue_marks_overdue(web_as, reviewer, world, freeze_today):
    import datetime as dt

    freeze_today(world["req"].submitted_on + dt.timedelta(days=40))
    page = web_as(reviewer).get(reverse("sharing:review-queue")).content.decode()
    assert 'data-testid="overdue"' in page and "table-danger" in page


def test_interface_spec_shows_fields_and_signed_example(web_as, other_staff, world):
    page = web_as(other_staff).get(reverse("sharing:interface-spec", args=[world["entry"].pk])).content.decode()
    assert "法定代表人" in page and "X-Signature" in page and world["entry"].resource_key in page
    assert 'data-testid="readable"' in page  # what the caller's department may read now (base items + grant)


# ---------------------------------------------------------------- API


API_LIST = {
    "requests": "/api/v1/sharing/requests/",
    "grants": "/api/v1/sharing/grants/",
}
VISIBLE = {  # how many rows each actor sees (2 requests, 1 grant); the API client: its department's grants only;
    # None: not signed in (401); NF: not theirs to ask (the security administrator, 三员分立: 404)
    "requests": [None, 2, 2, 2, 0, 2, NF, 0],
    "grants": [None, 1, 1, 1, 0, 1, NF, 1],
}


def test_api_lists(people, world):
    def rows_seen(endpoint):
        def check(who, response):
            expected = by_actor(VISIBLE[endpoint])[who]
            if expected is None:
                assert response.json()["code"] == "not_authenticated", response.json()
            elif expected == NF:
                assert response.json()["code"] == "not_found", response.json()
            else:
                assert len(response.json()["results"]) == expected, f"{len(response.json()['results'])} rows"

        return check

    check_matrix(people, [
        Row("get", url, by_actor([401 if n is None else NF if n == NF else 200 for n in VISIBLE[endpoint]]),
            also=rows_seen(endpoint),
            label=endpoint)
        for endpoint, url in API_LIST.items()
    ], api=True)


API_ACTIONS = {  # the API client (last): reads the interface and its own grant, changes nothing
    "request-detail": ("get", lambda w: f"/api/v1/sharing/requests/{w['req'].pk}/", None,
                       [401, 200, 200, 200, 404, 200, 404, 404]),
    "approve": ("post", lambda w: f"/api/v1/sharing/requests/{w['req'].pk}/approve/", {},
                [401, 403, 403, 403, 404, 200, 404, 404]),
    "reject": ("post", lambda w: f"/api/v1/sharing/requests/{w['req'].pk}/reject/", {"reason": "x"},
               [401, 403, 403, 403, 404, 200, 404, 404]),
    "comment": ("post", lambda w: f"/api/v1/sharing/requests/{w['req'].pk}/comment/", {"body": "x"},
                [401, 200, 200, 403, 404, 403, 404, 404]),
    "withdraw": ("post", lambda w: f"/api/v1/sharing/requests/{w['req'].pk}/withdraw/", {},
                 [401, 403, 403, 200, 404, 403, 404, 404]),
    "create": ("post", lambda w: "/api/v1/sharing/requests/", "values", [401, 400, 400, 201, 403, 403, 404, 403]),
    "interface": ("get", lambda w: f"/api/v1/sharing/interface/{w['entry'].resource_key}/", None,
                  [401, 200, 200, 200, 200, 200, 404, 200]),
    "interface-draft": ("get", lambda w: f"/api/v1/sharing/interface/{w['draft'].pk}/", None,
                        [401, 404, 404, 404, 404, 404, 404, 404]),
    "grant-detail": ("get", lambda w: f"/api/v1/sharing/grants/{w['grant'].pk}/", None,
                     [401, 200, 200, 200, 404, 200, 404, 200]),
    "revoke": ("post", lambda w: f"/api/v1/sharing/grants/{w['grant'].pk}/revoke/", {"reason": "x"},
               [401, 200, 200, 403, 404, 200, 404, 403]),
}


def test_api_actions(people, world):
    # isolated: each cell meets the world as built; every refusal answers {code, detail} (check_matrix, api=True)
    def create_body():
        v = request_values()
        return {**v, "entry": world["entry"].pk, "valid_from": v["valid_from"].isoformat(),
                "valid_to": v["valid_to"].isoformat()}

    check_matrix(people, [
        Row(method, build(world), by_actor(expected), body=create_body if data == "values" else data, label=name)
        for name, (method, build, data, expected) in API_ACTIONS.items()
    ], api=True, isolated=True)


@pytest.mark.parametrize("endpoint", API_LIST)
def test_list_query_counts_do_not_grow_with_rows(api_as, reviewer, staff, other_staff, make_entry, endpoint):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def add_rows(n):
        for _ in range(n):
            req = sharing_request_submit(actor=other_staff, entry_id=make_entry().pk,
                                                  values=request_values())
            sharing_request_comment(actor=staff, request_id=req.pk, body="意见")
            sharing_request_approve(actor=reviewer, request_id=req.pk)

    client = api_as(reviewer)
    add_rows(1)
    with CaptureQueriesContext(connection) as one:
        assert client.get(API_LIST[endpoint]).status_code == 200
    add_rows(4)
    with CaptureQueriesContext(connection) as five:
        assert len(client.get(API_LIST[endpoint]).json()["results"]) == 5
    assert len(five) == len(one)


def test_catalog_page_shows_own_grants(web_as, other_staff, make_entry, make_grant):
    entry = make_entry(name="已授权资源")
    make_grant(other_staff.department, entry, ["法定代表人"])
    page = web_as(other_staff).get(reverse("sharing:index")).content.decode()
    assert 'data-testid="granted"' in page


def test_api_client_takes_no_catalog_workflow_step(people, world, make_entry, other_dept):
    """A signed API client only reads: not even its own department's entry awaiting sign-off when that department
    has no recorded head. The API turns it away at the view scope (published entries only); the sign-off rule itself
    refuses it too (portal.permissions.is_head_of: a client holds no role and has no user id, so "the department's
    recorded head is None and so is the client's id" does not make it the head, as catalog's own copy once did)."""
    from catalog.models import CatalogEntry
    from security.signing.principal import ClientPrincipal

    assert other_dept.head_id is None
    entry = make_entry(provider=other_dept, state=EntryState.SIGNOFF)
    base = f"/api/v1/catalog/entries/{entry.pk}"
    check_matrix(people, [
        Row("get", f"{base}/", {"api_client": 404}),
        Row("post", f"{base}/sign-off/", {"api_client": 404}, body={"comment": "同意"}),
        Row("post", f"{base}/submit/", {"api_client": 404}),
    ], api=True, isolated=True)
    entry.refresh_from_db()
    assert entry.state == EntryState.SIGNOFF
    principal = ClientPrincipal(world["client"])
    for action in ("signoff", "change", "county_review", "bureau_review"):
        assert not CatalogEntry.objects.restrict(principal, action).exists(), action
