"""Benchmark: moving 1 M 人口 records from aggregation_record into their resource table (issue 18), and verifying.

    .venv/bin/python bench/pool_move.py [--rows 1000000] [--batch 20000] [--keep]

Sets up as bench/ingest.py does (its own database `jz_bench_pool_move`, the 户籍人口信息 entry of 12 items with
公民身份号码, 姓名 and 户籍地址 encrypted, a generated CSV), loads the file through today's pipeline
(ingest_job_run: the records the move starts from), then times, in a fresh Python process (so that its peak RSS is
the move's, not the load's):

1. `storage.moving.dataset_move`: read every record (server-side cursor), decrypt its per-item tokens, check the
   key's blind index and the row digest, type-check the plain values, seal ONE token per row and stage the typed
   row through storage.writing, INSERT into pool.r<id> under the record ids — one transaction;
2. `storage.moving.dataset_verify`: both sides read again, every value compared in plain text.

Prints rows/s of each, the peak RSS of the mover process, and the load average before and after.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.ingest import bench_database, job_for, population  # noqa: E402

BENCH_DB = "jz_bench_pool_move"


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=None, help="records per batch of the move")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--mover", type=int, default=None, help=argparse.SUPPRESS)  # the child: dataset id
    args = parser.parse_args()
    if args.mover is not None:
        return mover(args.mover, args.batch)
    with bench_database(BENCH_DB, keep=args.keep):
        run(args)


def run(args) -> None:
    import django

    django.setup()
    from aggregation.choices import JobStatus
    from aggregation.services.ingest import ingest_job_run

    print(f"load average at start: {load_average()}  (cores: {os.cpu_count()})")
    dataset, staff, header, path, tmp = population(args.rows)
    job = job_for(dataset, staff, header, path)
    t = time.perf_counter()
    job = ingest_job_run(job_id=job.pk)
    s = time.perf_counter() - t
    assert job.status == JobStatus.SUCCEEDED, job.log
    print(f"today's pipeline, load:  {s:7.2f} s  {args.rows / s:>9,.0f} rows/s  (inserted {job.inserted_rows:,})")
    import shutil

    shutil.rmtree(tmp, ignore_errors=True)
    from django.db import connections

    connections.close_all()
    command = [sys.executable, __file__, "--mover", str(dataset.pk)] + (
        ["--batch", str(args.batch)] if args.batch else [])
    subprocess.run(command, check=True, env=os.environ.copy())  # noqa: S603 (this script, our own arguments)
    print(f"load average at end: {load_average()}")


def mover(dataset_id: int, batch: int | None) -> None:
    import django

    django.setup()
    from django.db import connection

    from aggregation.models import Dataset, Record
    from aggregation.storage.moving import dataset_move, dataset_verify

    dataset = Dataset.objects.get(pk=dataset_id)
    records = Record.objects.filter(dataset=dataset).count()
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t = time.perf_counter()
    result = dataset_move(dataset, **({"batch": batch} if batch else {}))
    s = time.perf_counter() - t
    peak_move = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"move:                    {s:7.2f} s  {records / s:>9,.0f} rows/s  (moved {result.moved:,}; "
          f"recomputed key_hash {result.key_hash_recomputed}, row_hash {result.row_hash_recomputed}, "
          f"masks computed {result.masks_computed})")
    with connection.cursor() as cur:
        cur.execute("SELECT pg_total_relation_size(%s), pg_total_relation_size('aggregation_record')",
                    [f"pool.r{dataset.pk}"])
        table, shared = cur.fetchone()
    print(f"   pool.r{dataset.pk}: {table / 1e6:.0f} MB with indexes (aggregation_record: {shared / 1e6:.0f} MB)")
    t = time.perf_counter()
    check = dataset_verify(dataset)
    s = time.perf_counter() - t
    assert check.clean, check.differences
    print(f"verify:                  {s:7.2f} s  {records / s:>9,.0f} rows/s  (clean: {check.records:,} records, "
          f"{check.rows:,} rows)")
    t = time.perf_counter()
    again = dataset_move(dataset)
    print(f"move again (verified, nothing written): {time.perf_counter() - t:.2f} s, skipped={again.skipped}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of the mover process: {peak_move:.0f} MB after the move, {peak:.0f} MB in all "
          f"(Django loaded: {base:.0f} MB)")


if __name__ == "__main__":
    main()
