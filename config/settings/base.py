"""Settings shared by every environment; everything deployment-specific comes from the environment."""

from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.utils.translation import gettext_lazy as _
from kombu import Queue

BASE_DIR = Path(__file__).resolve().parent.parent.parent
env = environ.Env()

SECRET_KEY = env("SECRET_KEY")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
CSRF_FAILURE_VIEW = "portal.views.errors.csrf_failure"  # Chinese, and no inline style for the CSP to block

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "guardian",
    "django_celery_beat",
    "django_htmx",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "portal",
    "security",
    "catalog",
    "aggregation",
    "sharing",
    "supervision",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "portal.middleware.LanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",  # request.user.otp_device: the device that verified this session, or None
    "portal.middleware.RequestContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Signed in but idle longer than the setting `session_idle_minutes`: signed out, to the login page saying so.
    "portal.middleware.SessionIdleMiddleware",
    # Two-factor login (等保 8.1.4.1 d): a signed-in session that still owes its second factor reaches only the verify
    # and enrolment pages and logout; other pages redirect there, API calls answer 403 otp_required. Before the
    # password-expiry check: verify first, then the forced password change.
    "portal.middleware.TwoFactorMiddleware",
    # A password older than the setting `password_max_age_days` (admin and bureau roles): to the change page, API 403.
    "portal.middleware.PasswordExpiryMiddleware",
    # 三员分立: an administrator's account reaches its own pages and the account pages, nothing else (404).
    "portal.confinement.ConfinementMiddleware",
    # Last: turns a lockout flagged during the request into the login page saying so (AXES_LOCKOUT_CALLABLE).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

# Content-Security-Policy (django-csp 4): every script and style comes from the portal's own static files — no inline
# <script>, <style>, style="…" or on…= attribute anywhere (templates read data from data-* attributes; htmx is told not
# to inject its indicator style). The test settings check every rendered page for inline code (portal/html_checks.py).
# The only exception is the ReDoc page (config/urls.py), scoped to that view.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
        "base-uri": [SELF],
        "object-src": [NONE],
    },
}

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.context_processors.portal",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False  # services own their transactions
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # The same backend, with the health check skipped for a connection used moments ago (portal/dbbackend/base.py).
    DATABASES["default"]["ENGINE"] = "portal.dbbackend"
    # A session whose client process died (a Celery child killed mid-job) is ended by PostgreSQL within 2 s, even in
    # the middle of a long statement or a lock wait, so the locks it held (a theme build's job row) go with it and
    # the worker's parent can fail the job at once (portal.services.jobs.worker_lost).
    _options = DATABASES["default"].setdefault("OPTIONS", {})
    _options["options"] = " ".join(filter(None, [_options.get("options"), "-c client_connection_check_interval=2000"]))
# Read replica (a PostgreSQL streaming standby) for the data API's record reads (portal/db_router.py,
# docs/operator-guide.md). Unset: one database, nothing routed. The session is read-only, so a write sent there by
# mistake fails instead of landing in a database that replays the primary.
if env("DATABASE_REPLICA_URL", default=""):
    DATABASES["replica"] = {
        **env.db("DATABASE_REPLICA_URL"),
        "ENGINE": DATABASES["default"]["ENGINE"],
        "ATOMIC_REQUESTS": False,
        "CONN_MAX_AGE": DATABASES["default"]["CONN_MAX_AGE"],
        "CONN_HEALTH_CHECKS": True,
        "TEST": {"MIRROR": "default"},
    }
    DATABASES["replica"]["OPTIONS"] = {
        **DATABASES["default"].get("OPTIONS", {}),
        "options": " ".join(filter(None, [DATABASES["default"].get("OPTIONS", {}).get("options"),
                                          "-c default_transaction_read_only=on"])),
    }
    DATABASE_ROUTERS = ["portal.db_router.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL")
CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}

AUTH_USER_MODEL = "portal.User"
AUTHENTICATION_BACKENDS = [
    # First: refuses every attempt (the right password too) while the account or the source address is locked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
ANONYMOUS_USER_NAME = None  # guardian: no anonymous user row; anonymous callers see nothing
GUARDIAN_MONKEY_PATCH_USER = False
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "portal.validators.CharacterClassValidator"},
    {"NAME": "portal.validators.UsernameNotInPasswordValidator"},
    {"NAME": "portal.services.passwords.PasswordHistoryValidator", "OPTIONS": {"keep": 5}},
]
# Login lockout (等保 8.1.4.1 b, R28.1): 5 failures within 15 minutes lock for 30 minutes, per account and, apart,
# per source address. axes itself counts a failure streak (one AccessAttempt counter per username/IP/user agent,
# kept while the last failure is younger than the cool-off), which is not a 15-minute window: the portal's handler
# decides from axes' own failure log instead (portal/lockout.py, README "Login lockout").
AXES_FAILURE_LIMIT = 5
LOGIN_FAILURE_WINDOW = timedelta(minutes=15)  # not an axes setting: read by portal.lockout
AXES_COOLOFF_TIME = timedelta(minutes=30)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # two separate locks, not their combination
AXES_HANDLER = "portal.lockout.PortalAxesHandler"
AXES_ENABLE_ACCESS_FAILURE_LOG = True  # the failures the handler counts
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False  # a lock lasts 30 minutes from the failure that set it
AXES_DISABLE_ACCESS_LOG = True  # logins and logouts are in the audit trail (portal/signals.py)
AXES_CLIENT_IP_CALLABLE = "portal.middleware.client_ip"  # the same address the audit trail records
AXES_LOCKOUT_CALLABLE = "portal.views.account.locked_out"
AXES_USERNAME_FORM_FIELD = "username"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# Two-factor login (TOTP, django-otp; portal/services/twofactor.py decides who must use it). Mandatory for the bureau,
# assessor, county-bureau and administrator roles and for anyone who enrolled; the security administrator's setting
# otp_required_for_all (/security/settings/) makes it mandatory for all.
OTP_TOTP_ISSUER = env("OTP_TOTP_ISSUER", default="焦作市大数据平台门户")  # the account's title in the authenticator app
# Wrong codes on one device: the next attempt waits 1, 2, 4, 8 … seconds (django-otp's exponential throttle).
OTP_TOTP_THROTTLE_FACTOR = 1
OTP_STATIC_THROTTLE_FACTOR = 1
SESSION_COOKIE_AGE = 30 * 60  # 等保 8.1.4.1 b: idle sessions end after 30 minutes
# 等保 8.1.4.1 b: a session idle longer than the setting `session_idle_minutes` (5–120, default 30) is ended by
# portal.middleware.SessionIdleMiddleware, which says so on the login page. The cookie outlives the longest allowed
# idle time so the middleware still finds the session to say it; past this age the session is simply gone.
SESSION_COOKIE_AGE = 8 * 60 * 60
SESSION_SAVE_EVERY_REQUEST = True  # sliding expiry
SESSION_COOKIE_HTTPONLY = True

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "var" / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "var" / "media")
MEDIA_URL = "/media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # API clients' signed calls (SPEC §9.1); answers None unless X-Client-Id is present.
        "security.signing.authentication.ClientSignatureAuthentication",
        # Token first: its WWW-Authenticate header makes unauthenticated calls answer 401, not 403.
        "portal.api.authentication.PersonalTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # drf-spectacular's, plus every operation's error answers derived from its view (portal.api.schema).
    "DEFAULT_SCHEMA_CLASS": "portal.api.schema.PortalAutoSchema",
    "EXCEPTION_HANDLER": "portal.exceptions.api_exception_handler",
    "DEFAULT_PAGINATION_CLASS": "portal.api.pagination.CursorPagination",
    # Lists read their query parameters through a FilterSet (each app's api/filters.py, on portal.api.params).
    "DEFAULT_FILTER_BACKENDS": ["portal.api.params.StrictFilterBackend"],
    "PAGE_SIZE": 50,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # Per API client, rate from its own row (ApiClient.rate_per_minute), counted in the Redis cache.
    "DEFAULT_THROTTLE_CLASSES": ["security.signing.throttling.ClientRateThrottle"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "portal.api.negotiation.FirstRendererNegotiation",
    # JSON only: DRF's browsable API (its templates carry inline script and style) is for development (dev.py).
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "焦作市大数据平台门户 API",
    "DESCRIPTION": "Jiaozuo government data-resource portal, REST API v1. Errors: {\"code\", \"detail\"}.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # Several lists filter on a `state`: the catalog entry's gets its own name (else `StateF01Enum`, and a warning).
    "ENUM_NAME_OVERRIDES": {
        "CatalogEntryStateEnum": "catalog.choices.EntryState",
        "ProjectCheckEnum": "supervision.choices.CheckItem",
        "ProjectDeclaredCheckEnum": "supervision.choices.DECLARED_CHOICES",
        "ApiClientStateEnum": "sharing.choices.ClientState",
        "ThemeTriggerEnum": "aggregation.choices.ThemeTrigger",  # a build's trigger and a theme's rebuild reason
        "ErrorCodeEnum": "portal.api.codes.CODE_CHOICES",  # the `Error` schema's codes (portal.api.codes)
    },
}

CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
# A pool child that dies under its task: the message is acknowledged, not requeued (no second run of a job behind the
# user's back), and the worker's parent fails the job at once (portal.services.jobs.worker_lost, docs/architecture.md).
CELERY_TASK_REJECT_ON_WORKER_LOST = False
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# The broker lost while a task runs (Redis restarted): the task runs to its end (an import commits, a push run
# delivers), and the message it could not acknowledge, if the broker kept it, is delivered again — a no-op or a clean
# resume by each job's state machine. Celery 6 will cancel such tasks by default (the warning a worker prints on a
# connection loss, which this setting does not silence, says so): pinned here.
# Tested in tests/faults/test_faults.py (Redis killed mid-push).
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Queues (docs/operator-guide.md, "scaling out"): the long data jobs get their own queues so a pool of workers on
# other hosts can take them (`celery -A config worker -Q ingest`, `-Q push`) while the short beat tasks stay on the
# default queue `celery`. Every queue is declared here, so a worker started without -Q (./portal.sh, docker-compose,
# CI) consumes all of them and one worker keeps running everything. The bulk download has no task: it is streamed by
# the web process that answers it.
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_QUEUES = [Queue("celery"), Queue("ingest"), Queue("push")]
CELERY_TASK_ROUTES = {
    "aggregation.tasks.ingest_job_run": {"queue": "ingest"},
    "aggregation.theme_build": {"queue": "ingest"},  # a theme build is a bulk load of the theme's table
    "sharing.tasks.push_run": {"queue": "push"},
}
CELERY_BEAT_SCHEDULE = {
    "portal.deadline_sweep": {"task": "portal.tasks.deadline_sweep", "schedule": crontab(minute="*/15")},
    "portal.audit_seal": {"task": "portal.tasks.audit_seal", "schedule": timedelta(seconds=30)},
    # The trail's verification (portal.services.audit_chain): incremental from the last intact run, and all of it
    # nightly (a break is announced to the audit and security administrators).
    "portal.audit_verify": {"task": "portal.tasks.audit_verify", "schedule": crontab(minute="7,22,37,52")},
    "portal.audit_verify_full": {"task": "portal.tasks.audit_verify", "schedule": crontab(hour=1, minute=40),
                                 "kwargs": {"full": True}},
    # Long jobs of every kind an app registered (portal.services.jobs.register_job_kind) whose worker went quiet.
    # Supervision (R35, R36): violations detected from the evidence, daily after the nightly jobs; notice-of-criticism
    # drafts for overdue rectification orders, a few minutes after each deadline sweep.
    "supervision.violations_detect": {"task": "supervision.tasks.violations_detect",
                                      "schedule": crontab(hour=2, minute=30)},
    "supervision.notices_draft_overdue": {"task": "supervision.tasks.notices_draft_overdue",
                                          "schedule": crontab(minute="5,20,35,50")},
    "portal.jobs_reap": {"task": "portal.tasks.jobs_reap", "schedule": timedelta(minutes=1)},
    "sharing.grant_expire": {"task": "sharing.tasks.grant_expire", "schedule": crontab(minute=5)},
    "aggregation.datasets_sync": {"task": "aggregation.tasks.datasets_sync", "schedule": timedelta(minutes=10)},
    # R15.1 data quality figures, nightly (after the day's loads; set-based, idempotent per dataset and day).
    "aggregation.quality_nightly": {"task": "aggregation.quality_nightly", "schedule": crontab(hour=2, minute=30)},
    # R35.5: every resource table checked whole for changes made around the application, before the violations'
    # detection files what it found (supervision.violations_detect at 02:30).
    "aggregation.integrity_sweep": {"task": "aggregation.integrity_sweep", "schedule": crontab(hour=1, minute=50)},
    # Theme databases (R13.2) stay fresh: every theme is due nightly; a source's load makes it due after the debounce
    # window; the sweep queues one build per due theme (set-based, race-safe).
    "aggregation.themes_schedule": {"task": "aggregation.themes_schedule", "schedule": crontab(hour=3, minute=30)},
    "aggregation.themes_rebuild_due": {"task": "aggregation.themes_rebuild_due", "schedule": timedelta(minutes=1)},
    "sharing.push_due": {"task": "sharing.tasks.push_due", "schedule": timedelta(minutes=1)},  # R22.1 database push
    # Accounts unused for the setting `inactive_disable_days` are disabled (等保 8.1.4.2 d), nightly.
    "portal.disable_inactive": {"task": "portal.tasks.disable_inactive", "schedule": crontab(hour=3, minute=10)},
    # R28.4 leak monitoring: hourly measures, baselines and anomalies of the previous full hour (idempotent per hour).
    "security.leak_monitor": {"task": "security.tasks.leak_monitor", "schedule": crontab(minute=5)},
    # RP.2: completed informatization projects whose resources are not in the catalog are flagged (set-based).
    "supervision.project_catalog_check": {"task": "supervision.tasks.project_catalog_check",
                                          "schedule": crontab(hour=4, minute=20)},
}

# Field encryption at rest (R28.3, security/crypto.py): "kid:base64url(32 bytes)" comma-separated, the first
# encrypts, all decrypt (rotation: put the new key first, run `manage.py rotate_field_keys`, drop the old one).
FIELD_ENCRYPTION_KEYS = env("FIELD_ENCRYPTION_KEYS")
BLIND_INDEX_KEY = env("BLIND_INDEX_KEY")
# R26.1 document signatures (security/documents.py): base64 of the raw 32-byte Ed25519 private key.
DOCUMENT_SIGNING_KEY = env("DOCUMENT_SIGNING_KEY")
# R29.1 the audit trail's seals (portal.audit): base64 of the raw 32-byte Ed25519 private key that signs every seal
# of the hash chain. Never in the database: a database superuser who rewrites events and links cannot re-sign.
# No default: the settings refuse to load without it (dev/test carry fixed, public, non-secret keys).
AUDIT_SEAL_KEY = env("AUDIT_SEAL_KEY")
# Retired seal keys' PUBLIC halves (base64 of the raw 32 bytes, comma-separated): seals signed before a rotation
# stay verifiable by their kid. Outside the database for the same reason as the key itself.
AUDIT_SEAL_PUBLIC_KEYS = env.list("AUDIT_SEAL_PUBLIC_KEYS", default=[])
# Leak tracing (R25.1, sharing/export/fingerprint.py): base64url(32 bytes); each bulk download's fingerprint key is
# HMAC(this, the call's trace id). Kept out of the database (the audit trail holds only the trace ids), so whoever
# reads the trail cannot forge or strip another download's fingerprint. Changing it: files downloaded before can no
# longer be traced by their rows (only by their header line, XLSX properties or hidden column).
EXPORT_TRACE_KEY = env("EXPORT_TRACE_KEY")

AGGREGATION = {
    # Uploads larger than this are refused before a job starts (bytes).
    "MAX_UPLOAD_BYTES": env.int("AGGREGATION_MAX_UPLOAD_BYTES", default=2 * 1024**3),
    # XLSX: refuse archives that unpack to more than this, or with a higher compression ratio (zip bombs).
    "MAX_XLSX_UNPACKED_BYTES": env.int("AGGREGATION_MAX_XLSX_UNPACKED_BYTES", default=2 * 1024**3),
    "MAX_XLSX_RATIO": 200,
    # A running ingest job whose heartbeat is older than this is marked failed by the reaper (seconds).
    "STALE_JOB_SECONDS": env.int("AGGREGATION_STALE_JOB_SECONDS", default=300),
    # Processes that parse/validate/encrypt beside the one that COPYs (1 = all in the job's process).
    "INGEST_WORKERS": env.int("AGGREGATION_INGEST_WORKERS", default=0),  # 0: one per core (aggregation.ingest.parallel)
    # How a UTF-8 or GB CSV file is read: "polars" — polars' own multi-threaded reader, a block of records at a time,
    # whenever it reads the file exactly as the csv module does (ingest.readers.CsvSource.frames; else the csv module's
    # way below); "csv" — always the csv module (in the parser processes for large files). bench/README.md, issue 18.
    "INGEST_CSV_READER": env.str("AGGREGATION_INGEST_CSV_READER", default="polars"),
    # CSV files from this size on are read by those processes; smaller ones by the job's own process, since each
    # parser process first pays Django's start-up (≈ 1.25 s on a 2-core box: break-even ≈ 12–15 MB there).
    "INGEST_PARALLEL_MIN_BYTES": env.int("AGGREGATION_INGEST_PARALLEL_MIN_BYTES", default=16 << 20),
    # work_mem of the upsert transaction (SET LOCAL): enough to sort and hash a million staged rows in memory
    # (256MB spilled to disk: first load of 1 M rows 19 s → 15 s of writing, an unchanged re-load 8.7 s → 4.8 s).
    # A cap per sort or hash, not an allocation; lower it on a small database server.
    "INGEST_WORK_MEM": env.str("AGGREGATION_INGEST_WORK_MEM", default="1536MB"),
    # A first load into an empty resource table builds its B-trees after the COPY, by one sort in this much memory
    # (aggregation.storage.writing; 1 M blind indexes: 0.6 s in memory against 6.5 s kept up row by row).
    "INGEST_MAINTENANCE_WORK_MEM": env.str("AGGREGATION_INGEST_MAINTENANCE_WORK_MEM", default="512MB"),
    # A theme whose source loaded new data is rebuilt this long after the first such load (seconds): the loads
    # that arrive meanwhile are in the same build (services.themes.themes_sources_loaded).
    "THEME_REBUILD_DEBOUNCE_SECONDS": env.int("AGGREGATION_THEME_REBUILD_DEBOUNCE_SECONDS", default=300),
    # Issue 18's switch, contract step (transitional): False (the default) — the writers write the resource tables
    # `pool.r<id>` only; True — the old path: they write `aggregation_record` and mirror it into the tables
    # (storage.moving.mirror), kept for one release as the way back on switch day (docs/operator-guide.md).
    "WRITE_RECORDS": env.bool("AGGREGATION_WRITE_RECORDS", default=False),
}

PORTAL = {
    # Working days the bureau has to decide a sharing request (R19.3, 国发〔2016〕51号: 10).
    "SHARING_REVIEW_WORKING_DAYS": env.int("SHARING_REVIEW_WORKING_DAYS", default=10),
    # The consumer is reminded this many days before a grant ends, so it can apply again in time.
    "SHARING_GRANT_NOTICE_DAYS": 30,
    # Where database push may connect: the consumers' registered 前置库 host names and IP networks (CIDR),
    # comma-separated. Empty (the production default) allows no push target at all.
    "PUSH_ALLOWED_HOSTS": env.list("PUSH_ALLOWED_HOSTS", default=[]),
    # A push run that sent no heartbeat (one per batch delivered) for this long is marked failed, "interrupted",
    # by the reaper (seconds); the next run resumes from the last acknowledged watermark.
    "PUSH_STALE_SECONDS": env.int("PUSH_STALE_SECONDS", default=600),
    # Reminders go out this many working days before a deadline falls due (SPEC R0.4).
    "REMINDER_WORKING_DAYS": 2,
    # The sealer chains at most this many audit events per transaction.
    "AUDIT_SEAL_BATCH": 5000,
    # How far an honest event may lag in the chain (seconds): a transaction commits its event up to this long after
    # writing it, and the verifier (portal.audit_verify) counts an unchained event, or a chained one whose time
    # precedes its predecessor's, as a break only beyond it. Longer than the longest transaction that writes events.
    "AUDIT_SEAL_LAG_SECONDS": env.int("PORTAL_AUDIT_SEAL_LAG_SECONDS", default=600),
    # Seals up to this chain position may be unsigned (a trail sealed before signed seals existed: set it once, at the
    # upgrade, to the last position then sealed). Every later seal must carry a valid signature. 0: all signed.
    "AUDIT_SEAL_UNSIGNED_UPTO": env.int("PORTAL_AUDIT_SEAL_UNSIGNED_UPTO", default=0),
    # Retention (R29.1): `manage.py audit_purge` refuses a cut-off younger than this many days; never below 183
    # (six months), whatever is set here.
    "AUDIT_RETENTION_MIN_DAYS": env.int("PORTAL_AUDIT_RETENTION_MIN_DAYS", default=183),
    # The data calls' hot reads and the audit insert as server-side prepared statements (portal.db). Turn off behind a
    # transaction-pooling proxy that cannot keep them (pgbouncer before 1.21 in transaction mode).
    "PREPARED_READS": env.bool("PORTAL_PREPARED_READS", default=True),
    # 等保 8.1.4.1 a: these roles change their password every `password_max_age_days` (a security setting, default
    # 90); until they do, every page sends them to the password change page (PasswordExpiryMiddleware).
    "PASSWORD_MAX_AGE_ROLES": [
        "system_admin", "security_admin", "audit_admin", "bureau_reviewer", "assessor", "county_bureau",
    ],
    # The reverse proxies whose X-Real-IP header names a request's source address (CIDR, comma-separated); from any
    # other peer the header is ignored (portal.middleware.client_ip: the audit trail's IP, lockouts, API-client
    # allow-lists). Default: a proxy on the same host.
    "TRUSTED_PROXIES": env.list("PORTAL_TRUSTED_PROXIES", default=["127.0.0.1/32", "::1/128"]),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "INFO"},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

NAV_TITLE = _("焦作市大数据平台门户")

# The annual assessment's PDF report (supervision/report.py): a CJK TrueType collection, first face (Micro Hei).
ASSESSMENT_PDF_FONT = env("ASSESSMENT_PDF_FONT", default="/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
