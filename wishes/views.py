"""The worker pages of micro-wishes: the wish list (心愿清单) of the scope, one wish with its
steps and the sorting form, a wish posted for a resident, and — for a Party member or
volunteer with a login — the open wishes near them and their claims. Out of scope: 404;
in scope but not for the role: 403; every change a POST."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.images import image_response
from core.keyset import keyset_page
from deliberation.selectors import proposals_visible_to
from grids.access import scope_for
from grids.selectors import area_labels, filter_area_for_user, set_places
from wishes import rules, selectors, services
from wishes.forms import FulfilForm, HandBackForm, ListFilterForm, SortForm, WorkerWishForm
from wishes.models import State, Wish

CLAIM, HAND_BACK, FULFIL = "claim", "hand-back", "fulfil"
CLAIMER_ACTIONS = (CLAIM, HAND_BACK, FULFIL)


def form_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def _require(user, action: str) -> None:
    if not any(rules.role_may(role, action) for role in scope_for(user).roles):
        raise PermissionDenied


def _require_on(user, wish: Wish, action: str) -> None:
    if not rules.role_may(scope_for(user).role_for(wish.area), action):
        raise PermissionDenied


def _person(user):
    return getattr(user, "person", None)


def may_claim(user) -> bool:
    """A login whose person is a Party member registered at a community or a volunteer: the
    open wishes near them (the navbar's link and the page's check)."""
    return user.is_authenticated and selectors.is_claimer(_person(user))


def may_see_wishes(user) -> bool:
    """The navbar's link: the wish list for those whose posts list wishes, the open wishes
    near them for a Party member or volunteer without such a post (the list sends them
    there)."""
    return selectors.may_list(user) or may_claim(user)


# --- the wish list -------------------------------------------------------------------------------


@login_required
@require_GET
def wish_list(request):
    if not selectors.may_list(request.user) and may_claim(request.user):
        return redirect("wishes:near")
    _require(request.user, rules.LIST)
    form = ListFilterForm(request.GET or None)
    filters = selectors.ListFilters()
    area_label = ""
    empty = False
    if form.is_valid():
        filters.state = form.cleaned_data["state"]
        filters.outcome = form.cleaned_data["outcome"]
        code = form.cleaned_data["area"].strip()
        if code:
            filters.area = filter_area_for_user(request.user, code, form)
            if filters.area is None:
                empty = True
            else:
                area_label = area_labels([filters.area], user=request.user)[filters.area.pk]
    page = (
        None
        if empty
        else selectors.wish_list_page(request.user, filters, number=request.GET.get("page"))
    )
    if page is not None:
        set_places(page.object_list, user=request.user)
    return render(
        request,
        "wishes/list.html",
        {
            "form": form,
            "page": page,
            "area_label": area_label,
            "query": _query_without_page(request),
            "may_post": any(
                rules.role_may(role, rules.POST_FOR) for role in scope_for(request.user).roles
            ),
            "may_claim": may_claim(request.user),
        },
    )


def _query_without_page(request) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


def _detail_context(request, wish: Wish, **extra) -> dict:
    role = scope_for(request.user).role_for(wish.area)
    set_places([wish], user=request.user)
    ends = services.confirm_window_ends(wish)
    may_sort = rules.role_may(role, rules.SORT) and wish.state in rules.OPEN_STATES
    plan_link = wish.proposal_id is not None and (
        proposals_visible_to(request.user).filter(pk=wish.proposal_id).exists()
    )
    sort_form = extra.pop("sort_form", None)
    if sort_form is None and may_sort:
        sort_form = _sort_form(request.user, wish)
    return {
        "wish": wish,
        "events": wish.events.select_related("actor__person", "person", "account"),
        "photos": selectors.photos_of(wish),
        "state_words": rules.STATE_WORDS[wish.state],
        "sort_form": sort_form,
        "plan_link": plan_link,
        "may_sort": may_sort,
        "confirm_ends": ends,
        "may_confirm_late": rules.role_may(role, rules.CONFIRM_LATE)
        and wish.state == State.FULFILLED
        and ends is not None
        and timezone.now() >= ends,
        **extra,
    }


def _sort_form(user, wish: Wish, data=None) -> SortForm:
    """The sorting form with the proposals the wish may go into and the places a new draft
    may be put on (two queries)."""
    areas = selectors.covering_areas(wish)
    return SortForm(
        data,
        proposals=list(selectors.plan_proposals(user, wish, areas)[:20]),
        draft_areas=selectors.draft_areas(user, wish, areas),
    )


@login_required
@require_GET
def wish_detail(request, pk):
    wish = selectors.get_wish_for_user(request.user, pk)
    return render(request, "wishes/detail.html", _detail_context(request, wish))


@login_required
@require_POST
def wish_sort(request, pk):
    wish = selectors.get_wish_for_user(request.user, pk)
    _require_on(request.user, wish, rules.SORT)
    form = _sort_form(request.user, wish, request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            if data["draft_area"] is not None:
                services.wish_plan_draft(
                    wish=wish, actor=request.user, area=data["draft_area"], note=data["note"]
                )
            else:
                services.wish_sort(
                    wish=wish,
                    outcome=data["outcome"],
                    note=data["note"],
                    actor=request.user,
                    proposal=data["proposal"],
                )
        except ValidationError as exc:
            form_errors(form, exc)
        else:
            messages.success(request, _("The wish is on the wish list; the resident was told."))
            return redirect("wishes:detail", pk=wish.pk)
    context = _detail_context(request, wish, sort_form=form)
    return render(request, "wishes/detail.html", context, status=400)


@login_required
@require_POST
def wish_confirm_late(request, pk):
    wish = selectors.get_wish_for_user(request.user, pk)
    _require_on(request.user, wish, rules.CONFIRM_LATE)
    try:
        services.wish_confirm_late(wish=wish, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Confirmed; the points were awarded."))
    return redirect("wishes:detail", pk=wish.pk)


@login_required
@require_http_methods(["GET", "POST"])
def wish_new(request):
    """A wish posted for a resident (who came in person, called, or has no phone)."""
    _require(request.user, rules.POST_FOR)
    form = WorkerWishForm(request.POST or None, request.FILES or None)
    area_label = ""
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        area = filter_area_for_user(request.user, data["area"].strip(), form)
        if area is not None:
            area_label = area_labels([area], user=request.user)[area.pk]
            try:
                wish = services.wish_post(
                    area=area,
                    title=data["title"],
                    text=data["text"],
                    where=data["where"],
                    wanted_by=data["wanted_by"],
                    photo=data["photo"],
                    actor=request.user,
                    for_name=data["for_name"],
                    for_phone=data["for_phone"],
                )
            except ValidationError as exc:
                form_errors(form, exc)
            else:
                messages.success(request, _("The wish was posted."))
                return redirect("wishes:detail", pk=wish.pk)
    status = 400 if request.method == "POST" else 200
    return render(
        request, "wishes/new.html", {"form": form, "area_label": area_label}, status=status
    )


@login_required
@require_GET
def wish_photo(request, pk, photo_pk):
    """A photo of a wish, for its scope's workers and for a claimer who may act on it."""
    try:
        wish = selectors.get_wish_for_user(request.user, pk)
    except Http404:
        wish = selectors.get_wish_for_claimer(_person(request.user), pk)
    photo = selectors.get_photo(wish, photo_pk)
    return image_response(photo.image, kind=photo.kind, download_name=f"wish-{pk}-{photo.pk}")


# --- Party members and volunteers with a login ----------------------------------------------


CLAIMER_PAGE_SIZE = 20
NEAR_PAGE, MINE_PAGE = "page", "mine"


def _number(value) -> int:
    return int(value) if str(value or "").isdigit() and int(value) > 0 else 1


def claimer_context(
    person, *, photo_url, act_url, forms_for: dict | None = None, params=None
) -> dict:
    """What the open wishes page shows a claimer (the worker's and the resident's alike):
    the open wishes near them and their own claims, each with its forms, each list in
    numbered pages (``page`` and ``mine`` in ``params``, the request's GET)."""
    params = params or {}
    areas = selectors.claimer_areas(person)
    near_page = keyset_page(
        selectors.open_near(person, areas),
        order="wanted_by",
        size=CLAIMER_PAGE_SIZE,
        number=_number(params.get(NEAR_PAGE)),
    )
    mine_page = keyset_page(
        selectors.claims_of(person),
        order="-updated_at",
        size=CLAIMER_PAGE_SIZE,
        number=_number(params.get(MINE_PAGE)),
    )
    near = list(near_page.object_list)
    mine = list(mine_page.object_list)
    set_places(near + mine, user=_anonymous())
    forms_for = forms_for or {}
    for wish in mine:
        wish.hand_back_form = forms_for.get((wish.pk, HAND_BACK)) or HandBackForm(
            prefix=f"back{wish.pk}"
        )
        wish.fulfil_form = forms_for.get((wish.pk, FULFIL)) or FulfilForm(prefix=f"done{wish.pk}")
    for wish in near + mine:
        wish.state_words = rules.STATE_WORDS[wish.state]
        wish.act_url = act_url
    return {
        "areas": areas,
        "near": near,
        "mine": mine,
        "near_page": near_page,
        "mine_page": mine_page,
        # Each list's pager keeps the other list's page.
        "near_query": _keep(params, MINE_PAGE),
        "mine_query": _keep(params, NEAR_PAGE),
        "area_names": [a.name for a in areas],
        "photo_url": photo_url,
    }


def _keep(params, name: str) -> str:
    value = params.get(name)
    return urlencode({name: value}) if str(value or "").isdigit() else ""


def _anonymous():
    return AnonymousUser()


def claimer_act(request, *, person, pk, action, actor=None, account=None):
    """One claimer step from a POST: returns (wish or None, the bound form with errors or
    None). Messages say what happened, "already claimed" included."""
    if action not in CLAIMER_ACTIONS:
        raise Http404
    wish = selectors.get_wish_for_claimer(person, pk)
    form = None
    who = {"person": person, "actor": actor, "account": account}
    try:
        if action == CLAIM:
            services.wish_claim(wish=wish, **who)
            messages.success(request, _("You claimed the wish. Thank you!"))
        elif action == HAND_BACK:
            form = HandBackForm(request.POST, prefix=f"back{wish.pk}")
            if form.is_valid():
                services.wish_hand_back(wish=wish, reason=form.cleaned_data["reason"], **who)
                messages.success(request, _("You handed the wish back."))
                form = None
        else:
            form = FulfilForm(request.POST, request.FILES, prefix=f"done{wish.pk}")
            if form.is_valid():
                services.wish_fulfil(
                    wish=wish,
                    note=form.cleaned_data["note"],
                    photo=form.cleaned_data["photo"],
                    **who,
                )
                messages.success(request, _("Fulfilled. The resident is asked to confirm."))
                form = None
    except services.AlreadyClaimed as exc:
        messages.error(request, " ".join(exc.messages))
    except ValidationError as exc:
        if form is None:
            messages.error(request, " ".join(exc.messages))
        else:
            form_errors(form, exc)
    return wish, form


@login_required
@require_GET
def near(request):
    person = _person(request.user)
    if not may_claim(request.user):
        raise PermissionDenied
    context = claimer_context(
        person,
        photo_url="wishes:photo",
        act_url="wishes:near_act",
        params=request.GET,
    )
    return render(request, "wishes/near.html", context)


@login_required
@require_POST
def near_act(request, pk, action):
    person = _person(request.user)
    if not may_claim(request.user):
        raise PermissionDenied
    wish, form = claimer_act(request, person=person, pk=pk, action=action, actor=request.user)
    if form is not None and form.errors:
        context = claimer_context(
            person,
            photo_url="wishes:photo",
            act_url="wishes:near_act",
            forms_for={(wish.pk, action): form},
        )
        return render(request, "wishes/near.html", context, status=400)
    return redirect(reverse("wishes:near"))
