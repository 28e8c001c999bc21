"""Counting attempts at something sensitive per user and per client address, in the cache
(Redis in production, so every web process counts together), and the 429 page that says
when to try again.

The counters fail open: when the cache cannot be reached an attempt is let through
uncounted and a warning is logged, so a down Redis never stops a page, a sign-in or a
report (only the brake is off until Redis is back)."""

from __future__ import annotations

import contextlib
import logging

from django.core.cache import cache
from django.shortcuts import render
from django.utils.translation import gettext
from redis.exceptions import RedisError

from core.requests import client_ip

log = logging.getLogger(__name__)
# What a cache that cannot be reached raises: redis-py's errors, or the socket's own.
CACHE_DOWN = (RedisError, OSError)


class RateLimited(Exception):
    """Raised before the attempt is made: one of its counters is at its limit."""

    def __init__(self, retry_after: int):
        super().__init__(f"rate limited for {retry_after} s")
        self.retry_after = retry_after


def rate_limit_take(*, action: str, limits: dict[str, int], window: int) -> None:
    """Count one attempt at ``action`` under each key of ``limits`` (``"user:7"``,
    ``"ip:203.0.113.9"``), each allowed ``limits[key]`` attempts per ``window`` seconds
    from its first. Raises ``RateLimited`` (and takes its count back) when a key is used up.

    Each counter is incremented first and the count it returns compared (``cache.add`` and
    ``cache.incr`` are atomic in Redis): of a burst of parallel attempts, exactly ``limit``
    get through, however they interleave."""
    try:
        _take(action, limits, window)
    except CACHE_DOWN:
        log.warning("rate limit %s: cache unreachable, not counted (failing open)", action)


def _take(action: str, limits: dict[str, int], window: int) -> None:
    taken: list[str] = []
    refused = False
    for key, limit in limits.items():
        key = f"rate:{action}:{key}"
        count = _count_one(key, window)
        taken.append(key)
        if count > limit:
            refused = True
            break
    if refused:
        for key in taken:
            with contextlib.suppress(ValueError):  # expired meanwhile: nothing to take back
                cache.decr(key)
        raise RateLimited(window)


def failure_count(*, action: str, key: str, member: str, window: int) -> None:
    """Count ``member`` (a username, say) once under ``key`` at ``action`` in a window of
    ``window`` seconds from the key's first: a brake on how many different things failed,
    not how often (``failures_at_limit`` reads the count). Fails open like the rest."""
    try:
        if cache.add(f"rate:{action}:{key}:{member}", 1, window):
            _count_one(f"rate:{action}:{key}", window)
    except CACHE_DOWN:
        log.warning("failure count %s: cache unreachable, not counted (failing open)", action)


def failures_at_limit(*, action: str, key: str, limit: int) -> bool:
    """Whether ``key`` has ``limit`` failures at ``action`` in its window (False with the
    cache unreachable)."""
    try:
        return (cache.get(f"rate:{action}:{key}") or 0) >= limit
    except CACHE_DOWN:
        log.warning("failure count %s: cache unreachable, not checked (failing open)", action)
        return False


def _count_one(key: str, window: int) -> int:
    """The count of ``key`` once this attempt is counted (the first starts the window)."""
    if cache.add(key, 1, window):
        return 1
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr: this attempt starts a new window
        cache.set(key, 1, window)
        return 1


def too_many_requests(request, *, message: str, retry_after: int, template: str = "429.html"):
    """The 429 page (``template``: the workers' by default, or, for htmx, just its message)
    with ``Retry-After``."""
    if request.headers.get("HX-Request"):
        template = "_too_many.html"
    response = render(request, template, {"message": message}, status=429)
    response["Retry-After"] = str(retry_after)
    return response


# Showing a full number (a resident's ID or phone, a reporter's phone, a description as it
# was written): a worker on a round looks at a few; a scraper walks the whole list. One count
# for every kind of reveal. Offices share one address behind their router, so it gets more.
REVEALS_PER_USER = 30
REVEALS_PER_ADDRESS = 100
REVEAL_WINDOW = 10 * 60


def reveal_limit_take(request) -> None:
    """Count one reveal by ``request``'s user and address; ``RateLimited`` when used up."""
    limits = {f"user:{request.user.pk}": REVEALS_PER_USER}
    if ip := client_ip(request):
        limits[f"ip:{ip}"] = REVEALS_PER_ADDRESS
    rate_limit_take(action="reveal", limits=limits, window=REVEAL_WINDOW)


def reveal_limit_message() -> str:
    return gettext(
        "Too many full numbers shown: at most %(count)s in %(minutes)s minutes. Try again later."
    ) % {"count": REVEALS_PER_USER, "minutes": REVEAL_WINDOW // 60}
