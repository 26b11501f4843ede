"""The kernel's lists' FilterSets (portal.api.filters): deadlines (`scope`, `state`) and notifications (`unread`)."""

import datetime as dt

import pytest

from portal.choices import Clock
from portal.models import Notification
from portal.services.deadlines import deadline_close, deadline_open
from tests.api_params import BAD_CHOICES, assert_invalid
from tests.factories import DepartmentFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("today_2026_11_25")]
D = dt.date


def _open(department, title):
    case = DepartmentFactory()
    deadline_open(case=case, clock=Clock.VERIFICATION, department=department, working_days=10, title=title,
                  started_on=D(2026, 11, 20))
    return case


def test_deadlines_state_closed_adds_the_closed_clocks(api_as, staff, dept):
    _open(dept, "进行中")
    deadline_close(case=_open(dept, "已结束"), clock=Clock.VERIFICATION)
    titles = lambda **q: sorted(d["title"] for d in api_as(staff).get("/api/v1/deadlines/", q).json())  # noqa: E731
    assert titles() == titles(state="running") == titles(scope="mine") == ["进行中"]
    assert titles(state="closed") == titles(state="closed", scope="all") == ["已结束", "进行中"]


@pytest.mark.parametrize("name", ["scope", "state"])
@pytest.mark.parametrize("value", BAD_CHOICES)
def test_deadlines_refuse_bad_values(api_as, staff, name, value):
    assert_invalid(api_as(staff).get("/api/v1/deadlines/", {name: value}), name)


def test_notifications_unread(api_as, staff):
    Notification.objects.create(recipient=staff, title="未读")
    Notification.objects.create(recipient=staff, title="已读", read_at="2026-11-24T08:00:00+08:00")
    titles = lambda **q: [n["title"] for n in api_as(staff).get("/api/v1/notifications/", q).json()["results"]]  # noqa: E731
    assert titles(unread="1") == ["未读"]
    assert sorted(titles()) == sorted(titles(unread="0")) == ["已读", "未读"]


@pytest.mark.parametrize("value", [*BAD_CHOICES, "true", "2"])
def test_notifications_refuse_bad_values(api_as, staff, value):
    assert_invalid(api_as(staff).get("/api/v1/notifications/", {"unread": value}), "unread")
