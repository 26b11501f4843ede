"""Base databases (基础库, R13.2): per-subject views merged from the authoritative sources' base data items.

The four databases are definitions in code (they are fixed by the regulation, 第十三条第二款), not a table:

- population (人口): subject key 公民身份号码 (key kind id_number); contributing: approved entries keyed by
  ID number.
- legal_person (法人): 统一社会信用代码 (credit_code); approved entries keyed by credit code.
- geo (自然资源和空间地理): 不动产单元号 / 宗地代码 / 图斑编号 … (key kind "other"); "other"-keyed entries whose
  key item is one of GEO_KEY_NAMES, or classified under 103.
- licence (电子证照): 证照编号 ("other"); "other"-keyed entries whose key item is one of LICENCE_KEY_NAMES, or
  classified under 105.

Each contributing dataset must have at least one base data item (DataItem.is_base_item); only base items are
merged (R12.1: one authoritative source per base item, so the merge is by item name).

Decision on 电子证照: the subject of the licence database is the **licence**, keyed by its 证照编号 — a holder has
many licences, and the licence number is what a counter clerk holds in hand. Licence datasets that are keyed by
the holder's ID number or credit code instead contribute to 人口 / 法人 (their base items appear on the holder's
page there), so "all licences of this person" is the population view, not a second index here.

Base data items are readable by every department (R19.2); personal items are still masked unless
`access.full_values_allowed` (the provider's own staff).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal import audit
from portal.errors import NotFound, PermissionDenied, PortalError
from portal.validators import credit_code_problem, id_number_problem

from . import access

GEO_KEY_NAMES = (
    "不动产单元号", "不动产单元代码", "宗地代码", "宗地编码", "宗海代码", "图斑编号", "地块编号", "土地编号",
)
LICENCE_KEY_NAMES = ("证照编号", "证照号码", "电子证照编号", "证书编号", "许可证编号", "证件编号")


@dataclass(frozen=True)
class BaseDatabase:
    kind: str
    label: str
    key_kind: str
    key_label: str
    classification: str  # the 2017 guide's 基础信息资源 项 this database gathers (catalog classification code)
    key_names: tuple[str, ...] = ()

    def dataset_q(self) -> Q:
        """A Q over Dataset for the contributing datasets (approved entries with base items)."""
        from catalog.models import DataItem

        q = Q(key_kind=self.key_kind)
        if self.key_names:
            q &= Q(key_item_name__in=self.key_names) | Q(entry__classification__code__startswith=self.classification)
        has_base = Q(entry__in=DataItem.objects.filter(is_base_item=True).values("entry_id"))
        return Q(entry__state="approved") & q & has_base


BASE_DATABASES: dict[str, BaseDatabase] = {
    db.kind: db
    for db in (
        BaseDatabase("population", gettext_lazy("人口基础库"), "id_number", gettext_lazy("公民身份号码"), "101"),
        BaseDatabase(
            "legal_person", gettext_lazy("法人基础库"), "credit_code", gettext_lazy("统一社会信用代码"), "102"
        ),
        BaseDatabase(
            "geo", gettext_lazy("自然资源和空间地理基础库"), "other", gettext_lazy("不动产单元号/宗地代码"), "103",
            GEO_KEY_NAMES,
        ),
        BaseDatabase(
            "licence", gettext_lazy("电子证照基础库"), "other", gettext_lazy("证照编号"), "105", LICENCE_KEY_NAMES
        ),
    )
}


def base_database(kind: str) -> BaseDatabase:
    try:
        return BASE_DATABASES[kind]
    except KeyError:
        raise NotFound() from None


def contributing_datasets(db: BaseDatabase):
    from .models import Dataset

    return (
        Dataset.objects.filter(db.dataset_q())
        .select_related("entry", "department")
        .order_by("department__name", "entry__name")
    )


def key_problem(db: BaseDatabase, key: str) -> str | None:
    key = access.normalise_key(key)
    if not key:
        return _("请输入主体标识")
    if db.key_kind == "id_number":
        return id_number_problem(key)
    if db.key_kind == "credit_code":
        return credit_code_problem(key)
    return None if len(key) <= 100 else _("主体标识过长")


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

    from .models import Record
    from .verification import records_under_verification

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
        access.datasets_visible(actor).filter(pk__in=[r.dataset_id for r in records]).values_list("pk", flat=True)
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
            kind_of = access.sensitivity(name, data_type)
            values.append(SubjectValue(
                item=name,
                value=access.display_value(dataset, name, record.data.get(name), full=full, data_type=data_type),
                source=dataset.department.name, dataset_id=dataset.pk, dataset_name=dataset.entry.name,
                updated_at=record.updated_at, masked=bool(kind_of) and not full,
            ))
        sources.append({
            "dataset": dataset, "record": record, "department": dataset.department.name,
            "updated_at": record.updated_at, "under_verification": record.pk in flagged,
            "openable": dataset.pk in openable,
        })
    plain_key = access.normalise_key(key)
    shown_key = plain_key if any_full or db.key_kind != "id_number" else access.mask(plain_key, "id_number")
    with transaction.atomic():
        audit.record(
            actor=actor, action="aggregation.subject.viewed", object_type="aggregation.basedatabase",
            object_id=db.kind, object_repr=str(db.label),
            data={"key": key_hash.hex(), "found": bool(records), "records": [r.pk for r in records],
                  "masked": not any_full},
        )
    return SubjectView(db=db, key_display=shown_key, key_hash_hex=key_hash.hex(), values=values,
                       sources=sources, found=bool(records))
