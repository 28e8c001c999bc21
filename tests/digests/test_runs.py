"""Stored and idempotent: running again changes no row and mails nothing twice; a rebuild
recomputes the figures but mails nothing again; a worker that was down catches up on the
missed periods; a worker that dies half-way leaves, once the task is retried, exactly one
digest per node and one mail per recipient."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail

from digests import services, tasks
from digests.models import Digest, DigestDelivery
from digests.services import digests_build, digests_deliver, digests_run_due

from .conftest import FRIDAY_EVENING, THURSDAY, THURSDAY_EVENING, local

D = Digest.Kind.DAILY
DAILY_NODES = 5  # communities A and B, grids G1, G2 and G3
DAILY_MAILS = 3  # A's worker, G1's head, B's secretary (G2 and G3 have nobody in post)


def snapshot():
    digests = list(
        Digest.objects.order_by("pk").values_list(
            "pk", "kind", "node_id", "period_start", "figures", "built_at"
        )
    )
    deliveries = list(
        DigestDelivery.objects.order_by("pk").values_list("pk", "digest_id", "email", "sent_at")
    )
    return digests, deliveries


def recipients_per_day() -> dict[dt.date, list[str]]:
    days: dict[dt.date, list[str]] = {}
    for row in DigestDelivery.objects.filter(sent_at__isnull=False).select_related("digest"):
        days.setdefault(row.digest.period_start, []).append(row.email)
    return {day: sorted(emails) for day, emails in days.items()}


def test_running_again_changes_no_row_and_mails_nothing_twice(rhythm):
    rhythm.play(THURSDAY_EVENING)
    first = digests_run_due(kind=D)
    assert (first.created, first.kept, first.sent) == (DAILY_NODES, 0, DAILY_MAILS)
    before = snapshot()

    rhythm.play(FRIDAY_EVENING)  # much has moved since
    again = digests_build(kind=D, day=THURSDAY)
    assert (again.created, again.kept, again.rebuilt) == (0, DAILY_NODES, 0)
    assert digests_deliver(kind=D) == 0
    assert snapshot() == before
    assert len(mail.outbox) == DAILY_MAILS


def test_the_task_twice_at_the_same_moment(rhythm):
    rhythm.play(THURSDAY_EVENING)
    assert tasks.run_due_digests("daily") == {
        "created": DAILY_NODES,
        "kept": 0,
        "rebuilt": 0,
        "sent": DAILY_MAILS,
    }
    before = snapshot()
    assert tasks.run_due_digests("daily") == {
        "created": 0,
        "kept": DAILY_NODES,
        "rebuilt": 0,
        "sent": 0,
    }
    assert snapshot() == before
    assert len(mail.outbox) == DAILY_MAILS


def test_a_rebuild_recomputes_and_mails_nothing_again(rhythm):
    rhythm.play(THURSDAY_EVENING)
    digests_run_due(kind=D)
    a = Digest.objects.get(kind=D, node=rhythm.community_a, period_start=THURSDAY)
    assert a.figures["totals"]["new"] == 3

    rhythm.play(local(2025, 3, 8, 10, 0))
    result = digests_build(kind=D, day=THURSDAY, rebuild=True)
    assert (result.created, result.kept, result.rebuilt) == (0, 0, DAILY_NODES)
    assert digests_deliver(kind=D) == 0
    rebuilt = Digest.objects.get(pk=a.pk)
    # the whole of Thursday now: T10 came in at 19:00
    assert rebuilt.figures["totals"] == {"new": 4, "moved": 6, "solved": 1, "overdue": 1}
    assert rebuilt.created_at == a.created_at and rebuilt.built_at > a.built_at
    assert rebuilt.text != a.text
    assert Digest.objects.filter(kind=D).count() == DAILY_NODES
    assert len(mail.outbox) == DAILY_MAILS


def test_catching_up_after_three_missed_days(rhythm):
    rhythm.play(local(2025, 3, 3, 18, 0))
    digests_run_due(kind=D)  # Monday's, the first ever: that day only
    assert Digest.objects.filter(kind=D).count() == DAILY_NODES

    rhythm.play(THURSDAY_EVENING)  # no worker on Tuesday and Wednesday evening
    result = digests_run_due(kind=D)
    assert (result.created, result.kept) == (3 * DAILY_NODES, DAILY_NODES)
    for node in (rhythm.community_a, rhythm.community_b, rhythm.world.g1):
        days = Digest.objects.filter(kind=D, node=node).order_by("period_start")
        assert [d.period_start for d in days] == [
            dt.date(2025, 3, 3),
            dt.date(2025, 3, 4),
            dt.date(2025, 3, 5),
            dt.date(2025, 3, 6),
        ]
    # the missed days are whole days; today's is counted up to now
    tuesday = Digest.objects.get(kind=D, node=rhythm.community_a, period_start="2025-03-04")
    assert tuesday.figures["as_of"] == local(2025, 3, 5).isoformat()
    # T4 and T9 reported and triaged; T9 solved at 15:00
    assert tuesday.figures["totals"] == {"new": 2, "moved": 2, "solved": 1, "overdue": 0}
    assert len(mail.outbox) == 4 * DAILY_MAILS
    assert set(recipients_per_day()) == {dt.date(2025, 3, d) for d in (3, 4, 5, 6)}


def test_catching_up_goes_back_at_most_31_days(rhythm):
    rhythm.play(local(2025, 2, 27, 18, 0))
    digests_run_due(kind=D)
    rhythm.play(local(2025, 4, 15, 18, 0))
    result = digests_run_due(kind=D, now=local(2025, 4, 15, 18, 0))
    assert result.created == 31 * DAILY_NODES
    first = Digest.objects.filter(kind=D, period_start__gt="2025-02-27").order_by("period_start")
    assert first.first().period_start == dt.date(2025, 3, 16)


def test_weekly_and_monthly_runs_build_the_last_full_period(rhythm):
    rhythm.play(local(2025, 3, 10, 8, 0))  # Monday morning
    assert digests_run_due(kind="weekly").created == 4  # two communities, street, county
    assert set(Digest.objects.filter(kind="weekly").values_list("period_start", flat=True)) == {
        dt.date(2025, 3, 3)
    }
    rhythm.play(local(2025, 4, 1, 8, 30))
    assert digests_run_due(kind="monthly").created == 2
    assert digests_run_due(kind="weekly").created == 12  # catching up on 10, 17 and 24 March
    assert sorted(m.to[0] for m in mail.outbox).count("street@grid.example.org") == 5


class WorkerLost(BaseException):
    """Stands for the worker process dying: nothing catches it."""


def test_a_worker_dying_while_building_leaves_one_digest_per_node(rhythm, monkeypatch):
    rhythm.play(local(2025, 3, 3, 18, 0))
    digests_run_due(kind=D)
    rhythm.play(THURSDAY_EVENING)

    real_digest, made = services._digest, []

    def dies_on_the_seventh(period, node, figures, now):
        made.append(node.pk)
        if len(made) == DAILY_NODES + 2:  # the 2nd node of the 2nd missed day
            raise WorkerLost
        return real_digest(period, node, figures, now)

    monkeypatch.setattr(services, "_digest", dies_on_the_seventh)
    with pytest.raises(WorkerLost):
        tasks.run_due_digests("daily")
    # Tuesday was built and committed; Wednesday's transaction was rolled back whole
    assert sorted(Digest.objects.filter(kind=D).values_list("period_start", flat=True)) == (
        [dt.date(2025, 3, 3)] * DAILY_NODES + [dt.date(2025, 3, 4)] * DAILY_NODES
    )
    monkeypatch.setattr(services, "_digest", real_digest)

    result = tasks.run_due_digests("daily")  # the retry
    assert result["created"] == 2 * DAILY_NODES
    for day in (3, 4, 5, 6):
        assert Digest.objects.filter(kind=D, period_start=dt.date(2025, 3, day)).count() == 5
    per_day = recipients_per_day()
    expected = sorted(["community@grid.example.org", "grid_head@grid.example.org"])
    expected = sorted([*expected, "outsider@grid.example.org"])
    assert per_day == {dt.date(2025, 3, day): expected for day in (3, 4, 5, 6)}
    assert len(mail.outbox) == 4 * DAILY_MAILS


def test_point7_a_worker_dying_between_mailing_and_marking_mails_again_only_when_stale(
    rhythm, monkeypatch
):
    """At least once (``core.outbox``): the mail that left before the worker died is not
    sent again while its claim is fresh, then once more with the same Message-ID. The
    mails of its batch not sent yet were claimed with it: they wait for the claim to go
    stale too (a delay, never a second copy of the mails already marked)."""
    from core.outbox import CLAIM_TIMEOUT

    rhythm.play(THURSDAY_EVENING)
    real_mail, calls = services.digest_mail, []

    def dies_after_the_second(**kwargs):
        calls.append(kwargs["email"])
        real_mail(**kwargs)
        if len(calls) == 2:
            raise WorkerLost  # killed after SMTP accepted the mail, before it was marked

    monkeypatch.setattr(services, "digest_mail", dies_after_the_second)
    with pytest.raises(WorkerLost):
        tasks.run_due_digests("daily")
    assert len(mail.outbox) == 2
    assert DigestDelivery.objects.filter(sent_at__isnull=False).count() == 1
    stuck = DigestDelivery.objects.get(email=calls[1])
    assert (stuck.sent_at, stuck.attempts) == (None, 1) and stuck.claimed_at is not None

    result = tasks.run_due_digests("daily")  # the retry, within the claim window
    assert (result["created"], result["kept"], result["sent"]) == (0, DAILY_NODES, 0)
    assert Digest.objects.filter(kind=D).count() == DAILY_NODES
    assert len(mail.outbox) == 2  # the batch's claim holds: nothing sent twice

    rhythm.clock.set(THURSDAY_EVENING + CLAIM_TIMEOUT + dt.timedelta(minutes=1))
    # The claim went stale: the mail in flight sent again, once, and the batch's rest.
    assert digests_deliver(kind=D) == DAILY_MAILS - 1
    assert digests_deliver(kind=D) == 0
    addresses = [m.to[0] for m in mail.outbox]
    assert len(addresses) == DAILY_MAILS + 1
    assert sorted(set(addresses)) == sorted(DigestDelivery.objects.values_list("email", flat=True))
    again = [m for m in mail.outbox if m.to == [stuck.email]]
    assert len(again) == 2
    assert again[0].extra_headers["Message-ID"] == again[1].extra_headers["Message-ID"]
    stuck.refresh_from_db()
    assert stuck.sent_at is not None and stuck.attempts == 2


def test_a_mail_server_error_is_tried_again_next_run(rhythm, monkeypatch):
    rhythm.play(THURSDAY_EVENING)
    real_mail, ids = services.digest_mail, []

    def refused(**kwargs):
        if kwargs["email"].startswith("grid_head"):
            ids.append(kwargs["message_id"])
            raise ConnectionRefusedError("the mail server said no")
        real_mail(**kwargs)

    monkeypatch.setattr(services, "digest_mail", refused)
    assert digests_run_due(kind=D).sent == 2
    row = DigestDelivery.objects.get(email__startswith="grid_head")
    assert (row.sent_at, row.attempts, row.claimed_at) == (None, 1, None)
    assert row.last_error == "ConnectionRefusedError: the mail server said no"

    monkeypatch.setattr(services, "digest_mail", real_mail)
    assert digests_run_due(kind=D).sent == 1
    row.refresh_from_db()
    assert row.sent_at is not None and row.attempts == 2 and row.last_error == ""
    assert len(mail.outbox) == DAILY_MAILS
    (sent,) = [m for m in mail.outbox if m.to == [row.email]]
    assert sent.message()["Message-ID"] == ids[0]  # the same id as on the failed attempt


def test_point7_a_failing_digest_delivery_never_blocks_the_others_and_is_given_up(
    rhythm, monkeypatch
):
    from core.outbox import MAX_ATTEMPTS

    rhythm.play(THURSDAY_EVENING)
    real_mail = services.digest_mail

    def broken_for_the_first(**kwargs):
        if kwargs["email"].startswith("community"):
            raise ValueError("a header the mail library refuses")
        real_mail(**kwargs)

    monkeypatch.setattr(services, "digest_mail", broken_for_the_first)
    assert digests_deliver(kind=D) == 0  # nothing built yet
    assert digests_run_due(kind=D).sent == DAILY_MAILS - 1
    for _ in range(MAX_ATTEMPTS):
        digests_deliver(kind=D)
    row = DigestDelivery.objects.get(email__startswith="community")
    assert (row.sent_at, row.attempts) == (None, MAX_ATTEMPTS)
    assert row.last_error == "ValueError: a header the mail library refuses"
    monkeypatch.setattr(services, "digest_mail", real_mail)
    assert digests_deliver(kind=D) == 0  # given up: no further attempt
    assert len(mail.outbox) == DAILY_MAILS - 1


def test_the_task_is_what_beat_runs(db):
    import json

    from django_celery_beat.models import PeriodicTask

    from portal.celery import app

    assert tasks.run_due_digests.name == "digests.tasks.run_due_digests"
    assert tasks.run_due_digests.name in app.tasks
    assert tasks.run_due_digests.acks_late is True
    # seeded by migrate into the database scheduler's table
    entries = PeriodicTask.objects.filter(task="digests.tasks.run_due_digests", enabled=True)
    assert sorted(json.loads(e.args) for e in entries) == [["daily"], ["monthly"], ["weekly"]]


def test_an_unknown_kind_is_refused(db):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        digests_run_due(kind="hourly")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_make_one_digest_per_node_and_one_mail_each(rhythm):
    """Beat fired twice (or a retry overlapped the first run): both build and both send, in
    their own transactions; the unique constraint and the skip-locked claims sort it out."""
    import threading

    from django.db import connection

    rhythm.play(THURSDAY_EVENING)
    mail.outbox.clear()  # committed for real here: the problems' own notifications went out
    barrier, errors = threading.Barrier(2), []

    def worker():
        try:
            barrier.wait()
            digests_run_due(kind=D)
        except Exception as exc:  # reported below, in the test's thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert Digest.objects.filter(kind=D).count() == DAILY_NODES
    assert DigestDelivery.objects.count() == DAILY_MAILS
    assert sorted(m.to[0] for m in mail.outbox) == [
        "community@grid.example.org",
        "grid_head@grid.example.org",
        "outsider@grid.example.org",
    ]


def test_a_worker_back_after_midnight_builds_yesterday_not_today(rhythm):
    """Beat runs an overdue entry when it starts again: at 01:00 the day has barely begun,
    so the run builds the missed Thursday (whole) and leaves Friday for its evening."""
    rhythm.play(local(2025, 3, 5, 18, 0))
    digests_run_due(kind=D)  # Wednesday's
    rhythm.play(local(2025, 3, 7, 1, 0))
    result = digests_run_due(kind=D)
    assert result.created == DAILY_NODES
    days = set(Digest.objects.filter(kind=D).values_list("period_start", flat=True))
    assert days == {dt.date(2025, 3, 5), THURSDAY}
    thursday = Digest.objects.get(kind=D, node=rhythm.community_a, period_start=THURSDAY)
    assert thursday.figures["as_of"] == local(2025, 3, 7).isoformat()
    rhythm.play(FRIDAY_EVENING)
    assert digests_run_due(kind=D).created == DAILY_NODES  # Friday's, at its hour


def test_building_renders_no_mail_and_sending_renders_each_once(rhythm, monkeypatch):
    from digests import rendering

    real_render, rendered = rendering.render_digest, []

    def counted(digest):
        rendered.append(digest.pk)
        return real_render(digest)

    monkeypatch.setattr(rendering, "render_digest", counted)
    rhythm.play(THURSDAY_EVENING)
    result = digests_build(kind=D, day=THURSDAY)
    assert result.created == DAILY_NODES
    assert rendered == []  # figures only: a mail is rendered when it is sent

    assert digests_deliver(kind=D) == DAILY_MAILS
    mailed = set(
        DigestDelivery.objects.filter(sent_at__isnull=False).values_list("digest", flat=True)
    )
    assert sorted(rendered) == sorted(mailed)  # once per digest mailed, none for the others
    assert all(message.body.strip() for message in mail.outbox)
