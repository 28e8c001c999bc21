"""Signing in and passwords.

Login with a lockout: after ``MAX_FAILURES`` wrong passwords for one username (or from one
address) within ``WINDOW`` seconds, that username/address is refused for ``WINDOW`` seconds.
Counts live in the cache (Redis in production, so all web processes share them).

The lockout fails open: when the cache cannot be reached, the counts are neither read nor
written and a warning is logged, so a down Redis never stops people signing in (the
password is still checked; only the brute-force brake is off until Redis is back).

A login given a one-time password (the heads import, ``grids.imports.logins``) must change
it first, within ``ONE_TIME_PASSWORD_DAYS`` (after that the password no longer signs in):
signing in with it marks the session, and until the change
``PasswordChangeRequiredMiddleware`` sends every request but the password change, logout
and the language switch to the change page.

Password reset: by an SMS code to the mobile number that is the username (the resident
pages' sign-in codes, ``residents.accounts``), or by Django's mailed link for a login with
an e-mail address. Requests are rate limited per address and per number or address asked
for (``core.ratelimit``); the answer never says whether a login exists.
"""

import contextlib
import logging
from urllib.parse import urlsplit

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import (
    AuthenticationForm,
    PasswordChangeForm,
    PasswordResetForm,
    SetPasswordForm,
)
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods
from redis.exceptions import RedisError

from core.forms import BootstrapMixin
from core.privacy import mask_phone
from core.ratelimit import RateLimited, rate_limit_take, too_many_requests
from core.requests import client_ip
from grids.accounts import (
    login_for_mobile,
    one_time_password_expired,
    password_change_required,
    password_set,
)
from grids.validators import MOBILE_RE, normalize_phone
from residents import accounts as codes

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
        "expired": _(
            "This one-time password has expired. Reset your password by SMS code below, or "
            "ask your administrator for a new one."
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
        if one_time_password_expired(self.get_user()):
            # The right password, so no failure is counted; it just no longer opens the login.
            raise ValidationError(self.error_messages["expired"], code="expired")
        return data


class LoginView(auth_views.LoginView):
    form_class = LockoutAuthenticationForm
    redirect_authenticated_user = True

    def form_valid(self, form):
        response = super().form_valid(form)
        if password_change_required(form.get_user()):
            self.request.session[CHANGE_REQUIRED] = True
            return redirect("password_change")
        return response


# --- the forced change of a one-time password ----------------------------------------------

# In the session of a login that signed in with a one-time password: read on every request
# without a query (the flag itself is ``Person.password_change_required``).
CHANGE_REQUIRED = "password_change_required"
# What such a session may still reach (URL names without a namespace).
CHANGE_REQUIRED_ALLOWS = {"password_change", "logout", "set_language", "healthz"}


class PasswordChangeRequiredMiddleware:
    """Sends a session that must change its password to the change page (see the module)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        session = getattr(request, "session", None)
        if session is None or not session.get(CHANGE_REQUIRED):
            return None
        if not request.user.is_authenticated:
            return None
        match = request.resolver_match
        if match is not None and not match.namespace and match.url_name in CHANGE_REQUIRED_ALLOWS:
            return None
        url = reverse("password_change")
        if request.headers.get("HX-Request"):
            return HttpResponse(status=204, headers={"HX-Redirect": url})
        return HttpResponseRedirect(url)


class PortalPasswordChangeForm(BootstrapMixin, PasswordChangeForm):
    pass


class PasswordChangeView(auth_views.PasswordChangeView):
    form_class = PortalPasswordChangeForm
    template_name = "registration/password_change.html"
    success_url = reverse_lazy("home")

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "forced": self._forced()}

    def _forced(self) -> bool:
        return bool(self.request.session.get(CHANGE_REQUIRED))

    def form_valid(self, form):
        password_set(user=form.user, password=form.cleaned_data["new_password1"])
        update_session_auth_hash(self.request, form.user)
        self.request.session.pop(CHANGE_REQUIRED, None)
        messages.success(self.request, gettext("Your password has been changed."))
        return HttpResponseRedirect(self.get_success_url())


# --- password reset -------------------------------------------------------------------------

HOUR = 60 * 60
RESET_PER_TARGET = 5  # per mobile number or e-mail address asked for, an hour
RESET_PER_ADDRESS = 20  # per client address, an hour
# The mobile number a reset code was asked for, between the two pages.
RESET_PHONE = "password_reset_phone"


def reset_limit_message() -> str:
    return gettext("Too many password resets asked for. Wait a while and try again.")


class PasswordResetRequestForm(BootstrapMixin, forms.Form):
    who = forms.CharField(
        label=_("Mobile number or e-mail"),
        max_length=254,
        help_text=_("The mobile number you sign in with, or the e-mail address of your login."),
    )

    def clean_who(self):
        who = self.cleaned_data["who"].strip()
        if "@" in who:
            return forms.EmailField().clean(who).lower()
        phone = normalize_phone(who).replace("-", "")
        if not MOBILE_RE.match(phone):
            raise ValidationError(
                _("Type a mainland mobile number (11 digits) or an e-mail address.")
            )
        return phone


@never_cache
@require_http_methods(["GET", "POST"])
def password_reset(request):
    """Ask for a reset: an SMS code for a mobile number, a mailed link for an e-mail."""
    form = PasswordResetRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        who = form.cleaned_data["who"]
        ip = client_ip(request)
        limits = {f"who:{who}": RESET_PER_TARGET}
        if ip:
            limits[f"ip:{ip}"] = RESET_PER_ADDRESS
        try:
            rate_limit_take(action="password-reset", limits=limits, window=HOUR)
            if "@" in who:
                _reset_mail(request, who)
                return redirect("password_reset_done")
            if login_for_mobile(who) is not None:
                # A number with a login may meet the code's own limits (one a minute); the
                # answer is the same as for a number without one, which says nothing of it.
                with contextlib.suppress(RateLimited):
                    codes.sign_in_code_send(phone=who, ip=ip, text=_reset_sms_text())
        except RateLimited as exc:
            return too_many_requests(
                request, message=reset_limit_message(), retry_after=exc.retry_after
            )
        request.session[RESET_PHONE] = who
        return redirect("password_reset_code")
    return render(request, "registration/password_reset_request.html", {"form": form})


def _reset_sms_text() -> str:
    return gettext(
        "【Grid Governance】Your code to set a new password for the grid governance portal is "
        "%(code)s, valid for %(minutes)s minutes. If you did not ask for it, ignore this "
        "message."
    )


def _reset_mail(request, email: str) -> None:
    form = PasswordResetForm({"email": email})
    if form.is_valid():
        # The link goes to the portal's own address (PORTAL_BASE_URL, as every mail's),
        # never to whatever Host the request named.
        base = urlsplit(settings.PORTAL_BASE_URL)
        form.save(
            request=request,
            domain_override=base.netloc,
            use_https=base.scheme == "https",
            subject_template_name="registration/password_reset_subject.txt",
            email_template_name="registration/password_reset_email.txt",
        )


WRONG_CODE = _("That code is wrong or no longer valid. Check it, or ask for a new one.")


class PasswordResetCodeForm(BootstrapMixin, SetPasswordForm):
    code = forms.CharField(
        label=_("Code from the SMS"),
        max_length=6,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
    )
    field_order = ["code", "new_password1", "new_password2"]


@never_cache
@sensitive_post_parameters()
@require_http_methods(["GET", "POST"])
def password_reset_code(request):
    """The code sent by SMS and the new password, on one page."""
    phone = request.session.get(RESET_PHONE)
    if not phone:
        return redirect("password_reset")
    user = login_for_mobile(phone)
    form = PasswordResetCodeForm(user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        code, ip = form.cleaned_data["code"], client_ip(request)
        try:
            codes.phone_code_check(phone=phone, code=code, ip=ip)
            if user is None:  # a resident's sign-in code, say: no login to reset
                raise ValidationError({"code": WRONG_CODE})
        except RateLimited as exc:
            return too_many_requests(
                request, message=codes.check_limit_message(), retry_after=exc.retry_after
            )
        except ValidationError as exc:
            for message in exc.message_dict.get("code", exc.messages):
                form.add_error("code", message)
        else:
            password_set(user=user, password=form.cleaned_data["new_password1"])
            request.session.pop(RESET_PHONE, None)
            messages.success(request, gettext("Your new password is set. Sign in with it."))
            return redirect("login")
    context = {"form": form, "masked_phone": mask_phone(phone)}
    return render(request, "registration/password_reset_code.html", context)


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """The link mailed for a reset; the new password goes through ``password_set``."""

    template_name = "registration/password_reset_new.html"

    class form_class(BootstrapMixin, SetPasswordForm):
        pass

    def form_valid(self, form):
        password_set(user=form.user, password=form.cleaned_data["new_password1"])
        self.request.session.pop(auth_views.INTERNAL_RESET_SESSION_TOKEN, None)
        messages.success(self.request, gettext("Your new password is set. Sign in with it."))
        return HttpResponseRedirect(reverse("login"))
