"""Parallel CSV ingestion (aggregation.ingest.parallel): worker processes over byte ranges give exactly what one process
gives — the same rows in the same order, the same rejections with the file's row numbers — fall back to one
process when a cut lands inside a quoted field, and work inside a daemonic (Celery prefork) process."""

from pathlib import Path

import billiard
import pytest

from aggregation.choices import JobStatus
from aggregation.ingest import parallel
from aggregation.ingest.planning import plan_for
from aggregation.ingest.processing import RowProcessor, batched
from aggregation.ingest.readers import CsvSource
from aggregation.selectors.pools import record_get, record_values
from aggregation.services.pools import dataset_ensure
from tests.aggregation.builders import PEOPLE_ITEMS, csv_bytes, ids, person, report_rows, submit
from tests.support import stored_count

pytestmark = pytest.mark.django_db

HEADER = [i[0] for i in PEOPLE_ITEMS]


@pytest.fixture
def two_workers(settings, monkeypatch):
    """Every file is read by 2 processes, in ranges of about 1 KB (many cuts in a small file)."""
    settings.AGGREGATION = {**settings.AGGREGATION, "INGEST_WORKERS": 2, "INGEST_PARALLEL_MIN_BYTES": 0,
                            "INGEST_CSV_READER": "csv"}  # (a UTF-8 file would be read by polars' reader)
    monkeypatch.setattr(parallel, "CHUNK_BYTES", 1024)


def mixed_rows(n: int = 120) -> list[list[str]]:
    """Valid rows, bad keys, a quoted newline, full-width digits, blank lines and a key repeated far apart."""
    keys = ids(n)
    rows = [person(k, f"张{i}") for i, k in enumerate(keys)]
    rows[5][0] = keys[5][:17] + ("0" if keys[5][17] != "0" else "1")  # check digit
    rows[17][4] = "河南省焦作市解放区\n民主路12号"  # quoted newline (short: no cut falls inside it at 1 KB)
    rows[30][0] = keys[30].translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    rows[44] = []  # blank line
    rows[61][3] = "1990-02-30"  # no such day
    rows[99][0] = keys[3]  # the same subject again, later in the file: the last occurrence wins
    return rows


def stage_view(results):
    """(key hash, row digest) in stage order, and the rejections, from processed chunks."""
    results = list(results)
    lines = [line.split("\t") for r in results for line in r.copy_text.splitlines()]
    return [(f[1], f[4]) for f in lines], [x for r in results for x in r.rejections]


def processed(path: Path, plan, workers: int):
    source = CsvSource(path)
    try:
        mapping = {c: c for c in source.columns}
        if workers == 1:
            processor = RowProcessor(plan, source.columns, mapping)
            processor.pretranslated = True
            return stage_view(processor.process(*b) for b in batched(source.rows(), first_row_no=2))
        the_layout = parallel.layout(path, source, chunk=1024)
        assert the_layout is not None and len(the_layout.ranges) > 4
        chunks = parallel.results(path, source, the_layout, plan, mapping, workers)
        return stage_view(c.result for c in chunks)
    finally:
        source.close()


@pytest.mark.parametrize(("encoding", "newline", "bom"), [("utf-8", "\n", False), ("gbk", "\r\n", False),
                                                          ("utf-8", "\r\n", True)])
def test_two_processes_stage_what_one_process_stages(people_entry, tmp_path, encoding, newline, bom):
    path = tmp_path / "people.csv"
    path.write_bytes(csv_bytes(mixed_rows(), encoding=encoding, newline=newline, bom=bom))
    plan = plan_for(dataset_ensure(entry=people_entry))
    one = processed(path, plan, 1)
    two = processed(path, plan, 2)
    assert two == one
    rows, rejections = two
    assert len(rows) == 117  # 120 − blank − 2 bad; the repeated key is still staged twice (dedupe comes next)
    assert [(r[0], r[1]) for r in rejections] == [(7, "公民身份号码"), (63, "出生日期")]


def test_a_job_read_by_two_processes(two_workers, staff, people_entry):
    rows = mixed_rows()
    keys = ids(120)
    job = submit(staff, people_entry, csv_bytes(rows, encoding="gbk", newline="\r\n"), mode="load_valid")
    assert job.status == JobStatus.SUCCEEDED, job.log
    assert "2 个进程" in job.log
    assert (job.total_rows, job.accepted_rows, job.rejected_rows, job.duplicate_rows) == (119, 117, 2, 1)
    assert stored_count() == 116
    assert record_values(record_get(dataset=job.dataset, key=keys[3]), decrypt=True)["姓名"] == "张99"
    assert record_values(record_get(dataset=job.dataset, key=keys[17]), decrypt=True)["户籍地址"] == \
        "河南省焦作市解放区\n民主路12号"
    assert record_get(dataset=job.dataset, key=keys[30]) is not None  # full-width digits made half-width
    report = report_rows(job)
    assert [r[:2] for r in report[1:3]] == [["7", "公民身份号码"], ["63", "出生日期"]]
    # the duplicate key, with the file's record numbers of both rows (across the two processes' ranges)
    assert report[3] == ["5", "公民身份号码", report[3][2], "文件内重复主键（第 5、101 行），以第 101 行为准"]
    assert len(report) == 4 and "*" in report[3][2]  # masked for a reader without "load"


def test_a_cut_inside_a_quoted_field_falls_back_to_one_process(two_workers, staff, people_entry, monkeypatch):
    monkeypatch.setattr(parallel, "CHUNK_BYTES", 256)
    keys = ids(40)
    rows = [person(k) for k in keys]
    rows[20][4] = "备注\n" * 60  # 420 bytes of quoted lines: a cut every ≈ 300 bytes lands inside it
    job = submit(staff, people_entry, csv_bytes(rows))
    assert job.status == JobStatus.SUCCEEDED, job.log
    assert "引号内" in job.log and (job.total_rows, job.inserted_rows) == (40, 40)
    values = record_values(record_get(dataset=job.dataset, key=keys[20]), decrypt=True)
    assert values["户籍地址"] == ("备注\n" * 60).strip()  # cleaning trims the last line feed, as always


def test_bad_bytes_in_a_later_range_name_the_files_line(two_workers, staff, people_entry, monkeypatch):
    # Past the 1 MB sample that the encoding is detected on, so the file is taken as UTF-8 and split.
    monkeypatch.setattr(parallel, "CHUNK_BYTES", 256 << 10)
    lines = csv_bytes([person(k) for k in ids(100)] * 160).split(b"\n")
    lines[15_000] = lines[15_000].replace("张三".encode(), b"\xff\xfe")
    job = submit(staff, people_entry, b"\n".join(lines))
    assert job.status == JobStatus.REJECTED
    assert "第 15001 行附近无法按 utf-8 解码" in job.log, job.log
    assert stored_count() == 0


def _in_pool_child(path: str, plan) -> tuple:
    source = CsvSource(Path(path))
    try:
        the_layout = parallel.layout(Path(path), source, chunk=1024)
        chunks = parallel.results(Path(path), source, the_layout, plan, {c: c for c in source.columns}, 2)
        return stage_view(c.result for c in chunks)
    finally:
        source.close()


def test_works_inside_a_daemonic_pool_process(people_entry, tmp_path):
    """Celery's prefork children are daemonic: multiprocessing refuses to start children there."""
    path = tmp_path / "people.csv"
    path.write_bytes(csv_bytes(mixed_rows()))
    plan = plan_for(dataset_ensure(entry=people_entry))
    with billiard.Pool(1) as pool:
        assert pool.apply(_in_pool_child, (str(path), plan)) == processed(path, plan, 1)


def test_layout_cuts_after_line_feeds_and_declines_what_it_cannot_cut(tmp_path):
    rows = [person(k) for k in ids(60)]
    path = tmp_path / "people.csv"
    path.write_bytes(csv_bytes(rows, newline="\r\n", bom=True))
    source = CsvSource(path)
    the_layout = parallel.layout(path, source, chunk=512)
    source.close()
    data = path.read_bytes()
    starts = [a for a, _b in the_layout.ranges]
    ends = [b for _a, b in the_layout.ranges]
    assert starts[0] == data.index(b"\r\n") + 2 and the_layout.header_lines == 1  # after the BOM and the header line
    assert starts == [starts[0], *ends[:-1]] and ends[-1] == len(data)  # contiguous, the whole data part
    assert all(data[end - 1:end] == b"\n" for end in ends)

    def declined(content: bytes) -> bool:
        other = tmp_path / "other.csv"
        other.write_bytes(content)
        src = CsvSource(other)
        try:
            return parallel.layout(other, src, chunk=512) is None
        finally:
            src.close()

    assert declined(csv_bytes(rows, newline="\r"))  # bare CR line ends
    assert declined(b"\xff\xfe" + csv_bytes(rows).decode().encode("utf-16-le"))  # UTF-16: b"\n" is half a character
    assert declined(csv_bytes(rows[:3]))  # one range only: nothing to share
