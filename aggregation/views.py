"""Pages of the storage part: resource pool, upload + column mapping, job progress, dataset rows (masked).

Thin: access through `.restrict` (404 outside scope), writes through services, PortalError → form errors.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from portal import audit
from portal.choices import Role
from portal.db import one_snapshot
from portal.errors import PortalError
from security import crypto
from security.masking import item_mask_kind, mask

from . import selectors, services
from .forms import MappingForm, UploadForm
from .models import Dataset, IngestJob

PAGE = 50


def _signed_in_with_role(request) -> None:
    if not request.user.role_set:
        raise Http404


def _can_load(user, department_id) -> bool:
    return user.has_role(Role.DEPT_STAFF) and user.department_id == department_id


@login_required
@one_snapshot()
def index(request):
    """部门数据资源池: approved entries in scope, their datasets, recent jobs (one snapshot: counts and jobs agree)."""
    _signed_in_with_role(request)
    department_id = request.GET.get("department")
    department_id = int(department_id) if department_id and department_id.isdigit() else None
    entries = list(selectors.pool_entries(user=request.user, department_id=department_id)[:500])
    for entry in entries:
        entry.can_load = _can_load(request.user, entry.provider_id)
        entry.pool = getattr(entry, "dataset", None)  # None before the first load (reverse one-to-one)
    jobs = selectors.job_list(user=request.user)[:20]
    return render(request, "aggregation/index.html", {"entries": entries, "jobs": jobs})


def _entry_for_load(user, entry_id: int):
    from catalog.models import CatalogEntry

    entry = CatalogEntry.objects.filter(pk=entry_id, state="approved", provider_id=user.department_id).first()
    if entry is None or not _can_load(user, entry.provider_id):
        raise Http404
    return entry


@login_required
def upload(request, entry_id: int):
    entry = _entry_for_load(request.user, entry_id)
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            job = services.ingest_job_create(
                actor=request.user, entry=entry, upload=form.cleaned_data["file"], mode=form.cleaned_data["mode"],
                encoding=form.cleaned_data.get("encoding") or "",
            )
        except PortalError as exc:
            form.add_error("file", str(exc.detail))
        else:
            return redirect("aggregation:job-detail", job.pk)
    items = list(entry.items.order_by("position"))
    return render(request, "aggregation/upload.html", {"entry": entry, "form": form, "items": items})


def _job(user, pk: int) -> IngestJob:
    job = IngestJob.objects.restrict(user, "view").select_related("dataset__entry", "created_by").filter(pk=pk).first()
    if job is None:
        raise Http404
    return job


@login_required
def job_detail(request, pk: int):
    job = _job(request.user, pk)
    can_load = _can_load(request.user, job.dataset.department_id)
    form = None
    if job.awaiting_mapping and can_load:
        item_names = list(job.dataset.entry.items.order_by("position").values_list("name", flat=True))
        from .ingest import auto_mapping

        form = MappingForm(
            request.POST or None, columns=job.header, item_names=item_names,
            initial_mapping=auto_mapping(job.header, item_names), initial={"mode": job.mode},
        )
        if request.method == "POST" and form.is_valid():
            try:
                services.ingest_job_set_mapping(
                    actor=request.user, job_id=job.pk, mapping=form.mapping(), mode=form.cleaned_data["mode"]
                )
            except PortalError as exc:
                form.add_error(None, str(exc.detail))
            else:
                return redirect("aggregation:job-detail", job.pk)
    return render(request, "aggregation/job_detail.html", {"job": job, "form": form, "can_load": can_load,
                                                           "key_item": job.dataset.key_item_name})


@login_required
def job_progress(request, pk: int):
    """The progress bar fragment the job page polls (htmx, every second until the job ends)."""
    job = _job(request.user, pk)
    can_load = _can_load(request.user, job.dataset.department_id)
    return render(request, "aggregation/_job_progress.html", {"job": job, "can_load": can_load})


@login_required
def job_report(request, pk: int):
    job = _job(request.user, pk)
    if not job.report:
        raise Http404
    audit.record(actor=request.user, action="aggregation.job.report_downloaded", obj=job,
                 department=job.dataset.department, data={"rejected": job.rejected_rows})
    return FileResponse(job.report.open("rb"), as_attachment=True,
                        filename=f"问题行报告-{job.pk}-{job.original_name.rsplit('.', 1)[0]}.csv")


@login_required
@require_POST
def job_rerun(request, pk: int):
    job = _job(request.user, pk)
    mode = request.POST.get("mode") or None
    try:
        services.ingest_job_rerun(actor=request.user, job_id=job.pk, mode=mode)
    except PortalError as exc:
        if exc.status == 404:
            raise Http404 from exc
        messages.error(request, str(exc.detail))
    return redirect("aggregation:job-detail", job.pk)


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
    records = selectors.record_page(dataset=dataset, after_id=after_id, limit=PAGE + 1)
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
    jobs = selectors.job_list(user=request.user, dataset=dataset)[:10]
    return render(request, "aggregation/dataset_detail.html", {
        "dataset": dataset, "items": [n for n, _t in items], "rows": rows, "jobs": jobs,
        "next_after": records[-1].pk if has_next and records else None,
        "can_load": _can_load(request.user, dataset.department_id),
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
    report = selectors.record_integrity(dataset=dataset, limit=INTEGRITY_SAMPLE)
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

