"""Forms of the secrecy review register's pages; the rules are the service's (services/secrecy.py)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from portal.forms import BootstrapMixin

from ..choices import SecrecyDecision, SecrecyState


class SecrecyFlagForm(BootstrapMixin, forms.Form):
    resource = forms.CharField(label=_("资源代码"), max_length=200)
    reason = forms.CharField(label=_("审查事由"), widget=forms.Textarea(attrs={"rows": 2}))


class SecrecyDecideForm(BootstrapMixin, forms.Form):
    decision = forms.ChoiceField(label=_("审查结论"), choices=SecrecyDecision.choices, widget=forms.RadioSelect)
    basis = forms.CharField(label=_("审查依据"), widget=forms.Textarea(attrs={"rows": 3}),
                            help_text=_("法律法规、保密事项范围或定密依据"))


class SecrecyFilterForm(forms.Form):
    state = forms.ChoiceField(label=_("状态"), required=False, choices=[("", _("全部")), *SecrecyState.choices])
