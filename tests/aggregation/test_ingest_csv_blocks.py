"""polars' reading of a UTF-8 or GB CSV file in blocks of whole records (readers.CsvSource.frames): the same records,
in the same order and with the same numbers, as the csv module reads — wherever the blocks are cut — and memory that
does not grow with the file."""

import csv
import io
import random

import pytest

from aggregation.ingest import readers

VALUES = ["张三", "焦作市解放区\r\n民主路12号", 'He said ""hi""', "a,b", "", "41080219900101123X", "line\nbreak",
          '""', "末尾", "x" * 40]


def _file(tmp_path, rows, newline="\r\n", bom=False, encoding="utf-8"):
    text = io.StringIO()
    writer = csv.writer(text, lineterminator=newline)
    writer.writerow(["编号", "姓名", "地址"])
    writer.writerows(rows)
    path = tmp_path / "rows.csv"
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.getvalue().encode(encoding))
    return path


def _csv_module_rows(path):
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.reader(fh))[1:]


@pytest.mark.parametrize("block", [1, 7, 64, 1000, 1 << 20])
@pytest.mark.parametrize("newline", ["\r\n", "\n"])
def test_blocks_give_the_csv_modules_records_and_numbers_wherever_they_are_cut(tmp_path, monkeypatch, block, newline):
    rng = random.Random(block)
    rows = [[str(n), rng.choice(VALUES), rng.choice(VALUES)] for n in range(300)]
    path = _file(tmp_path, rows, newline=newline, bom=block == 7)
    monkeypatch.setattr(readers, "READ_BLOCK_BYTES", block)
    source = readers.open_source(path, "csv")
    try:
        got, numbers = [], []
        for first, frame in source.frames(path, 50):
            assert frame.height <= 50
            numbers.append(first)
            got += [list(r) for r in frame.fill_null("").iter_rows()]
    finally:
        source.close()
    assert got == _csv_module_rows(path)
    assert numbers == list(range(2, 302, 50))  # batches of exactly 50 records, the header being 1


def test_the_last_record_end_is_the_last_line_end_outside_quotes():
    assert readers._last_record_end(b'a,b\nc,"d\ne') == 4  # the second line end is inside a quoted field
    assert readers._last_record_end(b'a,"x""\n"\nc') == 9  # "" inside a quoted field is data
    assert readers._last_record_end(b'a,"open\nstill open') == 0
    assert readers._last_record_end(b"a,b\r\n") == 5
    assert readers._last_record_end(b"") == 0


def test_a_record_longer_than_a_block_grows_the_block(tmp_path):
    path = _file(tmp_path, [["1", "短", "x"], ["2", "长" + "\n" * 50 + "尾", "y"], ["3", "c", "z"]], newline="\n")
    blocks = list(readers._record_blocks(path, 4))
    assert b"".join(blocks) == path.read_bytes().split(b"\n", 1)[1]
    assert all(b.endswith(b"\n") for b in blocks)
    assert sum(b.count(b'"') % 2 for b in blocks) == 0  # each block holds whole records


def test_a_quote_that_never_closes_stops_the_blocks_early(tmp_path, monkeypatch):
    monkeypatch.setattr(readers, "MAX_RECORD_BYTES", 1000)
    path = tmp_path / "stray.csv"
    path.write_bytes(b'h1,h2\na,"b\n' + b"c,d\n" * 1000)
    blocks = readers._record_blocks(path, 64)
    with pytest.raises(readers.FastReadRefused):
        list(blocks)


def test_memory_does_not_grow_with_the_file(tmp_path, monkeypatch):
    """Blocks are read as the batches are taken: after the first batch, only a block's worth of the file was read."""
    path = _file(tmp_path, [[str(n), "张三", "焦作市解放区民主路12号"] for n in range(20_000)], newline="\n")
    monkeypatch.setattr(readers, "READ_BLOCK_BYTES", 64 << 10)
    opened = []
    real_open = open

    def counting_open(*args, **kwargs):
        fh = real_open(*args, **kwargs)
        opened.append(fh)
        return fh

    monkeypatch.setattr(readers, "open", counting_open, raising=False)
    source = readers.open_source(path, "csv")
    try:
        frames = source.frames(path, 1000)
        next(frames)
        reader = opened[-1]
        assert reader.tell() <= 2 * (64 << 10) < path.stat().st_size / 4
        frames.close()
    finally:
        source.close()


@pytest.mark.parametrize("encoding", ["gbk", "gb18030"])
def test_a_gb_file_is_transcoded_a_block_at_a_time(tmp_path, monkeypatch, encoding):
    rng = random.Random(3)
    rows = [[str(n), rng.choice(VALUES), rng.choice(VALUES) + "𠀀" * (encoding == "gb18030")] for n in range(200)]
    path = _file(tmp_path, rows, encoding=encoding)
    monkeypatch.setattr(readers, "READ_BLOCK_BYTES", 100)
    source = readers.open_source(path, "csv", encoding=encoding)
    try:
        got = [list(r) for _, frame in source.frames(path, 64) for r in frame.fill_null("").iter_rows()]
    finally:
        source.close()
    assert got == rows
