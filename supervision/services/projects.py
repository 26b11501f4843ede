"""Informatization projects (政务信息化项目, policy note; SPEC RP.1–RP.2): one service per step, each in one
transaction with its audit event.

    draft ──submit──▶ submitted ──approve──▶ approved ──start──▶ under_construction ──complete──▶ completed
      ▲                  │
      └──(edit)── returned ◀──return──┘

The filing department's data staff and head file, edit (draft / returned), submit, start and complete their own
department's projects. The bureau's reviewers review: the policy note makes 市政务服务和大数据管理局 the competent
department for government informatization, and says a project that does not meet the co-construction/sharing
requirements is not approved (不予审批). So `project_approve` refuses ("checklist_failed") unless the department
committed to the four co-construction/sharing items and the reviewer confirmed all five, the last being no duplicate
construction after the overlap search (selectors.projects.overlap).

RP.2: after completion each declared resource must be in the catalog — a published entry of the department, linked
or of the same name. `project_catalog_check` (the beat job, and `project_complete` for its one project) keeps the
flag `missing_resources` set-based and idempotent, and tells the department once.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation

from django.db import connection, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from catalog.models import CatalogEntry
from catalog.search import document_vector
from portal import audit
from portal.choices import Role
from portal.errors import InvalidTransition, PermissionDenied, PortalError
from portal.models import Department, User
from portal.permissions import access_by_id, int_or_none
from portal.services.notifications import Digest, department_recipients, notify
from portal.services.workdays import local_today
from portal.validators import text_problem

from ..choices import DECLARED_ITEMS, PROJECT_EDITABLE_STATES, CheckItem, FundingKind, ProjectState
from ..models import InformatizationProject, ProjectResource

DESCRIPTION_MAX = 5000
MAX_RESOURCES = 100
BUDGET_MAX = Decimal("9999999999.99")
# Control characters other than tab, line feed and carriage return (a description has several lines).
_CONTROL_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_FIELDS = ("name", "funding_kind", "budget", "period_start", "period_end", "description", "declared_checks")


def _invalid(field: str, problem: str) -> PortalError:
    return PortalError(problem, code="invalid", errors={field: [problem]})


def _line(value, field: str, label: str, *, required: bool = True) -> str:
    value = str(value or "").strip()
    problem = text_problem(value)
    if problem is None and required and not value:
        problem = _("请填写%(label)s") % {"label": label}
    if problem:
        raise _invalid(field, f"{label}：{problem}" if field == "resources" else problem)
    return value


def _long_text(value, field: str, label: str) -> str:
    value = str(value or "").strip()
    if not value:
        raise _invalid(field, _("请填写%(label)s") % {"label": label})
    if _CONTROL_IN_TEXT.search(value):
        raise _invalid(field, _("不能包含空字符（NUL）或其他控制字符"))
    if len(value) > DESCRIPTION_MAX:
        raise _invalid(field, _("%(label)s不能超过 %(n)d 个字") % {"label": label, "n": DESCRIPTION_MAX})
    return value


def _budget(value) -> Decimal:
    problem = _("预算须为不小于 0 的金额（万元，最多两位小数）")
    if isinstance(value, bool) or value is None or value == "":
        raise _invalid("budget", _("请填写预算（万元）"))
    if isinstance(value, str) and not re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", value.strip()):
        raise _invalid("budget", problem)
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise _invalid("budget", problem) from None
    if not amount.is_finite() or amount < 0 or amount > BUDGET_MAX or amount != amount.quantize(Decimal("0.01")):
        raise _invalid("budget", problem)
    return amount.quantize(Decimal("0.01"))


def _date(value, field: str, label: str) -> dt.date:
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        raise _invalid(field, _("请填写%(label)s（日期）") % {"label": label})
    return value


def _checks(values: Iterable[str] | None, allowed, field: str) -> list[str]:
    values = list(values or ())
    unknown = [v for v in values if v not in allowed]
    if unknown:
        raise _invalid(field, _("未知的核查项：%(items)s") % {"items": "、".join(str(v)[:40] for v in unknown)})
    return [item.value for item in CheckItem if item.value in values]  # in checklist order, without repeats


def _clean(values: Mapping) -> dict:
    """The project's fields as the department gives them, checked; PortalError "invalid" naming the field."""
    funding = values.get("funding_kind")
    if funding not in FundingKind.values:
        raise _invalid("funding_kind", _("资金类型无效，须为：政府投资、共建、购买服务、运维经费之一"))
    start = _date(values.get("period_start"), "period_start", _("建设期开始"))
    end = _date(values.get("period_end"), "period_end", _("建设期结束"))
    if end < start:
        raise _invalid("period_end", _("建设期结束不能早于开始"))
    return {
        "name": _line(values.get("name"), "name", _("项目名称")),
        "funding_kind": funding,
        "budget": _budget(values.get("budget")),
        "period_start": start,
        "period_end": end,
        "description": _long_text(values.get("description"), "description", _("建设内容")),
        "declared_checks": _checks(values.get("declared_checks"), [i.value for i in DECLARED_ITEMS],
                                   "declared_checks"),
    }


def _resources(rows: Iterable[Mapping] | None, department_id: int) -> list[tuple[str, int | None]]:
    """(name, entry id) of each declared resource; an entry is named by its resource key and must be the
    department's own."""
    cleaned, keys = [], []
    for row in list(rows or ())[: MAX_RESOURCES + 1]:
        name = _line(row.get("name"), "resources", _("信息资源名称"))
        key = _line(row.get("resource"), "resources", _("资源代码"), required=False)
        cleaned.append((name, key))
        if key:
            keys.append(key)
    if len(cleaned) > MAX_RESOURCES:
        raise _invalid("resources", _("拟产生的信息资源最多 %(n)d 项") % {"n": MAX_RESOURCES})
    names = [name for name, _key in cleaned]
    if len(set(names)) != len(names):
        raise _invalid("resources", _("信息资源名称不能重复"))
    entries = {}
    if keys:
        codes = {k.replace("-", "/", 1) for k in keys}
        ids = {int(k) for k in keys if k.isascii() and k.isdigit() and len(k) < 12}
        found = CatalogEntry.objects.filter(Q(code__in=codes) | Q(pk__in=ids, code__isnull=True),
                                            provider_id=department_id).only("pk", "code")
        for entry in found:
            entries[entry.resource_key] = entry.pk
            entries[str(entry.pk)] = entry.pk
    result = []
    for name, key in cleaned:
        if key and key not in entries:
            raise _invalid("resources", _("“%(name)s”对应的目录资源 %(key)s 不存在或不是本部门的目录")
                           % {"name": name, "key": key})
        result.append((name, entries[key] if key else None))
    return result


def _set_resources(project: InformatizationProject, resources: list[tuple[str, int | None]]) -> None:
    project.resources.all().delete()
    ProjectResource.objects.bulk_create(
        ProjectResource(project=project, position=i, name=name, entry_id=entry_id)
        for i, (name, entry_id) in enumerate(resources, start=1))
    vector = document_vector(project.name, project.description, [name for name, _e in resources])
    with connection.cursor() as cur:
        cur.execute("UPDATE supervision_informatizationproject SET search_vector = %s::tsvector WHERE id = %s",
                    [vector, project.pk])


def _snapshot(project: InformatizationProject, resources=None) -> dict:
    data = {"name": project.name, "department": project.department_id, "state": project.state,
            "funding_kind": project.funding_kind, "budget": str(project.budget),
            "period": [project.period_start.isoformat(), project.period_end.isoformat()],
            "declared_checks": list(project.declared_checks)}
    if resources is not None:
        data["resources"] = [{"name": name, "entry": entry} for name, entry in resources]
    return data


def _filer_department(actor: User, department_id: int | None) -> Department:
    if not actor.has_role(Role.DEPT_STAFF, Role.DEPT_HEAD) or not actor.department_id:
        raise PermissionDenied(_("仅部门数据专员和主要负责人可申报本部门的信息化项目"), code="not_department_staff")
    if department_id not in (None, actor.department_id):
        raise PermissionDenied(_("只能申报本部门的信息化项目"), code="not_own_department")
    return actor.department


def project_create(*, actor: User, values: Mapping, resources: Iterable[Mapping] = (),
                   department_id: int | None = None) -> InformatizationProject:
    """File a project (草稿) for the actor's own department with the resources it will produce.

    Raises PermissionDenied (not the department's staff or head; another department), PortalError "invalid" (a
    missing or bad value: negative budget, unknown funding kind, period out of order, unknown entry). Audits
    supervision.project.created.
    """
    department = _filer_department(actor, int_or_none(department_id) if department_id is not None else None)
    fields = _clean(values)
    cleaned = _resources(resources, department.pk)
    with transaction.atomic():
        project = InformatizationProject.objects.create(department=department, created_by=actor, **fields)
        _set_resources(project, cleaned)
        audit.record(actor=actor, action="supervision.project.created", obj=project,
                     data=_snapshot(project, cleaned))
    return project


def _locked(actor: User, project_id, action: str, denied: str | None = None) -> InformatizationProject:
    return access_by_id(InformatizationProject, actor, project_id, action, for_update=True, denied=denied)


def project_update(*, actor: User, project_id: int, values: Mapping,
                   resources: Iterable[Mapping] = ()) -> InformatizationProject:
    """Change a draft or returned project (all its fields and resources at once).

    Raises NotFound, PermissionDenied, InvalidTransition "not_editable", PortalError "invalid". Audits
    supervision.project.updated with the values before and after.
    """
    fields = _clean(values)
    with transaction.atomic():
        project = _locked(actor, project_id, "change", _("仅申报部门的数据专员和主要负责人可修改项目"))
        if project.state not in PROJECT_EDITABLE_STATES:
            raise InvalidTransition(_("只有草稿或已退回的项目可以修改"), code="not_editable")
        cleaned = _resources(resources, project.department_id)
        before = _snapshot(project, [(r.name, r.entry_id) for r in project.resources.all()])
        for name, value in fields.items():
            setattr(project, name, value)
        project.save(update_fields=[*_FIELDS, "updated_at"])
        _set_resources(project, cleaned)
        audit.record(actor=actor, action="supervision.project.updated", obj=project,
                     data={"before": before, "after": _snapshot(project, cleaned)})
    return project


def _reviewers() -> list[User]:
    return list(User.objects.filter(roles__role=Role.BUREAU_REVIEWER, is_active=True).distinct())


def _tell(recipients, title: str, url: str, body: str = "", *, kind: str) -> None:
    """Messages written in the use case's transaction (they exist exactly when its change does), folded per kind into
    one unread digest per person (portal.services.notifications.Digest) linking to the list of them."""
    summary, query = _DIGESTS[kind]
    notify(recipients=recipients, title=title, body=body, url=url,
           digest=Digest(f"supervision.project.{kind}", str(summary), reverse("supervision:project-list") + query))


_DIGESTS = {
    "review": (_lazy("有 {n} 个信息化项目待审核"), "?state=submitted"),
    "decided": (_lazy("{n} 个信息化项目已审核"), ""),
    "missing": (_lazy("{n} 个已建成项目的信息资源未编入目录"), "?flagged=on"),
}


def project_submit(*, actor: User, project_id: int) -> InformatizationProject:
    """Submit a draft or returned project for the bureau's review (→ 待审核); it must name at least one resource.

    Raises NotFound, PermissionDenied, InvalidTransition ("already_submitted" when it is waiting already,
    "invalid_state" otherwise), PortalError "no_resources". Audits supervision.project.submitted; tells the reviewers.
    """
    with transaction.atomic():
        project = _locked(actor, project_id, "change", _("仅申报部门的数据专员和主要负责人可提交项目"))
        if project.state == ProjectState.SUBMITTED:
            raise InvalidTransition(_("项目已提交，正在等待审核，不能重复提交"), code="already_submitted")
        if project.state not in PROJECT_EDITABLE_STATES:
            raise InvalidTransition(_("只有草稿或已退回的项目可以提交"))
        if not project.resources.exists():
            raise PortalError(_("请先填写项目拟产生的信息资源，再提交审核"), code="no_resources",
                              errors={"resources": [_("请至少填写一项拟产生的信息资源")]})
        before = project.state
        project.state, project.submitted_at = ProjectState.SUBMITTED, timezone.now()
        project.save(update_fields=["state", "submitted_at", "updated_at"])
        audit.record(actor=actor, action="supervision.project.submitted", obj=project,
                     data={"state": {"old": before, "new": project.state},
                           "declared_checks": list(project.declared_checks)})
        _tell(_reviewers(), _("信息化项目待审核：%(name)s") % {"name": project.name},
              project.get_absolute_url(), kind="review")
    return project


def checklist_failures(declared: Iterable[str], confirmed: Iterable[str]) -> list[str]:
    """The checklist items that fail: a co-construction/sharing item the department did not commit to, or any item
    the reviewer did not confirm (an unconfirmed 不重复建设 is a duplicate found by the reviewer)."""
    declared, confirmed = set(declared), set(confirmed)
    return [item.value for item in CheckItem
            if (item in DECLARED_ITEMS and item.value not in declared) or item.value not in confirmed]


def _review_target(actor: User, project_id) -> InformatizationProject:
    project = _locked(actor, project_id, "review", _("仅市大数据局审核员可审核信息化项目"))
    if project.state != ProjectState.SUBMITTED:
        raise InvalidTransition(_("只有待审核的项目可以审核"))
    return project


def project_approve(*, actor: User, project_id: int, checks: Iterable[str],
                    opinion: str = "") -> InformatizationProject:
    """Approve a submitted project (→ 已批准) with the checklist items the reviewer confirmed.

    Refused with PortalError "checklist_failed" (nothing changed) when any co-construction/sharing item fails: the
    department did not commit to it, or the reviewer did not confirm it (policy note: 对不符合共建共享要求的政务信息化
    项目，不予审批). Raises NotFound, PermissionDenied, InvalidTransition, PortalError "invalid". Audits
    supervision.project.approved.
    """
    confirmed = _checks(checks, CheckItem.values, "checks")
    opinion = _optional_text(opinion, "opinion")
    with transaction.atomic():
        project = _review_target(actor, project_id)
        failing = checklist_failures(project.declared_checks, confirmed)
        if failing:
            labels = "、".join(str(CheckItem(item).label) for item in failing)
            problem = _("不符合共建共享要求，不予审批。未通过的核查项：%(items)s") % {"items": labels}
            raise PortalError(problem, code="checklist_failed", errors={"checks": [problem]})
        project.state, project.review_checks = ProjectState.APPROVED, confirmed
        project.reviewed_by, project.reviewed_at, project.review_opinion = actor, timezone.now(), opinion
        project.save(update_fields=["state", "review_checks", "reviewed_by", "reviewed_at", "review_opinion",
                                    "updated_at"])
        audit.record(actor=actor, action="supervision.project.approved", obj=project,
                     department=project.department,
                     data={"state": {"old": ProjectState.SUBMITTED, "new": project.state}, "checks": confirmed,
                           "opinion": opinion})
        _tell(department_recipients(project.department),
              _("信息化项目已批准：%(name)s") % {"name": project.name}, project.get_absolute_url(), opinion,
              kind="decided")
    return project


def _optional_text(value, field: str) -> str:
    value = str(value or "").strip()
    return _long_text(value, field, _("审核意见")) if value else ""


def project_return(*, actor: User, project_id: int, reason: str, checks: Iterable[str] = ()) -> InformatizationProject:
    """Return a submitted project to its department with a reason (→ 已退回); it may be changed and submitted again.

    Raises NotFound, PermissionDenied, InvalidTransition, PortalError "invalid" (no reason). Audits
    supervision.project.returned with the checklist items that failed.
    """
    reason = _long_text(reason, "reason", _("退回理由"))
    confirmed = _checks(checks, CheckItem.values, "checks")
    with transaction.atomic():
        project = _review_target(actor, project_id)
        project.state, project.review_checks, project.return_reason = ProjectState.RETURNED, confirmed, reason
        project.reviewed_by, project.reviewed_at = actor, timezone.now()
        project.save(update_fields=["state", "review_checks", "return_reason", "reviewed_by", "reviewed_at",
                                    "updated_at"])
        audit.record(actor=actor, action="supervision.project.returned", obj=project, department=project.department,
                     data={"state": {"old": ProjectState.SUBMITTED, "new": project.state}, "reason": reason,
                           "checks": confirmed,
                           "failing": checklist_failures(project.declared_checks, confirmed)})
        _tell(department_recipients(project.department),
              _("信息化项目已退回：%(name)s") % {"name": project.name}, project.get_absolute_url(), reason,
              kind="decided")
    return project


def project_start(*, actor: User, project_id: int) -> InformatizationProject:
    """An approved project starts construction (→ 建设中). Raises NotFound, PermissionDenied, InvalidTransition.
    Audits supervision.project.started."""
    with transaction.atomic():
        project = _locked(actor, project_id, "change", _("仅申报部门的数据专员和主要负责人可登记开工"))
        if project.state != ProjectState.APPROVED:
            raise InvalidTransition(_("只有已批准的项目可以开工建设"))
        project.state, project.started_on = ProjectState.UNDER_CONSTRUCTION, local_today()
        project.save(update_fields=["state", "started_on", "updated_at"])
        audit.record(actor=actor, action="supervision.project.started", obj=project,
                     data={"state": {"old": ProjectState.APPROVED, "new": project.state},
                           "started_on": project.started_on.isoformat()})
    return project


def project_complete(*, actor: User, project_id: int) -> InformatizationProject:
    """A project under construction is completed (→ 已建成); its declared resources are checked against the catalog
    at once (RP.2, `project_catalog_check`). Raises NotFound, PermissionDenied, InvalidTransition. Audits
    supervision.project.completed."""
    with transaction.atomic():
        project = _locked(actor, project_id, "change", _("仅申报部门的数据专员和主要负责人可登记建成"))
        if project.state != ProjectState.UNDER_CONSTRUCTION:
            raise InvalidTransition(_("只有建设中的项目可以登记建成"))
        project.state, project.completed_on = ProjectState.COMPLETED, local_today()
        project.save(update_fields=["state", "completed_on", "updated_at"])
        audit.record(actor=actor, action="supervision.project.completed", obj=project,
                     data={"state": {"old": ProjectState.UNDER_CONSTRUCTION, "new": project.state},
                           "completed_on": project.completed_on.isoformat()})
        project_catalog_check(project_ids=[project.pk])
    project.refresh_from_db()
    return project


# ------------------------------------------------------------------------------------------- RP.2: the catalog check

# Each completed project's declared resources that no published catalog entry of its department stands for (the
# linked entry, or one of the same name), in declaration order; '[]' when all are there.
_CHECK_SQL = """
WITH computed AS (
    SELECT p.id,
           COALESCE(jsonb_agg(r.name ORDER BY r.position) FILTER (WHERE NOT EXISTS (
               SELECT 1 FROM catalog_catalogentry e
                WHERE e.provider_id = p.department_id AND e.state = 'approved'
                  AND (e.id = r.entry_id OR btrim(e.name) = btrim(r.name))
           )), '[]'::jsonb) AS missing
      FROM supervision_informatizationproject p
      LEFT JOIN supervision_projectresource r ON r.project_id = p.id
     WHERE p.state = 'completed' {only}
     GROUP BY p.id
), changed AS (
    UPDATE supervision_informatizationproject p
       SET missing_resources = c.missing,
           missing_since = CASE WHEN c.missing = '[]'::jsonb THEN NULL ELSE COALESCE(p.missing_since, now()) END,
           missing_notified_at = CASE WHEN c.missing = '[]'::jsonb THEN NULL ELSE p.missing_notified_at END
      FROM computed c
     WHERE p.id = c.id AND p.missing_resources IS DISTINCT FROM c.missing
 RETURNING p.id, p.department_id, p.name, c.missing
), audited AS (
    {audited}
)
SELECT id FROM changed
"""
_CHANGED_ROWS = "SELECT department_id, id, name, jsonb_build_object('missing', missing) FROM changed"
# Tell each flagged project's department once (cleared when the flag is: a later gap is told again).
_NOTIFY_SQL = """
UPDATE supervision_informatizationproject
   SET missing_notified_at = now()
 WHERE state = 'completed' AND missing_resources <> '[]'::jsonb AND missing_notified_at IS NULL {only}
RETURNING id
"""


def project_catalog_check(*, project_ids: Iterable[int] | None = None, request_id: str = "") -> dict:
    """Flag completed projects whose declared resources are not in the catalog, and clear the flag of those whose
    resources arrived (RP.2); tell each newly flagged project's department once.

    Set-based (three statements whatever the number of projects), idempotent (a rerun changes nothing and writes no
    event) and safe to run concurrently (each UPDATE re-checks its condition on the rows it locks). One audit event
    supervision.project.catalog_checked per project whose flag changed. Returns {"changed": n, "notified": n}.
    """
    ids = None if project_ids is None else [int(i) for i in project_ids]
    only = "" if ids is None else "AND p.id = ANY(%(ids)s)"
    with transaction.atomic():
        audited, audit_params = audit.record_rows_sql(
            _CHANGED_ROWS, action="supervision.project.catalog_checked",
            object_type=InformatizationProject._meta.label_lower, request_id=request_id or None)
        with connection.cursor() as cur:
            cur.execute(_CHECK_SQL.format(only=only, audited=audited), {"ids": ids, **audit_params})
            changed = [row[0] for row in cur.fetchall()]
            cur.execute(_NOTIFY_SQL.format(only="" if ids is None else "AND id = ANY(%(ids)s)"), {"ids": ids})
            flagged = [row[0] for row in cur.fetchall()]
        for project in InformatizationProject.objects.filter(pk__in=flagged).select_related("department"):
            names = "、".join(project.missing_resources)
            _tell(
                department_recipients(project.department),
                _("信息化项目的信息资源未编入目录：%(name)s") % {"name": project.name}, project.get_absolute_url(),
                _("项目已建成，以下信息资源尚未在本部门已发布的目录中：%(names)s。请编制目录并提交审核（政务信息化项目"
                  "管理暂行办法：项目建成后应将项目信息资源目录纳入大数据平台目录管理系统）。") % {"names": names},
                kind="missing")
    return {"changed": len(changed), "notified": len(flagged)}

