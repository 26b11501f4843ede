"""Forms of the incident register's pages; the rules themselves are the service's (services/incidents.py)."""

from __future__ import annotations

import re

from django import forms
from django.utils.translation import gettext_lazy as _

from portal.forms import BootstrapMixin
from portal.models import Department

from ..choices import IncidentSeverity, IncidentState


def _area(rows: int = 3) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": rows})


class IncidentReportForm(BootstrapMixin, forms.Form):
    title = forms.CharField(label=_("事件名称"), max_length=200)
    severity = forms.ChoiceField(label=_("事件级别"), choices=IncidentSeverity.choices)
    occurred_at = forms.DateTimeField(label=_("发生时间"), input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
                                      widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    description = forms.CharField(label=_("事件经过"), widget=_area(4))
    resources = forms.CharField(label=_("涉及资源"), required=False, widget=_area(2),
                                help_text=_("资源代码，多个用逗号或换行分隔"))
    departments = forms.ModelMultipleChoiceField(label=_("涉及部门"), required=False,
                                                 queryset=Department.objects.order_by("name"))

    def clean_resources(self) -> list[str]:
        return [code for code in re.split(r"[\s,，、]+", self.cleaned_data["resources"]) if code]


class IncidentHandleForm(BootstrapMixin, forms.Form):
    measures = forms.CharField(label=_("处置措施"), widget=_area())


class IncidentCloseForm(BootstrapMixin, forms.Form):
    conclusion = forms.CharField(label=_("处置结论"), widget=_area())


class IncidentFilterForm(forms.Form):
    state = forms.ChoiceField(label=_("状态"), required=False, choices=[("", _("全部")), *IncidentState.choices])
    severity = forms.ChoiceField(label=_("级别"), required=False,
                                 choices=[("", _("全部")), *IncidentSeverity.choices])
