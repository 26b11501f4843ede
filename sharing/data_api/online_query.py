"""Online query (在线查询, R22.1/R23.1) for a clerk at a counter (the page: `sharing:online-query`).

The clerk types an ID number or a unified social credit code, picks the purpose (and may narrow the search to
one resource) and sees, per resource the department may read by the "online query" method, the items the
grant policy allows for that subject — so the counter does not ask the citizen for what the platform holds.

- Without a resource: every published resource keyed by that kind of subject that offers online query (or
  is the department's own) and that the policy lets the department read; resources it may not read are
  skipped silently (nothing was asked of them). With a resource: that one, a refusal is shown and audited.
- Each resource read writes one `sharing.data.read` event (method "query", rows 0 or 1, purpose, grant);
  the subject key is looked up through the blind index and never written to the audit trail (only the leak monitor's
  keyed markers of it: security.markers).
- Values are shown as the API returns them (sharing.data_api.records: granted items in full, other personal items
  masked); a record under verification carries the R14.4 notice.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from catalog.choices import EntryState, ExchangeMethod
from catalog.models import CatalogEntry
from portal.db_router import replica_reads
from portal.errors import PortalError
from portal.validators import credit_code_problem, id_number_problem

from ..policy import authorize_read, read_permission
from .calls import DataCall, mask_kinds
from .records import subject_record, subject_values


def key_kind_of(key: str) -> str | None:
    key = (key or "").strip().upper()
    if len(key) == 18 and id_number_problem(key) is None:
        return "id_number"
    if len(key) == 18 and credit_code_problem(key) is None:
        return "credit_code"
    return None


@dataclass
class ResourceAnswer:
    entry: CatalogEntry
    found: bool = False
    values: dict = field(default_factory=dict)
    masked: list = field(default_factory=list)
    grant_id: int | None = None
    basis: str = ""  # the policy's basis of the read: "provider" (own data), "unconditional" or "grant"
    under_verification: bool = False
    verification_notice: str = ""
    error: str = ""


def _candidates(user, kind: str):
    department = user.department
    qs = (
        CatalogEntry.objects.filter(state=EntryState.APPROVED, is_secret=False, dataset__key_kind=kind)
        .select_related("provider", "dataset").order_by("code")
    )
    return [e for e in qs if e.provider_id == department.pk or ExchangeMethod.QUERY in e.exchange_methods]


def _answer(user, entry: CatalogEntry, permission, purpose: str, key: str) -> ResourceAnswer:
    dataset = entry.dataset
    call = DataCall(user=user, entry=entry, dataset=dataset, permission=permission, method=ExchangeMethod.QUERY,
                    purpose=purpose, projection=list(permission.items), subject_key=key)
    call.encrypted = frozenset(dataset.encrypted_items) | {dataset.key_item_name}
    call.mask_kinds = mask_kinds(entry, dataset, permission, call.projection)
    with replica_reads():  # the record from the replica when configured (portal.db_router); the audit on the primary
        record = subject_record(call, key)
        row = None if record is None else subject_values(call, record)
    answer = ResourceAnswer(entry=entry, grant_id=call.grant_id, basis=permission.basis,
                            masked=sorted(call.mask_kinds))
    if record is not None:
        answer.found = True
        answer.under_verification = row.pop("under_verification")
        answer.verification_notice = row.pop("verification_notice", "")
        row.pop("updated_at", None)
        row.pop("integrity", None)  # R26.1 signature: for API consumers, not the counter page
        answer.values = row
    call.record_read(1 if record is not None else 0, found=record is not None, page="online-query")
    return answer


def online_query(*, user, key: str, purpose: str, entry: CatalogEntry | None = None) -> list[ResourceAnswer]:
    """The granted items of one subject across the resources the user's department may read by online query."""
    key = key.strip().upper()
    if entry is not None:
        try:
            permission = authorize_read(user=user, entry=entry, items=None, method=ExchangeMethod.QUERY,
                                        purpose=purpose)
        except PortalError as exc:  # audited by authorize_read
            return [ResourceAnswer(entry=entry, error=str(exc.detail))]
        if not hasattr(entry, "dataset"):
            return [ResourceAnswer(entry=entry)]
        return [_answer(user, entry, permission, purpose, key)]
    answers = []
    for candidate in _candidates(user, key_kind_of(key)):
        try:
            permission = read_permission(department=user.department, entry=candidate, items=None,
                                         method=ExchangeMethod.QUERY)
        except PortalError:
            continue
        answers.append(_answer(user, candidate, permission, purpose, key))
    return answers
