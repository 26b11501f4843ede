"""Catalog pages: catalog list, master catalog, filing forms, review, versions, demands, responsibility
lists, update cases, the classification tree. Thin: every change goes through catalog.services."""

from __future__ import annotations

import io

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from portal.choices import Clock, Role
from portal.errors import NotFound, PermissionDenied, PortalError
from portal.models import Deadline, Department
from portal.services.workdays import WorkCalendar, local_today
from portal.shortcuts import role_required

from . import selectors, services
from .choices import EntryState, ShareType, UpdateCaseState
from .forms import (
    FORMAT_TYPE_SUGGESTIONS,
    ApproveForm,
    ClassificationForm,
    CommentForm,
    DataItemFormSet,
    DemandForm,
    EntryFilterForm,
    EntryForm,
    NoteForm,
    UpdateCaseOpenForm,
    apply_errors,
    formset_items,
    items_initial,
)
from .models import CatalogEntry, Classification
from .permissions import access_demand_by_id, access_entry_by_id, access_update_case_by_id, entry_actions
from .querysets import STAFF_ROLES

PAGE_SIZE = 50
CATALOG_CLOCKS = (Clock.CATALOG_REVIEW, Clock.CATALOG_UPDATE_APPLY, Clock.CATALOG_UPDATE_REVIEW)


def _get(fn, *args, **kwargs):
    """Call an access helper: NotFound -> 404, PermissionDenied -> 403."""
    try:
        return fn(*args, **kwargs)
    except NotFound as exc:
        raise Http404 from exc
    except PermissionDenied as exc:
        raise DjangoPermissionDenied(str(exc.detail)) from exc


def _run(request, fn, **kwargs):
    """Run a service. 404/403 as for access; any other refusal becomes an error message (returns None)."""
    try:
        return fn(**kwargs), None
    except NotFound as exc:
        raise Http404 from exc
    except PermissionDenied as exc:
        raise DjangoPermissionDenied(str(exc.detail)) from exc
    except PortalError as exc:
        return None, exc


def _render(request, template: str, context: dict):
    """render() plus the flags the catalog's sub-navigation needs (which tabs the user's roles open)."""
    user = request.user
    context["catalog_nav"] = {
        "staff": _is_staff(user),
        "region": user.has_role(Role.COUNTY_BUREAU, Role.BUREAU_REVIEWER, Role.ASSESSOR),
        "reviewer": user.has_role(Role.BUREAU_REVIEWER),
        "current": request.resolver_match.url_name if request.resolver_match else "",
    }
    return render(request, template, context)


def _page(request, queryset):
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


def _is_staff(user) -> bool:
    return user.has_role(*STAFF_ROLES) and bool(user.department_id)


def sharing_request_url(entry: CatalogEntry) -> str:
    """Where to ask for a sharing request of `entry` (the sharing chapter's form)."""
    try:
        return reverse("sharing:request-new", args=[entry.pk])
    except NoReverseMatch:
        return entry.get_absolute_url()


def _catalog_clocks(user):
    qs = Deadline.objects.running().restrict(user, "view").filter(clock__in=CATALOG_CLOCKS).select_related("department")
    today, cal = local_today(), WorkCalendar()
    rows = []
    for d in qs.order_by("due_on", "id")[:50]:
        remaining = cal.remaining_working_days(d.due_on, today)
        rows.append({"deadline": d, "remaining": remaining, "overdue_days": -remaining, "overdue": today > d.due_on})
    return rows


# --------------------------------------------------------------------------------------------------
# Lists


@login_required
def index(request):
    """目录清单: the entries of the caller's scope in every state (own department / region / city)."""
    user = request.user
    visible = CatalogEntry.objects.restrict(user, "view")
    providers = Department.objects.filter(pk__in=visible.values("provider_id")).order_by("region__code", "name")
    classifications = list(Classification.objects.filter(level__lte=2).order_by("code"))
    form = EntryFilterForm(request.GET or None, providers=providers, classifications=classifications)
    filters = form.filters()
    qs = selectors.catalog_entry_list(user=user, filters=filters)
    if not filters.get("state") and not filters.get("q"):
        # The list of one's own scope, not the whole published catalog (that is the master catalog).
        from portal.permissions import department_scope_q

        qs = qs.filter(department_scope_q(user, "provider"))
    return _render(
        request,
        "catalog/index.html",
        {
            "form": form,
            "page": _page(request, qs),
            "clocks": _catalog_clocks(user),
            "queue_count": selectors.review_queue(user=user).count(),
            "can_file": _is_staff(user),
        },
    )


@login_required
def master(request):
    """总目录 (R8.3): every published entry; Chinese search and filters."""
    user = request.user
    published = CatalogEntry.objects.published()
    providers = Department.objects.filter(pk__in=published.values("provider_id")).order_by("region__code", "name")
    classifications = list(Classification.objects.filter(level__lte=2).order_by("code"))
    form = EntryFilterForm(request.GET or None, providers=providers, classifications=classifications, with_state=False)
    qs = selectors.master_catalog(user=user, filters=form.filters())
    return _render(request, "catalog/master.html", {"form": form, "page": _page(request, qs)})


@login_required
def review_queue(request):
    """What waits for me: sign-off (head), county pre-review (county bureau), bureau review (reviewer)."""
    qs = selectors.review_queue(user=request.user)
    return _render(request, "catalog/review_queue.html", {"page": _page(request, qs)})


@role_required(Role.COUNTY_BUREAU, Role.BUREAU_REVIEWER, Role.ASSESSOR)
def region_summary(request):
    """县(市)区汇总 (R8.3): per department of the region (the city for the bureau), entries by state."""
    rows = selectors.region_summary(user=request.user)
    totals = {s.value: sum(r[s.value] for r in rows) for s in EntryState}
    totals["total"] = sum(r["total"] for r in rows)
    return _render(request, "catalog/region.html", {"rows": rows, "totals": totals, "states": EntryState})


# --------------------------------------------------------------------------------------------------
# One entry


def _entry_form_page(request, *, entry=None, case=None):
    """The entry form with its data-item formset; used to file an entry and to propose an update."""
    user = request.user
    template_entry = case.entry if case is not None else entry
    duplicates = []
    if request.method == "POST":
        form = EntryForm(request.POST)
        formset = DataItemFormSet(request.POST, prefix="items")
        if form.is_valid() and formset.is_valid():
            values = form.values()
            items, where = formset_items(formset)
            duplicates = selectors.duplicate_sources(department=user.department, items=items) if case is None else []
            note = form.cleaned_data.get("duplicate_note", "")
            # Asked once: an entry whose reason is already on file is not stopped again at every save.
            confirmed = form.cleaned_data.get("confirm_duplicates") or bool(entry and entry.duplicate_note and note)
            if duplicates and not confirmed:
                data = request.POST.copy()
                data["confirm_duplicates"] = "True"
                form = EntryForm(data)
                form.is_valid()
                messages.warning(
                    request,
                    _(
                        "部分信息项已由其他部门提供，按规定不得重复采集：请优先申请共享；确需自行采集的，填写重复采集说明后再次保存。"
                    ),
                )
            elif duplicates and not note:
                form.add_error(
                    "duplicate_note", _("信息项与其他部门已提供的数据重复，请说明仍需自行采集的理由或法律依据")
                )
            else:
                if case is not None:
                    result, error = _run(
                        request, services.update_case_save, actor=user, case_id=case.pk, values=values, items=items
                    )
                else:
                    result, error = _run(
                        request,
                        services.catalog_entry_save,
                        actor=user,
                        department=user.department,
                        values=values,
                        items=items,
                        entry=entry,
                        duplicate_note=note if duplicates else "",
                    )
                if error is None:
                    messages.success(request, _("已保存"))
                    return redirect(result.get_absolute_url())
                apply_errors(form, formset, error.errors, where)
                if not error.errors:
                    form.add_error(None, str(error.detail))
    else:
        if case is not None:
            form = EntryForm(initial=EntryForm.initial_from_snapshot(case.proposed.get("values", {})))
            formset = DataItemFormSet(initial=case.proposed.get("items", []), prefix="items")
        elif entry is not None:
            form = EntryForm(initial=EntryForm.initial_from(entry))
            formset = DataItemFormSet(initial=items_initial(entry.items.order_by("position")), prefix="items")
        else:
            form = EntryForm()
            formset = DataItemFormSet(initial=[{"data_type": "C"}], prefix="items")
    if case is not None:
        form.fields["classification"].disabled = True
        form.fields["classification"].help_text = _("目录更新不能变更分类（资源代码不变）")
    return _render(
        request,
        "catalog/entry_form.html",
        {
            "form": form,
            "formset": formset,
            "entry": template_entry,
            "case": case,
            "duplicates": duplicates,
            "format_types": FORMAT_TYPE_SUGGESTIONS,
            "sharing_request_url": sharing_request_url,
        },
    )


@login_required
def entry_create(request):
    if not _is_staff(request.user):
        raise Http404
    return _entry_form_page(request)


@login_required
def entry_edit(request, pk: int):
    entry = _get(access_entry_by_id, request.user, pk, action="change")
    if not entry.is_editable:
        messages.error(request, _("“%(state)s”状态的条目不能修改") % {"state": entry.get_state_display()})
        return redirect(entry.get_absolute_url())
    return _entry_form_page(request, entry=entry)


@login_required
def entry_detail(request, pk: int):
    user = request.user
    entry = _get(access_entry_by_id, user, pk)
    detail = selectors.entry_detail(entry)
    actions = entry_actions(user, entry)
    duplicates = []
    if entry.state != EntryState.APPROVED and (actions or user.has_role(Role.BUREAU_REVIEWER)):
        duplicates = selectors.duplicate_sources(
            department=entry.provider,
            items=[{"name": i.name, "is_subject_key": i.is_subject_key} for i in detail["items"]],
        )
    clocks = list(Deadline.objects.for_case(entry).select_related("department").order_by("-id"))
    cases = list(entry.update_cases.restrict(user, "view").order_by("-id")[:20])
    return _render(
        request,
        "catalog/entry_detail.html",
        {
            **detail,
            "entry": entry,
            "actions": actions,
            "duplicates": duplicates,
            "clocks": clocks,
            "update_cases": cases,
            "comment_form": CommentForm(),
            "approve_form": ApproveForm(
                initial={
                    "share_type": entry.share_type,
                    "share_condition": entry.share_condition,
                    "no_share_basis": entry.no_share_basis,
                }
            ),
            "share_types": ShareType,
            "sharing_request_url": sharing_request_url(entry),
            "can_request_share": entry.state == EntryState.APPROVED and user.department_id != entry.provider_id,
        },
    )


_ENTRY_ACTIONS = {
    "submit": (services.catalog_entry_submit, _("已提交，等待部门负责人签发")),
    "sign_off": (services.catalog_entry_sign_off, _("已签发报送")),
    "county_pass": (services.catalog_entry_county_pass, _("初审通过，已报市局审核")),
    "return": (services.catalog_entry_return, _("已退回")),
    "approve": (services.catalog_entry_approve, _("审核通过，已发布到总目录")),
}


@login_required
@require_POST
def entry_transition(request, pk: int, action: str):
    user = request.user
    if action == "delete":
        _result, error = _run(request, services.catalog_entry_delete, actor=user, entry_id=pk)
        if error is None:
            messages.success(request, _("已删除"))
            return redirect("catalog:index")
        messages.error(request, str(error.detail))
        return redirect("catalog:entry-detail", pk=pk)
    if action not in _ENTRY_ACTIONS:
        raise Http404
    fn, done = _ENTRY_ACTIONS[action]
    kwargs = {"actor": user, "entry_id": pk, "comment": request.POST.get("comment", "")}
    if action == "approve":
        form = ApproveForm(request.POST)
        if form.is_valid():
            kwargs.update(
                share_type=form.cleaned_data["share_type"],
                share_condition=form.cleaned_data["share_condition"],
                no_share_basis=form.cleaned_data["no_share_basis"],
                comment=form.cleaned_data["comment"],
            )
    _result, error = _run(request, fn, **kwargs)
    if error is None:
        messages.success(request, done)
    else:
        extra = "；".join(m for msgs in error.errors.values() for m in msgs)
        messages.error(request, f"{error.detail}{'：' + extra if extra and extra not in str(error.detail) else ''}")
    return redirect("catalog:entry-detail", pk=pk)


@login_required
def entry_diff(request, pk: int):
    """Approved versions of an entry and what changed between two of them."""
    entry = _get(access_entry_by_id, request.user, pk)
    versions = list(entry.versions.select_related("approved_by", "update_case").order_by("number"))
    by_number = {v.number: v for v in versions}

    def pick(name, default):
        try:
            return by_number.get(int(request.GET.get(name, default)))
        except (TypeError, ValueError):
            return None

    new = pick("b", versions[-1].number if versions else 0)
    old = pick("a", new.number - 1 if new else 0)
    diff = selectors.version_diff(old.snapshot if old else {}, new.snapshot) if new else None
    return _render(
        request,
        "catalog/entry_diff.html",
        {
            "entry": entry,
            "versions": versions,
            "old": old,
            "new": new,
            "diff": diff,
        },
    )


# --------------------------------------------------------------------------------------------------
# Demand lists and the gap list


@login_required
def demand_list(request):
    user = request.user
    qs = selectors.demand_list(
        user=user, filters={"state": request.GET.get("state"), "addressed": request.GET.get("addressed")}
    )
    return _render(
        request,
        "catalog/demand_list.html",
        {
            "page": _page(request, qs),
            "can_file": _is_staff(user),
            "addressed": bool(request.GET.get("addressed")),
        },
    )


def _demand_form_page(request, demand=None):
    user = request.user
    form = DemandForm(
        request.POST or None,
        department=user.department,
        initial=(
            {
                "needed_data": demand.needed_data,
                "item_names": "、".join(demand.item_names),
                "purpose": demand.purpose,
                "legal_basis": demand.legal_basis,
                "provider": demand.provider_id,
            }
            if demand
            else None
        ),
    )
    if request.method == "POST" and form.is_valid():
        result, error = _run(
            request,
            services.demand_item_save,
            actor=user,
            department=user.department,
            values=form.values(),
            demand=demand,
        )
        if error is None:
            if result.matches.exists():
                messages.warning(request, _("目录中已有可满足该需求的数据资源：请直接申请共享，不必重复采集。"))
            else:
                messages.success(request, _("已保存"))
            return redirect(result.get_absolute_url())
        apply_errors(form, None, error.errors, [])
        if not error.errors:
            form.add_error(None, str(error.detail))
    return _render(request, "catalog/demand_form.html", {"form": form, "demand": demand})


@login_required
def demand_create(request):
    if not _is_staff(request.user):
        raise Http404
    return _demand_form_page(request)


@login_required
def demand_edit(request, pk: int):
    demand = _get(access_demand_by_id, request.user, pk, action="change")
    return _demand_form_page(request, demand)


@login_required
def demand_detail(request, pk: int):
    user = request.user
    demand = _get(access_demand_by_id, user, pk)
    matches = list(demand.matches.select_related("provider", "classification").order_by("code"))
    own = user.department_id == demand.department_id and user.has_role(*STAFF_ROLES)
    return _render(
        request,
        "catalog/demand_detail.html",
        {
            "demand": demand,
            "matches": [(m, sharing_request_url(m)) for m in matches],
            "own": own,
            "can_close": demand.state == "submitted" and (own or user.has_role(Role.BUREAU_REVIEWER)),
            "note_form": NoteForm(),
        },
    )


@login_required
@require_POST
def demand_transition(request, pk: int, action: str):
    user = request.user
    calls = {
        "submit": (services.demand_item_submit, {}, _("已提交到市大数据局")),
        "close": (services.demand_item_close, {"note": request.POST.get("note", "")}, _("已办结")),
        "delete": (services.demand_item_delete, {}, _("已删除")),
    }
    if action not in calls:
        raise Http404
    fn, extra, done = calls[action]
    _result, error = _run(request, fn, actor=user, demand_id=pk, **extra)
    if error is not None:
        messages.error(request, str(error.detail))
        return redirect("catalog:demand-detail", pk=pk)
    messages.success(request, done)
    return redirect(
        "catalog:demand-list" if action == "delete" else "catalog:demand-detail",
        **({} if action == "delete" else {"pk": pk}),
    )


@role_required(Role.BUREAU_REVIEWER)
def gap_list(request):
    """Submitted demands nothing in the catalog meets (R17.1): what the bureau must get catalogued."""
    return _render(request, "catalog/gaps.html", {"page": _page(request, selectors.gap_list(user=request.user))})


# --------------------------------------------------------------------------------------------------
# Responsibility lists (R9)


def _responsibility_department(request):
    user = request.user
    departments = selectors.responsibility_departments(user=user)
    wanted = request.GET.get("department")
    if wanted:
        department = departments.filter(pk=wanted).first() if str(wanted).isdigit() else None
        if department is None:
            raise Http404
        return department, departments
    if user.department_id and user.has_role(*STAFF_ROLES):
        return user.department, departments
    return None, departments


@login_required
def responsibility(request):
    department, departments = _responsibility_department(request)
    lines, unfiled = [], []
    if department is not None:
        items = list(selectors.responsibility_list(user=request.user, department_id=department.pk))
        lines = selectors.fulfilment(items, today=local_today())
        unfiled = list(selectors.demands_addressed_unfiled(department=department))
    return _render(
        request,
        "catalog/responsibility.html",
        {
            "department": department,
            "departments": departments,
            "lines": lines,
            "unfiled": unfiled,
        },
    )


@login_required
def responsibility_export(request):
    """The department's responsibility list as .xlsx (R9.1)."""
    from openpyxl import Workbook

    department, _departments = _responsibility_department(request)
    if department is None:
        raise Http404
    items = list(selectors.responsibility_list(user=request.user, department_id=department.pk))
    lines = selectors.fulfilment(items, today=local_today())
    book = Workbook()
    sheet = book.active
    sheet.title = _("责任清单")
    sheet.append(
        [
            _("部门"),
            _("信息资源代码"),
            _("信息资源名称"),
            _("信息项"),
            _("数据类型"),
            _("基础数据项"),
            _("更新周期"),
            _("起始日期"),
            _("依据版本"),
            _("落实情况"),
            _("最近数据时间"),
        ]
    )
    for line in lines:
        r = line.item
        sheet.append(
            [
                department.name,
                r.entry.code,
                r.entry.name,
                r.item_name or _("（整个资源）"),
                r.get_data_type_display(),
                _("是") if r.is_base_item else _("否"),
                r.get_update_cycle_display(),
                r.since,
                r.entry_version,
                line.status_label,
                line.last_data_at.replace(tzinfo=None) if line.last_data_at else "",
            ]
        )
    for column, width in zip("ABCDEFGHIJK", (24, 30, 30, 20, 12, 10, 10, 12, 8, 14, 18), strict=True):
        sheet.column_dimensions[column].width = width
    buffer = io.BytesIO()
    book.save(buffer)
    from portal import audit

    audit.record(
        actor=request.user, action="catalog.responsibility.exported", obj=department, data={"lines": len(lines)}
    )
    response = HttpResponse(
        buffer.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    filename = f"responsibility-{department.pk}-{local_today():%Y%m%d}.xlsx"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# --------------------------------------------------------------------------------------------------
# Catalog update cases (R10)


@login_required
def update_case_list(request):
    qs = selectors.update_case_list(user=request.user, filters={"state": request.GET.get("state")})
    return _render(request, "catalog/update_case_list.html", {"page": _page(request, qs), "states": UpdateCaseState})


@login_required
def update_case_open(request, entry_pk: int):
    user = request.user
    entry = _get(access_entry_by_id, user, entry_pk, action="change")
    form = UpdateCaseOpenForm(request.POST or None, initial={"trigger_date": local_today()})
    if request.method == "POST" and form.is_valid():
        case, error = _run(request, services.update_case_open, actor=user, entry_id=entry.pk, **form.cleaned_data)
        if error is None:
            messages.success(request, _("已登记目录更新事由，请在时限内填写更新内容并提交申请"))
            return redirect(case.get_absolute_url())
        apply_errors(form, None, error.errors, [])
        if not error.errors:
            form.add_error(None, str(error.detail))
    return _render(request, "catalog/update_case_open.html", {"form": form, "entry": entry})


@login_required
def update_case_detail(request, pk: int):
    user = request.user
    case = _get(access_update_case_by_id, user, pk)
    own = user.department_id == case.department_id and user.has_role(*STAFF_ROLES)
    editable = own and case.state in (UpdateCaseState.DRAFT, UpdateCaseState.RETURNED)
    return _render(
        request,
        "catalog/update_case_detail.html",
        {
            "case": case,
            "changes": services.update_case_changes(case) if case.state != UpdateCaseState.APPROVED else None,
            "clocks": list(Deadline.objects.for_case(case).select_related("department").order_by("id")),
            "editable": editable,
            "can_review": case.state == UpdateCaseState.SUBMITTED and user.has_role(Role.BUREAU_REVIEWER),
            "comment_form": CommentForm(),
        },
    )


@login_required
def update_case_edit(request, pk: int):
    case = _get(access_update_case_by_id, request.user, pk, action="change")
    if case.state not in (UpdateCaseState.DRAFT, UpdateCaseState.RETURNED):
        messages.error(request, _("该更新申请已提交或已办结，不能修改"))
        return redirect(case.get_absolute_url())
    return _entry_form_page(request, case=case)


@login_required
@require_POST
def update_case_transition(request, pk: int, action: str):
    user = request.user
    comment = request.POST.get("comment", "")
    calls = {
        "submit": (services.update_case_submit, {}, _("已提交更新申请，市大数据局将在 5 个工作日内审核")),
        "approve": (services.update_case_approve, {"comment": comment}, _("已审核通过，目录和责任清单已同步更新")),
        "return": (services.update_case_return, {"comment": comment}, _("已退回")),
        "withdraw": (services.update_case_withdraw, {"reason": comment}, _("已撤回")),
    }
    if action not in calls:
        raise Http404
    fn, extra, done = calls[action]
    _result, error = _run(request, fn, actor=user, case_id=pk, **extra)
    if error is None:
        messages.success(request, done)
    else:
        messages.error(request, str(error.detail))
    return redirect("catalog:update-case-detail", pk=pk)


# --------------------------------------------------------------------------------------------------
# Classification tree (bureau-maintained)


@login_required
def classifications(request):
    user = request.user
    can_edit = user.has_role(Role.BUREAU_REVIEWER, Role.SYSTEM_ADMIN)
    form = ClassificationForm(request.POST or None) if can_edit else None
    if request.method == "POST":
        if not can_edit:
            raise Http404
        if "toggle" in request.POST:
            node = Classification.objects.filter(pk=request.POST.get("toggle")).first()
            if node is None:
                raise Http404
            _run(
                request,
                services.classification_set_active,
                actor=user,
                classification_id=node.pk,
                active=not node.is_active,
            )
            messages.success(request, _("已更新"))
            return redirect("catalog:classifications")
        if form.is_valid():
            _result, error = _run(request, services.classification_create, actor=user, **form.cleaned_data)
            if error is None:
                messages.success(request, _("已添加分类"))
                return redirect("catalog:classifications")
            apply_errors(form, None, error.errors, [])
    nodes = Classification.objects.order_by("code")
    return _render(request, "catalog/classifications.html", {"nodes": nodes, "form": form, "can_edit": can_edit})
