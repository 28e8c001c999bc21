"""Who is signed in on the resident pages. Residents are not Django users: the session holds
their ``residents.ResidentAccount`` id (the key cycled on sign-in, so a session id planted
before cannot ride along), and ``resident_required`` puts the account on the request."""

from __future__ import annotations

from functools import wraps
from urllib.parse import urlencode

from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from residents.accounts import privacy_accepted
from residents.models import ResidentAccount

SESSION_KEY = "resident_account_id"
PHONE_KEY = "resident_sign_in_phone"  # the number a code was sent to, between the two steps


def resident_sign_in(request, account: ResidentAccount) -> None:
    request.session.cycle_key()
    request.session[SESSION_KEY] = account.pk
    request.session.pop(PHONE_KEY, None)


def resident_sign_out(request) -> None:
    request.session.pop(SESSION_KEY, None)
    request.session.cycle_key()


def current_account(request) -> ResidentAccount | None:
    """The signed-in resident's account (read once per request), or None."""
    if not hasattr(request, "_resident_account"):
        pk = request.session.get(SESSION_KEY)
        account = None
        if isinstance(pk, int):
            account = (
                ResidentAccount.objects.select_related("resident__household__area")
                .filter(pk=pk, active=True)
                .first()
            )
        request._resident_account = account
    return request._resident_account


def safe_next(request, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    # A path on the portal only: redirect() takes a bare word ("ab") for a view's name.
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def resident_required(view=None, *, privacy: bool = True):
    """The view runs for a signed-in resident only (``request.resident`` is their account);
    others go to the sign-in page and come back. With ``privacy`` (the default) the privacy
    notice must have been accepted first."""

    def decorate(func):
        @wraps(func)
        def wrapper(request, *args, **kwargs):
            account = current_account(request)
            here = request.get_full_path()
            if account is None:
                if request.headers.get("HX-Request"):
                    # A 302 would be followed inside the XHR: htmx navigates on this header.
                    response = HttpResponse(status=204)
                    response["HX-Redirect"] = reverse("citizens:sign_in")
                    return response
                return redirect(f"{reverse('citizens:sign_in')}?{urlencode({'next': here})}")
            if privacy and not privacy_accepted(account):
                return redirect(f"{reverse('citizens:privacy')}?{urlencode({'next': here})}")
            request.resident = account
            return func(request, *args, **kwargs)

        return wrapper

    return decorate(view) if view is not None else decorate
