"""数据共享 / 数据应用 indicators over the kernel's clocks: sharing requests answered on time, verification cases
closed on time. A case's clock (portal.models.Deadline) already knows whether it closed late — against its due date
as extended by an approved extension (portal/services/deadlines.py: deadline_extend moves due_on, deadline_close
compares with it) — so the rule is the clock's, not re-derived here."""

from __future__ import annotations

from django.db import connection
from django.utils.translation import gettext_lazy as _

from portal.choices import Clock, DeadlineState
from portal.models import Deadline

from ..choices import IndicatorBlock
from .base import Figure, Period, register, rows_to_figures


def on_time(clock: str, period: Period, department_ids: list[int]) -> dict[int, Figure]:
    """Clocks of `clock` falling due in the period (up to `as_of`): counted when closed or already past due;
    against the department when closed late or still open past due."""
    sql = f"""
        SELECT d.department_id, array_agg(d.id),
               array_agg(d.id) FILTER (WHERE d.closed_late OR d.state <> %(closed)s)
          FROM {Deadline._meta.db_table} d
         WHERE d.clock = %(clock)s AND d.department_id = ANY(%(deps)s)
           AND d.due_on >= %(first_day)s AND d.due_on <= %(as_of)s
           AND (d.state = %(closed)s OR d.due_on < %(as_of)s)
         GROUP BY d.department_id
    """  # noqa: S608
    with connection.cursor() as cur:
        cur.execute(sql, {**period.params(department_ids), "clock": clock, "closed": DeadlineState.CLOSED})
        return rows_to_figures(cur.fetchall())


@register(key="sharing_on_time", name=_("共享申请按时答复率"), block=IndicatorBlock.SHARING, weight=15,
          evidence_type="portal.deadline",
          rule=_("年度内到期的共享申请审核时限中按时办结的 ÷ 全部（超期未办结计为超期）"))
def sharing_on_time(period: Period, department_ids: list[int]) -> dict[int, Figure]:
    return on_time(Clock.SHARING_REVIEW, period, department_ids)


@register(key="verification_on_time", name=_("数据校核按时办结率"), block=IndicatorBlock.APPLICATION, weight=15,
          evidence_type="portal.deadline",
          rule=_("年度内到期的数据校核时限中按时办结的（含经批准延期） ÷ 全部（超期未办结计为超期）"))
def verification_on_time(period: Period, department_ids: list[int]) -> dict[int, Figure]:
    return on_time(Clock.VERIFICATION, period, department_ids)
