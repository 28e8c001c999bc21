"""The production path through real Redis: Celery tasks queued on the broker and run by a
worker (sign-in lockouts are database rows, django-axes': tests/portal/test_auth.py).
Skipped without REDIS_URL locally; CI sets it and must run them."""

import os
import time

import pytest
from django.core import mail
from django.core.cache import caches
from django.db import transaction

REDIS_URL = os.environ.get("REDIS_URL", "")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

if not REDIS_URL and IN_CI:
    raise RuntimeError("CI must run the Redis tests: REDIS_URL is not set")
pytestmark = pytest.mark.skipif(not REDIS_URL, reason="needs Redis (set REDIS_URL)")


@pytest.fixture
def redis_cache(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "portal-test",
        }
    }
    cache = caches["default"]
    cache.clear()
    yield cache
    cache.clear()


@pytest.mark.postgres  # the worker thread needs a real shared database
@pytest.mark.django_db(transaction=True)
def test_a_notification_goes_through_the_broker_to_a_worker(world, settings):
    """After commit the outbox rows are queued on Redis; a real worker thread picks them up
    and sends them: the notification's e-mail, and the reporter's tracking SMS (the text
    message outbox)."""
    from celery.contrib.testing.worker import start_worker
    from kombu import pools as kombu_pools

    from core import sms
    from core.models import TextMessage
    from core.outbox import outbox_broker_reset
    from issues import services
    from issues.models import Category, NotificationDelivery, Ticket
    from portal.celery import app

    old = (app.conf.task_always_eager, app.conf.broker_url)
    app._pool = app.amqp._producer_pool = None  # connect anew, to Redis
    app.conf.task_always_eager = False
    app.conf.broker_url = REDIS_URL
    outbox_broker_reset()
    world.users["unit_head"].email = "unit@example.org"
    world.users["unit_head"].save()
    category = Category.objects.create(code="light", name="楼道照明")
    sms.outbox.clear()
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            with transaction.atomic():
                ticket = services.ticket_report(
                    area=world.u1,
                    category=category,
                    channel=Ticket.Channel.HOTLINE,
                    description="楼道灯不亮",
                    reporter_phone="13700000001",
                    tier="simple",
                )
            row = NotificationDelivery.objects.get(notification__ticket=ticket)
            text = TextMessage.objects.get(purpose=TextMessage.Purpose.TRACKING)
            for _ in range(100):
                row.refresh_from_db()
                text.refresh_from_db()
                if row.sent_at and text.sent_at:
                    break
                time.sleep(0.1)
        assert row.sent_at is not None and row.attempts == 1
        assert [m.to for m in mail.outbox] == [["unit@example.org"]]
        assert text.sent_at is not None and text.attempts == 1
        assert [m.number for m in sms.outbox] == ["+8613700000001"]
    finally:
        sms.outbox.clear()
        if app._pool is not None:
            app._pool.force_close_all()
        app.conf.task_always_eager, app.conf.broker_url = old
        # Fresh pools, made when next needed: an eager task still takes a producer from
        # them, and the closed ones stay in kombu's own registry unless it is reset.
        kombu_pools.reset()
        app._pool = app.amqp._producer_pool = None
        outbox_broker_reset()
