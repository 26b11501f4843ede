"""Local development: ./portal.sh up."""

import os
from pathlib import Path

import environ

# ./portal.sh up writes the URLs of the services it started (embedded or configured) here, so a
# plain `manage.py shell` talks to the same database; real environment variables still win.
_PORTAL_ENV = Path(__file__).resolve().parents[2] / "var" / "portal.env"
if _PORTAL_ENV.exists():
    environ.Env.read_env(_PORTAL_ENV, overwrite=False)

os.environ.setdefault("SECRET_KEY", "dev-only-not-secret-jiaozuo-portal")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/jiaozuo_portal")
# Fixed, public, non-secret field keys: never use them outside development and tests.
os.environ.setdefault("FIELD_ENCRYPTION_KEYS", "dev1:z4Qy6oafOP75odaBtQBV_i2liNZCBdxNtaVcZ1isaAw")
os.environ.setdefault("BLIND_INDEX_KEY", "kiOaw4n4bFzbhDrubuPcRM5Q0OS7WswK7scsAAyyX4I")
os.environ.setdefault("PUSH_ALLOWED_HOSTS", "127.0.0.1,::1,localhost")
os.environ.setdefault("DOCUMENT_SIGNING_KEY", "a2lIzhPZ4EHQZJTZBp3wz0wMb4L3SSOEzftbW_NoP7Q")
os.environ.setdefault("AUDIT_SEAL_KEY", "snrONt76ZnkLz5TiQeJL3W01YkC2oP87Bm-_6w_7hNo")
os.environ.setdefault("EXPORT_TRACE_KEY", "YRiVRpZo0iK-LpZCEEKJrPo-uaWktIOQI5LX5CN4k70")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")

from config.settings import base, inherit  # noqa: E402 — after the environment defaults above

inherit(globals(), base)

DEBUG = base.env.bool("DEBUG", default=True)
ALLOWED_HOSTS = ["*"]
if DEBUG:  # DRF's browsable API while developing (its pages carry inline code: never outside DEBUG)
    REST_FRAMEWORK = {**base.REST_FRAMEWORK, "DEFAULT_RENDERER_CLASSES": [
        *base.REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"], "rest_framework.renderers.BrowsableAPIRenderer"]}
