"""Base databases (基础库, R13.2): one subject looked up, its base items merged across the authoritative sources.

The databases are defined in selectors.basedb; base data items are readable by every department (R19.2);
personal items are still masked unless `access.full_values_allowed` (the provider's own staff).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from portal import audit
from portal.errors import PermissionDenied, PortalError
from security.markers import enumeration_marker

from .. import access
from ..selectors.basedb import BaseDatabase, base_database, contributing_datasets, key_problem
from ..selectors.pools import datasets_visible
from ..storage import reading
from ..storage.layout import Layout


@dataclass
class SubjectValue:
    item: str
    value: object
    source: str  # provider department name
    dataset_id: int
    dataset_name: str
    updated_at: object
    masked: bool


@dataclass
class SubjectView:
    db: BaseDatabase
    key_display: str
    key_hash_hex: str
    values: list[SubjectValue]
    sources: list[dict]  # per contributing record: dataset, department, updated_at, verification flags
    found: bool


def subject_view(*, actor, kind: str, key: str) -> SubjectView:
    """Look one subject up in a base database: its base items merged across the authoritative sources.

    Every department may read base data (R19.2), the platform admins may not. Writes the audit event
    `aggregation.subject.viewed` (with the key's blind index, never the key). Raises PermissionDenied (no data
    reader role), PortalError "invalid" (a key that fails its check), NotFound (unknown kind).
    """
    from catalog.models import DataItem

    if not access.reads_data(actor):
        raise PermissionDenied()
    db = base_database(kind)
    problem = key_problem(db, key)
    if problem:
        raise PortalError(problem, code="invalid", errors={"key": [problem]})
    key_hash = access.key_hash_of(key)
    datasets = {d.pk: d for d in contributing_datasets(db)}
    base_items: dict[int, list[tuple[str, str]]] = {}
    for entry_id, name, data_type in (
        DataItem.objects.filter(entry_id__in=[d.entry_id for d in datasets.values()], is_base_item=True)
        .order_by("entry_id", "position")
        .values_list("entry_id", "name", "data_type")
    ):
        base_items.setdefault(entry_id, []).append((name, data_type))
    # The base items each dataset's table holds (one a catalog update added and no load wrote yet reads as empty).
    layouts = {pk: Layout.stored(d) for pk, d in datasets.items() if d.columns}
    wanted = {pk: [n for n, _t in base_items.get(datasets[pk].entry_id, []) if n in layout.columns]
              for pk, layout in layouts.items()}
    found = reading.lookup([datasets[pk] for pk in sorted(layouts)], key_hash, items=wanted, flagged=True)
    rows = [found[pk] for pk in sorted(found)]  # (by dataset id, as before)
    openable = set(
        datasets_visible(actor).filter(pk__in=list(found)).values_list("pk", flat=True)
    )
    values: list[SubjectValue] = []
    sources = []
    any_full = False
    for dataset_id, row in zip(sorted(found), rows, strict=True):
        dataset = datasets[dataset_id]
        full = access.full_values_allowed(actor, dataset)
        any_full = any_full or full
        items = [(n, t) for n, t in base_items.get(dataset.entry_id, []) if n != dataset.key_item_name]
        kinds = access.mask_kinds(dataset, items)
        layout = layouts[dataset_id]
        shown = reading.rendered(
            layout, [row], [n for n, _t in items if n in layout.columns],
            kinds={} if full else {n: k for n, k in kinds.items() if k is not None},
        )[0]
        for name, _data_type in items:
            values.append(SubjectValue(
                item=name, value=shown.get(name),
                source=dataset.department.name, dataset_id=dataset.pk, dataset_name=dataset.entry.name,
                updated_at=row.updated_at, masked=kinds[name] is not None and not full,
            ))
        sources.append({
            "dataset": dataset, "record": row, "department": dataset.department.name,
            "updated_at": row.updated_at, "under_verification": bool(row.flagged),
            "openable": dataset.pk in openable,
        })
    plain_key = access.normalise_key(key)
    key_kind = access.mask_kind(db.kind, key_item=db.kind, key_kind=db.key_kind)  # the base database's subject key
    shown_key = plain_key if any_full or key_kind is None else access.mask(plain_key, key_kind)
    with transaction.atomic():
        audit.record(
            actor=actor, action="aggregation.subject.viewed", object_type="aggregation.basedatabase",
            object_id=db.kind, object_repr=str(db.label),
            data={"key": key_hash.hex(), "found": bool(rows), "records": [r.id for r in rows],
                  "masked": not any_full, **enumeration(plain_key, db.key_kind)},
        )
    return SubjectView(db=db, key_display=shown_key, key_hash_hex=key_hash.hex(), values=values,
                       sources=sources, found=bool(rows))


def enumeration(key: str, kind: str | None) -> dict:
    """The leak monitor's enumeration marker of a looked-up key ({"enum": …}; the blind index is `key` already)."""
    marker = enumeration_marker(key, kind)
    return {"enum": marker} if marker else {}
