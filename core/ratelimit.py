"""Counting attempts at something sensitive per user and per client address, in the cache
(Redis in production, so every web process counts together), and the 429 page that says
when to try again."""

from __future__ import annotations

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
    from its first. Raises ``RateLimited`` (and counts nothing) when a key is used up."""
    keys = {f"rate:{action}:{key}": limit for key, limit in limits.items()}
    counts = cache.get_many(list(keys))
    if any((counts.get(key) or 0) >= limit for key, limit in keys.items()):
        raise RateLimited(window)
    for key in keys:
        if not cache.add(key, 1, window):
            try:
                cache.incr(key)
            except ValueError:  # expired between add and incr
                cache.set(key, 1, window)


def too_many_requests(request, *, message: str, retry_after: int):
    """The portal's 429 page (or, for htmx, just its message) with ``Retry-After``."""
    template = "_too_many.html" if request.headers.get("HX-Request") else "429.html"
    response = render(request, template, {"message": message}, status=429)
    response["Retry-After"] = str(retry_after)
    return response
