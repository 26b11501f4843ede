"""The informatization project register as its readers may see it, the overlap search shown at review, each
project's history (its audit events), and the RP.2 flag the annual assessment reads (`missing_catalog`)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from catalog.models import CatalogEntry
from catalog.search import LiteralTsQuery, _lexeme, normalize, query_literal, search_entries
from portal.errors import NotFound
from portal.models import AuditEvent
from portal.permissions import int_or_none

from ..choices import ProjectState
from ..models import InformatizationProject

# A name or description counts as similar from this share of common character pairs (Sørensen–Dice over bigrams).
NAME_SIMILARITY = 0.5
DESCRIPTION_SIMILARITY = 0.45
MAX_CANDIDATES = 200
MAX_ENTRY_HITS = 3  # catalog entries shown per declared resource
# Words every project name has: they say nothing about what it builds.
_GENERIC = {"焦作", "焦作市", "政务", "信息", "信息化", "系统", "平台", "建设", "项目", "工程", "管理", "服务", "一期",
            "二期", "三期", "升级", "改造", "运维", "智慧", "数字", "综合", "市级", "全市", "应用"}
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[0-9a-z]+")

HISTORY_LABELS = {
    "supervision.project.created": gettext_lazy("创建"),
    "supervision.project.updated": gettext_lazy("修改"),
    "supervision.project.submitted": gettext_lazy("提交审核"),
    "supervision.project.approved": gettext_lazy("审核批准"),
    "supervision.project.returned": gettext_lazy("退回"),
    "supervision.project.started": gettext_lazy("开工建设"),
    "supervision.project.completed": gettext_lazy("建成"),
    "supervision.project.catalog_checked": gettext_lazy("目录核查"),
}


def project_list(*, user) -> QuerySet:
    return (InformatizationProject.objects.restrict(user, "view")
            .select_related("department", "created_by", "reviewed_by").defer("search_vector"))


def project_get(*, user, project_id) -> InformatizationProject:
    project = (project_list(user=user).prefetch_related("resources__entry")
               .filter(pk=int_or_none(project_id) or 0).first())
    if project is None:
        raise NotFound()
    return project


def project_history(project: InformatizationProject) -> QuerySet:
    """The project's audit events, oldest first (who did what, when; the state changes with their reasons)."""
    return (AuditEvent.objects.filter(object_type=InformatizationProject._meta.label_lower, object_id=str(project.pk))
            .select_related("actor").order_by("occurred_at", "id"))


def missing_catalog(*, user=None, department_ids: Iterable[int] | None = None,
                    completed_before=None) -> QuerySet:
    """Completed projects flagged because a declared resource is not in the catalog (RP.2; the flag is kept by
    services.projects.project_catalog_check). `user`: within that person's scope (None: the whole city, for jobs such
    as the annual assessment); `department_ids`, `completed_before` (a date, exclusive) narrow it further. Each row's
    `missing_resources` lists the names."""
    rows = InformatizationProject.objects.all() if user is None else InformatizationProject.objects.restrict(user)
    rows = rows.missing_catalog().select_related("department").defer("search_vector")
    if department_ids is not None:
        rows = rows.filter(department_id__in=list(department_ids))
    if completed_before is not None:
        rows = rows.filter(completed_on__lt=completed_before)
    return rows


# ------------------------------------------------------------------------------------------------- overlap search


@dataclass
class OverlapHit:
    """One existing project or catalog entry that may overlap the project under review, with why."""

    kind: str  # "project" | "entry"
    obj: object
    reasons: list[str] = field(default_factory=list)
    score: float = 0.0


def _bigrams(text: str) -> set[str]:
    grams = set()
    for token in _CJK.findall(normalize(text)):
        if len(token) == 1:
            grams.add(token)
        else:
            grams.update(token[i:i + 2] for i in range(len(token) - 1))
    return grams


def similarity(a: str, b: str) -> float:
    """Sørensen–Dice coefficient of the two texts' character bigrams (0 … 1)."""
    x, y = _bigrams(a), _bigrams(b)
    return 2 * len(x & y) / (len(x) + len(y)) if x and y else 0.0


@cache
def _words(text: str) -> tuple[str, ...]:
    from catalog.search import _jieba

    return tuple(sorted({w for w in _jieba().cut_for_search(normalize(text))
                         if len(w) >= 2 and _CJK.fullmatch(w) and w not in _GENERIC}))


def _same_resource(a: str, b: str) -> bool:
    a, b = normalize(a).strip(), normalize(b).strip()
    return a == b or (min(len(a), len(b)) >= 4 and (a in b or b in a))


def _candidate_query(project: InformatizationProject, resource_names: list[str]) -> str | None:
    """A tsquery literal OR-ing each declared resource (as a phrase) and each telling word of the name."""
    parts = [f"({lit})" for lit in (query_literal(n) for n in resource_names) if lit]
    parts += [f"({query_literal(w)})" if len(w) > 1 else _lexeme(w) for w in _words(project.name)]
    return " | ".join(dict.fromkeys(parts)) or None


def overlap(project: InformatizationProject, *, user=None, limit: int = 20) -> list[OverlapHit]:
    """Existing projects and published catalog entries that may duplicate `project` (the policy note: 避免重复建设),
    best first, each with the reasons it was found:

    - another project (not a draft, not this one) declaring the same resource, or whose name or description is
      similar (bigram similarity ≥ NAME_SIMILARITY / DESCRIPTION_SIMILARITY);
    - a published catalog entry matching a declared resource's name (catalog.search), other than the entry the
      resource is linked to.

    Candidates come from the full-text indexes (the projects' `search_vector`, the catalog's), so the cost follows the
    hits, not the register. Within `user`'s scope when given.
    """
    names = [r.name for r in project.resources.all()]
    linked = {r.entry_id for r in project.resources.all() if r.entry_id}
    hits: list[OverlapHit] = []

    literal = _candidate_query(project, names)
    if literal:
        others = InformatizationProject.objects.all() if user is None else InformatizationProject.objects.restrict(user)
        others = (others.exclude(pk=project.pk).exclude(state=ProjectState.DRAFT)
                  .filter(search_vector=LiteralTsQuery(literal)).select_related("department")
                  .prefetch_related("resources").defer("search_vector").order_by("-id")[:MAX_CANDIDATES])
        for other in others:
            hit = OverlapHit("project", other)
            shared = [n for n in names if any(_same_resource(n, o.name) for o in other.resources.all())]
            if shared:
                hit.reasons.append(_("拟产生相同的信息资源：%(names)s") % {"names": "、".join(shared)})
                hit.score += 1 + len(shared) / max(len(names), 1)
            name_sim = similarity(project.name, other.name)
            if name_sim >= NAME_SIMILARITY:
                hit.reasons.append(_("项目名称相近（相似度 %(share)s）") % {"share": f"{name_sim:.0%}"})
                hit.score += name_sim
            text_sim = similarity(project.description, other.description)
            if text_sim >= DESCRIPTION_SIMILARITY:
                hit.reasons.append(_("建设内容相近（相似度 %(share)s）") % {"share": f"{text_sim:.0%}"})
                hit.score += text_sim
            if hit.reasons:
                hits.append(hit)

    entries = CatalogEntry.objects.all() if user is None else CatalogEntry.objects.restrict(user)
    entries = entries.published().select_related("provider")
    if project.state in (ProjectState.UNDER_CONSTRUCTION, ProjectState.COMPLETED):
        entries = entries.exclude(provider_id=project.department_id)  # its own entries are what it was to produce
    by_entry: dict[int, OverlapHit] = {}
    for name in names:
        for entry in search_entries(entries, name).exclude(pk__in=linked)[:MAX_ENTRY_HITS]:
            hit = by_entry.get(entry.pk)
            if hit is None:
                hit = by_entry[entry.pk] = OverlapHit("entry", entry)
                hits.append(hit)
            same = normalize(entry.name).strip() == normalize(name).strip()
            reason = (_("目录中已有同名信息资源（拟产生的信息资源“%(name)s”，提供方：%(provider)s）") if same
                      else _("目录中已有相近信息资源（拟产生的信息资源“%(name)s”，提供方：%(provider)s）"))
            hit.reasons.append(reason % {"name": name, "provider": entry.provider.name})
            hit.score += 1.0 if same else 0.5
    hits.sort(key=lambda h: -h.score)
    return hits[:limit]
