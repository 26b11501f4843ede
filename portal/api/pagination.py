"""Cursor pagination (no OFFSET): stable under concurrent inserts and constant cost however deep."""

from rest_framework import pagination


class CursorPagination(pagination.CursorPagination):
    ordering = "-id"
    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 500
