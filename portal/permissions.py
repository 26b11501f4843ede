"""Role scope as queryset filters, shared by every app's `.restrict(user, action)`.

A department-scoped role sees its own department's things, a region-scoped role its region's, a
city-scoped role everything. Objects outside the scope answer 404, not 403 (SPEC §9.2).
"""

from __future__ import annotations

from django.db.models import Q

from portal.choices import ROLE_SCOPE, Role, Scope

NOTHING = Q(pk__in=[])


def department_scope_q(user, path: str = "department") -> Q:
    """A Q over `path` (a Department relation) for what the user's roles may see."""
    if user is None or not user.is_authenticated:
        return NOTHING
    scopes = {ROLE_SCOPE[Role(r)] for r in user.role_set}
    if Scope.CITY in scopes:
        return Q()
    q = NOTHING
    if Scope.REGION in scopes and user.department_id:
        q |= Q(**{f"{path}__region_id": user.department.region_id})
    if Scope.DEPARTMENT in scopes and user.department_id:
        q |= Q(**{f"{path}_id": user.department_id})
    return q


def sees_department(user, department) -> bool:
    """Whether the department is inside the user's role scope (same rule as department_scope_q)."""
    if user is None or not user.is_authenticated or department is None:
        return False
    scopes = {ROLE_SCOPE[Role(r)] for r in user.role_set}
    if Scope.CITY in scopes:
        return True
    if Scope.REGION in scopes and user.department_id and user.department.region_id == department.region_id:
        return True
    return Scope.DEPARTMENT in scopes and user.department_id == department.pk
