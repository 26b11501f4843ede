"""Forms of the leak monitor's pages; the rules are the service's (security/services/leaks.py)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from portal.forms import BootstrapMixin
from portal.validators import text_problem

from ..choices import AnomalyKind, AnomalyState


class AnomalyFilterForm(BootstrapMixin, forms.Form):
    kind = forms.ChoiceField(label=_("类型"), required=False, choices=[("", _("全部类型")), *AnomalyKind.choices])
    state = forms.ChoiceField(label=_("状态"), required=False, choices=[("", _("全部状态")), *AnomalyState.choices])
    caller = forms.CharField(label=_("调用方"), required=False, max_length=150,
                             widget=forms.TextInput(attrs={"placeholder": _("用户名或 client:客户端编号")}))

    def clean_caller(self) -> str:
        caller = self.cleaned_data["caller"].strip()
        problem = text_problem(caller)
        if problem:
            raise forms.ValidationError(problem)
        return caller


class AnomalyDecisionForm(BootstrapMixin, forms.Form):
    reason = forms.CharField(label=_("处理意见"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))
