"""`manage.py audit_bundle --date YYYY-MM-DD [--out FILE]`: write one day's audit bundle (portal.audit_bundle).

The file (gzip of JSON lines) holds the positions sealed that day, their events, links and signed seals, the seal
public keys and the predecessor hash; `python clients/audit_verify_bundle.py FILE` checks it without the portal.
The export is audited (`portal.audit.bundle_exported`).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from portal.services.audit_chain import audit_bundle_export


class Command(BaseCommand):
    help = "导出某日审计日志封存包（事件、哈希链、签名封存批次、公钥），供外部独立校验。"

    def add_arguments(self, parser):
        parser.add_argument("--date", required=True, help="日期 YYYY-MM-DD（按封存时间，本地时区）")
        parser.add_argument("--out", help="输出文件（默认 audit-YYYY-MM-DD.jsonl.gz）")

    def handle(self, *args, date: str, out: str | None = None, **options):
        try:
            day = dt.date.fromisoformat(date)
        except ValueError as exc:
            raise CommandError(f"日期格式应为 YYYY-MM-DD：{date}") from exc
        path = Path(out or f"audit-{day.isoformat()}.jsonl.gz")
        with path.open("wb") as fh:
            facts = audit_bundle_export(actor=None, day=day, out=fh, via="command")
        span = f"位置 {facts.first_seq}–{facts.last_seq}" if facts.first_seq else "当日无封存批次"
        self.stdout.write(f"{path}：{day} {span}，{facts.events} 条事件，{facts.seals} 个封存批次，"
                          f"SHA-256 {facts.sha256}")
