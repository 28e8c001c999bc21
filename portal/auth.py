"""Login with a lockout: after ``MAX_FAILURES`` wrong passwords for one username (or from one
address) within ``WINDOW`` seconds, that username/address is refused for ``WINDOW`` seconds.
Counts live in the cache (Redis in production, so all web processes share them).

The lockout fails open: when the cache cannot be reached, the counts are neither read nor
written and a warning is logged, so a down Redis never stops people signing in (the
password is still checked; only the brute-force brake is off until Redis is back)."""

import logging

from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from redis.exceptions import RedisError

from core.forms import BootstrapMixin
from core.requests import client_ip

log = logging.getLogger(__name__)

MAX_FAILURES = 5
WINDOW = 15 * 60
# What a cache that cannot be reached raises: redis-py's errors, or the socket's own.
CACHE_DOWN = (RedisError, OSError)


def _keys(username: str, ip: str) -> list[str]:
    return [f"login-fail:user:{username.strip().lower()}", f"login-fail:ip:{ip}"]


def _cache_down(action: str) -> None:
    log.warning(
        "login lockout: cache unreachable, %s skipped (failing open)", action, exc_info=True
    )


def login_locked(username: str, ip: str) -> bool:
    try:
        return any((cache.get(key) or 0) >= MAX_FAILURES for key in _keys(username, ip))
    except CACHE_DOWN:
        _cache_down("reading the failure counts")
        return False


def login_failed(username: str, ip: str) -> None:
    try:
        for key in _keys(username, ip):
            if not cache.add(key, 1, WINDOW):
                try:
                    cache.incr(key)
                except ValueError:  # expired between add and incr
                    cache.set(key, 1, WINDOW)
    except CACHE_DOWN:
        _cache_down("counting the failure")


def login_succeeded(username: str, ip: str) -> None:
    try:
        cache.delete_many(_keys(username, ip))
    except CACHE_DOWN:
        _cache_down("clearing the failure counts")


class LockoutAuthenticationForm(BootstrapMixin, AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "locked": _(
            "Too many failed attempts. This login is locked for 15 minutes; try again later "
            "or ask your administrator."
        ),
    }

    def clean(self):
        username = self.cleaned_data.get("username") or ""
        ip = client_ip(self.request) if self.request else ""
        if login_locked(username, ip):
            raise ValidationError(self.error_messages["locked"], code="locked")
        try:
            data = super().clean()
        except ValidationError:
            login_failed(username, ip)
            raise
        login_succeeded(username, ip)
        return data


class LoginView(auth_views.LoginView):
    form_class = LockoutAuthenticationForm
    redirect_authenticated_user = True
