"""Demand forms: one demand line, the note that closes it."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from portal.forms import BootstrapMixin
from portal.models import Department

from .base import split_list, textarea


class DemandForm(BootstrapMixin, forms.Form):
    needed_data = forms.CharField(label=_("所需数据"), max_length=200, help_text=_("如：企业营业执照信息"))
    item_names = forms.CharField(
        label=_("所需信息项"),
        required=False,
        widget=textarea(1),
        help_text=_("多个信息项用逗号或顿号分隔，如：统一社会信用代码、企业名称"),
    )
    purpose = forms.CharField(label=_("用途"), widget=textarea())
    legal_basis = forms.CharField(label=_("依据"), widget=textarea(), help_text=_("法律法规或部门职责依据"))
    provider = forms.ModelChoiceField(
        label=_("提供部门"),
        queryset=Department.objects.none(),
        required=False,
        help_text=_("不清楚由哪个部门提供时可不选"),
    )

    def __init__(self, *args, department=None, **kwargs):
        super().__init__(*args, **kwargs)
        qs = Department.objects.filter(is_active=True).select_related("region").order_by("region__code", "name")
        if department is not None:
            qs = qs.exclude(pk=department.pk)
        self.fields["provider"].queryset = qs
        self.fields["provider"].empty_label = _("不清楚")

    def values(self) -> dict:
        data = dict(self.cleaned_data)
        data["item_names"] = split_list(data.get("item_names", ""))
        return data


class NoteForm(BootstrapMixin, forms.Form):
    note = forms.CharField(label=_("说明"), widget=textarea())

