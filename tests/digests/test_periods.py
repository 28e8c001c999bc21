"""Periods and which are due: days, ISO weeks, calendar months, and the catch-up bounds."""

import datetime as dt

from digests.periods import CATCH_UP, due_periods, latest_due, period_of

D = dt.date


def test_period_of():
    assert period_of("daily", D(2025, 3, 6)).end == D(2025, 3, 6)
    week = period_of("weekly", D(2025, 3, 6))
    assert (week.start, week.end) == (D(2025, 3, 3), D(2025, 3, 9))
    month = period_of("monthly", D(2024, 2, 10))
    assert (month.start, month.end) == (D(2024, 2, 1), D(2024, 2, 29))
    # Across the year's end (Period.following, which nothing called, is gone: preceding() is
    # what the catch-up uses).
    assert period_of("monthly", D(2025, 1, 1)).preceding().start == D(2024, 12, 1)
    assert week.ends_at - week.starts_at == dt.timedelta(days=7)
    assert str(week.starts_at.tzinfo) == "Asia/Shanghai"


def test_latest_due():
    assert latest_due("daily", D(2025, 3, 6)).start == D(2025, 3, 6)
    assert latest_due("weekly", D(2025, 3, 10)).start == D(2025, 3, 3)  # Monday: last week
    assert latest_due("weekly", D(2025, 3, 9)).start == D(2025, 2, 24)  # Sunday: not over
    assert latest_due("monthly", D(2025, 1, 1)).start == D(2024, 12, 1)


def test_due_periods_from_the_last_stored_one():
    assert [p.start for p in due_periods("daily", D(2025, 3, 6), None)] == [D(2025, 3, 6)]
    assert [p.start for p in due_periods("daily", D(2025, 3, 6), D(2025, 3, 6))] == [D(2025, 3, 6)]
    assert [p.start for p in due_periods("daily", D(2025, 3, 6), D(2025, 3, 3))] == [
        D(2025, 3, 3),  # again: a run that died half-way is completed
        D(2025, 3, 4),
        D(2025, 3, 5),
        D(2025, 3, 6),
    ]


def test_catching_up_is_bounded():
    assert len(due_periods("daily", D(2025, 6, 1), D(2025, 1, 1))) == CATCH_UP["daily"] == 31
    weeks = due_periods("weekly", D(2025, 6, 2), D(2025, 1, 6))
    assert len(weeks) == 8 and weeks[-1].start == D(2025, 5, 26)
    months = due_periods("monthly", D(2025, 6, 1), D(2024, 1, 1))
    assert [m.start for m in months] == [D(2025, 3, 1), D(2025, 4, 1), D(2025, 5, 1)]


def test_the_daily_summary_is_due_from_its_hour(settings, db):
    from celery.schedules import crontab
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    from digests.periods import daily_hour

    assert daily_hour() == 18  # the seeded entry (DIGEST_DAILY_HOUR unset)
    entry = PeriodicTask.objects.get(name="digest-daily")
    entry.crontab = CrontabSchedule.objects.create(hour="20", minute="0", timezone="Asia/Shanghai")
    entry.save()
    assert daily_hour() == 20  # as edited in the admin
    PeriodicTask.objects.filter(name="digest-daily").delete()
    daily = {"task": "digests.tasks.run_due_digests", "args": ["daily"]}
    settings.BEAT_SCHEDULE_SEED = {"digest-daily": {**daily, "schedule": crontab(hour=7)}}
    assert daily_hour() == 7  # no stored entry: the seed's hour (DIGEST_DAILY_HOUR)
    settings.BEAT_SCHEDULE_SEED = {}
    assert daily_hour() == 18
    late = due_periods("daily", D(2025, 3, 7), D(2025, 3, 5), before_daily_hour=True)
    assert [p.start for p in late] == [D(2025, 3, 5), D(2025, 3, 6)]
