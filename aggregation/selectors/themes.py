"""Read side of the theme databases (主题库): a theme within a user's scope, the datasets a department may combine,
a built theme's browse columns, the loads its last build read."""

from __future__ import annotations

from django.urls import reverse
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from portal.permissions import access_by_id

from .. import access
from ..choices import ThemeJobStatus
from ..models import Dataset, IngestJob, ThemeBuildJob, ThemeDatabase


def access_theme_by_id(user, theme_id, *, action: str = "view", for_update: bool = False) -> ThemeDatabase:
    """The theme if `user` may `action` it: NotFound outside the view scope, PermissionDenied inside it."""
    return access_by_id(ThemeDatabase, user, theme_id, action, for_update=for_update, select_related=("department",),
                        denied=_("只有主题库所属部门可以修改"))


def source_choices(user, key_kind: str | None = None):
    """Datasets a department member may combine: readable by the department (access scope), approved."""
    qs = Dataset.objects.filter(access.dataset_scope_q(user), entry__state="approved").select_related(
        "entry", "department"
    )
    if key_kind:
        qs = qs.filter(key_kind=key_kind)
    return qs.order_by("department__name", "entry__name")


def theme_columns(theme: ThemeDatabase) -> list[dict]:
    """The browse columns: one per (source, item), labelled with the item and its source."""
    columns = []
    for source in theme.sources.select_related("dataset__entry", "dataset__department").order_by("position"):
        types = dict(source.dataset.entry.items.values_list("name", "data_type"))
        for item in source.item_names:
            columns.append({
                "key": f"{source.dataset_id}:{item}", "item": item, "dataset": source.dataset,
                "source": source.dataset.department.short_name or source.dataset.department.name,
                "data_type": types.get(item, "C"),
            })
    return columns


def theme_last_build(user, theme: ThemeDatabase) -> tuple[ThemeBuildJob | None, list[dict]]:
    """The theme's last succeeded build and the loads it read: [{"job", "dataset" (name), "finished_at", "url"}],
    `url` the ingest job's page when `user` may see that job (a source of another department: no link)."""
    build = theme.jobs.filter(status=ThemeJobStatus.SUCCEEDED).order_by("-finished_at", "-pk").first()
    if build is None or not build.source_loads:
        return build, []
    job_ids = [load["job"] for load in build.source_loads]
    visible = set(IngestJob.objects.restrict(user, "view").filter(pk__in=job_ids).values_list("pk", flat=True))
    names = dict(Dataset.objects.filter(pk__in=[load["dataset"] for load in build.source_loads])
                 .values_list("pk", "entry__name"))
    return build, [
        {"job": load["job"], "dataset": names.get(load["dataset"], ""),
         "finished_at": parse_datetime(load["finished_at"]),
         "url": reverse("aggregation:job-detail", args=[load["job"]]) if load["job"] in visible else ""}
        for load in build.source_loads
    ]
