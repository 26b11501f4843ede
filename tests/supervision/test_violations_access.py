"""Who may do what with violations, rectification orders and notices, on the pages and in the API: the assessor
(city-wide: files, orders, accepts), the bureau's reviewer (reads the city; edits and publishes notices), the ordered
department's staff and head (read their own, report), another department (404), a county bureau (reads its region's,
orders nothing), the three administrators (404: 三员分立)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from portal.choices import Clock
from portal.models import Deadline
from portal.services.deadlines import deadline_sweep
from supervision.models import CriticismNotice
from supervision.services.orders import notices_draft_overdue, order_issue, order_report
from tests.factories import DepartmentFactory, region
from tests.permissions import LOGIN, Row, check_matrix
from tests.supervision.violation_helpers import filed

pytestmark = pytest.mark.django_db
ADMINS = ("system_admin", "security_admin", "audit_admin")
D = dt.date


@pytest.fixture
def people(system_admin, security_admin, audit_admin, reviewer, staff, head, other_staff, county_bureau_user,
           assessor):
    return {"anonymous": None, "system_admin": system_admin, "security_admin": security_admin,
            "audit_admin": audit_admin, "reviewer": reviewer, "staff": staff, "head": head,
            "other_staff": other_staff, "county": county_bureau_user, "assessor": assessor}


@pytest.fixture
def world(freeze_today, settings, tmp_path, assessor, staff, dept):
    """dept: an open violation, an order awaiting its report, an overdue order with a notice draft; a county
    department's violation."""
    settings.MEDIA_ROOT = tmp_path
    freeze_today(D(2026, 11, 2))
    open_v = filed(assessor, dept, title="未按规定答复共享申请")
    order = order_issue(actor=assessor, violation_ids=[filed(assessor, dept, title="拒报目录").pk],
                        requirements="限期整改", working_days=30)
    late = order_issue(actor=assessor, violation_ids=[filed(assessor, dept, title="逾期").pk],
                       requirements="限期整改", working_days=3)
    deadline_sweep(today=freeze_today(D(2026, 11, 10)))
    notices_draft_overdue()
    county_dept = DepartmentFactory(region=region("410821"), name="修武县公安局(测试)")
    return {"open": open_v, "order": order, "late": late, "notice": CriticismNotice.objects.get(),
            "county_v": filed(assessor, county_dept, title="县级违规")}


def test_the_pages_answer_each_person_as_their_role_allows(people, world, dept):
    admins = dict.fromkeys(ADMINS, 404)
    readers = {"staff": 200, "head": 200, "reviewer": 200, "assessor": 200, "county": 200, "other_staff": 200}
    url = reverse
    order, notice = world["order"], world["notice"]
    check_matrix(people, [
        Row("get", url("supervision:violation-list"), {"anonymous": LOGIN, **admins, **readers}),
        Row("get", url("supervision:order-list"), {"anonymous": LOGIN, **admins, **readers}),
        Row("get", url("supervision:notice-list"), {"anonymous": LOGIN, **admins, **readers}),
        Row("get", world["open"].get_absolute_url(),
            {"anonymous": LOGIN, **admins, "staff": 200, "head": 200, "reviewer": 200, "assessor": 200,
             "other_staff": 404, "county": 404}),
        Row("get", world["county_v"].get_absolute_url(),
            {**admins, "staff": 404, "reviewer": 200, "assessor": 200, "county": 200}),
        Row("get", order.get_absolute_url(),
            {"anonymous": LOGIN, **admins, "staff": 200, "head": 200, "reviewer": 200, "assessor": 200,
             "other_staff": 404, "county": 404}),
        Row("get", url("supervision:violation-new"),
            {**admins, "assessor": 200, "reviewer": 404, "staff": 404, "county": 404}),
        Row("post", url("supervision:violation-new"),
            {**admins, "assessor": 302, "reviewer": 404, "staff": 404, "county": 404},
            {"category": "35.7", "department": dept.pk, "title": "其他", "evidence": "证据"}),
        Row("get", url("supervision:order-new") + f"?violations={world['open'].pk}",
            {**admins, "assessor": 200, "reviewer": 404, "head": 404, "county": 404}),
        Row("post", url("supervision:order-new"),
            {**admins, "reviewer": 404, "head": 404, "county": 404, "assessor": 302},
            {"violations": [world["open"].pk], "requirements": "限期整改", "working_days": "5"}),
        Row("get", url("supervision:order-report", args=[order.pk]),
            {**admins, "staff": 200, "head": 200, "other_staff": 404, "county": 404}),
        Row("post", url("supervision:order-report", args=[order.pk]),
            {**admins, "other_staff": 404, "county": 404, "reviewer": 403, "assessor": 403, "staff": 302},
            {"body": "已整改"}),
        Row("post", url("supervision:order-return", args=[order.pk]),
            {**admins, "other_staff": 404, "staff": 403, "head": 403, "reviewer": 403, "assessor": 302},
            {"reason": "材料不全"}),
        Row("post", url("supervision:order-refer", args=[order.pk]),
            {**admins, "other_staff": 404, "staff": 403, "reviewer": 403, "assessor": 302},
            {"authority": "市纪委监委", "basis": "情节严重"}),
        Row("get", notice.get_absolute_url(),
            {"anonymous": LOGIN, **admins, "staff": 404, "other_staff": 404, "county": 404, "reviewer": 200,
             "assessor": 200}),
        Row("get", url("supervision:notice-edit", args=[notice.pk]),
            {**admins, "staff": 404, "reviewer": 200, "assessor": 200}),
        Row("post", url("supervision:notice-publish", args=[notice.pk]),
            {**admins, "staff": 404, "head": 404, "county": 404, "reviewer": 302}),
        Row("get", notice.get_absolute_url(),  # published: every department reads it
            {"anonymous": LOGIN, **admins, "staff": 200, "other_staff": 200, "county": 200, "reviewer": 200},
            label="published"),
    ])


API = "/api/v1/supervision/"


def test_the_api_answers_each_person_as_their_role_allows(people, world, dept):
    admins = dict.fromkeys(ADMINS, 404)
    order, notice = world["order"], world["notice"]
    readers = {"staff": 200, "head": 200, "reviewer": 200, "assessor": 200, "county": 200, "other_staff": 200}

    def count(n_by_person):
        def check(who, response):
            if who in n_by_person:
                assert len(response.json()["results"]) == n_by_person[who], response.json()
        return check

    check_matrix(people, [
        Row("get", API + "violations/", {"anonymous": 401, **admins, **readers},
            also=count({"assessor": 4, "reviewer": 4, "staff": 3, "other_staff": 0, "county": 1})),
        Row("get", API + "orders/", {"anonymous": 401, **admins, **readers},
            also=count({"assessor": 2, "staff": 2, "other_staff": 0, "county": 0})),
        Row("get", API + "notices/", {**admins, **readers},
            also=count({"assessor": 1, "reviewer": 1, "staff": 0, "other_staff": 0})),
        Row("get", f"{API}violations/{world['open'].pk}/",
            {**admins, "staff": 200, "other_staff": 404, "county": 404, "assessor": 200}),
        Row("post", API + "violations/", {**admins, "staff": 403, "reviewer": 403, "county": 403, "assessor": 201},
            {"category": "35.3", "department": dept.pk, "title": "要求提供证明", "evidence": "投诉"}),
        Row("get", f"{API}orders/{order.pk}/", {**admins, "staff": 200, "other_staff": 404, "county": 404}),
        Row("post", f"{API}orders/{order.pk}/report/",
            {**admins, "other_staff": 404, "county": 404, "reviewer": 403, "head": 200}, {"body": "已整改"}),
        Row("post", f"{API}orders/{order.pk}/return/",
            {**admins, "other_staff": 404, "staff": 403, "reviewer": 403, "assessor": 200}, {"reason": "材料不全"}),
        Row("post", f"{API}orders/{order.pk}/accept/", {**admins, "staff": 403, "assessor": 409}, {}),
        Row("get", f"{API}notices/{notice.pk}/", {**admins, "staff": 404, "reviewer": 200}),
        Row("put", f"{API}notices/{notice.pk}/", {**admins, "staff": 404, "county": 404, "assessor": 200},
            {"title": "关于通报批评", "body": "逾期未整改"}),
        Row("post", f"{API}notices/{notice.pk}/publish/", {**admins, "staff": 404, "assessor": 200}, {}),
        Row("post", f"{API}notices/{notice.pk}/publish/", {"reviewer": 409}, {}, label="twice"),
        Row("get", f"{API}notices/{notice.pk}/", {"staff": 200, "other_staff": 200, "county": 200},
            label="published"),
    ], api=True)


def test_a_county_bureau_supervises_its_region_but_does_not_order(world, county_bureau_user):
    from portal.errors import NotFound, PermissionDenied

    with pytest.raises(PermissionDenied) as exc:  # even on its own region's violation
        order_issue(actor=county_bureau_user, violation_ids=[world["county_v"].pk], requirements="x", working_days=5)
    assert exc.value.code == "not_assessor"
    with pytest.raises(NotFound):  # a city department's order is outside its region
        order_report(actor=county_bureau_user, order_id=world["order"].pk, body="x")
    assert Deadline.objects.filter(clock=Clock.RECTIFICATION).count() == 2
