"""Forms of the informatization project pages; the rules themselves are the service's (services/projects.py)."""

from __future__ import annotations

import re

from django import forms
from django.utils.translation import gettext_lazy as _

from portal.forms import BootstrapMixin, DateInput
from portal.models import Department

from ..choices import DECLARED_ITEMS, CheckItem, FundingKind, ProjectState

_SEPARATOR = re.compile(r"\s*[|｜]\s*")


def _area(rows: int = 3) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": rows})


def _checkboxes() -> forms.CheckboxSelectMultiple:
    return forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"})


def resources_text(project) -> str:
    """The project's resources as the form's text: one a line, `名称 | 资源代码` when linked to an entry."""
    lines = []
    for resource in project.resources.all():
        lines.append(f"{resource.name} | {resource.entry.resource_key}" if resource.entry_id else resource.name)
    return "\n".join(lines)


class ProjectForm(BootstrapMixin, forms.Form):
    name = forms.CharField(label=_("项目名称"), max_length=200)
    funding_kind = forms.ChoiceField(label=_("资金类型"), choices=FundingKind.choices)
    budget = forms.DecimalField(label=_("预算（万元）"), max_digits=12, decimal_places=2,
                                help_text=_("单位：万元，不小于 0，最多两位小数"))
    period_start = forms.DateField(label=_("建设期开始"), widget=DateInput())
    period_end = forms.DateField(label=_("建设期结束"), widget=DateInput())
    description = forms.CharField(label=_("建设内容"), widget=_area(5), max_length=5000)
    resources = forms.CharField(
        label=_("拟产生的信息资源"), required=False, widget=_area(5),
        help_text=_("每行一项：信息资源名称；已编目的可在名称后加“|”和本部门目录的资源标识，"
                    "如：户籍人口信息 | 301-114108000000000001"))
    declared_checks = forms.MultipleChoiceField(
        label=_("共建共享承诺"), required=False, widget=_checkboxes(),
        choices=[(item.value, item.label) for item in DECLARED_ITEMS],
        help_text=_("政务信息化项目应依托市政务云平台、电子政务网络建设，接入市大数据平台实现数据共享；不符合共建共享要求的项目不予审批"))

    def clean_resources(self) -> list[dict]:
        rows = []
        for line in self.cleaned_data["resources"].splitlines():
            if not line.strip():
                continue
            name, *key = _SEPARATOR.split(line.strip(), maxsplit=1)
            rows.append({"name": name, "resource": key[0] if key else ""})
        return rows

    def values(self) -> dict:
        data = self.cleaned_data
        return {k: data[k] for k in ("name", "funding_kind", "budget", "period_start", "period_end", "description",
                                     "declared_checks")}


class _OwnIds:
    """Two forms on one page with a field of the same name: element ids prefixed by the form (names unchanged)."""

    id_prefix = ""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", f"{self.id_prefix}_%s")
        super().__init__(*args, **kwargs)


class ProjectApproveForm(_OwnIds, BootstrapMixin, forms.Form):
    id_prefix = "approve"
    checks = forms.MultipleChoiceField(label=_("审核核查"), required=False, widget=_checkboxes(),
                                       choices=CheckItem.choices,
                                       help_text=_("逐项核实后勾选；任一项未通过的项目不予审批"))
    opinion = forms.CharField(label=_("审核意见"), required=False, widget=_area(2), max_length=5000)


class ProjectReturnForm(_OwnIds, BootstrapMixin, forms.Form):
    id_prefix = "return"
    reason = forms.CharField(label=_("退回理由"), widget=_area(3), max_length=5000)
    checks = forms.MultipleChoiceField(label=_("已核实的核查项"), required=False, widget=_checkboxes(),
                                       choices=CheckItem.choices)


class ProjectStepForm(forms.Form):
    """A step that takes nothing but the click (submit, start, complete)."""


class ProjectFilterForm(BootstrapMixin, forms.Form):
    state = forms.ChoiceField(label=_("状态"), required=False, choices=[("", _("全部状态")), *ProjectState.choices])
    funding_kind = forms.ChoiceField(label=_("资金类型"), required=False,
                                     choices=[("", _("全部资金类型")), *FundingKind.choices])
    department = forms.ModelChoiceField(label=_("申报部门"), required=False, queryset=Department.objects.none(),
                                        empty_label=_("全部部门"))
    flagged = forms.BooleanField(label=_("仅看资源未编目"), required=False)

    def __init__(self, *args, departments=None, **kwargs):
        super().__init__(*args, **kwargs)
        if departments is not None:
            self.fields["department"].queryset = departments
