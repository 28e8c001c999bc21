"""The outside world for the outbox tests: ``StubServer``, a real HTTP server on 127.0.0.1
standing in for an SMS gateway or a WeCom/DingTalk robot (records every request, answers what
the test sets, goes down and comes back on the same address), and ``broker_down``, Celery for
real against a broker nobody answers."""

from __future__ import annotations

import json
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROBOT_OK = {"errcode": 0, "errmsg": "ok"}


class StubServer:
    def __init__(self, *, status: int = 200, answer: dict | bytes = ROBOT_OK, path: str = "/"):
        self.status, self.answer, self.path = status, answer, path
        self.delay = 0.0  # seconds before answering
        self.requests: list[dict] = []
        self._server = None
        self._thread = None
        self.port = 0

    # --- what it got -----------------------------------------------------------------------

    def bodies(self) -> list:
        return [json.loads(r["body"].decode("utf-8")) for r in self.requests]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.path}"

    # --- up and down -----------------------------------------------------------------------

    def start(self) -> StubServer:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                stub.requests.append(
                    {
                        "path": self.path,
                        "headers": dict(self.headers.items()),
                        "body": self.rfile.read(length),
                    }
                )
                raw = stub.answer
                if not isinstance(raw, bytes):
                    raw = json.dumps(raw).encode("utf-8")
                if stub.delay:
                    time.sleep(stub.delay)
                try:
                    self.send_response(stub.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(raw)))
                    self.end_headers()
                    self.wfile.write(raw)
                except OSError:
                    pass  # the client gave up waiting

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Down: nothing listens on its address until ``start`` again."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)
            self._server = None

    def __enter__(self) -> StubServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


BROKER_DOWN = "redis://127.0.0.1:1/0"  # nothing listens on port 1


@contextmanager
def broker_down():
    """Celery for real (not eager) against a dead broker; put back afterwards, with the
    outboxes' broker-down back-off forgotten."""
    from core.outbox import outbox_broker_reset
    from portal.celery import app

    saved = (app.conf.task_always_eager, app.conf.broker_url)
    pools = (app._pool, app.amqp._producer_pool)
    app._pool = app.amqp._producer_pool = None  # connect anew, to the dead broker
    app.conf.task_always_eager = False
    app.conf.broker_url = BROKER_DOWN
    outbox_broker_reset()
    try:
        yield app
    finally:
        if app._pool is not None:
            app._pool.force_close_all()
        app.conf.task_always_eager, app.conf.broker_url = saved
        app._pool, app.amqp._producer_pool = pools
        outbox_broker_reset()
