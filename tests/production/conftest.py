"""What the production tests share: the tools they need (nginx, openssl, pg_dump …), each
test's own PostgreSQL database next to the suite's, free ports, and the portal's processes
started as the deployment starts them (the env file, the systemd units' commands).

A missing tool skips these tests on a developer's machine and fails them in CI (``CI=true``),
like the ``postgres`` marker in tests/conftest.py."""

from __future__ import annotations

import os
import re
import shutil
import socket
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.conftest import IN_CI

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


def need(*tools: str) -> dict[str, str]:
    """Paths of the command-line tools, or a skip (a failure in CI) naming the missing one."""
    found = {}
    for tool in tools:
        path = shutil.which(tool) or shutil.which(tool, path="/usr/sbin:/sbin")
        if path is None:
            message = f"{tool} is not installed (Debian package: see .ci/run)"
            if IN_CI:
                pytest.fail(message)
            pytest.skip(message)
        found[tool] = path
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def suite_database_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        pytest.skip("needs PostgreSQL (set DATABASE_URL)")  # the postgres marker fails in CI
    return url


def own_database_url(suffix: str) -> str:
    """A database of this test's own beside the suite's (``portal_hA`` → ``portal_hA_deploy``;
    with pytest-xdist the worker's name too), created empty; drop it with ``drop_database``."""
    import psycopg
    from psycopg import sql

    base = urlsplit(suite_database_url())
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    name = "_".join(p for p in (base.path.lstrip("/") or "portal", suffix, worker) if p)
    assert re.fullmatch(r"[A-Za-z0-9_]+", name), name
    with psycopg.connect(_maintenance_url(base), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return urlunsplit(base._replace(path="/" + name))


def drop_database(url: str) -> None:
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    with psycopg.connect(_maintenance_url(parts), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(parts.path.lstrip("/"))
            )
        )


def _maintenance_url(parts) -> str:
    return urlunsplit(parts._replace(path="/postgres", scheme="postgresql"))


def read_env_file(path: Path) -> dict[str, str]:
    """``KEY=value`` lines as systemd's EnvironmentFile= reads them (comments and blank lines
    skipped, one pair of surrounding double quotes taken off)."""
    env = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, _, value = line.partition("=")
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        env[key.strip()] = value
    return env


def write_env_file(path: Path, env: dict[str, str]) -> None:
    for key, value in env.items():
        assert '"' not in value and "$" not in value and "\n" not in value, key
    path.write_text("".join(f'{k}="{v}"\n' for k, v in env.items()), encoding="utf-8")
    path.chmod(0o640)


def clean_environment() -> dict[str, str]:
    """The test process's environment without what the suite or the env file decides (the
    suite's settings module, database, broker, DEBUG …): a service starts from nothing but
    its unit's EnvironmentFile."""
    dropped = re.compile(
        r"^(DJANGO_.*|DATABASE_.*|REDIS_.*|CELERY_.*|EMAIL_.*|ALLOWED_HOSTS|STATIC_.*|MEDIA_.*"
        r"|PORTAL_.*|LOG_.*|SMS_.*|PYTEST_.*|GUNICORN_.*|PROTECTED_MEDIA_.*|TRUSTED_PROXY_HOPS)$"
    )
    return {k: v for k, v in os.environ.items() if not dropped.match(k)}


def unit_exec_start(unit: str) -> list[str]:
    """The ``ExecStart=`` command of a systemd unit in deploy/systemd, with the sample's
    checkout (/srv/portal) replaced by this one."""
    import shlex

    text = (DEPLOY / "systemd" / unit).read_text(encoding="utf-8")
    [line] = [ln for ln in text.splitlines() if ln.startswith("ExecStart=")]
    return shlex.split(line.removeprefix("ExecStart=").replace("/srv/portal/", f"{ROOT}/"))
