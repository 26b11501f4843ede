"""Cursor pagination (no OFFSET): stable under concurrent inserts and constant cost however deep.

Its two parameters are read as strictly as the lists' filters (portal.api.params): a bad `limit` or `cursor` answers
400 `invalid` — DRF would ignore the one and answer 404 (or 500, for a forged position) for the other.
"""

import re

from django.utils.translation import gettext as _
from rest_framework import pagination
from rest_framework.exceptions import NotFound, ValidationError

from .params import named_message, parse_integer

# What encode_cursor writes: standard base64 of a short query string.
_CURSOR = re.compile(r"[A-Za-z0-9+/=]{1,200}")


class CursorPagination(pagination.CursorPagination):
    ordering = "-id"
    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 500

    def get_page_size(self, request):
        """`limit`: a positive integer; above max_page_size, max_page_size."""
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        try:
            size = parse_integer(raw)
        except ValueError:
            size = 0
        if size < 1:
            name = self.page_size_query_param
            raise ValidationError({name: [named_message(name, _("须为正整数（半角数字 0-9）"))]})
        return min(size, self.max_page_size)

    def decode_cursor(self, request):
        """The cursor of a `next` / `previous` link, or None; anything else is refused."""
        raw = request.query_params.get(self.cursor_query_param)
        if raw is None:
            return None
        name = self.cursor_query_param
        invalid = ValidationError({name: [named_message(name, _("无效，请使用上一页返回的 next 或 previous 链接"))]})
        if not _CURSOR.fullmatch(raw):
            raise invalid
        try:
            cursor = super().decode_cursor(request)
        except NotFound:
            raise invalid from None
        ordering = (self.ordering,) if isinstance(self.ordering, str) else self.ordering
        if cursor.position is not None and ordering[0].lstrip("-") == "id":
            try:
                parse_integer(cursor.position)
            except ValueError:
                raise invalid from None
        return cursor
