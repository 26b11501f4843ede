"""The annual assessment (年度评估考核, R33): an indicator set, scores computed from platform evidence, adjustments,
objections, and the published ranking with grades.

Scope (decided for R33: 对各县(市)区…监督检查): an assessment belongs to the city (`region` empty — every active
department of the city except the big-data bureaus, the results table filters by region) or to one county-level region
(`region` set — that region's departments, opened and run by that county's bureau the same way). The city assessor
sees and manages every assessment; a county bureau those of its own region; a department, from the objection period
on, the assessments that cover it (its own scorecard; after publication also the ranking of totals and grades).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from portal.choices import STAFF_ROLES, Role
from portal.models import Job
from portal.permissions import county_region_id
from portal.querysets import RestrictedQuerySet

from ..choices import AssessmentState, Grade, IndicatorBlock, ObjectionState

# States in which departments see the assessment (their own scorecard; the ranking once published).
VISIBLE_TO_DEPARTMENTS = (AssessmentState.OBJECTION, AssessmentState.PUBLISHED)


def managed_q(user, path: str = "") -> Q:
    """Assessments `user` runs: the city assessor every one, a county bureau its own region's."""
    prefix = f"{path}__" if path else ""
    if user.has_role(Role.ASSESSOR):
        return Q()
    region_id = county_region_id(user)
    if region_id:
        return Q(**{f"{prefix}region_id": region_id})
    return Q(pk__in=[])


def covering_q(user, path: str = "") -> Q:
    """Assessments a department member sees: those covering the department, from the objection period on."""
    prefix = f"{path}__" if path else ""
    if not user.department_id or not user.has_role(*STAFF_ROLES):
        return Q(pk__in=[])
    return (Q(**{f"{prefix}state__in": VISIBLE_TO_DEPARTMENTS})
            & (Q(**{f"{prefix}region__isnull": True}) | Q(**{f"{prefix}region_id": user.department.region_id})))


class AssessmentQuerySet(RestrictedQuerySet):
    def restrict_view(self, user):
        managed = managed_q(user)
        if not managed:  # Q(): the whole city (OR-ing an empty Q would narrow it to the other side)
            return self.all()
        return self.filter(managed | covering_q(user))

    def restrict_manage(self, user):
        return self.filter(managed_q(user))

    def restrict_object(self, user):
        """Objections: a department's own people on an assessment in its objection period (the state is checked
        by the service, so that a late objection is refused with its code, not hidden)."""
        return self.filter(covering_q(user))


class Assessment(models.Model):
    year = models.PositiveSmallIntegerField(_("考核年度"))
    title = models.CharField(_("名称"), max_length=200)
    region = models.ForeignKey("portal.Region", verbose_name=_("考核区域"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="+", help_text=_("为空表示全市"))
    state = models.CharField(_("状态"), max_length=12, choices=AssessmentState.choices, default=AssessmentState.DRAFT)
    objection_until = models.DateField(_("异议截止日期"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    computed_at = models.DateTimeField(_("计算时间"), null=True, blank=True)
    published_at = models.DateTimeField(_("发布时间"), null=True, blank=True)
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="+")

    objects = AssessmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("年度考核")
        verbose_name_plural = _("年度考核")
        ordering = ["-year", "-id"]
        # One assessment per year and scope: the city (region NULL — NULLs not distinct) or one county region.
        constraints = [models.UniqueConstraint(fields=["year", "region"], nulls_distinct=False,
                                               name="supervision_assessment_one_per_scope")]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("supervision:assessment-detail", args=[self.pk])


class AssessmentIndicator(models.Model):
    """One indicator of an assessment's set: which registered computation (`key`), its name, block and weight."""

    assessment = models.ForeignKey(Assessment, on_delete=models.CASCADE, related_name="indicators")
    key = models.CharField(_("指标代码"), max_length=40)
    name = models.CharField(_("指标名称"), max_length=100)
    block = models.CharField(_("考核板块"), max_length=12, choices=IndicatorBlock.choices)
    weight = models.PositiveSmallIntegerField(_("权重(分)"))
    position = models.PositiveSmallIntegerField(_("序号"), default=0)

    class Meta:
        verbose_name = _("考核指标")
        verbose_name_plural = _("考核指标")
        ordering = ["assessment", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["assessment", "key"], name="supervision_indicator_one_key")]

    def __str__(self) -> str:
        return self.name


class AssessmentScore(models.Model):
    """One figure: a department on one indicator, as computed, with the cases it was computed from.

    `counted_ids` are the ids (of `evidence_type`, an app_label.model) of every case in the denominator,
    `failed_ids` those of them that counted against the department (late, returned, missing, an incident) — stored
    as counted, so the drill-down shows the cases of the figure even when the cases change afterwards.
    """

    assessment = models.ForeignKey(Assessment, on_delete=models.CASCADE, related_name="scores")
    department = models.ForeignKey("portal.Department", on_delete=models.PROTECT, related_name="+")
    indicator = models.ForeignKey(AssessmentIndicator, on_delete=models.CASCADE, related_name="scores")
    numerator = models.DecimalField(_("分子"), max_digits=12, decimal_places=2)
    denominator = models.PositiveIntegerField(_("分母"), null=True, blank=True)
    rate = models.DecimalField(_("得分率"), max_digits=6, decimal_places=4, null=True, blank=True)
    points = models.DecimalField(_("得分"), max_digits=6, decimal_places=2)
    evidence_type = models.CharField(_("案件类型"), max_length=60)
    counted_ids = ArrayField(models.BigIntegerField(), default=list, verbose_name=_("计入案件"))
    failed_ids = ArrayField(models.BigIntegerField(), default=list, verbose_name=_("扣分案件"))
    veto = models.BooleanField(_("一票否决"), default=False)
    computed_at = models.DateTimeField(_("计算时间"))

    class Meta:
        verbose_name = _("指标得分")
        verbose_name_plural = _("指标得分")
        ordering = ["assessment", "department", "indicator__position"]
        constraints = [models.UniqueConstraint(fields=["assessment", "department", "indicator"],
                                               name="supervision_score_one")]

    def __str__(self) -> str:
        return f"{self.department_id} · {self.indicator_id}: {self.points}"


class AssessmentResult(models.Model):
    """A department's result: computed points, adjustments, total, veto, rank and grade (final once published)."""

    assessment = models.ForeignKey(Assessment, on_delete=models.CASCADE, related_name="results")
    department = models.ForeignKey("portal.Department", on_delete=models.PROTECT, related_name="+")
    computed_points = models.DecimalField(_("计算得分"), max_digits=6, decimal_places=2, default=0)
    adjustment_points = models.DecimalField(_("调整分"), max_digits=6, decimal_places=2, default=0)
    total = models.DecimalField(_("总分"), max_digits=6, decimal_places=2, default=0)
    veto = models.BooleanField(_("一票否决"), default=False)
    rank = models.PositiveIntegerField(_("排名"), null=True, blank=True)
    grade = models.CharField(_("等次"), max_length=10, choices=Grade.choices, blank=True)

    class Meta:
        verbose_name = _("考核结果")
        verbose_name_plural = _("考核结果")
        ordering = ["assessment", "rank", "department__name"]
        constraints = [models.UniqueConstraint(fields=["assessment", "department"], name="supervision_result_one")]

    def __str__(self) -> str:
        return f"{self.department_id}: {self.total}"

    def get_absolute_url(self) -> str:
        return reverse("supervision:assessment-scorecard", args=[self.assessment_id, self.department_id])


class AssessmentAdjustment(models.Model):
    """A manual change of a department's points (on one indicator or on the total), with its written reason."""

    assessment = models.ForeignKey(Assessment, on_delete=models.CASCADE, related_name="adjustments")
    department = models.ForeignKey("portal.Department", on_delete=models.PROTECT, related_name="+")
    indicator = models.ForeignKey(AssessmentIndicator, null=True, blank=True, on_delete=models.CASCADE,
                                  related_name="adjustments", verbose_name=_("指标"))
    delta = models.DecimalField(_("调整分值"), max_digits=6, decimal_places=2)
    reason = models.TextField(_("调整理由"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("调整时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("得分调整")
        verbose_name_plural = _("得分调整")
        ordering = ["assessment", "created_at", "id"]

    def __str__(self) -> str:
        return f"{self.department_id}: {self.delta}"


class AssessmentObjection(models.Model):
    """A department's objection (异议) to its scorecard, filed within the period, answered by the assessor."""

    assessment = models.ForeignKey(Assessment, on_delete=models.CASCADE, related_name="objections")
    department = models.ForeignKey("portal.Department", on_delete=models.PROTECT, related_name="+")
    indicator = models.ForeignKey(AssessmentIndicator, null=True, blank=True, on_delete=models.CASCADE,
                                  related_name="objections", verbose_name=_("指标"))
    reason = models.TextField(_("异议理由"))
    filed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    filed_at = models.DateTimeField(_("提出时间"), auto_now_add=True)
    state = models.CharField(_("状态"), max_length=10, choices=ObjectionState.choices, default=ObjectionState.OPEN)
    answer = models.TextField(_("答复"), blank=True)
    answered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+")
    answered_at = models.DateTimeField(_("答复时间"), null=True, blank=True)
    adjustment = models.OneToOneField(AssessmentAdjustment, null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="objection")

    class Meta:
        verbose_name = _("考核异议")
        verbose_name_plural = _("考核异议")
        ordering = ["assessment", "filed_at", "id"]

    def __str__(self) -> str:
        return f"{self.assessment_id} · {self.department_id}"


class AssessmentRun(Job):
    """One computation of an assessment (the Celery job the assessor starts; the page polls it)."""

    assessment = models.ForeignKey(Assessment, on_delete=models.CASCADE, related_name="runs")
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("提交时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("考核计算任务")
        verbose_name_plural = _("考核计算任务")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.assessment_id} #{self.pk}"
