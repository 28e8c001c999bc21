import datetime as dt

import pytest

from councils import demo, selectors
from councils.models import Decision, Meeting
from councils.rules import State
from points.models import PointEntry
from tests.clock import Clock

pytestmark = pytest.mark.django_db


def test_the_demo_meets_on_the_rhythm_and_loads_once(c):
    clock = Clock(dt.datetime(2025, 3, 20, 10, tzinfo=dt.UTC))
    try:
        lines = []
        demo.load(lines.append)
        held = Meeting.objects.filter(state=State.HELD)
        # The 10th of December, January, February and March.
        assert held.filter(level="committee").count() == 4
        assert held.filter(level="compound").exists() and held.filter(level="building").exists()
        assert Meeting.objects.filter(state=State.PLANNED).exists()
        assert PointEntry.objects.filter(rule__code="meeting_attended").exists()
        assert Decision.objects.filter(ticket__isnull=False).count() == 1
        counts = selectors.rhythm_counts(c.user("community"))
        assert counts["overdue"] >= 1
        before = Meeting.objects.count()
        demo.load(lines.append)
        assert Meeting.objects.count() == before
    finally:
        clock.stop()
