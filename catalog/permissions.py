"""Access helpers: load an object inside the caller's scope (404 outside it), then check the action (403).

The scope rules live in querysets.py (`.restrict(user, action)`); these helpers only combine them the way
every view, API action and service needs: invisible -> NotFound, visible but not allowed -> PermissionDenied.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from portal.choices import STAFF_ROLES, Role
from portal.errors import NotFound, PermissionDenied
from portal.permissions import access_by_id, county_region_id, is_head_of, is_staff_of

from .models import CatalogEntry, CatalogUpdateCase, DemandItem


def _access(model, user, obj_id, action: str, *, for_update: bool, select_related=()):
    # Changing is the owning department's business: to anyone else the object might as well not exist.
    # A workflow step (sign-off, review) by someone who can see the object is a plain "not yours".
    return access_by_id(model, user, obj_id, action, for_update=for_update, select_related=select_related,
                        hidden_actions=("view", "change"))


def access_entry_by_id(user, entry_id, *, action: str = "view", for_update: bool = False) -> CatalogEntry:
    """The entry if `user` may `action` it.

    NotFound outside the view scope and for "change" by anyone but the provider's staff; PermissionDenied
    for a workflow step (signoff / county_review / bureau_review) the user may see but not take.
    """
    return _access(
        CatalogEntry,
        user,
        entry_id,
        action,
        for_update=for_update,
        select_related=("provider__region", "classification"),
    )


def access_entry_by_resource(user, resource: str, *, action: str = "view") -> CatalogEntry:
    """The entry by its URL-safe resource code (SPEC §9.2 `{resource}`), or by id for one not yet coded."""
    resource = (resource or "").strip()
    if resource.isdigit():
        return access_entry_by_id(user, resource, action=action)
    entry = (
        CatalogEntry.objects.restrict(user, "view")
        .select_related("provider__region", "classification")
        .filter(code=resource.replace("-", "/", 1))
        .first()
    )
    if entry is None:
        raise NotFound()
    if action != "view":
        return access_entry_by_id(user, entry.pk, action=action)
    return entry


def access_demand_by_id(user, demand_id, *, action: str = "view", for_update: bool = False) -> DemandItem:
    return _access(
        DemandItem, user, demand_id, action, for_update=for_update, select_related=("department", "provider")
    )


def access_update_case_by_id(user, case_id, *, action: str = "view", for_update: bool = False) -> CatalogUpdateCase:
    return _access(
        CatalogUpdateCase,
        user,
        case_id,
        action,
        for_update=for_update,
        select_related=("entry__provider__region", "entry__classification", "department"),
    )


def require_department_staff(actor, department) -> None:
    """Only the data staff or head of `department` files for it: PermissionDenied for other roles, NotFound
    for another department (its lists might as well not exist)."""
    if not (actor.is_authenticated and actor.has_role(*STAFF_ROLES)):
        raise PermissionDenied(_("只有部门数据专员或负责人可以填报目录"))
    if department is None or actor.department_id != department.pk:
        raise NotFound()


def entry_actions(user, entry: CatalogEntry) -> set[str]:
    """Which transitions `user` may start on `entry` now (drives the buttons; services re-check)."""
    from .choices import EDITABLE_STATES, EntryState

    actions: set[str] = set()
    if not user.is_authenticated:
        return actions
    own = is_staff_of(user, entry.provider_id)
    if own and entry.state in EDITABLE_STATES:
        actions |= {"edit", "submit"}
        if entry.version == 0:
            actions.add("delete")
    if entry.state == EntryState.SIGNOFF and is_head_of(user, entry.provider_id):
        actions |= {"sign_off", "return"}
    if entry.state == EntryState.COUNTY_REVIEW and county_region_id(user) == entry.provider.region_id:
        actions |= {"county_pass", "return"}
    if entry.state == EntryState.BUREAU_REVIEW and user.has_role(Role.BUREAU_REVIEWER):
        actions |= {"approve", "return"}
    if own and entry.state == EntryState.APPROVED:
        actions.add("update_case")
    return actions
