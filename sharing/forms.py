"""Sharing web forms (validation of values; the services re-check every rule)."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from catalog.choices import EntryState, ExchangeMethod, ShareType
from catalog.models import CatalogEntry
from portal.forms import BootstrapMixin, DateInput
from portal.models import Department
from security.networks import parse_networks

from .choices import ATTACHMENT_EXTENSIONS, ATTACHMENT_MAX_BYTES, Purpose
from .data_api.online_query import key_kind_of
from .models import PushSubscription
from .push.target import MAX_DSN_LENGTH
from .selectors import pushable_grants
from .services.documents import MAX_BODY


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    widget = MultipleFileInput

    def clean(self, data, initial=None):
        files = data if isinstance(data, list | tuple) else ([data] if data else [])
        cleaned = [super(MultipleFileField, self).clean(f, initial) for f in files]
        for f in cleaned:
            ext = f.name.rsplit(".", 1)[-1].lower() if "." in f.name else ""
            if ext not in ATTACHMENT_EXTENSIONS:
                raise forms.ValidationError(_("附件只能是 PDF、JPG、PNG 或 DOCX 文件"))
            if f.size > ATTACHMENT_MAX_BYTES:
                raise forms.ValidationError(_("附件不能超过 10 MB"))
        return cleaned


def _date(label):
    return forms.DateField(label=label, widget=DateInput())


class SharingRequestForm(BootstrapMixin, forms.Form):
    legal_basis = forms.CharField(label=_("法律政策依据"), widget=forms.Textarea(attrs={"rows": 2}))
    duty_basis = forms.CharField(label=_("职责依据"), widget=forms.Textarea(attrs={"rows": 2}))
    business_need = forms.CharField(label=_("业务需求"), widget=forms.Textarea(attrs={"rows": 3}))
    purpose = forms.ChoiceField(label=_("用途"), choices=Purpose.choices)
    purpose_detail = forms.CharField(label=_("用途说明"), max_length=200, required=False)
    items = forms.MultipleChoiceField(label=_("申请信息项"), widget=forms.CheckboxSelectMultiple)
    methods = forms.MultipleChoiceField(label=_("共享方式"), widget=forms.CheckboxSelectMultiple)
    valid_from = _date(_("使用期限起"))
    valid_to = _date(_("使用期限止"))
    attachments = MultipleFileField(
        label=_("附件"), required=False, help_text=_("依据文件、公函等，PDF/JPG/PNG/DOCX，每个不超过 10 MB")
    )

    def __init__(self, *args, entry: CatalogEntry, **kwargs):
        super().__init__(*args, **kwargs)
        self.entry = entry
        self.fields["items"].choices = [
            (i.name, f"{i.name}（{i.get_data_type_display()}）" + (_("·基础项，无需申请") if i.is_base_item else ""))
            for i in entry.items.all()
        ]
        labels = dict(ExchangeMethod.choices)
        self.fields["methods"].choices = [(m, labels.get(m, m)) for m in entry.exchange_methods]
        for name in ("items", "methods"):
            self.fields[name].widget.attrs["class"] = "form-check-input"
        today = timezone.localdate()
        self.fields["valid_from"].initial = today
        self.fields["valid_to"].initial = today.replace(year=today.year + 1) - dt.timedelta(days=1)

    def clean(self):
        data = super().clean()
        if data.get("valid_from") and data.get("valid_to") and data["valid_from"] > data["valid_to"]:
            self.add_error("valid_to", _("结束日期不能早于开始日期"))
        if data.get("purpose") == Purpose.OTHER and not data.get("purpose_detail"):
            self.add_error("purpose_detail", _("用途为“其他”时请说明"))
        return data


class CommentForm(BootstrapMixin, forms.Form):
    body = forms.CharField(label=_("意见"), widget=forms.Textarea(attrs={"rows": 3}))


class ApproveForm(BootstrapMixin, forms.Form):
    items = forms.MultipleChoiceField(label=_("批准的信息项"), widget=forms.CheckboxSelectMultiple)
    valid_from = _date(_("有效期起"))
    valid_to = _date(_("有效期止"))
    comment = forms.CharField(label=_("审核意见"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, request_obj, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["items"].choices = [(n, n) for n in request_obj.items]
        self.fields["items"].initial = list(request_obj.items)
        self.fields["items"].widget.attrs["class"] = "form-check-input"
        self.fields["valid_from"].initial = request_obj.valid_from
        self.fields["valid_to"].initial = request_obj.valid_to


class ReasonForm(BootstrapMixin, forms.Form):
    reason = forms.CharField(label=_("理由"), widget=forms.Textarea(attrs={"rows": 2}))


class NetworksField(forms.CharField):
    """Source networks typed one per line (or separated by commas): the normalised CIDR list (security.networks)."""

    widget = forms.Textarea(attrs={"rows": 2, "placeholder": "10.1.2.0/24\n2001:db8::/48"})

    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("允许的来源网段"))
        kwargs.setdefault("help_text", _("IPv4 或 IPv6 地址、网段（CIDR），每行一个；只接受来自这些网段的调用"))
        super().__init__(**kwargs)

    def to_python(self, value):
        text = super().to_python(value)
        if len(text) > 4000:
            raise forms.ValidationError(_("内容过长"), code="max_length")
        return parse_networks(text)

    def prepare_value(self, value):
        return "\n".join(value) if isinstance(value, list | tuple) else value

    def validate(self, value):
        if self.required and not value:
            raise forms.ValidationError(self.error_messages["required"], code="required")


class ApiClientForm(BootstrapMixin, forms.Form):
    department = forms.ModelChoiceField(label=_("所属部门"), queryset=Department.objects.filter(is_active=True))
    name = forms.CharField(label=_("系统名称"), max_length=100)
    rate_per_minute = forms.IntegerField(label=_("每分钟调用上限"), min_value=1, max_value=100_000, initial=600)
    contact = forms.CharField(label=_("联系人及电话"), max_length=100, required=False)
    allowed_networks = NetworksField()


class ApiClientNetworksForm(BootstrapMixin, forms.Form):
    allowed_networks = NetworksField()


class CatalogFilterForm(BootstrapMixin, forms.Form):
    q = forms.CharField(label=_("搜索"), required=False)
    share_type = forms.ChoiceField(label=_("共享类型"), required=False, choices=[("", _("全部")), *ShareType.choices])
    method = forms.ChoiceField(label=_("共享方式"), required=False,
                               choices=[("", _("全部")), *ExchangeMethod.choices])
    provider = forms.ModelChoiceField(label=_("提供部门"), required=False,
                                      queryset=Department.objects.filter(is_active=True))


class PushSubscriptionForm(BootstrapMixin, forms.Form):
    grant = forms.ModelChoiceField(label=_("授权"), queryset=PushSubscription.objects.none())
    dsn = forms.CharField(
        label=_("前置库连接串"), max_length=MAX_DSN_LENGTH,
        help_text=_("postgresql://用户:口令@主机:端口/库名；加密保存，保存后不再显示"),
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
    )
    table = forms.CharField(label=_("目标表"), max_length=63,
                            help_text=_("小写字母、数字、下划线；不存在时自动创建"))
    interval_minutes = forms.IntegerField(label=_("推送间隔（分钟）"), min_value=1, max_value=10080,
                                          initial=60)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["grant"].queryset = pushable_grants(user)
        self.fields["grant"].label_from_instance = lambda g: f"#{g.pk} {g.entry.name}（{g.valid_to:%Y-%m-%d} 止）"


class OnlineQueryForm(BootstrapMixin, forms.Form):
    key = forms.CharField(label=_("身份证号 / 统一社会信用代码"), max_length=18, min_length=18,
                          widget=forms.TextInput(attrs={"autocomplete": "off", "autofocus": True}))
    purpose = forms.ChoiceField(label=_("用途"), choices=Purpose.choices)
    purpose_detail = forms.CharField(label=_("用途说明（办理事项）"), max_length=150, required=False)
    resource = forms.ModelChoiceField(label=_("资源（可选）"), queryset=CatalogEntry.objects.none(),
                                      required=False, empty_label=_("全部可查询的资源"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["resource"].queryset = (
            CatalogEntry.objects.filter(state=EntryState.APPROVED, is_secret=False, dataset__isnull=False)
            .filter(dataset__key_kind__in=["id_number", "credit_code"]).order_by("code")
        )

    def clean_key(self):
        key = self.cleaned_data["key"].strip().upper()
        if key_kind_of(key) is None:
            raise forms.ValidationError(gettext("请输入有效的18位身份证号或统一社会信用代码"))
        return key

    def purpose_text(self) -> str:
        label = Purpose(self.cleaned_data["purpose"]).label
        detail = self.cleaned_data.get("purpose_detail", "").strip()
        return f"{label}：{detail}" if detail else str(label)


class VerifyForm(BootstrapMixin, forms.Form):
    record = forms.CharField(label=_("记录（JSON，含 integrity 字段）"), max_length=MAX_BODY,
                             widget=forms.Textarea(attrs={"rows": 12, "class": "font-monospace"}))
