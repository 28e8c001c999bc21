"""The environment decides the deployment: embedded by default, PostgreSQL/Redis when set,
hardened when DEBUG is off. Each case runs in a fresh interpreter, as a deployment would."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from core.env import env_bool, env_int, env_list

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, django
from django.conf import settings
django.setup()
print(json.dumps({
    "engine": settings.DATABASES["default"]["ENGINE"],
    "eager": settings.CELERY_TASK_ALWAYS_EAGER,
    "broker": settings.CELERY_BROKER_URL,
    "cache": settings.CACHES["default"]["BACKEND"],
    "email": settings.EMAIL_BACKEND,
    "language": settings.LANGUAGE_CODE,
    "tz": settings.TIME_ZONE,
    "debug": settings.DEBUG,
}))
"""


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    base = {
        k: v
        for k, v in os.environ.items()
        if k
        not in (
            "DATABASE_URL",
            "REDIS_URL",
            "DJANGO_DEBUG",
            "DJANGO_SECRET_KEY",
            "ALLOWED_HOSTS",
            "DJANGO_SETTINGS_MODULE",
            "DJANGO_ALLOW_ASYNC_UNSAFE",  # the browser tests' switch, never a deployment's
            "EMAIL_BACKEND",
            "EMAIL_HOST",
            "ADMINS",
            "LOG_FORMAT",
            "STATIC_HASHED",
        )
    }
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env={**base, "DJANGO_SETTINGS_MODULE": "portal.settings", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def _settings(env: dict[str, str]) -> dict:
    result = _run(env, "-c", PROBE)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_no_environment_means_embedded():
    found = _settings({})
    assert found["engine"] == "django.db.backends.sqlite3"
    assert found["eager"] is True and found["broker"] == "memory://"
    assert found["cache"].endswith("LocMemCache")
    assert found["email"].endswith("console.EmailBackend")
    assert (found["language"], found["tz"]) == ("zh-hans", "Asia/Shanghai")


def test_urls_switch_to_postgresql_and_redis():
    found = _settings(
        {"DATABASE_URL": "postgres://u@db:5432/portal", "REDIS_URL": "redis://cache:6379/0"}
    )
    assert found["engine"] == "django.db.backends.postgresql"
    assert found["eager"] is False and found["broker"] == "redis://cache:6379/0"
    assert found["cache"].endswith("RedisCache")


def test_production_needs_a_secret_key():
    result = _run({"DJANGO_DEBUG": "false"}, "-c", PROBE)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


def test_production_settings_pass_check_deploy():
    result = _run(
        {
            "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": "k" * 20 + "-test-secret-with-enough-entropy-0123456789-abcdef",
            "ALLOWED_HOSTS": "portal.example.org",
            "EMAIL_HOST": "smtp.example.org",
        },
        "manage.py",
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_env_readers_fail_loudly(monkeypatch):
    monkeypatch.setenv("X_FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="X_FLAG"):
        env_bool("X_FLAG", False)
    monkeypatch.setenv("X_FLAG", "off")
    assert env_bool("X_FLAG", True) is False
    monkeypatch.setenv("X_NUM", "ten")
    with pytest.raises(ImproperlyConfigured, match="X_NUM"):
        env_int("X_NUM", 1)
    monkeypatch.setenv("X_LIST", "a.org, b.org,")
    assert env_list("X_LIST", []) == ["a.org", "b.org"]


CACHE_AND_BROKER = """
import json, django
from django.conf import settings
django.setup()
print(json.dumps({
    "broker": settings.CELERY_BROKER_URL,
    "cache": settings.CACHES["default"]["LOCATION"],
    "options": settings.CACHES["default"].get("OPTIONS", {}),
}))
"""


def test_point6_cache_and_broker_use_different_redis_databases():
    result = _run({"REDIS_URL": "redis://cache:6379/4"}, "-c", CACHE_AND_BROKER)
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert found["broker"] == "redis://cache:6379/4"
    assert found["cache"] == "redis://cache:6379/5"  # clearing the cache drops no task
    assert 0 < found["options"]["socket_connect_timeout"] <= 1
    assert 0 < found["options"]["socket_timeout"] <= 1

    result = _run({"REDIS_URL": "redis://:pw@cache:6379"}, "-c", CACHE_AND_BROKER)
    found = json.loads(result.stdout)
    assert (found["broker"], found["cache"]) == (
        "redis://:pw@cache:6379/0",
        "redis://:pw@cache:6379/1",
    )

    explicit = {
        "REDIS_URL": "redis://cache:6379/0",
        "REDIS_CACHE_URL": "redis://other:6379/3",
        "CELERY_BROKER_URL": "redis://broker:6379/2",
    }
    found = json.loads(_run(explicit, "-c", CACHE_AND_BROKER).stdout)
    assert (found["broker"], found["cache"]) == ("redis://broker:6379/2", "redis://other:6379/3")

    same = {"REDIS_URL": "redis://cache:6379/0", "REDIS_CACHE_URL": "redis://cache:6379/0"}
    result = _run(same, "-c", CACHE_AND_BROKER)
    assert result.returncode != 0 and "different" in result.stderr


# --- production: mail, ADMINS, static files, logs (issue 15) ------------------------------------

PRODUCTION = {
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": "k" * 20 + "-test-secret-with-enough-entropy-0123456789-abcdef",
    "ALLOWED_HOSTS": "portal.example.org",
}

PRODUCTION_PROBE = """
import json, django
from django.conf import settings
django.setup()
print(json.dumps({
    "email": settings.EMAIL_BACKEND,
    "admins": [list(a) if isinstance(a, tuple) else a for a in settings.ADMINS],
    "server_email": settings.SERVER_EMAIL,
    "static": settings.STORAGES["staticfiles"]["BACKEND"],
    "middleware": settings.MIDDLEWARE,
    "root_handlers": settings.LOGGING["root"]["handlers"],
    "formatter": settings.LOGGING["handlers"]["console"]["formatter"],
    "db_options": settings.DATABASES["default"].get("OPTIONS", {}),
    "hijack": settings.CELERY_WORKER_HIJACK_ROOT_LOGGER,
}))
"""


def _production(env: dict[str, str]) -> dict:
    result = _run({**PRODUCTION, **env}, "-c", PRODUCTION_PROBE)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_production_refuses_mail_that_would_only_be_logged():
    result = _run(PRODUCTION, "-c", PROBE)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "set EMAIL_HOST" in result.stderr

    console = {**PRODUCTION, "EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}
    result = _run({**console, "EMAIL_HOST": "smtp.example.org"}, "-c", PROBE)
    assert result.returncode != 0
    assert "only be written to the log" in result.stderr

    found = _production({"EMAIL_HOST": "smtp.example.org"})
    assert found["email"] == "django.core.mail.backends.smtp.EmailBackend"
    # Another real backend, named explicitly, needs no SMTP host.
    found = _production({"EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend"})
    assert found["email"].endswith("filebased.EmailBackend")
    # Development keeps the console.
    assert _settings({})["email"].endswith("console.EmailBackend")


def test_admins_from_the_environment_get_every_error_by_mail():
    import django

    found = _production(
        {"EMAIL_HOST": "smtp.example.org", "ADMINS": "信息中心 值班 <it@example.gov.cn>, b@y.cn"}
    )
    if django.VERSION >= (6, 0):
        assert found["admins"] == ["信息中心 值班 <it@example.gov.cn>", "b@y.cn"]
    else:
        assert found["admins"] == [["信息中心 值班", "it@example.gov.cn"], ["", "b@y.cn"]]
    assert found["root_handlers"] == ["console", "mail_admins"]
    assert _production({"EMAIL_HOST": "smtp.example.org"})["root_handlers"] == ["console"]

    result = _run({**PRODUCTION, "EMAIL_HOST": "x", "ADMINS": "nobody"}, "-c", PROBE)
    assert result.returncode != 0 and "ADMINS" in result.stderr

    # An ERROR logged anywhere (here: what a failed task logs) is mailed to them.
    code = """
import logging, django
django.setup()
from django.core import mail
logging.getLogger("celery.app.trace").error("Task digests.tasks.run_due_digests failed")
[message] = mail.outbox
logging.getLogger("django.request").error("Internal Server Error: /tickets/")
assert len(mail.outbox) == 2, [m.subject for m in mail.outbox]  # one mail, not Django's too
logging.getLogger("django.security.DisallowedHost").error("Invalid HTTP_HOST header: 'x.y'")
assert len(mail.outbox) == 2, "a scanner's Host header is mailed to no one"
print(message.to, message.subject, sep="|")
"""
    result = _run(
        {
            **PRODUCTION,
            "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
            "ADMINS": "值班 <it@example.gov.cn>",
            "LOG_LEVEL": "INFO",
        },
        "-c",
        code,
    )
    assert result.returncode == 0, result.stderr
    to, subject = result.stdout.strip().splitlines()[-1].split("|")
    assert "it@example.gov.cn" in to and "run_due_digests failed" in subject


def test_production_static_files_have_hashed_names():
    found = _production({"EMAIL_HOST": "smtp.example.org"})
    assert found["static"] == "whitenoise.storage.CompressedManifestStaticFilesStorage"
    middleware = found["middleware"]
    assert middleware[0] == "portal.logs.RequestIdMiddleware"
    # Right after SecurityMiddleware: a static file passes through nothing else.
    assert middleware.index("whitenoise.middleware.WhiteNoiseMiddleware") == 1 + middleware.index(
        "django.middleware.security.SecurityMiddleware"
    )
    plain = _production({"EMAIL_HOST": "smtp.example.org", "STATIC_HASHED": "false"})
    assert plain["static"] == "django.contrib.staticfiles.storage.StaticFilesStorage"


def test_log_format_and_database_timeout():
    found = _production(
        {"EMAIL_HOST": "smtp.example.org", "DATABASE_URL": "postgres://u@db:5432/portal"}
    )
    assert found["formatter"] == "text"
    assert 0 < found["db_options"]["connect_timeout"] <= 10
    assert found["hijack"] is False  # the worker logs through LOGGING (time, level, task id)
    assert _production({"EMAIL_HOST": "x", "LOG_FORMAT": "json"})["formatter"] == "json"
    result = _run({**PRODUCTION, "EMAIL_HOST": "x", "LOG_FORMAT": "xml"}, "-c", PROBE)
    assert result.returncode != 0 and "LOG_FORMAT" in result.stderr


def test_sign_in_logs_are_kept_at_least_six_months():
    """网络安全法 第二十一条: network logs no less than six months."""
    result = _run({"SIGN_IN_LOG_KEEP_DAYS": "30"}, "-c", PROBE)
    assert result.returncode != 0
    assert "SIGN_IN_LOG_KEEP_DAYS=30: sign-in logs are kept at least 180 days" in result.stderr
