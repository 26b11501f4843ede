"""Base databases (基础库, R13.2): their definitions and contributing datasets (the lookup is services.basedb).

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

from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.errors import NotFound
from portal.validators import credit_code_problem, id_number_problem

from .. import access
from ..models import Dataset

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

    def keyed_q(self) -> Q:
        """A Q over Dataset for the datasets about this database's kind of subject (its key kind; for "other" keys,
        its key names or classification), whether or not they declare base items."""
        q = Q(key_kind=self.key_kind)
        if self.key_names:
            q &= Q(key_item_name__in=self.key_names) | Q(entry__classification__code__startswith=self.classification)
        return q

    def dataset_q(self) -> Q:
        """A Q over Dataset for the contributing datasets (approved entries with base items)."""
        from catalog.models import DataItem

        has_base = Q(entry__in=DataItem.objects.filter(is_base_item=True).values("entry_id"))
        return Q(entry__state="approved") & self.keyed_q() & has_base


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
