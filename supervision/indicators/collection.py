"""数据归集 indicators: catalog completeness, catalog returned rate, data update timeliness, data quality."""

from __future__ import annotations

from django.db import connection
from django.utils.translation import gettext_lazy as _

from aggregation.models import Dataset, IngestJob, QualityReport
from catalog.choices import EntryState, ReviewDecision, ReviewStage
from catalog.models import CatalogEntry, CatalogReview, ResponsibilityItem
from catalog.timeliness import LATE_SQL, allowance_values_sql
from portal.models import AuditEvent

from ..choices import IndicatorBlock
from .base import Figure, Period, register, rows_to_figures

# A dataset's latest quality report of the year passes when both figures reach this share (0–1).
QUALITY_PASS = 0.9


def _fetch(sql: str, params: dict):
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


@register(key="catalog_completeness", name=_("目录编制完整率"), block=IndicatorBlock.COLLECTION, weight=15,
          evidence_type="catalog.catalogentry",
          rule=_("已发布且列入采集责任清单的目录 ÷ 部门年底前编制的全部非涉密目录"))
def catalog_completeness(period: Period, department_ids: list[int]) -> dict[int, Figure]:
    """Every non-secret entry a department created before the period's end counts; it is complete when approved
    (已发布) and carried on the responsibility list on `as_of` (a current line); drafts, returned entries and
    entries still in review count against it."""
    sql = f"""
        SELECT e.provider_id, array_agg(e.id),
               array_agg(e.id) FILTER (WHERE NOT (e.state = %(approved)s AND EXISTS (
                   SELECT 1 FROM {ResponsibilityItem._meta.db_table} r
                    WHERE r.entry_id = e.id AND r.since <= %(as_of)s
                      AND (r.retired_on IS NULL OR r.retired_on > %(as_of)s))))
          FROM {CatalogEntry._meta.db_table} e
         WHERE e.provider_id = ANY(%(deps)s) AND NOT e.is_secret AND e.created_at < %(end)s
         GROUP BY e.provider_id
    """  # noqa: S608 — table names are the models'
    return rows_to_figures(_fetch(sql, {**period.params(department_ids), "approved": EntryState.APPROVED}))


@register(key="catalog_accuracy", name=_("目录编制准确率（退回率）"), block=IndicatorBlock.COLLECTION, weight=10,
          evidence_type="catalog.catalogreview", rule=_("1 − 年度内被退回的审核 ÷ 年度内县级初审与市局审核的全部结论"))
def catalog_accuracy(period: Period, department_ids: list[int]) -> dict[int, Figure]:
    """The review trail of the year: every county pre-review and bureau review decision on the department's entries
    (passed, approved, returned) counts; each 退回 counts against it. The head's own sign-off is not reviewed here."""
    sql = f"""
        SELECT e.provider_id, array_agg(r.id), array_agg(r.id) FILTER (WHERE r.decision = %(returned)s)
          FROM {CatalogReview._meta.db_table} r JOIN {CatalogEntry._meta.db_table} e ON e.id = r.entry_id
         WHERE e.provider_id = ANY(%(deps)s) AND r.stage = ANY(%(stages)s) AND r.decision = ANY(%(decisions)s)
           AND r.created_at >= %(start)s AND r.created_at < %(end)s
         GROUP BY e.provider_id
    """  # noqa: S608
    params = {**period.params(department_ids), "returned": ReviewDecision.RETURNED,
              "stages": [ReviewStage.COUNTY, ReviewStage.BUREAU],
              "decisions": [ReviewDecision.PASSED, ReviewDecision.APPROVED, ReviewDecision.RETURNED]}
    return rows_to_figures(_fetch(sql, params))


@register(key="data_timeliness", name=_("数据更新及时率"), block=IndicatorBlock.COLLECTION, weight=15,
          evidence_type="catalog.responsibilityitem",
          rule=_("截至年底按更新周期更新的责任清单条目 ÷ 当时有效的责任清单条目（规则同责任清单履职情况）"))
def data_timeliness(period: Period, department_ids: list[int]) -> dict[int, Figure]:
    """Each responsibility line current on `as_of` counts; it is late by the one rule (catalog/timeliness.py) with
    "last arrival" = the latest load of its entry's dataset up to the period's end: a successful import job's end or
    an API push (audit event aggregation.records.pushed) — both historical, so a later load does not change a past
    year's figure."""
    sql = f"""
        WITH lines AS (
            SELECT r.id, r.department_id, r.entry_id, cycles.allowance
              FROM {ResponsibilityItem._meta.db_table} r JOIN {allowance_values_sql()} ON cycles.cycle = r.update_cycle
             WHERE r.department_id = ANY(%(deps)s) AND r.since <= %(as_of)s
               AND (r.retired_on IS NULL OR r.retired_on > %(as_of)s)
        ), loads AS (
            SELECT d.entry_id, GREATEST(
                       (SELECT max(j.finished_at) FROM {IngestJob._meta.db_table} j
                         WHERE j.dataset_id = d.id AND j.status = 'succeeded' AND j.finished_at < %(end)s),
                       (SELECT max(a.occurred_at) FROM {AuditEvent._meta.db_table} a
                         WHERE a.object_type = 'aggregation.dataset' AND a.object_id = d.id::text
                           AND a.action = 'aggregation.records.pushed' AND a.occurred_at < %(end)s)) AS last_at
              FROM {Dataset._meta.db_table} d WHERE d.entry_id IN (SELECT entry_id FROM lines)
        )
        SELECT l.department_id, array_agg(l.id),
               array_agg(l.id) FILTER (WHERE {LATE_SQL.format(last="(lo.last_at AT TIME ZONE %(tz)s)::date",
                                                                 today="%(as_of)s::date", allowance="l.allowance")})
          FROM lines l LEFT JOIN loads lo ON lo.entry_id = l.entry_id
         GROUP BY l.department_id
    """  # noqa: S608
    return rows_to_figures(_fetch(sql, period.params(department_ids)))


@register(key="data_quality", name=_("数据质量达标率"), block=IndicatorBlock.COLLECTION, weight=10,
          evidence_type="aggregation.qualityreport",
          rule=_("年度内最后一份质量报告中平均完整率与主体标识有效率均不低于 90% 的数据资源 ÷ 有质量报告的数据资源"))
def data_quality(period: Period, department_ids: list[int]) -> dict[int, Figure]:
    """Each dataset with a quality report in the period counts by its latest report of the period (the nightly
    job's, aggregation/services/quality.py); it passes when its average completeness and — where its keys have a
    check — its validity reach QUALITY_PASS."""
    sql = f"""
        WITH latest AS (
            SELECT DISTINCT ON (q.dataset_id) q.id, q.department_id, q.completeness_avg, q.validity
              FROM {QualityReport._meta.db_table} q
             WHERE q.department_id = ANY(%(deps)s) AND q.day >= %(first_day)s AND q.day <= %(as_of)s
             ORDER BY q.dataset_id, q.day DESC, q.id DESC
        )
        SELECT department_id, array_agg(id),
               array_agg(id) FILTER (WHERE coalesce(completeness_avg, 0) < %(pass)s
                                        OR (validity IS NOT NULL AND validity < %(pass)s))
          FROM latest GROUP BY department_id
    """  # noqa: S608
    return rows_to_figures(_fetch(sql, {**period.params(department_ids), "pass": QUALITY_PASS}))
