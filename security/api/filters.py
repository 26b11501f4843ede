"""The audit trail search's parameters (AuditEventFilterSet, on portal.api.params): the API's list and the page's form.

Every value is read strictly before any query: NUL and other control characters, over-long text, non-ASCII digits,
unknown choices, a malformed address or network, an unreadable time, `since` after `until` — 400 `invalid` with a
Chinese message naming the parameter in the API, a form error on the page.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from zoneinfo import ZoneInfo

import django_filters
from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from drf_spectacular.drainage import set_override

from portal.api.params import ChoiceFilter, FilterSet, IdFilter, IntegerField, TextField, TextFilter
from portal.choices import AuditResult
from portal.services.workdays import local_today
from portal.validators import MAX_TEXT_LENGTH, text_problem

from ..choices import AnomalyKind, AnomalyState, IncidentSeverity, IncidentState, RiskAssessmentState, SecrecyState
from ..selectors.audit import search_events

_ACTION = re.compile(r"[a-z0-9_]+(?:\.[a-z0-9_]+)*\.?")
_OBJECT_TYPE = re.compile(r"[a-z0-9_]+\.[a-z0-9_]+")
# YYYY-MM-DD, optionally followed by HH:MM or HH:MM:SS (T or a blank between), ASCII digits only.
_WHEN = re.compile(r"(?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2})(?:[T ](?P<h>[0-9]{2}):(?P<m>[0-9]{2})(?::(?P<s>[0-9]{2}))?)?")
_NETWORK = re.compile(r"[0-9A-Fa-f.:]{2,39}(?:/[0-9]{1,3})?")


class _PlainText(TextField):
    """A text field whose value is also free of control characters (portal.validators.text_problem) and at most
    `max_length` characters — judged on the text, before a subclass turns it into a time or a network."""

    def __init__(self, *args, max_length: int = MAX_TEXT_LENGTH, **kwargs):
        self.limit = max_length
        super().__init__(*args, **kwargs)

    def to_python(self, value):
        value = super().to_python(value)
        problem = text_problem(value) if value else None
        if problem:
            raise ValidationError(problem, code="invalid")
        if len(value) > self.limit:
            raise ValidationError(_("不能超过 %(n)d 个字符") % {"n": self.limit}, code="invalid")
        return value


class _PatternField(_PlainText):
    def __init__(self, *args, pattern: re.Pattern, message, **kwargs):
        self.pattern, self.message = pattern, message
        super().__init__(*args, **kwargs)

    def to_python(self, value):
        value = super().to_python(value)
        if value and not self.pattern.fullmatch(value):
            raise ValidationError(self.message, code="invalid")
        return value


class ActionField(_PatternField):
    def __init__(self, *args, **kwargs):
        message = _("须为事件类型代码（如 portal.auth.login），以“.”结尾表示前缀")
        super().__init__(*args, pattern=_ACTION, message=message, **kwargs)


class ObjectTypeField(_PatternField):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, pattern=_OBJECT_TYPE, message=_("须为对象类型代码（如 sharing.grant）"), **kwargs)


class NetworkField(_PlainText):
    """One IPv4/IPv6 address or network (CIDR): the ip_network it stands for."""

    def to_python(self, value):
        value = super().to_python(value)
        if not value:
            return None
        try:
            if not _NETWORK.fullmatch(value):
                raise ValueError(value)
            return ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise ValidationError(_("须为 IP 地址或网段（如 10.1.2.3、10.1.0.0/16、2001:db8::/32）"),
                                  code="invalid") from None


class WhenField(_PlainText):
    """A date or a date and time in Asia/Shanghai (`2026-12-01`, `2026-12-01 08:30`, `2026-12-01T08:30:15`).

    `end=False`: the first instant it names; `end=True`: the first instant after it (a date is the whole day, a
    minute the whole minute), so the search's `until` includes what it names."""

    def __init__(self, *args, end: bool = False, **kwargs):
        self.end = end
        super().__init__(*args, **kwargs)

    def to_python(self, value):
        value = super().to_python(value)
        if not value:
            return None
        match = _WHEN.fullmatch(value)
        message = _("须为日期或日期时间（北京时间，如 2026-12-01 或 2026-12-01 08:30）")
        if not match:
            raise ValidationError(message, code="invalid")
        try:
            day = dt.date.fromisoformat(match["date"])
            hour, minute, second = (int(match[k]) if match[k] else 0 for k in ("h", "m", "s"))
            moment = dt.datetime.combine(day, dt.time(hour, minute, second), tzinfo=ZoneInfo(settings.TIME_ZONE))
        except ValueError:
            raise ValidationError(message, code="invalid") from None
        if self.end:
            step = (dt.timedelta(days=1) if match["h"] is None
                    else dt.timedelta(seconds=1) if match["s"] else dt.timedelta(minutes=1))
            moment += step
        return moment


class _Filter(django_filters.Filter):
    """A parameter read by its field and applied by the selector (AuditEventFilterSet.filter_queryset)."""

    def filter(self, qs, value):
        return qs


def _filter(field: type[forms.Field], base: type[django_filters.Filter] = _Filter) -> type[django_filters.Filter]:
    return type(f"{field.__name__}Filter", (base,), {"field_class": field})


PlainTextFilter = _filter(_PlainText, TextFilter)
ActionFilter = _filter(ActionField)
ObjectTypeFilter = _filter(ObjectTypeField)
NetworkFilter = _filter(NetworkField)
class WhenFilter(_Filter):
    field_class = WhenField

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Not a model field: documented as the text it is (a date, or a date and time), with its help text.
        set_override(self, "field", {"type": "string", "description": kwargs.get("help_text", "")})
IntegerFilter = _filter(IntegerField)


class AuditSearchForm(forms.Form):
    def clean(self):
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and since >= until:
            self.add_error("until", ValidationError(_("截止时间须晚于起始时间"), code="invalid"))
        return data


class PageSizeField(IntegerField):
    def validate(self, value):
        super().validate(value)
        from ..selectors.audit import PAGE_SIZES

        if value is not None and value not in PAGE_SIZES:
            raise ValidationError(_("须为 20、50 或 100"), code="invalid")


class AuditEventFilterSet(FilterSet):
    """审计日志查询。参数均可省略；多个参数同时给出时取交集。"""

    person = PlainTextFilter(help_text="操作人：用户名、姓名，或接入系统的 client:客户端编号；精确匹配", max_length=150)
    department = IdFilter(field_name="department", help_text="部门编号")
    action = ActionFilter(max_length=100,
                     help_text="事件类型：完整代码（portal.auth.login），或以“.”结尾的前缀（sharing.）")
    object_type = ObjectTypeFilter(max_length=100, help_text="对象类型（如 sharing.grant）")
    object_id = PlainTextFilter(field_name="object_id", max_length=64, help_text="对象编号")
    grant = IdFilter(field_name="id", help_text="授权编号：该授权本身的事件，以及按该授权读取、推送数据的事件")
    result = ChoiceFilter(choices=AuditResult.choices, help_text="结果")
    ip = NetworkFilter(max_length=43, help_text="来源 IP：单个地址，或网段（CIDR）")
    since = WhenFilter(max_length=19,
                    help_text="起始时间（含），北京时间：YYYY-MM-DD 或 YYYY-MM-DD HH:MM[:SS]")
    until = WhenFilter(end=True, max_length=19,
                    help_text="截止时间（含），北京时间：YYYY-MM-DD（含当天）或 YYYY-MM-DD HH:MM[:SS]")

    class Meta:
        form = AuditSearchForm

    def filter_queryset(self, queryset):
        return search_events(self.form.cleaned_data, queryset)


class AuditPageFilterSet(AuditEventFilterSet):
    """The page's parameters: the search's, and its keyset paging (`before` / `after` an id, `size`)."""

    before = IntegerFilter(min_value=1)
    after = IntegerFilter(min_value=1)
    size = _filter(PageSizeField)()


SEARCH_FIELDS = tuple(AuditEventFilterSet.base_filters)


def used_filters(cleaned: dict) -> dict:
    """The filters of a search as its audit event records them (values as text, empty ones left out)."""
    used = {}
    for name in SEARCH_FIELDS:
        value = cleaned.get(name)
        if value in (None, ""):
            continue
        if isinstance(value, dt.datetime):
            value = value.isoformat()
        used[name] = str(getattr(value, "pk", value))
    return used


class IncidentFilterSet(FilterSet):
    """The incident register's list parameters (R31)."""

    state = ChoiceFilter(choices=IncidentState.choices, help_text="状态")
    severity = ChoiceFilter(choices=IncidentSeverity.choices, help_text="事件级别")
    department = IdFilter(field_name="departments", help_text="涉及部门编号")


class SecrecyReviewFilterSet(FilterSet):
    """The secrecy review register's list parameters (R30)."""

    state = ChoiceFilter(choices=SecrecyState.choices, help_text="状态")


class RiskAssessmentFilterSet(FilterSet):
    """The risk assessment register's list parameters (R32)."""

    state = ChoiceFilter(choices=RiskAssessmentState.choices, help_text="状态")
    department = IdFilter(field_name="department", help_text="部门编号")


class EmergencyPlanFilterSet(FilterSet):
    """The emergency plans' list parameters (R31)."""

    overdue = ChoiceFilter(choices=[("true", "是"), ("false", "否")], method="filter_overdue",
                           help_text="true：仅逾期未评审；false：仅未逾期")

    def filter_overdue(self, queryset, name, value):
        today = local_today()
        return queryset.filter(review_date__lt=today) if value == "true" else queryset.filter(review_date__gte=today)


class LeakAnomalyFilterSet(FilterSet):
    """The leak monitor's anomalies' list parameters (R28.4)."""

    kind = ChoiceFilter(choices=AnomalyKind.choices, help_text="类型")
    state = ChoiceFilter(choices=AnomalyState.choices, help_text="状态")
    caller = PlainTextFilter(field_name="caller", max_length=150,
                             help_text="调用方：用户名或 client:客户端编号；精确匹配")
    department = IdFilter(field_name="department", help_text="部门编号")
