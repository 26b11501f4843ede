"""Who may read which pooled data, and in what form: the one place the uses part decides visibility and masking.

Two questions, two functions, each to be extended (not bypassed) by the sharing chapter when grants land:

- `dataset_scope_q(user)` (behind selectors.pools.datasets_visible): which datasets' records a person may open
  at all. The provider's role scope (own department, own region for a county bureau, the whole city for the
  bureau), plus every approved **unconditional** resource for any signed-in department member (R19.1), plus —
  through the base databases only — base data items, which R19.2 makes unconditional whatever the entry's
  sharing type. Outside this: 404.
- `full_values_allowed(user, dataset)`: whether the person sees personal items in full. True only for
  the provider department's own data staff and head (they produced the data and must be able to
  correct it, R14.2). **Nobody else, yet** — not the bureau, not a county bureau, not a consuming
  department: their screens, exports and API answers are masked (R28.3, cn-standards §4.2). The
  sharing chapter will extend this function with grants that include the full field.

The thin wrappers around the storage part's crypto and masking live here too, so a rename on their side is a
one-line change on ours.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Q

from portal.choices import Role
from portal.permissions import NOTHING, department_scope_q, is_department_member, is_staff_of, signed_in

UNCONDITIONAL = "1"  # catalog.choices.ShareType.UNCONDITIONAL; a literal keeps this module import-light


# Roles that read pooled data at all (masked where personal). The platform admins (system, security, audit) do
# not: 三员分立 keeps them away from citizens' data.
DATA_READER_ROLES = (Role.DEPT_STAFF, Role.DEPT_HEAD, Role.COUNTY_BUREAU, Role.BUREAU_REVIEWER, Role.ASSESSOR)


def reads_data(user) -> bool:
    return signed_in(user) and user.has_role(*DATA_READER_ROLES)


def dataset_scope_q(user, path: str = "") -> Q:
    """A Q over Dataset (prefixed with `path`, e.g. "record__dataset") of the datasets the user may open."""
    if not signed_in(user):
        return NOTHING
    prefix = f"{path}__" if path else ""
    q = department_scope_q(user, f"{prefix}department")
    if not q:  # city-wide scope: everything (an empty Q OR-ed with another would narrow it to the other)
        return q
    if is_department_member(user) or user.has_role(Role.COUNTY_BUREAU, Role.BUREAU_REVIEWER, Role.ASSESSOR):
        q |= Q(**{f"{prefix}entry__share_type": UNCONDITIONAL, f"{prefix}entry__state": "approved"})
    return q


def full_values_allowed(user, dataset) -> bool:
    """Whether `user` sees personal items of `dataset` unmasked: provider staff only, for now (module docstring)."""
    return is_staff_of(user, dataset.department_id)  # the provider's staff (R14.2)


# --------------------------------------------------------------------------------------------------
# Values as people see them


def blind_index_hex(key: str) -> str:
    from security.crypto import blind_index

    return blind_index(normalise_key(key)).hex()


def key_hash_of(key: str) -> bytes:
    from security.crypto import blind_index

    return blind_index(normalise_key(key))


def normalise_key(key: str) -> str:
    return (key or "").strip().upper()


def hash_hex(value) -> str:
    return bytes(value).hex() if value is not None else ""


def decrypt(token: Any) -> Any:
    from security.crypto import decrypt as _decrypt
    from security.crypto import is_encrypted

    if isinstance(token, str) and is_encrypted(token):
        return _decrypt(token)
    return token


def mask(value: Any, kind: str) -> Any:
    from security.masking import mask as _mask

    if value in (None, ""):
        return value
    return _mask(str(value), kind)


def mask_kind(name: str, data_type: str = "C", *, key_item: str | None, key_kind: str,
              encrypted_items: Iterable[str] = (), declared: tuple[str, str] | None = None) -> str | None:
    """The masking kind of one item of a dataset (None: shown as it is) — the one way it is decided.

    `security.masking.item_mask_kind` asked with the same inputs everywhere: the item's name and data type, the
    dataset's key kind when the item is its subject key (`key_item`), whether the item is stored encrypted, and the
    item's declaration in the catalog (`declared`: (sensitivity, derived_from), `item_declarations`). The pipeline
    stores its masked forms under these kinds (ingest.planning.item_specs); its rejected-rows report, the pages, the
    APIs and the sharing chapter's data API mask by them (through `mask_kinds`), so an item is masked alike wherever
    it is shown. Which items a reader gets in full: `full_items` (a derived item never beside its masked source).
    """
    from security.masking import item_mask_kind

    return item_mask_kind(name, data_type, key_kind=key_kind if name == key_item else None,
                          encrypted=name in encrypted_items, declared=declared)


def item_declarations(items: Iterable) -> dict[str, tuple[str, str]]:
    """{name: (sensitivity, derived_from)} of an entry's data items (DataItems or dicts): as declared, or — an item
    not declared yet — as proposed from the names (portal.personal_data.propose)."""
    from portal.personal_data import propose

    items = list(items)
    get = (lambda i, f: i.get(f, "")) if items and isinstance(items[0], dict) else (lambda i, f: getattr(i, f, ""))
    proposals = None
    out = {}
    for item in items:
        name = get(item, "name")
        if get(item, "sensitivity"):
            out[name] = (get(item, "sensitivity"), get(item, "derived_from") or "")
        else:
            proposals = proposals if proposals is not None else propose(items)
            out[name] = proposals.get(name.strip(), ("public", ""))
    return out


def dataset_declarations(dataset) -> dict[str, tuple[str, str]]:
    """item_declarations of the dataset's entry, read once per dataset object."""
    cached = getattr(dataset, "_item_declarations", None)
    if cached is None:
        rows = dataset.entry.items.values("name", "data_type", "is_subject_key", "sensitivity", "derived_from")
        cached = dataset._item_declarations = item_declarations(list(rows))
    return cached


def mask_kinds(dataset, items: Iterable[tuple[str, str]]) -> dict[str, str | None]:
    """{name: mask_kind} of (name, data_type) `items` of `dataset` (its key item, key kind, encrypted items and the
    items' declarations)."""
    encrypted = set(dataset.encrypted_items or ())
    declared = dataset_declarations(dataset)
    return {name: mask_kind(name, data_type, key_item=dataset.key_item_name, key_kind=dataset.key_kind,
                            encrypted_items=encrypted, declared=declared.get(name)) for name, data_type in items}


def full_items(dataset, granted: Iterable[str]) -> set[str]:
    """The `granted` items a reader gets in full, less every derived item whose source they read masked (R28.3: a
    birth date beside an ID number masked in its birth-date digits would give the digits back), transitively."""
    full = set(granted)
    declared = dataset_declarations(dataset)
    masked_source = True
    while masked_source:
        masked_source = False
        for name in list(full):
            source = declared.get(name, ("", ""))[1]
            if source and source not in full and mask_kinds(dataset, [(source, "C")])[source] is not None:
                full.discard(name)
                masked_source = True
    return full


def key_display(dataset, key_plain: str, *, full: bool) -> str:
    """The subject key as shown: masked by its kind unless full (a credit code is public registration data)."""
    if full or not key_plain:
        return key_plain
    kind = mask_kinds(dataset, [(dataset.key_item_name, "C")])[dataset.key_item_name]
    return mask(key_plain, kind) if kind else key_plain


def display_value(dataset, item_name: str, stored: Any, *, full: bool, data_type: str = "C") -> Any:
    """One stored value as the user may see it: decrypted, then masked by its `mask_kind` unless `full`."""
    encrypted_items = set(dataset.encrypted_items or ())
    kind = mask_kinds(dataset, [(item_name, data_type)])[item_name]
    plain = decrypt(stored) if item_name in encrypted_items or item_name == dataset.key_item_name else stored
    if not full and kind is not None:
        return mask(plain, kind)  # masking needs the plain text; it never leaves this function unmasked
    return plain


def display_values(dataset, data: dict, *, full: bool, items=None) -> dict:
    """All (or the named) items of a stored row as the user may see them, in the catalog's item order."""
    types = dict(dataset.entry.items.values_list("name", "data_type")) if items is None else dict(items)
    names = list(types) or list(data)
    return {name: display_value(dataset, name, data.get(name), full=full, data_type=types.get(name, "C"))
            for name in names}


def report_in_full(user, dataset) -> bool:
    """Whether `user` reads the rejected-rows reports of `dataset`'s ingest jobs as uploaded: the provider's people
    holding "load" on the resource (catalog.resource_perms: the data staff it was assigned to, the head) — it is
    their data, and they must correct it. Anyone else who may open the job reads each value masked by `mask_kind`."""
    from catalog import resource_perms

    return resource_perms.holds(user, entry_id=dataset.entry_id, provider_id=dataset.department_id,
                                perm=resource_perms.LOAD_DATA)
