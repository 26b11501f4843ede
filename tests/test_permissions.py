"""tests.permissions.check_matrix itself: every cell runs, all differing cells are reported at once, isolation."""

import pytest
from django.urls import reverse

from portal.models import User
from tests.permissions import LOGIN, Row, check_matrix

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(staff, other_staff, system_admin):
    return {"anonymous": None, "staff": staff, "other_staff": other_staff, "admin": system_admin}


def test_a_matrix_that_holds_passes(people):
    check_matrix(people, [
        Row("get", reverse("home"), {"anonymous": LOGIN, "staff": 200, "admin": 200}),
        Row("get", reverse("calendar-day"), {"anonymous": LOGIN, "staff": 404, "admin": 200}),
        Row("get", lambda: reverse("calendar-year", args=[2026]), {"staff": {200, 404}}),
    ])
    check_matrix(people, [Row("get", "/api/v1/me/", {"anonymous": 401, "staff": 200})], api=True)


def test_every_differing_cell_is_reported_at_once(people):
    with pytest.raises(pytest.fail.Exception) as failed:
        check_matrix(people, [
            Row("get", reverse("home"), {"anonymous": 200, "staff": 200}),
            Row("get", reverse("calendar-day"), {"staff": 403, "other_staff": 404, "admin": LOGIN}),
        ])
    message = str(failed.value)
    assert "3 of 5 cells differ" in message
    assert f"GET {reverse('home')} as anonymous: expected 200, got 302 (to the login page)" in message
    assert f"GET {reverse('calendar-day')} as staff: expected 403, got 404" in message
    assert f"GET {reverse('calendar-day')} as admin: expected 'login', got 200" in message


def test_an_also_check_counts_as_a_cell_failure(people):
    def no_results(who, response):
        assert "results" in response.json(), "not a list"

    with pytest.raises(pytest.fail.Exception, match="as staff: not a list"):
        check_matrix(people, [Row("get", "/api/v1/me/", {"staff": 200}, also=no_results)], api=True)


def test_isolated_cells_leave_the_database_as_it_was(people, staff):
    check_matrix(people, [Row("get", reverse("home"), {"staff": 200})], isolated=True)
    assert User.objects.get(pk=staff.pk).last_login is None  # the login of the cell was rolled back
    check_matrix(people, [Row("get", reverse("home"), {"staff": 200})])
    assert User.objects.get(pk=staff.pk).last_login is not None


def test_a_row_naming_a_stranger_is_a_mistake(people):
    with pytest.raises(AssertionError, match="nobody called"):
        check_matrix(people, [Row("get", reverse("home"), {"auditor": 200})])
