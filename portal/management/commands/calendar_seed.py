"""`manage.py calendar_seed`: add the years a newer chinese-calendar release covers (never overwrites)."""

from django.core.management.base import BaseCommand

from portal.services.calendar import calendar_seed_from_library


class Command(BaseCommand):
    help = "Seed working-day calendar years that the installed chinese-calendar covers and the table lacks."

    def handle(self, *args, **options):
        years = calendar_seed_from_library()
        self.stdout.write(f"added years: {', '.join(map(str, years)) or 'none'}")
