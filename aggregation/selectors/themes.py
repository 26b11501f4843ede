"""Read side of the theme databases (主题库): a theme within a user's scope, the datasets a department may combine,
a built theme's browse columns."""

from __future__ import annotations

from django.utils.translation import gettext as _

from portal.permissions import access_by_id

from .. import access
from ..models import Dataset, ThemeDatabase


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
