"""Query parameters of chapter 3's API lists (FilterSets on portal.api.params)."""

from __future__ import annotations

from portal.api.params import ChoiceFilter, FilterSet, IdFilter

from ..choices import VerificationState


class VerificationCaseFilterSet(FilterSet):
    state = ChoiceFilter(choices=VerificationState.choices, help_text="状态")
    side = ChoiceFilter(
        choices=[("filed", "本部门申请的"), ("received", "向本部门提出的")],
        method="filter_side", help_text="缺省为调用者可见的全部",
    )

    def filter_side(self, queryset, name, value):
        path = "requester_id" if value == "filed" else "provider_id"
        return queryset.filter(**{path: self.request.user.department_id})


class QualityReportFilterSet(FilterSet):
    # The dataset's department, as quality.latest_reports(department_id=) reads it for the report page.
    department = IdFilter(field_name="dataset__department", help_text="提供部门编号")
