"""Benchmark: ingesting a 1 M-row 人口 CSV through the real pipeline, next to raw COPY FROM of the same file.

    .venv/bin/python bench/ingest.py [--rows 1000000] [--workers N] [--keep]

Creates its own database (`jz_bench_ingest` on the server of DATABASE_URL, default the local server), runs
the migrations, creates one approved 户籍人口信息 entry (12 items, 公民身份号码 key; 公民身份号码, 姓名 and
户籍地址 encrypted), writes a UTF-8 CSV of generated people (valid check digits, 4108xx area codes), then times:

1. raw `COPY … FROM STDIN (FORMAT csv, HEADER)` of the file into an all-text table (the floor);
2. the pipeline, first load: encoding detection, CSV parse, cleaning, GB 11643 validation, AES-GCM of
   the key and personal items, blind index, row digest, COPY into a temp stage table, dedupe, then in one
   transaction the UPDATE of changed keys → their history rows and the INSERT of new keys → theirs
   (`services.ingest_job_run`);
3. the pipeline again on the same file (every row unchanged: nothing written, nothing doubled);
4. the pipeline on the file with 10 % of rows changed (update + history).

Prints rows/s for each and the peak RSS of this process (memory flat in file size: compare --rows runs).
The database is dropped at the end unless --keep is given.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/jiaozuo_portal"
BENCH_DB = "jz_bench_ingest"


def _admin(url: str, sql: str) -> None:
    import psycopg

    parts = urlsplit(url)
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute(sql)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=None, help="processes for parse/validate/encrypt")
    parser.add_argument("--floor", action="store_true",
                        help="after the first load, time what its write costs without the parse (see floor())")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    base_url = os.environ.get("DATABASE_URL", DEFAULT_URL)
    bench_url = urlunsplit(urlsplit(base_url)._replace(path=f"/{BENCH_DB}"))
    _admin(base_url, f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
    _admin(base_url, f"CREATE DATABASE {BENCH_DB}")
    os.environ["DATABASE_URL"] = bench_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
    media = tempfile.mkdtemp(prefix="jz_bench_media_")
    os.environ["MEDIA_ROOT"] = media
    try:
        run(args)
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            _admin(base_url, f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        import shutil

        shutil.rmtree(media, ignore_errors=True)


def run(args) -> None:
    import django

    django.setup()
    from django.conf import settings
    from django.core.files import File
    from django.core.management import call_command
    from django.db import connection

    if args.workers is not None:
        settings.AGGREGATION["INGEST_WORKERS"] = args.workers
    t = time.perf_counter()
    call_command("migrate", verbosity=0)
    print(f"migrate: {time.perf_counter() - t:.1f} s")

    from aggregation import demo
    from aggregation.choices import JobFormat, JobMode, JobStatus
    from aggregation.models import IngestJob, Record, RecordHistory
    from aggregation.services.ingest import ingest_job_run
    from aggregation.services.pools import dataset_ensure
    from catalog.models import CatalogEntry, Classification, DataItem
    from portal.choices import Role
    from tests.factories import DepartmentFactory, make_user

    dept = DepartmentFactory(name="焦作市公安局(基准)", short_name="市公安局")
    staff = make_user(Role.DEPT_STAFF, department=dept, username="bench_staff")
    entry = CatalogEntry.objects.create(
        code="101/BENCH00001", classification=Classification.objects.get(code="101"), name="户籍人口信息",
        provider=dept, provider_code=dept.credit_code, summary="基准", format_class="db", format_type="PostgreSQL",
        share_type="1", exchange_methods=["api"], update_cycle="daily", state="approved", version=1,
    )
    for pos, item in enumerate(demo.POPULATION_ITEMS, start=1):
        DataItem.objects.create(entry=entry, position=pos, name=item["name"], data_type=item["data_type"],
                                length=item.get("length"), is_subject_key=item.get("is_subject_key", False),
                                is_base_item=item.get("is_base_item", False))
    dataset = dataset_ensure(entry=entry)
    header = [i["name"] for i in demo.POPULATION_ITEMS]

    tmp = Path(tempfile.mkdtemp(prefix="jz_bench_"))
    path = tmp / "people.csv"
    t = time.perf_counter()
    # In a child process: the generator's set of unique keys must not count in this process's peak RSS.
    import multiprocessing

    child = multiprocessing.get_context("fork").Process(
        target=demo.write_csv, args=(path, header, demo.generated_rows(demo.POPULATION_ITEMS, args.rows, seed=1)))
    connection.close()
    child.start()
    child.join()
    size = path.stat().st_size
    print(f"generated {args.rows:,} rows, {size / 1e6:.0f} MB in {time.perf_counter() - t:.1f} s "
          f"(encrypted items: {', '.join(dataset.encrypted_items)})")

    # 1. raw COPY FROM of the same file
    cols = ", ".join(f'"{h}" text' for h in header)
    with connection.cursor() as cur:
        cur.execute(f"CREATE UNLOGGED TABLE raw_copy ({cols})")
    raw = connection.connection.cursor()
    t = time.perf_counter()
    with open(path, "rb") as fh, raw.copy("COPY raw_copy FROM STDIN (FORMAT csv, HEADER)") as copy:
        while chunk := fh.read(1 << 20):
            copy.write(chunk)
    raw_s = time.perf_counter() - t
    raw.close()
    print(f"raw COPY FROM:             {raw_s:6.2f} s  {args.rows / raw_s:>10,.0f} rows/s")

    def job_for(p: Path) -> IngestJob:
        job = IngestJob(dataset=dataset, original_name=p.name, size=p.stat().st_size, format=JobFormat.CSV,
                        header=header, mapping={h: h for h in header}, mode=JobMode.ALL_OR_NOTHING,
                        created_by=staff)
        with open(p, "rb") as fh:
            job.file.save(p.name, File(fh), save=False)
        job.save()
        return job

    def timed(label: str, p: Path) -> IngestJob:
        job = job_for(p)
        t = time.perf_counter()
        if os.environ.get("BENCH_PROFILE"):
            import cProfile
            import pstats

            prof = cProfile.Profile()
            job = prof.runcall(ingest_job_run, job_id=job.pk)
            pstats.Stats(prof).sort_stats("tottime").print_stats(12)
        else:
            job = ingest_job_run(job_id=job.pk)
        s = time.perf_counter() - t
        assert job.status == JobStatus.SUCCEEDED, job.log
        if os.environ.get("BENCH_LOG"):
            print(job.log)
        print(f"{label:<26} {s:6.2f} s  {args.rows / s:>10,.0f} rows/s   "
              f"(inserted {job.inserted_rows:,}, updated {job.updated_rows:,}, unchanged {job.unchanged_rows:,}; "
              f"{s / raw_s:.1f}× raw COPY)")
        return job

    timed("pipeline, first load:", path)
    if args.floor:
        floor(dataset.pk, raw_s, args.rows)
    timed("pipeline, same file again:", path)
    # 10 % changed: every tenth row gets another 文化程度.
    changed = tmp / "people_changed.csv"
    with open(path, encoding="utf-8") as src, open(changed, "w", encoding="utf-8") as dst:
        dst.write(src.readline())
        for i, line in enumerate(src):
            if i % 10 == 0:
                parts = line.rstrip("\n").split(",")
                parts[10] = "研究生" if parts[10] != "研究生" else "小学"
                line = ",".join(parts) + "\n"
            dst.write(line)
    timed("pipeline, 10 % changed:", changed)
    print(f"records {Record.objects.filter(dataset=dataset).count():,}, "
          f"history rows {RecordHistory.objects.filter(dataset=dataset).count():,}")
    print(f"peak RSS of this process (parser, validator, COPY writer): "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB "
          f"(workers: {settings.AGGREGATION['INGEST_WORKERS']}, cores: {os.cpu_count()})")
    import shutil

    shutil.rmtree(tmp, ignore_errors=True)


def floor(dataset_id: int, raw_s: float, rows: int) -> None:
    """What a first load's write costs with the parse taken away: the rows the first load stored, as its stage held
    them (key_hash, key_enc, data and masked as text, row_hash), written into an empty dataset by four statements,
    each in its own transaction rolled back afterwards (a CHECKPOINT and a VACUUM between them, not timed):

    1. the heap alone: INSERT … SELECT into a new table shaped like aggregation_record, no index — text → jsonb,
       the WAL of a logged table: the least any durable JSONB storage pays per row;
    2. the same, then the record table's indexes built after the load (what a per-dataset partition loaded while
       detached would pay);
    3. INSERT into aggregation_record with its indexes kept up row by row, no history;
    4. the pipeline's own statements (staging.upsert_from_stage: records + their history rows).

    Each is printed next to the raw COPY FROM of the file in the same run: a pipeline cannot be faster than its
    write, so these bound the rows/s any parser, however fast, could reach on this machine with that storage."""
    from django.conf import settings
    from django.db import connection
    from django.utils import timezone

    from aggregation.ingest import staging

    print(f"\nwhere a first load's write goes ({rows:,} rows, no parsing; each step rolled back):")
    with connection.cursor() as cur:
        cur.execute("CREATE UNLOGGED TABLE agg_floor_0 AS SELECT id AS row_no, key_hash, key_enc, data::text AS data, "
                    "masked::text AS masked, row_hash FROM aggregation_record WHERE dataset_id = %s", [dataset_id])
        cur.execute("VACUUM ANALYZE agg_floor_0")
        cur.execute("SELECT indexdef FROM pg_indexes WHERE tablename = 'aggregation_record'")
        index_defs = [d.replace(" ON public.aggregation_record ", " ON floor_heap ") for (d,) in cur.fetchall()]
        cur.execute("SELECT max(id) FROM aggregation_dataset")
        empty_ds = cur.fetchone()[0] + 1000  # a dataset id that holds no record (no FK constraint on records)
    columns = "dataset_id, key_hash, key_enc, data, masked, row_hash, version, created_at, updated_at"
    select = (f"SELECT {empty_ds}, key_hash, key_enc, data::jsonb, masked::jsonb, row_hash, 1, now(), now() "
              "FROM agg_floor_0")

    def heap(cur):
        cur.execute("CREATE TABLE floor_heap (LIKE aggregation_record INCLUDING DEFAULTS)")
        cur.execute(f"INSERT INTO floor_heap (id, {columns}) SELECT nextval('aggregation_record_id_seq'), "
                    + select.removeprefix("SELECT "))

    def heap_then_indexes(cur):
        heap(cur)
        for definition in index_defs:
            cur.execute(definition.replace("INDEX aggregation_record_", "INDEX floor_heap_"))

    def indexed(cur):
        cur.execute(f"INSERT INTO aggregation_record ({columns}) {select} ORDER BY key_hash")

    def pipeline(cur):
        staging.upsert_from_stage(cur, "agg_floor_0", dataset_id=empty_ds, actor_id=None, job_id=None,
                                 reason="floor", now=timezone.now())

    steps = [("1. heap only (jsonb, WAL, no index)", heap),
             ("2. heap, then its 4 indexes built", heap_then_indexes),
             ("3. into aggregation_record, indexed", indexed),
             ("4. the pipeline's write (+ history)", pipeline)]
    work_mem = settings.AGGREGATION.get("INGEST_WORK_MEM", "256MB")
    for label, step in steps:
        with connection.cursor() as cur:
            cur.execute("CHECKPOINT")
            cur.execute("VACUUM aggregation_record")
            cur.execute("BEGIN")
            cur.execute("SELECT set_config('work_mem', %s, true)", [work_mem])
            t = time.perf_counter()
            step(cur)
            s = time.perf_counter() - t
            cur.execute("ROLLBACK")
        print(f"  {label:<40} {s:6.2f} s  {rows / s:>10,.0f} rows/s   ({s / raw_s:.1f}× raw COPY)")
    with connection.cursor() as cur:
        cur.execute("DROP TABLE agg_floor_0")
        cur.execute("VACUUM aggregation_record")


if __name__ == "__main__":
    main()
