"""Real services for the fault tests, each private to the test that starts it: a PostgreSQL
cluster and a Redis on free ports (never the shared ones), a mail server and an SMS gateway
that record what they are given, and the portal's own processes (gunicorn, a Celery worker,
Celery beat) run with the production settings against them."""

from __future__ import annotations

import contextlib
import email
import http.client
import http.server
import json
import os
import secrets
import shutil
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, *, timeout: float, what: str, every: float = 0.1):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting for {what} after {timeout} s")
        time.sleep(every)


def missing_binaries() -> list[str]:
    needed = [PG_BIN / "initdb", PG_BIN / "pg_ctl", Path(shutil.which("redis-server") or "")]
    return [str(p) for p in needed if not p.is_file()]


# --- PostgreSQL -----------------------------------------------------------------------------


class PrivatePostgres:
    """A throw-away cluster in ``root`` on a free port, run as the ``postgres`` OS user when
    the tests run as root (initdb refuses root). Durability is off: it holds test data."""

    def __init__(self, root: Path, port: int | None = None):
        self.root = root
        self.data = root / "pgdata"
        self.log = root / "postgres.log"
        self.port = port or free_port()
        self._as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        done = subprocess.run([*self._as, *args], capture_output=True, text=True, timeout=120)
        if check and done.returncode:
            raise RuntimeError(f"{args[0]} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
        return done

    def init(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o777)  # the postgres user writes its log and socket here
        self._run(
            str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
            "-E", "UTF8", "--no-sync",
        )  # fmt: skip

    def copy_of(self, source: PrivatePostgres) -> None:
        """This cluster as a copy of the running ``source`` (pg_basebackup): a test that
        stops its database must not stop the one other tests share."""
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o777)
        self._run(
            str(PG_BIN / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(source.port),
            "-U", "postgres", "-D", str(self.data), "-X", "stream", "-c", "fast", "--no-sync",
        )  # fmt: skip

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=60"
        )
        self._run(
            str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options,
            "-w", "-t", "60", "start",
        )  # fmt: skip

    def running(self) -> bool:
        return (
            self._run(
                str(PG_BIN / "pg_ctl"), "-D", str(self.data), "status", check=False
            ).returncode
            == 0
        )

    def stop(self, mode: str = "fast") -> None:
        self._run(
            str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop",
            check=False,
        )  # fmt: skip

    def url(self, db: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{db}"

    def connect(self, db: str = "postgres"):
        import psycopg

        return psycopg.connect(self.url(db), autocommit=True, connect_timeout=5)

    def query(self, sql: str, params=(), *, db: str):
        with self.connect(db) as conn:
            return conn.execute(sql, params).fetchall()

    def clone(self, template: str, name: str) -> None:
        with self.connect() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')


# --- Redis ----------------------------------------------------------------------------------


class PrivateRedis:
    """A redis-server on a free port with no persistence: stopping it loses every queued
    task, as a crashed Redis does."""

    def __init__(self, root: Path):
        self.root = root
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self._log = open(self.root / "redis.log", "ab")  # noqa: SIM115 (kept open by the server)
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.root)],
            stdout=self._log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        wait_for(self.ping, timeout=15, what="the private Redis")

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()  # as it dies, not a clean shutdown
            self.process.wait(10)
        self.process = None


# --- a mail server and an SMS gateway that record ------------------------------------------


class _SmtpHandler(socketserver.StreamRequestHandler):
    def handle(self):
        sink: SmtpSink = self.server.sink
        self._reply("220 faults.test ESMTP")
        mail_from, rcpt = None, []
        while True:
            line = self.rfile.readline()
            if not line:
                return
            command = line.decode("utf-8", "replace").strip()
            verb = command[:4].upper()
            if verb in ("EHLO", "HELO"):
                self._reply("250-faults.test\r\n250-8BITMIME\r\n250 SMTPUTF8")
            elif verb == "MAIL":
                mail_from, rcpt = command[10:], []
                self._reply("250 OK")
            elif verb == "RCPT":
                rcpt.append(command[8:].strip("<>"))
                self._reply("250 OK")
            elif verb == "DATA":
                self._reply("354 go ahead")
                data = bytearray()
                while True:
                    chunk = self.rfile.readline()
                    if not chunk or chunk in (b".\r\n", b".\n"):
                        break
                    data += chunk[1:] if chunk.startswith(b"..") else chunk
                if sink.delay:
                    time.sleep(sink.delay)  # a slow server: the worker waits on each mail
                sink.record(mail_from, rcpt, bytes(data))
                self._reply("250 queued")
            elif verb in ("RSET", "NOOP"):
                self._reply("250 OK")
            elif verb == "QUIT":
                self._reply("221 bye")
                return
            else:
                self._reply("502 not here")

    def _reply(self, text: str) -> None:
        self.wfile.write(text.encode() + b"\r\n")


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        pass  # a client killed mid-mail (the point of some tests) drops its connection


class SmtpSink:
    """A real SMTP server (enough of RFC 5321 for smtplib) keeping each accepted mail."""

    def __init__(self, delay: float = 0.0):
        self.delay = delay
        self.messages: list[dict] = []
        self._lock = threading.Lock()
        self.server = _Server(("127.0.0.1", 0), _SmtpHandler)
        self.server.sink = self
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def record(self, sender, recipients, data: bytes) -> None:
        parsed = email.message_from_bytes(data)
        with self._lock:
            self.messages.append(
                {
                    "to": list(recipients),
                    "message_id": parsed["Message-ID"],
                    "subject": parsed["Subject"],
                }
            )

    def message_ids(self) -> list[str]:
        with self._lock:
            return [m["message_id"] for m in self.messages]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class SmsSink:
    """An HTTP SMS gateway (core.sms.HttpBackend's JSON) keeping each accepted message."""

    def __init__(self):
        self.messages: list[dict] = []
        sink = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                sink.messages.append(json.loads(body))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"ok": true}')

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/sms"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# --- the portal's processes -----------------------------------------------------------------


def portal_env(*, db_url: str, redis_url: str, root: Path, smtp, sms) -> dict:
    """The production profile (``DJANGO_DEBUG=false``) against the private services."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CELERY_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="portal.settings",
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY="faults-" + secrets.token_hex(32),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        PORTAL_BASE_URL="https://portal.faults.test",
        DATABASE_URL=db_url,
        PORTAL_VAR_DIR=str(root / "var"),
        MEDIA_ROOT=str(root / "media"),
        STATIC_ROOT=str(root / "static"),
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(smtp.port if smtp else 25),
        EMAIL_TIMEOUT="20",
        DEFAULT_FROM_EMAIL="portal@portal.faults.test",
        SMS_BACKEND="core.sms.HttpBackend",
        SMS_HTTP_URL=sms.url if sms else "http://127.0.0.1:9/sms",
        SMS_HTTP_TIMEOUT="5",
        TRUSTED_PROXY_HOPS="1",
        # The restart test's load comes from one address in a loop: Open311's limit per
        # address (120 reads a minute) would answer it 429 before the outage is seen.
        OPEN311_READS_PER_MINUTE="100000",
        LOG_LEVEL="INFO",
        PYTHONUNBUFFERED="1",
    )
    env.pop("CI", None)
    for name in ("REDIS_URL", "REDIS_CACHE_URL", "DATABASE_REPLICA_URL"):
        env.pop(name, None)
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


def manage(env: dict, *args: str, timeout: float = 300) -> str:
    done = subprocess.run(
        [PYTHON, "manage.py", *args], cwd=REPO, env=env, capture_output=True, text=True,
        timeout=timeout,
    )  # fmt: skip
    if done.returncode:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def scenario(env: dict, *args: str, timeout: float = 300):
    """Run ``tests/faults/scenario.py`` in a Django process of the production profile and
    return the JSON it prints last."""
    done = subprocess.run(
        [PYTHON, "-m", "tests.faults.scenario", *args], cwd=REPO, env=env,
        capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip
    if done.returncode:
        raise RuntimeError(f"scenario {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


class Process:
    """A long-running process of ours, in its own process group, logging to a file."""

    def __init__(self, name: str, args: list[str], *, env: dict, root: Path):
        self.name = name
        self.args = args
        self.env = env
        self.logfile = root / f"{name}.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> Process:
        self._log = open(self.logfile, "ab")  # noqa: SIM115 (kept open by the process)
        self.process = subprocess.Popen(
            self.args, cwd=REPO, env=self.env, start_new_session=True,
            stdout=self._log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        return self

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def children(self) -> list[int]:
        out = subprocess.run(
            ["pgrep", "-P", str(self.pid)], capture_output=True, text=True
        ).stdout.split()
        return sorted(int(pid) for pid in out)

    def kill(self, sig=signal.SIGKILL) -> None:
        """``sig`` to the whole group (the main process and its children)."""
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, sig)
            self.process.wait(30)

    def stop(self) -> None:
        if self.alive():
            os.killpg(self.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.pid, signal.SIGKILL)
                self.process.wait(10)

    def log(self) -> str:
        return self.logfile.read_text(errors="replace") if self.logfile.exists() else ""


def gunicorn(env: dict, root: Path, *, port: int, workers: int = 2) -> Process:
    return Process(
        "gunicorn",
        [PYTHON, "-m", "gunicorn", "portal.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", str(workers), "--timeout", "30", "--graceful-timeout", "5",
         "--access-logfile", "-"],
        env=env, root=root,
    )  # fmt: skip


def worker(env: dict, root: Path, *, name: str = "w1", concurrency: int = 1) -> Process:
    return Process(
        f"worker-{name}",
        [PYTHON, "-m", "celery", "-A", "portal", "worker", "--loglevel=INFO", "--pool=prefork",
         f"--concurrency={concurrency}", f"--hostname={name}@faults", "--without-gossip",
         "--without-mingle", "--without-heartbeat"],
        env=env, root=root,
    )  # fmt: skip


def beat(env: dict, root: Path, *, name: str = "b1") -> Process:
    return Process(
        f"beat-{name}",
        [PYTHON, "-m", "celery", "-A", "portal", "beat", "--loglevel=INFO",
         f"--pidfile={root / (name + '.pid')}", "--max-interval=1"],
        env=env, root=root,
    )  # fmt: skip


# --- HTTP as nginx passes it on ---------------------------------------------------------------

ORIGIN = "https://127.0.0.1"


class Answer:
    def __init__(self, status: int, headers, text: str, seconds: float):
        self.status, self.headers, self.text, self.seconds = status, headers, text, seconds

    def __repr__(self) -> str:
        return f"<{self.status} in {self.seconds:.2f} s: {self.text[:200]!r}>"


def request(port: int, method: str, path: str, *, body=None, headers=None, timeout: float = 15):
    """One request as the documented proxy forwards it (HTTPS seen by nginx, the client's
    address in X-Forwarded-For)."""
    started = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        sent = {
            "Host": "127.0.0.1",
            "X-Forwarded-Proto": "https",
            "X-Forwarded-For": "203.0.113.7",
        }
        sent.update(headers or {})
        conn.request(method, path, body=body, headers=sent)
        response = conn.getresponse()
        text = response.read().decode("utf-8", "replace")
        return Answer(response.status, response.headers, text, time.monotonic() - started)
    finally:
        conn.close()


class Browser:
    """Cookies, CSRF tokens and forms, enough to sign in and send the portal's forms."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}

    def _headers(self, extra=None) -> dict:
        headers = dict(extra or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        return headers

    def _keep(self, answer: Answer) -> Answer:
        for raw in answer.headers.get_all("Set-Cookie") or []:
            name, _, rest = raw.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        return answer

    def get(self, path: str, **kwargs) -> Answer:
        return self._keep(request(self.port, "GET", path, headers=self._headers(), **kwargs))

    def post(self, path: str, fields: dict, *, referer: str | None = None, **kwargs) -> Answer:
        from urllib.parse import urlencode

        fields = {"csrfmiddlewaretoken": self.cookies.get("csrftoken", ""), **fields}
        headers = self._headers(
            {
                "Content-Type": "application/x-www-form-urlencoded",
                "Origin": ORIGIN,
                "Referer": ORIGIN + (referer or path),
            }
        )
        answer = request(
            self.port, "POST", path, body=urlencode(fields).encode(), headers=headers, **kwargs
        )
        return self._keep(answer)

    def sign_in(self, username: str, password: str) -> Answer:
        self.get("/accounts/login/")
        return self.post("/accounts/login/", {"username": username, "password": password})
