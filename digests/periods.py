"""Periods in local (Asia/Shanghai) days: a day, an ISO week (Monday to Sunday) or a calendar
month, and which of them are due on a given day."""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from digests.models import Digest

K = Digest.Kind

# How far back a worker that was down catches up, in periods (today or the latest full
# period included): a month of days, two months of weeks, a quarter of months.
CATCH_UP = {K.DAILY: 31, K.WEEKLY: 8, K.MONTHLY: 3}


@dataclass(frozen=True)
class Period:
    kind: str
    start: dt.date
    end: dt.date  # inclusive

    @property
    def starts_at(self) -> dt.datetime:
        return midnight(self.start)

    @property
    def ends_at(self) -> dt.datetime:
        """Midnight after the last day: the period is [starts_at, ends_at)."""
        return midnight(self.end + dt.timedelta(days=1))

    def preceding(self) -> Period:
        return period_of(self.kind, self.start - dt.timedelta(days=1))


def midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=timezone.get_default_timezone())


def period_of(kind: str, day: dt.date) -> Period:
    """The period of ``kind`` that holds ``day``."""
    if kind == K.DAILY:
        return Period(kind, day, day)
    if kind == K.WEEKLY:
        monday = day - dt.timedelta(days=day.weekday())
        return Period(kind, monday, monday + dt.timedelta(days=6))
    if kind == K.MONTHLY:
        last = calendar.monthrange(day.year, day.month)[1]
        return Period(kind, day.replace(day=1), day.replace(day=last))
    raise ValueError(f"unknown digest kind {kind!r}")


def latest_due(kind: str, today: dt.date, *, before_daily_hour: bool = False) -> Period:
    """The newest period a run on ``today`` builds: today itself for the daily summary (built
    in the evening, as of that moment) — yesterday while today's hour has not come, so that
    a worker back after midnight does not freeze a day that has barely begun — and the last
    full week or month otherwise."""
    current = period_of(kind, today)
    if kind == K.DAILY and not before_daily_hour:
        return current
    return current.preceding()


DAILY_ENTRY = "digest-daily"


def daily_hour() -> int:
    """The hour the daily summary is due: that of the ``digest-daily`` periodic task as
    stored (edited in the admin), else of its seed (``DIGEST_DAILY_HOUR``), else 18."""
    from core.beat import beat_crontab_hours

    hours = beat_crontab_hours(DAILY_ENTRY)
    if not hours:
        entry = settings.BEAT_SCHEDULE_SEED.get(DAILY_ENTRY, {})
        hours = getattr(entry.get("schedule"), "hour", None)
    return min(hours) if hours else 18


def is_finished(period: Period, today: dt.date) -> bool:
    return period.end < today


def due_periods(
    kind: str, today: dt.date, last_start: dt.date | None, *, before_daily_hour: bool = False
) -> list[Period]:
    """The periods to build on ``today``, oldest first: from the last stored one (again, so
    that a run that died half-way is completed) up to the latest due one, at most
    ``CATCH_UP[kind]`` of them. Without any stored digest: the latest due one only."""
    latest = latest_due(kind, today, before_daily_hour=before_daily_hour)
    if last_start is None or last_start >= latest.start:
        return [latest]
    periods = [latest]
    while len(periods) < CATCH_UP[kind] and periods[0].start > last_start:
        periods.insert(0, periods[0].preceding())
    return periods
