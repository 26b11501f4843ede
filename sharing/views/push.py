"""Database push pages (R22.1): the consumer department's subscriptions, their receipts, run now / pause / resume.

Thin: each page loads through `PushSubscription.objects.restrict` (404 outside scope) and each POST calls one
service of sharing.services.push. The DSN is write-only: it is never shown again (stored encrypted).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from portal.errors import PortalError
from portal.shortcuts import access_or_404, http_refusal

from ..forms import PushSubscriptionForm
from ..models import PushSubscription
from ..permissions import access_subscription_by_id
from ..selectors import pushable_grants
from ..services.push import (
    push_subscription_create,
    push_subscription_pause,
    push_subscription_resume,
    push_subscription_run_now,
)
from .common import error_text, run_service


@never_cache
@login_required
def push_list(request):
    """数据库推送: the subscriptions in the caller's scope; the consumer's staff subscribe their push grants here."""
    user = request.user
    can_create = pushable_grants(user).exists() or request.method == "POST"
    form = PushSubscriptionForm(request.POST or None, user=user) if can_create else None
    if request.method == "POST" and form is not None and form.is_valid():
        data = form.cleaned_data
        try:
            sub = push_subscription_create(actor=user, grant_id=data["grant"].pk, dsn=data["dsn"],
                                           table=data["table"], interval_minutes=data["interval_minutes"])
        except PortalError as exc:
            http_refusal(exc)
            form.add_error(None, error_text(exc))
        else:
            messages.success(request, _("已创建推送订阅，稍后将开始首次推送"))
            return redirect(sub.get_absolute_url())
    qs = (PushSubscription.objects.restrict(user, "view").select_related("grant__entry", "consumer")
          .order_by("-id"))
    page = Paginator(qs, 30).get_page(request.GET.get("page"))
    return render(request, "sharing/push_list.html", {"page": page, "form": form})


@never_cache
@login_required
def push_detail(request, pk: int):
    sub = access_or_404(access_subscription_by_id, request.user, pk)
    runs = Paginator(sub.runs.order_by("-id"), 20).get_page(request.GET.get("page"))
    can_change = PushSubscription.objects.restrict(request.user, "change").filter(pk=sub.pk).exists()
    return render(request, "sharing/push_detail.html", {"sub": sub, "runs": runs, "can_change": can_change})


def _post(request, pk: int, fn, success: str, **kwargs):
    run_service(request, fn, success, subscription_id=pk, **kwargs)
    return redirect("sharing:push-detail", pk=pk)


@login_required
@require_POST
def push_run_now(request, pk: int):
    return _post(request, pk, push_subscription_run_now, _("已提交推送，稍后刷新查看回执"))


@login_required
@require_POST
def push_pause(request, pk: int):
    return _post(request, pk, push_subscription_pause, _("订阅已暂停"), reason=request.POST.get("reason", ""))


@login_required
@require_POST
def push_resume(request, pk: int):
    return _post(request, pk, push_subscription_resume, _("订阅已恢复，将从上次确认的水位继续推送"))
