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
class SettingsForm(forms.Form):
    """The settings one administrator role owns (portal.services.settings.REGISTRY), each a field of its kind."""

    def __init__(self, owner: str, *args, **kwargs):
        from portal.services.settings import keys_of, values_of

        super().__init__(*args, initial=values_of(owner), **kwargs)
        for key in keys_of(owner):
            common = {"label": key.label, "help_text": key.help_text}
            if key.kind == "bool":
                field = forms.BooleanField(required=False, **common)
                field.widget.attrs["class"] = "form-check-input"
            elif key.kind == "int":
                field = forms.IntegerField(min_value=key.minimum, max_value=key.maximum, **common)
            else:
                widget = forms.Textarea(attrs={"rows": 3}) if key.multiline else forms.TextInput()
                field = forms.CharField(required=False, max_length=key.max_length, widget=widget, **common)
            field.widget.attrs.setdefault("class", "form-control")
            self.fields[key.key] = field


class RoleSearchForm(forms.Form):
    """The security administrator's search of accounts (GET parameters, read strictly)."""

    q = forms.CharField(label=_("用户名或姓名"), required=False, max_length=50)
    department = forms.ModelChoiceField(label=_("所属部门"), required=False, queryset=None, empty_label=_("全部部门"))
    role = forms.ChoiceField(label=_("角色"), required=False)

    def __init__(self, *args, **kwargs):
        from portal.choices import Role
        from portal.models import Department

        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = Department.objects.order_by("region__code", "name")
        self.fields["role"].choices = [("", _("全部角色")), ("none", _("无角色")), *Role.choices]
        for name, field in self.fields.items():
            small = "form-control-sm" if name == "q" else "form-select form-select-sm"
            field.widget.attrs["class"] = f"form-control {small}" if name == "q" else small

    def clean_q(self):
        from portal.validators import text_problem

        q = self.cleaned_data["q"].strip()
        problem = text_problem(q)
        if problem:
            raise forms.ValidationError(problem)
        return q


class RoleGrantForm(forms.Form):
    role = forms.ChoiceField(label=_("授予角色"))

    def __init__(self, *args, held=(), **kwargs):
        from portal.choices import Role

        super().__init__(*args, **kwargs)
        self.fields["role"].choices = [(r.value, r.label) for r in Role if r.value not in held]
        self.fields["role"].widget.attrs["class"] = "form-select"
