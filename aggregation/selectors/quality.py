"""Read side of data quality (R15.1): the latest report of each dataset in scope, datasets not measured yet, and
the report page's colour thresholds."""

from __future__ import annotations

from django.db.models import OuterRef, Subquery

from ..models import Dataset, QualityReport

GOOD, FAIR = 0.95, 0.80  # colour thresholds of the report page (green ≥ 95 %, amber ≥ 80 %, red below)


def latest_reports(user, *, department_id: int | None = None):
    """The latest report of every dataset in the user's scope (own department; county: region; bureau: all)."""
    latest = QualityReport.objects.filter(dataset=OuterRef("pk")).order_by("-day").values("pk")[:1]
    datasets = Dataset.objects.restrict(user, "view").filter(entry__state="approved")
    if department_id:
        datasets = datasets.filter(department_id=department_id)
    ids = datasets.annotate(latest=Subquery(latest)).exclude(latest=None).values("latest")
    return (
        QualityReport.objects.filter(pk__in=ids)
        .select_related("dataset__entry", "department")
        .order_by("department__name", "dataset__entry__name")
    )


def datasets_without_report(user, *, department_id: int | None = None):
    """Datasets in the user's scope not yet measured (approved since the last nightly run)."""
    qs = Dataset.objects.restrict(user, "view").filter(entry__state="approved").exclude(
        pk__in=QualityReport.objects.values("dataset_id")
    )
    if department_id:
        qs = qs.filter(department_id=department_id)
    return qs.select_related("entry", "department").order_by("department__name", "entry__name")[:200]


def colour(share: float | None) -> str:
    """Bootstrap colour of a share for the report page."""
    if share is None:
        return "secondary"
    return "success" if share >= GOOD else "warning" if share >= FAIR else "danger"
