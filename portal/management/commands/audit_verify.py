"""`manage.py audit_verify [--full]`: seal what is pending, verify the audit trail, print the first break.

Without --full the run starts after the last run that found the trail intact; with --full it checks every position
and every event. Exit status 1 when the trail is broken (the first bad position is printed), 0 when it is intact.
"""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandError

from portal.audit_verify import KINDS
from portal.errors import PortalError
from portal.services.audit_chain import audit_chain_verify


class Command(BaseCommand):
    help = "校验审计日志哈希链（增量；--full 全量），发现异常时退出码为 1。"

    def add_arguments(self, parser):
        parser.add_argument("--full", action="store_true", help="从位置 1 起校验全部链位置与事件")

    def handle(self, *args, full: bool = False, **options):
        try:
            run = audit_chain_verify(actor=None, full=full, via="command")
        except PortalError as exc:
            raise CommandError(str(exc.detail)) from exc
        span = f"{run.first_seq}–{run.last_seq}" if run.first_seq else f"无新位置（已校验至 {run.last_seq or 0}）"
        mode = "全量" if run.full else "增量"
        if run.ok:
            self.stdout.write(f"审计日志完好：{mode}校验 {run.checked} 个位置，{span}。")
            return
        self.stderr.write(f"审计日志异常：首个异常位置 {run.break_seq}，类型 {run.break_kind}"
                          f"（{KINDS.get(run.break_kind, '')}）：{run.break_detail}。{mode}校验范围 {span}。")
        sys.exit(1)
