"""Pages of the uses part: record page, verification cases, base databases, theme databases, quality report.

Thin views: load inside the caller's scope (404 outside it), call one service, render. Every page that shows
pooled values writes its read event through the service or the helper here (R29.1).
"""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import transaction
from django.db.models import Count, Q
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from portal import audit
from portal.choices import Role
from portal.db import one_snapshot
from portal.errors import NotFound, PermissionDenied, PortalError
from portal.models import Deadline, Department
from portal.services.workdays import WorkCalendar, local_today
from portal.shortcuts import role_required

from . import access, basedb, quality, verification
from . import theme as themes
from .models_uses import ThemeDatabase, ThemeJobStatus, VerificationCase, VerificationState
from .uses_forms import (
    ConfirmForm,
    CorrectForm,
    ExtensionDecideForm,
    ExtensionRequestForm,
    SubjectLookupForm,
    ThemeForm,
    VerificationFileForm,
)

LIST_LIMIT = 100
SCOPED_ROLES = (Role.DEPT_STAFF, Role.DEPT_HEAD, Role.COUNTY_BUREAU, Role.BUREAU_REVIEWER, Role.ASSESSOR)


def _not_found(exc):
    raise Http404(str(exc.detail)) from exc


def _form_errors(form, exc: PortalError) -> None:
    """Put a service refusal onto the form (by field where the service named one)."""
    mapped = False
    for field, msgs in (exc.errors or {}).items():
        target = "fields_" if field == "fields" and "fields_" in form.fields else field
        if target in form.fields:
            for m in msgs:
                form.add_error(target, str(m))
            mapped = True
    if not mapped:
        form.add_error(None, str(exc.detail))


# --------------------------------------------------------------------------------------------------
# Record page


def _visible_record(user, dataset_pk: int, pk: int):
    from .models import Record

    dataset = access.datasets_visible(user).select_related("entry", "department").filter(pk=dataset_pk).first()
    if dataset is None:
        raise Http404
    record = Record.objects.filter(dataset_id=dataset.pk, pk=pk, deleted_at__isnull=True).first()
    if record is None:
        raise Http404
    return dataset, record


def _changed_items(before, after) -> list[str]:
    before, after = before or {}, after or {}
    return sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))


@login_required
def record_detail(request, dataset_pk: int, pk: int):
    """One record: values (masked unless full_values_allowed), history, R14.4 banner, verification cases."""
    from .models import RecordHistory

    user = request.user
    dataset, record = _visible_record(user, dataset_pk, pk)
    full = access.full_values_allowed(user, dataset)
    items = list(dataset.entry.items.order_by("position").values_list("name", "data_type"))
    shown = access.display_values(dataset, record.data, full=full, items=items)
    shown[dataset.key_item_name] = access.key_display(dataset, access.decrypt(record.key_enc), full=full)
    from .selectors import history_rows

    newest = (RecordHistory.objects.filter(record_id=record.pk, dataset_id=dataset.pk)
              .select_related("actor").order_by("-id")[:50])
    # An insert's history row may reference the inserted version instead of copying it (selectors.history_rows).
    history = [
        {"h": h, "items": _changed_items(before, after)} for h, before, after in reversed(history_rows(record, newest))
    ]
    flags = verification.verification_flags(record)
    cases = VerificationCase.objects.restrict(user).filter(record_id=record.pk).select_related("requester")[:20]
    can_file = (
        access.is_department_member(user) and user.department_id != dataset.department_id
        and not flags["under_verification"]
    )
    with transaction.atomic():
        audit.record(
            actor=user, action="aggregation.record.viewed", obj=record, object_repr=dataset.entry.name,
            data={"dataset": dataset.pk, "key": access.hash_hex(record.key_hash), "masked": not full},
        )
    return render(request, "aggregation/uses_record_detail.html", {
        "dataset": dataset, "record": record, "values": list(shown.items()), "full": full, "history": history,
        "flags": flags, "cases": cases, "can_file": can_file,
    })


# --------------------------------------------------------------------------------------------------
# Verification cases


@login_required
def verification_create(request, dataset_pk: int, pk: int):
    """File a verification case against one record (a consuming department's staff, R14.1)."""
    user = request.user
    dataset, record = _visible_record(user, dataset_pk, pk)
    if not access.is_department_member(user) or user.department_id == dataset.department_id:
        raise DjangoPermissionDenied
    item_names = list(dataset.entry.items.order_by("position").values_list("name", flat=True))
    form = VerificationFileForm(request.POST or None, request.FILES or None, item_names=item_names)
    if request.method == "POST" and form.is_valid():
        try:
            case = verification.verification_case_file(
                actor=user, record_id=record.pk, dataset_id=dataset.pk, fields=form.cleaned_data["fields_"],
                description=form.cleaned_data["description"], evidence=form.cleaned_data["evidence"],
            )
        except NotFound as exc:
            _not_found(exc)
        except PortalError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("已提交数据校核申请，提供部门应在 10 个工作日内答复"))
            return redirect(case.get_absolute_url())
    return render(request, "aggregation/uses_verification_form.html", {
        "dataset": dataset, "record": record, "form": form,
    })


def _remaining(rows, cal: WorkCalendar, today: dt.date):
    out = []
    for case in rows:
        remaining = cal.remaining_working_days(case.due_on, today) if case.due_on and case.is_open else None
        out.append({"case": case, "remaining": remaining, "overdue": remaining is not None and remaining < 0,
                    "overdue_days": -remaining if remaining is not None else None})
    return out


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
    summary = verification.with_clocks(VerificationCase.objects.restrict(user)).aggregate(
        open=Count("pk", filter=Q(state=VerificationState.OPEN)),
        overdue=Count("pk", filter=Q(state=VerificationState.OPEN, due_on__lt=local_today())),
        extension=Count("pk", filter=Q(state=VerificationState.OPEN, extension_state="requested")),
        late=Count("pk", filter=Q(closed_late=True)),
    )
    rows = list(verification.with_clocks(qs).order_by("-id")[: LIST_LIMIT + 1])
    more = len(rows) > LIST_LIMIT
    rows = rows[:LIST_LIMIT]
    return render(request, "aggregation/uses_verification_list.html", {
        "rows": _remaining(rows, WorkCalendar(), local_today()), "side": side, "state": state,
        "states": VerificationState.choices, "next_before": rows[-1].pk if more else None,
        "departments": Department.objects.filter(pk__in=VerificationCase.objects.restrict(user).values("provider_id"))
        if user.has_role(Role.BUREAU_REVIEWER, Role.COUNTY_BUREAU, Role.ASSESSOR) else [],
        "department": department, "summary": summary,
    })


@login_required
def verification_detail(request, pk: int, forms: dict | None = None):
    """One case with its clocks, evidence and the actions the user may take now."""
    from .models import Record

    user = request.user
    try:
        case = verification.access_case_by_id(user, pk)
    except NotFound as exc:
        _not_found(exc)
    case = verification.with_clocks(VerificationCase.objects.filter(pk=case.pk)).select_related(
        "dataset__entry", "provider", "requester", "created_by", "answered_by", "extension_decided_by",
        "extension_requested_by",
    ).get()
    row = _remaining([case], WorkCalendar(), local_today())[0]
    clocks = Deadline.objects.for_case(case).order_by("id")
    actions = verification.case_actions(user, case)
    forms = forms or {}
    if "correct" in actions and "correct" not in forms:
        record = Record.objects.get(pk=case.record_id, dataset_id=case.dataset_id)
        items = [n for n in case.fields if n != case.dataset.key_item_name]
        types = dict(case.dataset.entry.items.values_list("name", "data_type"))
        full = access.full_values_allowed(user, case.dataset)
        typed = [(n, types.get(n, "C")) for n in items]
        current = access.display_values(case.dataset, record.data, full=full, items=typed)
        forms["correct"] = CorrectForm(items=items, current=current)
        with transaction.atomic():  # the form shows the disputed values: a read like the record page
            audit.record(
                actor=user, action="aggregation.record.viewed", obj=record, object_repr=case.dataset.entry.name,
                data={"dataset": case.dataset_id, "key": access.hash_hex(record.key_hash), "masked": not full,
                      "items": items, "verification_case": case.pk},
            )
    if "confirm" in actions:
        forms.setdefault("confirm", ConfirmForm())
    if "request_extension" in actions:
        forms.setdefault("extension", ExtensionRequestForm())
    if "decide_extension" in actions:
        forms.setdefault("decide", ExtensionDecideForm())
    record_visible = access.datasets_visible(user).filter(pk=case.dataset_id).exists()
    return render(request, "aggregation/uses_verification_detail.html", {
        "case": case, "row": row, "clocks": clocks, "actions": actions, "forms": forms,
        "evidence": case.evidence.all(), "record_visible": record_visible,
        "notice": verification.VERIFICATION_NOTICE,
    })


def _case_action(request, pk: int, form_key: str, form, call):
    if form.is_valid():
        try:
            call(form)
        except NotFound as exc:
            _not_found(exc)
        except PermissionDenied as exc:
            raise DjangoPermissionDenied(str(exc.detail)) from exc
        except PortalError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("已办理"))
            return redirect("aggregation:verification-detail", pk=pk)
    return verification_detail(request, pk, forms={form_key: form})


@login_required
@require_POST
def verification_extension_request(request, pk: int):
    return _case_action(request, pk, "extension", ExtensionRequestForm(request.POST), lambda f: (
        verification.verification_extension_request(
            actor=request.user, case_id=pk, working_days=f.cleaned_data["working_days"],
            reason=f.cleaned_data["reason"],
        )))


@login_required
@require_POST
def verification_extension_decide(request, pk: int):
    return _case_action(request, pk, "decide", ExtensionDecideForm(request.POST), lambda f: (
        verification.verification_extension_decide(
            actor=request.user, case_id=pk, approve=f.cleaned_data["approve"], comment=f.cleaned_data["comment"],
        )))


@login_required
@require_POST
def verification_confirm(request, pk: int):
    return _case_action(request, pk, "confirm", ConfirmForm(request.POST), lambda f: (
        verification.verification_case_confirm(
            actor=request.user, case_id=pk, explanation=f.cleaned_data["explanation"],
        )))


@login_required
@require_POST
def verification_correct(request, pk: int):
    try:
        case = verification.access_case_by_id(request.user, pk)
    except NotFound as exc:
        _not_found(exc)
    items = [n for n in case.fields if n != case.dataset.key_item_name]
    form = CorrectForm(request.POST, items=items, current={})

    def call(f):
        verification.verification_case_correct(
            actor=request.user, case_id=pk, values=f.values(), explanation=f.cleaned_data["explanation"],
        )

    return _case_action(request, pk, "correct", form, call)


@login_required
def verification_evidence(request, pk: int, evidence_pk: int):
    """Download one evidence file (inside the case's scope); the download is audited."""
    try:
        case = verification.access_case_by_id(request.user, pk)
    except NotFound as exc:
        _not_found(exc)
    evidence = case.evidence.filter(pk=evidence_pk).first()
    if evidence is None:
        raise Http404
    with transaction.atomic():
        audit.record(actor=request.user, action="aggregation.verification.evidence_downloaded", obj=case,
                     data={"evidence": evidence.pk, "sha256": evidence.sha256})
    return FileResponse(evidence.file.open("rb"), as_attachment=True, filename=evidence.original_name,
                        content_type=evidence.content_type)


# --------------------------------------------------------------------------------------------------
# Base databases


@login_required
def basedb_index(request):
    """The four base databases and their authoritative sources (readable by every department, R19.2)."""
    if not access.reads_data(request.user):
        raise Http404
    databases = [
        {"db": db, "datasets": list(basedb.contributing_datasets(db))} for db in basedb.BASE_DATABASES.values()
    ]
    return render(request, "aggregation/uses_basedb_index.html", {"databases": databases})


@login_required
def subject_lookup(request, kind: str):
    """Type a key → the subject's base items merged across sources. POST, so the key never sits in a URL or log."""
    if not access.reads_data(request.user):
        raise Http404
    try:
        db = basedb.base_database(kind)
    except NotFound as exc:
        _not_found(exc)
    form = SubjectLookupForm(request.POST or None)
    view = None
    if request.method == "POST" and form.is_valid():
        try:
            view = basedb.subject_view(actor=request.user, kind=kind, key=form.cleaned_data["key"])
        except PermissionDenied as exc:
            raise Http404 from exc
        except PortalError as exc:
            _form_errors(form, exc)
    return render(request, "aggregation/uses_subject.html", {
        "db": db, "form": form, "view": view, "notice": verification.VERIFICATION_NOTICE,
    })


# --------------------------------------------------------------------------------------------------
# Theme databases


@login_required
@role_required(*SCOPED_ROLES)
def theme_list(request):
    themes_qs = ThemeDatabase.objects.restrict(request.user).select_related("department").prefetch_related("jobs")
    return render(request, "aggregation/uses_theme_list.html", {
        "themes": themes_qs.order_by("department__name", "name")[:500],
        "can_create": access.is_department_member(request.user),
    })


def _theme_form_page(request, theme_obj=None):
    user = request.user
    datasets = list(themes.source_choices(user))
    initial = None
    if theme_obj is not None:
        initial = {
            "name": theme_obj.name, "description": theme_obj.description, "key_kind": theme_obj.key_kind,
            "join_mode": theme_obj.join_mode,
            "columns": [f"{s.dataset_id}:{n}" for s in theme_obj.sources.all() for n in s.item_names],
        }
    form = ThemeForm(request.POST or None, initial=initial, datasets=datasets)
    if request.method == "POST" and form.is_valid():
        try:
            saved = themes.theme_save(
                actor=user, name=form.cleaned_data["name"], description=form.cleaned_data["description"],
                key_kind=form.cleaned_data["key_kind"], join_mode=form.cleaned_data["join_mode"],
                sources=form.sources(), theme_id=theme_obj.pk if theme_obj else None,
            )
        except NotFound as exc:
            _not_found(exc)
        except PermissionDenied as exc:
            raise DjangoPermissionDenied(str(exc.detail)) from exc
        except PortalError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("主题库定义已保存，请点击“生成”构建数据"))
            return redirect(saved.get_absolute_url())
    return render(request, "aggregation/uses_theme_form.html", {"form": form, "theme": theme_obj})


@login_required
def theme_create(request):
    if not access.is_department_member(request.user):
        raise Http404
    return _theme_form_page(request)


@login_required
def theme_edit(request, pk: int):
    try:
        theme_obj = themes.access_theme_by_id(request.user, pk, action="change")
    except NotFound as exc:
        _not_found(exc)
    except PermissionDenied as exc:
        raise DjangoPermissionDenied(str(exc.detail)) from exc
    return _theme_form_page(request, theme_obj)


@login_required
@one_snapshot()
def theme_detail(request, pk: int):
    """Browse a built theme (keyset pages of 50, masked), its definition and its build jobs — all read from one
    snapshot, so the count, the rows and the jobs agree even while a build commits."""
    try:
        theme_obj = themes.access_theme_by_id(request.user, pk)
    except NotFound as exc:
        _not_found(exc)
    after = request.GET.get("after", "")
    page = themes.theme_rows_page(actor=request.user, theme=theme_obj, after=int(after) if after.isdigit() else None)
    can_change = ThemeDatabase.objects.restrict(request.user, "change").filter(pk=theme_obj.pk).exists()
    return render(request, "aggregation/uses_theme_detail.html", {
        "theme": theme_obj, "page": page, "jobs": theme_obj.jobs.all()[:10], "can_change": can_change,
        "sources": theme_obj.sources.select_related("dataset__entry", "dataset__department"),
    })


@login_required
@require_POST
def theme_rebuild(request, pk: int):
    try:
        themes.theme_rebuild_request(actor=request.user, theme_id=pk)
    except NotFound as exc:
        _not_found(exc)
    except PermissionDenied as exc:
        raise DjangoPermissionDenied(str(exc.detail)) from exc
    except PortalError as exc:
        messages.error(request, str(exc.detail))
    else:
        messages.success(request, _("已提交生成任务"))
    return redirect("aggregation:theme-detail", pk=pk)


@login_required
def theme_job(request, pk: int, job_pk: int):
    """The job's status and progress (htmx polls this fragment while the job runs)."""
    try:
        theme_obj = themes.access_theme_by_id(request.user, pk)
    except NotFound as exc:
        _not_found(exc)
    job = theme_obj.jobs.filter(pk=job_pk).first()
    if job is None:
        raise Http404
    response = render(request, "aggregation/uses_theme_job.html", {"theme": theme_obj, "job": job})
    if request.htmx and job.status not in (ThemeJobStatus.PENDING, ThemeJobStatus.RUNNING):
        # The poll saw the build end: the page's rows and counts are from before it, so htmx reloads the page once
        # (the reloaded page shows the ended job without polling it).
        response["HX-Refresh"] = "true"
    return response


# --------------------------------------------------------------------------------------------------
# Data quality


def _quality_chart(reports, *, by_department: bool) -> dict:
    """Bar chart data (percentages): per department for the bureau's overview, else per dataset."""
    groups: dict[str, list] = {}
    for r in reports:
        label = (r.department.short_name or r.department.name) if by_department else r.dataset.entry.name
        groups.setdefault(label, []).append(r)

    def mean(values):
        values = [v for v in values if v is not None]
        return round(100 * sum(values) / len(values), 1) if values else None

    return {
        "names": [_("平均完整率(%)"), _("有效率(%)"), _("按周期更新(%)")],
        "labels": list(groups),
        "completeness": [mean(r.completeness_avg for r in rs) for rs in groups.values()],
        "validity": [mean(r.validity for r in rs) for rs in groups.values()],
        "timely": [mean(None if r.timely is None else float(r.timely) for r in rs) for rs in groups.values()],
    }


@login_required
@role_required(*SCOPED_ROLES)
@one_snapshot()
def quality_report(request):
    """The department's datasets with their latest figures; county bureaus their region, the bureau everything. One
    snapshot: a dataset is either measured or pending, whatever the nightly job commits meanwhile."""
    user = request.user
    department = request.GET.get("department", "")
    department_id = int(department) if department.isdigit() else None
    reports = list(quality.latest_reports(user, department_id=department_id))
    rows = []
    for r in reports:
        items = [{"name": k, "share": v, "colour": quality.colour(v)} for k, v in (r.completeness or {}).items()]
        rows.append({
            "report": r, "items": items,
            "completeness_colour": quality.colour(r.completeness_avg),
            "validity_colour": quality.colour(r.validity),
            "timely_colour": "secondary" if r.timely is None else ("success" if r.timely else "danger"),
            "duplicate_colour": "success" if not r.duplicate_keys else "danger",
        })
    wide = user.has_role(Role.BUREAU_REVIEWER, Role.COUNTY_BUREAU, Role.ASSESSOR)
    departments = None
    if wide:
        from portal.permissions import department_scope_q

        from .models import Dataset

        departments = Department.objects.filter(
            pk__in=Dataset.objects.filter(department_scope_q(user, "department")).values("department_id")
        ).order_by("name")
    chart = _quality_chart(reports, by_department=wide and not department)
    pending = quality.datasets_without_report(user, department_id=department_id)
    return render(request, "aggregation/uses_quality.html", {
        "rows": rows, "departments": departments, "department": department, "wide": wide, "chart": chart,
        "pending": pending,
        "thresholds": (int(quality.GOOD * 100), int(quality.FAIR * 100)),
    })
