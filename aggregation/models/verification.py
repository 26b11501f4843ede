"""数据校核 (R14): verification cases a consuming department files against one record, and their evidence."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from catalog.resource_perms import ANSWER_VERIFICATION, resource_q
from portal.querysets import RestrictedQuerySet

from ..choices import ExtensionState, VerificationState


class VerificationCaseQuerySet(RestrictedQuerySet):
    """view: the requester's and the provider's scope (department / region / city).

    A consuming department sees the cases it filed, a provider those filed against it, a county bureau
    its region's, the bureau every case (it supervises the mechanism, R14.1).
    """

    scope_paths = ("provider", "requester")

    def restrict_answer(self, user):
        """The provider's people holding answer_verification on the case's resource (catalog.resource_perms)."""
        return self.of_own_department(user, "provider").filter(
            resource_q(user, ANSWER_VERIFICATION, "dataset__entry"))

    def open(self):
        return self.filter(state=VerificationState.OPEN)


class VerificationCase(models.Model):
    """数据校核 (R14): a consuming department disputes fields of one record; the provider answers in 10 WD."""

    # Records live in a partitioned table whose primary key includes dataset_id: no database-level foreign key
    # can point at them (records are never deleted, only marked, so the reference cannot dangle).
    record = models.ForeignKey(
        "aggregation.Record", verbose_name=_("记录"), on_delete=models.DO_NOTHING, db_constraint=False,
        related_name="verification_cases",
    )
    dataset = models.ForeignKey(
        "aggregation.Dataset", verbose_name=_("数据资源"), on_delete=models.PROTECT, related_name="verification_cases"
    )
    provider = models.ForeignKey(
        "portal.Department", verbose_name=_("提供部门"), on_delete=models.PROTECT, related_name="verification_received"
    )
    requester = models.ForeignKey(
        "portal.Department", verbose_name=_("使用部门"), on_delete=models.PROTECT, related_name="verification_filed"
    )
    key_hash = models.BinaryField(_("主体标识索引"), editable=False)
    fields = ArrayField(models.CharField(max_length=100), verbose_name=_("有疑义的信息项"))
    description = models.TextField(_("疑义或错误说明"))
    state = models.CharField(
        _("状态"), max_length=20, choices=VerificationState.choices, default=VerificationState.OPEN
    )
    received_on = models.DateField(_("提供部门收到日期"), help_text=_("校核时限自此起算（R14.2）"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("申请人"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("申请时间"), auto_now_add=True)
    # R14.3: one extension, of at most 10 working days, approved by the provider's head.
    extension_state = models.CharField(
        _("延期"), max_length=20, choices=ExtensionState.choices, default=ExtensionState.NONE, blank=True
    )
    extension_days = models.PositiveSmallIntegerField(_("申请延长(工作日)"), null=True, blank=True)
    extension_reason = models.TextField(_("延期理由"), blank=True)
    extension_requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("延期申请人"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )
    extension_decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("审批负责人"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )
    extension_decided_at = models.DateTimeField(_("审批时间"), null=True, blank=True)
    extension_comment = models.TextField(_("审批意见"), blank=True)
    answer = models.TextField(_("校核结论说明"), blank=True)
    corrected_items = ArrayField(
        models.CharField(max_length=100), verbose_name=_("已更正的信息项"), default=list, blank=True
    )
    correction = models.ForeignKey(
        "aggregation.RecordHistory", verbose_name=_("更正记录"), null=True, blank=True,
        on_delete=models.DO_NOTHING, db_constraint=False, related_name="+",
    )
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("办理人"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )
    answered_at = models.DateTimeField(_("办结时间"), null=True, blank=True)

    objects = VerificationCaseQuerySet.as_manager()

    class Meta:
        verbose_name = _("数据校核")
        verbose_name_plural = _("数据校核")
        ordering = ["-id"]
        constraints = [
            # One open case per record: the "核校中" flag and open_case_for() have one answer; a second
            # department adds its point to the running case instead of opening a parallel clock.
            models.UniqueConstraint(
                fields=["record"], condition=Q(state="open"), name="aggregation_verification_one_open"
            ),
            models.CheckConstraint(
                condition=~Q(requester=models.F("provider")), name="aggregation_verification_not_own"
            ),
            models.CheckConstraint(
                condition=Q(extension_days__isnull=True) | Q(extension_days__gte=1, extension_days__lte=10),
                name="aggregation_verification_extension_max10",
            ),
            models.CheckConstraint(
                condition=Q(state="open") | Q(answered_at__isnull=False), name="aggregation_verification_answered"
            ),
        ]
        indexes = [
            models.Index(fields=["provider", "state"], name="agg_verif_provider_idx"),
            models.Index(fields=["requester", "state"], name="agg_verif_requester_idx"),
            models.Index(fields=["dataset", "state"], name="agg_verif_dataset_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_state_display()}"

    def get_absolute_url(self) -> str:
        return reverse("aggregation:verification-detail", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.state == VerificationState.OPEN


def evidence_path(instance, filename: str) -> str:
    # The stored name is ours (uuid), never the uploader's: no path tricks, no personal data in file names.
    import uuid
    from pathlib import PurePath

    suffix = PurePath(filename).suffix.lower()[:10]
    return f"verification/{instance.case_id}/{uuid.uuid4().hex}{suffix}"


class VerificationEvidence(models.Model):
    """An evidence file of a verification case (R14.1): pdf / jpg / png / docx / xlsx, at most 10 MB."""

    case = models.ForeignKey(
        VerificationCase, verbose_name=_("数据校核"), on_delete=models.CASCADE, related_name="evidence"
    )
    file = models.FileField(_("文件"), upload_to=evidence_path, max_length=200)
    original_name = models.CharField(_("文件名"), max_length=200)
    size = models.PositiveIntegerField(_("大小(字节)"))
    content_type = models.CharField(_("类型"), max_length=100)
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("上传人"), on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("上传时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("证明材料")
        verbose_name_plural = _("证明材料")
        ordering = ["case", "id"]

    def __str__(self) -> str:
        return self.original_name
