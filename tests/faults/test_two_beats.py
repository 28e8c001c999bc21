"""Two beat processes by mistake, for a while, each sending every periodic task, with a
worker running two at a time: no digest, no lift of an overdue problem and no reminder
happens twice.

No lock is taken for it; the tasks are idempotent where it counts, in the database, so they
hold for two beats, a redelivered task and a task run by hand alike:
- a digest is unique per (kind, node, period) and inserted with ON CONFLICT DO NOTHING, its
  deliveries unique per (digest, recipient), each mailed only by whoever claimed it
  (``core.outbox``: a conditional UPDATE of a row locked with SKIP LOCKED);
- the overdue job locks its batch with SKIP LOCKED and re-checks ``deadline < now`` on the
  locked rows: a problem another run lifted (or is lifting) has a new deadline, or is held;
  the reminder of a problem with no level above (put on the rectification list) is the same
  step;
- the sweeps are the outbox's claims again.
An advisory lock per task would also stop a second run, but only the runs that take it: the
idempotence above also covers a task sent by hand, a second worker machine and the
redelivery after a worker died."""

import re
import time
from collections import Counter

from tests.faults import rig

TASKS = {
    "escalate-overdue": "issues.tasks.escalate_overdue",
    "digest-daily": "digests.tasks.run_due_digests",
    "notifications-sweep": "issues.tasks.notifications_sweep",
    "digests-sweep": "digests.tasks.digests_sweep",
}
EVERY_SECOND = list(TASKS)
BEATS_SECONDS = 12


def test_two_beats_at_once(stack_factory, say):
    stack = stack_factory(smtp_delay=0.05)
    overdue = stack.scenario("overdue", hard=10)
    stack.scenario("beat", every={name: 1 for name in EVERY_SECOND})
    started = stack.sql("SELECT now()")[0][0]
    stack.env["CELERY_TRACE_LOG_LEVEL"] = "INFO"  # a line for each task that succeeded
    worker = stack.worker(concurrency=2)
    beats = [stack.beat("b1"), stack.beat("b2")]
    time.sleep(BEATS_SECONDS)
    for beat in beats:
        beat.stop()
    # Both beats really sent them (each logs what it sends) …
    sent = {
        name: [beat.log().count(f"Sending due task {name} ") for beat in beats]
        for name in EVERY_SECOND
    }
    assert all(min(by_beat) >= 2 for by_beat in sent.values()), sent

    def succeeded(task: str) -> int:
        return len(re.findall(rf"Task {re.escape(task)}\[[^]]+\] succeeded", worker.log()))

    # … and the worker ran every one of them to the end.
    rig.wait_for(
        lambda: all(succeeded(TASKS[name]) >= sum(sent[name]) for name in EVERY_SECOND),
        timeout=180,
        what="the worker to run every task both beats sent",
        every=0.5,
    )
    runs = {name: succeeded(TASKS[name]) for name in EVERY_SECOND}

    def settled():
        counts = stack.counts()
        d, n = counts["digest_deliveries"], counts["notification_deliveries"]
        return d["rows"] and d["rows"] == d["sent"] and n["rows"] == n["sent"] and counts

    counts = rig.wait_for(settled, timeout=120, what="the outbox to be sent", every=0.5)
    received = Counter(stack.smtp.message_ids())
    events = stack.sql(
        "SELECT kind, count(*) FROM issues_ticketevent WHERE at >= %s GROUP BY kind", (started,)
    )
    say(
        f"\n[faults] two beats for {BEATS_SECONDS} s: sent by each {sent}, runs {runs}; "
        f"in hand before "
        f"{overdue['levels']}; steps written {dict(events)}; escalation counts "
        f"{counts['escalation_counts']}; {counts['digests']} digests "
        f"({counts['digests_duplicated']} duplicated); {sum(received.values())} mails, "
        f"{sum(n - 1 for n in received.values())} twice; notices duplicated "
        f"{counts['notices_duplicated']}"
    )
    assert counts["lift_events_per_ticket"]["most"] == 1
    per_problem = Counter(
        stack.sql(
            "SELECT count(*) FILTER (WHERE kind = 'rectify'), "
            "count(*) FILTER (WHERE kind = 'escalate') FROM issues_ticketevent "
            "WHERE at >= %s GROUP BY ticket_id",
            (started,),
        )
    )
    # Each overdue problem once on the rectification list: lifted one level first (rectify
    # and escalate) or, with no level above, where it is (rectify alone, its holder reminded).
    assert set(per_problem) <= {(1, 1), (1, 0)} and sum(per_problem.values()) == 410, per_problem
    assert counts["digests"] == 36 and counts["digests_duplicated"] == 0
    assert counts["digest_deliveries_duplicated"] == 0
    assert counts["notices_duplicated"] == 0
    assert received and max(received.values()) == 1, [m for m, n in received.items() if n > 1]
