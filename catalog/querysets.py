"""`.restrict(user, action)` for the catalog's tables: role scope as queryset filters (404 outside it).

Actions on entries:
- "view": every signed-in user with a role sees the published catalog (it is what sharing requests are
  made against); unpublished entries only within the role scope (own department / own region / city).
- "change": file, edit, submit, delete — data staff or head of the provider department.
- "signoff": the provider department's head (role 部门主要负责人 or the department's recorded head).
- "county_review": the county bureau of the provider's region, for county departments only.
- "bureau_review": a bureau reviewer, city-wide.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from portal.choices import Role
from portal.permissions import NOTHING, department_scope_q

from .choices import EntryState, UpdateCaseState

STAFF_ROLES = (Role.DEPT_STAFF, Role.DEPT_HEAD)


def _signed_in(user) -> bool:
    """A person holding a role, or a signed API client (which holds none and only reads)."""
    if user is None or not user.is_authenticated:
        return False
    return bool(user.role_set) or getattr(user, "api_client", None) is not None


def is_head_of(user, department_id) -> bool:
    """The head of a department: holds 部门主要负责人 there, or is its recorded head."""
    if not _signed_in(user) or user.department_id != department_id:
        return False
    return user.has_role(Role.DEPT_HEAD) or user.department.head_id == user.pk


def county_region_id(user) -> int | None:
    """The county-level region a county bureau user pre-reviews for (None when not one)."""
    if not _signed_in(user) or not user.has_role(Role.COUNTY_BUREAU) or not user.department_id:
        return None
    region = user.department.region
    return None if region.is_city else region.pk


class CatalogEntryQuerySet(models.QuerySet):
    def restrict(self, user, action: str = "view"):
        if not _signed_in(user):
            return self.none()
        if action == "view":
            if getattr(user, "api_client", None) is not None:
                return self.filter(state=EntryState.APPROVED)  # a signed API client reads the published catalog
            scope = department_scope_q(user, "provider")
            if not scope:  # Q(): the whole city (and `Q(...) | Q()` would silently drop the Q())
                return self.all()
            return self.filter(Q(state=EntryState.APPROVED) | scope)
        if action == "change":
            if not user.has_role(*STAFF_ROLES) or not user.department_id:
                return self.none()
            return self.filter(provider_id=user.department_id)
        if action == "signoff":
            if not is_head_of(user, user.department_id):
                return self.none()
            return self.filter(provider_id=user.department_id)
        if action == "county_review":
            region_id = county_region_id(user)
            return self.filter(provider__region_id=region_id) if region_id else self.none()
        if action == "bureau_review":
            return self.all() if user.has_role(Role.BUREAU_REVIEWER) else self.none()
        raise ValueError(f"unknown action {action!r}")

    def published(self):
        return self.filter(state=EntryState.APPROVED)


class DemandItemQuerySet(models.QuerySet):
    def restrict(self, user, action: str = "view"):
        """view: own scope, plus demands addressed to the user's department; change: own department's staff."""
        if not _signed_in(user):
            return self.none()
        if action == "view":
            q = department_scope_q(user, "department")
            if not q:  # the whole city
                return self.all()
            if user.department_id and user.has_role(*STAFF_ROLES):
                q |= Q(provider_id=user.department_id) & ~Q(state="draft")
            return self.filter(q)
        if action == "change":
            if not user.has_role(*STAFF_ROLES) or not user.department_id:
                return self.none()
            return self.filter(department_id=user.department_id)
        if action == "review":
            return self.all() if user.has_role(Role.BUREAU_REVIEWER) else self.none()
        raise ValueError(f"unknown action {action!r}")


class ResponsibilityItemQuerySet(models.QuerySet):
    def restrict(self, user, action: str = "view"):
        if not _signed_in(user):
            return self.none()
        return self.filter(department_scope_q(user, "department"))

    def current(self):
        return self.filter(retired_on__isnull=True)


class UpdateCaseQuerySet(models.QuerySet):
    def restrict(self, user, action: str = "view"):
        if not _signed_in(user):
            return self.none()
        if action == "view":
            return self.filter(department_scope_q(user, "department"))
        if action == "change":
            if not user.has_role(*STAFF_ROLES) or not user.department_id:
                return self.none()
            return self.filter(department_id=user.department_id)
        if action == "review":
            return self.all() if user.has_role(Role.BUREAU_REVIEWER) else self.none()
        raise ValueError(f"unknown action {action!r}")

    def running(self):
        return self.filter(state__in=[UpdateCaseState.DRAFT, UpdateCaseState.SUBMITTED, UpdateCaseState.RETURNED])


__all__ = ["NOTHING", "CatalogEntryQuerySet", "DemandItemQuerySet", "ResponsibilityItemQuerySet", "UpdateCaseQuerySet"]
