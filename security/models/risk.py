"""Risk assessments (风险评估, R32): each department on a cycle; the due date runs as a kernel deadline
(Clock.RISK_ASSESSMENT) whose sweep reminds the department and marks it overdue."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from portal.choices import Role
from portal.querysets import RestrictedQuerySet

from ..choices import RiskAssessmentState, RiskCycle, RiskLevel


class RiskAssessmentQuerySet(RestrictedQuerySet):
    """The security administrator keeps the register, the bureau's reviewers read it."""

    def restrict_view(self, user):
        return self.all() if user.has_role(Role.SECURITY_ADMIN, Role.BUREAU_REVIEWER) else self.none()


class RiskAssessment(models.Model):
    department = models.ForeignKey("portal.Department", on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("部门"))
    cycle = models.CharField(_("评估周期"), max_length=2, choices=RiskCycle.choices)
    due_date = models.DateField(_("应完成日期"))
    state = models.CharField(_("状态"), max_length=10, choices=RiskAssessmentState.choices,
                             default=RiskAssessmentState.SCHEDULED)
    scheduled_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    level = models.CharField(_("风险等级"), max_length=10, choices=RiskLevel.choices, blank=True)
    findings = models.TextField(_("评估结论与整改建议"), blank=True)
    completed_on = models.DateField(_("完成日期"), null=True, blank=True)
    completed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="+")
    previous = models.OneToOneField("self", on_delete=models.PROTECT, null=True, blank=True, related_name="next")

    objects = RiskAssessmentQuerySet.as_manager()

    class Meta:
        ordering = ["due_date", "id"]
        verbose_name = _("风险评估")
        verbose_name_plural = _("风险评估")
        constraints = [
            models.UniqueConstraint(fields=["department"], condition=Q(state="scheduled"),
                                    name="security_one_scheduled_risk_assessment"),
        ]

    def __str__(self) -> str:
        return f"{self.department} {self.due_date:%Y-%m-%d}"

    def get_absolute_url(self) -> str:
        return reverse("security:risk-detail", args=[self.pk])
