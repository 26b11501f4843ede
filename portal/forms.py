"""Kernel web forms."""

import datetime as dt

from django import forms
from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm
from django.utils.translation import gettext_lazy as _

from portal.choices import DayKind


class BootstrapMixin:
    """Gives every widget Bootstrap's classes so templates can render fields as they are."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput):
                widget.attrs.setdefault("class", "form-check-input")
            elif isinstance(widget, forms.Select):
                widget.attrs.setdefault("class", "form-select")
            elif not isinstance(widget, forms.HiddenInput):
                widget.attrs.setdefault("class", "form-control")


class DateInput(forms.DateInput):
    """The browser's date picker (<input type="date">). Its value must be ISO (YYYY-MM-DD) whatever the language:
    Django's localised format (e.g. 2026/12/02) leaves the field empty, so an initial date would be lost."""

    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


class LoginForm(AuthenticationForm):
    username = forms.CharField(label=_("用户名"), widget=forms.TextInput(attrs={"autofocus": True}))
    password = forms.CharField(label=_("密码"), strip=False, widget=forms.PasswordInput)


class CalendarDayForm(BootstrapMixin, forms.Form):
    date = forms.DateField(label=_("日期"), widget=DateInput())
    kind = forms.ChoiceField(
        label=_("类型"),
        choices=[("", _("普通日（取消例外）")), *DayKind.choices],
        required=False,
    )
    name = forms.CharField(label=_("节日名称"), max_length=50, required=False)
    basis = forms.CharField(label=_("依据文件"), max_length=200, required=False)
    confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput)


class CalendarYearConfirmForm(BootstrapMixin, forms.Form):
    year = forms.IntegerField(label=_("年度"), min_value=2000, max_value=2100)
    basis = forms.CharField(
        label=_("依据文件"), max_length=200, help_text=_("如：国办发明电〔2026〕X号")
    )

    def clean_year(self):
        year = self.cleaned_data["year"]
        if year < dt.date.today().year - 1:
            raise forms.ValidationError(_("只能确认当前或以后的年度"))
        return year


class TokenForm(BootstrapMixin, forms.Form):
    name = forms.CharField(label=_("名称"), max_length=100)
    valid_days = forms.TypedChoiceField(
        label=_("有效期"),
        coerce=int,
        choices=[(30, _("30天")), (90, _("90天")), (365, _("一年"))],
        initial=90,
    )


class OwnPasswordChangeForm(BootstrapMixin, PasswordChangeForm):
    """Django's change form (old password, new twice): the new one goes through AUTH_PASSWORD_VALIDATORS, the
    portal's policy and history included."""


class OtpCodeForm(BootstrapMixin, forms.Form):
    """The second factor as typed: a 6-digit code from the authenticator app, or one backup code (xxxx-xxxx)."""

    code = forms.CharField(
        label=_("验证码"), max_length=20,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autofocus": True, "spellcheck": "false"}),
    )
