"""Sharing read side: the shared catalog, request lists and the review queue, grants, API clients, push grants."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Count, F, Prefetch, Q, QuerySet

from catalog.choices import EntryState, ExchangeMethod, ShareType
from catalog.models import CatalogEntry
from catalog.selectors.entries import master_catalog
from portal.choices import Clock, Role
from portal.models import User
from portal.permissions import is_department_member
from portal.selectors.deadlines import DeadlineRow, deadline_row, deadline_rows, with_deadline
from portal.services.workdays import local_today

from .choices import GrantState, RequestState
from .models import ApiClient, Grant, SharingRequest


def shared_catalog(*, user: User, filters: dict | None = None) -> QuerySet[CatalogEntry]:
    """共享目录 (R21.1): published entries with their sharing type, condition and exchange methods.

    The bureau's approval is the publication (EntryState.APPROVED is "已发布"); filters: q, share_type,
    provider, classification, method (an exchange method the entry offers).
    """
    filters = dict(filters or {})
    method = filters.pop("method", None)
    qs = master_catalog(user=user, filters=filters).filter(is_secret=False)
    if method:
        qs = qs.filter(exchange_methods__contains=[method])
    return qs.annotate(item_count=Count("items"))


def shared_catalog_counts(*, user: User) -> dict[str, int]:
    """Published entries per sharing type, for the catalog's tabs."""
    rows = (
        CatalogEntry.objects.restrict(user, "view").filter(state=EntryState.APPROVED, is_secret=False)
        .values("share_type").annotate(n=Count("id"))
    )
    counts = {t.value: 0 for t in ShareType}
    counts.update({r["share_type"]: r["n"] for r in rows})
    return counts


def department_standing(*, department_id: int | None, entry_ids: list[int]) -> dict[str, set[int]]:
    """Of `entry_ids`: which the department holds a grant valid today on, and which it has a request pending for."""
    if not department_id or not entry_ids:
        return {"granted": set(), "pending": set()}
    today = local_today()
    granted = Grant.objects.filter(
        consumer_id=department_id, entry_id__in=entry_ids, state=GrantState.ACTIVE,
        valid_from__lte=today, valid_to__gte=today,
    ).values_list("entry_id", flat=True)
    pending = SharingRequest.objects.filter(
        consumer_id=department_id, entry_id__in=entry_ids, state=RequestState.SUBMITTED
    ).values_list("entry_id", flat=True)
    return {"granted": set(granted), "pending": set(pending)}


REQUEST_BOXES = ("mine", "provider", "review", "all")


def sharing_request_list(*, user: User, filters: dict | None = None) -> QuerySet[SharingRequest]:
    """Requests the user may see, filtered (sharing_request_filter)."""
    qs = SharingRequest.objects.restrict(user, "view").select_related("consumer", "entry__provider")
    return sharing_request_filter(qs, user=user, filters=filters or {})


def sharing_request_filter(qs: QuerySet[SharingRequest], *, user: User, filters: dict) -> QuerySet[SharingRequest]:
    """`qs` filtered — the pages' and the API's one rule. box: mine (my department asked), provider (asked of my
    department), review (waiting for a bureau decision), all; state."""
    box = filters.get("box")
    if box == "mine":
        qs = qs.filter(consumer_id=user.department_id)
    elif box == "provider":
        qs = qs.filter(entry__provider_id=user.department_id)
    elif box == "review":
        qs = qs.filter(state=RequestState.SUBMITTED) if user.has_role(Role.BUREAU_REVIEWER) else qs.none()
    if filters.get("state") in RequestState.values:
        qs = qs.filter(state=filters["state"])
    return qs.order_by("-id")


def review_queue(*, user: User, today: dt.date | None = None) -> list[DeadlineRow]:
    """Requests waiting for the bureau, oldest due first, as rows of their review clock (row.request, row.remaining)."""
    if not user.has_role(Role.BUREAU_REVIEWER):
        return []
    reqs = with_deadline(
        SharingRequest.objects.restrict(user, "review").filter(state=RequestState.SUBMITTED)
        .select_related("consumer", "entry__provider"), Clock.SHARING_REVIEW,
    )
    return deadline_rows(reqs.order_by(F("due_on").asc(nulls_last=True), "id"), name="request", today=today)


def request_detail(req: SharingRequest) -> dict[str, Any]:
    """Comments, attachments, the review clock (its Deadline, and its row: remaining working days) and the grant."""
    from portal.models import Deadline as D

    deadline = D.objects.for_case(req).filter(clock=Clock.SHARING_REVIEW).order_by("-id").first()
    return {
        "comments": list(req.comments.select_related("author", "department")),
        "attachments": list(req.attachments.all()),
        "deadline": deadline,
        "clock": deadline_row(deadline, name="deadline"),
        "grant": Grant.objects.filter(request=req).first(),
    }


def grant_list(*, user, filters: dict | None = None) -> QuerySet[Grant]:
    """Grants the user may see, filtered (grant_filter)."""
    qs = Grant.objects.restrict(user, "view").select_related("consumer", "entry__provider", "request")
    return grant_filter(qs, user=user, filters=filters or {})


def grant_filter(qs: QuerySet[Grant], *, user, filters: dict) -> QuerySet[Grant]:
    """`qs` filtered — the pages' and the API's one rule. box: mine (my department's), provider (of my entries);
    state."""
    if filters.get("box") == "mine":
        qs = qs.filter(consumer_id=user.department_id)
    elif filters.get("box") == "provider":
        qs = qs.filter(entry__provider_id=user.department_id)
    if filters.get("state") in GrantState.values:
        qs = qs.filter(state=filters["state"])
    return qs.order_by("-id")


def api_client_list(*, user: User) -> QuerySet[ApiClient]:
    return ApiClient.objects.restrict(user).select_related("department").order_by("-id")


def entry_with_items(entry_id: int, user: User) -> CatalogEntry | None:
    """A published entry visible to the user, with its items in order (None when there is none)."""
    from catalog.models import DataItem

    return (
        CatalogEntry.objects.restrict(user, "view")
        .filter(Q(pk=entry_id), state=EntryState.APPROVED, is_secret=False)
        .select_related("provider", "classification")
        .prefetch_related(Prefetch("items", queryset=DataItem.objects.order_by("position")))
        .first()
    )


def pushable_grants(user):
    """The user's department's grants that include the push method and are valid today."""
    if not is_department_member(user):
        return Grant.objects.none()
    today = local_today()
    return (Grant.objects.filter(consumer_id=user.department_id, state=GrantState.ACTIVE, valid_from__lte=today,
                                 valid_to__gte=today, methods__contains=[ExchangeMethod.PUSH])
            .select_related("entry").order_by("-id"))
