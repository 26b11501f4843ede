"""The bureau admin edits the calendar: impact shown first, open deadlines never silently moved,
provisional deadlines recomputed when a year is confirmed."""

import datetime as dt

import pytest

from portal.choices import Clock, DayKind, DeadlineState, Role
from portal.errors import PermissionDenied, PortalError
from portal.models import CalendarDay, CalendarYear, Deadline
from portal.services.calendar import calendar_change_impact, calendar_day_set, calendar_year_confirm
from portal.services.deadlines import deadline_open
from tests.factories import make_user

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("today_2026_11_25")]
D = dt.date


@pytest.fixture
def case(dept):
    # Any model instance can be a case; a department stands in for a chapter's case here.
    return dept


def test_editing_a_day_shows_the_impact_but_keeps_due_dates(system_admin, case, dept, audit_log):
    deadline = deadline_open(
        case=case, clock=Clock.VERIFICATION, department=dept, working_days=10, title="校核", started_on=D(2026, 11, 2)
    )
    assert deadline.due_on == D(2026, 11, 16)
    impacts = calendar_change_impact(day=D(2026, 11, 10), kind=DayKind.HOLIDAY)
    assert [(i.deadline.pk, i.due_now, i.due_if_recomputed) for i in impacts] == [
        (deadline.pk, D(2026, 11, 16), D(2026, 11, 17))
    ]
    returned = calendar_day_set(
        actor=system_admin, day=D(2026, 11, 10), kind=DayKind.HOLIDAY, name="临时", basis="文号"
    )
    assert [i.deadline.pk for i in returned] == [deadline.pk]
    deadline.refresh_from_db()
    assert deadline.due_on == D(2026, 11, 16)  # not silently changed (R0.3)
    (event,) = audit_log("portal.calendar.day_changed")
    assert event.data["deadlines_not_moved"][0]["deadline"] == deadline.pk
    assert event.actor == system_admin


def test_a_day_outside_every_window_affects_nothing(case, dept):
    deadline_open(
        case=case, clock=Clock.VERIFICATION, department=dept, working_days=3, title="x", started_on=D(2026, 11, 2)
    )
    assert calendar_change_impact(day=D(2026, 12, 1), kind=DayKind.HOLIDAY) == []


def test_only_the_system_admin_edits_the_calendar(reviewer):
    with pytest.raises(PermissionDenied):
        calendar_day_set(actor=reviewer, day=D(2026, 11, 10), kind=DayKind.HOLIDAY)
    assert not CalendarDay.objects.filter(date=D(2026, 11, 10)).exists()


def test_confirming_2027_recomputes_provisional_deadlines(system_admin, case, dept, audit_log):
    deadline = deadline_open(
        case=case, clock=Clock.VERIFICATION, department=dept, working_days=10, title="跨年", started_on=D(2026, 12, 24)
    )
    assert (deadline.due_on, deadline.provisional) == (D(2027, 1, 7), True)
    # The admin enters the 2027 New Year holiday (Fri 01-01), then confirms the year.
    calendar_day_set(actor=system_admin, day=D(2027, 1, 1), kind=DayKind.HOLIDAY, name="元旦", basis="国办发明电")
    deadline.refresh_from_db()
    assert deadline.due_on == D(2027, 1, 7)  # still the stored, provisional date
    moved = calendar_year_confirm(actor=system_admin, year=2027, basis="国办发明电〔2026〕7号")
    deadline.refresh_from_db()
    assert (deadline.due_on, deadline.provisional) == (D(2027, 1, 8), False)
    assert moved == [{"deadline": deadline.pk, "before": "2027-01-07", "after": "2027-01-08"}]
    (event,) = audit_log("portal.calendar.year_confirmed")
    assert event.data["deadlines_recomputed"] == moved
    assert CalendarYear.objects.get(year=2027).confirmed_by == system_admin


def test_confirming_twice_is_refused(system_admin):
    calendar_year_confirm(actor=system_admin, year=2027, basis="x")
    with pytest.raises(PortalError) as err:
        calendar_year_confirm(actor=system_admin, year=2027, basis="x")
    assert err.value.code == "already_confirmed"


def test_calendar_pages_preview_then_save(web_as, system_admin, case, dept):
    deadline_open(
        case=case,
        clock=Clock.VERIFICATION,
        department=dept,
        working_days=10,
        title="校核事项",
        started_on=D(2026, 11, 2),
    )
    client = web_as(system_admin)
    page = client.get("/calendar/2027/")
    assert page.status_code == 200
    assert "未确认" in page.content.decode()
    preview = client.post(
        "/calendar/day/", {"date": "2026-11-10", "kind": DayKind.HOLIDAY, "name": "临时", "basis": "x"}
    )
    body = preview.content.decode()
    assert "校核事项" in body and "2026-11-17" in body
    assert not CalendarDay.objects.filter(date=D(2026, 11, 10)).exists()  # preview writes nothing
    saved = client.post(
        "/calendar/day/",
        {"date": "2026-11-10", "kind": DayKind.HOLIDAY, "name": "临时", "basis": "x", "confirmed": "True"},
    )
    assert saved.status_code == 302
    assert CalendarDay.objects.get(date=D(2026, 11, 10)).kind == DayKind.HOLIDAY
    assert Deadline.objects.get().due_on == D(2026, 11, 16)


def test_calendar_pages_are_the_system_admins(web_as, reviewer):
    assert web_as(reviewer).get("/calendar/").status_code == 404


def test_home_warns_the_admin_about_an_unconfirmed_year(web_as, system_admin, settings):
    body = web_as(system_admin).get("/").content.decode()
    assert "2027" in body and "暂定" in body


def test_confirming_clears_the_provisional_flag(system_admin, case, dept):
    deadline = deadline_open(
        case=case, clock=Clock.VERIFICATION, department=dept, working_days=1, title="x", started_on=D(2026, 12, 31)
    )
    assert deadline.provisional
    calendar_year_confirm(actor=system_admin, year=2027, basis="x")  # the year is confirmed as Mon–Fri
    deadline.refresh_from_db()
    assert (deadline.due_on, deadline.provisional, deadline.state) == (D(2027, 1, 1), False, DeadlineState.OPEN)


def test_role_must_be_admin_for_year_confirm(dept):
    staff = make_user(Role.DEPT_STAFF, department=dept)
    with pytest.raises(PermissionDenied):
        calendar_year_confirm(actor=staff, year=2027, basis="x")
