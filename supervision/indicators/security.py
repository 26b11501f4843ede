"""安全管理 indicator: security incidents of the year (R31 register) — deductions, and the veto (一票否决)."""

from __future__ import annotations

from decimal import Decimal

from django.db import connection
from django.utils.translation import gettext_lazy as _

from security.choices import IncidentSeverity
from security.models import SecurityIncident

from ..choices import IndicatorBlock
from .base import DEDUCTION, Figure, Period, register, rows_to_figures

# Points deducted per incident involving the department, by grade; the grades in VETO grade it 不合格.
DEDUCTIONS = {IncidentSeverity.ORDINARY: Decimal(2), IncidentSeverity.LARGER: Decimal(5)}
VETO = (IncidentSeverity.MAJOR, IncidentSeverity.EXTRAORDINARY)


@register(key="security_incidents", name=_("安全事件"), block=IndicatorBlock.SECURITY, weight=10,
          evidence_type="security.securityincident", kind=DEDUCTION,
          rule=_("年度内涉及本部门的安全事件：一般（Ⅳ级）每起扣 2 分，较大（Ⅲ级）每起扣 5 分，扣完为止；"
                 "重大（Ⅱ级）及以上一票否决（评为不合格）"))
def security_incidents(period: Period, department_ids: list[int]) -> dict[int, Figure]:
    """Incidents that occurred in the period and involve the department (the register's 涉及部门)."""
    through = SecurityIncident.departments.through
    cases = " ".join(f"WHEN '{grade}' THEN {points}" for grade, points in DEDUCTIONS.items())
    sql = f"""
        SELECT t.department_id, array_agg(i.id), array_agg(i.id),
               sum(CASE i.severity {cases} ELSE 0 END), bool_or(i.severity = ANY(%(veto)s))
          FROM {SecurityIncident._meta.db_table} i JOIN {through._meta.db_table} t ON t.securityincident_id = i.id
         WHERE t.department_id = ANY(%(deps)s) AND i.occurred_at >= %(start)s AND i.occurred_at < %(end)s
         GROUP BY t.department_id
    """  # noqa: S608
    with connection.cursor() as cur:
        cur.execute(sql, {**period.params(department_ids), "veto": [str(v) for v in VETO]})
        return rows_to_figures(cur.fetchall(), deduction=True)
