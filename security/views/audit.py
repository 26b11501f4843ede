"""The audit administrator's trail viewer (R29, 三员分立): the search page and its CSV export.

The search is the API's (security.api.filters.AuditEventFilterSet → security.selectors.audit.search_events); the page
adds keyset paging (`before` / `after` an id, `size`). Every page that shows rows writes `security.audit.searched`
in the transaction that read them; the export writes `security.audit.exported` when its stream ends (rows written,
completed or not). Everyone but the audit administrator: 404.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import tempfile

from django.contrib import messages
from django.db import transaction
from django.http import FileResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from portal import context
from portal.audit_verify import KINDS
from portal.cells import csv_row
from portal.choices import AuditResult, Role
from portal.errors import PortalError
from portal.models import AuditEvent, Department
from portal.services.audit_chain import audit_bundle_export, audit_chain_verify, latest_verification
from portal.shortcuts import role_required

from ..api.filters import AuditEventFilterSet, AuditPageFilterSet, used_filters
from ..selectors.audit import (
    ACTION_LABELS,
    PAGE_SIZES,
    action_label,
    narrowed,
    page_of,
    role_labels,
    search_events,
)
from ..services.audit import audit_trail_exported, audit_trail_searched

CHUNK_ROWS = 2000
HEADER = ["编号", "时间", "操作主体", "姓名", "角色", "部门", "事件类型", "事件名称", "对象类型", "对象编号", "对象",
          "结果", "IP地址", "请求编号", "详情"]
_RESULTS = dict(AuditResult.choices)


def _row(event: AuditEvent) -> dict:
    return {
        "event": event,
        "time": timezone.localtime(event.occurred_at),
        "roles": role_labels(event.role),
        "action_label": action_label(event.action),
        "result_label": _RESULTS.get(event.result, event.result),
        "data_json": json.dumps(event.data, ensure_ascii=False, indent=2, sort_keys=True),
    }


def _link(request, **changes) -> str:
    query = request.GET.copy()
    for name in ("before", "after"):
        query.pop(name, None)
    for name, value in changes.items():
        query[name] = value
    return "?" + query.urlencode()


def _page_context(request, filterset) -> dict:
    return {
        "filterset": filterset, "form": filterset.form,
        "departments": Department.objects.order_by("region__code", "name").values_list("pk", "name"),
        "results": AuditResult.choices, "page_sizes": PAGE_SIZES,
        "known_actions": sorted((code, str(label)) for code, label in ACTION_LABELS.items()),
        "export_query": _link(request)[1:],
        "verification": latest_verification(), "bundle_date": timezone.localdate() - dt.timedelta(days=1),
        "break_kinds": {k: str(v) for k, v in KINDS.items()},
    }


@role_required(Role.AUDIT_ADMIN)
@never_cache
def audit_list(request):
    filterset = AuditPageFilterSet(request.GET, queryset=AuditEvent.objects.all())
    context = _page_context(request, filterset)
    if not filterset.is_valid():
        return render(request, "security/audit.html", context, status=400)
    data = filterset.form.cleaned_data
    size = data.get("size") or 50
    with transaction.atomic():
        qs, counted, more = narrowed(search_events(data))
        events, older, newer = page_of(qs, size=size, before=data.get("before"), after=data.get("after"))
        audit_trail_searched(actor=request.user, filters=used_filters(data), rows=len(events), via="page",
                             page={k: data[k] for k in ("before", "after") if data.get(k)} or None)
    context.update({
        "rows": [_row(e) for e in events],
        "counted": counted, "more_than_limit": more,
        "older_link": _link(request, before=events[-1].pk) if older and events else None,
        "newer_link": _link(request, after=events[0].pk) if newer and events else None,
        "newest_link": _link(request) if newer else None,
    })
    return render(request, "security/audit.html", context)


class _Export:
    """The CSV's blocks; writes the export's audit event when the stream ends, breaks off or is closed unread
    (a class, not a generator: Django calls close() on the content also when the client left early)."""

    def __init__(self, request, queryset, filters: dict):
        self.user, self.queryset, self.filters = request.user, queryset, filters
        self.context = context.current()  # the request's address and id: the stream ends after the middleware
        self.rows, self.completed, self.recorded = 0, False, False

    def __iter__(self):
        try:
            yield from self._blocks()
            self.completed = True
        finally:
            self._record()

    def _blocks(self):
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        buffer.write("\ufeff")  # Excel reads the file as UTF-8
        writer.writerow(csv_row(HEADER))
        for n, event in enumerate(self.queryset.iterator(chunk_size=CHUNK_ROWS), start=1):
            writer.writerow(csv_row([
                event.pk, timezone.localtime(event.occurred_at).strftime("%Y-%m-%d %H:%M:%S"), event.actor_label,
                event.actor_name, role_labels(event.role), event.department_name, event.action,
                action_label(event.action), event.object_type, event.object_id, event.object_repr,
                _RESULTS.get(event.result, event.result), event.ip, event.request_id,
                json.dumps(event.data, ensure_ascii=False, sort_keys=True),
            ]))
            self.rows = n
            if n % 500 == 0:
                yield buffer.getvalue().encode("utf-8")
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue().encode("utf-8")

    def close(self) -> None:
        self._record()

    def _record(self) -> None:
        if self.recorded:
            return
        self.recorded = True
        with context.restored(self.context), transaction.atomic():
            audit_trail_exported(actor=self.user, filters=self.filters, rows=self.rows, completed=self.completed)


@role_required(Role.AUDIT_ADMIN)
@never_cache
def audit_export(request):
    """The whole result of the page's search as CSV (every cell through portal.cells), streamed."""
    filterset = AuditEventFilterSet(request.GET, queryset=AuditEvent.objects.all())
    if not filterset.is_valid():
        return render(request, "security/audit.html", _page_context(request, filterset), status=400)
    data = filterset.form.cleaned_data
    response = StreamingHttpResponse(_Export(request, search_events(data), used_filters(data)),
                                     content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="audit-{timezone.localdate():%Y%m%d}.csv"'
    response["Cache-Control"] = "no-store"
    return response


@role_required(Role.AUDIT_ADMIN)
@require_POST
def audit_verify_now(request):
    """The "verify now" button: an incremental verification, run while the audit administrator waits (it starts
    after the last intact run, so it covers minutes of events, not the whole trail; the full run is nightly)."""
    try:
        run = audit_chain_verify(actor=request.user, via="page")
    except PortalError as exc:
        messages.error(request, str(exc.detail))
        return redirect("security:audit")
    if run.ok:
        messages.success(request, _("审计日志完好：本次校验 %(n)s 个链位置。") % {"n": run.checked})
    else:
        messages.error(request, _("审计日志异常：首个异常位置 %(seq)s（%(kind)s）。") % {
            "seq": run.break_seq, "kind": KINDS.get(run.break_kind, run.break_kind)})
    return redirect("security:audit")


@role_required(Role.AUDIT_ADMIN)
@never_cache
def audit_bundle_download(request):
    """One day's audit bundle (portal.audit_bundle) as a file, for an outside verifier; the export is audited
    (`portal.audit.bundle_exported`, with the file's SHA-256)."""
    try:
        day = dt.date.fromisoformat(request.GET.get("date", ""))
    except ValueError:
        messages.error(request, _("请选择封存包日期（YYYY-MM-DD）。"))
        return redirect("security:audit")
    spool = tempfile.SpooledTemporaryFile(max_size=32 << 20)  # noqa: SIM115 — FileResponse closes it
    try:
        audit_bundle_export(actor=request.user, day=day, out=spool, via="page")
    except PortalError as exc:
        spool.close()
        messages.error(request, str(exc.detail))
        return redirect("security:audit")
    spool.seek(0)
    response = FileResponse(spool, as_attachment=True, filename=f"audit-{day.isoformat()}.jsonl.gz",
                            content_type="application/gzip")
    response["Cache-Control"] = "no-store"
    return response
