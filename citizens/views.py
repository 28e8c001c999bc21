"""The resident pages (居民端, ``/r/``) and the tracking link (``/t/<token>/``): thin views over
``residents.accounts`` (signing in), ``citizens.services`` (reporting, rating) and
``citizens.selectors`` (every read scoped to the resident's own problems)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from citizens import forms, selectors, services
from citizens.session import (
    PHONE_KEY,
    current_account,
    resident_required,
    resident_sign_in,
    resident_sign_out,
    safe_next,
)
from citizens.timeline import STATE_WORDS, resident_timeline
from core.images import image_response
from core.privacy import mask_phone
from core.ratelimit import RateLimited, too_many_requests
from core.requests import client_ip
from issues.models import Ticket
from issues.rules import AWAITING_RATING_STATES
from issues.services import rated_this_round, reporter_by_token
from residents import accounts

PAGE_SIZE = 20
PROBLEM = "citizens/problem.html"


def too_many(request, *, message: str, retry_after: int):
    """The 429 answer in the resident pages' own look."""
    return too_many_requests(
        request, message=message, retry_after=retry_after, template="citizens/429.html"
    )


def _form_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


# --- signing in -------------------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
def sign_in(request):
    """Step one: the mobile number; a code is sent to it."""
    next_url = safe_next(request, reverse("citizens:home"))
    if current_account(request) is not None and request.method == "GET":
        return redirect(next_url)
    data = request.POST or None
    if data is not None and "resend" in data:
        # "Send a new code" on step two: the number it was sent to is in the session, never
        # in the page.
        phone = request.session.get(PHONE_KEY)
        if not phone:
            return redirect("citizens:sign_in")
        data = {"phone": phone}
    form = forms.PhoneForm(data, initial={"phone": request.GET.get("phone", "")})
    if request.method == "POST" and form.is_valid():
        try:
            accounts.sign_in_code_send(phone=form.cleaned_data["phone"], ip=client_ip(request))
        except RateLimited as exc:
            return too_many(
                request, message=accounts.send_limit_message(), retry_after=exc.retry_after
            )
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            request.session[PHONE_KEY] = accounts.phone_normalise(form.cleaned_data["phone"])
            return redirect(f"{reverse('citizens:sign_in_code')}?{urlencode({'next': next_url})}")
    return render(request, "citizens/sign_in.html", {"form": form, "next": next_url})


@never_cache
@require_http_methods(["GET", "POST"])
def sign_in_code(request):
    """Step two: the code from the text message."""
    next_url = safe_next(request, reverse("citizens:home"))
    phone = request.session.get(PHONE_KEY)
    if not phone:
        return redirect("citizens:sign_in")
    form = forms.CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            account = accounts.sign_in_code_check(
                phone=phone, code=form.cleaned_data["code"], ip=client_ip(request)
            )
        except RateLimited as exc:
            return too_many(
                request, message=accounts.check_limit_message(), retry_after=exc.retry_after
            )
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            resident_sign_in(request, account)
            return redirect(next_url)
    return render(
        request,
        "citizens/sign_in_code.html",
        {"form": form, "masked_phone": mask_phone(phone), "next": next_url},
    )


@require_POST
def sign_out(request):
    resident_sign_out(request)
    return redirect("citizens:sign_in")


@never_cache
@require_http_methods(["GET", "POST"])
def privacy(request):
    """The privacy notice; a signed-in resident who has not accepted it yet accepts it here."""
    account = current_account(request)
    if account is not None:
        request.resident = account  # the page's sign-out button
    if request.method == "POST":
        if account is None:
            return redirect("citizens:sign_in")
        form = forms.PrivacyForm(request.POST)
        if form.is_valid():
            try:
                accounts.account_privacy_accept(
                    account=account, display_name=form.cleaned_data["display_name"]
                )
            except ValidationError as exc:
                _form_errors(form, exc)
            else:
                return redirect(safe_next(request, reverse("citizens:home")))
    else:
        form = forms.PrivacyForm(initial={"display_name": account.display_name if account else ""})
    return render(
        request,
        "citizens/privacy.html",
        {
            "account": account,
            "form": form,
            "accepted": account is not None and accounts.privacy_accepted(account),
            "light": account is not None and account.resident_id is None,
            "next": safe_next(request, reverse("citizens:home")),
            "code_minutes": accounts.code_ttl() // 60,
        },
    )


# --- my problems ------------------------------------------------------------------------------


@never_cache
@resident_required
@require_GET
def home(request):
    page = selectors.problems_page(request.resident, request.GET.get("page"), per_page=PAGE_SIZE)
    for ticket in page.object_list:
        ticket.state_words = STATE_WORDS[ticket.state]
    return render(request, "citizens/home.html", {"page": page})


@never_cache
@resident_required
@require_http_methods(["GET", "POST"])
def report(request):
    account = request.resident
    home_place = selectors.home_place(account)
    form = forms.ResidentReportForm(
        request.POST or None,
        request.FILES or None,
        initial={"place": home_place.pk if home_place else None},
    )
    place = None
    if request.method == "POST" and form.is_valid():
        place = selectors.place_for_report(form.cleaned_data["place"])
        if place is None:
            form.add_error(None, _("Choose where the problem is."))
        else:
            try:
                ticket = services.resident_report(
                    account=account,
                    area=place,
                    category=form.cleaned_data["category"],
                    description=form.cleaned_data["description"],
                    photos=form.cleaned_data["photos"],
                    ip=client_ip(request),
                )
            except RateLimited as exc:
                return too_many(
                    request, message=services.report_limit_message(), retry_after=exc.retry_after
                )
            except ValidationError as exc:
                _form_errors(form, exc)
            else:
                messages.success(
                    request,
                    _("Thank you. Your problem #%(id)s was received; you can follow it here.")
                    % {"id": ticket.pk},
                )
                return redirect("citizens:problem", pk=ticket.pk)
    elif request.method == "POST":
        place = selectors.place_for_report(request.POST.get("place"))
    else:
        place = home_place
    return render(
        request,
        "citizens/report.html",
        {
            "form": form,
            "place": place,
            "place_label": selectors.place_label(place) if place else "",
            "home_place": home_place,
        },
    )


@resident_required
@require_GET
def places(request):
    """htmx: units, buildings and grids by name, for the report form's place."""
    q = request.GET.get("q", "")[:50]
    found = selectors.places_search(q)
    limit = selectors.PLACE_SEARCH_LIMIT
    return render(
        request,
        "citizens/_places.html",
        {
            "q": q.strip(),
            "results": found[:limit],
            "more": len(found) > limit,
            "too_short": 0 < len(q.strip()) < selectors.PLACE_QUERY_MIN,
        },
    )


# --- one problem: signed in, or through the tracking link ------------------------------------


def _problem_context(ticket: Ticket, rows, *, rate_url: str, photo_url) -> dict:
    """What the problem page shows the reporter ``rows`` (their reporter rows of it). Every
    free text on it (their description, the result, notes, comments) is shown with the
    phone and ID numbers in it masked (the template's ``scrub``): the tracking page is a
    bearer link, and a worker may have typed the text."""
    awaiting = ticket.state in AWAITING_RATING_STATES
    to_rate = next((r for r in rows if not rated_this_round(r, ticket)), None) if awaiting else None
    rated = next((r for r in rows if r.rating and rated_this_round(r, ticket)), None)
    first = rows[0]
    return {
        "ticket": ticket,
        "reporter": first,
        "state_words": STATE_WORDS[ticket.state],
        "description": first.reported_as.description,
        "place_label": selectors.place_label(first.reported_as.area),
        "timeline": resident_timeline(ticket, rows),
        "photos": [(photo, photo_url(photo)) for photo in selectors.photos_of(rows)],
        "to_rate": to_rate,
        "rated": rated,
        "rated_on_call": rated is not None
        and rated.rating_source == Ticket.RatingSource.RETURN_CALL,
        "rate_url": rate_url,
        "rate_form": forms.ResidentRateForm(prefix="rate") if to_rate else None,
    }


def _rate(request, ticket: Ticket, rows, *, context: dict, template: str, done_url: str):
    awaiting = ticket.state in AWAITING_RATING_STATES
    row = next((r for r in rows if not rated_this_round(r, ticket)), None) if awaiting else None
    form = forms.ResidentRateForm(request.POST, prefix="rate")
    if row is None:
        form.add_error(None, _("This problem is not waiting for your rating."))
    elif form.is_valid():
        version = request.POST.get("version", "")
        try:
            services.reporter_rate(
                reporter=row,
                rating=form.cleaned_data["rating"],
                comment=form.cleaned_data["comment"],
                expected_version=int(version) if version.isdigit() else None,
            )
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            if form.cleaned_data["rating"] == Ticket.Rating.UNSATISFIED:
                messages.success(request, _("Thank you. The problem was taken up again."))
            else:
                messages.success(request, _("Thank you for your rating."))
            return redirect(done_url)
    context = {**context, "rate_form": form, "to_rate": row or context["to_rate"]}
    return render(request, template, context, status=400)


def _account_problem(request, pk):
    rows = selectors.reporter_rows_for_problem(request.resident, pk)
    ticket = rows[0].ticket
    context = _problem_context(
        ticket,
        rows,
        rate_url=reverse("citizens:problem_rate", args=[ticket.pk]),
        photo_url=lambda p: reverse("citizens:problem_photo", args=[ticket.pk, p.pk]),
    )
    context["signed_in"] = True
    return ticket, rows, context


@never_cache
@resident_required
@require_GET
def problem(request, pk):
    _ticket, _rows, context = _account_problem(request, pk)
    return render(request, "citizens/problem.html", context)


@resident_required
@require_POST
def problem_rate(request, pk):
    ticket, rows, context = _account_problem(request, pk)
    done = reverse("citizens:problem", args=[ticket.pk])
    return _rate(request, ticket, rows, context=context, template=PROBLEM, done_url=done)


@resident_required
@require_GET
def problem_photo(request, pk, photo_pk):
    photo = selectors.get_photo_for_rows(
        selectors.reporter_rows_for_problem(request.resident, pk), photo_pk
    )
    return image_response(photo.image, kind=photo.kind, download_name=f"problem-{pk}-{photo.pk}")


def _tracked(token: str):
    reporter = reporter_by_token(token)
    if reporter is None:
        raise Http404
    return reporter


def _track_context(reporter) -> dict:
    ticket = reporter.ticket
    token = reporter.token
    context = _problem_context(
        ticket,
        [reporter],
        rate_url=reverse("citizens:track_rate", args=[token]),
        photo_url=lambda p: reverse("citizens:track_photo", args=[token, p.pk]),
    )
    context["signed_in"] = False
    return context


@never_cache
@require_GET
def track(request, token):
    """The tracking link sent by SMS: that one problem and its rating form, no sign-in."""
    reporter = reporter_by_token(token)
    if reporter is None:
        return render(request, "citizens/link_gone.html", status=404)
    return render(request, "citizens/problem.html", _track_context(reporter))


@require_POST
def track_rate(request, token):
    reporter = reporter_by_token(token)
    if reporter is None:
        return render(request, "citizens/link_gone.html", status=404)
    context = _track_context(reporter)
    done = reverse("citizens:track", args=[token])
    ticket = reporter.ticket
    return _rate(request, ticket, [reporter], context=context, template=PROBLEM, done_url=done)


@require_GET
def track_photo(request, token, photo_pk):
    reporter = _tracked(token)
    photo = selectors.get_photo_for_rows([reporter], photo_pk)
    return image_response(
        photo.image, kind=photo.kind, download_name=f"problem-{reporter.ticket_id}-{photo.pk}"
    )
