"""Page of data quality (R15.1): the latest figures of the datasets in scope, with a chart."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils.translation import gettext as _

from portal.choices import Role
from portal.db import one_snapshot
from portal.models import Department
from portal.shortcuts import role_required

from ..access import DATA_READER_ROLES
from ..models import Dataset
from ..selectors import quality
from ..services.quality import consistency_read


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
@role_required(*DATA_READER_ROLES)
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
        departments = Department.objects.filter(
            pk__in=Dataset.objects.restrict(user, "view").values("department_id")
        ).order_by("name")
    chart = _quality_chart(reports, by_department=wide and not department)
    pending = quality.datasets_without_report(user, department_id=department_id)
    consistency = consistency_read(actor=user, reports=reports)
    return render(request, "aggregation/quality.html", {
        "rows": rows, "departments": departments, "department": department, "wide": wide, "chart": chart,
        "pending": pending, "consistency": consistency,
        "thresholds": (int(quality.GOOD * 100), int(quality.FAIR * 100)),
    })
