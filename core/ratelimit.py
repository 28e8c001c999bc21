"""Counting attempts at something sensitive per user and per client address, in the cache
(Redis in production, so every web process counts together), and the 429 page that says
when to try again."""

from __future__ import annotations

import contextlib

from django.core.cache import cache
from django.shortcuts import render


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
