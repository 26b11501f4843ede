"""The container: refuse what is not a sane .xlsx (size, zip bombs, old .xls, other files) before openpyxl sees it."""

from __future__ import annotations

import io
import zipfile
from xml.etree.ElementTree import iterparse

from django.utils.translation import gettext as _

# Limits of an upload (R8.1): a department's list is hundreds of rows, not millions.
MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_UNCOMPRESSED_BYTES = 200 * 1024 * 1024  # sum of the zip members as they would be inflated
MAX_MEMBER_RATIO = 100  # inflated / compressed, for members above 1 MB: beyond it is a zip bomb
MAX_ZIP_MEMBERS = 500

_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls (BIFF) and password-protected .xlsx


def check_container(data: bytes, filename: str = "") -> str | None:
    """A Chinese reason why `data` cannot be read as an .xlsx workbook, or None when it can be opened."""
    if len(data) > MAX_FILE_BYTES:
        return _("文件过大（%(size).1f MB），上限为 %(max)s MB") % {
            "size": len(data) / 1024 / 1024, "max": MAX_FILE_BYTES // 1024 // 1024}
    if not data:
        return _("文件为空")
    if data.startswith(_OLE_MAGIC):
        return _(
            "这是旧版 Excel 97-2003（.xls）文件或加密的工作簿，"
            "请在 Excel 中另存为「Excel 工作簿（*.xlsx）」且不设密码后再上传"
        )
    if not data.startswith(_ZIP_MAGIC):
        ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
        if ext == "xls":
            return _("这是旧版 Excel 97-2003（.xls）文件，请另存为 .xlsx 后再上传")
        return _(
            "文件不是 Excel 工作簿（.xlsx）：内容不是 xlsx 格式（可能是改了扩展名的文本或其他文件），"
            "请使用下载的模板填写"
        )
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
            if len(members) > MAX_ZIP_MEMBERS:
                return _("文件结构异常（压缩包内文件过多），拒绝处理")
            total = 0
            for info in members:
                total += info.file_size
                if info.file_size > 1024 * 1024 and info.file_size > MAX_MEMBER_RATIO * max(info.compress_size, 1):
                    return _("文件压缩比异常（疑似压缩炸弹），拒绝处理")
            if total > MAX_UNCOMPRESSED_BYTES:
                return _("文件解压后过大（%(size)s MB），上限为 %(max)s MB") % {
                    "size": total // 1024 // 1024, "max": MAX_UNCOMPRESSED_BYTES // 1024 // 1024}
            names = {info.filename for info in members}
            if "xl/workbook.xml" not in names:
                return _("文件不是 Excel 工作簿（.xlsx）：缺少工作簿内容（可能是 Word、WPS 或其他压缩文件）")
    except zipfile.BadZipFile:
        return _("文件已损坏或不是 Excel 工作簿（.xlsx），无法打开")
    return None


def merged_ranges(data: bytes, worksheet_path: str) -> list[str]:
    """The merged ranges of one sheet, read from its XML (a read-only workbook does not expose them)."""
    ranges = []
    with zipfile.ZipFile(io.BytesIO(data)) as archive, archive.open(worksheet_path.lstrip("/")) as src:
        # The stdlib parser resolves no external entities and expat >= 2.4 refuses entity expansion
        # bombs; the sheet is also size-checked by check_container before it gets here.
        for _event, element in iterparse(src):  # noqa: S314
            if element.tag.endswith("}mergeCell"):
                ref = element.get("ref")
                if ref:
                    ranges.append(ref)
            if not element.tag.endswith("}mergeCells"):
                element.clear()
    return ranges

