"""Fixtures of the fault tests: a private PostgreSQL cluster per test session (migrated once
into a template database that each test copies), and for each test a private Redis, a mail
server, an SMS gateway and whichever portal processes it starts, all stopped when it ends.

Without the PostgreSQL or Redis binaries the tests are skipped, except in CI (``CI=true``),
where that fails them: the fault tests are part of the gate, never quietly left out."""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import pytest

from tests.conftest import IN_CI
from tests.faults import rig

_numbers = itertools.count(1)
# Four communities of eight grids, a head with an e-mail address on each of the 38 nodes (and
# a worker who signs in), and 400 problems in hand at their grids: two batches of the
# overdue job (issues.services.workflow.OVERDUE_BATCH), 36 daily digests.
WORLD = {"communities": 4, "grids": 8, "tickets": 400}


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def summary(terminalreporter):
    """The figures each fault test measured, in the run's output (also under pytest-xdist,
    which keeps a passing test's own output to itself): called by tests/summaries.py."""
    lines = [
        value
        for key in ("passed", "failed")
        for report in terminalreporter.stats.get(key, [])
        if report.when == "call"
        for name, value in report.user_properties
        if name == "faults"
    ]
    if lines:
        terminalreporter.section("fault tests: what they measured")
        for line in lines:
            terminalreporter.write_line(line)


@pytest.fixture
def say(request):
    """Report a figure: printed, and listed at the end of the run."""

    def _say(line: str) -> None:
        line = line.strip()
        print(line)
        request.node.user_properties.append(("faults", line))

    return _say


class Cluster:
    def __init__(self, root: Path, port: int | None = None):
        self.root = root
        self.pg = rig.PrivatePostgres(root / "pg", port=port)
        self.template = "portal_hF_template"
        self.world = "portal_hF_world"
        self.facts: dict = {}
        self.static = root / "static"


def _build(root: Path) -> Cluster:
    made = Cluster(root)
    started = time.monotonic()
    made.pg.init()
    made.pg.start()
    with made.pg.connect() as conn:
        conn.execute(f'CREATE DATABASE "{made.template}"')
    env = rig.portal_env(
        db_url=made.pg.url(made.template), redis_url="", root=root, smtp=None, sms=None
    )
    rig.manage(env, "migrate", "--no-input")
    rig.manage(env, "collectstatic", "--no-input")
    migrated = time.monotonic() - started
    # The world every test starts from, built once and copied (CREATE DATABASE … TEMPLATE).
    made.pg.clone(made.template, made.world)
    env = rig.portal_env(
        db_url=made.pg.url(made.world), redis_url="", root=root, smtp=None, sms=None
    )
    env.update(
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
        SMS_BACKEND="core.sms.LocmemBackend",
    )
    made.facts = rig.scenario(env, "build", json.dumps(WORLD))
    print(
        f"\n[faults] private PostgreSQL migrated in {migrated:.1f} s; the world "
        f"({WORLD}) built in {time.monotonic() - started - migrated:.1f} s"
    )
    return made


@contextlib.contextmanager
def _locked(path: Path):
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def cluster(tmp_path_factory, worker_id):
    """One cluster for the whole run: the pytest-xdist processes share it (the first one
    builds it under a lock, the last one out stops it). A test that restarts PostgreSQL
    takes a copy of its own (``Stack(own_cluster=True)``)."""
    missing = rig.missing_binaries()
    if missing:
        message = f"the fault tests need PostgreSQL 15 and Redis binaries: missing {missing}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    # FAULTS_REUSE_DIR (working on these tests): keep the migrated cluster and its world
    # there between runs instead of building them for each run.
    reuse = os.environ.get("FAULTS_REUSE_DIR")
    base = tmp_path_factory.getbasetemp()
    shared = Path(reuse) if reuse else (base.parent if worker_id != "master" else base)
    shared.mkdir(parents=True, exist_ok=True)
    state_file = shared / "faults-cluster.json"
    with _locked(shared / "faults-cluster.lock"):
        if state_file.exists():
            state = json.loads(state_file.read_text())
            made = Cluster(Path(state["root"]), port=state["port"])
            made.facts = state["facts"]
            if not made.pg.running():
                made.pg.start()
        else:
            # Not under pytest's base directory: its parents are closed to the postgres user.
            root = Path(tempfile.mkdtemp(prefix="portal-hF-faults-"))
            root.chmod(0o755)
            made = _build(root)
            state = {"root": str(root), "port": made.pg.port, "facts": made.facts, "users": 0}
        state["users"] += 1
        state_file.write_text(json.dumps(state))
    yield made
    with _locked(shared / "faults-cluster.lock"):
        state = json.loads(state_file.read_text())
        state["users"] -= 1
        state_file.write_text(json.dumps(state))
        if state["users"] <= 0 and not reuse:
            made.pg.stop("immediate")
            shutil.rmtree(made.root, ignore_errors=True)
            state_file.unlink()


class Stack:
    """One test's services and processes."""

    def __init__(
        self, cluster: Cluster, name: str, *, smtp_delay: float = 0.0, own_cluster: bool = False
    ):
        self.cluster = cluster
        self.root = cluster.root / name
        shutil.rmtree(self.root, ignore_errors=True)
        self.root.mkdir()
        self.pg = cluster.pg
        self.own_cluster = own_cluster
        if own_cluster:
            self.pg = rig.PrivatePostgres(self.root / "pg")
            self.pg.copy_of(cluster.pg)
            self.pg.start()
        self.db = f"portal_hF_{name}"
        self.pg.clone(cluster.world, self.db)
        self.facts = cluster.facts
        self.redis = rig.PrivateRedis(self.root / "redis")
        self.redis.start()
        self.smtp = rig.SmtpSink(delay=smtp_delay)
        self.sms = rig.SmsSink()
        self.env = rig.portal_env(
            db_url=self.pg.url(self.db),
            redis_url=self.redis.url,
            root=cluster.root,
            smtp=self.smtp,
            sms=self.sms,
        )
        self.processes: list[rig.Process] = []

    def scenario(self, command: str, **kwargs):
        import json

        return rig.scenario(self.env, command, json.dumps(kwargs))

    def counts(self) -> dict:
        return self.scenario("counts")

    def sql(self, query: str, params=()):
        return self.pg.query(query, params, db=self.db)

    def _started(self, process: rig.Process) -> rig.Process:
        self.processes.append(process)
        return process.start()

    def gunicorn(self, *, workers: int = 2) -> rig.Process:
        self.http_port = rig.free_port()
        process = self._started(
            rig.gunicorn(self.env, self.root, port=self.http_port, workers=workers)
        )
        rig.wait_for(lambda: self._answers("/livez"), timeout=60, what="gunicorn to answer /livez")
        return process

    def _answers(self, path: str) -> bool:
        try:
            return rig.request(self.http_port, "GET", path, timeout=2).status == 200
        except OSError:
            return False

    def worker(self, name: str = "w1", *, concurrency: int = 1) -> rig.Process:
        process = self._started(rig.worker(self.env, self.root, name=name, concurrency=concurrency))
        rig.wait_for(
            lambda: "ready." in process.log(), timeout=60, what=f"worker {name} to be ready"
        )
        return process

    def beat(self, name: str = "b1") -> rig.Process:
        return self._started(rig.beat(self.env, self.root, name=name))

    def close(self, failed: bool) -> None:
        for process in reversed(self.processes):
            process.stop()
        if failed:
            for process in self.processes:
                print(f"\n----- {process.name} (last lines) -----\n{process.log()[-6000:]}")
        self.redis.stop()
        self.smtp.close()
        self.sms.close()
        if self.own_cluster:
            self.pg.stop("immediate")
            shutil.rmtree(self.root / "pg", ignore_errors=True)
            return
        with self.pg.connect() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.db}" WITH (FORCE)')


@pytest.fixture
def stack_factory(cluster, request, worker_id):
    made: list[Stack] = []

    def make(**kwargs) -> Stack:
        stack = Stack(cluster, f"{worker_id}_{next(_numbers)}", **kwargs)
        made.append(stack)
        return stack

    yield make
    report = getattr(request.node, "report_call", None)
    for stack in made:
        stack.close(failed=report is None or report.failed)
