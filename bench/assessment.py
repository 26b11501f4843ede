"""Benchmark: one year's annual assessment (R33) over 100 departments, ~100 k cases and 1 M audit events.

    .venv/bin/python bench/assessment.py [--departments 100] [--audit 1000000] [--keep]

Creates its own database (`jz_bench_assessment` on the server of DATABASE_URL, default the local server), runs the
migrations and writes the evidence straight into the tables (INSERT … SELECT generate_series; one statement per
table), spread over the departments: per department 100 catalog entries (80 published, the rest drafts or in review),
2 responsibility lines per published entry, 200 review decisions, a dataset per published entry with 2 import jobs and
a quality report, 300 sharing-request and 300 verification clocks (late, on time, open past due, next year), a few
security incidents — about 100 k cases in all — and `--audit` audit events of which a tenth are API pushes of the
datasets (the timeliness indicator reads them).

The departments sit in two county regions of half each. Then it computes, through the Celery job's own function
(`assessment_run_execute`: every indicator, the scores written, the results ranked), the assessment of one region
(half the departments) and the city-wide one (all), each under CaptureQueriesContext, and prints seconds and query
counts of both. Goal: < 30 s for all departments, and the same number of queries for both (set-based indicators).
The database is dropped at the end unless --keep is given.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.scratch import scratch_database  # noqa: E402  (after the path: run as a script)

BENCH_DB = "jz_bench_assessment"
YEAR = 2025

# %(d0)s … %(d1)s: the departments' id range; %(n)s: departments; every statement one INSERT … SELECT.
_SQL = [
    ("catalog entries", """
INSERT INTO catalog_catalogentry (code, name, provider_id, provider_code, summary, format_class, format_type,
    share_type, share_condition, no_share_basis, exchange_methods, open_type, open_condition, update_cycle,
    related_codes, is_secret, state, version, duplicate_note, created_at, updated_at, classification_id)
SELECT CASE WHEN g %% 10 < 8 THEN '101/B' || lpad(g::text, 7, '0') END, '资源' || g, %(d0)s + g %% %(n)s, 'X',
       '摘要', 'db', 'PostgreSQL', '1', '', '', '{api}', 'closed', '',
       (ARRAY['daily','weekly','monthly','quarterly','yearly','other'])[1 + g %% 6], '{}', false,
       CASE WHEN g %% 10 < 8 THEN 'approved' WHEN g %% 10 = 8 THEN 'draft' ELSE 'bureau_review' END,
       CASE WHEN g %% 10 < 8 THEN 1 ELSE 0 END, '',
       make_timestamptz(%(year)s, (1 + g %% 12)::int, (1 + g %% 28)::int, 9, 0, 0), now(), %(cls)s
  FROM generate_series(1, %(n)s * 100) AS g"""),
    ("responsibility lines", """
INSERT INTO catalog_responsibilityitem (department_id, entry_id, item_name, data_type, is_base_item, update_cycle,
    since, entry_version, retired_on)
SELECT e.provider_id, e.id, '信息项' || k, 'C', false, e.update_cycle, make_date(%(year)s, 1, 1), 1,
       CASE WHEN e.id %% 50 = 0 AND k = 2 THEN make_date(%(year)s, 6, 1) END
  FROM catalog_catalogentry e CROSS JOIN generate_series(1, 2) AS k WHERE e.state = 'approved'"""),
    ("review decisions", """
INSERT INTO catalog_catalogreview (entry_id, stage, decision, actor_id, comment, share_type_before, share_type_after,
    created_at)
SELECT e.id, (ARRAY['bureau','county','signoff'])[1 + g %% 3],
       (ARRAY['approved','returned','passed','approved','signed'])[1 + (e.id + g) %% 5], %(user)s, '', '', '',
       make_timestamptz(%(year)s - (g %% 4 = 0)::int, (1 + (e.id + g) %% 12)::int, (1 + e.id %% 28)::int, 10, 0, 0)
  FROM catalog_catalogentry e CROSS JOIN generate_series(1, 2) AS g"""),
    ("datasets", """
INSERT INTO aggregation_dataset (entry_id, department_id, key_item_name, key_kind, encrypted_items, mask_kinds,
    columns, row_count, created_at)
SELECT e.id, e.provider_id, '公民身份号码', 'id_number', '[]', '{}', '{}', 0, now()
  FROM catalog_catalogentry e WHERE e.state = 'approved'"""),
    ("import jobs", """
INSERT INTO aggregation_ingestjob (dataset_id, file, original_name, size, format, encoding, header, mapping, mode,
    status, progress, total_rows, accepted_rows, rejected_rows, duplicate_rows, inserted_rows, updated_rows,
    unchanged_rows, log, report, attempts, created_at, error_code, error_message, finished_at, file_sha256,
    near_matches, empty_items, kept_items)
SELECT d.id, '', 'f.csv', 0, 'csv', '', '[]', '{}', 'all_or_nothing',
       CASE WHEN (d.id + k) %% 9 = 0 THEN 'failed' ELSE 'succeeded' END, 100, 0, 0, 0, 0, 0, 0, 0, '', '', 1, now(),
       '', '', make_timestamptz(%(year)s, (1 + (d.id * k) %% 12)::int, (1 + (d.id + k) %% 28)::int, 8, 0, 0), '',
       '{}', '[]', '[]'
  FROM aggregation_dataset d CROSS JOIN generate_series(1, 2) AS k"""),
    ("quality reports", """
INSERT INTO aggregation_qualityreport (dataset_id, department_id, day, row_count, completeness, completeness_avg,
    valid_keys, validity, duplicate_keys, load_duplicates, computed_at, consistency, inconsistent_subjects,
    consistency_pairs, consistency_pairs_total)
SELECT d.id, d.department_id, make_date(%(year)s, (1 + d.id %% 12)::int, (1 + d.id %% 28)::int), 100, '{}',
       0.80 + (d.id %% 20) / 100.0, 90, CASE WHEN d.id %% 3 = 0 THEN NULL ELSE 0.85 + (d.id %% 15) / 100.0 END,
       0, 0, now(), '[]', 0, '[]', 0
  FROM aggregation_dataset d"""),
    ("sharing and verification clocks", """
INSERT INTO portal_deadline (case_type_id, case_id, clock, title, department_id, responsible_role, started_on,
    working_days, due_on, provisional, extended_days, extension_reason, state, closed_on, closed_late, url,
    created_at)
SELECT %(ct)s, 'b' || g, CASE WHEN g %% 2 = 0 THEN 'sharing_review' ELSE 'verification' END, '案件' || g,
       %(d0)s + g %% %(n)s, '', due - 14, 10, due, false, CASE WHEN g %% 11 = 0 THEN 10 ELSE 0 END, '',
       CASE WHEN g %% 17 = 0 THEN 'overdue' WHEN g %% 19 = 0 THEN 'open' ELSE 'closed' END,
       CASE WHEN g %% 17 = 0 OR g %% 19 = 0 THEN NULL ELSE due + ((g %% 5) - 3)::int END,
       (g %% 17 <> 0 AND g %% 19 <> 0 AND (g %% 5) - 3 > 0), '', now()
  FROM (SELECT g, make_date(%(year)s, 1, 1) + (g %% 400)::int AS due FROM generate_series(1, %(n)s * 600) AS g) s"""),
    ("security incidents", """
WITH i AS (
  INSERT INTO security_securityincident (title, severity, occurred_at, description, state, reported_by_id,
      reported_at, measures, conclusion)
  SELECT '事件' || g, (ARRAY['4','4','3','2'])[1 + g %% 4], make_timestamptz(%(year)s, (1 + g %% 12)::int, 1, 0, 0, 0),
         '经过', 'closed', %(user)s, now(), '', ''
    FROM generate_series(1, %(n)s / 2) AS g RETURNING id)
INSERT INTO security_securityincident_departments (securityincident_id, department_id)
SELECT i.id, %(d0)s + (i.id * 7) %% %(n)s FROM i"""),
    ("audit events", """
INSERT INTO portal_auditevent (occurred_at, actor_label, role, action, object_type, object_id, object_repr, data,
    ip, request_id, result)
SELECT make_timestamptz(%(year)s, 1, 1, 0, 0, 0) + make_interval(secs => g * 31),
       'user' || (g %% 97), 'dept_staff',
       CASE WHEN g %% 10 = 0 THEN 'aggregation.records.pushed' ELSE
            (ARRAY['sharing.data.queried','catalog.entry.updated','portal.user.login'])[1 + g %% 3] END,
       CASE WHEN g %% 10 = 0 THEN 'aggregation.dataset' ELSE 'sharing.grant' END,
       CASE WHEN g %% 10 = 0 THEN (%(ds0)s + g %% %(nds)s)::text ELSE (g %% 5000)::text END,
       '对象 ' || g, jsonb_build_object('rows', g %% 1000), NULL, 'req-' || g, 'success'
  FROM generate_series(1, %(audit)s) AS g"""),
]



def setup(departments: int, audit_events: int):
    import django

    django.setup()
    from django.contrib.contenttypes.models import ContentType
    from django.core.management import call_command
    from django.db import connection

    from catalog.models import Classification
    from portal.choices import Role
    from portal.demo import demo_credit_code
    from portal.models import Department, Region, User, UserRole
    from sharing.models import SharingRequest

    t = time.perf_counter()
    call_command("migrate", verbosity=0)
    print(f"migrate: {time.perf_counter() - t:.1f} s")
    regions = [Region.objects.get(code="410821"), Region.objects.get(code="410822")]
    Department.objects.bulk_create([
        Department(name=f"测试部门{i:03d}", short_name=f"部门{i:03d}", region=regions[i % 2],
                   credit_code=demo_credit_code("410800", 5000 + i)) for i in range(departments)])
    ids = sorted(Department.objects.values_list("pk", flat=True))
    assessor = User.objects.create(username="bench_assessor", department_id=ids[0])
    UserRole.objects.create(user=assessor, role=Role.ASSESSOR)
    params = {"d0": ids[0], "n": departments, "year": YEAR, "user": assessor.pk, "audit": audit_events,
              "cls": Classification.objects.get(code="101").pk,
              "ct": ContentType.objects.get_for_model(SharingRequest).pk}
    t0 = time.perf_counter()
    cases = 0
    with connection.cursor() as cur:
        for label, sql in _SQL:
            if label == "audit events":
                cur.execute("SELECT min(id), count(*) FROM aggregation_dataset")
                params["ds0"], params["nds"] = cur.fetchone()
            t = time.perf_counter()
            cur.execute(sql, params)
            if label != "audit events":
                cases += cur.rowcount
            print(f"  {label:32} {cur.rowcount:>9} rows  {time.perf_counter() - t:6.1f} s")
        cur.execute("ANALYZE")
    print(f"evidence: {cases} cases + {audit_events} audit events in {time.perf_counter() - t0:.1f} s")
    return assessor, regions


def compute(assessor, region) -> tuple[float, int, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from supervision.services import assessments as services

    assessment = services.assessment_create(actor=assessor, year=YEAR, region_id=region.pk if region else None)
    run = services.assessment_compute(actor=assessor, assessment_id=assessment.pk, inline=True)  # run here
    t = time.perf_counter()
    with CaptureQueriesContext(connection) as queries:
        services.assessment_run_execute(run_id=run.pk)
    seconds = time.perf_counter() - t
    totals = sorted(assessment.results.values_list("total", flat=True))
    grades = Counter(assessment.results.values_list("grade", flat=True))
    print(f"  totals {totals[0]} … {totals[-1]}, grades {dict(sorted(grades.items()))}, "
          f"{assessment.scores.count()} scores")
    return seconds, len(queries), len(totals)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--departments", type=int, default=100)
    parser.add_argument("--audit", type=int, default=1_000_000)
    parser.add_argument("--db", default=BENCH_DB, help="name of the database to create (and drop)")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    with scratch_database(parser, args.db, keep=args.keep):
        assessor, regions = setup(args.departments, args.audit)
        half = compute(assessor, regions[0])
        full = compute(assessor, None)
        for label, (seconds, queries, departments) in (("one region", half), ("city-wide", full)):
            print(f"{label:10} {departments:>4} departments  {seconds:6.2f} s  {queries:>3} queries")
        same = half[1] == full[1]
        print(f"queries independent of the departments: {'yes' if same else 'NO'}; "
              f"{'PASS' if same and full[0] < 30 else 'FAIL'} (goal < 30 s, equal query counts)")


if __name__ == "__main__":
    main()
