"""Grant pages: the grants in the caller's scope, revocation."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from .. import selectors
from ..choices import GrantState
from ..forms import ReasonForm
from ..models import Grant
from ..services import grants as grant_services
from .common import run_form_service


@login_required
def grant_list(request):
    box = request.GET.get("box", "")
    qs = selectors.grant_list(user=request.user, filters={"box": box, "state": request.GET.get("state")})
    page = Paginator(qs, 30).get_page(request.GET.get("page"))
    return render(request, "sharing/grant_list.html", {
        "page": page, "box": box, "states": GrantState.choices, "state": request.GET.get("state", ""),
        "revoke_form": ReasonForm(),
        "can_revoke_ids": set(
            Grant.objects.restrict(request.user, "revoke").filter(pk__in=[g.pk for g in page.object_list])
            .exclude(state=GrantState.REVOKED).values_list("pk", flat=True)
        ),
    })


@login_required
@require_POST
def grant_revoke(request, pk: int):
    run_form_service(request, ReasonForm(request.POST), grant_services.grant_revoke, _("授权已撤销"),
                     _("撤销须说明理由"), grant_id=pk)
    return redirect("sharing:grant-list")
