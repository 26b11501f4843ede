"""One benchmark report: run every bench on generated data, parse the figures each prints, write docs/benchmarks.md.

    .venv/bin/python bench/report.py                  # every bench at the small sizes below (≈ 15 min on 2 cores)
    .venv/bin/python bench/report.py --full           # every bench at its own default (full) size (≈ 1 h or more)
    .venv/bin/python bench/report.py --only load,search [--out docs/benchmarks.md] [--logs DIR]

Each bench runs as its own process, in turn, in its own scratch database named after the database of DATABASE_URL
(`<db>_b_<bench>`, so two worktrees sharing a server never drop each other's), and cleans up after itself as it does
when run alone. Its output is parsed by the bench's parser below (each looks only for the lines a bench prints as its
figures; tests/test_bench_report.py checks every parser on each bench's output format). The report lists, for every
figure, the figure, its baseline measured in the same run, the ratio and the goal where one is set, then the machine
(cores, memory, PostgreSQL, load average at start and end, date, commit) and each bench's full output. A bench that
fails, or whose figures cannot be read, is reported as such; the command then exits 1 after writing the report.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
GIT = shutil.which("git") or "/usr/bin/git"
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/jiaozuo_portal"


@dataclass
class Figure:
    name: str
    value: str
    baseline: str = "—"
    ratio: str = "—"
    goal: str = ""


class ParseError(ValueError):
    """A bench's output no longer holds the figure its parser looks for."""


def _num(text: str) -> float:
    return float(text.replace(",", ""))


def _need(pattern: str, text: str, what: str, flags: int = re.M) -> re.Match:
    match = re.search(pattern, text, flags)
    if not match:
        raise ParseError(f"{what}: no line matching {pattern!r}")
    return match


# ------------------------------------------------------------------------------------------------ parsers


def parse_ingest(out: str) -> list[Figure]:
    """bench/ingest.py and bench/writer.py: `raw COPY FROM: … rows/s`, `pipeline, <case>: … s … rows/s` (stable by
    contract); whatever follows the rows/s on a line is ignored."""
    raw = _need(r"^raw COPY FROM:\s+([\d.]+) s\s+([\d,]+) rows/s", out, "raw COPY")
    raw_rate = _num(raw[2])
    figures = []
    for m in re.finditer(r"^(pipeline, [^:\n]+):\s+([\d.]+) s\s+([\d,]+) rows/s", out, re.M):
        rate = _num(m[3])
        figures.append(Figure(m[1], f"{rate:,.0f} rows/s ({_num(m[2]):.2f} s)",
                              f"raw COPY FROM {raw_rate:,.0f} rows/s ({_num(raw[1]):.2f} s)",
                              f"{rate / raw_rate * 100:.1f} %",
                              "first load ≥ 150 000 rows/s (≈ 11.5 % of raw COPY)" if "first" in m[1] else ""))
    if not figures:
        raise ParseError("ingest: no `pipeline, …: … rows/s` line")
    return figures


_EXPORT_ROW = re.compile(r"^(\S.*?|  the same, fingerprint off)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)"
                         r"\s+([\d,]+)\s+(\d+)%\s", re.M)


def parse_export(out: str) -> list[Figure]:
    """bench/sharing.py export: the table after `export of N rows`; ratio = the faster raw read / the export."""
    section = out[_need(r"^export of ([\d,]+) rows", out, "export").start():]
    section = section.split("\nlast audit event", 1)[0]
    figures, case = [], ""
    for m in _EXPORT_ROW.finditer(section):
        name = m[1].strip()
        if name.startswith("the same"):
            name = f"{case}, fingerprint off"
        else:
            case = name
        floor = min(_num(m[2]), _num(m[3]))
        goal = "" if name.endswith("fingerprint off") else ("≥ 30 %" if "decryptions" in name else "≥ 80 %")
        figures.append(Figure(f"CSV export, {name}", f"{_num(m[5]):.2f} s ({_num(m[7]):,.0f} rows/s)",
                              f"raw COPY {floor:.2f} s", f"{m[8]} %", goal))
    if not figures:
        raise ParseError("export: no table row")
    return figures


def parse_pull(out: str) -> list[Figure]:
    """bench/sharing.py pull: `<label> pages N  R rows/s … ratio P%` for the baseline and the two real walks."""
    rows = re.findall(r"^(baseline: raw SQL \+ json\.dumps|real, .+?)\s+pages\s+(\d+)\s+([\d,]+) rows/s.*ratio (\d+)%",
                      out, re.M)
    base = next((r for r in rows if r[0].startswith("baseline")), None)
    real = [r for r in rows if r[0].startswith("real")]
    if base is None or not real:
        raise ParseError("pull: baseline and real lines")
    return [Figure(f"pull, 1 000-row pages, {r[0].removeprefix('real, ')}", f"{_num(r[2]):,.0f} rows/s ({r[1]} pages)",
                   f"raw SQL + json.dumps {_num(base[2]):,.0f} rows/s", f"{r[3]} %",
                   "≥ 80 %" if "clear" in r[0] else "") for r in real]


def parse_query(out: str) -> list[Figure]:
    """bench/sharing.py query (Python or wrk load generator): per concurrency level, the baseline and real lines."""
    figures = []
    for block in re.split(r"^(?=\d+ concurrent)", out, flags=re.M)[1:]:
        level = block.split()[0]
        lines = re.findall(r"^\s+(baseline: .+?|real: .+?)\s+([\d,]+) ok\s+(\d+) errors\s+([\d,]+) req/s\s+p50\s+"
                           r"([\d.]+) ms.*?p99\s+([\d.]+) ms", block, re.M)
        base = next((x for x in lines if x[0].startswith("baseline")), None)
        real = next((x for x in lines if x[0].startswith("real")), None)
        if not base or not real:
            continue
        figures.append(Figure(f"online query, {level} concurrent", f"{_num(real[3]):,.0f} req/s, p50 {real[4]} ms, "
                              f"p99 {real[5]} ms, {real[2]} errors",
                              f"minimal DRF lookup {_num(base[3]):,.0f} req/s, p50 {base[4]} ms, p99 {base[5]} ms",
                              f"{_num(real[3]) / _num(base[3]) * 100:.0f} %", "≥ 50 %; p99 < 50 ms at 32"))
    if not figures:
        raise ParseError("query: no `N concurrent` block with a baseline and a real line")
    return figures


def parse_sharing(out: str) -> list[Figure]:
    return parse_export(out) + parse_pull(out) + parse_query(out)


def parse_search(out: str) -> list[Figure]:
    """bench/catalog_search.py: `latency ms: p50 … p95 … p99 … max …`, `recall: a/b = P%`."""
    lat = _need(r"^latency ms: p50 ([\d.]+)\s+p95 ([\d.]+)\s+p99 ([\d.]+)\s+max ([\d.]+)", out, "search latency")
    recall = _need(r"^recall: (\d+)/(\d+) = ([\d.]+)%", out, "search recall")
    searches = _need(r"^searches: (\d+) over", out, "search count")
    return [Figure(f"catalog search, {searches[1]} searches", f"p50 {lat[1]} ms, p95 {lat[2]} ms, p99 {lat[3]} ms, "
                   f"max {lat[4]} ms", "— (no baseline; goal)", "—", "p95 < 50 ms"),
            Figure("catalog search, recall", f"{recall[1]}/{recall[2]}",
                   f"{recall[2]} entries holding the query (exact)", f"{recall[3]} %", "100 %")]


def parse_sweep(out: str) -> list[Figure]:
    """bench/deadline_sweep.py: `first run: …  S s`, `clocks marked … R clocks/s`, `ratio: floor F s / first run …`."""
    first = _need(r"^first run: deadline_sweep\(\)\s+([\d.]+) s", out, "sweep first run")
    rerun = _need(r"^rerun: deadline_sweep\(\).*?\s([\d.]+) s", out, "sweep rerun")
    marked = _need(r"^clocks marked (\d+) .*?messages (\d+): ([\d,]+) clocks/s", out, "sweep clocks")
    ratio = _need(r"^ratio: floor ([\d.]+) s / first run ([\d.]+) s = (\d+)%", out, "sweep ratio")
    return [Figure("deadline sweep, first run", f"{first[1]} s ({marked[1]} clocks, {marked[2]} messages, "
                   f"{marked[3]} clocks/s)", f"the two bare UPDATEs {ratio[1]} s", f"{ratio[3]} %"),
            Figure("deadline sweep, rerun (nothing due)", f"{rerun[1]} s")]


def parse_audit(out: str) -> list[Figure]:
    """bench/audit_verify.py: the floor and full verification lines (events, s, events/s), `ratio: P% of the floor`."""
    floor = _need(r"^floor: .*?(\d+) events\s+([\d.]+) s\s+([\d,]+) events/s", out, "audit floor")
    full = _need(r"^full verification .*?(\d+) events\s+([\d.]+) s\s+([\d,]+) events/s", out, "audit full")
    ratio = _need(r"^ratio: (\d+)% of the floor", out, "audit ratio")
    return [Figure(f"audit verification, {full[1]} events", f"{_num(full[3]):,.0f} events/s ({full[2]} s)",
                   f"read + canonical JSON + SHA-256 {_num(floor[3]):,.0f} events/s", f"{ratio[1]} %", "≥ 50 %")]


def parse_assessment(out: str) -> list[Figure]:
    """bench/assessment.py: `one region N departments S s Q queries`, `city-wide …`."""
    region = _need(r"^one region\s+(\d+) departments\s+([\d.]+) s\s+(\d+) queries", out, "assessment region")
    city = _need(r"^city-wide\s+(\d+) departments\s+([\d.]+) s\s+(\d+) queries", out, "assessment city")
    return [Figure(f"annual assessment, city-wide ({city[1]} departments)", f"{city[2]} s, {city[3]} queries",
                   f"one region ({region[1]} departments) {region[2]} s, {region[3]} queries",
                   f"×{_num(city[2]) / _num(region[2]):.2f} time, ×{_num(city[3]) / _num(region[3]):.2f} queries",
                   "< 30 s; equal query counts")]


_LOAD_ROW = re.compile(r"^\s+(\S.*?)\s+([\d,]+)\s+([\d,]+)\s+([\d,.]+)\s+([\d.]+)\s+([\d.]+|nan)\s+([\d.]+|nan)"
                       r"\s+([\d.]+|nan)\s", re.M)


def parse_load(out: str) -> list[Figure]:
    """bench/load.py: the baseline and mix phase tables (kind, ok, errors, calls/s, MB/s, p50, p99, max), after each
    phase's `<phase>, N consumers: … peak P calls in flight` line."""
    phases = {}
    for m in re.finditer(r"^(baseline|mix), (\d+) consumers: .*?peak (\d+) calls in flight", out, re.M):
        body = out[m.end():].split("\n\n", 1)[0]
        phases[m[1]] = (m[2], m[3], {r[1]: r for r in _LOAD_ROW.finditer(body)})
    if "baseline" not in phases or "mix" not in phases:
        raise ParseError("load: baseline and mix phases")
    consumers, _peak, rows = phases["baseline"]
    base = next(iter(rows.values()), None)
    if base is None:
        raise ParseError("load: baseline row")
    base_text = f"minimal endpoint alone {_num(base[4]):,.1f} calls/s, p50 {base[6]} ms, p99 {base[7]} ms"
    figures = []
    _c, peak, mix_rows = phases["mix"]
    total = _need(r"^\s+all\s+([\d,]+)\s+([\d,]+)\s+([\d,.]+)\s*$", out[out.index("\nmix, "):], "load total")
    for kind, r in mix_rows.items():
        figures.append(Figure(f"load, {consumers} consumers: {kind}", f"{_num(r[4]):,.1f} calls/s, p50 {r[6]} ms, "
                              f"p99 {r[7]} ms, {r[3]} errors", base_text,
                              f"p50 ×{_num(r[6]) / _num(base[6]):.2f}" if r[6] != "nan" else "—"))
    figures.append(Figure(f"load, {consumers} consumers: all kinds (peak {peak} in flight)",
                          f"{_num(total[3]):,.1f} calls/s, {total[2]} errors", base_text,
                          f"{_num(total[3]) / _num(base[4]) * 100:.0f} % of the calls/s", "0 errors"))
    return figures


@dataclass
class Bench:
    key: str
    title: str
    script: str
    small: list[str]
    full: list[str] = field(default_factory=list)
    parse: object = None
    db_flag: bool = True  # the bench takes --db (else its module's BENCH_DB is set before main())


BENCHES = [
    Bench("ingest", "ingest pipeline (bench/ingest.py)", "bench/ingest.py", ["--rows", "100000"], [], parse_ingest,
          db_flag=False),
    Bench("writer", "resource-table writer (bench/writer.py)", "bench/writer.py", ["--rows", "100000"], [],
          parse_ingest),
    Bench("sharing", "export, pull, online query (bench/sharing.py all)", "bench/sharing.py",
          ["all", "--rows", "100000", "--pages", "100", "--repeat", "2", "--seconds", "6", "--rounds", "2"],
          ["all"], parse_sharing),
    Bench("search", "catalog search (bench/catalog_search.py)", "bench/catalog_search.py",
          ["--entries", "5000", "--searches", "200"], [], parse_search),
    Bench("sweep", "deadline sweep (bench/deadline_sweep.py)", "bench/deadline_sweep.py", ["--clocks", "20000"], [],
          parse_sweep),
    Bench("audit", "audit verification (bench/audit_verify.py)", "bench/audit_verify.py",
          ["--events", "50000", "--repeat", "2"], [], parse_audit),
    Bench("assessment", "annual assessment (bench/assessment.py)", "bench/assessment.py", ["--audit", "200000"], [],
          parse_assessment),
    Bench("load", "load: 200 consumers (bench/load.py)", "bench/load.py", ["--seconds", "15"], [], parse_load),
]

_RUNNER = ("import runpy, sys; sys.argv = [{script!r}] + {args!r}; sys.path.insert(0, {root!r}); "
           "import importlib; m = importlib.import_module({module!r}); m.BENCH_DB = {db!r}; m.main()")


def run_bench(bench: Bench, args: list[str], db: str, log: Path) -> tuple[int, str, float]:
    python = str(ROOT / ".venv/bin/python")
    if bench.db_flag:
        cmd = [python, bench.script, *args, "--db", db]
    else:
        module = bench.script.removesuffix(".py").replace("/", ".")
        cmd = [python, "-c", _RUNNER.format(script=bench.script, args=args, root=str(ROOT), module=module, db=db)]
    t = time.perf_counter()
    with open(log, "w") as err:
        proc = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=err, text=True, check=False)  # noqa: S603
    return proc.returncode, proc.stdout, time.perf_counter() - t


# ------------------------------------------------------------------------------------------------ machine


def machine() -> dict[str, str]:
    import psycopg

    with open("/proc/meminfo") as fh:
        mem_kb = int(next(line for line in fh if line.startswith("MemTotal")).split()[1])
    model = ""
    try:
        with open("/proc/cpuinfo") as fh:
            model = next((line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")), "")
    except OSError:
        pass
    url = os.environ.get("DATABASE_URL", DEFAULT_URL)
    with psycopg.connect(url) as conn:
        pg = conn.execute("SHOW server_version").fetchone()[0]
    commit = subprocess.run([GIT, "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,  # noqa: S603
                            check=False).stdout.strip()
    dirty = subprocess.run([GIT, "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True,  # noqa: S603
                           text=True, check=False).stdout.strip()
    return {"cores": str(os.cpu_count()), "cpu": model, "memory": f"{mem_kb / 1024 / 1024:.1f} GiB",
            "postgresql": pg, "python": platform.python_version(), "os": platform.platform(),
            "commit": commit + (" (with uncommitted changes)" if dirty else "")}


def _load() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def write_report(out: Path, info: dict, results: list[tuple], started: str, load_start: str, load_end: str,
                 full: bool, total_s: float) -> None:
    lines = ["# Benchmarks", "",
             f"Written by `bench/report.py{' --full' if full else ''}` on {started} in {total_s / 60:.1f} min — "
             "do not edit by hand; run the command again. Every baseline was measured in the same run as its figure, "
             "by the same bench; the ratio is the figure against that baseline (as the bench itself states it). "
             "Sizes: " + ("each bench at its default (full) size." if full
                          else "small, as each bench's command line below shows (`--full` for the defaults)."),
             "", "## Machine", "",
             "| | |", "|---|---|",
             f"| cores | {info['cores']} ({info['cpu']}) |", f"| memory | {info['memory']} |",
             f"| PostgreSQL | {info['postgresql']} |", f"| Python | {info['python']} |", f"| OS | {info['os']} |",
             f"| load average (1 / 5 / 15 min) at start | {load_start} |",
             f"| load average at end | {load_end} |", f"| date (UTC) | {started} |", f"| commit | {info['commit']} |",
             "", "The box may be shared with other work: compare ratios, which hold better than absolute figures."
             + (f" **In this run the load average ({load_start} at the start, {load_end} at the end) was above the "
                f"{info['cores']} cores: other work ran alongside, and the absolute figures are lower than the box "
                "gives when quiet.**" if max(float(x) for x in (load_start + " / " + load_end).split(" / "))
                > int(info["cores"]) else ""),
             "", "## Figures", "",
             "| bench | figure | value | baseline (same run) | ratio | goal |", "|---|---|---|---|---|---|"]
    for bench, _args, _rc, _out, _s, figures, problem, _at in results:
        if problem:
            lines.append(f"| {bench.key} | **not measured** | {_cell(problem)} | | | |")
        for f in figures:
            lines.append(f"| {bench.key} | {_cell(f.name)} | {_cell(f.value)} | {_cell(f.baseline)} | "
                         f"{_cell(f.ratio)} | {_cell(f.goal)} |")
    lines += ["", "## Runs", ""]
    for bench, args, rc, output, seconds, _figures, problem, at in results:
        lines += [f"### {bench.title}", "",
                  f"`{bench.script} {' '.join(args)}` — started {at}; {seconds:.0f} s, exit {rc}"
                  + (f" — {problem}" if problem else ""), "",
                  "<details><summary>output</summary>", "", "```", output.rstrip(), "```", "", "</details>", ""]
    out.write_text("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--full", action="store_true", help="each bench at its own default size")
    parser.add_argument("--only", default="", help="comma-separated benches: " + ",".join(b.key for b in BENCHES))
    parser.add_argument("--out", default=str(ROOT / "docs" / "benchmarks.md"))
    parser.add_argument("--logs", default=str(ROOT / "var" / "bench"),
                        help="directory of each bench's output (<bench>.out, <bench>.json) and stderr (<bench>.log)")
    parser.add_argument("--from-logs", action="store_true",
                        help="run nothing: write the report again from the outputs saved in --logs by the last run")
    args = parser.parse_args()
    chosen = [b for b in BENCHES if not args.only or b.key in args.only.split(",")]
    if args.only and len(chosen) != len([k for k in args.only.split(",") if k]):
        parser.error(f"--only: benches are {', '.join(b.key for b in BENCHES)}")
    base_db = urlsplit(os.environ.get("DATABASE_URL", DEFAULT_URL)).path.lstrip("/") or "jiaozuo"
    logs = Path(args.logs)
    logs.mkdir(parents=True, exist_ok=True)
    if args.from_logs:
        meta = json.loads((logs / "run.json").read_text())
        started, load_start, load_end, info, full = (meta["started"], meta["load_start"], meta["load_end"],
                                                     meta["machine"], meta["full"])
    else:
        started = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        load_start, info, full = _load(), machine(), args.full
    t0 = time.perf_counter()
    results = []
    for bench in chosen:
        bench_args = bench.full if full else bench.small
        if args.from_logs:
            saved = json.loads((logs / f"{bench.key}.json").read_text())
            rc, seconds, bench_args, at = saved["rc"], saved["seconds"], saved["args"], saved.get("at", "—")
            output = (logs / f"{bench.key}.out").read_text()
        else:
            at = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC") + f", load average {_load()}"
            print(f"[{time.strftime('%H:%M:%S')}] {bench.key}: {bench.script} {' '.join(bench_args)}", flush=True)
            rc, output, seconds = run_bench(bench, bench_args, f"{base_db}_b_{bench.key}", logs / f"{bench.key}.log")
            (logs / f"{bench.key}.out").write_text(output)
            (logs / f"{bench.key}.json").write_text(json.dumps({"rc": rc, "seconds": seconds, "args": bench_args,
                                                                "at": at}))
        figures, problem = [], ""
        try:
            figures = bench.parse(output)
        except ParseError as exc:
            problem = f"figures not found ({exc})"
        if rc != 0:
            problem = f"exit {rc} (stderr in {logs / (bench.key + '.log')})" + (f"; {problem}" if problem else "")
        print(f"    {seconds:.0f} s, {len(figures)} figures" + (f" — {problem}" if problem else ""), flush=True)
        results.append((bench, bench_args, rc, output, seconds, figures, problem, at))
    if args.from_logs:
        total = sum(r[4] for r in results)
    else:
        total, load_end = time.perf_counter() - t0, _load()
    if not args.from_logs and not args.only:  # --only leaves the whole run's record: --from-logs then merges them
        (logs / "run.json").write_text(json.dumps({"started": started, "load_start": load_start, "load_end": load_end,
                                                   "machine": info, "full": full}, ensure_ascii=False))
    write_report(Path(args.out), info, results, started, load_start, load_end, full, total)
    print(f"wrote {args.out}")
    sys.exit(1 if any(r[6] for r in results) else 0)


if __name__ == "__main__":
    main()
