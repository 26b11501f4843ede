"""pytest: real PostgreSQL and Redis (./portal.sh test picks the local server or the embedded one)."""

import os

os.environ.setdefault("SECRET_KEY", "test-only-not-secret")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/jiaozuo_portal")
# Fixed, public, non-secret field keys: never use them outside development and tests.
os.environ.setdefault("FIELD_ENCRYPTION_KEYS", "test1:KprsXFZGTWgT8t8xSdDfLbJDBbcgiHAz0bmxVBz52KU")
os.environ.setdefault("BLIND_INDEX_KEY", "Do8hQCKqWuJDTk5QRSLGlC2kI3BAVYp4H_liMSKAN3I")
os.environ.setdefault("PUSH_ALLOWED_HOSTS", "127.0.0.1,::1,localhost")
os.environ.setdefault("DOCUMENT_SIGNING_KEY", "Ar0hCzBqqQJJnPVQ7j3BBaqbNEknXQdbqBSCvpPeLmk")
os.environ.setdefault("AUDIT_SEAL_KEY", "qFSTzFqpk9_OPvezxxz3zHcNehEI2AZW8RsjmdDSKjk")
os.environ.setdefault("EXPORT_TRACE_KEY", "E7OkWl7FoJt51uDVYEOyVBvdJdJO5wjKmfs-7N6ZGVE")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")

from config.settings import base, inherit

inherit(globals(), base)

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed only; production uses PBKDF2
STORAGES = {**base.STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
DATABASES = {**base.DATABASES, "default": {**base.DATABASES["default"], "CONN_MAX_AGE": 0}}
ALLOWED_HOSTS = ["*"]
# Parallel runs (pytest -n): each worker's cache keys (nonces, throttle counters, the API-client generation) under its
# own prefix in the one Redis db, so one worker's clean-up does not wipe another's keys mid-test.
CACHES = {**base.CACHES, "default": {**base.CACHES["default"], "KEY_PREFIX": os.environ.get("PYTEST_XDIST_WORKER", "")}}
# Every page any test renders is checked for duplicate ids, labels that name nothing, non-ISO date inputs, inline
# script or style and a Content-Security-Policy header without 'unsafe-inline': first, so it sees that header.
MIDDLEWARE = ["portal.html_checks.HtmlIntegrityMiddleware", *base.MIDDLEWARE]
