"""Sniffing an uploaded file: its format by content, its text encoding by a sample."""

from __future__ import annotations

import codecs
from pathlib import Path

from charset_normalizer import from_bytes

from ..choices import JobFormat
from .errors import IngestError

SAMPLE_BYTES = 1 << 20


_GB_FAMILY = {"gbk", "gb2312", "gb18030", "cp936", "hz", "hz_gb_2312", "hz-gb-2312", "euc_cn", "big5", "cp950"}


def detect_encoding(sample: bytes) -> str:
    """utf-8-sig when there is a BOM, utf-8 when the sample decodes, else charset-normalizer's guess.

    GBK and GB2312 guesses become GB18030 (their superset: what Excel in China writes, plus rare characters
    in names). UTF-16 with BOM is honoured (Excel's "Unicode text").
    """
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of the sample is not an error.
        if exc.start >= len(sample) - 3 and exc.reason == "unexpected end of data":
            return "utf-8"
    try:
        sample.decode("gb18030")
        return "gb18030"  # Chinese office files: prefer GB18030 whenever it decodes cleanly
    except UnicodeDecodeError as exc:
        if exc.start >= len(sample) - 1:
            return "gb18030"
    best = from_bytes(sample[:65536]).best()
    if best is None:
        raise IngestError("无法识别文件编码（不是文本文件？）")
    name = best.encoding.lower()
    return "gb18030" if name in _GB_FAMILY or name.startswith("gb") else name


def sniff_format(path: Path, original_name: str) -> str:
    """csv / xlsx / json by content (a renamed file is judged by what it is), falling back to the name."""
    with open(path, "rb") as fh:
        head = fh.read(8)
    suffix = Path(original_name).suffix.lower()
    if head.startswith(b"PK\x03\x04"):
        return JobFormat.XLSX
    if suffix == ".xlsx":
        if not head:
            raise IngestError("文件为空")
        raise IngestError("文件扩展名为 .xlsx，但内容不是 XLSX 工作簿")
    if suffix == ".json" or suffix == ".jsonl":
        return JobFormat.JSON
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith((b"[", b"{")):
        return JobFormat.JSON
    return JobFormat.CSV
