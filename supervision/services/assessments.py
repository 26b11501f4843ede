"""The annual assessment (R33), write side: open → indicator set → compute (a Celery job) → adjust → objection
period → answer objections → publish. One function per use case, one transaction, its audit event inside it.

Who: the city assessor runs every assessment, a county bureau its own region's (models/assessments.py: the scope);
a department's data staff or head files objections on its own scorecard within the period.

Refusals (stable codes): assessment_exists (409: one assessment per year and scope — the city, or one county region;
the database holds the same rule, supervision_assessment_one_per_scope), weights_not_100, unknown_indicator, invalid,
invalid_state, objection_period_over, objection_period_running, objections_unanswered, reason_required, not_assessed.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from portal import audit
from portal.choices import STAFF_ROLES, JobStatus, Role
from portal.errors import InvalidTransition, NotFound, PermissionDenied, PortalError
from portal.models import Department, Region, User
from portal.permissions import county_region_id, int_or_none
from portal.services.jobs import enqueue, job_heartbeat, log_line
from portal.services.notifications import Digest, notify
from portal.services.workdays import local_today
from portal.validators import text_problem

from .. import indicators
from ..choices import AssessmentState, Grade, ObjectionState
from ..models import (
    Assessment,
    AssessmentAdjustment,
    AssessmentIndicator,
    AssessmentObjection,
    AssessmentResult,
    AssessmentRun,
    AssessmentScore,
)

COMPUTE_TASK = "supervision.tasks.assessment_compute_run"
# Grade thresholds on the total (out of 100): 优秀 ≥ 90, 良好 ≥ 80, 合格 ≥ 60, else 不合格; a veto is 不合格.
GRADES = ((Decimal(90), Grade.EXCELLENT), (Decimal(80), Grade.GOOD), (Decimal(60), Grade.PASS))
RECOMPUTABLE = (AssessmentState.DRAFT, AssessmentState.COMPUTED)
ADJUSTABLE = (AssessmentState.COMPUTED, AssessmentState.OBJECTION)
DELTA_LIMIT = Decimal(100)


# ---------------------------------------------------------------- helpers

def _text(value, field: str, label: str, *, limit: int | None = None) -> str:
    """A required free text, stripped: refused (code invalid) when blank, too long or with control characters."""
    value = (value or "").strip()
    problem = text_problem(value)
    if problem is None and not value:
        problem = _("请填写%(label)s") % {"label": label}
    if problem is None and limit and len(value) > limit:
        problem = _("%(label)s不能超过 %(n)d 个字") % {"label": label, "n": limit}
    if problem:
        raise PortalError(problem, code="invalid", errors={field: [problem]})
    return value


# A department's assessment messages (scores out, objection period, results published) fold into one unread message.
ASSESSMENT_DIGEST = Digest("supervision.assessment", _lazy("有 {n} 条考核消息"), "")


def _require_assessor(actor: User) -> None:
    if not (actor.has_role(Role.ASSESSOR) or county_region_id(actor)):
        raise PermissionDenied(_("仅考核人员或县(市)区大数据管理部门可以组织考核"), code="not_assessor")


def _managed(actor: User, assessment_id, *, lock: bool = True) -> Assessment:
    """The assessment for `actor` to run: 404 outside their view, 403 when they only view it."""
    pk = int_or_none(assessment_id) or 0
    qs = Assessment.objects.restrict(actor, "manage").filter(pk=pk)
    assessment = (qs.select_for_update() if lock else qs).first()
    if assessment is None:
        if Assessment.objects.restrict(actor, "view").filter(pk=pk).exists():
            raise PermissionDenied(_("仅考核人员可以执行此操作"), code="not_assessor")
        raise NotFound()
    return assessment


def _state(assessment: Assessment, allowed, message: str) -> None:
    if assessment.state not in allowed:
        raise InvalidTransition(message)


def _decimal(value, field: str, label: str) -> Decimal:
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        number = None
    if number is None or not number.is_finite() or abs(number) > DELTA_LIMIT or number != number.quantize(
            Decimal("0.01")):
        problem = _("%(label)s须为 -100 至 100 之间、最多两位小数的数") % {"label": label}
        raise PortalError(problem, code="invalid", errors={field: [problem]})
    return number.quantize(Decimal("0.01"))


def covered_departments(assessment: Assessment):
    """The departments an assessment covers: active, not a big-data bureau, of its region (all for the city)."""
    qs = Department.objects.filter(is_active=True, is_bureau=False)
    if assessment.region_id:
        qs = qs.filter(region_id=assessment.region_id)
    return qs.order_by("region__code", "name")


def _indicator(assessment: Assessment, key) -> AssessmentIndicator | None:
    if key in (None, ""):
        return None
    found = assessment.indicators.filter(key=str(key)).first()
    if found is None:
        problem = _("该考核没有此指标")
        raise PortalError(problem, code="unknown_indicator", errors={"indicator": [problem]})
    return found


# ---------------------------------------------------------------- open, indicator set

def _exists(year: int, region: Region | None, existing: Assessment | None) -> InvalidTransition:
    where = region.name if region else _("全市")
    if existing is None:
        problem = _("%(year)d 年度%(where)s考核已存在，请在原考核中继续") % {"year": year, "where": where}
    else:
        problem = _("%(year)d 年度%(where)s考核已存在（#%(id)d），请在原考核中继续") % {
            "year": year, "where": where, "id": existing.pk}
    return InvalidTransition(problem, code="assessment_exists", errors={"year": [problem]})


def _refuse_existing(year: int, region: Region | None) -> None:
    """Refuse (assessment_exists) when `year` already has an assessment of this scope (region None: the city)."""
    existing = Assessment.objects.filter(year=year, region=region).order_by("pk").first()
    if existing is not None:
        raise _exists(year, region, existing)


def assessment_create(*, actor: User, year: int, title: str = "", region_id: int | None = None) -> Assessment:
    """Open an assessment for `year` with the default indicator set (draft). The city assessor opens it for the city
    (no region) or a county region; a county bureau for its own region only.

    One assessment per year and scope: a second one for the same year and the city (or the same county region) is
    refused with InvalidTransition "assessment_exists" naming the first — also when two creates race (the unique
    constraint decides; nothing is written).

    Raises PermissionDenied, PortalError "invalid", InvalidTransition "assessment_exists".
    Audits supervision.assessment.created."""
    _require_assessor(actor)
    today = local_today()
    year_i = int_or_none(year)
    if year_i is None or not 2000 <= year_i <= today.year:
        raise PortalError(_("考核年度无效"), code="invalid", errors={"year": [_("考核年度无效")]})
    own_region = county_region_id(actor)
    if not actor.has_role(Role.ASSESSOR):
        region_id = own_region
    region = None
    if region_id not in (None, ""):
        region = Region.objects.filter(pk=int_or_none(region_id) or 0).first()
        if region is None:
            raise PortalError(_("考核区域无效"), code="invalid", errors={"region": [_("考核区域无效")]})
        region = None if region.is_city else region  # the city's own region: a city-wide assessment
    title = (title or "").strip() or _("%(year)d 年度%(where)s政务数据资源管理考核") % {
        "year": year_i, "where": region.name if region else _("全市")}
    title = _text(title, "title", _("名称"), limit=200)
    with transaction.atomic():
        _refuse_existing(year_i, region)
        try:
            with transaction.atomic():  # a savepoint: a concurrent create of the same year and scope may win
                assessment = Assessment.objects.create(year=year_i, title=title, region=region, created_by=actor)
        except IntegrityError:
            _refuse_existing(year_i, region)  # the winner is committed now: named
            raise _exists(year_i, region, None) from None
        AssessmentIndicator.objects.bulk_create([
            AssessmentIndicator(assessment=assessment, key=i.key, name=str(i.name), block=i.block, weight=i.weight,
                                position=n) for n, i in enumerate(indicators.default_set())])
        audit.record(actor=actor, action="supervision.assessment.created", obj=assessment,
                     data={"year": year_i, "region": region.pk if region else None,
                           "indicators": {i.key: i.weight for i in indicators.default_set()}})
    return assessment


def assessment_indicators_set(*, actor: User, assessment_id: int, rows: list[dict]) -> Assessment:
    """Replace the indicator set of a draft: rows of {key, weight[, name]} — registered keys, each once, whole
    non-negative weights totalling exactly 100 (else refused with code weights_not_100; nothing is written).

    Raises NotFound, PermissionDenied, InvalidTransition, PortalError. Audits supervision.assessment.indicators_set."""
    clean, seen = [], set()
    for n, row in enumerate(rows or []):
        key = str(row.get("key") or "")
        indicator = indicators.get(key)
        if indicator is None or key in seen:
            raise PortalError(_("指标无效或重复：%(key)s") % {"key": key[:40]}, code="unknown_indicator",
                              errors={"indicators": [_("指标无效或重复")]})
        seen.add(key)
        weight = int_or_none(row.get("weight"))
        if weight is None or not 0 <= weight <= 100 or str(row.get("weight")).strip() != str(weight):
            problem = _("权重须为 0 至 100 的整数")
            raise PortalError(problem, code="invalid", errors={"indicators": [problem]})
        name = (row.get("name") or "").strip() or str(indicator.name)
        name = _text(name, "indicators", _("指标名称"), limit=100)
        clean.append(AssessmentIndicator(key=key, name=name, block=indicator.block, weight=weight, position=n))
    total = sum(i.weight for i in clean)
    if total != 100:
        problem = _("指标权重合计须为 100，当前为 %(total)d") % {"total": total}
        raise PortalError(problem, code="weights_not_100", errors={"indicators": [problem]})
    with transaction.atomic():
        assessment = _managed(actor, assessment_id)
        _state(assessment, (AssessmentState.DRAFT,), _("只有草稿状态的考核可以修改指标"))
        assessment.indicators.all().delete()
        for row in clean:
            row.assessment = assessment
        AssessmentIndicator.objects.bulk_create(clean)
        audit.record(actor=actor, action="supervision.assessment.indicators_set", obj=assessment,
                     data={"indicators": {i.key: i.weight for i in clean}})
    return assessment


# ---------------------------------------------------------------- compute

def assessment_compute(*, actor: User, assessment_id: int, inline: bool = False) -> AssessmentRun:
    """Start computing (draft or computed → computing): a job row and the Celery task, run after commit — or, with
    `inline` (seed_demo, the bench), no task: the caller runs `assessment_run_execute(run_id=…)` itself.

    Raises NotFound, PermissionDenied, InvalidTransition, PortalError weights_not_100. Audits
    supervision.assessment.compute_started."""
    with transaction.atomic():
        assessment = _managed(actor, assessment_id)
        _state(assessment, RECOMPUTABLE, _("计算中、异议期或已发布的考核不能重新计算"))
        total = assessment.indicators.aggregate(t=Sum("weight"))["t"] or 0
        if total != 100:
            raise PortalError(_("指标权重合计须为 100，当前为 %(total)d") % {"total": total}, code="weights_not_100")
        previous = assessment.state
        assessment.state = AssessmentState.COMPUTING
        assessment.save(update_fields=["state"])
        run = AssessmentRun.objects.create(assessment=assessment, started_by=actor,
                                           log=log_line(_("已提交计算（原状态：%(s)s）") % {"s": previous}))
        audit.record(actor=actor, action="supervision.assessment.compute_started", obj=assessment,
                     data={"run": run.pk, "from": previous})
        if not inline:
            enqueue(COMPUTE_TASK, run.pk)
    return run


def compute_figures(assessment: Assessment, *, today: dt.date | None = None, progress=None) -> list[AssessmentScore]:
    """The score rows of every covered department on every indicator of the set (not saved): one set-based
    computation per indicator, whatever the number of departments."""
    period = indicators.Period.of(assessment.year, today or local_today())
    departments = list(covered_departments(assessment).values_list("pk", flat=True))
    now = timezone.now()
    rows = []
    set_ = list(assessment.indicators.all())
    for n, row in enumerate(set_):
        indicator = indicators.get(row.key)
        figures = indicator.compute(period, departments) if indicator else {}
        for dep in departments:
            figure = figures.get(dep) or indicators.Figure()
            if indicator is not None and indicator.kind == indicators.base.DEDUCTION:
                figure.denominator = None
            rate, points = indicators.points(indicator, row.weight, figure) if indicator else (None, Decimal(0))
            rows.append(AssessmentScore(
                assessment=assessment, department_id=dep, indicator=row, numerator=figure.numerator,
                denominator=figure.denominator, rate=rate, points=points,
                evidence_type=indicator.evidence_type if indicator else "", counted_ids=figure.counted,
                failed_ids=figure.failed, veto=figure.veto, computed_at=now))
        if progress:
            progress(int(100 * (n + 1) / max(len(set_), 1)), row)
    return rows


def _grade(total: Decimal, veto: bool) -> str:
    if veto:
        return Grade.FAIL
    return next((grade for floor, grade in GRADES if total >= floor), Grade.FAIL)


def rescore(assessment: Assessment) -> None:
    """Results from the stored scores and adjustments: totals (0–100), veto, rank (ties share a rank; vetoed
    departments after the others) and grade. A constant number of statements."""
    computed, veto = defaultdict(Decimal), defaultdict(bool)
    for dep, points, v in assessment.scores.values_list("department_id", "points", "veto"):
        computed[dep] += points
        veto[dep] |= v
    adjusted = defaultdict(Decimal)
    for dep, delta in assessment.adjustments.values_list("department_id", "delta"):
        adjusted[dep] += delta
    deps = sorted(computed)
    rows = []
    for dep in deps:
        total = min(Decimal(100), max(Decimal(0), computed[dep] + adjusted[dep]))
        rows.append(AssessmentResult(assessment=assessment, department_id=dep, computed_points=computed[dep],
                                     adjustment_points=adjusted[dep], total=total, veto=veto[dep],
                                     grade=_grade(total, veto[dep])))
    rows.sort(key=lambda r: (r.veto, -r.total))
    rank, previous = 0, None
    for n, row in enumerate(rows, start=1):
        if (row.veto, row.total) != previous:
            rank, previous = n, (row.veto, row.total)
        row.rank = rank
    assessment.results.all().delete()
    AssessmentResult.objects.bulk_create(rows)


def assessment_run_execute(*, run_id: int, today: dt.date | None = None) -> AssessmentRun | None:
    """The Celery job: compute every figure, replace the scores, rescore (computing → computed). A failure leaves
    the assessment as it was before (draft, or computed with its previous figures) and the run failed."""
    with transaction.atomic():
        run = AssessmentRun.objects.select_for_update().filter(pk=run_id, status=JobStatus.PENDING).first()
        if run is None:
            return None
        run.status, run.started_at, run.heartbeat_at = JobStatus.RUNNING, timezone.now(), timezone.now()
        run.log += log_line(_("开始计算"))
        run.save(update_fields=["status", "started_at", "heartbeat_at", "log"])
    assessment = run.assessment

    def progress(pct, row):
        job_heartbeat(AssessmentRun, run.pk, progress=min(pct, 99))

    try:
        rows = compute_figures(assessment, today=today, progress=progress)
        with transaction.atomic():
            locked = Assessment.objects.select_for_update().get(pk=assessment.pk)
            if locked.state != AssessmentState.COMPUTING:
                raise InvalidTransition(_("考核已不在计算中"))
            locked.scores.all().delete()
            AssessmentScore.objects.bulk_create(rows, batch_size=2000)
            rescore(locked)
            locked.state, locked.computed_at = AssessmentState.COMPUTED, timezone.now()
            locked.save(update_fields=["state", "computed_at"])
            AssessmentRun.objects.filter(pk=run.pk).update(
                status=JobStatus.SUCCEEDED, progress=100, finished_at=timezone.now(),
                log=run.log + log_line(_("计算完成：%(n)d 项得分") % {"n": len(rows)}))
            audit.record(actor=run.started_by, action="supervision.assessment.computed", obj=locked,
                         data={"run": run.pk, "scores": len(rows)})
    except Exception as exc:  # the job must end, whatever went wrong
        assessment_run_failed(run_id=run.pk, message=str(exc)[:300])
        raise
    run.refresh_from_db()
    return run


def assessment_run_failed(*, run_id: int, message: str, code: str = "compute_failed") -> None:
    """End a run as failed and put its assessment back (draft if never computed, else computed)."""
    with transaction.atomic():
        run = AssessmentRun.objects.select_for_update().get(pk=run_id)
        run.status, run.finished_at = JobStatus.FAILED, timezone.now()
        run.error_code, run.error_message = code, message
        run.log += log_line(_("计算失败：%(m)s") % {"m": message})
        run.save(update_fields=["status", "finished_at", "error_code", "error_message", "log"])
        revert_after_run(run)
        audit.record(actor=None, actor_label="system", action="supervision.assessment.compute_failed",
                     obj=run.assessment, data={"run": run.pk, "error": message})


def revert_after_run(run: AssessmentRun) -> None:
    """Put a computing assessment back to its state before the run (also the reaper's on_reaped)."""
    assessment = Assessment.objects.select_for_update().get(pk=run.assessment_id)
    if assessment.state == AssessmentState.COMPUTING:
        assessment.state = AssessmentState.COMPUTED if assessment.computed_at else AssessmentState.DRAFT
        assessment.save(update_fields=["state"])


# ---------------------------------------------------------------- adjust

def assessment_adjust(*, actor: User, assessment_id: int, department_id: int, delta, reason: str,
                      indicator_key: str | None = None, _objection: AssessmentObjection | None = None
                      ) -> AssessmentAdjustment:
    """Adjust a department's points (on one indicator or the total) by `delta` with a written reason; the results
    are rescored. Allowed while computed or in the objection period.

    Raises NotFound, PermissionDenied, InvalidTransition, PortalError reason_required / invalid / not_assessed /
    unknown_indicator. Audits supervision.assessment.adjusted."""
    if not (reason or "").strip():
        raise PortalError(_("调整得分须写明理由"), code="reason_required", errors={"reason": [_("调整得分须写明理由")]})
    reason = _text(reason, "reason", _("调整理由"), limit=2000)
    delta = _decimal(delta, "delta", _("调整分值"))
    if delta == 0:
        raise PortalError(_("调整分值不能为 0"), code="invalid", errors={"delta": [_("调整分值不能为 0")]})
    with transaction.atomic():
        assessment = _managed(actor, assessment_id)
        _state(assessment, ADJUSTABLE, _("只有已计算或异议期中的考核可以调整得分"))
        department_id = int_or_none(department_id) or 0
        if not assessment.results.filter(department_id=department_id).exists():
            raise PortalError(_("该部门不在本次考核范围内"), code="not_assessed",
                              errors={"department": [_("该部门不在本次考核范围内")]})
        indicator = _indicator(assessment, indicator_key)
        adjustment = AssessmentAdjustment.objects.create(
            assessment=assessment, department_id=department_id, indicator=indicator, delta=delta, reason=reason,
            created_by=actor)
        rescore(assessment)
        audit.record(actor=actor, action="supervision.assessment.adjusted", obj=assessment,
                     data={"adjustment": adjustment.pk, "department": department_id,
                           "indicator": indicator.key if indicator else None, "delta": str(delta), "reason": reason,
                           "objection": _objection.pk if _objection else None})
    return adjustment


# ---------------------------------------------------------------- objections

def assessment_objections_open(*, actor: User, assessment_id: int, until: dt.date) -> Assessment:
    """Show the computed scorecards to the departments and open the objection period until `until` (inclusive).

    Raises NotFound, PermissionDenied, InvalidTransition, PortalError invalid. Audits supervision.assessment.
    objections_opened; tells the covered departments' people."""
    if not isinstance(until, dt.date) or until < local_today():
        problem = _("异议截止日期不能早于今天")
        raise PortalError(problem, code="invalid", errors={"until": [problem]})
    with transaction.atomic():
        assessment = _managed(actor, assessment_id)
        _state(assessment, (AssessmentState.COMPUTED,), _("只有已计算的考核可以进入异议期"))
        assessment.state, assessment.objection_until = AssessmentState.OBJECTION, until
        assessment.save(update_fields=["state", "objection_until"])
        audit.record(actor=actor, action="supervision.assessment.objections_opened", obj=assessment,
                     data={"until": until.isoformat()})
        notify(recipients=_department_people(assessment),
               title=_("%(title)s：本部门考核得分已公布，异议期至 %(until)s") % {
                   "title": assessment.title, "until": until.isoformat()},
               url=assessment.get_absolute_url(), digest=ASSESSMENT_DIGEST)
    return assessment


def _department_people(assessment: Assessment):
    """The data staff and heads of the departments the assessment covers (one query)."""
    return (User.objects.filter(is_active=True, department__in=covered_departments(assessment),
                                roles__role__in=STAFF_ROLES).distinct())


def assessment_object(*, actor: User, assessment_id: int, reason: str, indicator_key: str | None = None
                      ) -> AssessmentObjection:
    """A department's data staff or head objects to its own scorecard within the objection period.

    Raises NotFound (not covered / not visible), PermissionDenied, PortalError objection_period_over (after the
    period, or once published) / invalid_state (before the period) / invalid. Audits supervision.objection.filed."""
    reason = _text(reason, "reason", _("异议理由"), limit=2000)
    with transaction.atomic():
        assessment = (Assessment.objects.restrict(actor, "object").select_for_update()
                      .filter(pk=int_or_none(assessment_id) or 0).first())
        if assessment is None:
            raise NotFound()
        if not assessment.results.filter(department_id=actor.department_id).exists():
            raise NotFound()
        if assessment.state == AssessmentState.PUBLISHED or (
                assessment.state == AssessmentState.OBJECTION and local_today() > assessment.objection_until):
            raise PortalError(_("异议期已过（截至 %(d)s），不能再提出异议") % {
                "d": assessment.objection_until}, code="objection_period_over", errors={"reason": [_("异议期已过")]})
        _state(assessment, (AssessmentState.OBJECTION,), _("考核尚未进入异议期"))
        indicator = _indicator(assessment, indicator_key)
        objection = AssessmentObjection.objects.create(assessment=assessment, department_id=actor.department_id,
                                                       indicator=indicator, reason=reason, filed_by=actor)
        audit.record(actor=actor, action="supervision.objection.filed", obj=objection,
                     data={"assessment": assessment.pk, "indicator": indicator.key if indicator else None,
                           "reason": reason})
    return objection


def assessment_objection_answer(*, actor: User, objection_id: int, answer: str, delta=None) -> AssessmentObjection:
    """The assessor answers an open objection; with `delta` the answer also adjusts the department's points (on
    the objection's indicator, the answer as the reason).

    Raises NotFound, PermissionDenied, InvalidTransition, PortalError. Audits supervision.objection.answered."""
    answer = _text(answer, "answer", _("答复"), limit=2000)
    with transaction.atomic():
        objection = (AssessmentObjection.objects.select_for_update(of=("self",))
                     .filter(pk=int_or_none(objection_id) or 0).select_related("assessment", "indicator").first())
        if objection is None or not Assessment.objects.restrict(actor, "view").filter(
                pk=objection.assessment_id).exists():
            raise NotFound()
        _managed(actor, objection.assessment_id)
        if objection.state != ObjectionState.OPEN:
            raise InvalidTransition(_("该异议已答复"))
        adjustment = None
        if delta not in (None, ""):
            adjustment = assessment_adjust(
                actor=actor, assessment_id=objection.assessment_id, department_id=objection.department_id,
                delta=delta, reason=answer, indicator_key=objection.indicator.key if objection.indicator else None,
                _objection=objection)
        objection.state, objection.answer = ObjectionState.ANSWERED, answer
        objection.answered_by, objection.answered_at, objection.adjustment = actor, timezone.now(), adjustment
        objection.save(update_fields=["state", "answer", "answered_by", "answered_at", "adjustment"])
        audit.record(actor=actor, action="supervision.objection.answered", obj=objection,
                     data={"assessment": objection.assessment_id, "answer": answer,
                           "adjustment": adjustment.pk if adjustment else None})
    return objection


# ---------------------------------------------------------------- publish

def assessment_publish(*, actor: User, assessment_id: int) -> Assessment:
    """Publish the ranking and grades once the objection period is over and every objection answered; final.

    Raises NotFound, PermissionDenied, InvalidTransition, PortalError objection_period_running /
    objections_unanswered. Audits supervision.assessment.published; tells the covered departments' people."""
    with transaction.atomic():
        assessment = _managed(actor, assessment_id)
        _state(assessment, (AssessmentState.OBJECTION,), _("只有异议期结束的考核可以发布"))
        if local_today() <= assessment.objection_until:
            raise PortalError(_("异议期至 %(d)s 结束，结束后方可发布") % {"d": assessment.objection_until},
                              code="objection_period_running")
        if assessment.objections.filter(state=ObjectionState.OPEN).exists():
            raise PortalError(_("尚有未答复的异议"), code="objections_unanswered")
        rescore(assessment)
        assessment.state, assessment.published_at, assessment.published_by = (
            AssessmentState.PUBLISHED, timezone.now(), actor)
        assessment.save(update_fields=["state", "published_at", "published_by"])
        results = {r.department_id: [str(r.total), r.grade, r.rank] for r in assessment.results.all()}
        audit.record(actor=actor, action="supervision.assessment.published", obj=assessment,
                     data={"results": results})
        notify(recipients=_department_people(assessment),
               title=_("%(title)s：考核结果已发布") % {"title": assessment.title}, url=assessment.get_absolute_url(),
               digest=ASSESSMENT_DIGEST)
    return assessment
