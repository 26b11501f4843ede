"""Who may do what with informatization projects, on the pages and in the API (the same services behind both): the
filing department's staff and head, another department (404), the county bureau (its region, reads), the bureau's
reviewer (reviews), the assessor (reads), the three administrators (404: 三员分立)."""

import pytest
from django.urls import reverse

from portal.choices import Role
from supervision.choices import ProjectState
from supervision.models import InformatizationProject
from tests.factories import DepartmentFactory, make_user, region
from tests.permissions import LOGIN, Row, check_matrix
from tests.supervision.helpers import ALL_CHECKS, make_project, values

pytestmark = pytest.mark.django_db

API = "/api/v1/supervision/projects/"
ADMINS = ("system_admin", "security_admin", "audit_admin")


@pytest.fixture
def people(db, system_admin, security_admin, audit_admin, reviewer, staff, head, other_staff, county_bureau_user,
           bureau):
    return {"anonymous": None, "system_admin": system_admin, "security_admin": security_admin,
            "audit_admin": audit_admin, "reviewer": reviewer, "staff": staff, "head": head,
            "other_staff": other_staff, "county": county_bureau_user,
            "assessor": make_user(Role.ASSESSOR, department=bureau, username="assessor")}


def form(**overrides):
    data = values(**overrides)
    return {**data, "resources": "企业信用信息", "period_start": "2026-03-01", "period_end": "2026-12-31"}


def test_the_pages_answer_each_person_as_their_role_allows(people, staff, reviewer):
    draft = make_project(staff)
    submitted = make_project(staff, reviewer, state=ProjectState.SUBMITTED, name="信用监管二期")
    approved = make_project(staff, reviewer, state=ProjectState.APPROVED, name="信用监管三期")
    building = make_project(staff, reviewer, state=ProjectState.UNDER_CONSTRUCTION, name="信用监管四期")
    admins = dict.fromkeys(ADMINS, 404)
    readers = {"staff": 200, "head": 200, "reviewer": 200, "assessor": 200}
    url = reverse
    check_matrix(people, [
        Row("get", url("supervision:index"), {"anonymous": LOGIN, **admins, **readers, "county": 200,
                                              "other_staff": 200}),
        Row("get", url("supervision:project-list"), {"anonymous": LOGIN, **admins, **readers, "county": 200,
                                                     "other_staff": 200}),
        Row("get", draft.get_absolute_url(), {"anonymous": LOGIN, **admins, **readers, "other_staff": 404,
                                              "county": 404}),
        Row("get", url("supervision:project-create"), {"anonymous": LOGIN, **admins, "staff": 200, "head": 200,
                                                       "other_staff": 200, "reviewer": 404, "county": 404,
                                                       "assessor": 404}),
        Row("post", url("supervision:project-create"), {**admins, "staff": 302, "head": 302, "reviewer": 404},
            form()),
        Row("get", url("supervision:project-edit", args=[draft.pk]),
            {**admins, "staff": 200, "head": 200, "other_staff": 404, "reviewer": 404, "county": 404}),
        Row("post", url("supervision:project-edit", args=[draft.pk]),
            {**admins, "staff": 302, "head": 302, "other_staff": 404, "reviewer": 404}, form(name="改名")),
        Row("post", url("supervision:project-submit", args=[draft.pk]),
            {"anonymous": LOGIN, **admins, "staff": 302, "head": 302, "other_staff": 404, "county": 404,
             "reviewer": 403, "assessor": 403}),
        Row("post", url("supervision:project-approve", args=[submitted.pk]),
            {**admins, "reviewer": 302, "staff": 403, "head": 403, "other_staff": 404, "county": 404,
             "assessor": 403}, {"checks": ALL_CHECKS}),
        Row("post", url("supervision:project-return", args=[submitted.pk]),
            {**admins, "reviewer": 302, "staff": 403, "other_staff": 404, "assessor": 403}, {"reason": "补充材料"}),
        Row("post", url("supervision:project-start", args=[approved.pk]),
            {**admins, "staff": 302, "head": 302, "other_staff": 404, "reviewer": 403}),
        Row("post", url("supervision:project-complete", args=[building.pk]),
            {**admins, "staff": 302, "head": 302, "other_staff": 404, "reviewer": 403}),
    ], isolated=True)
    # Each cell was rolled back.
    assert [p.state for p in InformatizationProject.objects.order_by("pk")] == [
        ProjectState.DRAFT, ProjectState.SUBMITTED, ProjectState.APPROVED, ProjectState.UNDER_CONSTRUCTION]


def test_the_county_bureau_sees_its_regions_projects_only(web_as, api_as, county_bureau_user, staff, reviewer):
    county_dept = DepartmentFactory(name="修武县公安局(测试)", region=region("410821"))
    county_staff = make_user(Role.DEPT_STAFF, department=county_dept, username="xw_staff")
    theirs = make_project(county_staff, reviewer, state=ProjectState.SUBMITTED, name="修武县智慧警务")
    city = make_project(staff, reviewer, state=ProjectState.SUBMITTED)
    client = web_as(county_bureau_user)
    html = client.get(reverse("supervision:project-list")).content.decode()
    assert f'data-project="{theirs.pk}"' in html and f'data-project="{city.pk}"' not in html
    assert client.get(city.get_absolute_url()).status_code == 404
    assert client.get(theirs.get_absolute_url()).status_code == 200
    # It reads; the review is the city bureau's (the policy note: 市政务服务和大数据管理局).
    assert client.post(reverse("supervision:project-approve", args=[theirs.pk]),
                       {"checks": ALL_CHECKS}).status_code == 403
    api = api_as(county_bureau_user)
    assert [r["id"] for r in api.get(API).json()["results"]] == [theirs.pk]
    assert api.post(f"{API}{theirs.pk}/approve/", {"checks": ALL_CHECKS}, format="json").status_code == 403
    assert [r["id"] for r in api_as(reviewer).get(API).json()["results"]] == [city.pk, theirs.pk]


def test_the_api_answers_each_person_as_the_pages_do(people, staff, reviewer):
    draft = make_project(staff)
    submitted = make_project(staff, reviewer, state=ProjectState.SUBMITTED, name="信用监管二期")
    admins = dict.fromkeys(ADMINS, 404)
    body = {**values(), "period_start": "2026-03-01", "period_end": "2026-12-31",
            "resources": [{"name": "企业信用信息"}]}
    check_matrix(people, [
        Row("get", API, {"anonymous": 401, **admins, "staff": 200, "head": 200, "other_staff": 200, "county": 200,
                         "reviewer": 200, "assessor": 200}),
        Row("get", f"{API}{draft.pk}/", {**admins, "staff": 200, "head": 200, "other_staff": 404, "county": 404,
                                         "reviewer": 200, "assessor": 200}),
        Row("get", f"{API}{submitted.pk}/overlap/", {**admins, "staff": 200, "other_staff": 404, "reviewer": 200}),
        Row("post", API, {"anonymous": 401, **admins, "staff": 201, "head": 201, "reviewer": 403, "county": 403,
                          "assessor": 403}, body),
        Row("put", f"{API}{draft.pk}/", {**admins, "staff": 200, "head": 200, "other_staff": 404, "reviewer": 403},
            body),
        Row("post", f"{API}{draft.pk}/submit/", {**admins, "staff": 200, "head": 200, "other_staff": 404,
                                                 "reviewer": 403, "county": 404}),
        Row("post", f"{API}{submitted.pk}/approve/", {**admins, "reviewer": 200, "staff": 403, "other_staff": 404,
                                                      "assessor": 403}, {"checks": ALL_CHECKS}),
        Row("post", f"{API}{submitted.pk}/return/", {**admins, "reviewer": 200, "staff": 403, "assessor": 403},
            {"reason": "补充材料"}),
        Row("get", f"{API}{draft.pk + 1000}/", {"staff": 404, "reviewer": 404}),
    ], api=True, isolated=True)
