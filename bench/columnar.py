"""Benchmark: row processing (clean, validate, encrypt, assemble COPY lines) of a generated 人口 batch, the
per-value Python path against the polars column path (aggregation.ingest.columnar), in one process, alternated.

    .venv/bin/python bench/columnar.py [--rows 200000] [--rounds 3] [--before de9d323] [--xlsx]

No database. The plan is the 12 items of catalog.demo's 户籍人口信息 (公民身份号码 key; the encrypted items as
planning.item_specs decides them from the names), the rows those bench/ingest.py writes to its CSV
(demo.generated_rows, seed 1), handed over as the CSV reader gives them (text, already half-width:
`pretranslated`; `--xlsx`: not pretranslated, as XLSX/JSON rows are).

"Before" is RowProcessor as it was at git revision `--before` (default: the commit before the column path), loaded
from `git show` into this process; "after" is the working tree's. Each round times, over the same 4000-row batches:

1. before: RowProcessor.process (per-value cleaning and converters, then encryption and assembly);
2. after: RowProcessor.process (columnar.Checker, then the same encryption and assembly);
3. after, the clean + validate step alone (columnar.Checker.check).

Prints µs a row for each round (wall clock, and the CPU time of all the process's threads: polars runs its
expressions on a thread pool, POLARS_MAX_THREADS) and the best of each, and checks that both give the same accepted
rows and rejections (COPY text differs: AES-GCM nonces).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _before_module(rev: str):
    """aggregation/ingest/processing.py at `rev`, as a module of the aggregation.ingest package."""
    source = subprocess.run(  # noqa: S603 — git, with a revision given on our own command line
        ["git", "-C", str(ROOT), "show", f"{rev}:aggregation/ingest/processing.py"],  # noqa: S607
        check=True, capture_output=True, text=True).stdout
    name = "aggregation.ingest._processing_before"
    spec = importlib.util.spec_from_loader(name, loader=None)
    module = importlib.util.module_from_spec(spec)
    module.__package__ = "aggregation.ingest"
    sys.modules[name] = module
    exec(compile(source, f"{rev}:aggregation/ingest/processing.py", "exec"), module.__dict__)  # noqa: S102
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--before", default="de9d323", help="git revision of the per-value RowProcessor")
    parser.add_argument("--xlsx", action="store_true", help="rows not pretranslated (as XLSX/JSON rows are)")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
    import django

    django.setup()
    from django.conf import settings

    from aggregation import demo
    from aggregation.ingest import processing
    from aggregation.ingest.planning import Plan, item_specs
    from aggregation.ingest.validation import HALF_WIDTH

    before = _before_module(args.before)
    items = [types.SimpleNamespace(name=i["name"], data_type=i["data_type"], length=i.get("length"),
                                   is_subject_key=i.get("is_subject_key", False), sensitivity="", derived_from="")
             for i in demo.POPULATION_ITEMS]
    key = next(i.name for i in items if i.is_subject_key)
    specs = item_specs(items, key_kind="id_number", encrypted_items=[])
    plan = Plan(dataset_id=1, key_item=key, key_kind="id_number", items=specs,
                keys_spec=settings.FIELD_ENCRYPTION_KEYS, blind_key=settings.BLIND_INDEX_KEY)
    columns = [i.name for i in items]
    mapping = {c: c for c in columns}
    t = time.perf_counter()
    rows = [[str(v) for v in row] for row in demo.generated_rows(demo.POPULATION_ITEMS, args.rows, seed=1)]
    if not args.xlsx:
        rows = [[v.translate(HALF_WIDTH) for v in row] for row in rows]
    batches = list(processing.batched(iter(rows), first_row_no=2))
    print(f"generated {len(rows):,} rows in {time.perf_counter() - t:.1f} s; encrypted: "
          f"{', '.join(s.name for s in specs if s.encrypt)}; masked: "
          f"{', '.join(f'{s.name} ({s.mask_kind})' for s in specs if s.mask_kind)}; "
          f"{'not ' if args.xlsx else ''}pretranslated; {len(batches)} batches")

    def processor(module):
        p = module.RowProcessor(plan, columns, mapping)
        p.pretranslated = not args.xlsx
        return p

    old, new = processor(before), processor(processing)
    checker = new.checker

    def run_old():
        return [old.process(*b) for b in batches]

    def run_new():
        return [new.process(*b) for b in batches]

    def run_check():
        return [checker.check(*b, translated=not args.xlsx) for b in batches]

    a, b = run_old(), run_new()  # warm-up, and the same answers
    assert [r.accepted for r in a] == [r.accepted for r in b]
    assert [r.rejections for r in a] == [r.rejections for r in b]
    assert [r.rows for r in a] == [r.rows for r in b]
    assert [[line.split("\t")[0] for line in r.copy_text.splitlines()] for r in a] == [
        [line.split("\t")[0] for line in r.copy_text.splitlines()] for r in b]
    del a, b
    wall = {"before": [], "after": [], "check": []}
    cpu = {"before": [], "after": [], "check": []}
    for round_no in range(1, args.rounds + 1):
        figures = []
        for label, run in (("before", run_old), ("after", run_new), ("check", run_check)):
            t, c = time.perf_counter(), time.process_time()
            run()
            wall[label].append((time.perf_counter() - t) / len(rows) * 1e6)
            cpu[label].append((time.process_time() - c) / len(rows) * 1e6)
            figures.append(f"{label} {wall[label][-1]:5.2f} ({cpu[label][-1]:5.2f})")
        print(f"round {round_no}: µs a row, wall (CPU of all threads) — " + ", ".join(figures)
              + f"   (load {os.getloadavg()[0]:.1f})")
    for name, times in (("wall", wall), ("CPU", cpu)):
        best = {k: min(v) for k, v in times.items()}
        print(f"best of {args.rounds}, {name}: RowProcessor before {best['before']:.2f} µs a row, after "
              f"{best['after']:.2f} ({best['after'] / best['before']:.2f}×), of which columnar clean + validate "
              f"{best['check']:.2f}")


if __name__ == "__main__":
    main()
