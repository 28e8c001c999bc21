"""``/healthz`` (readiness: database, cache, broker) and ``/livez`` (the process answers).

A down database is 503 (a load balancer takes the web process out); a down cache or broker
is 200 "degraded" (pages, sign-in and new problems still work without Redis). The outages
are real: a fresh interpreter pointed at a port nothing listens on, as a deployment would
be."""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.urls import reverse

ROOT = Path(__file__).resolve().parents[2]

# Asks /healthz in a fresh interpreter configured by the environment; prints status, body
# and how long it took.
PROBE = """
import json, time, django
django.setup()
from django.test import Client
started = time.monotonic()
r = Client().get("/healthz", HTTP_HOST="127.0.0.1")
print(json.dumps({"status": r.status_code, "body": json.loads(r.content),
                  "seconds": time.monotonic() - started}))
"""


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again when the probe runs


def _probe(env: dict[str, str], tmp_path: Path) -> dict:
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE_", "REDIS_", "CELERY_", "DJANGO_", "PYTEST_"))
    }
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env={
            **base,
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "PORTAL_VAR_DIR": str(tmp_path),  # an embedded database of its own
            "LOG_LEVEL": "ERROR",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_embedded_setup_is_healthy(client, db):
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "cache": "ok",
        "broker": "eager",  # no broker: tasks run in the web process
    }
    assert "no-cache" in response["Cache-Control"]


def test_livez_touches_nothing(client):
    # No database fixture: a query here would raise instead of being counted.
    response = client.get(reverse("livez"))
    assert response.status_code == 200 and response.content == b"ok\n"


@pytest.mark.parametrize("name", ["healthz", "livez"])
def test_only_get_and_head(client, db, name):
    assert client.post(reverse(name)).status_code == 405
    assert client.head(reverse(name)).status_code == 200


def test_a_down_database_is_503_quickly(tmp_path):
    found = _probe(
        {"DATABASE_URL": f"postgres://portal@127.0.0.1:{_closed_port()}/portal"}, tmp_path
    )
    assert found["status"] == 503
    assert found["body"] == {
        "status": "down",
        "database": "down",
        "cache": "ok",
        "broker": "eager",
    }
    assert found["seconds"] < 10


def test_a_down_redis_is_degraded_not_down(tmp_path):
    started = time.monotonic()
    found = _probe({"REDIS_URL": f"redis://127.0.0.1:{_closed_port()}/0"}, tmp_path)
    assert found["status"] == 200
    assert found["body"] == {
        "status": "degraded",
        "database": "ok",
        "cache": "down",
        "broker": "down",
    }
    assert found["seconds"] < 5 and time.monotonic() - started < 60


def test_real_redis_is_ok(tmp_path):
    url = os.environ.get("REDIS_URL")
    if not url:
        pytest.skip("needs Redis (set REDIS_URL)")
    found = _probe({"REDIS_URL": url}, tmp_path)
    assert found["status"] == 200
    assert found["body"] == {"status": "ok", "database": "ok", "cache": "ok", "broker": "ok"}


def test_production_probes_over_plain_http_are_not_redirected(tmp_path):
    """A load balancer asks the web process itself, over HTTP: no redirect to HTTPS for the
    health answers (every other path is redirected)."""
    code = """
import django
django.setup()
from django.test import Client
c = Client()
print(c.get("/healthz", HTTP_HOST="portal.example.org").status_code,
      c.get("/livez", HTTP_HOST="portal.example.org").status_code,
      c.get("/accounts/login/", HTTP_HOST="portal.example.org").status_code)
"""
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE_", "REDIS_", "CELERY_", "DJANGO_", "PYTEST_"))
    }
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={
            **base,
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": "k" * 20 + "-test-secret-with-enough-entropy-0123456789-abcdef",
            "ALLOWED_HOSTS": "portal.example.org",
            "EMAIL_HOST": "smtp.example.org",
            "STATIC_HASHED": "false",
            "PORTAL_VAR_DIR": str(tmp_path),
            "LOG_LEVEL": "ERROR",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split() == ["200", "200", "301"]
