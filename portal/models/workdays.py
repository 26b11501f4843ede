"""The working-day calendar (R0): the admin-maintained table is the truth; chinese-calendar only seeds it."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from portal.choices import CalendarSource, DayKind


class CalendarYear(models.Model):
    """A year whose official holiday schedule (国务院办公厅通知) has been entered and confirmed.

    A year without a row is *unconfirmed*: deadlines reaching into it count weekends only and are
    marked provisional until the year is confirmed (SPEC R0.2).
    """

    year = models.PositiveSmallIntegerField(_("年度"), unique=True)
    basis = models.CharField(_("依据文件"), max_length=200, blank=True)
    source = models.CharField(_("来源"), max_length=20, choices=CalendarSource.choices)
    confirmed_at = models.DateTimeField(_("确认时间"), auto_now_add=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("确认人"), null=True, blank=True, on_delete=models.SET_NULL
    )

    class Meta:
        verbose_name = _("工作日历年度")
        verbose_name_plural = _("工作日历年度")
        ordering = ["year"]

    def __str__(self) -> str:
        return str(self.year)


class CalendarDay(models.Model):
    """An exception to Mon–Fri: a statutory holiday (放假) or an adjusted working weekend (调休上班)."""

    date = models.DateField(_("日期"), unique=True)
    kind = models.CharField(_("类型"), max_length=10, choices=DayKind.choices)
    name = models.CharField(_("节日名称"), max_length=50, blank=True)
    basis = models.CharField(_("依据文件"), max_length=200, blank=True)
    source = models.CharField(_("来源"), max_length=20, choices=CalendarSource.choices)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("节假日与调休")
        verbose_name_plural = _("节假日与调休")
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date} {self.get_kind_display()} {self.name}"

    @property
    def is_workday(self) -> bool:
        return self.kind == DayKind.WORKDAY
