"""PostgreSQL restarted under load: gunicorn keeps answering — a clean, translated 503 with
Retry-After while the database is away, never a traceback, a 500 or a worker that hangs —
and the same gunicorn processes answer 200 again once it is back, with no restart."""

import threading
import time
from collections import Counter

from tests.faults import rig

OUTAGE_SECONDS = 4
PAGES = (
    "/open311/v2/services.json",  # anonymous: the view's own query
    "/tickets/",  # signed in: the session is read in a middleware, before the view
)


def test_postgres_restart_under_load(stack_factory, say):
    stack = stack_factory(own_cluster=True)  # its own copy: it stops PostgreSQL
    web = stack.gunicorn(workers=2)
    workers_before = web.children()
    browser = rig.Browser(stack.http_port)
    signed_in = browser.sign_in(stack.facts["username"], stack.facts["password"])
    assert signed_in.status == 302, signed_in
    assert browser.get("/tickets/").status == 200

    answers: list[tuple[float, str, rig.Answer | Exception]] = []
    stop = threading.Event()

    def load(path: str) -> None:
        while not stop.is_set():
            try:
                answer = rig.request(
                    stack.http_port, "GET", path, headers=browser._headers(), timeout=10
                )
            except Exception as exc:  # a hang (timeout) or a dropped connection: counted
                answer = exc
            answers.append((time.monotonic(), path, answer))

    threads = [threading.Thread(target=load, args=(p,)) for p in PAGES for _ in range(2)]
    for thread in threads:
        thread.start()
    time.sleep(2)
    down_at = time.monotonic()
    stack.pg.stop("fast")
    time.sleep(OUTAGE_SECONDS)
    stack.pg.start()
    up_at = time.monotonic()
    time.sleep(4)
    stop.set()
    for thread in threads:
        thread.join(15)

    failures = [a for _, _, a in answers if isinstance(a, Exception)]
    statuses = Counter(a.status for _, _, a in answers if not isinstance(a, Exception))
    outage = [a for _, _, a in answers if not isinstance(a, Exception) and a.status == 503]
    after = [(t, a) for t, _, a in answers if t > up_at and not isinstance(a, Exception)]
    first_ok = min((t for t, a in after if a.status == 200), default=None)
    slowest = max(a.seconds for _, _, a in answers if not isinstance(a, Exception))
    say(
        f"\n[faults] PostgreSQL restart under load: {len(answers)} requests, "
        f"{dict(statuses)} by status, {len(failures)} without an answer, "
        f"outage {up_at - down_at:.1f} s, slowest answer {slowest:.2f} s, "
        f"first 200 {first_ok - up_at:.2f} s after the database was back"
        if first_ok
        else f"\n[faults] no 200 after the restart: {dict(statuses)}"
    )
    assert not failures, failures[:3]
    assert set(statuses) <= {200, 503}, statuses
    assert outage, "the restart never reached a request: no 503 seen"
    for answer in outage:
        assert answer.headers["Retry-After"].isdigit(), answer.headers
        assert "门户暂时无法使用" in answer.text, answer.text[:500]
        assert "Traceback" not in answer.text and "OperationalError" not in answer.text
        assert "no-store" in answer.headers.get("Cache-Control", "")
    assert slowest < 10, "a request hung on the missing database"
    assert first_ok is not None and first_ok - up_at < 5, "not serving again after the restart"
    # Once the first answer came back, every one is a 200: no broken connection kept around.
    assert all(a.status == 200 for t, a in after if t > first_ok + 1), Counter(
        a.status for _, a in after
    )
    assert web.alive() and web.children() == workers_before, (
        "gunicorn restarted a worker (timed out or crashed)",
        workers_before,
        web.children(),
    )
    assert "Traceback" not in web.log(), web.log()[-3000:]
