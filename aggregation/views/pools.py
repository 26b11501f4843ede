"""Pages of the resource pool: the pool index, a dataset's rows (masked), its integrity check, one record.

Thin: access through `.restrict` (404 outside scope), writes through services, PortalError → form errors.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render

from catalog import resource_perms
from portal.db import one_snapshot
from portal.permissions import is_department_member, signed_in

from ..models import Dataset, RecordHistory, VerificationCase
from ..selectors import ingest as ingest_selectors
from ..selectors import pools as pool_selectors
from ..selectors.pools import history_changes
from ..services import pools as pool_services
from .common import is_data_staff_of, may_load, visible_record

PAGE = 50


@login_required
@one_snapshot()
def index(request):
    """部门数据资源池: approved entries in scope, their datasets, recent jobs (one snapshot: counts and jobs agree)."""
    if not signed_in(request.user):
        raise Http404
    department_id = request.GET.get("department")
    department_id = int(department_id) if department_id and department_id.isdigit() else None
    entries = list(pool_selectors.pool_entries(user=request.user, department_id=department_id)[:500])
    loadable = resource_perms.entry_ids_with(  # one query for the page, not one per entry
        request.user, resource_perms.LOAD_DATA,
        [e.pk for e in entries if is_data_staff_of(request.user, e.provider_id)])
    for entry in entries:
        entry.can_load = entry.pk in loadable
        entry.pool = getattr(entry, "dataset", None)  # None before the first load (reverse one-to-one)
    jobs = ingest_selectors.job_list(user=request.user)[:20]
    return render(request, "aggregation/index.html", {"entries": entries, "jobs": jobs})


@login_required
@one_snapshot()
def dataset_detail(request, pk: int):
    """A dataset's rows, keyset-paged, personal items masked (the read is audited). The count, the rows and the jobs
    are read from one snapshot: a load committing meanwhile cannot show its rows under the old count."""
    dataset = Dataset.objects.restrict(request.user, "view").select_related("entry", "department").filter(pk=pk).first()
    if dataset is None:
        raise Http404
    after = request.GET.get("after")
    after_id = int(after) if after and after.isdigit() else None
    page = pool_services.dataset_rows_page(actor=request.user, dataset=dataset, after_id=after_id, limit=PAGE)
    jobs = ingest_selectors.job_list(user=request.user, dataset=dataset)[:10]
    return render(request, "aggregation/dataset_detail.html", {
        "dataset": dataset, "items": page.items, "rows": page.rows, "jobs": jobs, "next_after": page.next_after,
        "can_load": may_load(request.user, dataset),
        "has_record_page": _has_record_page(),
    })


INTEGRITY_SAMPLE = 20_000


@login_required
def dataset_integrity(request, pk: int):
    """R35.5: show changes and deletions made around the application (history / digest / missing rows).

    The per-row checks (digest, values against the last history row: they decrypt) cover the first
    INTEGRITY_SAMPLE rows; the set-based ones (versions and deletions against history, missing rows) every row.
    """
    dataset = Dataset.objects.restrict(request.user, "view").select_related("entry", "department").filter(pk=pk).first()
    if dataset is None:
        raise Http404
    report = pool_services.dataset_integrity_check(actor=request.user, dataset=dataset, limit=INTEGRITY_SAMPLE)
    return render(request, "aggregation/dataset_integrity.html", {"dataset": dataset, "report": report,
                                                                  "sample": INTEGRITY_SAMPLE})


def _has_record_page() -> bool:
    from django.urls import NoReverseMatch, reverse

    try:
        reverse("aggregation:record-detail", args=[1, 1])
    except NoReverseMatch:
        return False
    return True


@login_required
def record_detail(request, dataset_pk: int, pk: int):
    """One record: values (masked unless full_values_allowed), history, R14.4 banner, verification cases."""
    user = request.user
    dataset, record = visible_record(user, dataset_pk, pk)
    read = pool_services.record_read(actor=user, dataset=dataset, record=record)
    newest = (RecordHistory.objects.filter(record_id=record.id, dataset_id=dataset.pk)
              .select_related("actor").order_by("-id")[:50])
    # An insert's history row may reference the inserted version instead of copying it (selectors.pools.history_rows);
    # the versions are compared as clear values, whichever form they are stored in (the page shows item names only).
    history = [{"h": h, "items": items}
               for h, items in reversed(history_changes(record.id, newest, dataset=dataset))]
    cases = VerificationCase.objects.restrict(user).filter(record_id=record.id).select_related("requester")[:20]
    can_file = (
        is_department_member(user) and user.department_id != dataset.department_id
        and not read.flags["under_verification"]
    )
    return render(request, "aggregation/record_detail.html", {
        "dataset": dataset, "record": record, "values": list(read.values.items()), "full": read.full,
        "history": history, "flags": read.flags, "cases": cases, "can_file": can_file,
    })

