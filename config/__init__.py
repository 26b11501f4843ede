"""Project wiring (settings, root URLconfs, the Celery app, WSGI): the one package that imports every app.

The Celery app is created here so that it exists as soon as Django's settings load, and `@shared_task`
everywhere binds to it. App code never imports `config` (import-linter contract "wiring"): it reaches the
Celery app through `celery.current_app` or `shared_task`.
"""

from .celery import app as celery_app

__all__ = ("celery_app",)
