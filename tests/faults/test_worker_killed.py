"""A Celery worker killed with SIGKILL in the middle of a run: on restart each effect
happens exactly once.

- The daily digest run, killed while it mails (a mail server that takes a quarter of a
  second a mail): the pool process dies, the task (acks_late, reject_on_worker_lost) is
  redelivered and run again; it builds no digest twice (one per node and period, a unique
  constraint) and sends no delivery twice (each claimed before it is sent). The mails the
  killed run had claimed but not sent go out through ``digests-sweep`` once their claim is
  stale (the 15 minutes of ``core.outbox.CLAIM_TIMEOUT`` pass in the database).
- The overdue job, killed (the whole worker, as the machine losing power) after its first
  batch of 200 was committed and before the second: restarted, beat's next run lifts the
  rest, none twice, each new handler told once."""

import re
import time
from collections import Counter

from tests.faults import rig

DIGEST_NODES = 4 + 4 * 8  # daily: every community and grid of the world
# One head on each (the worker who signs in took over the last community's post).
DIGEST_RECIPIENTS = DIGEST_NODES


def _killed_mid_run(stack, process, predicate, what: str) -> float:
    """SIGKILL ``process`` (a pid, or a rig.Process for its whole group) as soon as
    ``predicate()`` holds."""
    rig.wait_for(predicate, timeout=120, what=what, every=0.02)
    at = time.monotonic()
    if isinstance(process, int):
        import os
        import signal

        os.kill(process, signal.SIGKILL)
    else:
        process.kill()
    return at


def test_digest_run_killed_while_mailing(stack_factory, say):
    stack = stack_factory(smtp_delay=0.25)
    stack.scenario("beat", every={})  # beat is not running yet; nothing else scheduled
    worker = stack.worker()
    (pool_process,) = worker.children()
    stack.scenario("send", task="digests.tasks.run_due_digests", args=["daily"])
    _killed_mid_run(
        stack, pool_process, lambda: len(stack.smtp.messages) >= 8, "the first digest mails"
    )
    mailed_before_kill = len(stack.smtp.messages)
    # The worker replaces its pool process and runs the redelivered task again.
    rerun = rig.wait_for(
        lambda: re.findall(
            r"daily digests .*: (\d+) created, (\d+) kept, (\d+) mailed", worker.log()
        ),
        timeout=90,
        what="the redelivered digest run",
    )
    assert worker.alive() and worker.children() != [pool_process]
    after_rerun = stack.counts()
    # A quarter of an hour passes: the killed run's claims are stale; the sweep sends them.
    expired = stack.scenario("claims_expire")
    stack.scenario("beat", every={"digests-sweep": 2})
    stack.beat()

    def all_sent():
        counts = stack.counts()
        d = counts["digest_deliveries"]
        return d["rows"] == d["sent"] and counts

    counts = rig.wait_for(all_sent, timeout=120, what="every digest mailed", every=0.5)
    received = Counter(stack.smtp.message_ids())
    expected_ids = set(counts["delivery_message_ids"]["digest"])
    twice = {mid: n for mid, n in received.items() if n > 1}
    say(
        f"\n[faults] digest run killed after {mailed_before_kill} of {DIGEST_RECIPIENTS} mails: "
        f"the redelivered run {rerun[-1]} (created, kept, mailed); "
        f"{after_rerun['digest_deliveries']['claimed_unsent']} left claimed, "
        f"{expired['digests.DigestDelivery']} claims expired, then the sweep; "
        f"{counts['digests']} digests ({counts['digests_duplicated']} duplicated), "
        f"{sum(received.values())} mails for {len(expected_ids)} deliveries, "
        f"{len(twice)} sent twice (the one in flight at the kill, same Message-ID)"
    )
    assert int(rerun[-1][0]) == 0 and int(rerun[-1][1]) == DIGEST_NODES, rerun
    assert counts["digests"] == DIGEST_NODES and counts["digests_duplicated"] == 0
    assert len(expected_ids) == DIGEST_RECIPIENTS
    assert counts["digest_deliveries_duplicated"] == 0
    assert set(received) == expected_ids
    # At least once, as core.outbox says: the mail in flight when the worker died may go
    # twice, with the same Message-ID; no other.
    assert len(twice) <= 1 and all(n == 2 for n in twice.values()), twice


def test_escalation_run_killed_between_batches(stack_factory, say):
    stack = stack_factory()
    assert stack.scenario("overdue")["overdue"] == 400
    stack.scenario("beat", every={})
    started = stack.sql("SELECT now()")[0][0]
    worker = stack.worker()
    stack.scenario("send", task="issues.tasks.escalate_overdue", args=[])

    def lifted() -> int:
        return stack.sql("SELECT count(*) FROM issues_ticket WHERE escalation_count > 0")[0][0]

    _killed_mid_run(stack, worker, lambda: lifted() > 0, "the first batch of the overdue job")
    at_kill = lifted()
    assert 0 < at_kill < 400, f"the kill did not land between batches: {at_kill} lifted"

    # Restarted; the killed run's task waits for the broker's visibility timeout, and beat's
    # next run of the job (every 15 minutes; here every 3 seconds) does the rest.
    stack.scenario("beat", every={"escalate-overdue": 3, "notifications-sweep": 2})
    stack.worker("w2")
    stack.beat()
    rig.wait_for(lambda: lifted() == 400, timeout=120, what="every problem lifted", every=0.5)

    def all_sent():
        total, sent = stack.sql(
            "SELECT count(*), count(sent_at) FROM issues_notificationdelivery "
            "WHERE created_at >= %s",
            (started,),
        )[0]
        return total > 0 and total == sent

    rig.wait_for(all_sent, timeout=120, what="every notice mailed", every=0.5)
    time.sleep(4)  # more runs of the job: they must find nothing to lift
    counts = stack.counts()
    received = Counter(stack.smtp.message_ids())
    say(
        f"\n[faults] overdue job killed with {at_kill} of 400 lifted; after the restart: "
        f"escalation counts {counts['escalation_counts']}, lift steps per problem "
        f"{counts['lift_events_per_ticket']}, {counts['notifications_by_kind']} notices "
        f"({counts['notices_duplicated']} duplicated), {sum(received.values())} mails "
        f"({sum(n - 1 for n in received.values())} twice)"
    )
    assert counts["escalation_counts"] == {"1": 400}, counts["escalation_counts"]
    assert counts["lift_events_per_ticket"] == {"most": 1, "fewest": 1}
    assert counts["notices_duplicated"] == 0 and counts["lifted_without_notice"] == 0
    assert received and max(received.values()) == 1
