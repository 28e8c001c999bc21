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
