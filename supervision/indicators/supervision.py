"""Indicators over the supervision registers themselves: rectification orders completed on time (R36) and completed
informatization projects whose information resources entered the catalog (the policy note, RP.2)."""

from __future__ import annotations

from django.db import connection
from django.utils.translation import gettext_lazy as _

from portal.choices import Clock

from ..choices import IndicatorBlock, ProjectState
from ..models import InformatizationProject
from .base import Figure, Period, register, rows_to_figures
from .sharing import on_time


@register(key="rectification_on_time", name=_("整改按期完成率"), block=IndicatorBlock.SECURITY, weight=5,
          evidence_type="portal.deadline",
          rule=_("年度内到期的责令整改时限中按期验收的 ÷ 全部（超期未办结计为超期）"))
def rectification_on_time(period: Period, department_ids: list[int]) -> dict[int, Figure]:
    return on_time(Clock.RECTIFICATION, period, department_ids)


@register(key="project_catalog", name=_("信息化项目资源编目率"), block=IndicatorBlock.COLLECTION, weight=5,
          evidence_type="supervision.informatizationproject",
          rule=_("年度内建成的信息化项目中信息资源已全部编入目录的 ÷ 全部建成项目"))
def project_catalog(period: Period, department_ids: list[int]) -> dict[int, Figure]:
    """A project counts when completed in the period; against the department while its flag (the daily catalog
    check, supervision.services.projects.project_catalog_check) names resources missing from the catalog."""
    sql = f"""
        SELECT p.department_id, array_agg(p.id),
               array_agg(p.id) FILTER (WHERE jsonb_array_length(p.missing_resources) > 0)
          FROM {InformatizationProject._meta.db_table} p
         WHERE p.state = %(completed)s AND p.department_id = ANY(%(deps)s)
           AND p.completed_on >= %(first_day)s AND p.completed_on <= %(as_of)s
         GROUP BY p.department_id
    """  # noqa: S608 — the table name is the model's
    with connection.cursor() as cur:
        cur.execute(sql, {**period.params(department_ids), "completed": ProjectState.COMPLETED})
        return rows_to_figures(cur.fetchall())
