"""The periodic tasks are seeded once by migrate and then belong to the admin: neither a new
migrate nor beat's start writes over an edited entry."""

import datetime as dt
import json

import pytest
import time_machine
from django.conf import settings
from django.core.management import call_command
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from core.beat import beat_schedule_seed

pytestmark = pytest.mark.django_db


def test_migrate_seeds_every_entry_once():
    stored = {t.name: t for t in PeriodicTask.objects.select_related("interval", "crontab")}
    assert set(settings.BEAT_SCHEDULE_SEED) <= set(stored)
    assert (
        stored["escalate-overdue"].interval.every,
        stored["escalate-overdue"].interval.period,
    ) == (
        15,
        "minutes",
    )
    sms_sweep = stored["text-messages-sweep"]
    assert (sms_sweep.task, sms_sweep.interval.every, sms_sweep.interval.period) == (
        "core.tasks.text_messages_sweep",
        2,
        "minutes",
    )
    prune = stored["text-messages-prune"]
    assert (prune.task, prune.crontab.hour, prune.crontab.minute) == (
        "core.tasks.text_messages_prune",
        "3",
        "40",
    )
    daily = stored["digest-daily"]
    assert (daily.crontab.hour, daily.crontab.minute, str(daily.crontab.timezone)) == (
        "18",
        "0",
        "Asia/Shanghai",
    )
    assert json.loads(daily.args) == ["daily"]
    prune = stored["sign-in-codes-prune"]
    assert (prune.task, prune.crontab.hour, prune.crontab.minute) == (
        "residents.tasks.sign_in_codes_prune",
        "3",
        "30",
    )
    assert beat_schedule_seed() == []  # nothing missing: nothing created
    assert set(settings.BEAT_SCHEDULE_SEED) == {
        "escalate-overdue",
        "close-unrated",
        "notifications-sweep",
        "text-messages-sweep",
        "digests-sweep",
        "proposals-close-due",
        "sign-in-logs-prune",
        "sign-in-codes-prune",
        "text-messages-prune",
        "digest-daily",
        "digest-weekly",
        "digest-monthly",
    }
    assert PeriodicTask.objects.filter(name__in=list(settings.BEAT_SCHEDULE_SEED)).count() == 12
    assert not hasattr(settings, "CELERY_BEAT_SCHEDULE")


def test_point10_schedule_edits_survive_migrate_and_beat_starting(monkeypatch):
    from django_celery_beat import schedulers
    from django_celery_beat.schedulers import DatabaseScheduler

    # Beat closes connections it finds inside a transaction: here, the test's own one.
    monkeypatch.setattr(schedulers, "close_old_connections", lambda: None)

    from portal.celery import app

    beat_schedule_seed()
    escalate = PeriodicTask.objects.get(name="escalate-overdue")
    escalate.interval = IntervalSchedule.objects.create(every=30, period="minutes")
    escalate.save()
    daily = PeriodicTask.objects.get(name="digest-daily")
    daily.crontab = CrontabSchedule.objects.create(minute="30", hour="20", timezone="Asia/Shanghai")
    daily.save()
    sweep = PeriodicTask.objects.get(name="notifications-sweep")
    sweep.enabled = False
    sweep.save()
    PeriodicTask.objects.filter(name="close-unrated").delete()  # a missing one comes back

    call_command("migrate", verbosity=0)  # runs the seeding again (post_migrate)
    beat_schedule_seed()
    # django-celery-beat loads only the crontab entries due within two hours of now (and
    # reloads when its schedule is read): run beat at 20:00 in Shanghai, so the edited 20:30
    # entry is loaded whatever the hour the suite runs (it failed after 23:00).
    # 12:00 UTC is 20:00 in Shanghai.
    with time_machine.travel(dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC), tick=True):
        scheduler = DatabaseScheduler(app=app)  # beat starting: setup_schedule
        scheduler.setup_schedule()
        scheduler.sync()

        escalate.refresh_from_db()
        daily.refresh_from_db()
        sweep.refresh_from_db()
        assert (escalate.interval.every, escalate.interval.period) == (30, "minutes")
        assert (daily.crontab.hour, daily.crontab.minute) == ("20", "30")
        assert sweep.enabled is False
        assert PeriodicTask.objects.filter(name="close-unrated").exists()
        assert scheduler.schedule["digest-daily"].schedule.hour == {20}
        assert scheduler.schedule["escalate-overdue"].schedule.run_every.total_seconds() == 1800
        assert "notifications-sweep" not in scheduler.schedule

    from digests.periods import daily_hour

    assert daily_hour() == 20  # the digests follow the edited entry
