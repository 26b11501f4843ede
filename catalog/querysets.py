"""`.restrict(user, action)` for the catalog's tables, on the kernel's `RestrictedQuerySet` (404 outside the scope).

Actions on entries:
- "view": every signed-in user with a role sees the published catalog (it is what sharing requests are
  made against); unpublished entries only within the role scope (own department / own region / city).
  A signed API client reads the published catalog only.
- "change": file, edit, submit, delete — data staff or head of the provider department.
- "signoff": the provider department's head (role 部门主要负责人 or the department's recorded head).
- "county_review": the county bureau of the provider's region, for county departments only.
- "bureau_review": a bureau reviewer, city-wide.
"""

from __future__ import annotations

from django.db.models import Q

from portal.choices import Role
from portal.permissions import is_api_client, is_department_member
from portal.querysets import RestrictedQuerySet

from .choices import EntryState, UpdateCaseState


class CatalogEntryQuerySet(RestrictedQuerySet):
    scope_paths = ("provider",)
    admits_api_clients = True

    def restrict_view(self, user):
        if is_api_client(user):
            return self.published()  # a signed API client reads the published catalog
        return self.in_scope(user, *self.scope_paths, also=Q(state=EntryState.APPROVED))

    def restrict_change(self, user):
        return self.of_own_department(user, "provider")

    def restrict_signoff(self, user):
        return self.headed_by(user, "provider")

    def restrict_county_review(self, user):
        return self.in_county_region(user, "provider")

    def restrict_bureau_review(self, user):
        return self.for_roles(user, Role.BUREAU_REVIEWER)

    def published(self):
        return self.filter(state=EntryState.APPROVED)


class DemandItemQuerySet(RestrictedQuerySet):
    """view: own scope, plus demands addressed to the user's department; change: own department's staff."""

    def restrict_view(self, user):
        addressed = None
        if is_department_member(user):
            addressed = Q(provider_id=user.department_id) & ~Q(state="draft")
        return self.in_scope(user, "department", also=addressed)

    def restrict_change(self, user):
        return self.of_own_department(user)

    def restrict_review(self, user):
        return self.for_roles(user, Role.BUREAU_REVIEWER)


class ResponsibilityItemQuerySet(RestrictedQuerySet):
    """view (the only action): the role scope over the responsible department."""

    def current(self):
        return self.filter(retired_on__isnull=True)


class UpdateCaseQuerySet(RestrictedQuerySet):
    def restrict_change(self, user):
        return self.of_own_department(user)

    def restrict_review(self, user):
        return self.for_roles(user, Role.BUREAU_REVIEWER)

    def running(self):
        return self.filter(state__in=[UpdateCaseState.DRAFT, UpdateCaseState.SUBMITTED, UpdateCaseState.RETURNED])
