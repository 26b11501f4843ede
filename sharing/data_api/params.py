"""The query parameters of a data call, read by one serializer: `fields`, `since`, `limit`, `cursor`, item filters.

Every parameter is judged in one `is_valid()`. The call refuses with the first error in its own order (prepare_call):
`fields` and unsupported filters first, then — once the grant policy has allowed the items and the purpose is given —
the filters' values, `since`, `limit`, `cursor`. So the values that passed are kept (`values`) also when another
parameter did not: DRF's `validated_data` would be empty then, and the policy needs the projection and the filter
names whatever the paging parameters say. Messages and codes are the data API's own (every refusal is `invalid`).

A parameter is taken as sent (the last value when repeated, as `QueryDict.get`): no trimming, no blank-to-absent —
each field's own check decides, as the hand-written parsing did. A NUL byte is refused everywhere (PostgreSQL's text
and the refusal's audit event cannot hold it); `limit` takes ASCII digits only (portal.api.params.parse_integer).
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from rest_framework import serializers
from rest_framework.fields import SkipField, empty

from portal.api.params import parse_integer

from .cursor import decode_cursor

DEFAULT_LIMIT = 100
MAX_LIMIT = 5000
# The call's own parameters; every other one is an item filter (`?<item>=<value>`).
RESERVED_PARAMS = frozenset({"fields", "limit", "cursor", "since", "format", "bom"})
MAX_FILTER_VALUE = 500


class _Param(serializers.Field):
    """One query parameter as sent; absent: skipped."""

    def get_value(self, dictionary):
        return dictionary.get(self.field_name, empty)

    def validate_empty_values(self, data):
        if data is empty:
            raise SkipField()
        return False, data


class _Fields(_Param):
    """`fields=a,b`: the projected items, in the order given, each once."""

    def to_internal_value(self, data) -> list[str]:
        if "\x00" in str(data):
            raise serializers.ValidationError(_("fields 不能包含空字符（NUL）"))
        names = list(dict.fromkeys(n.strip() for n in str(data).split(",") if n.strip()))
        if not names:
            raise serializers.ValidationError(_("fields 不能为空"))
        return names


class _Since(_Param):
    """`since`: an ISO 8601 time (a `+` of the offset arrives as a space); naive means the current time zone.
    ASCII only, without NUL (parse_datetime reads full-width digits, and overlooked a trailing NUL)."""

    def to_internal_value(self, data) -> dt.datetime:
        text = str(data)
        try:
            parsed = parse_datetime(text.strip().replace(" ", "+")) if text.isascii() and "\x00" not in text else None
        except ValueError:
            parsed = None
        if parsed is None:
            raise serializers.ValidationError(_("since 须为 ISO 8601 时间，例如 2026-01-01T08:00:00+08:00"))
        return timezone.make_aware(parsed) if timezone.is_naive(parsed) else parsed


class _Limit(_Param):
    """`limit`: 1 … MAX_LIMIT rows a page, in ASCII digits (no decimals, no `１`, no `1_0`)."""

    def to_internal_value(self, data) -> int:
        try:
            limit = parse_integer(data)
        except ValueError:
            limit = 0
        if not 1 <= limit <= MAX_LIMIT:
            raise serializers.ValidationError(_("limit 须为 1 至 %(max)d 之间的整数") % {"max": MAX_LIMIT})
        return limit


class _Cursor(_Param):
    """`cursor`: opaque here; decoded in `validate` (it needs `since`, the cursor's mode, and the dataset), which runs
    only when every other parameter passed — the cursor is the last one judged."""

    def to_internal_value(self, data) -> str:
        return data


class _FilterValue(_Param):
    """`<item>=<value>`: a non-empty value of at most MAX_FILTER_VALUE characters, without NUL; not an encrypted item
    other than the subject key (only the key has a blind index)."""

    def to_internal_value(self, data) -> str:
        name = self.field_name
        if data is None or data == "" or len(data) > MAX_FILTER_VALUE or "\x00" in data:
            raise serializers.ValidationError(_("筛选条件“%(item)s”的值无效") % {"item": name})
        dataset = self.context["dataset"]
        if dataset is not None and name in dataset.encrypted_items and name != dataset.key_item_name:
            raise serializers.ValidationError(
                _("加密存储的信息项“%(item)s”不能作为筛选条件，请按主体标识筛选") % {"item": name})
        return data


_FILTER_VALUE = _FilterValue(required=False)


def _clone(field: serializers.Field) -> serializers.Field:
    """A shallow copy of an unbound field (what copy.copy makes, without its reduce protocol)."""
    clone = object.__new__(type(field))
    clone.__dict__.update(field.__dict__)
    return clone


class DataCallParams(serializers.Serializer):
    """The parameters of one data call. Context: `dataset` (the entry's, or None), `paged` (the pull: `limit` and
    `cursor` are read; other calls ignore them), `filters_allowed` (the online query takes no filters).

    After `is_valid()`: `values` (fields → list or None, since → aware datetime or None, limit → int or None,
    cursor → (id,) / (updated_at, id) or None, cursor_given), `filters` (item → value, in query order), and
    `errors` keyed by parameter — `params` for filters where none are allowed or a name with NUL, the item's name for
    a filter value."""

    fields = _Fields(required=False)
    since = _Since(required=False)
    limit = _Limit(required=False)
    cursor = _Cursor(required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        query = self.initial_data
        self.filters: dict[str, str] = {k: query.get(k) for k in query if k not in RESERVED_PARAMS}
        self.values: dict = {}

    def get_fields(self):
        # Shallow copies of the declared fields (DRF deep-copies them, re-running each Field.__init__: ≈ ten times the
        # cost of the whole validation). Safe: binding sets only the copy's own attributes, and no check keeps state.
        declared = self._declared_fields
        names = ("fields", "since", "limit", "cursor") if self.context.get("paged") else ("fields", "since")
        fields = {name: _clone(declared[name]) for name in names}
        if self.context.get("filters_allowed", True):
            for name in self.filters:
                fields[name] = _clone(_FILTER_VALUE)
        return fields

    def to_internal_value(self, data):
        # As Serializer.to_internal_value, keeping what passed (see the module docstring).
        values, errors = {}, {}
        for field in self._writable_fields:
            try:
                values[field.field_name] = field.run_validation(field.get_value(data))
            except serializers.ValidationError as exc:
                errors[field.field_name] = exc.detail
            except SkipField:
                pass
        if any("\x00" in name for name in self.filters):
            errors["params"] = [_("参数名不能包含空字符（NUL）")]
        elif self.filters and not self.context.get("filters_allowed", True):
            names = "、".join(sorted(self.filters))[:200]
            errors["params"] = [_("不支持的参数：%(names)s") % {"names": names}]
        self.values = {
            "fields": values.get("fields"), "since": values.get("since"), "limit": values.get("limit"),
            "cursor": values.get("cursor"), "cursor_given": "cursor" in values,
        }
        if errors:
            raise serializers.ValidationError(errors)
        return self.values

    def validate(self, attrs):
        if attrs["cursor_given"]:
            dataset = self.context["dataset"]
            since = attrs["since"]
            cursor = decode_cursor(attrs["cursor"], dataset_id=dataset.pk if dataset else None,
                                   incremental=since is not None)
            if cursor is None or (since is not None and cursor[0] <= since):
                raise serializers.ValidationError({"cursor": [_("cursor 无效，请使用上一页返回的 next 链接")]})
            attrs["cursor"] = cursor
        return attrs
