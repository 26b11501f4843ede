"""Pages of the verification cases (数据校核, R14): filing, the list with clocks, a case and its answers.

Thin views: load inside the caller's scope (404 outside it), call one service, render. A page that shows pooled
values writes its read event (R29.1).
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import transaction
from django.db.models import Count, Q
from django.http import FileResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from portal import audit
from portal.choices import Clock, Role
from portal.models import Deadline, Department
from portal.permissions import is_department_member
from portal.selectors.deadlines import deadline_row, deadline_rows, with_deadline
from portal.services.workdays import local_today
from portal.shortcuts import access_or_404

from ..choices import VerificationState
from ..forms.verification import (
    ConfirmForm,
    CorrectForm,
    ExtensionDecideForm,
    ExtensionRequestForm,
    VerificationFileForm,
)
from ..models import VerificationCase
from ..selectors.pools import datasets_visible
from ..selectors.verification import VERIFICATION_NOTICE, access_case_by_id, case_actions
from ..services import verification
from ..services.pools import record_read
from ..storage import reading
from .common import run_form, visible_record

LIST_LIMIT = 100


@login_required
def verification_create(request, dataset_pk: int, pk: int):
    """File a verification case against one record (a consuming department's staff, R14.1)."""
    user = request.user
    dataset, record = visible_record(user, dataset_pk, pk)
    if not is_department_member(user) or user.department_id == dataset.department_id:
        raise DjangoPermissionDenied
    item_names = list(dataset.entry.items.order_by("position").values_list("name", flat=True))
    form = VerificationFileForm(request.POST or None, request.FILES or None, item_names=item_names)
    if request.method == "POST" and form.is_valid():
        case = run_form(request, form, lambda: verification.verification_case_file(
            actor=user, record_id=record.id, dataset_id=dataset.pk, fields=form.cleaned_data["fields_"],
            description=form.cleaned_data["description"], evidence=form.cleaned_data["evidence"],
        ), _("已提交数据校核申请，提供部门应在 10 个工作日内答复"))
        if case is not None:
            return redirect(case.get_absolute_url())
    return render(request, "aggregation/verification_form.html", {
        "dataset": dataset, "record": record, "form": form,
    })


@login_required
def verification_list(request):
    """Cases in the user's scope: filed by or against the department; county its region; the bureau all."""
    user = request.user
    qs = VerificationCase.objects.restrict(user).select_related("dataset__entry", "provider", "requester")
    side = request.GET.get("side", "")
    if side == "filed" and user.department_id:
        qs = qs.filter(requester_id=user.department_id)
    elif side == "received" and user.department_id:
        qs = qs.filter(provider_id=user.department_id)
    state = request.GET.get("state", "")
    if state in VerificationState.values:
        qs = qs.filter(state=state)
    department = request.GET.get("department", "")
    if department.isdigit():
        qs = qs.filter(provider_id=int(department))
    before = request.GET.get("before", "")
    if before.isdigit():
        qs = qs.filter(pk__lt=int(before))
    summary = with_deadline(VerificationCase.objects.restrict(user), Clock.VERIFICATION).aggregate(
        open=Count("pk", filter=Q(state=VerificationState.OPEN)),
        overdue=Count("pk", filter=Q(state=VerificationState.OPEN, due_on__lt=local_today())),
        extension=Count("pk", filter=Q(state=VerificationState.OPEN, extension_state="requested")),
        late=Count("pk", filter=Q(closed_late=True)),
    )
    rows = list(with_deadline(qs, Clock.VERIFICATION).order_by("-id")[: LIST_LIMIT + 1])
    more = len(rows) > LIST_LIMIT
    rows = rows[:LIST_LIMIT]
    return render(request, "aggregation/verification_list.html", {
        "rows": deadline_rows(rows, name="case"), "side": side, "state": state,
        "states": VerificationState.choices, "next_before": rows[-1].pk if more else None,
        "departments": Department.objects.filter(pk__in=VerificationCase.objects.restrict(user).values("provider_id"))
        if user.has_role(Role.BUREAU_REVIEWER, Role.COUNTY_BUREAU, Role.ASSESSOR) else [],
        "department": department, "summary": summary,
    })


@login_required
def verification_detail(request, pk: int, forms: dict | None = None):
    """One case with its clocks, evidence and the actions the user may take now."""
    user = request.user
    case = access_or_404(access_case_by_id, user, pk)
    case = with_deadline(VerificationCase.objects.filter(pk=case.pk), Clock.VERIFICATION).select_related(
        "dataset__entry", "provider", "requester", "created_by", "answered_by", "extension_decided_by",
        "extension_requested_by",
    ).get()
    row = deadline_row(case, name="case")
    clocks = Deadline.objects.for_case(case).order_by("id")
    actions = case_actions(user, case)
    forms = forms or {}
    if "correct" in actions and "correct" not in forms:
        record = reading.get(case.dataset, case.record_id, include_deleted=True)
        items = [n for n in case.fields if n != case.dataset.key_item_name]
        # The form shows the disputed values: a read like the record page, audited alike.
        read = record_read(actor=user, dataset=case.dataset, record=record, items=items,
                           context={"items": items, "verification_case": case.pk})
        forms["correct"] = CorrectForm(items=items, current=read.values)
    if "confirm" in actions:
        forms.setdefault("confirm", ConfirmForm())
    if "request_extension" in actions:
        forms.setdefault("extension", ExtensionRequestForm())
    if "decide_extension" in actions:
        forms.setdefault("decide", ExtensionDecideForm())
    record_visible = datasets_visible(user).filter(pk=case.dataset_id).exists()
    return render(request, "aggregation/verification_detail.html", {
        "case": case, "row": row, "clocks": clocks, "actions": actions, "forms": forms,
        "evidence": case.evidence.all(), "record_visible": record_visible,
        "notice": VERIFICATION_NOTICE,
    })


def _case_action(request, pk: int, form_key: str, form, service, arguments=None):
    """A POST answering case `pk`: a valid form runs `service` with its cleaned data (or `arguments(form)`), then
    back to the case; a refusal or an invalid form shows the case page again with the form and its errors."""
    if form.is_valid():
        kwargs = arguments(form) if arguments else form.cleaned_data
        if run_form(request, form, lambda: service(actor=request.user, case_id=pk, **kwargs), _("已办理")) is not None:
            return redirect("aggregation:verification-detail", pk=pk)
    return verification_detail(request, pk, forms={form_key: form})


@login_required
@require_POST
def verification_extension_request(request, pk: int):
    form = ExtensionRequestForm(request.POST)
    return _case_action(request, pk, "extension", form, verification.verification_extension_request)


@login_required
@require_POST
def verification_extension_decide(request, pk: int):
    form = ExtensionDecideForm(request.POST)
    return _case_action(request, pk, "decide", form, verification.verification_extension_decide)


@login_required
@require_POST
def verification_confirm(request, pk: int):
    return _case_action(request, pk, "confirm", ConfirmForm(request.POST), verification.verification_case_confirm)


@login_required
@require_POST
def verification_correct(request, pk: int):
    case = access_or_404(access_case_by_id, request.user, pk)
    items = [n for n in case.fields if n != case.dataset.key_item_name]
    form = CorrectForm(request.POST, items=items, current={})
    return _case_action(request, pk, "correct", form, verification.verification_case_correct,
                        lambda f: {"values": f.values(), "explanation": f.cleaned_data["explanation"]})


@login_required
def verification_evidence(request, pk: int, evidence_pk: int):
    """Download one evidence file (inside the case's scope); the download is audited."""
    case = access_or_404(access_case_by_id, request.user, pk)
    evidence = get_object_or_404(case.evidence, pk=evidence_pk)
    with transaction.atomic():
        audit.record(actor=request.user, action="aggregation.verification.evidence_downloaded", obj=case,
                     data={"evidence": evidence.pk, "sha256": evidence.sha256})
    return FileResponse(evidence.file.open("rb"), as_attachment=True, filename=evidence.original_name,
                        content_type=evidence.content_type)
