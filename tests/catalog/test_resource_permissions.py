"""Per-resource permissions inside a department (R28.2): load data, answer verification cases, comment on sharing
requests — the upgrade default, the three actions refused (page, API, service) and allowed, assignment by the head
and the security administrator (audited), who may not assign, and the query counts of the checks."""

from __future__ import annotations

import pytest
from django.apps import apps as live_apps
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from aggregation.choices import ExtensionState
from aggregation.models import IngestJob, VerificationCase
from aggregation.services import verification as v
from aggregation.services.ingest import ingest_job_create, ingest_job_rerun
from aggregation.services.pools import records_push
from catalog import resource_perms as rp
from catalog.models import CatalogEntry, CatalogEntryUserObjectPermission
from catalog.services.resource_permissions import resource_permissions_set
from portal.choices import Role
from portal.errors import NotFound, PermissionDenied, PortalError
from sharing.choices import RequestState
from sharing.models import SharingComment, SharingRequest
from sharing.services.requests import sharing_request_comment, sharing_request_submit
from tests.aggregation.builders import PEOPLE_ITEMS, csv_bytes, id_number, ids, person, upload
from tests.aggregation.builders import make_entry as storage_entry
from tests.catalog.helpers import entry_items, entry_values
from tests.factories import DepartmentFactory, make_user
from tests.permissions import Row, check_matrix
from tests.sharing.helpers import published_entry, request_values
from tests.support import stored_rows

ALL = set(rp.RESOURCE_PERMS)
PAGE = reverse("catalog:resource-permissions")
API = "/api/v1/catalog/resource-permissions/"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def held(user, entry) -> set[str]:
    return set(CatalogEntryUserObjectPermission.objects.filter(user=user, content_object=entry)
               .values_list("permission__codename", flat=True))


def grant(actor, user, entry, perms, department=None):
    return resource_permissions_set(actor=actor, department_id=(department or entry.provider).pk,
                                    assignments=[(user.pk, entry.pk, perms)])


@pytest.fixture
def world(person_dataset, person_record, staff, head, other_staff, bureau):
    """市公安局's population resource with data, an open verification case on it, a conditional resource with a
    sharing request under review — and `clerk`, a data staff member who joined after all of it (holds nothing)."""
    case = v.verification_case_file(actor=other_staff, record_id=person_record.id, dataset_id=person_dataset.pk,
                                    fields=["姓名"], description="姓名有误")
    firm = published_entry(staff.department)
    req = sharing_request_submit(actor=other_staff, entry_id=firm.pk, values=request_values())
    clerk = make_user(Role.DEPT_STAFF, department=staff.department, username="clerk")
    return {"dataset": person_dataset, "entry": person_dataset.entry, "case": case, "firm": firm, "req": req,
            "clerk": clerk, "record": person_record}


# ---------------------------------------------------------------- the upgrade default (the migration's function)


def test_upgrade_default_grants_every_staff_member_their_own_departments_resources(dept, other_dept):
    clerk = make_user(Role.DEPT_STAFF, department=dept, username="clerk")
    chief = make_user(Role.DEPT_HEAD, department=dept, username="chief")
    outsider = make_user(Role.DEPT_STAFF, department=other_dept, username="outsider")
    reviewer = make_user(Role.BUREAU_REVIEWER, department=dept, username="rev")  # in dept, not staff
    entry = storage_entry(dept, "户籍人口信息", PEOPLE_ITEMS)
    other = storage_entry(other_dept, "婚姻登记信息", PEOPLE_ITEMS)
    CatalogEntryUserObjectPermission.objects.all().delete()  # as before the upgrade: no rows at all
    assert not rp.may(clerk, entry, rp.LOAD_DATA)

    added = rp.grant_staff_defaults(live_apps)  # what catalog 0002 runs, with its historical registry

    assert added == 3 * 3  # clerk + chief on entry, outsider on other
    assert held(clerk, entry) == held(chief, entry) == held(outsider, other) == ALL
    assert held(clerk, other) == held(outsider, entry) == held(reviewer, entry) == set()
    assert all(rp.may(clerk, entry, p) for p in ALL) and not rp.may(clerk, other, rp.LOAD_DATA)
    assert rp.grant_staff_defaults(live_apps) == 0  # idempotent


def test_filer_of_a_new_entry_holds_the_three(staff, head, audit_log):
    from catalog.services.entries import catalog_entry_save

    colleague = make_user(Role.DEPT_STAFF, department=staff.department, username="colleague")
    entry = catalog_entry_save(actor=colleague, department=colleague.department, values=entry_values(),
                               items=entry_items())
    assert held(colleague, entry) == ALL and held(staff, entry) == set()
    event = audit_log("catalog.resource_permission.granted")[-1]
    assert event.actor == colleague and event.data["reason"] == "filer" and sorted(event.data["perms"]) == sorted(ALL)


# ---------------------------------------------------------------- refused without the permission, allowed with it


def test_load_refused_without_load_data_on_page_api_and_service(world, web_as, api_as):
    clerk, entry, dataset = world["clerk"], world["entry"], world["dataset"]
    with pytest.raises(PermissionDenied) as exc:
        ingest_job_create(actor=clerk, entry=entry, upload=upload(csv_bytes([person(ids(1)[0])])))
    assert exc.value.code == "no_resource_permission"
    with pytest.raises(PermissionDenied):
        records_push(actor=clerk, entry=entry, rows=[{"身份证号码": id_number(9)}])
    page = web_as(clerk)
    assert page.get(reverse("aggregation:upload", args=[entry.pk])).status_code == 403
    response = page.post(reverse("aggregation:upload", args=[entry.pk]),
                         {"file": upload(csv_bytes([person(ids(1)[0])])), "mode": "all_or_nothing"})
    assert response.status_code == 403
    dataset_page = page.get(reverse("aggregation:dataset-detail", args=[dataset.pk])).content.decode()
    assert reverse("aggregation:upload", args=[entry.pk]) not in dataset_page  # no button it may not press
    assert f'data-testid="upload-{entry.pk}"' not in page.get(reverse("aggregation:index")).content.decode()
    response = api_as(clerk).post(f"/api/v1/data/{entry.resource_key}/records/", [{"身份证号码": id_number(9)}],
                                  format="json")
    assert response.status_code == 403 and response.json()["code"] == "no_resource_permission"
    assert "负责人" in response.json()["detail"]
    assert not IngestJob.objects.exists() and len(stored_rows(dataset)) == 2


def test_load_allowed_once_assigned_and_rerun_refused_once_revoked(world, head, web_as):
    clerk, entry = world["clerk"], world["entry"]
    grant(head, clerk, entry, [rp.LOAD_DATA])
    assert rp.may(clerk, entry, rp.LOAD_DATA) and not rp.may(clerk, entry, rp.ANSWER_VERIFICATION)
    page = web_as(clerk)
    content = csv_bytes([[ids(1)[0], "张三"]], header=["证件", "名字"])  # waits for the mapping step
    response = page.post(reverse("aggregation:upload", args=[entry.pk]),
                         {"file": upload(content), "mode": "all_or_nothing", "encoding": ""})
    job = IngestJob.objects.get()
    assert response.status_code == 302 and job.created_by == clerk
    grant(head, clerk, entry, [])
    mapping = {"col_0": "身份证号码", "col_1": "姓名", "mode": "all_or_nothing"}
    assert page.post(reverse("aggregation:job-detail", args=[job.pk]), mapping).status_code == 403
    job.status = "failed"
    job.mapping = {"证件": "身份证号码"}
    job.save()
    assert page.post(reverse("aggregation:job-rerun", args=[job.pk])).status_code == 403
    with pytest.raises(PermissionDenied):
        ingest_job_rerun(actor=clerk, job_id=job.pk)
    job.refresh_from_db()
    assert job.status == "failed"


def test_answering_refused_without_answer_verification_on_page_api_and_service(world, web_as, api_as):
    clerk, case = world["clerk"], world["case"]
    for service, kwargs in ((v.verification_case_confirm, {"explanation": "经核无误"}),
                            (v.verification_case_correct, {"values": {"姓名": "张四"}}),
                            (v.verification_extension_request, {"working_days": 3, "reason": "需要核实"})):
        with pytest.raises(PermissionDenied) as exc:
            service(actor=clerk, case_id=case.pk, **kwargs)
        assert exc.value.code == "no_resource_permission"
    page = web_as(clerk)
    detail = page.get(reverse("aggregation:verification-detail", args=[case.pk]))
    assert detail.status_code == 200
    assert reverse("aggregation:verification-confirm", args=[case.pk]) not in detail.content.decode()
    assert page.post(reverse("aggregation:verification-confirm", args=[case.pk]),
                     {"explanation": "经核无误"}).status_code == 403
    for action, body in (("confirm", {"explanation": "经核无误"}), ("extension", {"working_days": 3, "reason": "x"})):
        response = api_as(clerk).post(f"/api/v1/aggregation/verification-cases/{case.pk}/{action}/", body,
                                      format="json")
        assert response.status_code == 403 and response.json()["code"] == "no_resource_permission"
    case.refresh_from_db()
    assert case.state == "open" and case.extension_state == ExtensionState.NONE
    assert not VerificationCase.objects.restrict(clerk, "answer").exists()


def test_answering_allowed_with_the_permission_and_always_for_the_head(world, head, api_as):
    clerk, case, entry = world["clerk"], world["case"], world["entry"]
    assert VerificationCase.objects.restrict(head, "answer").filter(pk=case.pk).exists()  # the head: implicitly
    grant(head, clerk, entry, [rp.ANSWER_VERIFICATION])
    assert VerificationCase.objects.restrict(clerk, "answer").filter(pk=case.pk).exists()
    response = api_as(clerk).post(f"/api/v1/aggregation/verification-cases/{case.pk}/confirm/",
                                  {"explanation": "经核无误"}, format="json")
    assert response.status_code == 200, response.content
    case.refresh_from_db()
    assert case.state == "confirmed" and case.answered_by == clerk


def test_commenting_refused_without_comment_request_on_page_api_and_service(world, web_as, api_as):
    clerk, req = world["clerk"], world["req"]
    with pytest.raises(PermissionDenied) as exc:
        sharing_request_comment(actor=clerk, request_id=req.pk, body="同意共享")
    assert exc.value.code == "no_resource_permission"
    page = web_as(clerk)
    detail = page.get(reverse("sharing:request-detail", args=[req.pk])).content.decode()
    assert reverse("sharing:request-comment", args=[req.pk]) not in detail
    assert page.post(reverse("sharing:request-comment", args=[req.pk]), {"body": "同意"}).status_code == 403
    response = api_as(clerk).post(f"/api/v1/sharing/requests/{req.pk}/comment/", {"body": "同意"}, format="json")
    assert response.status_code == 403 and response.json()["code"] == "no_resource_permission"
    assert not SharingComment.objects.exists()
    assert not SharingRequest.objects.restrict(clerk, "comment").exists()


def test_commenting_allowed_with_the_permission_and_other_refusals_unchanged(world, head, other_staff, api_as):
    clerk, req, firm = world["clerk"], world["req"], world["firm"]
    grant(head, clerk, firm, [rp.COMMENT_REQUEST])
    response = api_as(clerk).post(f"/api/v1/sharing/requests/{req.pk}/comment/", {"body": "同意共享"}, format="json")
    assert response.status_code == 200, response.content
    assert SharingComment.objects.get().author == clerk
    # The consumer's side is refused as before (role, not resource permission).
    with pytest.raises(PermissionDenied) as exc:
        sharing_request_comment(actor=other_staff, request_id=req.pk, body="x")
    assert exc.value.code != "no_resource_permission"
    req.refresh_from_db()
    assert req.state == RequestState.SUBMITTED


def test_rows_do_not_reach_outside_the_department(world, head, other_dept):
    """A person who moves to another department keeps no reach through old rows (scope first)."""
    clerk, entry = world["clerk"], world["entry"]
    grant(head, clerk, entry, list(ALL))
    clerk.department = other_dept
    clerk.save(update_fields=["department"])
    assert not any(rp.may(clerk, entry, p) for p in ALL)
    assert not CatalogEntry.objects.filter(rp.resource_q(clerk, rp.LOAD_DATA)).exists()


# ---------------------------------------------------------------- assigning


def test_head_assigns_and_revokes_on_the_page_audited(world, head, web_as, audit_log):
    clerk, entry, firm = world["clerk"], world["entry"], world["firm"]
    page = web_as(head)
    html = page.get(PAGE).content.decode()
    assert f'data-testid="perm-{clerk.pk}-{entry.pk}-load_data"' in html and "资源权限分配" in html
    assert f'data-testid="perm-{head.pk}-' not in html  # the head holds all three without rows
    body = {"department": entry.provider_id, "cell": [f"{clerk.pk}:{entry.pk}", f"{clerk.pk}:{firm.pk}"],
            "perm": [f"{clerk.pk}:{entry.pk}:load_data", f"{clerk.pk}:{entry.pk}:answer_verification"]}
    assert page.post(PAGE, body).status_code == 302
    assert held(clerk, entry) == {rp.LOAD_DATA, rp.ANSWER_VERIFICATION} and held(clerk, firm) == set()
    (event,) = audit_log("catalog.resource_permission.granted")[-1:]
    assert event.actor == head and event.object_id == str(entry.pk)
    assert event.data["user"] == clerk.pk and event.data["perms"] == ["answer_verification", "load_data"]
    body["perm"] = [f"{clerk.pk}:{entry.pk}:answer_verification"]
    assert page.post(PAGE, body).status_code == 302
    assert held(clerk, entry) == {rp.ANSWER_VERIFICATION}
    (revoked,) = audit_log("catalog.resource_permission.revoked")
    assert revoked.actor == head and revoked.data["perms"] == ["load_data"] and revoked.data["username"] == "clerk"
    # Searching narrows the page to matching resources.
    html = page.get(PAGE, {"q": entry.name}).content.decode()
    assert f"permission-row-{entry.pk}" in html and f"permission-row-{firm.pk}" not in html


def test_security_admin_assigns_in_any_department_and_holds_nothing(world, security_admin, api_as, web_as,
                                                                    audit_log):
    clerk, entry = world["clerk"], world["entry"]
    client = api_as(security_admin)
    assert client.get(API).status_code == 400  # must name the department
    listed = client.get(API, {"department": entry.provider_id})
    assert listed.status_code == 200, listed.content
    row = next(r for r in listed.json()["results"] if r["entry"] == entry.pk)
    assert {"user": clerk.pk, "perms": []} in row["holders"]
    response = client.post(API, {"department": entry.provider_id, "assignments": [
        {"user": clerk.pk, "entry": entry.pk, "perms": ["comment_request", "load_data"]}]}, format="json")
    assert response.status_code == 200, response.content
    assert sorted(c["perm"] for c in response.json()["granted"]) == ["comment_request", "load_data"]
    assert held(clerk, entry) == {rp.COMMENT_REQUEST, rp.LOAD_DATA}
    assert audit_log("catalog.resource_permission.granted")[-1].actor == security_admin
    assert not any(rp.may(security_admin, entry, p) for p in ALL)
    html = web_as(security_admin).get(PAGE).content.decode()
    assert 'name="department"' in html  # the department picker
    assert reverse("catalog:resource-permissions") in web_as(security_admin).get(
        reverse("security:index")).content.decode()


def test_bad_assignments_answer_400(world, head, other_staff, api_as, web_as):
    clerk, entry = world["clerk"], world["entry"]
    client = api_as(head)
    other_entry = storage_entry(other_staff.department, "婚姻登记信息", PEOPLE_ITEMS)
    for assignment in ({"user": other_staff.pk, "entry": entry.pk, "perms": ["load_data"]},  # not our staff
                       {"user": head.pk, "entry": entry.pk, "perms": []},  # the head holds without rows
                       {"user": clerk.pk, "entry": other_entry.pk, "perms": ["load_data"]},  # not our resource
                       {"user": clerk.pk, "entry": entry.pk, "perms": ["drop_tables"]},
                       {"user": clerk.pk, "entry": entry.pk, "perms": "load_data"},
                       {"user": 10**20, "entry": entry.pk, "perms": []}):  # beyond a bigint: refused before SQL
        response = client.post(API, {"assignments": [assignment]}, format="json")
        assert response.status_code == 400, (assignment, response.content)
        assert response.json()["code"] == "invalid"
    assert client.get(API, {"q": "\x00"}).status_code == 400
    assert client.get(API, {"department": "１"}).status_code == 400
    page = web_as(head)
    assert page.get(PAGE, {"department": "9" * 30}).status_code == 404
    response = page.post(PAGE, {"department": entry.provider_id, "cell": [f"{10**30}:{entry.pk}"]})
    assert response.status_code == 302 and "格式不正确" in page.get(response["Location"]).content.decode()
    assert held(clerk, entry) == set() and held(other_staff, entry) == set()
    with pytest.raises(PortalError):
        resource_permissions_set(actor=head, department_id=entry.provider_id,
                                 assignments=[(clerk.pk, entry.pk, ["load_data", "nope"])])


def test_who_may_not_assign(world, staff, other_staff, reviewer, system_admin, county_bureau_user, bureau,
                            security_admin):
    entry, clerk = world["entry"], world["clerk"]
    other_head = make_user(Role.DEPT_HEAD, department=other_staff.department, username="other_head")
    audit_admin = make_user(Role.AUDIT_ADMIN, department=bureau, username="auditadmin")
    assessor = make_user(Role.ASSESSOR, department=bureau, username="assessor")
    people = {"anonymous": None, "staff": staff, "clerk": clerk, "other_head": other_head, "reviewer": reviewer,
              "sysadmin": system_admin, "audit": audit_admin, "assessor": assessor, "county": county_bureau_user}
    dept = entry.provider_id
    body = {"department": dept, "assignments": [{"user": clerk.pk, "entry": entry.pk, "perms": ["load_data"]}]}
    form = {"department": dept, "cell": [f"{clerk.pk}:{entry.pk}"], "perm": [f"{clerk.pk}:{entry.pk}:load_data"]}
    refused = {"staff": 403, "clerk": 403, "other_head": 404, "reviewer": 404, "sysadmin": 404, "audit": 404,
               "assessor": 404, "county": 404}
    check_matrix(people, [
        Row("get", f"{PAGE}?department={dept}", {"anonymous": "login", **refused}),
        Row("post", PAGE, {"anonymous": "login", **refused}, body=form),
    ])
    check_matrix(people, [
        Row("get", f"{API}?department={dept}", {"anonymous": 401, **refused}),
        Row("post", API, {"anonymous": 401, **refused}, body=body),
    ], api=True)
    assert held(clerk, entry) == set()
    for actor in (staff, other_head, system_admin, audit_admin, reviewer):
        with pytest.raises((PermissionDenied, NotFound)):
            resource_permissions_set(actor=actor, department_id=dept, assignments=[(clerk.pk, entry.pk, ["load_data"])])
    # A head of another department does not even see this department's matrix.
    other = DepartmentFactory()
    with pytest.raises(NotFound):
        resource_permissions_set(actor=other_head, department_id=other.pk, assignments=[])


def test_catalog_menu_links_the_page_for_heads_only(world, head, staff, web_as):
    assert 'data-testid="nav-resource-permissions"' in web_as(head).get(reverse("catalog:index")).content.decode()
    assert 'data-testid="nav-resource-permissions"' not in web_as(staff).get(reverse("catalog:index")).content.decode()


# ---------------------------------------------------------------- cost of the checks


def test_checks_cost_a_fixed_number_of_queries(world, head, staff, web_as):
    """The pool index decides the upload button of every entry with one query; the matrix page is the same number
    of queries for 3 resources as for 12; a dataset's load check is one query."""
    for n in range(3):
        storage_entry(staff.department, f"资源{n}", PEOPLE_ITEMS)
    client = web_as(staff)
    index = reverse("aggregation:index")
    client.get(index)
    with CaptureQueriesContext(connection) as few:
        client.get(index)
    for n in range(9):
        storage_entry(staff.department, f"更多资源{n}", PEOPLE_ITEMS)
    with CaptureQueriesContext(connection) as many:
        client.get(index)
    assert len(many) == len(few)

    matrix = web_as(head)
    with CaptureQueriesContext(connection) as small:
        matrix.get(PAGE, {"q": "资源0"})
    with CaptureQueriesContext(connection) as large:
        matrix.get(PAGE)
    assert len(large) == len(small)

    staff.__dict__.pop("role_set", None)
    staff.role_set  # noqa: B018 — loaded once per request in production
    with CaptureQueriesContext(connection) as one:
        assert rp.holds(staff, entry_id=world["entry"].pk, provider_id=staff.department_id, perm=rp.LOAD_DATA)
    assert len(one) == 1
