"""Test settings: the environment still chooses the database and broker (CI sets
DATABASE_URL and REDIS_URL); everything else is made fast and quiet."""

from portal.settings import *  # noqa: F403

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.MD5PasswordHasher",
    "core.passwords.OneTimePasswordHasher",
]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
SMS_BACKEND = "core.sms.LocmemBackend"
# Tests drive tasks synchronously; tests that need the real broker say so explicitly.
CELERY_TASK_ALWAYS_EAGER = True
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
LOGGING = {"version": 1, "disable_existing_loggers": False}
# pytest-django turns DEBUG off, and tests run no collectstatic: whitenoise looks a static
# file up when asked instead of listing STATIC_ROOT (not there) at start-up.
WHITENOISE_AUTOREFRESH = True
