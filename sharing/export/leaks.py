"""Which export a leaked file came from (R25.1; `manage.py trace_leak`, the security administrator's tool).

Two kinds of evidence, both looked up in the audit trail:

1. **The rows' fingerprint** (sharing.export.fingerprint) — a CSV file, whole or a few hundred of its rows, with or
   without its `#` line and header, in any order. Candidates: the trail's bulk CSV downloads
   (`sharing.data.read` with `method: "download"`, `format: "csv"` and a `trace`), narrowed by `--resource` and
   `--since` and to those whose width (items + the verification column) is the rows' width; each is scored
   (fingerprint.trace_rows) and the best one is named only above the threshold (fingerprint.named: score ≥ 0.9 and
   at most a one-in-a-million chance, over all candidates, that a download the rows did not come from scores so).
2. **Trace ids written in the file** — the `#` line of a CSV download, an XLSX download's document properties and
   hidden `trace` column, a pushed table's `trace` column (sharing.push.target) in whatever form it leaked (CSV, SQL
   dump, JSON): every 32-hex-digit word of the text (of every part of an XLSX/ZIP file) that is the trace of a
   download or push run in the trail. These are plain text anyone can delete or copy, so they are reported beside
   the fingerprint's verdict and name the export only when the rows carry no fingerprint verdict.

The file is read as bytes (a parser that normalises quoting would lose the fingerprint).
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from collections import Counter
from dataclasses import dataclass, field

from django.utils import timezone

from portal.models import AuditEvent

from .download import VERIFICATION_COLUMN
from .fingerprint import MAX_FALSE_NAME, MIN_SCORE, Candidate, leaked_rows, named, trace_rows

TRACE_WORD = re.compile(rb"(?<![0-9a-fA-F])[0-9a-f]{32}(?![0-9a-fA-F])")
ZIP_MEMBER_BYTES = 64 << 20  # read at most this much of one part of an XLSX (a zip bomb reads no further)
TRACED_ACTIONS = ("sharing.data.read", "sharing.push.delivered", "sharing.push.failed")


@dataclass
class Tracing:
    """What a leaked file says: its rows' scores (best first), the download they name, trace ids written in it."""

    rows: int = 0
    informative: int = 0
    ranked: list[Candidate] = field(default_factory=list)
    best: Candidate | None = None
    written: list[tuple[dict, int]] = field(default_factory=list)  # (export, times its trace id occurs)

    @property
    def named(self) -> dict | None:
        if self.best is not None:
            return {**self.best.info, "evidence": "fingerprint", "score": round(self.best.score, 4),
                    "matched": self.best.matched, "informative": self.best.informative}
        if len(self.written) == 1:
            info, count = self.written[0]
            return {**info, "evidence": "trace id in the file", "occurrences": count}
        return None


def export_info(event: AuditEvent) -> dict:
    """Who, department, when, grant, purpose, resource of a download's or push run's event."""
    data = event.data or {}
    push = event.action.startswith("sharing.push.")
    return {
        "trace": data.get("trace"), "event": event.pk, "kind": "push" if push else "download",
        "format": data.get("format", "") if not push else "",
        "who": event.actor_label, "department": event.department.name if event.department_id else "",
        "at": timezone.localtime(event.occurred_at).isoformat(timespec="seconds"),
        "grant": data.get("grant"), "purpose": data.get("purpose", ""), "resource": data.get("resource", ""),
        "rows": data.get("rows"), "target": data.get("target", "") if push else "",
        "items": data.get("items") or [],
    }


def _downloads(*, resource: str | None, since: dt.date | None):
    qs = (AuditEvent.objects.filter(action="sharing.data.read", data__method="download", data__format="csv",
                                    data__has_key="trace")
          .select_related("department").order_by("-id"))
    if resource:
        qs = qs.filter(data__resource=resource)
    if since:
        qs = qs.filter(occurred_at__gte=timezone.make_aware(dt.datetime.combine(since, dt.time.min)))
    return qs


def candidates(*, widths: set[int], resource: str | None = None, since: dt.date | None = None) -> list[Candidate]:
    """The trail's CSV downloads as fingerprint candidates (only those of a width the leaked rows have)."""
    out = []
    for event in _downloads(resource=resource, since=since).iterator(chunk_size=2000):
        width = len(event.data.get("items") or []) + 1
        if width in widths and event.data.get("trace"):
            out.append(Candidate(trace=event.data["trace"], width=width, info=export_info(event)))
    return out


def _texts(raw: bytes):
    """The file's bytes, or those of each part of a ZIP file (XLSX), each at most ZIP_MEMBER_BYTES."""
    if not raw.startswith(b"PK\x03\x04"):
        yield raw
        return
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            for info in archive.infolist():
                with archive.open(info) as member:
                    yield member.read(ZIP_MEMBER_BYTES)
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError):
        yield raw


def written_traces(raw: bytes) -> Counter:
    found: Counter = Counter()
    for text in _texts(raw):
        found.update(m.decode() for m in TRACE_WORD.findall(text))
    return found


def trace_file(raw: bytes, *, resource: str | None = None, since: dt.date | None = None) -> Tracing:
    result = Tracing()
    rows = [] if raw.startswith(b"PK\x03\x04") else leaked_rows(raw, header_last=VERIFICATION_COLUMN)
    result.rows = len(rows)
    result.informative = sum(1 for r in rows if r.carriers)
    if result.informative:
        widths = {r.width for r in rows if r.carriers}
        result.ranked = trace_rows(rows, candidates(widths=widths, resource=resource, since=since))
        result.best = named(result.ranked)
    found = written_traces(raw)
    if found:
        events = (AuditEvent.objects.filter(action__in=TRACED_ACTIONS, data__trace__in=list(found))
                  .select_related("department").order_by("id"))
        by_trace = {}
        for event in events:
            by_trace.setdefault(event.data["trace"], event)  # a push run's trace is in one event
        result.written = [(export_info(e), found[t]) for t, e in by_trace.items()]
    return result


def threshold_text() -> str:
    return f"score ≥ {MIN_SCORE:g} and chance × candidates ≤ {MAX_FALSE_NAME:g}"
