"""Forms of the assessment pages (R33): they read the values; every rule is the service's."""

from django import forms
from django.utils.translation import gettext_lazy as _

from portal.models import Region


class AssessmentCreateForm(forms.Form):
    year = forms.IntegerField(label=_("考核年度"), min_value=2000, max_value=9999)
    title = forms.CharField(label=_("名称"), max_length=200, required=False)
    region = forms.ModelChoiceField(label=_("考核区域"), required=False, empty_label=_("全市"),
                                    queryset=Region.objects.exclude(kind="city").order_by("code"))


class AdjustForm(forms.Form):
    department = forms.IntegerField(label=_("部门"), min_value=1)
    indicator = forms.CharField(label=_("指标"), max_length=40, required=False)
    delta = forms.DecimalField(label=_("调整分值"), max_digits=6, decimal_places=2, min_value=-100, max_value=100)
    reason = forms.CharField(label=_("调整理由"), widget=forms.Textarea(attrs={"rows": 2}), required=False)


class OpenObjectionsForm(forms.Form):
    until = forms.DateField(label=_("异议截止日期"), widget=forms.DateInput(attrs={"type": "date"}))


class ObjectForm(forms.Form):
    indicator = forms.CharField(label=_("指标"), max_length=40, required=False)
    reason = forms.CharField(label=_("异议理由"), widget=forms.Textarea(attrs={"rows": 3}))


class AnswerForm(forms.Form):
    answer = forms.CharField(label=_("答复"), widget=forms.Textarea(attrs={"rows": 2}))
    delta = forms.DecimalField(label=_("同时调整分值"), max_digits=6, decimal_places=2, min_value=-100, max_value=100,
                               required=False)
