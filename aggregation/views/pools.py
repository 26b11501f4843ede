"""Pages of the resource pool: the pool index, a dataset's rows (masked), its integrity check, one record.

Thin: access through `.restrict` (404 outside scope), writes through services, PortalError → form errors.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404
from django.shortcuts import render
from django.utils.translation import gettext as _

from portal import audit
from portal.db import one_snapshot
from portal.permissions import is_department_member, signed_in
from security import crypto
from security.masking import item_mask_kind, mask

from .. import access
from ..models import Dataset, RecordHistory, VerificationCase
from ..selectors import ingest as ingest_selectors
from ..selectors import pools as pool_selectors
from ..selectors.pools import history_rows
from ..selectors.verification import verification_flags
from .common import is_data_staff_of, visible_record

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
    for entry in entries:
        entry.can_load = is_data_staff_of(request.user, entry.provider_id)
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
    records = pool_selectors.record_page(dataset=dataset, after_id=after_id, limit=PAGE + 1)
    has_next = len(records) > PAGE
    records = records[:PAGE]
    items = list(dataset.entry.items.order_by("position").values_list("name", "data_type"))
    kinds = {name: item_mask_kind(name, data_type, encrypted=name in dataset.encrypted_items,
                                  key_kind=dataset.key_kind if name == dataset.key_item_name else None)
             for name, data_type in items}
    cipher = crypto.cipher()
    rows = []
    for record in records:
        cells = []
        for name, _t in items:
            value = record.data.get(name, "")
            if isinstance(value, str) and crypto.is_encrypted(value):
                try:
                    value = cipher.decrypt(value)
                except crypto.DecryptionError:
                    value = _("（无法解密）")
            kind = kinds.get(name)
            cells.append(mask(value, kind) if kind else value)
        rows.append({"record": record, "cells": cells})
    audit.record(actor=request.user, action="aggregation.dataset.viewed", obj=dataset, department=dataset.department,
                 data={"after": after_id, "rows": len(rows), "masked": True})
    jobs = ingest_selectors.job_list(user=request.user, dataset=dataset)[:10]
    return render(request, "aggregation/dataset_detail.html", {
        "dataset": dataset, "items": [n for n, _t in items], "rows": rows, "jobs": jobs,
        "next_after": records[-1].pk if has_next and records else None,
        "can_load": is_data_staff_of(request.user, dataset.department_id),
        "has_record_page": _has_record_page(),
    })


INTEGRITY_SAMPLE = 20_000


@login_required
def dataset_integrity(request, pk: int):
    """R35.5: show changes and deletions made around the application (history / digest / missing rows).

    The set-based checks cover every record; the digest check (decrypts) covers the first INTEGRITY_SAMPLE.
    """
    dataset = Dataset.objects.restrict(request.user, "view").select_related("entry", "department").filter(pk=pk).first()
    if dataset is None:
        raise Http404
    report = pool_selectors.record_integrity(dataset=dataset, limit=INTEGRITY_SAMPLE)
    audit.record(actor=request.user, action="aggregation.dataset.integrity_checked", obj=dataset,
                 department=dataset.department,
                 data={"checked": report.checked, "ok": report.ok, "digest_mismatch": report.digest_mismatch[:100],
                       "history_mismatch": report.history_mismatch[:100], "missing": report.missing_records[:100]})
    return render(request, "aggregation/dataset_integrity.html", {"dataset": dataset, "report": report,
                                                                  "sample": INTEGRITY_SAMPLE})


def _has_record_page() -> bool:
    from django.urls import NoReverseMatch, reverse

    try:
        reverse("aggregation:record-detail", args=[1, 1])
    except NoReverseMatch:
        return False
    return True


def _changed_items(before, after) -> list[str]:
    before, after = before or {}, after or {}
    return sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))


@login_required
def record_detail(request, dataset_pk: int, pk: int):
    """One record: values (masked unless full_values_allowed), history, R14.4 banner, verification cases."""
    user = request.user
    dataset, record = visible_record(user, dataset_pk, pk)
    full = access.full_values_allowed(user, dataset)
    items = list(dataset.entry.items.order_by("position").values_list("name", "data_type"))
    shown = access.display_values(dataset, record.data, full=full, items=items)
    shown[dataset.key_item_name] = access.key_display(dataset, access.decrypt(record.key_enc), full=full)
    newest = (RecordHistory.objects.filter(record_id=record.pk, dataset_id=dataset.pk)
              .select_related("actor").order_by("-id")[:50])
    # An insert's history row may reference the inserted version instead of copying it (selectors.pools.history_rows).
    history = [
        {"h": h, "items": _changed_items(before, after)} for h, before, after in reversed(history_rows(record, newest))
    ]
    flags = verification_flags(record)
    cases = VerificationCase.objects.restrict(user).filter(record_id=record.pk).select_related("requester")[:20]
    can_file = (
        is_department_member(user) and user.department_id != dataset.department_id
        and not flags["under_verification"]
    )
    with transaction.atomic():
        audit.record(
            actor=user, action="aggregation.record.viewed", obj=record, object_repr=dataset.entry.name,
            data={"dataset": dataset.pk, "key": access.hash_hex(record.key_hash), "masked": not full},
        )
    return render(request, "aggregation/record_detail.html", {
        "dataset": dataset, "record": record, "values": list(shown.items()), "full": full, "history": history,
        "flags": flags, "cases": cases, "can_file": can_file,
    })

