"""Local development: ./portal.sh up."""

import os

os.environ.setdefault("SECRET_KEY", "dev-only-not-secret-jiaozuo-portal")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/jiaozuo_portal")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")

from .base import *  # noqa: F403

DEBUG = env.bool("DEBUG", default=True)  # noqa: F405
ALLOWED_HOSTS = ["*"]
