"""The leak monitor's pages (R28.4): the security administrator's list of anomalies, one anomaly with its evidence
(the calls, their rows, observed against baseline), and the confirm / dismiss forms (services/leaks.py)."""

from __future__ import annotations

from functools import partial
from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from portal.choices import Role
from portal.permissions import int_or_none
from portal.shortcuts import access_or_404, role_required

from ..choices import AnomalyState
from ..forms.leaks import AnomalyDecisionForm, AnomalyFilterForm
from ..selectors.leaks import anomaly_calls, anomaly_get, anomaly_list
from ..services import leaks as services
from .common import post_step

PAGE_SIZE = 50
MEASURES = (("calls", gettext_lazy("调用次数")), ("rows", gettext_lazy("读取行数")),
            ("subjects", gettext_lazy("查询主体数")))


@role_required(Role.SECURITY_ADMIN)
def anomaly_list_page(request):
    form = AnomalyFilterForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        rows = anomaly_list(user=request.user).none()
    else:
        rows = anomaly_list(user=request.user, **(form.cleaned_data if form.is_bound else {}))
    page = Paginator(rows, PAGE_SIZE).get_page(int_or_none(request.GET.get("page")))
    return render(request, "security/anomaly_list.html", {"form": form, "page": page})


def _trail_link(anomaly) -> str:
    """The audit trail viewer's search for the anomaly's caller and hour (the audit administrator's page)."""
    local = timezone.localtime
    query = {"since": f"{local(anomaly.window_start):%Y-%m-%d %H:%M}",
             "until": f"{local(anomaly.window_end):%Y-%m-%d %H:%M}"}
    if anomaly.caller:
        query["person"] = anomaly.caller
    return "/security/audit/?" + urlencode(query)


@role_required(Role.SECURITY_ADMIN)
def anomaly_detail(request, anomaly_id: int):
    anomaly = access_or_404(anomaly_get, user=request.user, anomaly_id=anomaly_id)
    measures = [{"label": label, **anomaly.measures[key]} for key, label in MEASURES
                if isinstance(anomaly.measures.get(key), dict)]
    return render(request, "security/anomaly_detail.html", {
        "anomaly": anomaly, "calls": anomaly_calls(anomaly), "measures": measures,
        "trail_link": _trail_link(anomaly), "open": anomaly.state == AnomalyState.OPEN,
        "decision_form": AnomalyDecisionForm()})


def _decide(request, anomaly_id: int, service, done: str):
    anomaly = access_or_404(anomaly_get, user=request.user, anomaly_id=anomaly_id)
    return post_step(request, anomaly, AnomalyDecisionForm,
                     partial(service, actor=request.user, anomaly_id=anomaly.pk), done)


@role_required(Role.SECURITY_ADMIN)
@require_POST
def anomaly_confirm(request, anomaly_id: int):
    return _decide(request, anomaly_id, services.leak_anomaly_confirm, _("已确认为违规"))


@role_required(Role.SECURITY_ADMIN)
@require_POST
def anomaly_dismiss(request, anomaly_id: int):
    return _decide(request, anomaly_id, services.leak_anomaly_dismiss, _("已排除"))
