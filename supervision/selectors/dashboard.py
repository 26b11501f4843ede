"""The bureau's dashboard (city at a glance; a county bureau: its region): every figure with the list it counts.

Each figure is one aggregate query over a queryset restricted to the viewer exactly like the list page its link opens
(`restrict(user, "view")`), so a number and its list always agree. Nothing is cached: the figures are a handful of
GROUP BY queries over indexed columns.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import urlencode

from django.db.models import Avg, Count, Q
from django.urls import reverse
from django.utils.translation import gettext as _

from aggregation.selectors.quality import FAIR, latest_reports
from catalog.choices import EntryState, Fulfilment
from catalog.models import CatalogEntry
from catalog.selectors.responsibility import fulfilment, responsibility_list
from portal.choices import Clock, DeadlineState
from portal.models import Deadline
from sharing.choices import RequestState
from sharing.selectors import sharing_request_list

from ..choices import OrderState, ViolationCategory, ViolationState
from .violations import order_list, violation_list

TOP_DEPARTMENTS = 10


@dataclass(frozen=True)
class Figure:
    label: str
    value: int | float | None
    url: str
    tone: str = ""  # a Bootstrap colour when the figure calls for attention


def _url(name: str, **params) -> str:
    query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
    return f"{reverse(name)}?{query}" if query else reverse(name)


def clocks(user) -> list[dict]:
    """Running clocks per kind: open and overdue, each a link to its list."""
    counts = {(r["clock"], r["state"]): r["n"] for r in Deadline.objects.running().restrict(user, "view")
              .values("clock", "state").annotate(n=Count("id"))}
    rows = []
    for clock, label in Clock.choices:
        open_, overdue = counts.get((clock, DeadlineState.OPEN), 0), counts.get((clock, DeadlineState.OVERDUE), 0)
        if open_ or overdue:
            rows.append({"clock": clock, "label": str(label),
                         "open": Figure(str(label), open_, _url("clock-list", scope="all", clock=clock, state="open")),
                         "overdue": Figure(str(label), overdue, _url("clock-list", scope="all", clock=clock,
                                                                      state="overdue"), "danger" if overdue else "")})
    return rows


def overdue_by_department(user) -> list[Figure]:
    rows = (Deadline.objects.restrict(user, "view").filter(state=DeadlineState.OVERDUE)
            .values("department_id", "department__name").annotate(n=Count("id")).order_by("-n", "department__name"))
    return [Figure(r["department__name"], r["n"], _url("clock-list", scope="all", state="overdue",
                                                       department=r["department_id"]), "danger")
            for r in rows[:TOP_DEPARTMENTS]]


def catalog_figures(user) -> list[Figure]:
    counts = dict(CatalogEntry.objects.restrict(user, "view").values_list("state").annotate(n=Count("id")))
    tones = {EntryState.RETURNED: "warning", EntryState.BUREAU_REVIEW: "primary"}
    return [Figure(str(label), counts.get(state, 0), _url("catalog:index", state=state), tones.get(state, ""))
            for state, label in EntryState.choices]


def requests_waiting(user) -> Figure:
    n = sharing_request_list(user=user, filters={"box": "all", "state": RequestState.SUBMITTED}).count()
    return Figure("", n, _url("sharing:request-list", box="all", state=RequestState.SUBMITTED))


def freshness(user, today: dt.date) -> list[Figure]:
    """Responsibility lines by fulfilment (data on its update cycle or not), as the responsibility list counts them."""
    lines = fulfilment(list(responsibility_list(user=user)), today=today)
    counts: dict[str, int] = {}
    for line in lines:
        counts[line.status] = counts.get(line.status, 0) + 1
    tones = {Fulfilment.LATE: "danger", Fulfilment.NO_DATA: "warning", Fulfilment.ON_TIME: "success"}
    return [Figure(str(label), counts.get(status, 0), reverse("catalog:responsibility"), tones.get(status, ""))
            for status, label in Fulfilment.choices if counts.get(status)]


def _percent(share: float | None) -> float | None:
    return None if share is None else round(share * 100, 1)


def quality(user) -> dict:
    reports = latest_reports(user)
    agg = reports.aggregate(n=Count("id"), avg_completeness=Avg("completeness_avg"), avg_validity=Avg("validity"),
                            poor=Count("id", filter=Q(completeness_avg__lt=FAIR) | Q(validity__lt=FAIR)))
    url = reverse("aggregation:quality-report")
    return {"datasets": Figure("", agg["n"], url),
            "completeness": Figure("", _percent(agg["avg_completeness"]), url),
            "validity": Figure("", _percent(agg["avg_validity"]), url),
            "poor": Figure("", agg["poor"], url, "danger" if agg["poor"] else "")}


def violations(user) -> dict:
    """Open violations by article (the most frequent first) and rectification orders by state, each a link."""
    open_by_category = (violation_list(user=user).filter(state=ViolationState.OPEN).values("category")
                        .annotate(n=Count("id")).order_by("-n", "category"))
    labels = dict(ViolationCategory.choices)
    top = [Figure(f"{r['category']} {labels[r['category']]}", r["n"],
                  _url("supervision:violation-list", state=ViolationState.OPEN, category=r["category"]), "danger")
           for r in open_by_category[:TOP_DEPARTMENTS]]
    orders = dict(order_list(user=user).values_list("state").annotate(n=Count("id")))
    order_figures = [Figure(str(label), orders.get(state, 0), _url("supervision:order-list", state=state),
                            "warning" if state == OrderState.REPORTED else "")
                     for state, label in OrderState.choices if state != OrderState.ACCEPTED]
    return {"top": top, "orders": order_figures}


def dashboard(user, *, today: dt.date) -> dict:
    rows = clocks(user)
    by_dept = overdue_by_department(user)
    return {
        "clocks": rows,
        "overdue_total": sum(r["overdue"].value for r in rows),
        "open_total": sum(r["open"].value + r["overdue"].value for r in rows),
        "overdue_by_department": by_dept,
        "catalog": catalog_figures(user),
        "requests_waiting": requests_waiting(user),
        "freshness": freshness(user, today),
        "quality": quality(user),
        "violations": violations(user),
        "chart": {
            "clocks": {"labels": [r["label"] for r in rows], "open": [r["open"].value for r in rows],
                       "overdue": [r["overdue"].value for r in rows], "names": [_("未超期"), _("已超期")]},
            "departments": {"labels": [f.label for f in by_dept], "overdue": [f.value for f in by_dept]},
        },
    }
