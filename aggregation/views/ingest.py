"""Pages of the ingest jobs: upload, the column mapping step, job progress, the rejected-rows report, re-runs."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from catalog import resource_perms
from portal.errors import PortalError
from portal.shortcuts import http_refusal

from ..forms.ingest import MappingForm, UploadForm
from ..ingest.mapping import auto_mapping
from ..models import IngestJob
from ..services import ingest as services
from .common import is_data_staff_of, may_load


def _entry_for_load(user, entry_id: int):
    from catalog.models import CatalogEntry

    entry = CatalogEntry.objects.filter(pk=entry_id, state="approved", provider_id=user.department_id).first()
    if entry is None or not is_data_staff_of(user, entry.provider_id):
        raise Http404
    if not resource_perms.may(user, entry, resource_perms.LOAD_DATA):
        http_refusal(resource_perms.denial(resource_perms.LOAD_DATA))
    return entry


@login_required
def upload(request, entry_id: int):
    entry = _entry_for_load(request.user, entry_id)
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            job = services.ingest_job_create(
                actor=request.user, entry=entry, upload=form.cleaned_data["file"], mode=form.cleaned_data["mode"],
                encoding=form.cleaned_data.get("encoding") or "", empty_all=form.cleaned_data.get("empty_all", False),
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
    can_load = may_load(request.user, job.dataset)
    if request.method == "POST" and not can_load and is_data_staff_of(request.user, job.dataset.department_id):
        http_refusal(resource_perms.denial(resource_perms.LOAD_DATA))
    form = None
    if job.awaiting_mapping and can_load:
        item_names = list(job.dataset.entry.items.order_by("position").values_list("name", flat=True))
        form = MappingForm(
            request.POST or None, columns=job.header, item_names=item_names,
            initial_mapping=auto_mapping(job.header, item_names), near=job.near_matches,
            key_item=job.dataset.key_item_name, initial={"mode": job.mode, "empty_items": job.empty_items},
        )
        if request.method == "POST" and form.is_valid():
            try:
                services.ingest_job_set_mapping(
                    actor=request.user, job_id=job.pk, mapping=form.mapping(), mode=form.cleaned_data["mode"],
                    empty_items=form.cleaned_data["empty_items"], empty_all=form.cleaned_data["empty_all"],
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
    can_load = may_load(request.user, job.dataset)
    return render(request, "aggregation/_job_progress.html", {"job": job, "can_load": can_load})


@login_required
def job_report(request, pk: int):
    """The rejected-rows report: values as uploaded for whoever loads the resource, masked for other readers."""
    try:
        job, chunks = services.ingest_job_report(actor=request.user, job_id=pk)
    except PortalError as exc:
        http_refusal(exc)
        raise
    return report_response(job, chunks)


def report_response(job: IngestJob, chunks) -> FileResponse:
    """The report download (the page's and the API's)."""
    return FileResponse(chunks, as_attachment=True, content_type="text/csv; charset=utf-8",
                        filename=f"问题行报告-{job.pk}-{job.original_name.rsplit('.', 1)[0]}.csv")


@login_required
@require_POST
def job_rerun(request, pk: int):
    job = _job(request.user, pk)
    mode = request.POST.get("mode") or None
    try:
        services.ingest_job_rerun(actor=request.user, job_id=job.pk, mode=mode)
    except PortalError as exc:
        if exc.status == 404 or exc.code == resource_perms.DENIED_CODE:
            http_refusal(exc)
        messages.error(request, str(exc.detail))
    return redirect("aggregation:job-detail", job.pk)
