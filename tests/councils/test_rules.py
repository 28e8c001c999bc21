import datetime as dt

from councils import rules
from councils.rules import Level
from grids.rules import AreaKind

D = dt.date


def test_weekly_and_fortnightly_fall_on_the_same_weekday():
    assert rules.RHYTHMS[Level.BUILDING].due_after(D(2025, 3, 3)) == D(2025, 3, 10)
    assert rules.RHYTHMS[Level.COMPOUND].due_after(D(2025, 3, 3)) == D(2025, 3, 17)


def test_monthly_keeps_the_day_or_takes_the_month_end():
    monthly = rules.RHYTHMS[Level.COMMITTEE]
    assert monthly.due_after(D(2025, 3, 15)) == D(2025, 4, 15)
    assert monthly.due_after(D(2025, 1, 31)) == D(2025, 2, 28)
    assert monthly.due_after(D(2024, 1, 31)) == D(2024, 2, 29)
    assert monthly.due_after(D(2025, 12, 10)) == D(2026, 1, 10)


def test_held_since_is_the_last_day_that_is_not_overdue():
    for level, rhythm in rules.RHYTHMS.items():
        today = D(2025, 3, 31)
        since = rhythm.held_since(today)
        assert rhythm.due_after(since) >= today, level
        assert rhythm.due_after(since - dt.timedelta(days=1)) < today, level


def test_each_meeting_kind_holds_one_level():
    assert rules.level_for(AreaKind.BUILDING) == Level.BUILDING
    assert rules.level_for(AreaKind.GRID) == Level.COMPOUND
    assert rules.level_for(AreaKind.COMPOUND) == Level.COMMITTEE
    assert rules.level_for(AreaKind.COMMUNITY) == Level.COMMITTEE
    assert rules.level_for(AreaKind.UNIT) is None
    assert rules.level_for(AreaKind.STREET) is None
