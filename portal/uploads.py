"""The one check of an uploaded document (evidence of a verification case, an emergency plan, …): its type by
extension AND by content (the extension is the uploader's word; docx and xlsx are zip containers), its size, not
empty. Chapters give their own label and allowed types; the messages are Chinese and name the file."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import PurePath

from django.utils.translation import gettext as _

DOCUMENT_TYPES = {
    ".pdf": "application/pdf",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
MAGIC = {".pdf": b"%PDF", ".jpg": b"\xff\xd8\xff", ".jpeg": b"\xff\xd8\xff", ".png": b"\x89PNG",
         ".docx": b"PK\x03\x04", ".xlsx": b"PK\x03\x04"}
MAX_BYTES = 10 * 1024 * 1024


def upload_problem(upload, *, label: str, types: dict[str, str] = DOCUMENT_TYPES, allowed: str = "",
                   max_bytes: int = MAX_BYTES) -> str | None:
    """Why `upload` is refused as a `label` (e.g. 证明材料), or None. `allowed` names the types in the message
    (default: the extensions of `types`, upper case)."""
    name = getattr(upload, "name", "") or ""
    suffix = PurePath(name).suffix.lower()
    if suffix not in types:
        allowed = allowed or "、".join(dict.fromkeys(s.lstrip(".").upper() for s in types))
        return _("%(label)s“%(name)s”的类型不允许，仅限 %(allowed)s") % {"label": label, "name": name,
                                                                   "allowed": allowed}
    if upload.size > max_bytes:
        return _("%(label)s“%(name)s”超过 %(mb)d MB") % {"label": label, "name": name, "mb": max_bytes // 2**20}
    if upload.size == 0:
        return _("%(label)s“%(name)s”是空文件") % {"label": label, "name": name}
    upload.seek(0)
    head = upload.read(8)
    upload.seek(0)
    if not head.startswith(MAGIC[suffix]):
        return _("%(label)s“%(name)s”的内容与扩展名不符") % {"label": label, "name": name}
    return None


@dataclass(frozen=True)
class UploadFacts:
    original_name: str  # without any path, at most 200 characters
    size: int
    content_type: str  # by the extension `upload_problem` accepted
    sha256: str


def upload_facts(upload, *, types: dict[str, str] = DOCUMENT_TYPES) -> UploadFacts:
    """What a stored document records of an upload that passed `upload_problem`: its name, size, content type and
    SHA-256 (read in chunks; the file is rewound for saving)."""
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    name = PurePath(upload.name)
    return UploadFacts(original_name=name.name[:200], size=upload.size, content_type=types[name.suffix.lower()],
                       sha256=digest.hexdigest())
