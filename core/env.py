"""Typed readers for the environment. A bad value fails loudly at start-up, never silently."""

import os
from urllib.parse import urlsplit, urlunsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean (use true/false, 1/0, yes/no)")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer") from None


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def redis_db_url(url: str, *, offset: int = 0) -> str:
    """``url`` (redis:// or rediss://) with its database number (the path; 0 if it names
    none) moved up by ``offset``: ``redis://h:6379/4`` with offset 1 is ``redis://h:6379/5``."""
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss"):
        raise ImproperlyConfigured(f"{url!r} is not a redis:// or rediss:// URL")
    raw = parts.path.strip("/") or "0"
    try:
        db = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{url!r}: the database {raw!r} is not a number") from None
    return urlunsplit(parts._replace(path=f"/{db + offset}"))
