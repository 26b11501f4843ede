"""Update-case forms: the trigger that opens a case (the proposal itself uses the entry form)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from portal.forms import BootstrapMixin, DateInput

from ..choices import UpdateTrigger
from .base import textarea


class UpdateCaseOpenForm(BootstrapMixin, forms.Form):
    trigger_kind = forms.ChoiceField(label=_("更新原因"), choices=UpdateTrigger.choices)
    trigger_date = forms.DateField(
        label=_("发生日期"),
        widget=DateInput(),
        help_text=_("法律法规修改或职能变化之日；须自该日起 10 个工作日内提交申请"),
    )
    trigger_document = forms.CharField(label=_("依据文件"), max_length=200, help_text=_("法规名称或文件文号"))
    trigger_description = forms.CharField(label=_("变化说明"), required=False, widget=textarea())

