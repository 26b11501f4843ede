"""Query parameters of the sharing chapter's API lists (FilterSets on portal.api.params).

The data calls' parameters are not here: sharing.data_api.params reads them (one serializer, refusals audited).
"""

from __future__ import annotations

from portal.api.params import ChoiceFilter, FilterSet

from ..choices import GrantState, RequestState
from ..selectors import grant_filter, sharing_request_filter


class SharingRequestFilterSet(FilterSet):
    """The rule is sharing_request_filter (the request pages' too)."""

    box = ChoiceFilter(
        choices=[("mine", "本部门提出的"), ("provider", "向本部门提出的"), ("review", "待市局审核的"),
                 ("all", "可见的全部（缺省）")],
        help_text="收件箱",
    )
    state = ChoiceFilter(choices=RequestState.choices, help_text="状态")

    def filter_queryset(self, queryset):
        return sharing_request_filter(queryset, user=self.request.user, filters=self.form.cleaned_data)


class GrantFilterSet(FilterSet):
    """The rule is grant_filter (the grant page's too)."""

    box = ChoiceFilter(
        choices=[("mine", "本部门获得的"), ("provider", "本部门资源的"), ("all", "可见的全部（缺省）")],
        help_text="范围（接入系统只看到本部门获得的授权）",
    )
    state = ChoiceFilter(choices=GrantState.choices, help_text="状态")

    def filter_queryset(self, queryset):
        return grant_filter(queryset, user=self.request.user, filters=self.form.cleaned_data)
