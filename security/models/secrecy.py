"""Secrecy review of resources (保密审查, R30): a resource flagged for review is shared only after a bureau
reviewer records a decision and its basis. The catalog asks through its share guard (catalog.hooks)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from portal.choices import Role
from portal.querysets import RestrictedQuerySet

from ..choices import SecrecyDecision, SecrecyState


class SecrecyReviewQuerySet(RestrictedQuerySet):
    """The register is the city's: the security administrator flags, the bureau's reviewers decide; both read."""

    def restrict_view(self, user):
        return self.all() if user.has_role(Role.SECURITY_ADMIN, Role.BUREAU_REVIEWER) else self.none()

    def restrict_decide(self, user):
        return self.all() if user.has_role(Role.BUREAU_REVIEWER) else self.none()


class SecrecyReview(models.Model):
    # By label: catalog and security do not import each other (docs/architecture.md). A draft may still be
    # deleted by its department (catalog_entry_delete): its reviews go with it, their audit events stay.
    entry = models.ForeignKey("catalog.CatalogEntry", on_delete=models.CASCADE, related_name="+",
                              verbose_name=_("资源"))
    reason = models.TextField(_("审查事由"))
    flagged_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    flagged_at = models.DateTimeField(_("提请时间"), auto_now_add=True)
    state = models.CharField(_("状态"), max_length=10, choices=SecrecyState.choices, default=SecrecyState.PENDING)
    decision = models.CharField(_("审查结论"), max_length=16, choices=SecrecyDecision.choices, blank=True)
    basis = models.TextField(_("审查依据"), blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+")
    decided_at = models.DateTimeField(_("审查时间"), null=True, blank=True)

    objects = SecrecyReviewQuerySet.as_manager()

    class Meta:
        ordering = ["-flagged_at", "-id"]
        verbose_name = _("保密审查")
        verbose_name_plural = _("保密审查")
        constraints = [
            models.UniqueConstraint(fields=["entry"], condition=Q(state="pending"),
                                    name="security_one_pending_secrecy_review"),
        ]

    def __str__(self) -> str:
        return str(self.entry)

    def get_absolute_url(self) -> str:
        return reverse("security:secrecy-detail", args=[self.pk])
