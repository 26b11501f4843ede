"""Catalog update cases, read side."""

from __future__ import annotations

from django.db.models import QuerySet

from portal.models import User

from ..models import CatalogUpdateCase


def update_case_list(*, user: User, filters: dict | None = None) -> QuerySet[CatalogUpdateCase]:
    """Update cases `user` may see, newest first; filters: state."""
    filters = filters or {}
    qs = CatalogUpdateCase.objects.restrict(user, "view")
    if filters.get("state"):
        qs = qs.filter(state=filters["state"])
    return qs.select_related("entry", "department").order_by("-id")

