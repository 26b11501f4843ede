"""焦作市大数据平台门户: project package and platform kernel."""

from .celery import app as celery_app

__all__ = ("celery_app",)
