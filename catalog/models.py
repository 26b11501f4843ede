"""Chapter 2 tables: classification tree, catalog entries and their data items, review trail and approved
versions, demand lists, responsibility lists and catalog update cases (R7–R10, R17.1)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from guardian.models import UserObjectPermissionBase

from .choices import (
    ON_PLATFORM_STATES,
    OPEN_UPDATE_STATES,
    ClassificationLevel,
    DataType,
    DemandState,
    EntryState,
    FormatClass,
    OpenType,
    ResourceClass,
    ReviewDecision,
    ReviewStage,
    Sensitivity,
    ShareType,
    UpdateCaseState,
    UpdateCycle,
    UpdateTrigger,
)
from .querysets import CatalogEntryQuerySet, DemandItemQuerySet, ResponsibilityItemQuerySet, UpdateCaseQuerySet

# The entry fields a department fills in (values dict keys); the rest is set by the services.
ENTRY_FIELDS = (
    "classification",
    "name",
    "summary",
    "format_class",
    "format_type",
    "share_type",
    "share_condition",
    "no_share_basis",
    "exchange_methods",
    "open_type",
    "open_condition",
    "update_cycle",
    "related_codes",
    "is_secret",
)
ITEM_FIELDS = ("name", "data_type", "length", "is_subject_key", "is_base_item", "description", "sensitivity",
               "derived_from")


class Classification(models.Model):
    """A node of the bureau-maintained 类/项/目/细目 tree; `code` is the whole 前段码 prefix down to it."""

    code = models.CharField(_("分类代码"), max_length=16, unique=True)
    name = models.CharField(_("分类名称"), max_length=100)
    level = models.PositiveSmallIntegerField(_("层级"), choices=ClassificationLevel.choices)
    parent = models.ForeignKey(
        "self", verbose_name=_("上级分类"), null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    resource_class = models.CharField(_("资源属性分类"), max_length=1, choices=ResourceClass.choices)
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("目录分类")
        verbose_name_plural = _("目录分类")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=Q(level__gte=1, level__lte=4), name="catalog_classification_level"),
            models.CheckConstraint(
                condition=Q(level=1, parent__isnull=True) | Q(level__gt=1, parent__isnull=False),
                name="catalog_classification_parent_by_level",
            ),
            models.CheckConstraint(
                condition=Q(code__regex=r"^[1-3][0-9]*$"), name="catalog_classification_code_digits"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class CodeSequence(models.Model):
    """The last 顺序码 handed out under one prefix (前段码/provider code). Never decremented: codes are not reused."""

    prefix = models.CharField(max_length=64, unique=True)
    last = models.PositiveIntegerField(default=0)

    class Meta:
        default_permissions = ()

    def __str__(self) -> str:
        return f"{self.prefix}:{self.last}"


class CatalogEntry(models.Model):
    """One 政务数据资源 of the catalog with the 2017 guide's core metadata; the working copy of its provider.

    Once approved, the row holds the published content; later changes arrive only through an update case.
    """

    code = models.CharField(
        _("信息资源代码"),
        max_length=64,
        unique=True,
        null=True,
        blank=True,
        help_text=_("前段码/后段码，由系统按分类、提供方代码和顺序号生成；首次审核通过后不可更改"),
    )
    classification = models.ForeignKey(
        Classification, verbose_name=_("信息资源分类"), on_delete=models.PROTECT, related_name="entries"
    )
    name = models.CharField(_("信息资源名称"), max_length=200)
    provider = models.ForeignKey(
        "portal.Department", verbose_name=_("信息资源提供方"), on_delete=models.PROTECT, related_name="catalog_entries"
    )
    provider_code = models.CharField(_("提供方代码"), max_length=18)
    summary = models.TextField(_("信息资源摘要"))
    format_class = models.CharField(_("格式分类"), max_length=10, choices=FormatClass.choices)
    format_type = models.CharField(_("格式类型"), max_length=100)
    share_type = models.CharField(_("共享类型"), max_length=1, choices=ShareType.choices)
    share_condition = models.TextField(_("共享条件"), blank=True)
    no_share_basis = models.TextField(_("不予共享依据"), blank=True)
    exchange_methods = ArrayField(models.CharField(max_length=20), verbose_name=_("共享方式"), default=list, blank=True)
    open_type = models.CharField(_("开放属性"), max_length=20, choices=OpenType.choices, default=OpenType.CLOSED)
    open_condition = models.TextField(_("开放条件"), blank=True)
    update_cycle = models.CharField(_("更新周期"), max_length=20, choices=UpdateCycle.choices)
    publish_date = models.DateField(_("发布日期"), null=True, blank=True)
    related_codes = ArrayField(
        models.CharField(max_length=64), verbose_name=_("关联资源代码"), default=list, blank=True
    )
    is_secret = models.BooleanField(_("涉密"), default=False)
    state = models.CharField(_("状态"), max_length=20, choices=EntryState.choices, default=EntryState.DRAFT)
    version = models.PositiveIntegerField(_("版本"), default=0, help_text=_("最近一次审核通过的版本号"))
    duplicate_note = models.TextField(
        _("重复采集说明"), blank=True, help_text=_("信息项与其他部门已提供的数据重复时，说明仍需自行采集的理由")
    )
    search_vector = SearchVectorField(null=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("创建人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    approved_at = models.DateTimeField(_("发布时间"), null=True, blank=True)

    objects = CatalogEntryQuerySet.as_manager()

    class Meta:
        verbose_name = _("目录条目")
        verbose_name_plural = _("目录条目")
        ordering = ["-id"]
        indexes = [
            GinIndex(fields=["search_vector"], name="catalog_entry_search_gin"),
            models.Index(fields=["state", "provider"], name="catalog_entry_state_prov_idx"),
            models.Index(fields=["provider", "state"], name="catalog_entry_prov_state_idx"),
        ]
        # Per-resource permissions inside the provider department (R28.2; catalog/resource_perms.py is the rule,
        # CatalogEntryUserObjectPermission holds who was assigned what).
        permissions = [
            ("load_data", _("归集数据（上传文件、接口推送、重新运行导入任务）")),
            ("answer_verification", _("答复数据校核（核实、更正、申请延期）")),
            ("comment_request", _("对共享申请提出提供部门意见")),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(share_type=ShareType.CONDITIONAL) | ~Q(share_condition=""),
                name="catalog_entry_conditional_needs_condition",
            ),
            models.CheckConstraint(
                condition=~Q(share_type=ShareType.NONE) | ~Q(no_share_basis=""),
                name="catalog_entry_not_shared_needs_basis",
            ),
            models.CheckConstraint(
                condition=~Q(open_type=OpenType.CONDITIONAL) | ~Q(open_condition=""),
                name="catalog_entry_conditional_open_needs_condition",
            ),
            # 涉密 resources are never put on the platform: not submitted, not reviewed, not published.
            models.CheckConstraint(
                condition=Q(is_secret=False) | ~Q(state__in=[s.value for s in ON_PLATFORM_STATES]),
                name="catalog_entry_secret_not_on_platform",
            ),
            models.CheckConstraint(
                condition=~Q(state=EntryState.APPROVED) | Q(code__isnull=False, version__gte=1),
                name="catalog_entry_published_has_code",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}" if self.code else self.name

    def get_absolute_url(self) -> str:
        return reverse("catalog:entry-detail", args=[self.pk])

    @property
    def resource_key(self) -> str:
        """The code in URL-safe form (the `{resource}` of SPEC §9.2)."""
        return self.code.replace("/", "-") if self.code else str(self.pk)

    @property
    def is_editable(self) -> bool:
        return self.state in (EntryState.DRAFT, EntryState.RETURNED)

    def get_exchange_methods_display(self) -> list[str]:
        from .choices import exchange_method_labels

        return exchange_method_labels(self.exchange_methods)


class CatalogEntryUserObjectPermission(UserObjectPermissionBase):
    """One per-resource permission of one person on one entry (django-guardian, direct foreign key: a join on an
    integer instead of the generic table's text object id). Assigned by the department head or the security
    administrator through services.resource_permissions; read through catalog.resource_perms only."""

    content_object = models.ForeignKey(
        CatalogEntry, verbose_name=_("目录条目"), on_delete=models.CASCADE, related_name="resource_permissions"
    )

    class Meta(UserObjectPermissionBase.Meta):
        verbose_name = _("资源权限")
        verbose_name_plural = _("资源权限")
        default_permissions = ()


class DataItem(models.Model):
    """信息项: one field of a structured resource; the aggregation chapter validates data against these."""

    entry = models.ForeignKey(CatalogEntry, verbose_name=_("目录条目"), on_delete=models.CASCADE, related_name="items")
    position = models.PositiveSmallIntegerField(_("序号"))
    name = models.CharField(_("信息项名称"), max_length=100)
    data_type = models.CharField(_("数据类型"), max_length=1, choices=DataType.choices)
    length = models.PositiveIntegerField(_("数据长度"), null=True, blank=True)
    is_subject_key = models.BooleanField(_("主体标识"), default=False, help_text=_("身份证号码或统一社会信用代码等"))
    is_base_item = models.BooleanField(_("基础数据项"), default=False)
    description = models.CharField(_("说明"), max_length=500, blank=True)
    # The declaration masking follows (aggregation.access.mask_kind), proposed from the names when the filer leaves
    # it blank (portal.personal_data.propose; catalog.services.entries.sync_items). "" = not declared yet.
    sensitivity = models.CharField(_("敏感程度"), max_length=10, choices=Sensitivity.choices, blank=True, default="")
    derived_from = models.CharField(
        _("派生自"), max_length=100, blank=True, default="",
        help_text=_("可由本条目另一信息项推出的信息项（如出生日期、性别可由公民身份号码推出）：该信息项脱敏时本项也脱敏"),
    )

    class Meta:
        verbose_name = _("信息项")
        verbose_name_plural = _("信息项")
        ordering = ["entry", "position"]
        indexes = [models.Index(fields=["name"], name="catalog_dataitem_name_idx")]
        constraints = [
            models.UniqueConstraint(fields=["entry", "name"], name="catalog_dataitem_unique_name"),
            models.UniqueConstraint(
                fields=["entry", "position"],
                name="catalog_dataitem_unique_position",
                deferrable=models.Deferrable.DEFERRED,
            ),
            models.UniqueConstraint(
                fields=["entry"], condition=Q(is_subject_key=True), name="catalog_dataitem_one_subject_key"
            ),
            models.CheckConstraint(condition=Q(length__isnull=True) | Q(length__gt=0), name="catalog_dataitem_length"),
        ]

    def __str__(self) -> str:
        return self.name


class CatalogReview(models.Model):
    """One step of an entry's filing and review: who, at which stage, what decision, with what comment."""

    entry = models.ForeignKey(
        CatalogEntry, verbose_name=_("目录条目"), on_delete=models.CASCADE, related_name="reviews"
    )
    stage = models.CharField(_("环节"), max_length=10, choices=ReviewStage.choices)
    decision = models.CharField(_("结论"), max_length=10, choices=ReviewDecision.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("办理人"), on_delete=models.PROTECT, related_name="+"
    )
    comment = models.TextField(_("意见"), blank=True)
    share_type_before = models.CharField(_("原共享类型"), max_length=1, choices=ShareType.choices, blank=True)
    share_type_after = models.CharField(_("审定共享类型"), max_length=1, choices=ShareType.choices, blank=True)
    created_at = models.DateTimeField(_("时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("审核记录")
        verbose_name_plural = _("审核记录")
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.entry_id} {self.get_stage_display()} {self.get_decision_display()}"


class CatalogEntryVersion(models.Model):
    """An approved version of an entry, frozen as JSON (values + items); never changed (a trigger refuses it)."""

    entry = models.ForeignKey(
        CatalogEntry, verbose_name=_("目录条目"), on_delete=models.PROTECT, related_name="versions"
    )
    number = models.PositiveIntegerField(_("版本号"))
    snapshot = models.JSONField(_("内容"))
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("审核人"), on_delete=models.PROTECT, related_name="+"
    )
    approved_at = models.DateTimeField(_("审核通过时间"), auto_now_add=True)
    update_case = models.ForeignKey(
        "CatalogUpdateCase",
        verbose_name=_("目录更新申请"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        verbose_name = _("目录版本")
        verbose_name_plural = _("目录版本")
        ordering = ["entry", "number"]
        constraints = [models.UniqueConstraint(fields=["entry", "number"], name="catalog_version_unique")]

    def __str__(self) -> str:
        return f"{self.entry} v{self.number}"


class DemandItem(models.Model):
    """One line of a department's 需求清单 (R8.1): data it needs from others, why, on what legal basis."""

    department = models.ForeignKey(
        "portal.Department", verbose_name=_("需求部门"), on_delete=models.PROTECT, related_name="catalog_demands"
    )
    needed_data = models.CharField(_("所需数据"), max_length=200)
    item_names = ArrayField(models.CharField(max_length=100), verbose_name=_("所需信息项"), default=list, blank=True)
    purpose = models.TextField(_("用途"))
    legal_basis = models.TextField(_("依据"))
    provider = models.ForeignKey(
        "portal.Department",
        verbose_name=_("提供部门"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="catalog_demands_addressed",
        help_text=_("不清楚由哪个部门提供时留空"),
    )
    state = models.CharField(_("状态"), max_length=20, choices=DemandState.choices, default=DemandState.DRAFT)
    matches = models.ManyToManyField(CatalogEntry, verbose_name=_("已有数据来源"), blank=True, related_name="demands")
    matched_at = models.DateTimeField(_("匹配时间"), null=True, blank=True)
    close_note = models.CharField(_("办结说明"), max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("填报人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    submitted_at = models.DateTimeField(_("提交时间"), null=True, blank=True)

    objects = DemandItemQuerySet.as_manager()

    class Meta:
        verbose_name = _("需求清单条目")
        verbose_name_plural = _("需求清单条目")
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=~Q(department=models.F("provider")), name="catalog_demand_not_own"),
        ]

    def __str__(self) -> str:
        return self.needed_data

    def get_absolute_url(self) -> str:
        return reverse("catalog:demand-detail", args=[self.pk])


class ResponsibilityItem(models.Model):
    """One line of a department's 采集责任清单 (R9.1), derived from an approved entry; retired, not deleted."""

    department = models.ForeignKey(
        "portal.Department",
        verbose_name=_("责任部门"),
        on_delete=models.PROTECT,
        related_name="catalog_responsibilities",
    )
    entry = models.ForeignKey(
        CatalogEntry, verbose_name=_("目录条目"), on_delete=models.PROTECT, related_name="responsibilities"
    )
    item_name = models.CharField(_("信息项"), max_length=100, blank=True, help_text=_("为空表示整个资源（非结构化）"))
    data_type = models.CharField(_("数据类型"), max_length=1, choices=DataType.choices, blank=True)
    is_base_item = models.BooleanField(_("基础数据项"), default=False)
    update_cycle = models.CharField(_("更新周期"), max_length=20, choices=UpdateCycle.choices)
    since = models.DateField(_("起始日期"))
    entry_version = models.PositiveIntegerField(_("依据版本"))
    retired_on = models.DateField(_("停止日期"), null=True, blank=True)

    objects = ResponsibilityItemQuerySet.as_manager()

    class Meta:
        verbose_name = _("责任清单条目")
        verbose_name_plural = _("责任清单条目")
        ordering = ["department", "entry", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["entry", "item_name"], condition=Q(retired_on__isnull=True), name="catalog_resp_one_current"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.entry} · {self.item_name or '-'}"


class CatalogUpdateCase(models.Model):
    """目录更新申请 (R10): trigger → application within 10 WD → bureau review within 5 WD → entry updated."""

    entry = models.ForeignKey(
        CatalogEntry, verbose_name=_("目录条目"), on_delete=models.PROTECT, related_name="update_cases"
    )
    department = models.ForeignKey(
        "portal.Department", verbose_name=_("申请部门"), on_delete=models.PROTECT, related_name="catalog_update_cases"
    )
    trigger_kind = models.CharField(_("更新原因"), max_length=20, choices=UpdateTrigger.choices)
    trigger_date = models.DateField(_("发生日期"), help_text=_("法律法规修改或职能变化之日，申请时限自此起算"))
    trigger_document = models.CharField(_("依据文件"), max_length=200)
    trigger_description = models.TextField(_("变化说明"), blank=True)
    proposed = models.JSONField(_("更新内容"), default=dict)
    state = models.CharField(_("状态"), max_length=20, choices=UpdateCaseState.choices, default=UpdateCaseState.DRAFT)
    submitted_on = models.DateField(_("市局收到日期"), null=True, blank=True)
    decided_at = models.DateTimeField(_("审核时间"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("审核人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    comment = models.TextField(_("审核意见"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("登记人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = UpdateCaseQuerySet.as_manager()

    class Meta:
        verbose_name = _("目录更新申请")
        verbose_name_plural = _("目录更新申请")
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["entry"],
                condition=Q(state__in=[s.value for s in OPEN_UPDATE_STATES]),
                name="catalog_update_one_open_case",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.entry.name} · {self.get_trigger_kind_display()}"

    def get_absolute_url(self) -> str:
        return reverse("catalog:update-case-detail", args=[self.pk])
