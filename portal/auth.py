"""Login with a lockout: after ``MAX_FAILURES`` wrong passwords for one username (or from one
address) within ``WINDOW`` seconds, that username/address is refused for ``WINDOW`` seconds.
Counts live in the cache (Redis in production, so all web processes share them)."""

from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from core.forms import BootstrapMixin
from core.requests import client_ip

MAX_FAILURES = 5
WINDOW = 15 * 60


def _keys(username: str, ip: str) -> list[str]:
    return [f"login-fail:user:{username.strip().lower()}", f"login-fail:ip:{ip}"]


def login_locked(username: str, ip: str) -> bool:
    return any((cache.get(key) or 0) >= MAX_FAILURES for key in _keys(username, ip))


def login_failed(username: str, ip: str) -> None:
    for key in _keys(username, ip):
        if not cache.add(key, 1, WINDOW):
            try:
                cache.incr(key)
            except ValueError:  # expired between add and incr
                cache.set(key, 1, WINDOW)


def login_succeeded(username: str, ip: str) -> None:
    cache.delete_many(_keys(username, ip))


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
