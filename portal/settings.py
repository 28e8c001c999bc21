"""Settings for the portal, read from the environment in this one place.

With no environment set the portal runs embedded: a SQLite file, Celery tasks run eagerly in
the web process, a local-memory cache and console e-mail. ``DATABASE_URL`` switches to
PostgreSQL and ``REDIS_URL`` to a Redis broker and cache with a real worker and beat.
``DJANGO_DEBUG=false`` turns on the production hardening that ``check --deploy`` asks for.
"""

from datetime import timedelta
from email.utils import getaddresses
from pathlib import Path

import dj_database_url
import django
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from core.env import env_bool, env_int, env_list, env_str, redis_db_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("PORTAL_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DJANGO_DEBUG", True)
# The profile the environment chose. Test runners turn DEBUG off; this stays as set (load_demo
# refuses a production one).
PRODUCTION = not DEBUG
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
    # Before import_export: its export/import commands are switched off there.
    "core.library_commands",
    "import_export",
    "django_celery_beat",
    "pgtrigger",
    "pghistory",  # the audit history (core.audit): triggers on PostgreSQL
    "axes",  # the sign-in lockout (portal/auth.py)
    "csp",  # the Content Security Policy
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
    "portal.logs.RequestIdMiddleware",  # X-Request-ID on every answer and every log line
    "django.middleware.security.SecurityMiddleware",
    # Right after SecurityMiddleware (whitenoise's advice): a static file passes nothing else.
    "whitenoise.middleware.WhiteNoiseMiddleware",  # /static/, hashed names cached for a year
    "portal.db_errors.DatabaseUnavailableMiddleware",  # a down database: a clean 503
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "core.audit.middleware.HistoryMiddleware",  # the actor of each change (core.audit)
    "portal.auth.SessionExpiryMiddleware",  # a signed-in session's lifetime and idle end
    "django.contrib.messages.middleware.MessageMiddleware",
    "portal.auth.PasswordChangeRequiredMiddleware",  # one-time passwords changed first
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a locked-out sign-in into the 429 page
]

ROOT_URLCONF = "portal.urls"

# The audit history (core.audit) names the user and URL of the requests that write. Only the
# writing methods: GET requests change nothing here, and each of their queries would carry
# the context for nothing.
PGHISTORY_MIDDLEWARE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
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
    # A kept connection is checked before a request reuses it: one broken by a database
    # restart is replaced instead of failing that request (portal/db_errors.py).
    DATABASES = {
        "default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)
    }
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # A database that does not answer fails the request (a 503) in seconds, not minutes.
        DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
            "connect_timeout", env_int("DATABASE_CONNECT_TIMEOUT", 5)
        )
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
        **dj_database_url.parse(DATABASE_REPLICA_URL, conn_max_age=60, conn_health_checks=True),
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
# The worker logs through LOGGING below (time, level, task id), not a root logger of its own.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
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
    # The digest mails a worker killed mid-run left claimed, once their claim is stale.
    "digests-sweep": {"task": "digests.tasks.digests_sweep", "schedule": 5 * 60},
    # A proposal's vote closes when its window ends: its result frozen (also on first read).
    "proposals-close-due": {"task": "deliberation.tasks.proposals_close_due", "schedule": 5 * 60},
    # Sign-in codes are kept one day (residents.accounts.SIGN_IN_CODE_RETENTION).
    "sign-in-codes-prune": {
        "task": "residents.tasks.sign_in_codes_prune",
        "schedule": crontab(hour=3, minute=30),
    },
    # Sign-in logs are kept SIGN_IN_LOG_KEEP_DAYS; spent lockout counters are dropped.
    "sign-in-logs-prune": {
        "task": "portal.tasks.sign_in_logs_prune",
        "schedule": crontab(hour=3, minute=35),
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
_CONSOLE_EMAIL = "django.core.mail.backends.console.EmailBackend"
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND", _CONSOLE_EMAIL if DEBUG else "django.core.mail.backends.smtp.EmailBackend"
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "portal@localhost")
# A mail server that stops answering fails the send instead of holding the worker; well
# under core.outbox.CLAIM_TIMEOUT, after which a claimed mail counts as lost.
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 60)
# In production mail must reach people (password resets, errors to ADMINS): never the log.
if not DEBUG and EMAIL_BACKEND == _CONSOLE_EMAIL:
    raise ImproperlyConfigured(
        "DJANGO_DEBUG=false: e-mail would only be written to the log; set EMAIL_HOST (and "
        "EMAIL_PORT, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD, EMAIL_USE_TLS) for the SMTP server"
    )
if not DEBUG and EMAIL_BACKEND.endswith("smtp.EmailBackend") and not env_str("EMAIL_HOST"):
    raise ImproperlyConfigured(
        "DJANGO_DEBUG=false needs an SMTP server: set EMAIL_HOST (EMAIL_HOST=localhost for a "
        "mail server on this machine), or EMAIL_BACKEND to another non-console backend"
    )
# Who gets a mail for each server error and failed task: "Name <a@x.cn>, b@y.cn".
_ADMINS = [(name, addr) for name, addr in getaddresses([env_str("ADMINS")]) if addr]
if any("@" not in addr for _, addr in _ADMINS):
    raise ImproperlyConfigured(f"ADMINS={env_str('ADMINS')!r}: each entry needs an address")
# Django 6 takes the addresses as strings, 5.2 as (name, address) pairs.
ADMINS = (
    [f"{name} <{addr}>" if name else addr for name, addr in _ADMINS]
    if django.VERSION >= (6, 0)
    else _ADMINS
)
SERVER_EMAIL = env_str("SERVER_EMAIL", DEFAULT_FROM_EMAIL)

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
AUTHENTICATION_BACKENDS = [
    "portal.auth.LockoutBackend",  # django-axes' lockout, checked before the password
    "django.contrib.auth.backends.ModelBackend",
]
# The sign-in lockout (django-axes, see portal/auth.py): AXES_FAILURE_LIMIT wrong passwords
# for one username from one address lock that pair (not the username everywhere, nor the
# address for everyone behind it) for AXES_COOLOFF_MINUTES. Attempts are database rows, so a
# down Redis never blocks signing in. Unlock: Admin → Axes → Access attempts, delete the row.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_MINUTES = env_int("AXES_COOLOFF_MINUTES", 15)
if AXES_FAILURE_LIMIT < 1 or AXES_COOLOFF_MINUTES < 1:
    raise ImproperlyConfigured("AXES_FAILURE_LIMIT and AXES_COOLOFF_MINUTES must be at least 1")
AXES_COOLOFF_TIME = timedelta(minutes=AXES_COOLOFF_MINUTES)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_CLIENT_IP_CALLABLE = "core.requests.client_ip"  # behind TRUSTED_PROXY_HOPS proxies
AXES_USERNAME_CALLABLE = "portal.auth.attempt_username"  # cut to the attempt row's column
AXES_LOCKOUT_CALLABLE = "portal.auth.lockout_response"  # the portal's 429 page
AXES_RESET_ON_SUCCESS = True
# The cool-off runs from the last counted failure; tries while locked do not extend it.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_ENABLE_ACCESS_FAILURE_LOG = True
# Beyond the pair: wrong passwords for this many different logins from one address in an
# hour pause signing in from it for the rest of the hour (portal.auth.address_braked).
SIGN_IN_FAILED_LOGINS_PER_ADDRESS_HOUR = env_int("SIGN_IN_FAILED_LOGINS_PER_ADDRESS_HOUR", 20)
if SIGN_IN_FAILED_LOGINS_PER_ADDRESS_HOUR < 3:
    raise ImproperlyConfigured("SIGN_IN_FAILED_LOGINS_PER_ADDRESS_HOUR must be at least 3")
# The sign-in logs (axes' access and failure logs: who signed in or failed, from where) are
# deleted after this many days by portal.auth.sign_in_logs_prune, nightly. At least 180: the
# Cybersecurity Law (网络安全法 第二十一条) asks network logs be kept no less than six months.
SIGN_IN_LOG_KEEP_DAYS = env_int("SIGN_IN_LOG_KEEP_DAYS", 180)
if SIGN_IN_LOG_KEEP_DAYS < 180:
    raise ImproperlyConfigured(
        f"SIGN_IN_LOG_KEEP_DAYS={SIGN_IN_LOG_KEEP_DAYS}: sign-in logs are kept at least 180 days"
    )
# The public Open311 API's rate limits (issues/open311.py): reads and filings a minute per
# client address, filings an hour per API key.
OPEN311_READS_PER_MINUTE = env_int("OPEN311_READS_PER_MINUTE", 120)
OPEN311_CREATES_PER_MINUTE = env_int("OPEN311_CREATES_PER_MINUTE", 30)
OPEN311_CREATES_PER_KEY_HOUR = env_int("OPEN311_CREATES_PER_KEY_HOUR", 600)
# A worker's or an admin's session: it lasts SESSION_COOKIE_AGE_HOURS from signing in and
# ends after SESSION_IDLE_MINUTES without a request (portal.auth.SessionExpiryMiddleware,
# which writes the last-seen time at most every five minutes, not on every page).
SIGNED_IN_SESSION_AGE = env_int("SESSION_COOKIE_AGE_HOURS", 12) * 60 * 60
SESSION_IDLE_SECONDS = env_int("SESSION_IDLE_MINUTES", 120) * 60
if SIGNED_IN_SESSION_AGE < 60 * 60 or SESSION_IDLE_SECONDS < 5 * 60:
    raise ImproperlyConfigured(
        "SESSION_COOKIE_AGE_HOURS must be at least 1 and SESSION_IDLE_MINUTES at least 5"
    )
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# --- Content Security Policy (django-csp) ---------------------------------------------------
# No inline script, handler or style anywhere: every script and style is a file under
# /static/ (tests/portal/test_csp.py scans the templates). htmx's own indicator <style> is
# turned off by the htmx-config meta tag of the base templates. ECharts and the photo
# previews draw into data: and blob: images. The photo views send their own, stricter policy.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", "blob:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

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
# In production (``make deploy`` runs collectstatic) static files get content-hashed names
# (base.3f2a1c9e.css) and gzip/brotli copies; whitenoise serves them with a year's
# Cache-Control and "immutable", from the web process or behind nginx (deploy/nginx-portal.conf).
# STATIC_HASHED=false keeps plain names, for a process run with DEBUG off and no collectstatic.
if env_bool("STATIC_HASHED", not DEBUG):
    STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
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
# Without these django-import-export lets any staff member import and export every model it
# serves (departments, holidays), whatever their permissions: importing needs the model's
# change permission, exporting its view permission.
IMPORT_EXPORT_IMPORT_PERMISSION_CODE = "change"
IMPORT_EXPORT_EXPORT_PERMISSION_CODE = "view"
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
    # A load balancer probes the web process itself, over plain HTTP.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^livez$"]

# --- logs ---------------------------------------------------------------------------------
# Each line: time, level, logger, request id (X-Request-ID; a task's id in a worker) and the
# client's address (portal/logs.py). LOG_FORMAT=json writes one JSON object a line instead.
LOG_FORMAT = env_str("LOG_FORMAT", "text")
if LOG_FORMAT not in ("text", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT={LOG_FORMAT!r} must be text or json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_context": {"()": "portal.logs.RequestContextFilter"}},
    "formatters": {
        "text": {
            "format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s %(client_ip)s] "
            "%(message)s"
        },
        "json": {"()": "portal.logs.json_formatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request_context"],
            "formatter": LOG_FORMAT,
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        # One line per task run is a worker's log, not the web process's (eager mode).
        "celery.app.trace": {"level": env_str("CELERY_TRACE_LOG_LEVEL", "WARNING")},
        # Django's own handlers off (its console and mail_admins): its records reach the
        # root's handlers once, not twice (two mails for each server error).
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        # A request for a host not in ALLOWED_HOSTS (scanners, a stray DNS name) is a 400
        # and a line in the log, not an ERROR mailed to ADMINS for every probe.
        "django.security.DisallowedHost": {"handlers": ["console"], "propagate": False},
    },
}
if ADMINS and not DEBUG:
    # Every ERROR (a server error with its request, a failed task) is mailed to ADMINS too.
    LOGGING["handlers"]["mail_admins"] = {
        "class": "django.utils.log.AdminEmailHandler",
        "level": "ERROR",
        "filters": ["request_context"],
    }
    LOGGING["root"]["handlers"].append("mail_admins")
