"""Two workers at once on one meeting (PostgreSQL threads, each on its own connection): two
recording it as held, two striking one attendee off. The meeting's row lock lets one win;
the points are awarded, and reversed, exactly once; the other is told what happened."""

import importlib
import threading

import pytest
from django.db import connection

from councils import rules, services
from councils.models import Attendance, MeetingEvent
from councils.rules import State
from points.models import PointBalance, PointEntry, PointRule
from tests.councils.conftest import Councils
from tests.issues.conftest import Ticketing

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _rules():
    """The seeded points rules (a transactional test before this one emptied the table)."""
    for code, points, description in importlib.import_module("points.migrations.0002_rules").RULES:
        PointRule.objects.get_or_create(
            code=code, defaults={"points": points, "description": description}
        )


def _race(*acts, timeout=30):
    """Runs each act on its own thread and connection, started together; each result is
    "won" or the words of the refusal."""
    barrier = threading.Barrier(len(acts))
    results = [None] * len(acts)

    def run(i, act):
        try:
            barrier.wait()
            act()
            results[i] = "won"
        except Exception as exc:  # judged by the test
            results[i] = " ".join(getattr(exc, "messages", [repr(exc)]))
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, a), daemon=True) for i, a in enumerate(acts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
        assert not thread.is_alive(), "a thread hung on the row lock"
    return results


def _attended(person, meeting):
    return PointEntry.objects.filter(
        rule__code=rules.POINTS_RULE, act_key=rules.attendance_act_key(meeting.pk, person.pk)
    )


def test_two_workers_recording_one_meeting_at_once(world):
    c = Councils(Ticketing(world))
    people = [c.persons["building_head"], c.persons["unit_head"]]
    for _round in range(3):
        meeting = c.plan(c.b1)

        def hold(by, minutes, meeting=meeting):
            return lambda: services.meeting_hold(
                meeting=meeting, actor=c.user(by), attendees=people, minutes=minutes
            )

        results = _race(hold("building_head", "甲记的纪要"), hold("community", "乙记的纪要"))
        assert results.count("won") == 1
        loser = next(r for r in results if r != "won")
        assert "已记录为召开" in loser  # this meeting has already been recorded as held
        meeting.refresh_from_db()
        assert meeting.state == State.HELD
        assert meeting.minutes == ("甲记的纪要" if results[0] == "won" else "乙记的纪要")
        assert Attendance.objects.filter(meeting=meeting).count() == 2
        assert meeting.events.filter(kind=MeetingEvent.Kind.HOLD).count() == 1
        for person in people:
            assert _attended(person, meeting).count() == 1
    # Three meetings, each attended once by each: three awards a person, no more.
    for person in people:
        earned = PointEntry.objects.filter(person=person, rule__code=rules.POINTS_RULE)
        assert earned.count() == 3


def test_two_strike_offs_of_one_attendee_at_once(world):
    c = Councils(Ticketing(world))
    head = c.persons["unit_head"]
    for _round in range(3):
        meeting = c.held(c.b1)
        before = PointBalance.objects.get(person=head).balance

        def strike(by, why, meeting=meeting):
            return lambda: services.meeting_attendee_remove(
                meeting=meeting, person=head, actor=c.user(by), reason=why
            )

        results = _race(strike("building_head", "记错了"), strike("community", "未到场"))
        assert results.count("won") == 1
        loser = next(r for r in results if r != "won")
        assert "已从出席名单中划去" in loser  # already struck off the attendance
        row = Attendance.objects.get(meeting=meeting, person=head)
        assert row.removed_at is not None
        assert row.removed_reason == ("记错了" if results[0] == "won" else "未到场")
        entries = _attended(head, meeting)
        assert entries.count() == 2  # the award and one reversal of it
        assert sorted(e.amount for e in entries)[0] < 0
        assert meeting.events.filter(kind=MeetingEvent.Kind.ATTENDEE_REMOVE).count() == 1
        after = PointBalance.objects.get(person=head).balance
        assert after == before - entries.get(reverses__isnull=True).amount


def test_two_meetings_of_one_area_held_at_once_both_count_in_its_rhythm(world):
    """The rhythm row is locked before the meetings are read: the second act to get it
    reads the first one's held meeting, so the last held is the later of the two."""
    import datetime as dt

    from councils.models import MeetingRhythm

    c = Councils(Ticketing(world))
    people = [c.persons["building_head"], c.persons["unit_head"]]
    for week in range(3):
        earlier = c.plan(c.b1, on=dt.date(2025, 3, 3) + dt.timedelta(weeks=2 * week))
        later = c.plan(c.b1, on=dt.date(2025, 3, 10) + dt.timedelta(weeks=2 * week))

        def hold(meeting, by):
            return lambda: services.meeting_hold(
                meeting=meeting, actor=c.user(by), attendees=people, minutes="议定"
            )

        assert _race(hold(later, "building_head"), hold(earlier, "community")) == ["won", "won"]
        row = MeetingRhythm.objects.get(area=c.b1)
        assert row.last_held == later.date
        assert row.next_due == later.date + dt.timedelta(days=7)
        assert row.next_planned is None
