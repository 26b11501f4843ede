"""The API's query and path parameters, read strictly: every bad value answers 400 `invalid`, none is ignored or reaches
SQL.

Django's and DRF's integer fields read what int() reads — full-width and other Unicode digits (`１`), `1_0`, `1.0`
— and django-filter's choice messages echo the value sent (a NUL byte, 10 000 characters). The fields here take
ASCII digits only and answer with short Chinese messages that name the parameter.

Each app's `api/filters.py` declares its lists' FilterSets on `FilterSet` below; `DjangoFilterBackend` (the
project's default filter backend) reads them, drf-spectacular documents them, and a FilterSet's errors reach the
client through `portal.exceptions` as `{"code": "invalid", "detail": "<parameter>：<message>", "errors": {…}}`.

A parameter NAME a list or a query serializer does not know (a typo'd filter: `?sate=draft`) is refused the same way
(`StrictFilterBackend`, `QuerySerializer`), so a typo never silently answers the whole list; the pagination parameters
(`cursor`, `limit`) and DRF's `format` are known everywhere.

A free-text segment of a URL path (`<str:resource>`, `<str:key>`) is checked by `path_text` before the view looks
anything up with it (the rule: portal.validators.text_problem; such a value made storable: safe_text).
"""

from __future__ import annotations

import re

import django_filters
from django import forms
from django.core import validators
from django.core.exceptions import ValidationError
from django.forms.utils import ErrorDict, ErrorList
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_filters import fields
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import serializers
from rest_framework.settings import api_settings

from portal.errors import PortalError
from portal.validators import MAX_TEXT_LENGTH, text_problem

# 18 digits: every value fits a bigint (an id, an offset, a page size).
_INTEGER = re.compile(r"[0-9]{1,18}")
_ASCII_SPACE = " \t\r\n"
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def parse_integer(value) -> int:
    """A non-negative integer written in ASCII digits (surrounding blanks allowed); ValueError otherwise."""
    text = str(value).strip(_ASCII_SPACE)
    if not _INTEGER.fullmatch(text):
        raise ValueError(value)
    return int(text)


def named_message(name: str, message) -> str:
    """A refusal's message led by its parameter's name (the API's `detail` is the first message alone)."""
    return _("%(name)s：%(message)s") % {"name": name, "message": message}


# ---------------------------------------------------------------- lists: django-filter


class IntegerField(forms.IntegerField):
    """forms.IntegerField reading ASCII digits only (see parse_integer)."""

    default_error_messages = {"invalid": gettext_lazy("须为整数（半角数字 0-9）")}

    def to_python(self, value):
        if value in self.empty_values:
            return None
        try:
            return parse_integer(value)
        except ValueError:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None


class ChoiceField(fields.ChoiceField):
    """django-filter's ChoiceField whose refusal lists the values instead of echoing the one sent (a NUL byte,
    10 000 characters)."""

    default_error_messages = {"invalid_choice": gettext_lazy("须为以下值之一：%(values)s")}

    def validate(self, value):
        forms.Field.validate(self, value)
        if value and not self.valid_value(value):
            values = "、".join(str(key) for key, _label in self.choices if key != "")
            raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice",
                                  params={"values": values})


class TextField(forms.CharField):
    """forms.CharField (stripped, NUL refused) with a plain message for NUL (Django's Chinese one says "empty")."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.validators = [
            validators.ProhibitNullCharactersValidator(message=gettext_lazy("不能包含空字符（NUL）"))
            if isinstance(v, validators.ProhibitNullCharactersValidator) else v
            for v in self.validators
        ]


class IdFilter(django_filters.Filter):
    """An object's id (a department, a dataset): 1 or more, ASCII digits. Its `field_name` is a foreign key, which
    gives its type in the OpenAPI document (a NumberFilter would be documented as any number)."""

    field_class = IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        super().__init__(*args, **kwargs)


class ChoiceFilter(django_filters.ChoiceFilter):
    """One of fixed values (an empty value: no filter)."""

    field_class = ChoiceField


class TextFilter(django_filters.CharFilter):
    """Free text of at most MAX_TEXT_LENGTH characters, without NUL."""

    field_class = TextField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", MAX_TEXT_LENGTH)
        super().__init__(*args, **kwargs)


class FilterSet(django_filters.FilterSet):
    """Base of the API lists' FilterSets. A list whose rule lives in a selector (the pages use it too) overrides
    `filter_queryset` to hand `self.form.cleaned_data` to that selector's filter function."""

    @property
    def errors(self) -> ErrorDict:
        named = ErrorDict()
        for name, errors in self.form.errors.as_data().items():
            # Rendered here (DjangoFilterBackend renders `message % params` again: a `%` is escaped).
            named[name] = ErrorList([ValidationError(named_message(name, message).replace("%", "%%"), code=error.code)
                                     for error in errors for message in error])
        return named



def unknown_names(given, known) -> PortalError | None:
    """The refusal of the first query parameter name in `given` that is not in `known` (nor `format`), or None."""
    unknown = [name for name in given if name not in known and name != api_settings.URL_FORMAT_OVERRIDE]
    if not unknown:
        return None
    # The name is the client's: shown cut short, never as the key of `errors` beyond its first 50 characters.
    name = unknown[0][:50]
    message = named_message(name, _("不支持的参数（请检查参数名）"))
    return PortalError(message, code="invalid", errors={name: [message]})


def refuse_unknown_names(request, view, filterset_class) -> None:
    """Raise 400 `invalid` for a query parameter name that neither `filterset_class` nor the view's paginator reads
    (for a list view that reads its FilterSet itself rather than through the filter backend)."""
    known = set(filterset_class.base_filters) if filterset_class is not None else set()
    paginator = getattr(view, "paginator", None)
    for attr in ("cursor_query_param", "page_size_query_param", "page_query_param", "limit_query_param",
                 "offset_query_param"):
        if getattr(paginator, attr, None):
            known.add(getattr(paginator, attr))
    refusal = unknown_names(request.query_params, known)
    if refusal is not None:
        raise refusal


class StrictFilterBackend(DjangoFilterBackend):
    """DjangoFilterBackend that refuses, on a list, a query parameter name neither its FilterSet nor its paginator
    reads. A detail view (an id in the URL) reads no query parameter and is left alone."""

    def filter_queryset(self, request, queryset, view):
        if _is_list(view):
            refuse_unknown_names(request, view, self.get_filterset_class(view, queryset))
        return super().filter_queryset(request, queryset, view)


def _is_list(view) -> bool:
    action = getattr(view, "action", None)
    if action is not None:
        return action == "list"
    lookup = getattr(view, "lookup_url_kwarg", None) or getattr(view, "lookup_field", None)
    return lookup not in getattr(view, "kwargs", {})


# ---------------------------------------------------------------- other endpoints: a query serializer


class IntegerParam(serializers.IntegerField):
    """The same rule for a query serializer's integer (DRF's IntegerField reads `１` and `1.0`)."""

    default_error_messages = {"invalid": gettext_lazy("须为整数（半角数字 0-9）")}

    def to_internal_value(self, data):
        try:
            return parse_integer(data)
        except ValueError:
            self.fail("invalid")


class DateParam(serializers.DateField):
    """A date written YYYY-MM-DD in ASCII digits (DRF's DateField reads `２０２６-01-01` too): a query serializer's or
    a request body's."""

    default_error_messages = {"invalid": gettext_lazy("须为日期，格式 YYYY-MM-DD（半角数字）")}

    def to_internal_value(self, value):
        if isinstance(value, str) and not _ISO_DATE.fullmatch(value.strip(_ASCII_SPACE)):
            self.fail("invalid")
        return super().to_internal_value(value)


class ChoiceParam(serializers.ChoiceField):
    """A query serializer's choice, refused as ChoiceFilter refuses (DRF's message echoes the value sent)."""

    default_error_messages = {"invalid_choice": gettext_lazy("须为以下值之一：{values}")}

    def to_internal_value(self, data):
        if data == "" and self.allow_blank:
            return ""
        try:
            return self.choice_strings_to_values[str(data)]
        except KeyError:
            self.fail("invalid_choice", values="、".join(self.choice_strings_to_values))


class QuerySerializer(serializers.Serializer):
    """The query parameters of an endpoint that is not a list (a page of rows, a calculation), with the same
    messages as a FilterSet's: `QuerySerializer(data=request.query_params)`; `parameters=[…]` in @extend_schema.
    A name none of its fields reads is refused (a typo); `extra_names` lists names the view reads itself."""

    extra_names: tuple[str, ...] = ()

    def to_internal_value(self, data):
        refusal = unknown_names(data, {*self.fields, *self.extra_names})
        if refusal is not None:
            raise serializers.ValidationError(refusal.errors)
        try:
            return super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if not isinstance(exc.detail, dict):
                raise
            raise serializers.ValidationError(
                {name: [named_message(name, message) for message in messages] for name, messages in exc.detail.items()}
            ) from None


# ---------------------------------------------------------------- URL path segments


def path_text(value: str, name: str) -> str:
    """`value`, the URL path's free-text parameter `name` (`<str:name>`), when portal.validators.text_problem finds
    nothing wrong; else PortalError 400 `invalid` naming the parameter. Every view taking such a parameter calls this
    first, before it looks anything up with the value."""
    problem = text_problem(value)
    if problem:
        message = named_message(name, problem)
        raise PortalError(message, code="invalid", errors={name: [message]})
    return value
