"""The preparation of a data call (SPEC §9.2, R22.1, R25.1): pull, online query, bulk download.

One preparation (`prepare_call`) for every data call, so the three methods refuse and audit alike:

1. the resource by its code; an unknown or unpublished one answers 404 `not_found` (read_permission);
2. the grant policy, `sharing.policy.authorize_read`, asked for exactly the items the call touches —
   the projected items (`fields`, default: all the caller may read) and the items it filters on —
   so an item outside the grant answers 403 `no_grant` / `grant_expired` (audited there);
3. the caller's own input: `X-Purpose` (required), `limit` (1–5 000), `cursor`, `since`, filter values;
   every refusal here answers 400 `invalid` and writes one `sharing.data.refused` event.

A call that passes writes one `sharing.data.read` event: caller (person or API client), department, grant,
basis, purpose, resource, items, masked items, row count, method, cursor/since (filter names, never values) and, for a
lookup of one subject (online query, a pull filtered on the subject key item), the leak monitor's subject markers
(security.markers: keyed hashes, never the key).

The parameters are read by one serializer (sharing.data_api.params); reading and rendering the rows:
sharing.data_api.records; the cursor: sharing.data_api.cursor.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from aggregation import access
from aggregation.models import Dataset
from catalog.models import CatalogEntry
from portal import audit
from portal.api.params import path_text
from portal.choices import AuditResult
from portal.errors import NotFound, PortalError
from portal.permissions import signed_in
from portal.validators import safe_text
from security import markers
from security.signing.principal import audit_actor
from security.signing.scheme import purpose_of

from ..policy import NoGrant, Permission, ReadFacts, authorize_read
from .facts import entry_for_read
from .params import DEFAULT_LIMIT, DataCallParams

# --------------------------------------------------------------------------------------------- preparation


@dataclass
class DataCall:
    """A data call that passed the policy: what to read, how to show it, what to audit."""

    user: Any
    entry: CatalogEntry
    dataset: Dataset | None
    permission: Permission
    method: str
    purpose: str
    projection: list[str]
    filters: dict[str, str] = field(default_factory=dict)
    since: dt.datetime | None = None
    limit: int = DEFAULT_LIMIT
    cursor: tuple | None = None
    cursor_given: bool = False
    mask_kinds: dict[str, str] = field(default_factory=dict)
    encrypted: frozenset[str] = frozenset()
    # The subject key the call looked up (online query); a pull filtered on the key item names it in `filters`.
    subject_key: str | None = None

    @property
    def grant_id(self) -> int | None:
        return self.permission.grant.pk if self.permission.grant else None

    def audit_data(self, rows: int, **extra) -> dict:
        return {
            "resource": self.entry.code or str(self.entry.pk), "grant": self.grant_id,
            "basis": self.permission.basis, "purpose": self.purpose, "items": self.projection,
            "masked": sorted(self.mask_kinds), "rows": rows, "method": self.method,
            "cursor": self.cursor_given, "since": self.since.isoformat() if self.since else None,
            "filters": sorted(self.filters), **self.subject_markers(), **extra,
        }

    def subject_markers(self) -> dict:
        """The leak monitor's markers of the subject this call looked up (security.markers: the blind index and the
        enumeration marker, never the key), or {} when it looked up no one subject."""
        key = self.subject_key
        if key is None and self.dataset is not None and self.filters:
            key = self.filters.get(self.dataset.key_item_name)
        if not key:
            return {}
        return markers.subject_markers(key, self.dataset.key_kind if self.dataset is not None else None)

    def record_read(self, rows: int, *, result: str = AuditResult.SUCCESS, **extra) -> None:
        audit.record(**audit_actor(self.user), action="sharing.data.read", obj=self.entry, result=result,
                     data=self.audit_data(rows, **extra))


def find_entry(resource: str) -> CatalogEntry | None:
    """The entry by its URL-safe code (or id before it has one), whatever its state: the policy judges that."""
    return entry_and_facts(resource, department_id=None)[0]


def entry_and_facts(resource: str, *, department_id: int | None) -> tuple[CatalogEntry | None, ReadFacts | None]:
    """find_entry, and the ReadFacts of `department_id` on the entry, in ONE statement (entry_for_read): the entry
    with its provider, classification and dataset (every data call reads them), its declared items and the
    department's grants on it — the policy's whole input, read at the moment of the call. (None, None): no entry.
    """
    resource = (resource or "").strip()
    if resource.isdigit():
        try:
            pk = int(resource)
        except ValueError:  # digits int() does not read (e.g. "²")
            return None, None
        return entry_for_read(pk=pk, department_id=department_id)
    if not resource or len(resource) > 100:
        return None, None
    return entry_for_read(code=resource.replace("-", "/", 1), department_id=department_id)


def refuse(user, *, entry: CatalogEntry | None, resource: str, method: str, purpose: str, exc: PortalError,
           items=None) -> PortalError:
    """Audit a refusal found outside the grant policy (bad input, unknown resource); returns `exc` to raise."""
    resource = safe_text(resource, 100)  # as sent: it may be the refused value itself (a NUL, 10 000 characters)
    target = {"obj": entry} if entry is not None else {"object_type": "catalog.catalogentry",
                                                        "object_id": "", "object_repr": resource}
    audit.record(
        **audit_actor(user), action="sharing.data.refused", result=AuditResult.DENIED, **target,
        data={"code": exc.code, "method": method, "items": items, "purpose": purpose[:200],
              "resource": resource,
              "errors": {k: [str(m) for m in v] for k, v in (exc.errors or {}).items()}},
    )
    return exc


def _invalid(message: str, name: str) -> PortalError:
    return PortalError(message, code="invalid", errors={name: [message]})


def prepare_call(request, resource: str, *, method: str, params=None, paged: bool = False,
                 filters_allowed: bool = True, subject_key: str | None = None) -> DataCall:
    """Resolve, authorize (audited) and validate one data call; raises PortalError (already audited).

    The path's `resource` and `subject_key` are checked first (portal.api.params.path_text: 400 `invalid`, audited,
    before any lookup). The parameters are read by DataCallParams (one serializer a call); its errors are raised in this
    order: `fields`, unsupported filters (or a filter name with NUL), then the grant policy and X-Purpose, then the
    filters' values, `since`, `limit`, `cursor`.
    `subject_key` (the online query): checked as a path value here; its row is read by subject_record once this
    function returned (the policy allowed the call)."""
    user = request.user
    purpose = purpose_of(request)
    try:
        path_text(resource, "resource")
        if subject_key is not None:
            path_text(subject_key, "key")
    except PortalError as exc:
        raise refuse(user, entry=None, resource=resource, method=method, purpose=purpose, exc=exc) from None
    entry, facts = entry_and_facts(resource, department_id=getattr(user, "department_id", None))
    if entry is None or not signed_in(user, clients=True):
        # A person with no role sees no data at all (as in the catalog); an unknown resource is 404 too.
        raise refuse(user, entry=entry, resource=resource, method=method, purpose=purpose, exc=NotFound())

    def bad(message: str, name: str, items=None) -> PortalError:
        return refuse(user, entry=entry, resource=resource, method=method, purpose=purpose,
                      exc=_invalid(str(message), name), items=items)

    try:
        dataset = entry.dataset
    except Dataset.DoesNotExist:
        dataset = None
    checked = DataCallParams(data=request.query_params if params is None else params,
                             context={"dataset": dataset, "paged": paged, "filters_allowed": filters_allowed})
    errors = {} if checked.is_valid() else checked.errors
    values, filters = checked.values, checked.filters
    fields = values["fields"]
    if "fields" in errors:
        raise bad(errors["fields"][0], "fields")
    if "params" in errors:
        raise bad(errors["params"][0], "params")
    if fields is not None:
        wanted = list(dict.fromkeys([*fields, *filters]))
        permission = authorize_read(user=user, entry=entry, items=wanted, method=method, purpose=purpose,
                                    facts=facts)
        projection = [n for n in permission.items if n in set(fields)]
    else:
        permission = authorize_read(user=user, entry=entry, items=None, method=method, purpose=purpose, facts=facts)
        outside = [n for n in filters if n not in permission.items]
        if outside:
            # Unknown names answer `invalid`, known but not granted ones `no_grant` (both audited there).
            authorize_read(user=user, entry=entry, items=[*permission.items, *outside], method=method,
                           purpose=purpose, facts=facts)
            raise refuse(user, entry=entry, resource=resource, method=method, purpose=purpose,
                         exc=NoGrant(errors={"items": outside}), items=outside)
        projection = list(permission.items)

    if not purpose:
        raise bad(_("请在请求头 X-Purpose 中说明本次调用的业务用途"), "X-Purpose", projection)
    for name in (*filters, "since", "limit", "cursor"):
        if name in errors:
            raise bad(errors[name][0], name, projection)

    call = DataCall(user=user, entry=entry, dataset=dataset, permission=permission, method=method,
                    purpose=purpose, projection=projection, filters=filters, since=values["since"],
                    cursor=values["cursor"], cursor_given=values["cursor_given"], subject_key=subject_key)
    if values["limit"] is not None:
        call.limit = values["limit"]
    if dataset is not None:
        call.encrypted = frozenset(dataset.encrypted_items) | {dataset.key_item_name}
        call.mask_kinds = mask_kinds(entry, dataset, permission, projection)
    return call


def mask_kinds(entry: CatalogEntry, dataset: Dataset, permission: Permission, projection: list[str]) -> dict:
    """Projected personal items the caller reads masked, with their masking kind (sharing.data_api.records)."""
    if permission.basis == "provider":
        return {}
    # A derived item granted in full is still read masked beside its masked source (access.full_items).
    full = access.full_items(dataset, permission.grant.items) if permission.grant is not None else set()
    if all(name in full for name in projection):
        return {}
    types = dict(entry.items.values_list("name", "data_type"))
    # The kinds the pipeline stores masked forms under (aggregation.access.mask_kind): the export reads them by kind.
    kinds = access.mask_kinds(dataset, [(name, types.get(name, "C")) for name in projection if name not in full])
    return {name: kind for name, kind in kinds.items() if kind is not None}
