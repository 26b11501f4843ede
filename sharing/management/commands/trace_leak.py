"""`manage.py trace_leak FILE [--resource CODE] [--since YYYY-MM-DD] [--by USERNAME]`: name the export a leaked
file came from (R25.1; sharing.export.leaks, sharing.export.fingerprint).

FILE: a CSV file of a bulk download (whole or a few hundred of its rows; the `#` line and the header may be gone,
the rows shuffled; CRLF or LF; UTF-8 or GB18030), an XLSX download, or any text holding a pushed table's `trace`
column. Prints the best candidates — trace id, who (user or API client), department, when, grant, purpose,
resource, and the score (matching / informative rows) — then the export named, or "no match" and exit status 1
when nothing passes the threshold (score ≥ 0.9 and a chance of at most one in a million, over all candidates,
that a download the rows did not come from scores as well). The candidates are the trail's CSV downloads of the rows'
width: `--resource` and `--since` narrow them, and fewer candidates need fewer rows (each matching row divides the
chance by ≈ 2.3 with 6 columns, ≈ 2.9 with 12: 30 rows of 6 columns name their download among tens of thousands of
candidates). Each run is audited (`security.leak.traced`: the file's name, size and SHA-256, the verdict and the best
scores).
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from portal.models import User
from sharing.export.leaks import threshold_text
from sharing.services.leaks import leak_trace

SHOWN = 5


def _line(info: dict) -> str:
    grant = f"授权 #{info['grant']}" if info.get("grant") else "无授权（依职责）"
    where = f" → {info['target']}" if info.get("target") else ""
    return (f"{info['kind']} {info['trace']}: {info['who']}（{info['department']}） {info['at']}，{grant}，"
            f"用途 {info['purpose']}，资源 {info['resource']}{where}，{info['rows']} 行")


class Command(BaseCommand):
    help = "Name the bulk download or push run a leaked file came from (fingerprint of its rows, trace ids in it)."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--resource", default=None, help="only downloads of this resource code")
        parser.add_argument("--since", default=None, help="only downloads from this day on (YYYY-MM-DD)")
        parser.add_argument("--by", default=None, help="the security administrator running it (username)")

    def handle(self, *args, file: str, resource: str | None, since: str | None, by: str | None, **options):
        path = Path(file)
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"cannot read {file}: {exc.strerror}") from None
        try:
            day = dt.date.fromisoformat(since) if since else None
        except ValueError:
            raise CommandError("--since: YYYY-MM-DD") from None
        actor = None
        if by:
            actor = User.objects.filter(username=by, is_active=True).first()
            if actor is None:
                raise CommandError(f"--by: no active account {by!r}")
        result = leak_trace(actor=actor, raw=raw, name=path.name, resource=resource, since=day)

        out = self.stdout
        out.write(f"{path.name}: {result.rows} data rows, {result.informative} informative, "
                  f"{len(result.ranked)} candidate downloads")
        for n, cand in enumerate(result.ranked[:SHOWN], 1):
            out.write(f"  {n}. score {cand.score:.3f} ({cand.matched}/{cand.informative} rows, "
                      f"chance ≤ {cand.chance:.1e})  {_line(cand.info)}")
        for info, count in result.written:
            out.write(f"  trace id written in the file ({count}×): {_line(info)}")
        named = result.named
        if named is None:
            best = result.ranked[0] if result.ranked else None
            why = (f"best score {best.score:.3f} over {best.informative} informative rows, chance ≤ {best.chance:.1e}"
                   if best else "no candidate")
            out.write(f"no match ({why}; threshold: {threshold_text()})")
            sys.exit(1)
        how = (f"fingerprint, score {named['score']:.3f} ({named['matched']}/{named['informative']} rows)"
               if named["evidence"] == "fingerprint" else f"trace id written in the file ({named['occurrences']}×)")
        out.write(f"named: {_line(named)} — {how}")
