"""The violations register (违规登记, R35): one row per prohibited behaviour found — detected by the platform from its
evidence (a late clock, a late dataset, an unfiled demand, a broken audit trail) or filed by an assessor — with its
department, article, evidence links and state. A detected violation is filed once per cause: (category, cause) is
unique, so concurrent detection runs insert each at most once.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from portal.choices import Role
from portal.querysets import RestrictedQuerySet

from ..choices import ViolationCategory, ViolationSource, ViolationState


class ViolationQuerySet(RestrictedQuerySet):
    """view: the role scope over the department (assessor and reviewer the city, a county bureau its region, a
    department's staff and head their own); file / order / dismiss: the assessor (city-wide)."""

    def restrict_file(self, user):
        return self.for_roles(user, Role.ASSESSOR)

    restrict_order = restrict_file
    restrict_dismiss = restrict_file


class Violation(models.Model):
    category = models.CharField(_("违规行为"), max_length=5, choices=ViolationCategory.choices)
    department = models.ForeignKey("portal.Department", on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("部门"))
    title = models.CharField(_("事项"), max_length=300)
    # [{"type": "portal.deadline", "id": "12", "url": "/…", "text": "截止日期 …"}, …]
    evidence = models.JSONField(_("证据"), default=list, blank=True)
    cause = models.CharField(_("发现依据"), max_length=120, help_text=_("同一依据只登记一次"))
    source = models.CharField(_("来源"), max_length=10, choices=ViolationSource.choices)
    state = models.CharField(_("状态"), max_length=10, choices=ViolationState.choices, default=ViolationState.OPEN)
    found_on = models.DateField(_("发现日期"))
    filed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="+", verbose_name=_("登记人"))
    order = models.ForeignKey("supervision.RectificationOrder", on_delete=models.PROTECT, null=True, blank=True,
                              related_name="violations", verbose_name=_("整改通知"))
    dismissed_reason = models.TextField(_("撤销理由"), blank=True)
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)

    objects = ViolationQuerySet.as_manager()

    class Meta:
        ordering = ["-found_on", "-id"]
        verbose_name = _("违规行为")
        verbose_name_plural = _("违规行为")
        constraints = [
            models.UniqueConstraint(fields=["category", "cause"], name="supervision_violation_once_per_cause"),
            models.CheckConstraint(condition=~Q(state="ordered") | Q(order__isnull=False),
                                   name="supervision_violation_ordered_has_order"),
        ]
        indexes = [models.Index(fields=["department", "state"], name="supervision_violation_dept_idx")]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("supervision:violation-detail", args=[self.pk])

    @property
    def article(self) -> str:
        """第三十五条第（n）项."""
        return _("第三十五条第（%(n)s）项") % {"n": "一二三四五六七"[int(self.category.split(".")[1]) - 1]}
