"""Informatization projects (政务信息化项目, policy note; SPEC RP.1–RP.2): filed by a department, reviewed by the
bureau against the co-construction/sharing checklist, built, and after completion checked against the catalog."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from portal.choices import Role
from portal.querysets import RestrictedQuerySet

from ..choices import FundingKind, ProjectState


class ProjectQuerySet(RestrictedQuerySet):
    """Seen in the role scope of the filing department (its staff and head; the county bureau of its region; the
    city's reviewers and assessors); changed, submitted, started and completed by the department's own staff and
    head; reviewed by the bureau's reviewers (the policy note: 市政务服务和大数据管理局 is the competent department)."""

    def restrict_change(self, user):
        return self.of_own_department(user)

    def restrict_review(self, user):
        return self.for_roles(user, Role.BUREAU_REVIEWER)

    def missing_catalog(self):
        """Completed projects flagged for declared resources that are not in the catalog (RP.2)."""
        return self.filter(state=ProjectState.COMPLETED).exclude(missing_resources=[])


class InformatizationProject(models.Model):
    name = models.CharField(_("项目名称"), max_length=200)
    department = models.ForeignKey("portal.Department", verbose_name=_("申报部门"), on_delete=models.PROTECT,
                                   related_name="+")
    funding_kind = models.CharField(_("资金类型"), max_length=20, choices=FundingKind.choices)
    budget = models.DecimalField(_("预算（万元）"), max_digits=12, decimal_places=2)
    period_start = models.DateField(_("建设期开始"))
    period_end = models.DateField(_("建设期结束"))
    description = models.TextField(_("建设内容"))
    # The department's commitments (choices.DECLARED_ITEMS) and, at review, what the reviewer confirmed (CheckItem).
    declared_checks = ArrayField(models.CharField(max_length=20), verbose_name=_("部门承诺"), default=list, blank=True)
    review_checks = ArrayField(models.CharField(max_length=20), verbose_name=_("审核核实"), default=list, blank=True)
    state = models.CharField(_("状态"), max_length=20, choices=ProjectState.choices, default=ProjectState.DRAFT)
    submitted_at = models.DateTimeField(_("提交时间"), null=True, blank=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+")
    reviewed_at = models.DateTimeField(_("审核时间"), null=True, blank=True)
    review_opinion = models.TextField(_("审核意见"), blank=True)
    return_reason = models.TextField(_("退回理由"), blank=True)
    started_on = models.DateField(_("开工日期"), null=True, blank=True)
    completed_on = models.DateField(_("建成日期"), null=True, blank=True)
    # RP.2: the declared resources not (yet) in the catalog, kept by services.projects.project_catalog_check.
    missing_resources = models.JSONField(_("未编入目录的信息资源"), default=list, blank=True)
    missing_since = models.DateTimeField(_("发现缺失时间"), null=True, blank=True)
    missing_notified_at = models.DateTimeField(_("缺失通知时间"), null=True, blank=True)
    search_vector = SearchVectorField(null=True, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = ProjectQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("政务信息化项目")
        verbose_name_plural = _("政务信息化项目")
        indexes = [
            GinIndex(fields=["search_vector"], name="supervision_project_search_gin"),
            models.Index(fields=["department", "state"], name="supervision_project_dept_idx"),
            models.Index(fields=["state"], name="supervision_project_state_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(budget__gte=0), name="supervision_project_budget_not_negative"),
            models.CheckConstraint(condition=Q(period_end__gte=models.F("period_start")),
                                   name="supervision_project_period_order"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("supervision:project-detail", args=[self.pk])

    @property
    def is_editable(self) -> bool:
        return self.state in (ProjectState.DRAFT, ProjectState.RETURNED)


class ProjectResource(models.Model):
    """One information resource the project will produce; optionally linked to its catalog entry."""

    project = models.ForeignKey(InformatizationProject, on_delete=models.CASCADE, related_name="resources")
    position = models.PositiveSmallIntegerField(_("序号"))
    name = models.CharField(_("信息资源名称"), max_length=200)
    # By label: the catalog is a lower floor; the entry must be the filing department's own.
    entry = models.ForeignKey("catalog.CatalogEntry", verbose_name=_("对应目录"), null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["project", "position"]
        verbose_name = _("拟产生的信息资源")
        verbose_name_plural = _("拟产生的信息资源")
        constraints = [
            models.UniqueConstraint(fields=["project", "position"], name="supervision_resource_position"),
        ]

    def __str__(self) -> str:
        return self.name
