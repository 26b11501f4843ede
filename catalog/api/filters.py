"""Query parameters of the catalog's API lists (FilterSets on portal.api.params)."""

from __future__ import annotations

from portal.api.params import ChoiceFilter, FilterSet, IdFilter, TextFilter

from ..choices import DemandState, EntryState, ShareType, UpdateCaseState, UpdateCycle
from ..selectors.entries import catalog_entry_filter


class CatalogEntryFilterSet(FilterSet):
    """The catalog the caller may see; the rule is catalog_entry_filter (the pages' too)."""

    search = TextFilter(help_text="中文检索：名称、摘要、信息项名称（如 营业执照、户籍）")
    sharing_type = ChoiceFilter(choices=ShareType.choices, help_text="共享类型 1/2/3")
    provider = IdFilter(help_text="提供部门编号")
    classification = TextFilter(help_text="分类代码前缀，如 1（基础）或 303")
    update_cycle = ChoiceFilter(choices=UpdateCycle.choices, help_text="更新周期")
    state = ChoiceFilter(
        choices=EntryState.choices,
        help_text="缺省为 approved（已发布的目录）；其他状态只返回调用者职责范围内的条目",
    )

    def filter_queryset(self, queryset):
        data = self.form.cleaned_data
        return catalog_entry_filter(queryset, {
            "q": data["search"],
            "state": data["state"] or EntryState.APPROVED,
            "provider": data["provider"],
            "classification": data["classification"],
            "share_type": data["sharing_type"],
            "update_cycle": data["update_cycle"],
        })


class UpdateCaseFilterSet(FilterSet):
    state = ChoiceFilter(choices=UpdateCaseState.choices, help_text="状态")


class DemandFilterSet(FilterSet):
    """The demand lines the caller may see (selectors.demands.demand_list), narrowed like the demand-list page."""

    state = ChoiceFilter(choices=DemandState.choices, help_text="状态：draft 草稿 / submitted 已提交 / closed 已办结")
    department = IdFilter(help_text="需求部门编号")
    side = ChoiceFilter(
        choices=[("own", "本部门提出的"), ("addressed", "向本部门提出的")], method="filter_side",
        help_text="部门人员：own 本部门提出的，addressed 向本部门提出的；缺省为调用者可见的全部",
    )

    def filter_side(self, queryset, name, value):
        department_id = self.request.user.department_id if self.request else None
        if value == "own":
            return queryset.filter(department_id=department_id)
        if value == "addressed":
            return queryset.filter(provider_id=department_id)
        return queryset
