"""`manage.py audit_purge --before YYYY-MM-DD [--archive-dir DIR]`: archive and delete the audit trail's positions
sealed before that day (portal.services.audit_retention). Run it with the database owner's credentials (the role that
runs `migrate`): the delete goes through the owner's function `portal_audit_purge`, which the application role may
not execute. With docker-compose, the migrate service connects as the owner:

    docker compose run --rm migrate python manage.py audit_purge --before 2026-01-01 --archive-dir /app/var/archive

Exit 0 after a purge; 2 when refused (cut-off younger than the retention floor — six months at least —, trail not
intact or not verified that far, nothing to purge), with the refusal's code and its message.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from portal.errors import PortalError
from portal.services.audit_retention import audit_purge


class Command(BaseCommand):
    help = "清理早于截止日期的审计日志（至少保留 6 个月）：先全量校验、导出封存包归档，再删除并记录清理事件。"

    def add_arguments(self, parser):
        parser.add_argument("--before", required=True, help="截止日期 YYYY-MM-DD：清理此日之前封存的日志")
        parser.add_argument("--archive-dir", help="封存包归档目录（默认 var/audit-archive）")

    def handle(self, *args, before: str, archive_dir: str | None = None, **options):
        try:
            day = dt.date.fromisoformat(before)
        except ValueError as exc:
            raise CommandError(f"日期格式应为 YYYY-MM-DD：{before}") from exc
        target = Path(archive_dir) if archive_dir else Path(settings.BASE_DIR) / "var" / "audit-archive"
        try:
            purge = audit_purge(before=day, archive_dir=target)
        except PortalError as exc:
            self.stderr.write(f"{exc.code}: {exc.detail}")
            sys.exit(2)
        self.stdout.write(f"已清理位置 {purge.first_seq}–{purge.last_seq}（{purge.count} 条事件），"
                          f"归档 {len(purge.bundles)} 个封存包于 {target}：")
        for bundle in purge.bundles:
            self.stdout.write(f"  {bundle['file']}  SHA-256 {bundle['sha256']}")
