"""Read side of the ingest jobs."""

from __future__ import annotations

from django.db.models import QuerySet

from ..models import Dataset, IngestJob


def job_list(*, user, dataset: Dataset | None = None) -> QuerySet[IngestJob]:
    qs = IngestJob.objects.restrict(user, "view").select_related("dataset__entry", "created_by")
    if dataset is not None:
        qs = qs.filter(dataset=dataset)
    return qs.order_by("-id")
