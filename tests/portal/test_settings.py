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
