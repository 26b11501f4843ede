"""The secrecy review register's pages (R30): the security administrator and the bureau's reviewers flag a
resource for review; a reviewer decides with the basis. Every change is one service call (services/secrecy.py)."""

from __future__ import annotations

from functools import partial

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from portal.choices import Role
from portal.errors import PortalError
from portal.permissions import int_or_none
from portal.shortcuts import access_or_404, http_refusal, role_required, service_errors

from ..forms.secrecy import SecrecyDecideForm, SecrecyFilterForm, SecrecyFlagForm
from ..selectors.secrecy import secrecy_review_get, secrecy_review_list
from ..services import secrecy as services
from .common import post_step

PAGE_SIZE = 50
READERS = (Role.SECURITY_ADMIN, Role.BUREAU_REVIEWER)


def _list(request, flag_form):
    form = SecrecyFilterForm(request.GET or None)
    rows = secrecy_review_list(user=request.user)
    if form.is_bound and form.is_valid():
        if form.cleaned_data["state"]:
            rows = rows.filter(state=form.cleaned_data["state"])
    elif form.is_bound:
        rows = rows.none()
    page = Paginator(rows, PAGE_SIZE).get_page(int_or_none(request.GET.get("page")))
    return render(request, "security/secrecy_list.html", {"form": form, "page": page, "flag_form": flag_form})


@role_required(*READERS)
def secrecy_list(request):
    """GET: the register; POST: flag a resource (a refusal comes back on the form)."""
    if request.method != "POST":
        return _list(request, SecrecyFlagForm())
    form = SecrecyFlagForm(request.POST)
    if form.is_valid():
        try:
            review = services.secrecy_review_flag(actor=request.user, **form.cleaned_data)
        except PortalError as exc:
            http_refusal(exc)
            service_errors(form, exc)
        else:
            messages.success(request, _("已提请保密审查"))
            return redirect(review)
    return _list(request, form)


@role_required(*READERS)
def secrecy_detail(request, review_id: int):
    review = access_or_404(secrecy_review_get, user=request.user, review_id=review_id)
    return render(request, "security/secrecy_detail.html", {
        "review": review, "may_decide": request.user.has_role(Role.BUREAU_REVIEWER),
        "decide_form": SecrecyDecideForm()})


@role_required(*READERS)
@require_POST
def secrecy_decide(request, review_id: int):
    review = access_or_404(secrecy_review_get, user=request.user, review_id=review_id)
    step = partial(services.secrecy_review_decide, actor=request.user, review_id=review.pk)
    return post_step(request, review, SecrecyDecideForm, step, _("保密审查结论已记录"))
