"""Settings of the sharing benchmark (bench/sharing.py): the dev settings, no DEBUG, plus a bench-only URLconf
that adds the minimal baseline endpoints next to the real API. Never used by the application."""

from config.settings import dev, inherit

inherit(globals(), dev)

DEBUG = False
ROOT_URLCONF = "bench.sharing_urls"
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}
