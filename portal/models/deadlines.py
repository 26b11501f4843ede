"""Deadlines (时限): one row per running clock of a case, opened and closed through the deadline service."""

from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from portal.choices import Clock, DeadlineState, Role
from portal.querysets import RestrictedQuerySet

from .org import Department


class DeadlineQuerySet(RestrictedQuerySet):
    """`.restrict(user, "view")`: deadlines within the user's role scope (department / region / city)."""

    def running(self):
        return self.filter(state__in=[DeadlineState.OPEN, DeadlineState.OVERDUE])

    def for_case(self, obj):
        return self.filter(case_type=ContentType.objects.get_for_model(obj), case_id=str(obj.pk))

    def assigned_to(self, user):
        """The clocks the user is expected to act on: own department, and a role they hold (or any role)."""
        if not user.is_authenticated or not user.department_id:
            return self.none()
        return self.filter(department_id=user.department_id).filter(
            Q(responsible_role="") | Q(responsible_role__in=list(user.role_set))
        )


class Deadline(models.Model):
    """A clock of a case: started on a date, due after N working days, possibly extended, then closed."""

    case_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, verbose_name=_("案件类型"))
    case_id = models.CharField(_("案件编号"), max_length=64)
    case = GenericForeignKey("case_type", "case_id")
    clock = models.CharField(_("时限类型"), max_length=40, choices=Clock.choices)
    title = models.CharField(_("事项"), max_length=200)
    department = models.ForeignKey(
        Department, verbose_name=_("责任部门"), on_delete=models.PROTECT, related_name="deadlines"
    )
    responsible_role = models.CharField(_("责任角色"), max_length=30, choices=Role.choices, blank=True)
    started_on = models.DateField(_("起算日期"))
    working_days = models.PositiveSmallIntegerField(_("时限(工作日)"))
    due_on = models.DateField(_("截止日期"))
    provisional = models.BooleanField(
        _("暂定"), default=False, help_text=_("截止日期跨入尚未确认节假日安排的年度，按周末计算，确认后重算")
    )
    extended_days = models.PositiveSmallIntegerField(_("延长(工作日)"), default=0)
    extension_reason = models.CharField(_("延期理由"), max_length=500, blank=True)
    state = models.CharField(_("状态"), max_length=10, choices=DeadlineState.choices, default=DeadlineState.OPEN)
    reminded_at = models.DateTimeField(_("提醒时间"), null=True, blank=True)
    overdue_at = models.DateTimeField(_("标记超期时间"), null=True, blank=True)
    closed_on = models.DateField(_("办结日期"), null=True, blank=True)
    closed_late = models.BooleanField(_("超期办结"), default=False)
    url = models.CharField(_("案件链接"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    objects = DeadlineQuerySet.as_manager()

    class Meta:
        verbose_name = _("时限")
        verbose_name_plural = _("时限")
        ordering = ["due_on", "id"]
        constraints = [
            # A case runs each kind of clock at most once at a time.
            models.UniqueConstraint(
                fields=["case_type", "case_id", "clock"],
                condition=~Q(state="closed"),
                name="portal_deadline_one_running_clock",
            ),
            models.CheckConstraint(
                condition=Q(state="closed", closed_on__isnull=False) | (~Q(state="closed") & Q(closed_on__isnull=True)),
                name="portal_deadline_closed_has_date",
            ),
        ]
        indexes = [
            models.Index(fields=["state", "due_on"], name="portal_deadline_sweep_idx"),
            models.Index(fields=["department", "state"], name="portal_deadline_dept_idx"),
            models.Index(fields=["case_type", "case_id"], name="portal_deadline_case_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_clock_display()}: {self.title}"

    @property
    def is_running(self) -> bool:
        return self.state != DeadlineState.CLOSED
