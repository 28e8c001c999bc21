"""Health answers for a load balancer and for monitoring.

``/livez``: the process answers (liveness, and the bench's trivial view): no session, no
database, no template.

``/healthz``: readiness, as JSON ``{"status": …, "database": …, "cache": …, "broker": …}``,
each part ``"ok"`` or ``"down"`` (the broker ``"eager"`` in the embedded setup, which has
none). 503 only when the database is down: without it no page works, so a load balancer
should take this web process out. A down cache or broker answers 200 with
``"status": "degraded"``: pages, sign-in and new problems keep working without Redis (the
outbox sends once it is back), and dropping every web process for it would turn a slowdown
into an outage. Each check waits at most about a second (the cache's and the broker's socket
timeouts; the database's ``connect_timeout``, portal/settings.py).
"""

import logging

from django.conf import settings
from django.core.cache import cache
from django.db import connections
from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

log = logging.getLogger("portal.health")

BROKER_TIMEOUT = 1.0  # seconds


def database_state() -> str:
    try:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any failure means not ready; say which in the log
        log.warning("health: database down: %s", exc.__class__.__name__)
        # A broken connection is not reused by the next request of this thread.
        connections["default"].close_if_unusable_or_obsolete()
        return "down"
    return "ok"


def cache_state() -> str:
    try:
        cache.set("portal:healthz", "1", timeout=10)
        if cache.get("portal:healthz") != "1":
            return "down"
    except Exception as exc:
        log.warning("health: cache down: %s", exc.__class__.__name__)
        return "down"
    return "ok"


def broker_state() -> str:
    url = settings.CELERY_BROKER_URL
    if settings.CELERY_TASK_ALWAYS_EAGER or url.startswith("memory://"):
        return "eager"
    try:
        if url.startswith(("redis://", "rediss://", "unix://")):
            import redis

            client = redis.Redis.from_url(
                url, socket_connect_timeout=BROKER_TIMEOUT, socket_timeout=BROKER_TIMEOUT
            )
            try:
                client.ping()
            finally:
                client.close()
        else:
            from kombu import Connection

            with Connection(url, connect_timeout=BROKER_TIMEOUT) as conn:
                conn.ensure_connection(max_retries=1, interval_start=0, timeout=BROKER_TIMEOUT)
    except Exception as exc:
        log.warning("health: broker down: %s", exc.__class__.__name__)
        return "down"
    return "ok"


@never_cache
@require_safe
def healthz(request):
    parts = {"database": database_state(), "cache": cache_state(), "broker": broker_state()}
    if parts["database"] == "down":
        status = "down"
    elif "down" in parts.values():
        status = "degraded"
    else:
        status = "ok"
    return JsonResponse({"status": status, **parts}, status=503 if status == "down" else 200)


@never_cache
@require_safe
def livez(request):
    return HttpResponse("ok\n", content_type="text/plain")
