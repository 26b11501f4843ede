"""Forms of the violations, rectification and notice pages; the rules themselves are the services'."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from aggregation.forms.verification import MultipleFileField
from portal.forms import BootstrapMixin, DateInput
from portal.models import Department

from ..choices import NoticeState, OrderState, ViolationCategory, ViolationState
from ..services.orders import MAX_ATTACHMENTS, MAX_WORKING_DAYS


def _area(rows: int = 3) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": rows})


class ViolationFileForm(BootstrapMixin, forms.Form):
    category = forms.ChoiceField(label=_("违规行为（第三十五条）"), choices=ViolationCategory.choices)
    department = forms.ModelChoiceField(label=_("部门"), queryset=Department.objects.filter(is_active=True)
                                        .order_by("region__code", "name"))
    title = forms.CharField(label=_("事项"), max_length=300)
    evidence = forms.CharField(label=_("证据"), widget=_area(4), max_length=2000,
                               help_text=_("事实经过、发现途径、相关文件或链接"))


class ViolationDismissForm(BootstrapMixin, forms.Form):
    reason = forms.CharField(label=_("撤销理由"), widget=_area(), max_length=2000)


class ViolationFilterForm(forms.Form):
    state = forms.ChoiceField(label=_("状态"), required=False, choices=[("", _("全部状态")), *ViolationState.choices])
    category = forms.ChoiceField(label=_("违规行为"), required=False,
                                 choices=[("", _("全部类别")), *[(v, v) for v in ViolationCategory.values]])


class OrderIssueForm(BootstrapMixin, forms.Form):
    violations = forms.TypedMultipleChoiceField(label=_("违规行为"), coerce=int, widget=forms.CheckboxSelectMultiple)
    requirements = forms.CharField(label=_("整改要求"), widget=_area(5), max_length=5000)
    working_days = forms.IntegerField(label=_("整改期限（工作日）"), required=False, min_value=1,
                                      max_value=MAX_WORKING_DAYS, help_text=_("填写工作日数，或在下面选择截止日期"))
    due_on = forms.DateField(label=_("或截止日期"), required=False, widget=DateInput)

    def __init__(self, *args, violations=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["violations"].choices = [(v.pk, f"{v.department} · {v.title}") for v in violations]


class OrderReportForm(BootstrapMixin, forms.Form):
    body = forms.CharField(label=_("整改情况"), widget=_area(6), max_length=10000)
    attachments = MultipleFileField(
        label=_("整改材料"), required=False,
        help_text=_("PDF、JPG、PNG、DOCX、XLSX，每个不超过 10 MB，最多 %(n)d 个") % {"n": MAX_ATTACHMENTS})


class OrderAcceptForm(BootstrapMixin, forms.Form):
    note = forms.CharField(label=_("验收意见"), widget=_area(2), required=False, max_length=2000)


class OrderReturnForm(BootstrapMixin, forms.Form):
    reason = forms.CharField(label=_("退回理由"), widget=_area(), max_length=2000)


class OrderReferForm(BootstrapMixin, forms.Form):
    authority = forms.CharField(label=_("移送机关"), max_length=200, help_text=_("如：市纪委监委派驻纪检监察组"))
    basis = forms.CharField(label=_("移送依据"), widget=_area(), max_length=5000)


class OrderFilterForm(forms.Form):
    state = forms.ChoiceField(label=_("状态"), required=False, choices=[("", _("全部状态")), *OrderState.choices])
    due = forms.ChoiceField(label=_("期限"), required=False, choices=[("", _("全部")), ("soon", _("即将到期或已超期"))])


class NoticeEditForm(BootstrapMixin, forms.Form):
    title = forms.CharField(label=_("标题"), max_length=200)
    body = forms.CharField(label=_("通报内容"), widget=_area(10), max_length=20000)


class NoticeFilterForm(forms.Form):
    state = forms.ChoiceField(label=_("状态"), required=False, choices=[("", _("全部状态")), *NoticeState.choices])


class NoticePublishForm(forms.Form):
    """Publishing posts nothing but the CSRF token."""
