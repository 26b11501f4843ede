# Production image of the portal. One image runs every role of docker-compose.yml: gunicorn (the default
# command), the one-shot migrate job, the celery worker and celery beat.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=config.settings.production

WORKDIR /app

# Chinese glyphs for the assessment's PDF report (supervision/report.py, setting ASSESSMENT_PDF_FONT).
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-wqy-microhei \
    && rm -rf /var/lib/apt/lists/*

# Dependencies before the code, so an edit to the code reuses this layer. Only [project].dependencies
# (exact pins): the embedded and dev extras are for developers' machines. The project itself is not a
# package ([tool.setuptools] packages = []), so the pins are read from pyproject.toml, not pip install .
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install --no-input -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

COPY . .

# Static files are part of the image (whitenoise serves them from STATIC_ROOT = /app/var/staticfiles).
# The settings insist on these variables; collectstatic connects to neither service, so dummies do.
RUN SECRET_KEY=collectstatic-only \
    DATABASE_URL=postgres://build@localhost:5432/build \
    REDIS_URL=redis://localhost:6379/0 \
    FIELD_ENCRYPTION_KEYS=k1:collectstatic-only BLIND_INDEX_KEY=collectstatic-only DOCUMENT_SIGNING_KEY=collectstatic-only \
    AUDIT_SEAL_KEY=collectstatic-only EXPORT_TRACE_KEY=collectstatic-only \
    python manage.py collectstatic --noinput --verbosity 0 \
    && useradd --system --uid 10001 --user-group --home-dir /app --shell /usr/sbin/nologin portal \
    && mkdir -p /app/var/media \
    && chown portal:portal /app/var/media

# The code and static files stay root-owned and read-only to the process; only media is writable.
USER portal
EXPOSE 8000
# Worker count: gunicorn reads WEB_CONCURRENCY (docker-compose.yml sets it); threaded workers: config/gunicorn.py.
CMD ["gunicorn", "-c", "config/gunicorn.py", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--access-logfile", "-", "--error-logfile", "-"]
