"""Signing in and passwords.

The lockout after wrong passwords is django-axes' (``LockoutBackend`` first in
``AUTHENTICATION_BACKENDS``, ``axes.middleware.AxesMiddleware`` last in ``MIDDLEWARE``): it
sees every ``authenticate()`` given a request, so the admin's login as well as the portal's.
After ``AXES_FAILURE_LIMIT`` wrong passwords for one username from one address (the two
together: one office behind a NAT is not locked out by one colleague's typos, and a login is
not locked out from everywhere by a stranger) that pair is refused for ``AXES_COOLOFF_TIME``
and answered with the portal's 429 page (``lockout_response``). The attempts are rows in
the database (axes' database handler), so a down Redis never stops anyone signing in. An
admin unlocks a login under Admin → Axes → Access attempts (delete its row), or with
``manage.py axes_reset_username <username>``.

A signed-in session lasts ``SIGNED_IN_SESSION_AGE`` from signing in and ends after
``SESSION_IDLE_SECONDS`` without a request (``SessionExpiryMiddleware``).

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
import datetime as dt
import hashlib
import ipaddress
import time
from urllib.parse import urlencode, urlsplit

from axes.backends import AxesStandaloneBackend
from axes.exceptions import AxesBackendPermissionDenied
from axes.helpers import get_cool_off
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from axes.utils import reset as axes_reset
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout, update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import (
    AuthenticationForm,
    PasswordChangeForm,
    PasswordResetForm,
    SetPasswordForm,
)
from django.contrib.auth.views import redirect_to_login
from django.core import validators
from django.core.exceptions import ValidationError
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from core.batches import delete_in_batches
from core.forms import BootstrapMixin
from core.privacy import mask_phone
from core.ratelimit import (
    RateLimited,
    failure_count,
    failures_at_limit,
    rate_limit_take,
    too_many_requests,
)
from core.requests import client_ip
from grids.accounts import (
    login_for_mobile,
    one_time_password_expired,
    password_change_required,
    password_set,
)
from grids.validators import MOBILE_RE, normalize_phone
from residents import accounts as codes


class LockoutBackend(AxesStandaloneBackend):
    """axes' check of the lockout, before any backend checks the password.

    A call of ``authenticate()`` without a request (a shell, a management command, a test
    checking a password) has no client to lock out and is not watched; every sign-in over
    HTTP (the portal's form, the admin's) passes its request."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        if address_braked(request):
            # Answered like axes' own lockout (its middleware turns the flag into
            # ``lockout_response``), with the message of the address's brake.
            request.axes_locked_out = True
            request.sign_in_address_braked = True
            raise AxesBackendPermissionDenied("too many wrong passwords from this address")
        return super().authenticate(request, username=username, password=password, **kwargs)


# The pair lockout counts each username apart: a client trying a few passwords on each of
# many logins (a list of names, an office's usernames guessed) is braked per address too,
# once wrong passwords for SIGN_IN_FAILED_LOGINS_PER_ADDRESS_HOUR different logins came from
# it in an hour, for the rest of that hour. Different logins, not wrong passwords: a busy
# office behind one NAT typing its own passwords wrong does not meet it, and one insider
# cannot trip it for everyone by typing one name again and again. Not for a loopback address
# (a proxy in front whose TRUSTED_PROXY_HOPS is not set would put everyone behind one). A
# brake, not a lock: it counts in the cache and fails open.
FAILURE_WINDOW = 60 * 60


def _address(request) -> str | None:
    ip = client_ip(request) or None
    if ip is None:
        return None
    with contextlib.suppress(ValueError):
        if ipaddress.ip_address(ip).is_loopback:
            return None
    return ip


def address_braked(request) -> bool:
    ip = _address(request)
    return ip is not None and failures_at_limit(
        action="sign-in-failed-logins",
        key=f"ip:{ip}",
        limit=settings.SIGN_IN_FAILED_LOGINS_PER_ADDRESS_HOUR,
    )


def sign_in_failed(sender, credentials=None, request=None, **kwargs) -> None:
    """``user_login_failed``: a wrong password counts its login towards its address's brake
    (a refusal while locked or braked does not; connected in portal.apps)."""
    if request is None or getattr(request, "sign_in_address_braked", False):
        return
    ip = _address(request)
    username = attempt_username(request, credentials)
    if ip is None or not username:
        return
    login = hashlib.sha256(username.strip().casefold().encode()).hexdigest()[:20]
    failure_count(
        action="sign-in-failed-logins", key=f"ip:{ip}", member=login, window=FAILURE_WINDOW
    )


# axes' attempt row keeps the username in a 255-character column; a login form that does not
# bound its username (the admin's, say) must not turn a long one into a server error.
ATTEMPT_USERNAME_LENGTH = 255


def attempt_username(request, credentials=None) -> str | None:
    """The username a sign-in attempt is counted under (``AXES_USERNAME_CALLABLE``): axes' own
    choice (the credentials, else the POST), cut to what its attempt row holds."""
    source = credentials if credentials else getattr(request, "POST", {})
    username = source.get("username") if source else None
    if username is None:
        return None
    return str(username)[:ATTEMPT_USERNAME_LENGTH]


def sign_in_logs_prune(*, now: dt.datetime | None = None, days: int | None = None) -> dict:
    """Delete axes' sign-in logs (successes and failures) older than ``days`` (default
    ``SIGN_IN_LOG_KEEP_DAYS``), and the lockout counters whose cool-off ended, which lock
    nothing any more (axes itself drops them only when the same pair tries again). In
    batches, each its own short statement. Returns how many rows of each were deleted."""
    now = now or timezone.now()
    days = settings.SIGN_IN_LOG_KEEP_DAYS if days is None else days
    if days < 1:
        raise ValueError(f"sign-in logs are kept at least one day, not {days}")
    cutoff = now - dt.timedelta(days=days)
    spent = now - settings.AXES_COOLOFF_TIME
    return {
        "access logs": delete_in_batches(AccessLog.objects.filter(attempt_time__lt=cutoff)),
        "failure logs": delete_in_batches(AccessFailureLog.objects.filter(attempt_time__lt=cutoff)),
        "attempts": delete_in_batches(AccessAttempt.objects.filter(attempt_time__lt=spent)),
    }


def cool_off_seconds(request=None) -> int:
    return int(get_cool_off(request).total_seconds())


def lockout_message(request=None) -> str:
    minutes = max(1, cool_off_seconds(request) // 60)
    return gettext(
        "Too many wrong passwords for this login from your address. It is locked here for "
        "%(minutes)s minutes; try again later or ask your administrator to unlock it."
    ) % {"minutes": minutes}


def address_braked_message() -> str:
    return gettext(
        "Too many wrong passwords from your address, for several logins. Signing in from "
        "here is paused for up to an hour; try again later or ask your administrator."
    )


def lockout_response(request, original_response=None, credentials=None):
    """axes' answer to a locked-out sign-in (``AXES_LOCKOUT_CALLABLE``), and to an address's
    brake: the portal's 429 page, for the admin's login as for the portal's."""
    if getattr(request, "sign_in_address_braked", False):
        return too_many_requests(
            request, message=address_braked_message(), retry_after=FAILURE_WINDOW
        )
    return too_many_requests(
        request, message=lockout_message(request), retry_after=cool_off_seconds(request)
    )


class LoginForm(BootstrapMixin, AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "expired": _(
            "This one-time password has expired. Reset your password by SMS code below, or "
            "ask your administrator for a new one."
        ),
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Django's AuthenticationForm sets the username field's max_length after the field is
        # built, so the limit shows in the widget but is never checked: a longer name reached
        # authenticate() and the lockout's attempt row. Checked here, with the usual message.
        field = self.fields["username"]
        field.validators.append(validators.MaxLengthValidator(field.max_length))

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        if one_time_password_expired(user):
            # The right password, so no failure is counted; it just no longer opens the login.
            raise ValidationError(self.error_messages["expired"], code="expired")


# --- how long a session lasts ---------------------------------------------------------------

# In a signed-in session: when it signed in and when it was last seen (seconds since the
# epoch). The last-seen time is written at most every SEEN_RESOLUTION seconds, so a worker
# paging through the inbox costs one session write in five minutes, not one per page.
SIGNED_IN_AT = "signed_in_at"
SEEN_AT = "seen_at"
SEEN_RESOLUTION = 5 * 60


def session_signed_in(sender, request, user, **kwargs) -> None:
    """``user_logged_in``: the session's lifetime starts now (connected in portal.apps)."""
    session = getattr(request, "session", None)
    if session is not None:
        session[SIGNED_IN_AT] = session[SEEN_AT] = int(time.time())
        # The cookie of a signed-in session lives as long as the session may (residents'
        # sessions keep SESSION_COOKIE_AGE).
        session.set_expiry(settings.SIGNED_IN_SESSION_AGE)


class SessionExpiryMiddleware:
    """Signs out a session older than ``SIGNED_IN_SESSION_AGE`` since it signed in, or idle for
    longer than ``SESSION_IDLE_SECONDS``; the next page asks to sign in again."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            expired = self._check(request.session)
            if expired:
                logout(request)
                if request.headers.get("HX-Request"):
                    login = f"{reverse('login')}?{urlencode({'next': request.get_full_path()})}"
                    return HttpResponse(status=204, headers={"HX-Redirect": login})
                return redirect_to_login(request.get_full_path())
        return self.get_response(request)

    @staticmethod
    def _check(session) -> bool:
        now = int(time.time())
        signed_in = session.get(SIGNED_IN_AT)
        if signed_in is None:  # a session signed in before this was kept: from now on
            session[SIGNED_IN_AT] = session[SEEN_AT] = now
            return False
        seen = session.get(SEEN_AT, signed_in)
        if now - signed_in > settings.SIGNED_IN_SESSION_AGE:
            return True
        if now - seen > settings.SESSION_IDLE_SECONDS:
            return True
        if now - seen >= SEEN_RESOLUTION:
            session[SEEN_AT] = now
        return False


class LoginView(auth_views.LoginView):
    form_class = LoginForm
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


def reset_unlocks(user) -> None:
    """A password reset proved the login's owner (their phone or mailbox): the lockout of
    that username ends at every address, so the new password opens it at once."""
    axes_reset(username=user.get_username())


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
            reset_unlocks(user)
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
        reset_unlocks(form.user)
        self.request.session.pop(auth_views.INTERNAL_RESET_SESSION_TOKEN, None)
        messages.success(self.request, gettext("Your new password is set. Sign in with it."))
        return HttpResponseRedirect(reverse("login"))
