"""List parameters of the supervision API (FilterSets on portal.api.params: bad values answer 400 invalid)."""

from __future__ import annotations

from portal.api.params import ChoiceFilter, FilterSet, IdFilter

# ---- violations, rectification orders, notices of criticism (R35, R36)
from ..choices import NoticeState, OrderState, ViolationCategory, ViolationSource, ViolationState


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
