"""Role scope as queryset filters, shared by every app's `.restrict(user, action)`.

A department-scoped role sees its own department's things, a region-scoped role its region's, a
city-scoped role everything. Objects outside the scope answer 404, not 403 (SPEC §9.2).
"""

from __future__ import annotations

from django.db.models import Q
from django.utils.translation import gettext as _

from portal.choices import ROLE_SCOPE, STAFF_ROLES, Role, Scope
from portal.errors import NotFound, PermissionDenied

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


def is_api_client(user) -> bool:
    """A signed API client's principal (security.signing.ClientPrincipal): authenticated, no roles, reads only."""
    return getattr(user, "api_client", None) is not None


def signed_in(user, *, clients: bool = False) -> bool:
    """A person holding a role; with `clients`, also a signed API client (which holds none)."""
    if user is None or not user.is_authenticated:
        return False
    return bool(user.role_set) or (clients and is_api_client(user))


def is_department_member(user) -> bool:
    """Data staff or head of some department: the people who provide and consume data for it."""
    return signed_in(user) and bool(user.department_id) and user.has_role(*STAFF_ROLES)


def is_staff_of(user, department_id) -> bool:
    """Data staff or head of that department: who files, changes and answers for it."""
    return is_department_member(user) and user.department_id == department_id


def is_head_of(user, department_id) -> bool:
    """The head of a department: holds 部门主要负责人 there, or is its recorded head."""
    if not signed_in(user) or not department_id or user.department_id != department_id:
        return False
    return user.has_role(Role.DEPT_HEAD) or user.department.head_id == user.pk


def county_region_id(user) -> int | None:
    """The county-level region a county bureau user oversees (None for anyone else, and for a city-level post)."""
    if not signed_in(user) or not user.has_role(Role.COUNTY_BUREAU) or not user.department_id:
        return None
    region = user.department.region
    return None if region.is_city else region.pk


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


def int_or_none(value) -> int | None:
    """An id from a URL, form or query string, or None when it is not an integer."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def access_by_id(model, user, obj_id, action: str, *, for_update: bool = False, select_related=(),
                 hidden_actions=("view",), denied=None):
    """The object of `model` with id `obj_id` if `model.objects.restrict(user, action)` holds it.

    Raises NotFound when the user cannot see it at all, or when `action` is one of `hidden_actions`
    (to anyone else the object might as well not exist); PermissionDenied for an action on an object
    the user can see but may not act on (a workflow step that is not theirs), with the message `denied` if given.
    """
    pk = int_or_none(obj_id)
    if pk is None:
        raise NotFound()
    qs = model.objects.restrict(user, action).filter(pk=pk).select_related(*select_related)
    if for_update:
        qs = qs.select_for_update(of=("self",))
    obj = qs.first()
    if obj is not None:
        return obj
    if action not in hidden_actions and model.objects.restrict(user, "view").filter(pk=pk).exists():
        raise PermissionDenied(denied if denied is not None else _("您无权对该对象执行此操作"))
    raise NotFound()
