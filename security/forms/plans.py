"""Forms of the emergency plans' pages; the rules are the service's (services/plans.py)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from portal.forms import BootstrapMixin


def _date(label):
    return forms.DateField(label=label, input_formats=["%Y-%m-%d"], widget=forms.DateInput(attrs={"type": "date"}))


class PlanFileForm(BootstrapMixin, forms.Form):
    title = forms.CharField(label=_("预案名称"), max_length=200)
    summary = forms.CharField(label=_("适用范围"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    document = forms.FileField(label=_("预案文件"), help_text=_("PDF 或 DOCX，不超过 10 MB"))
    review_date = _date(_("下次评审日期"))


class PlanReviewForm(BootstrapMixin, forms.Form):
    note = forms.CharField(label=_("评审意见"), widget=forms.Textarea(attrs={"rows": 2}))
    next_review_date = _date(_("下次评审日期"))
    document = forms.FileField(label=_("修订后的预案文件"), required=False, help_text=_("预案有修订时上传"))


class PlanFilterForm(forms.Form):
    overdue = forms.BooleanField(label=_("仅显示逾期未评审"), required=False)
