"""Catalog entry pages: the catalog list, the master catalog, review queue, region summary, filing forms,
an entry with its review trail and transitions, versions. Thin: every change goes through catalog.services."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from portal.choices import Clock, Role
from portal.models import Deadline, Department
from portal.selectors.deadlines import DeadlineRow, deadline_rows
from portal.shortcuts import access_or_404, role_required

from ..choices import EntryState, ShareType
from ..forms.base import apply_errors
from ..forms.entries import (
    FORMAT_TYPE_SUGGESTIONS,
    ApproveForm,
    CommentForm,
    DataItemFormSet,
    EntryFilterForm,
    EntryForm,
    formset_items,
    items_initial,
)
from ..models import CatalogEntry, Classification
from ..permissions import access_entry_by_id, entry_actions
from ..selectors import entries as selectors
from ..selectors.demands import duplicate_sources
from ..services import entries as services
from ..services.update_cases import update_case_save
from .base import can_file, paginate, render_page, run_service, sharing_request_url

CATALOG_CLOCKS = (Clock.CATALOG_REVIEW, Clock.CATALOG_UPDATE_APPLY, Clock.CATALOG_UPDATE_REVIEW)


def _catalog_clocks(user) -> list[DeadlineRow]:
    qs = Deadline.objects.running().restrict(user, "view").filter(clock__in=CATALOG_CLOCKS).select_related("department")
    return deadline_rows(qs.order_by("due_on", "id")[:50], name="deadline")


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
        qs = qs.in_scope(user, "provider")
    return render_page(
        request,
        "catalog/index.html",
        {
            "form": form,
            "page": paginate(request, qs),
            "clocks": _catalog_clocks(user),
            "queue_count": selectors.review_queue(user=user).count(),
            "can_file": can_file(user),
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
    return render_page(request, "catalog/master.html", {"form": form, "page": paginate(request, qs)})


@login_required
def review_queue(request):
    """What waits for me: sign-off (head), county pre-review (county bureau), bureau review (reviewer)."""
    qs = selectors.review_queue(user=request.user)
    return render_page(request, "catalog/review_queue.html", {"page": paginate(request, qs)})


@role_required(Role.COUNTY_BUREAU, Role.BUREAU_REVIEWER, Role.ASSESSOR)
def region_summary(request):
    """县(市)区汇总 (R8.3): per department of the region (the city for the bureau), entries by state."""
    rows = selectors.region_summary(user=request.user)
    totals = {s.value: sum(r[s.value] for r in rows) for s in EntryState}
    totals["total"] = sum(r["total"] for r in rows)
    return render_page(request, "catalog/region.html", {"rows": rows, "totals": totals, "states": EntryState})


# --------------------------------------------------------------------------------------------------
# One entry


def entry_form_page(request, *, entry=None, case=None):
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
            duplicates = duplicate_sources(department=user.department, items=items) if case is None else []
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
                    result, error = run_service(
                        request, update_case_save, actor=user, case_id=case.pk, values=values, items=items
                    )
                else:
                    result, error = run_service(
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
    return render_page(
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
    if not can_file(request.user):
        raise Http404
    return entry_form_page(request)


@login_required
def entry_edit(request, pk: int):
    entry = access_or_404(access_entry_by_id, request.user, pk, action="change")
    if not entry.is_editable:
        messages.error(request, _("“%(state)s”状态的条目不能修改") % {"state": entry.get_state_display()})
        return redirect(entry.get_absolute_url())
    return entry_form_page(request, entry=entry)


@login_required
def entry_detail(request, pk: int):
    user = request.user
    entry = access_or_404(access_entry_by_id, user, pk)
    detail = selectors.entry_detail(entry)
    actions = entry_actions(user, entry)
    duplicates = []
    if entry.state != EntryState.APPROVED and (actions or user.has_role(Role.BUREAU_REVIEWER)):
        duplicates = duplicate_sources(
            department=entry.provider,
            items=[{"name": i.name, "is_subject_key": i.is_subject_key} for i in detail["items"]],
        )
    clocks = list(Deadline.objects.for_case(entry).select_related("department").order_by("-id"))
    cases = list(entry.update_cases.restrict(user, "view").order_by("-id")[:20])
    return render_page(
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
        _result, error = run_service(request, services.catalog_entry_delete, actor=user, entry_id=pk)
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
    _result, error = run_service(request, fn, **kwargs)
    if error is None:
        messages.success(request, done)
    else:
        extra = "；".join(m for msgs in error.errors.values() for m in msgs)
        messages.error(request, f"{error.detail}{'：' + extra if extra and extra not in str(error.detail) else ''}")
    return redirect("catalog:entry-detail", pk=pk)


@login_required
def entry_diff(request, pk: int):
    """Approved versions of an entry and what changed between two of them."""
    entry = access_or_404(access_entry_by_id, request.user, pk)
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
    return render_page(
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

