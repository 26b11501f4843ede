"""The one read policy of shared data (R19, R25): which items a department may read, under which grant.

Every data call (pull, online query, bulk download, push subscription) asks `read_permission` at the
moment of the read; nothing caches a yes. Status codes, decided once here:

- the entry is not published (draft, under review, 涉密, unknown) → 404 `not_found`: a resource the
  caller may not see at all answers 404 (SPEC §9.2);
- the entry is published — every department sees it in the shared catalog — but the call is outside
  a grant → 403 `no_grant` (no grant, revoked grant, grant not yet valid, an item or an exchange
  method the grant does not cover) or 403 `grant_expired` (the department's grant for it has run out
  and no other grant covers the call);
- the entry does not offer the exchange method at all → 403 `method_not_offered`;
- an item name the entry does not have → 400 `invalid`.

A data call reads everything the policy looks at in ONE statement (sharing.data_api.facts.entry_for_read: the entry
with its provider, classification and dataset, the declared items and the calling department's grants) and passes the
items and grants on as `ReadFacts`; they are read afresh by every call, so a grant revoked or run out is refused by the
next call.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from catalog.choices import EntryState, ExchangeMethod, ShareType
from catalog.models import CatalogEntry
from portal.errors import NotFound, PortalError
from portal.models import Department
from security.signing.principal import audit_actor

from .choices import GrantState
from .models import Grant

# A refusal naming unknown items shows at most this many, each cut to this length (an item name is ≤ 100 characters).
MAX_NAMES_SHOWN = 20
MAX_NAME_SHOWN = 100


class NoGrant(PortalError):
    code = "no_grant"
    status = 403
    default_detail = gettext_lazy("没有覆盖此次调用的有效授权，请先提交共享申请")


class GrantExpired(PortalError):
    code = "grant_expired"
    status = 403
    default_detail = gettext_lazy("授权已过期，请重新提交共享申请")


class MethodNotOffered(PortalError):
    code = "method_not_offered"
    status = 403
    default_detail = gettext_lazy("该资源不提供此共享方式")


@dataclass(frozen=True)
class Permission:
    """The answer: readable `items` (entry order) and the grant they are read under (None: no grant needed)."""

    entry: CatalogEntry
    department: Department
    method: str
    items: tuple[str, ...]
    grant: Grant | None
    basis: str  # "provider" (own data), "unconditional" (R19.1/R19.2), or "grant"

    @property
    def unconditional(self) -> bool:
        return self.grant is None

    @property
    def purpose(self) -> str:
        return self.grant.purpose if self.grant else ""


@dataclass(frozen=True)
class ReadFacts:
    """The rest of read_permission's input, read in the statement that read the entry (`entry_for_read`).

    `declared`: (name, is_base_item, data_type) of every item in position order; `grants`: the department's grants
    on the entry, latest end first (the rows as they are at the moment of the call: nothing here is cached).
    """

    entry_id: int
    department_id: int | None
    declared: tuple[tuple[str, bool, str], ...]
    grants: tuple[Grant, ...]

    def applies(self, entry: CatalogEntry, department: Department) -> bool:
        return self.entry_id == entry.pk and self.department_id is not None and self.department_id == department.pk


# ---------------------------------------------------------------------------------------- the policy


def _local_day(at: dt.datetime | None) -> dt.date:
    return timezone.localdate(at) if at is not None else timezone.localdate()


def read_permission(
    *,
    department: Department,
    entry: CatalogEntry,
    items: list[str] | None,
    method: str,
    at: dt.datetime | None = None,
    facts: ReadFacts | None = None,
) -> Permission:
    """Which of `items` (None: all the department may read) `department` may read from `entry` by `method` at `at`.

    Raises NotFound (404) for an unpublished entry, PortalError `invalid` for unknown items or method,
    MethodNotOffered, NoGrant and GrantExpired (403) for calls outside a grant. Base data items are
    always readable (R19.2); unconditional entries are readable whole without a request (R19.1).
    `facts`: the items and grants as `entry_for_read` read them with the entry (otherwise they are queried here).
    """
    if entry.state != EntryState.APPROVED or entry.is_secret:
        raise NotFound()
    if method not in ExchangeMethod.values:
        raise PortalError(_("未知的共享方式"), code="invalid", errors={"method": [_("未知的共享方式")]})
    if facts is not None and not facts.applies(entry, department):
        facts = None
    if facts is not None:
        declared = [(name, base) for name, base, _type in facts.declared]
    else:
        declared = list(entry.items.order_by("position").values_list("name", "is_base_item"))
    all_names = [name for name, _base in declared]
    if items is not None:
        if not items:
            raise PortalError(_("请指定信息项"), code="invalid", errors={"items": [_("请指定信息项")]})
        unknown = [name for name in items if name not in all_names]
        if unknown:
            # Named as sent, cut short: the names may be the attack itself (10 000 characters), echoed and audited.
            shown = [name[:MAX_NAME_SHOWN] for name in unknown[:MAX_NAMES_SHOWN]]
            raise PortalError(
                _("信息项不存在：%(items)s") % {"items": "、".join(shown)},
                code="invalid",
                errors={"items": shown},
            )
    wanted = all_names if items is None else [name for name in all_names if name in set(items)]

    if department.pk == entry.provider_id:
        # The provider reads (and pushes) its own resource whole, by any method.
        return Permission(entry, department, method, tuple(wanted), None, "provider")
    if method not in entry.exchange_methods:
        raise MethodNotOffered()
    if entry.share_type == ShareType.UNCONDITIONAL:
        return Permission(entry, department, method, tuple(wanted), None, "unconditional")

    base = {name for name, is_base in declared if is_base}
    needs_grant = [name for name in wanted if name not in base]
    if not needs_grant:
        return Permission(entry, department, method, tuple(wanted), None, "unconditional")

    day = _local_day(at)
    if facts is not None:
        grants = list(facts.grants)
    else:
        grants = list(Grant.objects.filter(consumer=department, entry=entry).order_by("-valid_to", "-id"))
    valid = [g for g in grants if g.is_valid_on(day) and method in g.methods]
    if items is None:
        # Default projection: the base items plus what the widest valid grant covers.
        if valid:
            grant = max(valid, key=lambda g: (len(set(g.items) - base), g.valid_to, g.pk))
            covered = set(grant.items) | base
            return Permission(
                entry, department, method, tuple(n for n in wanted if n in covered), grant, "grant"
            )
        if base and not any(_expired(g, day) for g in grants):
            return Permission(entry, department, method, tuple(n for n in wanted if n in base), None, "unconditional")
        _refuse(grants, day, method, needs_grant)
    for grant in valid:
        if set(needs_grant) <= set(grant.items):
            return Permission(entry, department, method, tuple(wanted), grant, "grant")
    _refuse(grants, day, method, needs_grant)
    raise AssertionError("unreachable")  # pragma: no cover


def _expired(grant: Grant, day: dt.date) -> bool:
    return grant.state == GrantState.EXPIRED or (grant.state == GrantState.ACTIVE and grant.valid_to < day)


def _refuse(grants: list[Grant], day: dt.date, method: str, needs_grant: list[str]) -> None:
    """Raise the most useful refusal: expired when the only thing missing is time, otherwise no grant."""
    live = [g for g in grants if g.is_valid_on(day)]
    if live:
        if not any(method in g.methods for g in live):
            raise NoGrant(_("授权不包含此共享方式"), errors={"method": [method]})
        outside = sorted(set(needs_grant) - set().union(*(set(g.items) for g in live if method in g.methods)))
        raise NoGrant(
            _("以下信息项不在授权范围内：%(items)s") % {"items": "、".join(outside or needs_grant)},
            errors={"items": outside or needs_grant},
        )
    if any(_expired(g, day) for g in grants):
        raise GrantExpired()
    raise NoGrant()


def authorize_read(
    *,
    user,
    entry: CatalogEntry,
    items: list[str] | None,
    method: str,
    purpose: str = "",
    at: dt.datetime | None = None,
    facts: ReadFacts | None = None,
) -> Permission:
    """read_permission for the caller of a data call (a person or an API client), auditing every refusal.

    A refused call (not_found, invalid, method_not_offered, no_grant, grant_expired) writes one
    `sharing.data.refused` event (result "denied") naming the caller, the entry, the method, the items
    and the stated purpose (R25.1: calls outside a grant are refused and logged), then re-raises.
    The successful call is audited by the data endpoint itself, with what it returned.
    """
    from portal import audit
    from portal.choices import AuditResult

    department = getattr(user, "department", None)
    try:
        if department is None:
            raise NoGrant(_("调用者不属于任何部门"))
        return read_permission(department=department, entry=entry, items=items, method=method, at=at, facts=facts)
    except PortalError as exc:
        audit.record(
            **audit_actor(user),
            action="sharing.data.refused",
            obj=entry,
            result=AuditResult.DENIED,
            data={"code": exc.code, "method": method, "items": items, "purpose": purpose[:200],
                  "errors": {k: [str(m) for m in v] for k, v in (exc.errors or {}).items()}},
        )
        raise
