"""Settings for the portal, read from the environment in this one place.

With no environment set the portal runs embedded: a SQLite file, Celery tasks run eagerly in
the web process, a local-memory cache and console e-mail. ``DATABASE_URL`` switches to
PostgreSQL and ``REDIS_URL`` to a Redis broker and cache with a real worker and beat.
``DJANGO_DEBUG=false`` turns on the production hardening that ``check --deploy`` asks for.
"""

from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from core.env import env_bool, env_int, env_list, env_str, redis_db_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("PORTAL_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DJANGO_DEBUG", True)
_DEV_SECRET = "dev-only-insecure-secret-key-change-me-in-production-0123456789"
SECRET_KEY = env_str("DJANGO_SECRET_KEY", _DEV_SECRET if DEBUG else "")
if not SECRET_KEY:
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is false")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
# Where the portal is reached, for links in e-mails (which have no request to ask).
PORTAL_BASE_URL = env_str("PORTAL_BASE_URL", "http://127.0.0.1:8000")
# How many reverse proxies put themselves in X-Forwarded-For (1 behind one nginx); 0: none.
TRUSTED_PROXY_HOPS = env_int("TRUSTED_PROXY_HOPS", 0)

INSTALLED_APPS = [
    "core.apps.PortalAdminConfig",  # django.contrib.admin on the portal's site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "mptt",
    "import_export",
    "django_celery_beat",
    "core",  # the ground floor: the SMS outbox, its template tags ({% load privacy %})
    "grids",
    "points",  # the points ledger and the moral bank, below every app that awards points
    "residents",
    "issues",
    "deliberation",  # proposals and household votes (议事会)
    "wishes",  # micro-wishes (微心愿)
    "councils",  # regular meetings (三级例会)
    "citizens",  # the resident pages (/r/) and tracking links (/t/)
    "digests",
    "portal",  # the project package on top: the demo loader that spans every app
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "portal.auth.PasswordChangeRequiredMiddleware",  # one-time passwords changed first
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

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
                "issues.context_processors.notifications",  # the navbar's unread count
                "portal.menu.menu",  # the navbar's links, by role
            ],
        },
    },
]

# --- database -------------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
else:
    # The embedded database lives in var/, which a fresh clone does not have yet.
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "db.sqlite3",
            # A busy worker and web process share the file; wait instead of failing at once.
            "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
        }
    }
# A streaming replica of the primary for the dashboards' and digests' reads (core.replica).
DATABASE_REPLICA_URL = env_str("DATABASE_REPLICA_URL")
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = {
        **dj_database_url.parse(DATABASE_REPLICA_URL, conn_max_age=60),
        "TEST": {"MIRROR": "default"},
    }
DATABASE_ROUTERS = ["core.replica.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- cache and Celery -----------------------------------------------------------------------
# One Redis serves both, in two databases, so that clearing the cache can never drop queued
# tasks: the broker uses REDIS_URL's database (0 if it names none), the cache the next one.
# CELERY_BROKER_URL and REDIS_CACHE_URL, when set, override each of them.
REDIS_URL = env_str("REDIS_URL")
REDIS_CACHE_URL = env_str("REDIS_CACHE_URL", redis_db_url(REDIS_URL, offset=1) if REDIS_URL else "")
if REDIS_CACHE_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_CACHE_URL,
            # A down Redis costs a request half a second at most: the login lockout then lets
            # people in (portal.auth fails open), and nothing else needs the cache.
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", redis_db_url(REDIS_URL) if REDIS_URL else "")
if CELERY_BROKER_URL:
    CELERY_TASK_ALWAYS_EAGER = False
else:
    CELERY_BROKER_URL = "memory://"
    CELERY_TASK_ALWAYS_EAGER = True
if REDIS_CACHE_URL and REDIS_CACHE_URL == CELERY_BROKER_URL:
    raise ImproperlyConfigured(
        "REDIS_CACHE_URL and CELERY_BROKER_URL must name different Redis databases: "
        "clearing the cache would drop the queued tasks"
    )
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A down broker must never hang the request that queued the task.
CELERY_BROKER_CONNECTION_TIMEOUT = env_int("CELERY_BROKER_CONNECTION_TIMEOUT", 2)
CELERY_BROKER_TRANSPORT_OPTIONS = {"max_retries": 0, "socket_connect_timeout": 2}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Not CELERY_BEAT_SCHEDULE: beat would write it over the stored entries at every start and
# undo the times edited in the admin. These are the entries ``migrate`` creates when missing
# (core.beat); from then on the admin's Periodic tasks are the schedule.
# The monthly ranking (每月一调度) ranks a community only with at least this many ratings in
# the month: below it, one or two residents' answers would decide its place (1 of 1 rated
# satisfied is 100 %). Five is a handful of households a month, which even a small village
# gathers; the ranking's order itself is confidence-aware (the Wilson lower bound), so the
# minimum only keeps the noisiest ones out. Listed after the ranked as "too few ratings".
RANKING_MIN_RATED = env_int("RANKING_MIN_RATED", 5)
if RANKING_MIN_RATED < 1:
    raise ImproperlyConfigured("RANKING_MIN_RATED must be at least 1")

# A one-time password (the heads import's) signs in for this many days after it was given;
# after that its holder resets it by SMS code or asks for a new one.
ONE_TIME_PASSWORD_DAYS = env_int("ONE_TIME_PASSWORD_DAYS", 14)
if ONE_TIME_PASSWORD_DAYS < 1:
    raise ImproperlyConfigured("ONE_TIME_PASSWORD_DAYS must be at least 1")

BEAT_SCHEDULE_SEED = {
    "escalate-overdue": {"task": "issues.tasks.escalate_overdue", "schedule": 15 * 60},
    "close-unrated": {"task": "issues.tasks.close_unrated", "schedule": 60 * 60},
    "notifications-sweep": {"task": "issues.tasks.notifications_sweep", "schedule": 5 * 60},
    "text-messages-sweep": {"task": "core.tasks.text_messages_sweep", "schedule": 2 * 60},
    # A proposal's vote closes when its window ends: its result frozen (also on first read).
    "proposals-close-due": {"task": "deliberation.tasks.proposals_close_due", "schedule": 5 * 60},
    # Sign-in codes are kept one day (residents.accounts.SIGN_IN_CODE_RETENTION).
    "sign-in-codes-prune": {
        "task": "residents.tasks.sign_in_codes_prune",
        "schedule": crontab(hour=3, minute=30),
    },
    # Text messages sent or given up are kept TEXT_MESSAGE_KEEP_DAYS.
    "text-messages-prune": {
        "task": "core.tasks.text_messages_prune",
        "schedule": crontab(hour=3, minute=40),
    },
    # 每日一汇总、每周一督促、每月一调度. Each run also catches up on periods missed while no
    # worker was up.
    "digest-daily": {
        "task": "digests.tasks.run_due_digests",
        "schedule": crontab(hour=env_int("DIGEST_DAILY_HOUR", 18), minute=0),
        "args": ["daily"],
    },
    "digest-weekly": {
        "task": "digests.tasks.run_due_digests",
        "schedule": crontab(hour=8, minute=0, day_of_week="mon"),
        "args": ["weekly"],
    },
    "digest-monthly": {
        "task": "digests.tasks.run_due_digests",
        "schedule": crontab(hour=8, minute=30, day_of_month="1"),
        "args": ["monthly"],
    },
}
CELERY_TIMEZONE = "Asia/Shanghai"

# --- e-mail ---------------------------------------------------------------------------------
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "portal@localhost")
# A mail server that stops answering fails the send instead of holding the worker; well
# under core.outbox.CLAIM_TIMEOUT, after which a claimed mail counts as lost.
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 60)

# --- text messages (core/sms.py) ----------------------------------------------------------
# core.sms.ConsoleBackend logs each message; core.sms.HttpBackend posts it to the gateway.
SMS_BACKEND = env_str("SMS_BACKEND", "core.sms.ConsoleBackend")
SMS_HTTP_URL = env_str("SMS_HTTP_URL")
SMS_HTTP_TOKEN = env_str("SMS_HTTP_TOKEN")
SMS_HTTP_TIMEOUT = env_int("SMS_HTTP_TIMEOUT", 10)
WEBHOOK_TIMEOUT = env_int("WEBHOOK_TIMEOUT", 10)  # seconds, for the WeCom/DingTalk robots
# Robots are posted to over https at public addresses only (core/webhook.py: no SSRF into the
# portal's network). True also takes http:// and private addresses: tests, closed networks.
WEBHOOK_ALLOW_PRIVATE = env_bool("WEBHOOK_ALLOW_PRIVATE", False)
# Sent (or given-up) text messages are deleted after this many days (core.sms.text_messages_prune).
TEXT_MESSAGE_KEEP_DAYS = env_int("TEXT_MESSAGE_KEEP_DAYS", 90)
if TEXT_MESSAGE_KEEP_DAYS < 1:
    raise ImproperlyConfigured(f"TEXT_MESSAGE_KEEP_DAYS={TEXT_MESSAGE_KEEP_DAYS} must be >= 1")
# At most this many tracking texts to one number in 24 hours (issues.services.tracking_sms):
# the intake (Open311, hotline) must not be a way to pump SMS to a number.
TRACKING_SMS_PER_NUMBER_PER_DAY = env_int("TRACKING_SMS_PER_NUMBER_PER_DAY", 5)
if SMS_BACKEND == "core.sms.HttpBackend" and not SMS_HTTP_URL.startswith(("http://", "https://")):
    raise ImproperlyConfigured("SMS_BACKEND=core.sms.HttpBackend needs SMS_HTTP_URL (http(s)://…)")
if SMS_HTTP_TIMEOUT <= 0:
    raise ImproperlyConfigured(f"SMS_HTTP_TIMEOUT={SMS_HTTP_TIMEOUT} must be positive (seconds)")
# How long a resident's sign-in code (residents/accounts.py) works, in seconds.
RESIDENT_CODE_TTL = env_int("RESIDENT_CODE_TTL", 5 * 60)
if not 60 <= RESIDENT_CODE_TTL <= 30 * 60:
    raise ImproperlyConfigured(f"RESIDENT_CODE_TTL={RESIDENT_CODE_TTL} must be 60-1800 seconds")

# --- auth -----------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Django's hashers, and the cheap one for random one-time passwords (core/passwords.py).
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
    "core.passwords.OneTimePasswordHasher",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# --- language and time ----------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Dates through the locale's formats ({{ d|date:"DATE_FORMAT" }}); these adjust a few.
FORMAT_MODULE_PATH = ["portal.formats"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- static and uploads ---------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "media")))
# MEDIA_ROOT is never served as it is: photos go out through views that check who asks.
# With a web server in front, set this to an internal location aliased to MEDIA_ROOT (nginx:
# ``location /protected-media/ { internal; alias …/media/; }``) and the views answer with
# X-Accel-Redirect instead of streaming the file themselves.
PROTECTED_MEDIA_ACCEL_PREFIX = env_str("PROTECTED_MEDIA_ACCEL_PREFIX", "")
# Photos declaring more pixels than this are refused before they are decoded.
PHOTO_MAX_PIXELS = env_int("PHOTO_MAX_PIXELS", 40_000_000)
# Days a resident has to confirm a fulfilled micro-wish before a worker may confirm it.
WISHES_CONFIRM_DAYS = env_int("WISHES_CONFIRM_DAYS", 7)
if WISHES_CONFIRM_DAYS < 1:
    raise ImproperlyConfigured(f"WISHES_CONFIRM_DAYS={WISHES_CONFIRM_DAYS} must be >= 1")
IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT = True
# A request body without its files stays small; a file above 2.5 MB goes to a temporary file
# (mode 0600) rather than the worker's memory.
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = int(2.5 * 1024 * 1024)
# What one spreadsheet upload may be (README, "Importing data"). The import commands have no
# size or row limit unless given --max-mb/--max-rows; the shape limits apply to both.
SPREADSHEET_MAX_UPLOAD_BYTES = env_int("SPREADSHEET_MAX_UPLOAD_MB", 20) * 1024 * 1024
SPREADSHEET_MAX_ROWS = env_int("SPREADSHEET_MAX_ROWS", 200_000)
SPREADSHEET_MAX_COLUMNS = env_int("SPREADSHEET_MAX_COLUMNS", 50)
SPREADSHEET_MAX_CELL_CHARS = env_int("SPREADSHEET_MAX_CELL_CHARS", 1_000)
SPREADSHEET_MAX_UNPACKED_BYTES = env_int("SPREADSHEET_MAX_UNPACKED_MB", 200) * 1024 * 1024
SPREADSHEET_MAX_ZIP_RATIO = env_int("SPREADSHEET_MAX_ZIP_RATIO", 100)

# --- production hardening -------------------------------------------------------------------
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # One line per task run is a worker's log, not the web process's (eager mode).
    "loggers": {"celery.app.trace": {"level": env_str("CELERY_TRACE_LOG_LEVEL", "WARNING")}},
}
