"""The plan: what a dataset's rows must look like (picklable: worker processes receive it).

The catalog is the schema (R11.1): a dataset's plan is its entry's current data items, each with whether it is
the subject key, whether it is stored encrypted, and the masking kind of its stored masked form.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings

from security.masking import sensitivity_of

from ..access import item_declarations, mask_kind


@dataclass(frozen=True)
class ItemSpec:
    name: str
    data_type: str
    length: int | None
    is_key: bool
    encrypt: bool
    mask_kind: str | None = None  # access.mask_kind: the stored masked form's kind


@dataclass
class Plan:
    dataset_id: int
    key_item: str
    key_kind: str
    items: list[ItemSpec]
    keys_spec: str = ""
    blind_key: str = ""

    @property
    def by_name(self) -> dict[str, ItemSpec]:
        return {i.name: i for i in self.items}


def encrypted_item_names(items: Iterable) -> list[str]:
    """The subject key plus every item judged personal by its name (security.masking.sensitivity_of)."""
    names = []
    for item in items:
        if item.is_subject_key or sensitivity_of(item.name, item.data_type):
            names.append(item.name)
    return names


def item_specs(items: Iterable, *, key_kind: str, encrypted_items: Iterable[str]) -> list[ItemSpec]:
    """The ItemSpecs of catalog data items (anything with name, data_type, length and is_subject_key)."""
    items = list(items)
    encrypted = set(encrypted_items) | set(encrypted_item_names(items))
    key_item = next((i.name for i in items if i.is_subject_key), None)
    declared = item_declarations(items)
    return [
        ItemSpec(i.name, i.data_type, i.length, bool(i.is_subject_key), i.name in encrypted,
                 mask_kind(i.name, i.data_type, key_item=key_item, key_kind=key_kind, encrypted_items=encrypted,
                           declared=declared.get(i.name)))
        for i in items
    ]


def plan_for(dataset) -> Plan:
    """The current data items of the dataset's entry as a Plan (the catalog is the schema, R11.1)."""
    specs = item_specs(dataset.entry.items.order_by("position"), key_kind=dataset.key_kind,
                       encrypted_items=dataset.encrypted_items)
    return Plan(
        dataset_id=dataset.pk,
        key_item=dataset.key_item_name,
        key_kind=dataset.key_kind,
        items=specs,
        keys_spec=settings.FIELD_ENCRYPTION_KEYS,
        blind_key=settings.BLIND_INDEX_KEY,
    )


def mask_kinds_of(specs: Iterable[ItemSpec]) -> dict[str, str]:
    """{item: masking kind} of the items whose masked forms the pipeline stores (Record.masked)."""
    return {i.name: i.mask_kind for i in specs if i.mask_kind}
