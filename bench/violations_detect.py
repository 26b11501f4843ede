"""Benchmark: violation detection (R35, supervision.services.violations.violations_detect) over a year of clocks.

    .venv/bin/python bench/violations_detect.py [--departments 100] [--clocks 100000] [--keep]

Creates its own database (`jz_bench_violations` on the server of DATABASE_URL, default the local server), runs the
migrations, makes N departments each with a head, and M kernel clocks (portal_deadline) in one INSERT … SELECT over
every clock kind: 30 % overdue (still running past due), 10 % closed late, the rest open or closed in time; plus
2 000 submitted demands unmet for weeks and a failed audit verification. Then, in the same run:

- floor: the evidence read alone — `SELECT count(*)` over the overdue / closed-late clocks (what 35.4 reads);
- first run: `violations_detect()` — every detector, each new violation filed with its audit event, each head told
  (one digest per head);
- rerun: the same, filing nothing (idempotent), i.e. the cost of the daily job on a quiet day.

Prints the times, the rows filed and the queries each run issued (the query count must not grow with the number of
departments by more than the per-department notification: compare --departments 20 and 100). Goal: first run < 10 s
for 100 departments and 100 000 clocks. The database is dropped at the end unless --keep is given.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.scratch import scratch_database  # noqa: E402  (after the path: run as a script)

BENCH_DB = "jz_bench_violations"

_CLOCKS = """
INSERT INTO portal_deadline (case_type_id, case_id, clock, title, department_id, responsible_role, started_on,
                             working_days, due_on, provisional, extended_days, extension_reason, state, closed_on,
                             closed_late, url, created_at)
SELECT %(ct)s, g::text, (%(clocks)s::text[])[1 + g %% %(n_clocks)s], '共享申请审核 ' || g,
       (%(departments)s::bigint[])[1 + g %% %(n_departments)s], '', %(start)s::date - (g %% 300), 10,
       %(start)s::date - (g %% 300) + 14, false, 0, '',
       CASE WHEN g %% 10 < 3 THEN 'overdue' WHEN g %% 10 < 6 THEN 'open' ELSE 'closed' END,
       CASE WHEN g %% 10 >= 6 THEN %(start)s::date - (g %% 300) + CASE WHEN g %% 10 = 6 THEN 20 ELSE 5 END END,
       g %% 10 = 6, '/sharing/requests/' || g || '/', now()
  FROM generate_series(1, %(n)s) AS g
"""
_DEMANDS = """
INSERT INTO catalog_demanditem (department_id, needed_data, item_names, purpose, legal_basis, provider_id, state,
                                close_note, created_at, updated_at, submitted_at)
SELECT (%(departments)s::bigint[])[1 + (g + 1) %% %(n_departments)s], '婚姻登记信息 ' || g, '{}', '社会救助审核',
       '社会救助暂行办法', (%(departments)s::bigint[])[1 + g %% %(n_departments)s], 'submitted', '', now(), now(),
       now() - interval '40 days'
  FROM generate_series(1, 2000) AS g
"""



def setup(departments: int, clocks: int) -> None:
    import django

    django.setup()
    from django.contrib.contenttypes.models import ContentType
    from django.core.management import call_command
    from django.db import connection

    from portal.choices import Clock, Role
    from portal.demo import demo_credit_code
    from portal.models import AuditVerification, Department, Region, User, UserRole
    from portal.services.workdays import local_today

    t = time.perf_counter()
    call_command("migrate", verbosity=0)
    print(f"migrate: {time.perf_counter() - t:.1f} s")
    t = time.perf_counter()
    city = Region.objects.get(code="410800")
    Department.objects.create(name="焦作市政务服务和大数据管理局", short_name="市大数据局", region=city,
                              kind="government", credit_code=demo_credit_code("410800", 499), is_bureau=True)
    ids = []
    for k in range(departments):
        dept = Department.objects.create(name=f"焦作市基准部门{k}", short_name=f"部门{k}", region=city,
                                         kind="government", credit_code=demo_credit_code("410800", 500 + k))
        head = User.objects.create(username=f"bench_head_{k}", full_name=f"负责人{k}", department=dept)
        UserRole.objects.create(user=head, role=Role.DEPT_HEAD)
        ids.append(dept.pk)
    clock_kinds = [c.value for c in Clock if c != Clock.RECTIFICATION]
    with connection.cursor() as cur:
        cur.execute(_CLOCKS, {"ct": ContentType.objects.get_for_model(Department).pk, "clocks": clock_kinds,
                              "n_clocks": len(clock_kinds), "departments": ids, "n_departments": len(ids),
                              "start": local_today(), "n": clocks})
        cur.execute(_DEMANDS, {"departments": ids, "n_departments": len(ids)})
        cur.execute("ANALYZE portal_deadline; ANALYZE catalog_demanditem")
    AuditVerification.objects.create(via="beat", ok=False, break_seq=4711, break_kind="hash", break_detail="基准")
    print(f"{departments} departments, {clocks} clocks, 2000 demands: {time.perf_counter() - t:.1f} s")


def timed(label: str, fn):
    from django.db import connection, reset_queries

    connection.force_debug_cursor = True
    reset_queries()
    t = time.perf_counter()
    result = fn()
    elapsed = time.perf_counter() - t
    queries = len(connection.queries)
    connection.force_debug_cursor = False
    print(f"{label:<44} {elapsed:7.2f} s  {queries:>5} queries  {result}")
    return elapsed, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--departments", type=int, default=100)
    parser.add_argument("--clocks", type=int, default=100_000)
    parser.add_argument("--db", default=BENCH_DB, help="name of the database to create (and drop)")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    with scratch_database(parser, args.db, keep=args.keep):
        setup(args.departments, args.clocks)
        from django.db import connection

        from supervision.services.violations import violations_detect

        def floor():
            with connection.cursor() as cur:
                cur.execute("SELECT count(*) FROM portal_deadline WHERE state = 'overdue' OR closed_late")
                return cur.fetchone()[0]

        timed("floor: read the late clocks (count)", floor)
        first, result = timed("first run: violations_detect()", violations_detect)
        timed("rerun: violations_detect() (files nothing)", violations_detect)
        print(f"filed {result.filed}: {result.by_detector}")
        print(f"first run {first:.2f} s — {'PASS' if first < 10 else 'FAIL'} (goal < 10 s)")


if __name__ == "__main__":
    main()
