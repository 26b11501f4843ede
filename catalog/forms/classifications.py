"""The classification form: a new 项/目/细目 under a parent."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from portal.forms import BootstrapMixin

from ..models import Classification
from .base import ClassificationChoiceField


class ClassificationForm(BootstrapMixin, forms.Form):
    parent = ClassificationChoiceField(label=_("上级分类"), queryset=Classification.objects.none())
    code_part = forms.CharField(label=_("本级代码"), max_length=4, help_text=_("项 2 位、目 3 位、细目 2–4 位数字"))
    name = forms.CharField(label=_("分类名称"), max_length=100)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["parent"].queryset = Classification.objects.filter(level__lte=3, is_active=True).order_by("code")
        self.fields["parent"].label_from_instance = lambda c: f"{c.code} {c.name}"

