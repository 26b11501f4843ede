"""Demand lists (R8.1) and the duplicate-collection guard (R17.1): what departments need, matched to the catalog."""

from __future__ import annotations

import re
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from portal import audit
from portal.choices import Role
from portal.errors import InvalidTransition, PermissionDenied, PortalError
from portal.models import Department, User
from portal.permissions import is_staff_of
from portal.services.notifications import department_recipients, notify

from .. import search
from ..choices import DemandState
from ..models import CatalogEntry, DemandItem
from ..permissions import access_demand_by_id, require_department_staff
from ..selectors.demands import matching_entries
from ..validation import clean_text, item_key, raise_problems

DEMAND_FIELDS = ("needed_data", "item_names", "purpose", "legal_basis", "provider")


def demand_problems(values: dict[str, Any], department: Department) -> dict[str, list[str]]:
    """What is wrong with one demand item (pure)."""
    problems: dict[str, list[str]] = {}
    for name, label in (("needed_data", _("所需数据")), ("purpose", _("用途")), ("legal_basis", _("依据"))):
        if not clean_text(values.get(name)):
            problems[name] = [_("请填写%(field)s") % {"field": label}]
    if len(clean_text(values.get("needed_data"))) > 200:
        problems["needed_data"] = [_("不能超过 200 个字")]
    provider = values.get("provider")
    if provider is not None and getattr(provider, "pk", provider) == department.pk:
        problems["provider"] = [_("本部门的数据无需列入需求清单")]
    return problems


def _provider(value) -> Department | None:
    if value in (None, ""):
        return None
    if isinstance(value, Department):
        return value
    return Department.objects.filter(pk=int(value)).first()


def demand_item_save(
    *, actor: User, department: Department, values: dict[str, Any], demand: DemandItem | None = None
) -> DemandItem:
    """Create or change a draft line of the department's demand list, and match it against the catalog.

    Raises NotFound, PermissionDenied, InvalidTransition, PortalError ("invalid").
    Audits catalog.demand.created / catalog.demand.updated. No clocks.
    """
    require_department_staff(actor, department)
    raise_problems(demand_problems(values, department))
    names = values.get("item_names") or []
    if isinstance(names, str):
        names = re.split(r"[,，、;；\s]+", names)
    fields = {
        "needed_data": clean_text(values.get("needed_data")),
        "item_names": list(dict.fromkeys(clean_text(n) for n in names if clean_text(n))),
        "purpose": clean_text(values.get("purpose")),
        "legal_basis": clean_text(values.get("legal_basis")),
        "provider": _provider(values.get("provider")),
    }
    with transaction.atomic():
        creating = demand is None
        if creating:
            demand = DemandItem(department=department, created_by=actor)
        else:
            demand = access_demand_by_id(actor, demand.pk, action="change", for_update=True)
            if demand.state != DemandState.DRAFT:
                raise InvalidTransition(_("已提交的需求不能修改"), code="not_editable")
        for name, value in fields.items():
            setattr(demand, name, value)
        demand.save()
        matches = demand_match(demand)
        audit.record(
            actor=actor,
            action="catalog.demand.created" if creating else "catalog.demand.updated",
            obj=demand,
            data={"needed_data": demand.needed_data, "provider": demand.provider_id, "matches": matches},
        )
    return demand


def demand_item_submit(*, actor: User, demand_id: int) -> DemandItem:
    """Submit a draft demand to the bureau (R8.1); unmatched demands appear on the bureau's gap list.

    Raises NotFound, PermissionDenied, InvalidTransition. Audits catalog.demand.submitted. No clocks.
    """
    with transaction.atomic():
        demand = access_demand_by_id(actor, demand_id, action="change", for_update=True)
        if demand.state != DemandState.DRAFT:
            raise InvalidTransition(_("只有草稿状态的需求可以提交"))
        demand.state = DemandState.SUBMITTED
        demand.submitted_at = timezone.now()
        demand.save(update_fields=["state", "submitted_at", "updated_at"])
        matches = demand_match(demand)
        audit.record(
            actor=actor,
            action="catalog.demand.submitted",
            obj=demand,
            data={"matches": matches, "provider": demand.provider_id},
        )
        if demand.provider_id:
            notify(
                recipients=department_recipients(demand.provider, Role.DEPT_STAFF),
                title=_("%(dept)s提出数据需求：%(data)s")
                % {"dept": demand.department.name, "data": demand.needed_data},
                url=demand.get_absolute_url(),
            )
    return demand


def demand_item_close(*, actor: User, demand_id: int, note: str) -> DemandItem:
    """Close a submitted demand (met by a sharing request, newly catalogued, or dropped), with a note.

    The requesting department or a bureau reviewer may close. Raises NotFound, PermissionDenied,
    InvalidTransition, PortalError ("comment_required"). Audits catalog.demand.closed. No clocks.
    """
    note = clean_text(note)
    if not note:
        raise PortalError(_("请填写办结说明"), code="comment_required", errors={"note": [_("请填写办结说明")]})
    with transaction.atomic():
        demand = access_demand_by_id(actor, demand_id, action="view", for_update=True)
        own = is_staff_of(actor, demand.department_id)
        if not (own or actor.has_role(Role.BUREAU_REVIEWER)):
            raise PermissionDenied()
        if demand.state != DemandState.SUBMITTED:
            raise InvalidTransition(_("只有已提交的需求可以办结"))
        demand.state = DemandState.CLOSED
        demand.close_note = note[:500]
        demand.save(update_fields=["state", "close_note", "updated_at"])
        audit.record(actor=actor, action="catalog.demand.closed", obj=demand, data={"note": demand.close_note})
    return demand


def demand_item_delete(*, actor: User, demand_id: int) -> None:
    """Delete a draft demand. Raises NotFound, PermissionDenied, InvalidTransition. Audits catalog.demand.deleted."""
    with transaction.atomic():
        demand = access_demand_by_id(actor, demand_id, action="change", for_update=True)
        if demand.state != DemandState.DRAFT:
            raise InvalidTransition(_("只能删除草稿状态的需求"))
        audit.record(actor=actor, action="catalog.demand.deleted", obj=demand, data={"needed_data": demand.needed_data})
        demand.delete()


def demand_match(demand: DemandItem) -> list[int]:
    """Store which published entries of other departments can meet the demand; returns their ids.

    An entry matches when one of its data items has a demanded item's name, or when its name, summary
    or item names contain the demanded data (the catalog search). At most 10, best first.
    """
    ids = [
        e.pk
        for e in matching_entries(
            department=demand.department, text=demand.needed_data, item_names=demand.item_names, limit=10
        )
    ]
    demand.matches.set(ids)
    DemandItem.objects.filter(pk=demand.pk).update(matched_at=timezone.now())
    return ids


def rematch_gaps(entry: CatalogEntry) -> int:
    """A newly published entry may close gaps: re-match submitted demands that had no source (others' only)."""
    gaps = DemandItem.objects.filter(state=DemandState.SUBMITTED, matches__isnull=True).exclude(
        department=entry.provider_id
    )
    keys = {item_key(n) for n in entry.items.values_list("name", flat=True)}
    found = 0
    for demand in gaps.select_related("department")[:500]:
        hit = bool(keys & {item_key(n) for n in demand.item_names})
        if not hit and search.query_literal(demand.needed_data):
            hit = search.search_entries(CatalogEntry.objects.filter(pk=entry.pk), demand.needed_data).exists()
        if hit:
            demand.matches.add(entry)
            found += 1
    return found

