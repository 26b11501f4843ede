"""bench/report.py reads the figures each bench prints: every parser on its bench's output as printed (samples taken
from a real run of each bench), and each bench still prints the labels its parser keys on — a bench that changes its
output fails here rather than leaving a hole in docs/benchmarks.md."""

from pathlib import Path

import pytest

from bench import report

BENCH = Path(__file__).resolve().parent.parent / "bench"

INGEST = """\
migrate: 29.4 s
generated 100,000 rows, 17 MB in 4.8 s (encrypted items: 公民身份号码, 姓名, 户籍地址)
raw COPY FROM:               0.43 s     230,339 rows/s
pipeline, first load:       15.54 s       6,434 rows/s   (inserted 100,000, updated 0, unchanged 0; 35.8× raw COPY)
pipeline, same file again:  12.03 s       8,313 rows/s   (inserted 0, updated 0, unchanged 100,000; 27.7× raw COPY)
pipeline, 10 % changed:     14.84 s       6,738 rows/s   (inserted 0, updated 10,000, unchanged 90,000; 34.2× raw COPY)
records 100,000, history rows 110,000
"""

WRITER = """\
raw COPY FROM:               0.44 s     228,417 rows/s   (median of 0.44, 0.39, 0.46 s; server CPU 0.14 s)
(reading the file in batches alone: 0.34 s, inside every figure below; rss 222 MB)
pipeline, first load:        4.10 s      24,365 rows/s   (10.7% of raw COPY; 100% of the first load)   (inserted 100,000)
    CPU seconds: this process 1.16 (all its threads), the server's backend 0.67
pipeline, same again:        1.46 s      68,502 rows/s   (30.0% of raw COPY; 36% of the first load)   (inserted 0)
pipeline, 10 % changed:      2.53 s      39,452 rows/s   (17.3% of raw COPY; 62% of the first load)   (inserted 0)
"""  # noqa: E501

SHARING = """\
loaded 100,000 records in 28.0 s (encrypted: 公民身份号码, 姓名, 户籍地址; key 公民身份号码)

export of 100,000 rows: raw COPY TO STDOUT vs GET /api/v1/data/101-BENCH00001/export/?format=csv (in-process)
case                                           raw s  libpq s  raw MB/s  export s    MB/s    rows/s  ratio  blocks  avg KB  RSS MB start→peak
clear items only (no decryption)                0.44     0.44      22.1      0.52    19.2   193,183    85%      51     191      207 → 207
  the same, fingerprint off                     0.44     0.44      22.1      0.50    20.0   201,328    88%      51     190      207 → 207
full grant, all items (3 decryptions/row)       0.58     0.47      67.9      1.25    13.6    80,131    38%      51     326      209 → 209
  the same, fingerprint off                     0.58     0.47      67.9      1.49    11.4    67,335    32%      51     325      209 → 209
masked grant, all items (stored masked forms)    0.64     0.56      27.9      0.69    23.0   145,396    81%      51     303      209 → 209
  the same, fingerprint off                     0.64     0.56      27.9      0.67    23.7   150,273    84%      51     302      209 → 209
last audit event: rows=100000 completed=True masked=['公民身份号码', '出生日期', '姓名', '性别', '户籍地址']

pull, 1 000-row pages, 100 pages: real GET /api/v1/data/101-BENCH00001/records/ vs minimal raw-SQL JSON view
baseline: raw SQL + json.dumps         pages   100     16,032 rows/s  median first 20   57.2 ms  last 20   72.2 ms  (×1.26)  ratio 100%
real, clear items (no decryption)      pages   100     15,805 rows/s  median first 20   54.5 ms  last 20   67.8 ms  (×1.24)  ratio 99%
real, full grant (3 decryptions/row)   pages   100      8,639 rows/s  median first 20  107.4 ms  last 20  121.4 ms  (×1.13)  ratio 54%
depth, baseline             page 1   55.5 ms   page 100   58.0 ms   (×1.04)

online query: gunicorn sync 4×1 on 127.0.0.1:57929, 32 concurrent keep-alive connections from up to 2 Python processes
32 concurrent:
  baseline: DRF, 1 lookup + 1 audit insert         658 ok    0 errors      105 req/s  p50  291.9 ms  p99  375.9 ms
  real: signed online query (full grant)           517 ok    0 errors       80 req/s  p50  395.3 ms  p99  537.3 ms
  ratio real/baseline at 32 concurrent: 76% (target at 32: ≥ 50 %; p99 < 50 ms)
8 concurrent (wrk, 3 rounds of 10 s):
  baseline: DRF, 1 lookup + 1 audit insert       28,200 ok    0 errors      940 req/s  p50    8.1 ms  p90   10.0 ms  p99   13.2 ms  (rounds' p99: 13.2, 12.0, 11.9)
  real: signed online query (full grant)         23,460 ok    2 errors      782 req/s  p50   10.1 ms  p90   12.9 ms  p99   17.1 ms  (rounds' p99: 17.1, 16.0, 15.2)
  ratio real/baseline at 8 concurrent: 83% (target at 32: ≥ 50 %; p99 < 50 ms)

peak RSS of this process: 454 MB
"""  # noqa: E501 — the benches' own line widths

SEARCH = """\
searches: 400 over 20 queries: selectors.master_catalog(user, {'q': q})[:20] (= search_entries over the published catalog, as the master page runs it)
latency ms: p50 8.0  p95 16.6  p99 20.6  max 28.9  (target p95 < 50)
recall: 16036/16036 = 100.00% (entries containing the query in name, summary or item names)
result: PASS
"""  # noqa: E501

SWEEP = """\
floor: the two UPDATEs alone                    0.14 s      4 queries  overdue 11264, reminded 201 (rolled back)
floor: the two UPDATEs alone                    0.21 s      4 queries  overdue 11264, reminded 201 (rolled back)
first run: deadline_sweep()                     1.93 s      6 queries  SweepResult(reminded=201, overdue=11264, notified=11465)
rerun: deadline_sweep() (nothing to do)         0.02 s      6 queries  SweepResult(reminded=0, overdue=0, notified=0)
clocks marked 11465 (overdue 11264, reminded 201), messages 11465: 5,933 clocks/s
ratio: floor 0.14 s / first run 1.93 s = 7%
"""  # noqa: E501

AUDIT = """\
floor: read + canonical JSON + SHA-256       50000 events    3.29 s      15,214 events/s
full verification (verify(full=True))      50000 events    3.70 s      13,509 events/s
of which seal signatures (one Ed25519 check per seal, not per event): 10 seals   0.001 s  126 µs each  (0.0% of the run)
ratio: 89% of the floor — PASS (goal ≥ 50 %)
"""

ASSESSMENT = """\
  totals 40.5 … 97.0, grades {'A': 10, 'B': 40}, 1000 scores
  totals 40.5 … 97.0, grades {'A': 20, 'B': 80}, 2000 scores
one region   50 departments    2.31 s   41 queries
city-wide   100 departments    3.90 s   41 queries
queries independent of the departments: yes; PASS (goal < 30 s, equal query counts)
"""

LOAD = """\
load: gunicorn sync 4×1 on 127.0.0.1:52725; 200 concurrent consumers (asyncio, 2 generator processes, one connection each)

baseline, 200 consumers: 5 s, 6.4 s wall with the calls in flight at the end, peak 200 calls in flight, load generator CPU 0.4 s (6% of one core)
  kind                                              ok  errors  calls/s    MB/s   p50 ms   p99 ms   max ms  errors by cause
  baseline: DRF, 1 lookup + 1 audit insert         858       0    134.7    0.07   1414.0   1647.5   1676.3  -
  all                                              858       0    134.7

mix, 200 consumers: 5 s, 8.2 s wall with the calls in flight at the end, peak 200 calls in flight, load generator CPU 0.3 s (4% of one core)
  kind                                              ok  errors  calls/s    MB/s   p50 ms   p99 ms   max ms  errors by cause
  online query (signed, full grant)                354       0     43.4    0.02   3061.8   4234.7   4263.9  -
  pull, 500-row page (signed, full grant)           69       3      8.5    1.82   3145.6   4282.8   4282.8  HTTP 503: 2, connection: 1
  export, CSV of 5,000 rows (signed, full grant)      21       0      2.6    2.19   3419.2   4415.2   4415.2  -
  minimal endpoint, inside the mix                  25       0      3.1    0.00   2950.1   4001.0   4010.9  -
  all                                              469       3     57.5

ratio mix/baseline calls/s: 40%; online query p50 3061.8 ms against the baseline's 1414.0 ms (×2.17)
errors: 3 — FAIL (goal 0); load average at the end 6.23 2.44 0.96; cores 2
"""  # noqa: E501


def _by_name(figures):
    return {f.name: f for f in figures}


def test_ingest_and_writer_lines_kept_stable_by_contract():
    for sample, again in ((INGEST, "pipeline, same file again"), (WRITER, "pipeline, same again")):
        figures = _by_name(report.parse_ingest(sample))
        assert set(figures) == {"pipeline, first load", again, "pipeline, 10 % changed"}
        assert figures["pipeline, first load"].baseline.startswith("raw COPY FROM 2")
    first = _by_name(report.parse_ingest(INGEST))["pipeline, first load"]
    assert (first.value, first.ratio) == ("6,434 rows/s (15.54 s)", "2.8 %")


def test_sharing_export_pull_and_query_at_each_level_and_load_generator():
    figures = _by_name(report.parse_sharing(SHARING))
    clear = figures["CSV export, clear items only (no decryption)"]
    assert (clear.value, clear.baseline, clear.ratio, clear.goal) == ("0.52 s (193,183 rows/s)", "raw COPY 0.44 s",
                                                                     "85 %", "≥ 80 %")
    full = figures["CSV export, full grant, all items (3 decryptions/row)"]
    assert (full.baseline, full.ratio, full.goal) == ("raw COPY 0.47 s", "38 %", "≥ 30 %")  # the faster raw read
    assert figures["CSV export, masked grant, all items (stored masked forms), fingerprint off"].ratio == "84 %"
    assert figures["pull, 1 000-row pages, full grant (3 decryptions/row)"].ratio == "54 %"
    assert "16,032 rows/s" in figures["pull, 1 000-row pages, clear items (no decryption)"].baseline
    q32, q8 = figures["online query, 32 concurrent"], figures["online query, 8 concurrent"]
    assert (q32.value, q32.ratio) == ("80 req/s, p50 395.3 ms, p99 537.3 ms, 0 errors", "76 %")
    assert q8.value == "782 req/s, p50 10.1 ms, p99 17.1 ms, 2 errors"  # wrk's line: p90 between, rounds after
    assert len(figures) == 6 + 2 + 2


def test_search_sweep_audit_and_assessment():
    search = report.parse_search(SEARCH)
    assert search[0].value == "p50 8.0 ms, p95 16.6 ms, p99 20.6 ms, max 28.9 ms"
    assert search[1].ratio == "100.00 %"
    sweep = report.parse_sweep(SWEEP)
    assert (sweep[0].value, sweep[0].baseline, sweep[0].ratio) == (
        "1.93 s (11465 clocks, 11465 messages, 5,933 clocks/s)", "the two bare UPDATEs 0.14 s", "7 %")
    assert sweep[1].value == "0.02 s"
    (audit,) = report.parse_audit(AUDIT)
    assert (audit.value, audit.ratio) == ("13,509 events/s (3.70 s)", "89 %")
    (assessment,) = report.parse_assessment(ASSESSMENT)
    assert assessment.value == "3.90 s, 41 queries"
    assert assessment.ratio == "×1.69 time, ×1.00 queries"


def test_load_phases_kinds_errors_and_concurrency():
    figures = _by_name(report.parse_load(LOAD))
    pull = figures["load, 200 consumers: pull, 500-row page (signed, full grant)"]
    assert pull.value == "8.5 calls/s, p50 3145.6 ms, p99 4282.8 ms, 3 errors"
    assert pull.baseline == "minimal endpoint alone 134.7 calls/s, p50 1414.0 ms, p99 1647.5 ms"
    inside = figures["load, 200 consumers: minimal endpoint, inside the mix"]
    assert (inside.value, inside.ratio) == ("3.1 calls/s, p50 2950.1 ms, p99 4001.0 ms, 0 errors", "p50 ×2.09")
    total = figures["load, 200 consumers: all kinds (peak 200 in flight)"]
    assert (total.value, total.ratio) == ("57.5 calls/s, 3 errors", "43 % of the calls/s")
    assert len(figures) == 5


@pytest.mark.parametrize("bench", report.BENCHES, ids=lambda b: b.key)
def test_a_bench_without_its_figures_is_reported_not_measured(bench):
    with pytest.raises(report.ParseError):
        bench.parse("migrate: 20.1 s\nTraceback (most recent call last):\n")


# The literal text in each bench's source that its parser's patterns rest on.
LABELS = {
    "ingest.py": ['"raw COPY FROM:', '"pipeline, first load:"', "rows/s"],
    "writer.py": ['"raw COPY FROM:', '"pipeline, first load:"', "rows/s"],
    "sharing.py": ['"\\nexport of {', '"  the same, fingerprint off"', '"baseline: raw SQL + json.dumps"',
                   '"real, clear items (no decryption)"', "pages {len(times):5}", " rows/s  ", "ratio {",
                   '"{level} concurrent:"', " ok {errors:4} errors  {rps:7,.0f} req/s  p50 {p50:6.1f} ms  ",
                   "\"baseline: DRF, 1 lookup + 1 audit insert\"", '"real: signed online query (full grant)"'],
    "catalog_search.py": ['"latency ms: p50 {', '"recall: {', '"searches: {'],
    "deadline_sweep.py": ['"first run: deadline_sweep()"', '"rerun: deadline_sweep() (nothing to do)"',
                          '"clocks marked {', 'f"ratio: floor {best:.2f} s / first run {first:.2f} s = {'],
    "audit_verify.py": ['"floor: read + canonical JSON + SHA-256   {', '"full verification (verify(full=True))  {',
                        'events/s"', '"ratio: {ratio:.0%} of the floor'],
    "assessment.py": ['("one region", half), ("city-wide", full)',
                      "departments  {seconds:6.2f} s  {queries:>3} queries"],
    "violations_detect.py": ["def timed(label: str, fn):", "{elapsed:7.2f} s  {queries:>5} queries"],
    "load.py": ['"baseline, {args.consumers} consumers"', '"mix, {args.consumers} consumers"',
                '"minimal endpoint, inside the mix"',
                "calls in flight, load generator CPU", "print(f\"  {'all':<44} {total_ok:7,}"],
}


@pytest.mark.parametrize("script", sorted(LABELS))
def test_each_bench_still_prints_what_its_parser_reads(script):
    source = (BENCH / script).read_text()
    missing = [label for label in LABELS[script] if label not in source]
    assert not missing, f"bench/{script} no longer prints {missing}: update bench/report.py's parser and this test"
