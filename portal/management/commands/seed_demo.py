"""`manage.py seed_demo`: demo organisations, accounts and each chapter's demo data. Idempotent."""

from importlib import import_module

from django.apps import apps
from django.core.management.base import BaseCommand

from portal.demo import DEMO_PASSWORD, seed_organisations

# Each chapter may provide `<app>.demo.seed(stdout)`; they run in dependency order.
CHAPTERS = ["catalog", "aggregation", "sharing", "security", "supervision"]


class Command(BaseCommand):
    help = "Create demo departments, one account per role, and chapter demo data (safe to run again)."

    def handle(self, *args, **options):
        accounts = seed_organisations()
        for label in CHAPTERS:
            if not apps.is_installed(label):
                continue
            try:
                module = import_module(f"{label}.demo")
            except ModuleNotFoundError:
                continue
            module.seed(self.stdout)
        self.stdout.write(self.style.SUCCESS(f"演示账号 / demo accounts (password for all: {DEMO_PASSWORD})"))
        width = max(len(u) for u, _n, _r in accounts)
        for username, full_name, roles in accounts:
            self.stdout.write(f"  {username.ljust(width)}  {roles}  ({full_name})")
