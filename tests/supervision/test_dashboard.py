"""The bureau's dashboard and the clock list it links to: every figure is the count of the list behind its link, in the
viewer's scope (a county bureau: its region), and the dashboard is the supervisors' only."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse

from portal.choices import Clock
from portal.services.deadlines import deadline_open, deadline_sweep
from tests.factories import DepartmentFactory, Role, make_user, region
from tests.permissions import Row, check_matrix

pytestmark = pytest.mark.django_db
D = dt.date


def open_clock(department, title, *, clock=Clock.VERIFICATION, start=None, days=10):
    return deadline_open(case=DepartmentFactory(), clock=clock, department=department, working_days=days,
                         title=title, started_on=start or D(2026, 11, 2))


@pytest.fixture
def clocks(dept, other_dept, county_bureau_user, today_2026_11_25):
    county_dept = DepartmentFactory(region=region("410821"), name="修武县公安局")
    for i in range(3):
        open_clock(dept, f"逾期校核{i}")  # due 2026-11-16: overdue
    open_clock(dept, "未到期校核", start=D(2026, 11, 24))
    open_clock(other_dept, "逾期共享审核", clock=Clock.SHARING_REVIEW)
    open_clock(county_dept, "县里逾期校核")
    deadline_sweep()
    return county_dept


def listed(client, url) -> int:
    body = client.get(url).content.decode()
    return int(re.search(r"共 (\d+) 项", body).group(1))


def test_each_figure_is_the_count_of_the_list_behind_its_link(clocks, reviewer, web_as, dept):
    client = web_as(reviewer)
    page = client.get(reverse("supervision:dashboard"))
    assert page.status_code == 200
    ctx = page.context
    assert ctx["overdue_total"] == 5 and ctx["open_total"] == 6
    verification = next(r for r in ctx["clocks"] if r["clock"] == Clock.VERIFICATION)
    assert (verification["open"].value, verification["overdue"].value) == (1, 4)
    for figure in (verification["open"], verification["overdue"]):
        assert listed(client, figure.url) == figure.value
    top = ctx["overdue_by_department"][0]
    assert (top.label, top.value) == (dept.name, 3)
    assert listed(client, top.url) == 3
    assert listed(client, reverse("clock-list") + "?scope=all&state=overdue") == 5


def test_a_county_bureau_sees_its_region_only(clocks, county_bureau_user, web_as):
    client = web_as(county_bureau_user)
    ctx = client.get(reverse("supervision:dashboard")).context
    assert ctx["overdue_total"] == 1
    assert [f.label for f in ctx["overdue_by_department"]] == ["修武县公安局"]
    assert "修武" in client.get(reverse("supervision:dashboard")).content.decode()
    assert listed(client, reverse("clock-list") + "?scope=all") == 1


def test_the_clock_list_shows_a_department_its_own_clocks_and_refuses_bad_filters(clocks, staff, other_dept,
                                                                                  web_as):
    client = web_as(staff)
    assert listed(client, reverse("clock-list")) == 4
    assert listed(client, reverse("clock-list") + f"?department={other_dept.pk}") == 0  # not in scope: nothing
    bad = client.get(reverse("clock-list") + "?clock=nonsense&state=overdue")
    assert bad.status_code == 200 and "共 0 项" in bad.content.decode()
    assert "alert-warning" in bad.content.decode()


def test_only_the_supervisors_open_the_dashboard(clocks, reviewer, staff, head, county_bureau_user, system_admin,
                                                security_admin, audit_admin):
    people = {"reviewer": reviewer, "county": county_bureau_user, "staff": staff, "head": head,
              "assessor": make_user(Role.ASSESSOR, department=reviewer.department, username="assessor"),
              "sysadmin": system_admin, "secadmin": security_admin, "auditadm": audit_admin}
    check_matrix(people, [Row("get", reverse("supervision:dashboard"), {
        "reviewer": 200, "assessor": 200, "county": 200, "staff": 404, "head": 404,
        "sysadmin": 404, "secadmin": 404, "auditadm": 404,
    })])


def test_the_api_lists_the_same_clocks_with_the_same_filters(clocks, reviewer, api_as, dept):
    client = api_as(reviewer)
    overdue = client.get("/api/v1/deadlines/", {"scope": "all", "state": "overdue"}).json()
    assert len(overdue) == 5
    mine = client.get("/api/v1/deadlines/", {"scope": "all", "state": "overdue", "department": dept.pk,
                                             "clock": Clock.VERIFICATION}).json()
    assert sorted(d["title"] for d in mine) == ["逾期校核0", "逾期校核1", "逾期校核2"]
    assert client.get("/api/v1/deadlines/", {"clock": "nonsense"}).status_code == 400


def test_open_violations_by_article_and_orders_by_state_link_to_their_lists(reviewer, dept, bureau, web_as):
    from supervision.services.orders import order_issue
    from supervision.services.violations import violation_file

    assessor = make_user(Role.ASSESSOR, department=bureau, username="assessor")
    ordered = violation_file(actor=assessor, category="35.3", department_id=dept.pk, title="要求企业重复提交执照",
                             evidence="窗口登记")
    violation_file(actor=assessor, category="35.3", department_id=dept.pk, title="要求群众重复提交户籍证明",
                   evidence="投诉")
    violation_file(actor=assessor, category="35.7", department_id=dept.pk, title="其他", evidence="检查")
    order_issue(actor=assessor, violation_ids=[ordered.pk], requirements="十个工作日内整改", working_days=10)
    client = web_as(reviewer)
    ctx = client.get(reverse("supervision:dashboard")).context
    top = ctx["violations"]["top"]
    assert [(f.label.split()[0], f.value) for f in top] == [("35.3", 1), ("35.7", 1)]  # the ordered one is not open
    body = client.get(top[0].url).content.decode()
    assert "要求群众重复提交户籍证明" in body and "要求企业重复提交执照" not in body
    issued = next(f for f in ctx["violations"]["orders"] if f.label == "整改中")
    assert issued.value == 1 and client.get(issued.url).status_code == 200
