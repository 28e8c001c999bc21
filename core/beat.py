"""The periodic tasks, seeded once into django-celery-beat's tables and edited in the admin
from then on (Periodic tasks).

Celery's ``beat_schedule`` (``CELERY_BEAT_SCHEDULE``) is deliberately empty: the database
scheduler writes every entry of it over the stored row each time beat starts, which undid
every interval or crontab edited in the admin. Instead ``settings.BEAT_SCHEDULE_SEED`` holds
the entries a fresh installation starts with, and ``beat_schedule_seed`` (run after every
``migrate``) creates the ones missing by name and never touches one that exists: a changed
time, a disabled entry, changed arguments all stay as the admin left them. An entry deleted
in the admin comes back at the next ``migrate``; disable it instead to stop it.
"""

from __future__ import annotations

import datetime as dt
import json
import logging

from celery.schedules import crontab
from django.conf import settings
from django.db import transaction

log = logging.getLogger(__name__)


def beat_schedule_seed(*, seed: dict | None = None, using: str = "default") -> list[str]:
    """Create the periodic tasks of ``seed`` (``settings.BEAT_SCHEDULE_SEED``) that have no
    row of their name yet. Returns the names created."""
    from django_celery_beat.models import PeriodicTask

    seed = settings.BEAT_SCHEDULE_SEED if seed is None else seed
    created = []
    with transaction.atomic(using=using):
        existing = set(
            PeriodicTask.objects.using(using)
            .filter(name__in=list(seed))
            .values_list("name", flat=True)
        )
        for name, entry in seed.items():
            if name in existing:
                continue
            PeriodicTask.objects.using(using).create(
                name=name,
                task=entry["task"],
                args=json.dumps(entry.get("args", [])),
                kwargs=json.dumps(entry.get("kwargs", {})),
                **_schedule_fields(entry["schedule"], using),
            )
            created.append(name)
    if created:
        log.info("periodic tasks seeded: %s", ", ".join(created))
    return created


def _schedule_fields(schedule, using: str) -> dict:
    from django_celery_beat.models import CrontabSchedule, IntervalSchedule

    if isinstance(schedule, crontab):
        row, _ = CrontabSchedule.objects.using(using).get_or_create(
            minute=schedule._orig_minute,
            hour=schedule._orig_hour,
            day_of_week=schedule._orig_day_of_week,
            day_of_month=schedule._orig_day_of_month,
            month_of_year=schedule._orig_month_of_year,
            timezone=settings.CELERY_TIMEZONE,  # the times are local (Asia/Shanghai)
        )
        return {"crontab": row}
    seconds = int(schedule.total_seconds() if isinstance(schedule, dt.timedelta) else schedule)
    every, period = (seconds // 60, "minutes") if seconds % 60 == 0 else (seconds, "seconds")
    row, _ = IntervalSchedule.objects.using(using).get_or_create(every=every, period=period)
    return {"interval": row}


def seed_after_migrate(sender, *, using: str = "default", **kwargs) -> None:
    """``post_migrate`` receiver (sent once per app: connected for django_celery_beat's)."""
    beat_schedule_seed(using=using)


def beat_crontab_hours(name: str) -> set[int] | None:
    """The hours of the stored crontab entry ``name`` as the admin left it (None: no such
    enabled crontab entry)."""
    from django_celery_beat.models import PeriodicTask

    task = (
        PeriodicTask.objects.filter(name=name, enabled=True, crontab__isnull=False)
        .select_related("crontab")
        .first()
    )
    if task is None:
        return None
    try:
        return set(task.crontab.schedule.hour)
    except ValueError:  # a crontab the admin form let through but celery cannot read
        return None
