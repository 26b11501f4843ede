"""Benchmark: the resource-table writer (aggregation.storage.writing, issue 18) on 1 M 人口 rows, next to raw COPY.

    .venv/bin/python bench/writer.py [--rows 1000000] [--batch 50000] [--serial] [--db NAME] [--keep] [--formats]

Creates its own database (`jz_bench_writer`, or --db, on the server of DATABASE_URL, default the local server),
migrates (the history table), creates the schema `pool`, its sequence and one table `pool.r1` laid out as the
storage contract says for the 12 items of the 户籍人口信息 entry (公民身份号码 key; 公民身份号码, 姓名, 户籍地址
encrypted into the row's one token; masked forms of the key, 姓名, 户籍地址, 出生日期 and 性别; 出生日期 and 登记日期
typed date), generates the rows into a CSV file in a child process (catalog demo generator; canonical text as the
converters give it), then times:

1. raw `COPY … FROM STDIN (FORMAT csv)` of the file into an all-text UNLOGGED table (the floor; median of three);
2. write_batches, first load: the file read in batches of --batch rows (polars, as it is read: memory is a batch),
   every row inserted (hashes, tokens, masks, one COPY into the empty table, its indexes built after);
3. the same rows again (hashes and the digest comparison only: nothing written);
4. 10 % of the rows changed (every tenth row another 文化程度): those updated with their history rows.

Prints, in bench/ingest.py's format, rows/s, the share of raw COPY and of the first load for each, the writer's
phases, the CPU seconds of this process (all threads) and of the server backend (read from /proc: the figures that
do not depend on what else the box runs), and this process's current RSS as rows are read (memory flat in file
size: compare 100 000 with 1 000 000) and its peak. `--serial` turns the writer's producer thread off (what the
overlap brings). `--formats` also times the typed stage's two COPY formats on the first 200 000 rows (polars CSV
against psycopg's binary `write_row`). The database is dropped at the end unless --keep is given.
"""

from __future__ import annotations

import argparse
import io
import itertools
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.ingest import DEFAULT_URL, _admin  # noqa: E402 — one way to make and drop a bench database

BENCH_DB = "jz_bench_writer"
MASKS = {"公民身份号码": "id_number", "姓名": "name", "户籍地址": "address", "出生日期": "generic", "性别": "generic"}
ENCRYPTED = ("公民身份号码", "姓名", "户籍地址")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--db", default=BENCH_DB, help="the bench database's name (created and dropped)")
    parser.add_argument("--batch", type=int, default=50_000, help="rows a batch")
    parser.add_argument("--serial", action="store_true", help="no producer thread: prepare, then send, per batch")
    parser.add_argument("--workers", type=int, default=None,
                        help="a first load's worker processes (storage.preparing; default AGGREGATION's WRITE_WORKERS, "
                             "0 = one per core; 1 = none: the producer thread)")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--formats", action="store_true", help="also compare the typed stage's COPY formats")
    args = parser.parse_args()

    base_url = os.environ.get("DATABASE_URL", DEFAULT_URL)
    bench_url = urlunsplit(urlsplit(base_url)._replace(path=f"/{args.db}"))
    _admin(base_url, f"DROP DATABASE IF EXISTS {args.db} WITH (FORCE)")
    _admin(base_url, f"CREATE DATABASE {args.db}")
    os.environ["DATABASE_URL"] = bench_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
    try:
        run(args)
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            _admin(base_url, f"DROP DATABASE IF EXISTS {args.db} WITH (FORCE)")


def target_for(items: list[dict]):
    from aggregation.storage.writing import Column, Target

    columns = []
    for n, item in enumerate(items, start=1):
        name = item["name"]
        encrypted = name in ENCRYPTED
        columns.append(Column(name, None if encrypted else f"c{n}", "date" if item["data_type"] == "D" else "text",
                              encrypted, f"m{n}" if name in MASKS else None, MASKS.get(name)))
    key = next(i["name"] for i in items if i.get("is_subject_key"))
    return Target(dataset_id=1, table="pool.r1", key_item=key, columns=tuple(columns))


def create_table(cur, target) -> None:
    """`pool.r1` by the layout module's own DDL (the schema and its sequence come with the migrations)."""
    from aggregation.storage.ddl import create_statements
    from aggregation.storage.layout import Layout

    for statement in create_statements(Layout.of_target(target)):
        cur.execute(statement)


def run(args) -> None:
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    t = time.perf_counter()
    call_command("migrate", verbosity=0)
    print(f"migrate: {time.perf_counter() - t:.1f} s")

    import polars as pl

    from aggregation import demo
    from aggregation.storage import writing
    from aggregation.storage.writing import write_batches

    writing.PREPARE_AHEAD = not args.serial
    if args.workers is not None:
        settings.AGGREGATION = {**settings.AGGREGATION, "WRITE_WORKERS": args.workers}
    from security.crypto import FieldCipher

    items = demo.POPULATION_ITEMS
    header = [i["name"] for i in items]
    target = target_for(items)
    cipher = FieldCipher(settings.FIELD_ENCRYPTION_KEYS, settings.BLIND_INDEX_KEY)
    with connection.cursor() as cur:
        create_table(cur, target)

    tmp = Path(tempfile.mkdtemp(prefix="jz_bench_writer_"))
    path = tmp / "people.csv"
    t = time.perf_counter()
    # In a child process: the generator's set of unique keys must not count in this process's peak RSS.
    import multiprocessing

    child = multiprocessing.get_context("fork").Process(
        target=demo.write_csv, args=(path, header, demo.generated_rows(items, args.rows, seed=1)))
    connection.close()
    child.start()
    child.join()
    print(f"generated {args.rows:,} rows in {time.perf_counter() - t:.1f} s ({path.stat().st_size / 1e6:.0f} MB CSV); "
          f"rss {_rss():.0f} MB")

    # 1. raw COPY of the same rows (the same CSV bytes) into an all-text UNLOGGED table
    with connection.cursor() as cur:
        cur.execute("CREATE UNLOGGED TABLE raw_copy ({})".format(", ".join(f'"{h}" text' for h in header)))
    connection.ensure_connection()
    raw = connection.connection.cursor()
    raw.execute("SELECT pg_backend_pid()")
    backend = raw.fetchone()[0]
    runs = []
    server_cpu = []
    for _ in range(3):  # the median of three: the box is shared, one run can land on a busy second
        raw.execute("TRUNCATE raw_copy")
        t, c = time.perf_counter(), _cpu(backend)
        with open(path, "rb") as fh, raw.copy("COPY raw_copy FROM STDIN (FORMAT csv, HEADER)") as copy:
            while chunk := fh.read(1 << 20):
                copy.write(chunk)
        runs.append(time.perf_counter() - t)
        server_cpu.append(_cpu(backend) - c)
    raw_s = sorted(runs)[1]
    raw.close()
    with connection.cursor() as cur:
        cur.execute("DROP TABLE raw_copy")
    print(f"raw COPY FROM:             {raw_s:6.2f} s  {args.rows / raw_s:>10,.0f} rows/s   "
          f"(median of {', '.join(f'{r:.2f}' for r in runs)} s; server CPU {sorted(server_cpu)[1]:.2f} s)")

    samples: dict[int, float] = {}

    def batches(change=None):
        """The file in batches of --batch rows, parsed by polars as it is read (memory: a batch, not the file);
        `change`: an expression applied to each batch. The current RSS is sampled as every 100 000 rows are read
        (by the writer's producer thread: the process's RSS, whoever holds it)."""
        row_no = 2
        samples.clear()
        with open(path, "rb") as fh:
            head = fh.readline()
            while lines := list(itertools.islice(fh, args.batch)):
                frame = pl.read_csv(io.BytesIO(head + b"".join(lines)), infer_schema=False)
                del lines
                frame = frame.with_columns(pl.int_range(row_no, row_no + frame.height, dtype=pl.Int64).alias("row_no"))
                if (row_no - 2) // 100_000 != (row_no - 2 + frame.height) // 100_000 or frame.height < args.batch:
                    samples[row_no - 2 + frame.height] = _current_rss()
                row_no += frame.height
                yield frame if change is None else frame.with_columns(change)

    t = time.perf_counter()
    for _ in batches():
        pass
    print(f"(reading the file in batches alone: {time.perf_counter() - t:.2f} s, inside every figure below; "
          f"rss {_rss():.0f} MB)")

    first = [0.0]

    def timed(label: str, stream, job_id: int):
        load = os.getloadavg()[0]
        with connection.cursor() as cur:
            cur.execute("SELECT pg_backend_pid()")
            backend = cur.fetchone()[0]
        t, server, mine, kids = time.perf_counter(), _cpu(backend), _own_cpu(), _children_cpu()
        result = write_batches(target, stream, cipher=cipher, job_id=job_id, reason=f"导入任务 #{job_id}")
        s = time.perf_counter() - t
        server, mine, kids = _cpu(backend) - server, _own_cpu() - mine, _children_cpu() - kids
        first[0] = first[0] or s
        phases = ", ".join(f"{k} {v:.1f}" for k, v in result.seconds.items())
        print(f"{label:<26} {s:6.2f} s  {args.rows / s:>10,.0f} rows/s   ({raw_s / s:.1%} of raw COPY; "
              f"{s / first[0]:.0%} of the first load)   (inserted {result.inserted:,}, updated {result.updated:,}, "
              f"unchanged {result.unchanged:,}; phases s: {phases}; load {load:.1f})")
        print(f"    CPU seconds: this process {mine:.2f} (all its threads), its worker processes {kids:.2f}, "
              f"the server's backend {server:.2f}")
        points = sorted(samples)
        shown = [n for n in points if n in (points[0], points[-1]) or n // 250_000 != (n - args.batch) // 250_000]
        print("    current RSS as rows are read: " + ", ".join(f"{n:,}: {samples[n]:.0f} MB" for n in shown))
        return result

    timed("pipeline, first load:", batches(), 1)
    with connection.cursor() as cur:
        cur.execute("SELECT indexrelid::regclass::text, indisvalid FROM pg_index WHERE indrelid = %s::regclass",
                    [target.table])
        print("indexes after the first load:", cur.fetchall())
    timed("pipeline, same again:", batches(), 2)
    changed = (pl.when(pl.col("row_no") % 10 == 2)
               .then(pl.when(pl.col("文化程度") == "研究生").then(pl.lit("小学")).otherwise(pl.lit("研究生")))
               .otherwise(pl.col("文化程度")).alias("文化程度"))
    timed("pipeline, 10 % changed:", batches(changed), 3)
    with connection.cursor() as cur:
        cur.execute(f"SELECT count(*), pg_size_pretty(pg_total_relation_size('{target.table}')) FROM {target.table}")
        count, size = cur.fetchone()
        cur.execute("SELECT count(*) FROM aggregation_recordhistory WHERE dataset_id = %s", [target.dataset_id])
        hist = cur.fetchone()[0]
    print(f"table rows {count:,} ({size} with indexes), history rows {hist:,}")
    print(f"{'serial (no producer thread)' if args.serial else 'producer thread'}, batches of {args.batch:,} rows")
    print(f"peak RSS of this process at {args.rows:,} rows: {_rss():.0f} MB; load average {os.getloadavg()}; "
          f"cores {os.cpu_count()}")
    if args.formats:
        formats(target, pl.read_csv(path, infer_schema=False, n_rows=200_000), cipher)
    import shutil

    shutil.rmtree(tmp, ignore_errors=True)


def formats(target, batch, cipher) -> None:
    """The typed stage's COPY, two ways, on the same rows (the rows are prepared as each way needs them; the
    preparation is timed with it): polars CSV (what writing._stage does) and psycopg's binary COPY with `write_row`
    of Python values (dates parsed, bytes as they are)."""
    import datetime as dt
    import io

    import polars as pl
    from django.db import connection, transaction

    plain = [c for c in target.columns if c.column]
    n = batch.height
    key_hash = [os.urandom(32) for _ in range(n)]
    tokens = cipher.bulk_encryptor().many([f'{{"k":"{v}"}}' for v in batch[target.key_item]])
    columns = ", ".join(f"{c.column} {c.sql_type}" for c in plain)
    with transaction.atomic():
        connection.ensure_connection()
        cur = connection.connection.cursor()
        cur.execute(f"CREATE TEMP TABLE fmt (key_hash bytea, token text, {columns}) ON COMMIT DROP")
        names = ", ".join(["key_hash", "token", *(c.column for c in plain)])

        t = time.perf_counter()
        frame = batch.select(
            (pl.lit("\\x") + pl.Series(key_hash).bin.encode("hex")).alias("key_hash"), pl.Series("token", tokens),
            *(pl.when(pl.col(c.item) != "").then(pl.col(c.item)).alias(c.column) for c in plain))
        buf = io.BytesIO()
        frame.write_csv(buf, include_header=False, null_value="")
        with cur.copy(f"COPY fmt ({names}) FROM STDIN (FORMAT csv)") as copy:
            copy.write(buf.getbuffer())
        csv_s = time.perf_counter() - t
        cur.execute("TRUNCATE fmt")

        t = time.perf_counter()
        date = dt.date.fromisoformat
        cols = [key_hash, tokens] + [
            [date(v) if v else None for v in batch[c.item]] if c.sql_type == "date"
            else [v or None for v in batch[c.item]] for c in plain]
        with cur.copy(f"COPY fmt ({names}) FROM STDIN (FORMAT binary)") as copy:
            copy.set_types(["bytea", "text", *(c.sql_type for c in plain)])
            for row in zip(*cols, strict=True):
                copy.write_row(row)
        binary_s = time.perf_counter() - t
        cur.close()
    print(f"typed stage COPY of {n:,} rows: polars CSV {csv_s:.2f} s ({n / csv_s:,.0f} rows/s), "
          f"psycopg binary write_row {binary_s:.2f} s ({n / binary_s:,.0f} rows/s)")


def _cpu(pid: int) -> float:
    """user + system CPU seconds of a process of this machine (the database server's backend: the bench runs
    beside its server), or nan when /proc does not show it."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _current_rss() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _rss() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    main()
