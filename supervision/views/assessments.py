"""The annual assessment's pages (R33): list and open, the indicator set, compute and its progress, results,
scorecards with their drill-down, adjustments, objections, publication, the report (charts) and its PDF.
Every change is one service call (supervision/services/assessments.py); every read a selector."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from portal.choices import Role
from portal.errors import PortalError
from portal.permissions import int_or_none
from portal.shortcuts import access_or_404, http_refusal, role_required, service_errors

from .. import indicators, report
from ..choices import AssessmentState, IndicatorBlock
from ..forms.assessments import AdjustForm, AnswerForm, AssessmentCreateForm, ObjectForm, OpenObjectionsForm
from ..selectors import assessments as reads
from ..services import assessments as services

PEOPLE = (Role.ASSESSOR, Role.COUNTY_BUREAU, Role.DEPT_STAFF, Role.DEPT_HEAD)
RUNNERS = (Role.ASSESSOR, Role.COUNTY_BUREAU)


def _get(request, assessment_id):
    return access_or_404(reads.assessment_get, user=request.user, assessment_id=assessment_id)


def _run(request, step, done: str):
    """Run a service step; its refusal as a message (404 / 403 as pages answer them)."""
    try:
        step()
    except PortalError as exc:
        http_refusal(exc)
        messages.error(request, str(exc.detail))
        return False
    messages.success(request, done)
    return True


@role_required(*PEOPLE)
def assessment_list_page(request):
    form = AssessmentCreateForm(request.POST or None)
    runner = request.user.has_role(*RUNNERS)
    if request.method == "POST":
        if not runner:
            raise Http404
        if form.is_valid():
            data = form.cleaned_data
            try:
                assessment = services.assessment_create(
                    actor=request.user, year=data["year"], title=data["title"],
                    region_id=data["region"].pk if data["region"] else None)
            except PortalError as exc:
                http_refusal(exc)
                service_errors(form, exc)  # e.g. assessment_exists: on the year, naming the existing assessment
            else:
                messages.success(request, _("考核已创建"))
                return redirect(assessment)
    return render(request, "supervision/assessment_list.html", {
        "assessments": reads.assessment_list(user=request.user), "form": form, "runner": runner})


@role_required(*PEOPLE)
def assessment_detail(request, assessment_id: int):
    assessment = _get(request, assessment_id)
    manager = reads.manages(request.user, assessment)
    region_id = int_or_none(request.GET.get("region")) if not assessment.region_id else None
    indicator_rows = list(assessment.indicators.all())
    results = list(reads.results(user=request.user, assessment=assessment, region_id=region_id))
    if manager:  # the per-indicator points of every row (one query); departments see totals and grades only
        points = {(d, i): p for d, i, p in reads.scores(user=request.user, assessment=assessment)
                  .values_list("department_id", "indicator_id", "points")}
        for row in results:
            row.indicator_points = [points.get((row.department_id, i.pk)) for i in indicator_rows]
    return render(request, "supervision/assessment_detail.html", {
        "assessment": assessment, "manager": manager, "run": reads.latest_run(assessment),
        "indicators": indicator_rows, "weights_total": sum(i.weight for i in indicator_rows),
        "registry": indicators.default_set(), "blocks": IndicatorBlock,
        "results": results,
        "regions": reads.result_regions(assessment), "region_id": region_id,
        "objections": reads.objections(user=request.user, assessment=assessment),
        "adjustments": reads.adjustments(user=request.user, assessment=assessment),
        "adjust_form": AdjustForm(), "open_form": OpenObjectionsForm(), "answer_form": AnswerForm(),
        "states": AssessmentState,
    })


@role_required(*RUNNERS)
def assessment_run_status(request, assessment_id: int):
    """The compute state and progress (htmx polls it while computing)."""
    assessment = _get(request, assessment_id)
    return render(request, "supervision/_assessment_run.html", {
        "assessment": assessment, "run": reads.latest_run(assessment)})


@role_required(*RUNNERS)
@require_POST
def assessment_indicators(request, assessment_id: int):
    assessment = _get(request, assessment_id)
    rows = [{"key": key, "weight": request.POST.get(f"weight-{key}", ""), "name": request.POST.get(f"name-{key}", "")}
            for key in request.POST.getlist("key")]
    _run(request, lambda: services.assessment_indicators_set(actor=request.user, assessment_id=assessment.pk,
                                                             rows=rows), _("指标体系已保存"))
    return redirect(assessment)


@role_required(*RUNNERS)
@require_POST
def assessment_compute(request, assessment_id: int):
    assessment = _get(request, assessment_id)
    _run(request, lambda: services.assessment_compute(actor=request.user, assessment_id=assessment.pk),
         _("已开始计算"))
    return redirect(assessment)


@role_required(*RUNNERS)
@require_POST
def assessment_open_objections(request, assessment_id: int):
    assessment = _get(request, assessment_id)
    form = OpenObjectionsForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请填写有效的异议截止日期"))
    else:
        _run(request, lambda: services.assessment_objections_open(
            actor=request.user, assessment_id=assessment.pk, until=form.cleaned_data["until"]), _("已进入异议期"))
    return redirect(assessment)


@role_required(*RUNNERS)
@require_POST
def assessment_publish(request, assessment_id: int):
    assessment = _get(request, assessment_id)
    _run(request, lambda: services.assessment_publish(actor=request.user, assessment_id=assessment.pk),
         _("考核结果已发布"))
    return redirect(assessment)


@role_required(*RUNNERS)
@require_POST
def assessment_adjust(request, assessment_id: int):
    assessment = _get(request, assessment_id)
    form = AdjustForm(request.POST)
    if not form.is_valid():
        for problems in form.errors.values():
            messages.error(request, " ".join(problems))
        return redirect(assessment)
    data = form.cleaned_data
    _run(request, lambda: services.assessment_adjust(
        actor=request.user, assessment_id=assessment.pk, department_id=data["department"], delta=data["delta"],
        reason=data["reason"], indicator_key=data["indicator"] or None), _("得分已调整"))
    return redirect("supervision:assessment-scorecard", assessment.pk, data["department"])


@role_required(*RUNNERS)
@require_POST
def objection_answer(request, assessment_id: int, objection_id: int):
    assessment = _get(request, assessment_id)
    if not reads.objections(user=request.user, assessment=assessment).filter(pk=objection_id).exists():
        raise Http404
    form = AnswerForm(request.POST)
    if not form.is_valid():
        for problems in form.errors.values():
            messages.error(request, " ".join(problems))
    else:
        _run(request, lambda: services.assessment_objection_answer(
            actor=request.user, objection_id=objection_id, answer=form.cleaned_data["answer"],
            delta=form.cleaned_data["delta"]), _("异议已答复"))
    return redirect(assessment)


@role_required(Role.DEPT_STAFF, Role.DEPT_HEAD)
@require_POST
def assessment_object(request, assessment_id: int):
    assessment = _get(request, assessment_id)
    form = ObjectForm(request.POST)
    if not form.is_valid():
        for problems in form.errors.values():
            messages.error(request, " ".join(problems))
    else:
        _run(request, lambda: services.assessment_object(
            actor=request.user, assessment_id=assessment.pk, reason=form.cleaned_data["reason"],
            indicator_key=form.cleaned_data["indicator"] or None), _("异议已提交"))
    return redirect("supervision:assessment-scorecard", assessment.pk, request.user.department_id)


def _scorecard(request, assessment_id, department_id):
    assessment = _get(request, assessment_id)
    department = access_or_404(reads.scorecard_department, user=request.user, assessment=assessment,
                               department_id=department_id)
    scores = list(reads.scores(user=request.user, assessment=assessment, department_id=department.pk))
    result = assessment.results.filter(department=department).first()
    return assessment, department, scores, result


def _chart_data(scores) -> dict:
    return {"labels": [s.indicator.name for s in scores], "points": [float(s.points) for s in scores],
            "weights": [s.indicator.weight for s in scores],
            "names": [_("得分"), _("满分")]}


@role_required(*PEOPLE)
def assessment_scorecard(request, assessment_id: int, department_id: int):
    """A department's scorecard and report: each figure with its cases (drill-down), adjustments, objections,
    a chart of points against weights, the PDF."""
    assessment, department, scores, result = _scorecard(request, assessment_id, department_id)
    own = request.user.department_id == department.pk
    return render(request, "supervision/assessment_scorecard.html", {
        "assessment": assessment, "department": department, "scores": scores, "result": result,
        "manager": reads.manages(request.user, assessment), "own": own,
        "adjustments": reads.adjustments(user=request.user, assessment=assessment).filter(department=department),
        "objections": reads.objections(user=request.user, assessment=assessment).filter(department=department),
        "object_form": ObjectForm(), "adjust_form": AdjustForm(initial={"department": department.pk}),
        "chart": _chart_data(scores), "may_object": own and assessment.state == AssessmentState.OBJECTION,
    })


@role_required(*PEOPLE)
def assessment_evidence(request, assessment_id: int, department_id: int, key: str):
    """The drill-down: the cases one figure was computed from, as they were counted."""
    assessment, department, scores, _result = _scorecard(request, assessment_id, department_id)
    score = next((s for s in scores if s.indicator.key == key), None)
    if score is None:
        raise Http404
    definition = indicators.get(key)
    return render(request, "supervision/assessment_evidence.html", {
        "assessment": assessment, "department": department, "score": score,
        "rule": definition.rule if definition else "", "rows": reads.evidence(score)})


@role_required(*PEOPLE)
def assessment_report_pdf(request, assessment_id: int, department_id: int):
    assessment, department, scores, result = _scorecard(request, assessment_id, department_id)
    body = report.scorecard_pdf(assessment=assessment, department=department, scores=scores, result=result)
    response = HttpResponse(body, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="assessment-{assessment.pk}-{department.pk}.pdf"'
    return response
