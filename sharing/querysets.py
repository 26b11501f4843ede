"""`.restrict(user, action)` for the sharing tables: role scope as queryset filters (404 outside it).

Sharing requests and grants are seen by both sides: the consumer department's scope and the provider
department's scope (own department / own region / the whole city for bureau roles). Actions:
- request "change" (withdraw): data staff or head of the consumer department;
- request "comment": data staff or head of the provider department;
- request "review": bureau reviewers (the service refuses their own department's requests);
- grant "revoke": the provider department's staff or head, or a bureau reviewer.
API clients are managed by security admins only. Push subscriptions: seen in the consumer's scope, changed by the
consumer department's staff or head.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from portal.choices import Role
from portal.permissions import department_scope_q

STAFF_ROLES = (Role.DEPT_STAFF, Role.DEPT_HEAD)


def _signed_in(user) -> bool:
    return user is not None and user.is_authenticated and bool(user.role_set)


def _own_staff_q(user, path: str) -> Q | None:
    if user.has_role(*STAFF_ROLES) and user.department_id:
        return Q(**{f"{path}_id": user.department_id})
    return None


class SharingRequestQuerySet(models.QuerySet):
    def restrict(self, user, action: str = "view"):
        if not _signed_in(user):
            return self.none()
        if action == "view":
            return self.filter(department_scope_q(user, "consumer") | department_scope_q(user, "entry__provider"))
        if action == "change":
            q = _own_staff_q(user, "consumer")
            return self.filter(q) if q is not None else self.none()
        if action == "comment":
            q = _own_staff_q(user, "entry__provider")
            return self.filter(q) if q is not None else self.none()
        if action == "review":
            return self.all() if user.has_role(Role.BUREAU_REVIEWER) else self.none()
        raise ValueError(f"unknown action {action!r}")


class GrantQuerySet(models.QuerySet):
    def restrict(self, user, action: str = "view"):
        if getattr(user, "api_client", None) is not None:
            # A machine client sees its own department's grants and can change nothing.
            return self.filter(consumer_id=user.department_id) if action == "view" else self.none()
        if not _signed_in(user):
            return self.none()
        if action == "view":
            return self.filter(department_scope_q(user, "consumer") | department_scope_q(user, "entry__provider"))
        if action == "revoke":
            if user.has_role(Role.BUREAU_REVIEWER):
                return self.all()
            q = _own_staff_q(user, "entry__provider")
            return self.filter(q) if q is not None else self.none()
        raise ValueError(f"unknown action {action!r}")


class ApiClientQuerySet(models.QuerySet):
    def restrict(self, user, action: str = "view"):
        if _signed_in(user) and user.has_role(Role.SECURITY_ADMIN):
            return self.all()
        return self.none()


class PushSubscriptionQuerySet(models.QuerySet):
    def restrict(self, user, action: str = "view"):
        """view: the consumer's scope (own department / region / city); change: the consumer's staff or head."""
        if not _signed_in(user):
            return self.none()
        if action == "view":
            return self.filter(department_scope_q(user, "consumer"))
        if action == "change":
            q = _own_staff_q(user, "consumer")
            return self.filter(q) if q is not None else self.none()
        raise ValueError(f"unknown action {action!r}")
