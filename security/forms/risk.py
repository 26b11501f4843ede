"""Forms of the risk assessment register's pages; the rules are the service's (services/risk.py)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from portal.forms import BootstrapMixin
from portal.models import Department

from ..choices import RiskAssessmentState, RiskCycle, RiskLevel


class RiskScheduleForm(BootstrapMixin, forms.Form):
    department = forms.ModelChoiceField(label=_("部门"), queryset=Department.objects.order_by("name"))
    cycle = forms.ChoiceField(label=_("评估周期"), choices=RiskCycle.choices)
    due_date = forms.DateField(label=_("应完成日期"), input_formats=["%Y-%m-%d"],
                               widget=forms.DateInput(attrs={"type": "date"}))


class RiskCompleteForm(BootstrapMixin, forms.Form):
    level = forms.ChoiceField(label=_("风险等级"), choices=RiskLevel.choices)
    findings = forms.CharField(label=_("评估结论与整改建议"), widget=forms.Textarea(attrs={"rows": 3}))


class RiskFilterForm(forms.Form):
    state = forms.ChoiceField(label=_("状态"), required=False,
                              choices=[("", _("全部")), *RiskAssessmentState.choices])
