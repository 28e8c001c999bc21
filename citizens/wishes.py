"""Micro-wishes on the resident pages (``/r/wishes/``): post a wish, follow one's own wishes
(their state, what one was told) and confirm a fulfilled one; and, for a resident who is a
Party member registered at the community or a volunteer (their register record's person),
the open wishes near them, claim, hand back, fulfil. Someone else's wish is a 404."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from citizens import selectors as places
from citizens.session import resident_required
from core.images import image_response
from deliberation import rules as proposal_rules
from deliberation import selectors as proposal_selectors
from wishes import rules, selectors, services
from wishes.forms import WishForm
from wishes.models import State
from wishes.views import claimer_act, claimer_context, form_errors


class ResidentWishForm(WishForm):
    place = forms.IntegerField(widget=forms.HiddenInput, required=False)


NOT_CLAIMER = gettext_lazy(
    "Only Party members registered at the community and volunteers claim wishes."
)


UNREGISTERED = gettext_lazy(
    "Points are counted for residents on the community's register: "
    "your mobile number is not on it, so this confirmation earns you none. The one who "
    "fulfilled your wish earns theirs. Ask your community to register you."
)


def _person(account):
    resident = account.resident
    return resident.person if resident is not None and resident.person_id else None


def _claimer(account):
    person = _person(account)
    if not selectors.is_claimer(person):
        raise PermissionDenied(NOT_CLAIMER)
    return person


@never_cache
@resident_required
@require_GET
def wishes_home(request):
    account = request.resident
    page = selectors.own_wishes_page(account, request.GET.get("page"))
    for wish in page.object_list:
        wish.state_words = rules.STATE_WORDS[wish.state]
    return render(
        request,
        "citizens/wishes/home.html",
        {"page": page, "claimer": selectors.is_claimer(_person(account))},
    )


@never_cache
@resident_required
@require_http_methods(["GET", "POST"])
def wish_new(request):
    account = request.resident
    home_place = places.home_place(account)
    form = ResidentWishForm(
        request.POST or None,
        request.FILES or None,
        initial={"place": home_place.pk if home_place else None},
    )
    place = home_place
    if request.method == "POST":
        place = places.place_for_report(request.POST.get("place"))
        if form.is_valid():
            data = form.cleaned_data
            if place is None:
                form.add_error(None, _("Choose where you live."))
            else:
                try:
                    wish = services.wish_post(
                        area=place,
                        title=data["title"],
                        text=data["text"],
                        where=data["where"],
                        wanted_by=data["wanted_by"],
                        photo=data["photo"],
                        account=account,
                    )
                except ValidationError as exc:
                    form_errors(form, exc)
                else:
                    messages.success(
                        request,
                        _("Your wish was posted. A Party member or volunteer nearby will claim it"),
                    )
                    return redirect("citizens:wish", pk=wish.pk)
    return render(
        request,
        "citizens/wishes/new.html",
        {
            "form": form,
            "place": place,
            "place_label": places.place_label(place) if place else "",
            "home_place": home_place,
        },
        status=400 if request.method == "POST" else 200,
    )


def _plan(account, wish):
    """The renovation plan a wish went into, as the resident may read it: once the proposal
    is published (a draft is the workers' own), linked when it is put to their household."""
    proposal = wish.proposal
    if proposal is None or proposal.state not in proposal_rules.PUBLISHED_STATES:
        return None, False
    household = proposal_selectors.resident_household(account)
    linked = proposal_selectors.proposals_for_household(household).filter(pk=proposal.pk).exists()
    return proposal, linked


def _wish_context(account, wish) -> dict:
    plan, plan_link = _plan(account, wish)
    return {
        "plan": plan,
        "plan_link": plan_link,
        "wish": wish,
        "state_words": rules.STATE_WORDS[wish.state],
        "events": wish.events.select_related("person"),
        "photos": selectors.photos_of(wish),
        "place_label": places.place_label(wish.area),
        "may_confirm": wish.state == State.FULFILLED,
        # Points are counted for registered residents only: said, not left to be wondered.
        "unregistered": wish.state in (State.FULFILLED, State.CONFIRMED)
        and services.resident_for_points(wish, account) is None,
        "unregistered_text": UNREGISTERED,
    }


@never_cache
@resident_required
@require_GET
def wish(request, pk):
    found = selectors.get_own_wish(request.resident, pk)
    return render(request, "citizens/wishes/detail.html", _wish_context(request.resident, found))


@resident_required
@require_POST
def wish_confirm(request, pk):
    found = selectors.get_own_wish(request.resident, pk)
    try:
        services.wish_confirm(wish=found, account=request.resident)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Thank you for confirming. Your wish came true."))
        if services.resident_for_points(found, request.resident) is None:
            messages.info(request, UNREGISTERED)
    return redirect("citizens:wish", pk=found.pk)


@resident_required
@require_GET
def wish_photo(request, pk, photo_pk):
    """A photo of one's own wish, or of a wish one may act on as a claimer."""
    account = request.resident
    try:
        found = selectors.get_own_wish(account, pk)
    except Http404:
        found = selectors.get_wish_for_claimer(_person(account), pk)
    photo = selectors.get_photo(found, photo_pk)
    return image_response(photo.image, kind=photo.kind, download_name=f"wish-{pk}-{photo.pk}")


# --- Party members and volunteers ----------------------------------------------------------------


def _open_page(request, person, *, forms_for=None, status=200):
    context = claimer_context(
        person,
        photo_url="citizens:wish_photo",
        act_url="citizens:wishes_open_act",
        forms_for=forms_for,
        params=request.GET,
    )
    return render(request, "citizens/wishes/open.html", context, status=status)


@never_cache
@resident_required
@require_GET
def wishes_open(request):
    return _open_page(request, _claimer(request.resident))


@resident_required
@require_POST
def wishes_open_act(request, pk, action):
    person = _claimer(request.resident)
    found, form = claimer_act(
        request, person=person, pk=pk, action=action, account=request.resident
    )
    if form is not None and form.errors:
        return _open_page(request, person, forms_for={(found.pk, action): form}, status=400)
    return redirect(reverse("citizens:wishes_open"))
