"""portal.querysets.RestrictedQuerySet: the action dispatch and the scope helpers every app's queryset is written with.

Run over the kernel's own Deadline (a department relation, regions), each helper for each kind of user.
"""

import datetime as dt
from types import SimpleNamespace

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db.models import Q

from portal.choices import Clock, Role
from portal.models import Deadline
from portal.permissions import county_region_id, is_department_member, is_head_of, signed_in
from portal.querysets import RestrictedQuerySet
from portal.services.deadlines import deadline_open
from tests.factories import DepartmentFactory, county_bureau_department, make_user, region

pytestmark = pytest.mark.django_db


class CaseQuerySet(RestrictedQuerySet):
    """An app's queryset as the apps write them: a default view, a staff action, a head action, a bureau action."""

    admits_api_clients = True

    def restrict_view(self, user):
        if getattr(user, "api_client", None) is not None:
            return self.filter(clock=Clock.SHARING_REVIEW)
        return self.in_scope(user, "department")

    def restrict_change(self, user):
        return self.of_own_department(user)

    def restrict_signoff(self, user):
        return self.headed_by(user)

    def restrict_county_review(self, user):
        return self.in_county_region(user)

    def restrict_review(self, user):
        return self.for_roles(user, Role.BUREAU_REVIEWER)


def cases():
    return CaseQuerySet(model=Deadline)


@pytest.fixture
def world(dept, other_dept, staff, head, other_staff, reviewer):
    """One clock in each of two city departments and in two county departments (修武县, 沁阳市)."""
    xiuwu, qinyang = DepartmentFactory(region=region("410821")), DepartmentFactory(region=region("410882"))
    clocks = {}
    for name, department, clock in (("dept", dept, Clock.VERIFICATION), ("other", other_dept, Clock.SHARING_REVIEW),
                                    ("xiuwu", xiuwu, Clock.VERIFICATION), ("qinyang", qinyang, Clock.VERIFICATION)):
        clocks[name] = deadline_open(case=department, clock=clock, department=department, working_days=10,
                                     title=name, started_on=dt.date(2026, 11, 2))
    county = make_user(Role.COUNTY_BUREAU, department=county_bureau_department("410821"))
    xiuwu_staff = make_user(Role.DEPT_STAFF, department=xiuwu)
    return SimpleNamespace(clocks=clocks, county=county, xiuwu_staff=xiuwu_staff, staff=staff, head=head,
                           other_staff=other_staff, reviewer=reviewer, dept=dept)


def names(qs) -> set[str]:
    return set(qs.values_list("title", flat=True))


def test_view_follows_the_role_scope(world):
    assert names(cases().restrict(world.staff, "view")) == {"dept"}
    assert names(cases().restrict(world.county, "view")) == {"xiuwu"}  # its region's departments
    assert names(cases().restrict(world.reviewer, "view")) == {"dept", "other", "xiuwu", "qinyang"}  # the city


def test_nobody_signed_in_gets_nothing_and_an_unknown_action_is_an_error(world):
    no_roles = make_user(department=world.dept)
    for user in (None, AnonymousUser(), no_roles):
        assert not cases().restrict(user, "view").exists()
        assert not cases().restrict(user, "review").exists()
    with pytest.raises(ValueError, match="unknown action 'approve'"):
        cases().restrict(world.staff, "approve")


def test_an_api_client_is_admitted_only_where_the_queryset_says_so(world):
    client = SimpleNamespace(is_authenticated=True, role_set=frozenset(), department_id=world.dept.pk,
                             api_client=object(), has_role=lambda *roles: False)
    assert names(cases().restrict(client, "view")) == {"other"}
    assert not cases().restrict(client, "change").exists()
    assert not Deadline.objects.restrict(client, "view").exists()  # Deadline does not admit API clients
    assert signed_in(client, clients=True) and not signed_in(client)


def test_own_department_and_head_actions(world):
    assert names(cases().restrict(world.staff, "change")) == {"dept"}
    assert names(cases().restrict(world.head, "change")) == {"dept"}
    assert not cases().restrict(world.reviewer, "change").exists()  # a city-wide role changes no department's cases
    assert names(cases().restrict(world.head, "signoff")) == {"dept"}
    assert not cases().restrict(world.staff, "signoff").exists()
    recorded_head = make_user(Role.DEPT_STAFF, department=world.dept)
    world.dept.head = recorded_head
    world.dept.save(update_fields=["head"])
    recorded_head.refresh_from_db()
    assert names(cases().restrict(recorded_head, "signoff")) == {"dept"}  # the department's recorded head


def test_county_and_bureau_actions(world):
    assert names(cases().restrict(world.county, "county_review")) == {"xiuwu"}
    assert not cases().restrict(world.staff, "county_review").exists()
    assert names(cases().restrict(world.reviewer, "review")) == {"dept", "other", "xiuwu", "qinyang"}
    assert not cases().restrict(world.county, "review").exists()


def test_in_scope_over_several_paths_and_also(world):
    # Two paths: either side's scope; `also` adds rows outside it, and the city's empty Q never narrows the city.
    assert names(cases().in_scope(world.staff, "department", "department")) == {"dept"}
    also = Q(title="qinyang")
    assert names(cases().in_scope(world.staff, "department", also=also)) == {"dept", "qinyang"}
    assert names(cases().in_scope(world.reviewer, "department", also=also)) == {"dept", "other", "xiuwu", "qinyang"}


def test_deadline_restrict_is_the_default_view(world):
    assert names(Deadline.objects.restrict(world.county, "view")) == {"xiuwu"}
    assert names(Deadline.objects.restrict(world.other_staff)) == {"other"}


def test_user_predicates(world):
    assert is_department_member(world.staff) and is_department_member(world.head)
    assert not is_department_member(world.reviewer) and not is_department_member(None)
    assert is_head_of(world.head, world.dept.pk) and not is_head_of(world.staff, world.dept.pk)
    assert not is_head_of(world.head, world.other_staff.department_id)
    assert county_region_id(world.county) == region("410821").pk
    assert county_region_id(world.staff) is None
