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
from ..models import Record
from ..selectors.basedb import BaseDatabase, base_database, contributing_datasets, key_problem
from ..selectors.pools import datasets_visible
from ..selectors.verification import records_under_verification


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
    records = list(
        Record.objects.filter(dataset_id__in=list(datasets), key_hash=key_hash, deleted_at__isnull=True)
        .order_by("dataset_id")
    )
    base_items: dict[int, list[tuple[str, str]]] = {}
    for entry_id, name, data_type in (
        DataItem.objects.filter(entry_id__in=[d.entry_id for d in datasets.values()], is_base_item=True)
        .order_by("entry_id", "position")
        .values_list("entry_id", "name", "data_type")
    ):
        base_items.setdefault(entry_id, []).append((name, data_type))
    flagged = records_under_verification(r.pk for r in records)
    openable = set(
        datasets_visible(actor).filter(pk__in=[r.dataset_id for r in records]).values_list("pk", flat=True)
    )
    values: list[SubjectValue] = []
    sources = []
    any_full = False
    for record in records:
        dataset = datasets[record.dataset_id]
        full = access.full_values_allowed(actor, dataset)
        any_full = any_full or full
        for name, data_type in base_items.get(dataset.entry_id, []):
            if name == dataset.key_item_name:
                continue
            kind = access.mask_kinds(dataset, [(name, data_type)])[name]
            values.append(SubjectValue(
                item=name,
                value=access.display_value(dataset, name, record.data.get(name), full=full, data_type=data_type),
                source=dataset.department.name, dataset_id=dataset.pk, dataset_name=dataset.entry.name,
                updated_at=record.updated_at, masked=kind is not None and not full,
            ))
        sources.append({
            "dataset": dataset, "record": record, "department": dataset.department.name,
            "updated_at": record.updated_at, "under_verification": record.pk in flagged,
            "openable": dataset.pk in openable,
        })
    plain_key = access.normalise_key(key)
    key_kind = access.mask_kind(db.kind, key_item=db.kind, key_kind=db.key_kind)  # the base database's subject key
    shown_key = plain_key if any_full or key_kind is None else access.mask(plain_key, key_kind)
    with transaction.atomic():
        audit.record(
            actor=actor, action="aggregation.subject.viewed", object_type="aggregation.basedatabase",
            object_id=db.kind, object_repr=str(db.label),
            data={"key": key_hash.hex(), "found": bool(records), "records": [r.pk for r in records],
                  "masked": not any_full, **enumeration(plain_key, db.key_kind)},
        )
    return SubjectView(db=db, key_display=shown_key, key_hash_hex=key_hash.hex(), values=values,
                       sources=sources, found=bool(records))


def enumeration(key: str, kind: str | None) -> dict:
    """The leak monitor's enumeration marker of a looked-up key ({"enum": …}; the blind index is `key` already)."""
    marker = enumeration_marker(key, kind)
    return {"enum": marker} if marker else {}
