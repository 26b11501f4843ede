"""The audit trail (R29): append-only events, chained in batches by the sealer (see portal/audit.py)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.fields.json import KeyTransform
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.choices import AuditResult


class AuditEvent(models.Model):
    """Who (actor, role, department) did what (action) to which object, with what result, when, from where.

    Rows are never updated or deleted (database triggers refuse it). Chaining happens afterwards, in
    AuditChainLink, so writing an event never waits on a chain-head lock.
    """

    occurred_at = models.DateTimeField(_("时间"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,  # portal_audit_actor_idx (actor, occurred_at) serves every lookup by actor
    )
    actor_label = models.CharField(_("操作主体"), max_length=150)
    role = models.CharField(_("角色"), max_length=200, blank=True)
    department = models.ForeignKey(
        "portal.Department", verbose_name=_("部门"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    action = models.CharField(_("事件类型"), max_length=100, db_index=True)
    object_type = models.CharField(_("对象类型"), max_length=100, blank=True)
    object_id = models.CharField(_("对象编号"), max_length=64, blank=True)
    object_repr = models.CharField(_("对象"), max_length=300, blank=True)
    data = models.JSONField(_("详情"), default=dict, blank=True)
    ip = models.GenericIPAddressField(_("IP地址"), null=True, blank=True)
    request_id = models.CharField(_("请求编号"), max_length=64, blank=True)
    result = models.CharField(_("结果"), max_length=10, choices=AuditResult.choices, default=AuditResult.SUCCESS)

    class Meta:
        verbose_name = _("审计事件")
        verbose_name_plural = _("审计事件")
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["object_type", "object_id"], name="portal_audit_object_idx"),
            models.Index(fields=["actor", "occurred_at"], name="portal_audit_actor_idx"),
            # The audit administrator's search (security.selectors.audit) over millions of rows: by who (a person's
            # username or an API client's "client:…" label), by source address (= and <<= CIDR use a btree on
            # inet), by grant (data reads, approvals and pushes name it in `data`).
            models.Index(fields=["actor_label"], name="portal_audit_label_idx"),
            models.Index(fields=["ip"], name="portal_audit_ip_idx", condition=Q(ip__isnull=False)),
            models.Index(KeyTransform("grant", "data"), name="portal_audit_grant_idx",
                         condition=Q(data__has_key="grant")),
        ]
        default_permissions = ("view",)

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M:%S} {self.actor_label} {self.action}"


class AuditSeal(models.Model):
    """One sealer run: a contiguous range of chain positions and the chain head after it, signed.

    `signature` is Ed25519 (base64url, no padding) by the key AUDIT_SEAL_KEY (never in the database) over
    `portal.audit.seal_statement`; `kid` names the key (`portal.keys.kid_of`).
    """

    first_seq = models.BigIntegerField()
    last_seq = models.BigIntegerField()
    count = models.PositiveIntegerField()
    head_hash = models.CharField(max_length=64)
    sealed_at = models.DateTimeField(default=timezone.now)
    kid = models.CharField(max_length=16, blank=True)
    signature = models.CharField(max_length=100, blank=True)

    class Meta:
        verbose_name = _("审计封存批次")
        verbose_name_plural = _("审计封存批次")
        ordering = ["-last_seq"]
        default_permissions = ("view",)

    def __str__(self) -> str:
        return f"{self.first_seq}–{self.last_seq}"


class AuditChainLink(models.Model):
    """Position `seq` of the hash chain: hash = SHA-256(prev_hash + canonical JSON of the event)."""

    seq = models.BigIntegerField(primary_key=True)
    event = models.OneToOneField(AuditEvent, on_delete=models.PROTECT, related_name="link")
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)
    seal = models.ForeignKey(AuditSeal, on_delete=models.PROTECT, related_name="links")

    class Meta:
        ordering = ["seq"]
        default_permissions = ("view",)

    def __str__(self) -> str:
        return f"#{self.seq}"


class AuditPurge(models.Model):
    """A retention purge (`manage.py audit_purge`): positions first_seq..last_seq and their events and seals were
    archived as day bundles and deleted. The trail legitimately starts after `last_seq`: `portal.audit_verify` starts
    from `head_hash` (the chain's hash at last_seq) and `last_occurred_at`, once the signature (the seal key, over
    `portal.audit.purge_statement`) holds. Append-only like the trail.
    """

    first_seq = models.BigIntegerField()
    last_seq = models.BigIntegerField()
    count = models.PositiveBigIntegerField()
    head_hash = models.CharField(max_length=64)
    last_occurred_at = models.DateTimeField()
    before = models.DateField()  # the cut-off: every purged seal was made before this day (local time)
    purged_at = models.DateTimeField(default=timezone.now)
    bundles = models.JSONField(default=list)  # [{"file", "sha256", "date"}] of the archive written first
    kid = models.CharField(max_length=16)
    signature = models.CharField(max_length=100)

    class Meta:
        verbose_name = _("审计日志清理记录")
        verbose_name_plural = _("审计日志清理记录")
        ordering = ["-last_seq"]
        default_permissions = ("view",)

    def __str__(self) -> str:
        return f"{self.first_seq}–{self.last_seq}"


class AuditPending(models.Model):
    """Events not yet chained; filled by an AFTER INSERT trigger, drained by the sealer.

    Commit order is not id order: a transaction can commit an event with a lower id after the sealer
    chained higher ones. The queue makes that harmless — whatever is committed gets chained next run.
    """

    event = models.OneToOneField(AuditEvent, on_delete=models.CASCADE, primary_key=True, related_name="+")

    class Meta:
        default_permissions = ()

    def __str__(self) -> str:
        return str(self.event_id)


class AuditVerification(models.Model):
    """One run of the trail's verification (portal.audit_verify): which chain positions it covered and what it found.

    An incremental run starts after the last run that found the trail intact (its `last_seq` and `head_hash`), so a
    run's record is what the next one trusts; a nightly full run starts from position 1 and trusts nothing.
    """

    class Via(models.TextChoices):
        BEAT = "beat", _("定时任务")
        COMMAND = "command", _("命令行")
        PAGE = "page", _("审计管理员")

    started_at = models.DateTimeField(_("开始时间"), default=timezone.now)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    full = models.BooleanField(_("全量校验"), default=False)
    via = models.CharField(_("发起方式"), max_length=10, choices=Via.choices)
    first_seq = models.BigIntegerField(_("起始位置"), null=True, blank=True)
    last_seq = models.BigIntegerField(_("截止位置"), null=True, blank=True)
    head_hash = models.CharField(max_length=64, blank=True)  # the chain's hash at last_seq, as verified
    checked = models.PositiveBigIntegerField(_("校验条数"), default=0)
    ok = models.BooleanField(_("完好"), default=False)
    break_seq = models.BigIntegerField(_("首个异常位置"), null=True, blank=True)
    break_kind = models.CharField(_("异常类型"), max_length=20, blank=True)
    break_detail = models.CharField(_("异常说明"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("审计日志校验")
        verbose_name_plural = _("审计日志校验")
        ordering = ["-started_at", "-pk"]
        default_permissions = ("view",)

    def __str__(self) -> str:
        return f"{self.first_seq}–{self.last_seq} {'ok' if self.ok else self.break_kind}"
