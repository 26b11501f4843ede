"""The supervision lists' parameters (FilterSets on portal.api.params): bad values answer 400 `invalid`."""

from __future__ import annotations

from portal.api.params import ChoiceFilter, FilterSet, IdFilter

from ..choices import (
    FundingKind,
    NoticeState,
    OrderState,
    ProjectState,
    ViolationCategory,
    ViolationSource,
    ViolationState,
)


class ProjectFilterSet(FilterSet):
    """The informatization project register's list parameters (policy note; RP.1–RP.2)."""

    state = ChoiceFilter(choices=ProjectState.choices, help_text="状态")
    funding_kind = ChoiceFilter(choices=FundingKind.choices, help_text="资金类型")
    department = IdFilter(field_name="department", help_text="申报部门编号")
    missing_catalog = ChoiceFilter(choices=[("true", "是"), ("false", "否")], method="filter_missing",
                                   help_text="true：仅已建成但信息资源未编入目录的项目；false：其余项目")

    def filter_missing(self, queryset, name, value):
        flagged = queryset.missing_catalog()
        return flagged if value == "true" else queryset.exclude(pk__in=flagged.values("pk"))


# ---- violations, rectification orders, notices of criticism (R35, R36)


class ViolationFilterSet(FilterSet):
    """违规行为登记的列表参数（R35）。"""

    state = ChoiceFilter(choices=ViolationState.choices, help_text="状态")
    category = ChoiceFilter(choices=[(v, v) for v in ViolationCategory.values],
                            help_text="违规行为（第三十五条第几项，35.1–35.7）")
    source = ChoiceFilter(choices=ViolationSource.choices, help_text="来源")
    department = IdFilter(field_name="department", help_text="部门编号")


class RectificationOrderFilterSet(FilterSet):
    """整改通知的列表参数（R36）。"""

    state = ChoiceFilter(choices=OrderState.choices, help_text="状态")
    department = IdFilter(field_name="department", help_text="整改部门编号")


class CriticismNoticeFilterSet(FilterSet):
    """通报批评的列表参数（R36）。"""

    state = ChoiceFilter(choices=NoticeState.choices, help_text="状态")
    department = IdFilter(field_name="department", help_text="被通报部门编号")
