"""Benchmark: ingesting a 1 M-row 人口 CSV through the real pipeline, next to raw COPY FROM of the same file.

    .venv/bin/python bench/ingest.py [--rows 1000000] [--workers N] [--keep] [--encoding gb18030] [--integrity]

Creates its own database (`jz_bench_ingest` on the server of DATABASE_URL, default the local server), runs
the migrations, creates one approved 户籍人口信息 entry (12 items, 公民身份号码 key; 公民身份号码, 姓名 and
户籍地址 encrypted), writes a UTF-8 CSV of generated people (valid check digits, 4108xx area codes), then times:

1. raw `COPY … FROM STDIN (FORMAT csv, HEADER)` of the file into an all-text table (the floor);
2. the pipeline, first load (`services.ingest_job_run`): encoding detection, the file read by polars a block at a
   time, cleaning and GB 11643 validation as column expressions, then the resource-table writer — blind index, row
   digest, one AES-GCM token a row, masked forms — in worker processes, COPY FREEZE into the empty `pool.r<id>`,
   its indexes built after; no history rows for a load's inserts;
3. the very same file again (its SHA-256 and "nothing written since": not read);
4. the same rows in another file (CRLF line ends): every row read, checked, hashed and compared, nothing written;
5. the file with 10 % of rows changed (those rows updated, with their history rows);
6. with --integrity: the integrity check of the whole table (R35.5, what the nightly aggregation.integrity_sweep
   runs on every resource table: each row's digest recomputed from its opened token, its last history row
   compared, version and deletion against the history, each load's inserted rows counted).

Prints rows/s for each, the CPU seconds of this process, its worker processes and the server's backend, the highest
RSS of this process during each step (memory flat in file size: compare --rows runs) and its peak over the run.
The database is dropped at the end unless --keep is given.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from contextlib import contextmanager
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
    parser.add_argument("--integrity", action="store_true",
                        help="then time the integrity check of the whole table (aggregation.integrity_sweep's)")
    parser.add_argument("--encoding", default="utf-8", choices=["utf-8", "gb18030"],
                        help="the files' encoding (gb18030: the generated file transcoded; raw COPY with ENCODING)")
    args = parser.parse_args()
    with bench_database(BENCH_DB, keep=args.keep):
        run(args)


class _RssSampler:
    """This process's current RSS every 20 ms in a thread, until stop() — which gives the highest (MB). (ru_maxrss
    is the peak of the whole run: it cannot tell one step from another.)"""

    def __init__(self):
        import threading

        self.peak = 0.0
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        page = os.sysconf("SC_PAGE_SIZE")
        while not self.done.wait(0.02):
            with open("/proc/self/statm") as fh:
                self.peak = max(self.peak, int(fh.read().split()[1]) * page / 2**20)

    def stop(self) -> float:
        self.done.set()
        self.thread.join()
        return self.peak


@contextmanager
def bench_database(name: str, *, keep: bool = False):
    """A fresh database `name` on the server of DATABASE_URL (DATABASE_URL pointed at it) and a scratch MEDIA_ROOT
    for the block; both dropped after it unless `keep` (also used by bench/pool_move.py)."""
    base_url = os.environ.get("DATABASE_URL", DEFAULT_URL)
    bench_url = urlunsplit(urlsplit(base_url)._replace(path=f"/{name}"))
    _admin(base_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    _admin(base_url, f"CREATE DATABASE {name}")
    os.environ["DATABASE_URL"] = bench_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
    media = tempfile.mkdtemp(prefix="jz_bench_media_")
    os.environ["MEDIA_ROOT"] = media
    try:
        yield
    finally:
        from django.db import connections

        connections.close_all()
        if not keep:
            _admin(base_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        import shutil

        shutil.rmtree(media, ignore_errors=True)


def run(args) -> None:
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    if args.workers is not None:
        settings.AGGREGATION["INGEST_WORKERS"] = args.workers
    from aggregation.choices import JobStatus
    from aggregation.models import RecordHistory
    from aggregation.services.ingest import ingest_job_run
    from aggregation.storage import reading, tables_written

    dataset, staff, header, path, tmp = population(args.rows)
    if args.encoding != "utf-8":
        t = time.perf_counter()
        utf8 = path.with_suffix(".utf8")
        path.rename(utf8)
        with open(utf8, encoding="utf-8", newline="") as src, open(path, "w", encoding=args.encoding,
                                                                      newline="") as dst:
            while block := src.read(1 << 20):
                dst.write(block)
        utf8.unlink()
        print(f"transcoded to {args.encoding} in {time.perf_counter() - t:.1f} s")

    # 1. raw COPY FROM of the same file
    cols = ", ".join(f'"{h}" text' for h in header)
    with connection.cursor() as cur:
        cur.execute(f"CREATE UNLOGGED TABLE raw_copy ({cols})")
    raw = connection.connection.cursor()
    t = time.perf_counter()
    encoding = "" if args.encoding == "utf-8" else ", ENCODING 'GB18030'"
    with open(path, "rb") as fh, raw.copy(f"COPY raw_copy FROM STDIN (FORMAT csv, HEADER{encoding})") as copy:
        while chunk := fh.read(1 << 20):
            copy.write(chunk)
    raw_s = time.perf_counter() - t
    raw.close()
    print(f"raw COPY FROM:             {raw_s:6.2f} s  {args.rows / raw_s:>10,.0f} rows/s")

    def timed(label: str, p: Path):
        from bench.writer import _children_cpu, _cpu, _own_cpu  # (writer.py imports this module)

        job = job_for(dataset, staff, header, p)
        connection.ensure_connection()
        backend = connection.connection.info.backend_pid  # the job runs in this process, on this connection
        cpu = (_own_cpu(), _children_cpu(), _cpu(backend))
        sampler = _RssSampler()
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
        peak = sampler.stop()
        assert job.status == JobStatus.SUCCEEDED, job.log
        if os.environ.get("BENCH_LOG"):
            print(job.log)
        print(f"{label:<26} {s:6.2f} s  {args.rows / s:>10,.0f} rows/s   "
              f"(inserted {job.inserted_rows:,}, updated {job.updated_rows:,}, unchanged {job.unchanged_rows:,}; "
              f"{s / raw_s:.1f}× raw COPY, {raw_s / s:.1%} of it)")
        mine, kids, server = _own_cpu() - cpu[0], _children_cpu() - cpu[1], _cpu(backend) - cpu[2]
        print(f"  CPU seconds: this process {mine:.1f} (all threads), its worker processes {kids:.1f}, "
              f"the server's backend {server:.1f} — {mine + kids + server:.1f} in all on {os.cpu_count()} cores; "
              f"RSS of this process at most {peak:.0f} MB during this step")
        return job, s

    writers = "the resource tables (WRITE_RECORDS off)" if tables_written() else "aggregation_record + mirror"
    print(f"writers: {writers}")
    _job, first_s = timed("pipeline, first load:", path)
    if args.floor:
        floor(dataset.pk, raw_s, args.rows)
        storage_floors(dataset, raw_s, args.rows, tmp)
    _job, s = timed("pipeline, same file again:", path)
    print(f"  → {s / first_s:.1%} of the first load (goal ≤ 20 %; the very same file is not read again)")
    # The same rows in another file (CRLF line ends: another SHA-256): every row read, hashed and compared.
    crlf = tmp / "people_crlf.csv"
    with open(path, "rb") as src, open(crlf, "wb") as dst:
        for line in src:
            dst.write(line.rstrip(b"\n") + b"\r\n")
    _job, s = timed("pipeline, same rows again:", crlf)
    print(f"  → {s / first_s:.1%} of the first load (goal ≤ 20 %)")
    # 10 % changed: every tenth row gets another 文化程度.
    changed = tmp / "people_changed.csv"
    with open(path, encoding=args.encoding) as src, open(changed, "w", encoding=args.encoding) as dst:
        dst.write(src.readline())
        for i, line in enumerate(src):
            if i % 10 == 0:
                parts = line.rstrip("\n").split(",")
                parts[10] = "研究生" if parts[10] != "研究生" else "小学"
                line = ",".join(parts) + "\n"
            dst.write(line)
    _job, s = timed("pipeline, 10 % changed:", changed)
    print(f"  → {s / first_s:.1%} of the first load (goal ≤ 40 %)")
    dataset.refresh_from_db()
    print(f"rows {reading.count(dataset, include_deleted=True):,}, "
          f"history rows {RecordHistory.objects.filter(dataset=dataset).count():,}")
    print(f"peak RSS of this process (parser, validator, COPY writer): "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB "
          f"(workers: {settings.AGGREGATION['INGEST_WORKERS']}, cores: {os.cpu_count()})")
    if args.integrity:
        from aggregation.selectors.pools import record_integrity

        t = time.perf_counter()
        report = record_integrity(dataset=dataset)
        s = time.perf_counter() - t
        assert report.ok, report
        print(f"integrity check of the whole table (the nightly sweep's, R35.5): {s:6.2f} s  "
              f"{report.checked / s:>10,.0f} rows/s")
    import shutil

    shutil.rmtree(tmp, ignore_errors=True)


def population(rows: int):
    """Migrate the bench database, create one approved 户籍人口信息 entry (demo.POPULATION_ITEMS) with its dataset and a
    staff member, and write a CSV of `rows` generated people: (dataset, staff, header, csv path, its temp dir)."""
    from django.core.management import call_command
    from django.db import connection

    t = time.perf_counter()
    call_command("migrate", verbosity=0)
    print(f"migrate: {time.perf_counter() - t:.1f} s")

    from aggregation import demo
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
        target=demo.write_csv, args=(path, header, demo.generated_rows(demo.POPULATION_ITEMS, rows, seed=1)))
    connection.close()
    child.start()
    child.join()
    size = path.stat().st_size
    print(f"generated {rows:,} rows, {size / 1e6:.0f} MB in {time.perf_counter() - t:.1f} s "
          f"(encrypted items: {', '.join(dataset.encrypted_items)})")
    return dataset, staff, header, path, tmp


def job_for(dataset, staff, header: list[str], p: Path):
    """An all-or-nothing CSV job of `p` (every column mapped to its item), ready for ingest_job_run."""
    from django.core.files import File

    from aggregation.choices import JobFormat, JobMode
    from aggregation.models import IngestJob
    from aggregation.services.ingest import file_sha256

    job = IngestJob(dataset=dataset, original_name=p.name, size=p.stat().st_size, format=JobFormat.CSV,
                    header=header, mapping={h: h for h in header}, mode=JobMode.ALL_OR_NOTHING, created_by=staff,
                    file_sha256=file_sha256(p))  # as an upload has it (the very same file again is not read)
    with open(p, "rb") as fh:
        job.file.save(p.name, File(fh), save=False)
    job.save()
    return job


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


def storage_floors(dataset, raw_s: float, rows: int, tmp: Path) -> None:
    """The two storage designs of issue 18, each as the least a first load must pay: the rows just stored, already in
    the target's form in a file, COPYed FROM it in a transaction rolled back afterwards (CHECKPOINT before each, not
    timed). No parsing, no encryption: the ceiling of any pipeline writing into that design.

    - a table per resource (`pool.r<id>`): typed columns for the clear items, ONE token per row for the encrypted
      items (stood in for by the concatenated tokens of today's row: at least as long as one token of the same
      values), a text column per stored masked form, blind index, row digest, loading job; (a) bare heap, no index;
      (b) with its primary key, UNIQUE (key_hash) and (updated_at, id), kept up during the COPY;
    - a partition per dataset of one shared JSONB table (today's columns, LIST-partitioned by dataset), with
      today's record indexes on the partition: the JSONB text parse and the item names in every row stay.
    """
    from django.db import connection

    ds = dataset.pk
    items = list(dataset.entry.items.order_by("position"))
    encrypted = [i.name for i in items if i.name in dataset.encrypted_items]
    sql_type = {"D": "date", "T": "timestamp", "L": "boolean", "I": "bigint", "N": "numeric", "Y": "numeric",
                "B": "numeric", "F": "numeric"}
    plain = [(f"c{n}", i.name, sql_type.get(i.data_type, "text"))
             for n, i in enumerate(items, start=1) if i.name not in encrypted]
    with connection.cursor() as cur:
        cur.execute("SELECT DISTINCT k, jsonb_object_keys(masked -> k) FROM aggregation_record, "
                    "jsonb_object_keys(masked) k WHERE dataset_id = %s", [ds])
        masks = [(f"m{n}", kind, item) for n, (kind, item) in enumerate(sorted(cur.fetchall()), start=1)]
    token = " || ".join(["''"] + ["coalesce(data ->> %s, '')" for _ in encrypted])
    select = (f"SELECT key_hash, {token}, "
              + ", ".join([f"(data ->> %s)::{t}" for _c, _n, t in plain] + ["masked -> %s ->> %s" for _ in masks])
              + f", row_hash, 1 FROM aggregation_record WHERE dataset_id = {int(ds)}")
    params = [*encrypted, *(n for _c, n, _t in plain), *(x for _m, kind, item in masks for x in (kind, item))]
    typed_file, jsonb_file = tmp / "typed.copy", tmp / "jsonb.copy"
    raw = connection.connection.cursor()
    with open(typed_file, "wb") as fh, raw.copy(
            "COPY (" + raw.mogrify(select, params) + ") TO STDOUT") as copy:
        for chunk in copy:
            fh.write(chunk)
    with open(jsonb_file, "wb") as fh, raw.copy(
            f"COPY (SELECT key_hash, key_enc, data, masked, row_hash FROM aggregation_record "
            f"WHERE dataset_id = {int(ds)}) TO STDOUT") as copy:
        for chunk in copy:
            fh.write(chunk)
    columns = ["key_hash", "token", *(c for c, _n, _t in plain), *(m for m, _k, _i in masks), "row_hash", "job_id"]
    table = ("CREATE TABLE pool_floor.r (id bigint NOT NULL DEFAULT nextval('pool_floor.seq'), "
             "key_hash bytea NOT NULL, token text, " + ", ".join(f"{c} {t}" for c, _n, t in plain) + ", "
             + ", ".join(f"{m} text" for m, _k, _i in masks) + ", row_hash bytea NOT NULL, job_id bigint, "
             "version integer NOT NULL DEFAULT 1, created_at timestamptz NOT NULL DEFAULT now(), "
             "updated_at timestamptz NOT NULL DEFAULT now(), deleted_at timestamptz)")
    indexes = ["ALTER TABLE pool_floor.r ADD PRIMARY KEY (id)", "CREATE UNIQUE INDEX ON pool_floor.r (key_hash)",
               "CREATE INDEX ON pool_floor.r (updated_at, id)"]

    def typed(cur, with_indexes: bool):
        cur.execute("CREATE SCHEMA pool_floor")
        cur.execute("CREATE SEQUENCE pool_floor.seq CACHE 1000")
        cur.execute(table)
        for definition in indexes if with_indexes else ():
            cur.execute(definition)
        return f"COPY pool_floor.r ({', '.join(columns)}) FROM STDIN", typed_file, ()

    def partition(cur, with_indexes: bool):
        cur.execute("CREATE TABLE floor_shared (LIKE aggregation_record INCLUDING DEFAULTS) PARTITION BY LIST "
                    "(dataset_id)")
        cur.execute(f"CREATE TABLE floor_part PARTITION OF floor_shared FOR VALUES IN ({int(ds)})")
        cur.execute("CREATE SEQUENCE floor_seq CACHE 1000")
        cur.execute("ALTER TABLE floor_part ALTER COLUMN id SET DEFAULT nextval('floor_seq'), "
                    f"ALTER COLUMN dataset_id SET DEFAULT {int(ds)}, ALTER COLUMN version SET DEFAULT 1")
        cur.execute("ALTER TABLE floor_part ADD PRIMARY KEY (id)")
        cur.execute("CREATE UNIQUE INDEX ON floor_part (key_hash)")
        cur.execute("CREATE INDEX ON floor_part (updated_at, id)")
        return "COPY floor_part (key_hash, key_enc, data, masked, row_hash) FROM STDIN", jsonb_file, ()

    def typed_then_indexes(cur):
        # A first load fills an empty table: B-trees built by one sort afterwards (in memory: 512 MB) instead of
        # kept up row by row — the random-order UNIQUE (key_hash) is the costly one (measured alone, 1 M rows: kept
        # up 8.5 s, in key order 3.5 s, built after 0.6 s, against 1.8 s for the heap).
        cur.execute("SET LOCAL maintenance_work_mem = '512MB'")
        statement, source, _after = typed(cur, False)
        return statement, source, indexes

    print(f"\nissue 18's storage designs, COPY of already-prepared rows ({rows:,}; each rolled back):")
    steps = [("5. table per resource, bare typed heap", lambda c: typed(c, False)),
             ("6. table per resource, with its 3 indexes", lambda c: typed(c, True)),
             ("6b. … bare, then its 3 indexes built", typed_then_indexes),
             ("7. partition per dataset (jsonb, indexed)", lambda c: partition(c, True))]
    for label, step in steps:
        with connection.cursor() as cur:
            cur.execute("CHECKPOINT")
            cur.execute("BEGIN")
            statement, source, after = step(cur)
            t = time.perf_counter()
            with open(source, "rb") as fh, raw.copy(statement) as copy:
                while chunk := fh.read(1 << 20):
                    copy.write(chunk)
            for definition in after:
                cur.execute(definition)
            s = time.perf_counter() - t
            cur.execute("ROLLBACK")
        print(f"  {label:<42} {s:6.2f} s  {rows / s:>10,.0f} rows/s   ({raw_s / s:.1%} of raw COPY)")
    raw.close()
    typed_file.unlink()
    jsonb_file.unlink()


if __name__ == "__main__":
    main()
