"""`RestrictedQuerySet`: the one base of every permission-relevant queryset (as NetBox's `utilities/querysets.py`).

`Model.objects.restrict(user, action)` answers the rows `user` may `action`; a row outside it is a 404, never a 403
(SPEC §9.2). The base does what every app's queryset used to repeat:

- nobody who is not signed in (a person holding a role; a signed API client too where the queryset admits them)
  gets anything;
- the action picks the method `restrict_<action>(user)`; an action the queryset does not define is a programming
  error (ValueError), not an empty answer;
- "view" defaults to the role scope over `scope_paths` (own department / own region / the whole city).

The scope helpers below are what the action methods are written with; each returns a queryset, so they chain:

    class GrantQuerySet(RestrictedQuerySet):
        scope_paths = ("consumer", "entry__provider")      # view: either side's scope

        def restrict_revoke(self, user):
            if user.has_role(Role.BUREAU_REVIEWER):
                return self.all()
            return self.of_own_department(user, "entry__provider")
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import models
from django.db.models import Q

from portal.choices import STAFF_ROLES
from portal.permissions import NOTHING, county_region_id, department_scope_q, is_head_of, signed_in


class RestrictedQuerySet(models.QuerySet):
    """A queryset with `.restrict(user, action)`; subclasses add `restrict_<action>(user)` methods."""

    #: Department relations whose role scope the default "view" rule reads (any of them lets the user see the row).
    scope_paths: tuple[str, ...] = ("department",)
    #: Whether a signed API client (no roles, reads only) reaches the action methods at all.
    admits_api_clients: bool = False

    def restrict(self, user, action: str = "view"):
        """The rows `user` may `action`: nothing when not signed in; else `restrict_<action>(user)`."""
        rule = getattr(self, f"restrict_{action}", None)
        if rule is None:
            raise ValueError(f"unknown action {action!r} for {self.model._meta.label}")
        if not signed_in(user, clients=self.admits_api_clients):
            return self.none()
        return rule(user)

    def restrict_view(self, user):
        """Default "view": the role scope over any of `scope_paths`."""
        return self.in_scope(user, *self.scope_paths)

    # ---------------------------------------------------------------- scope helpers

    def in_scope(self, user, *paths: str, also: Q | None = None):
        """Rows whose department at any of `paths` lies in the user's role scope, or that match `also`.

        A city-wide role sees every row. (Written here once because `Q() | Q(x)` is `Q(x)`: OR-ing the city's
        empty Q with anything would silently narrow the whole city to the other condition.)
        """
        q = NOTHING
        for path in paths or ("department",):
            scope = department_scope_q(user, path)
            if not scope:  # Q(): the whole city
                return self.all()
            q |= scope
        if also is not None:
            q |= also
        return self.filter(q)

    def of_own_department(self, user, path: str = "department", *, roles: Iterable[str] = STAFF_ROLES):
        """Rows of the user's own department at `path`, for a holder of one of `roles` (data staff or head)."""
        if not user.department_id or not user.has_role(*roles):
            return self.none()
        return self.filter(**{f"{path}_id": user.department_id})

    def headed_by(self, user, path: str = "department"):
        """Rows of the department the user heads (holds 部门主要负责人 there, or is its recorded head)."""
        if not is_head_of(user, user.department_id):
            return self.none()
        return self.filter(**{f"{path}_id": user.department_id})

    def in_county_region(self, user, path: str = "department"):
        """Rows whose department at `path` lies in the county-level region a county bureau user oversees."""
        region_id = county_region_id(user)
        return self.filter(**{f"{path}__region_id": region_id}) if region_id else self.none()

    def for_roles(self, user, *roles: str):
        """Every row for a holder of one of `roles` (e.g. the city-wide reviewer), none for anyone else."""
        return self.all() if user.has_role(*roles) else self.none()
