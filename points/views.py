"""Worker pages of the points ledger and the moral bank: rankings and balances of the scope,
a person's ledger with the manual, good-deed and redeem forms, the communities' reward
items. Every read through the scoping selectors (404 out of scope), every change a POST
through the services (403 for a role that may not)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Q
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from grids.access import scope_for
from grids.selectors import area_labels, filter_area_for_user, keyed_subtree_q, set_places
from points import permissions as perm
from points import selectors, services
from points.forms import (
    AdjustForm,
    GoodDeedForm,
    NewSaverForm,
    RankingFilterForm,
    RedeemForm,
    RewardItemForm,
    StockForm,
)
from points.models import PointRule

PAGE_SIZE = 25
REQUESTS_SHOWN = 50  # the oldest waiting requests; the rest come up as these are answered


def _require_any(user, action: str) -> None:
    if not perm.user_may(user, action):
        raise PermissionDenied


def _may(user, area, action: str) -> bool:
    return area is not None and perm.role_may(scope_for(user).role_for(area), action)


def _page(request, rows, size=PAGE_SIZE):
    return Paginator(rows, size).get_page(request.GET.get("page"))


def _refused(request, exc: ValidationError) -> None:
    for message in exc.messages:
        messages.error(request, message)


@login_required
@require_safe
def index(request):
    """Rankings by points earned over the scope, or a part of it picked from the tree."""
    _require_any(request.user, perm.VIEW)
    form = RankingFilterForm(request.GET or None)
    rows = selectors.ranking(request.user)
    if form.is_valid():
        if code := form.cleaned_data["area"].strip():
            area = filter_area_for_user(request.user, code, form)
            if area is None:
                rows = rows.none()
            else:
                form.area_label = area_labels([area], user=request.user)[area.pk]
                rows = rows.filter(keyed_subtree_q(area))
        if q := form.cleaned_data["q"].strip():
            rows = rows.filter(Q(person__name__contains=q) | Q(person__phone=q))
    page = selectors.ranking_page(rows, number=request.GET.get("page"), size=PAGE_SIZE)
    set_places(page.object_list, user=request.user)
    kept = {k: v for k, v in request.GET.items() if k != "page" and v}
    return render(
        request,
        "points/index.html",
        {
            "form": form,
            "page": page,
            "first_rank": page.first_rank,
            "query": urlencode(kept),
            "saver_form": NewSaverForm() if perm.user_may(request.user, perm.BANK) else None,
            "rules": PointRule.objects.filter(active=True).order_by("pk"),
        },
    )


def _person_context(request, balance, **forms):
    user, home = request.user, balance.area
    may_manual = _may(user, home, perm.MANUAL)
    may_bank = _may(user, home, perm.BANK)
    items = selectors.reward_items_of(balance.community_id) if may_bank else []
    page = _page(request, selectors.entries_of(balance.person))
    set_places(page.object_list, user=user)
    set_places([balance], user=user)
    return {
        "balance": balance,
        "person": balance.person,
        "page": page,
        "adjust_form": forms.get("adjust_form") or (AdjustForm() if may_manual else None),
        "deed_form": forms.get("deed_form") or (GoodDeedForm() if may_bank else None),
        "redeem_form": forms.get("redeem_form")
        or (RedeemForm(items=items) if may_bank and items else None),
    }


@login_required
@require_safe
def person(request, person_pk: int):
    """A person's balance and ledger, with the forms the viewer's role allows."""
    _require_any(request.user, perm.VIEW)
    balance = selectors.get_balance_for_user(request.user, person_pk)
    return render(request, "points/person.html", _person_context(request, balance))


def _person_act(request, person_pk: int, action: str):
    """The person in scope (404) and the viewer's right to ``action`` over their home (403)."""
    balance = selectors.get_balance_for_user(request.user, person_pk)
    if not _may(request.user, balance.area, action):
        raise PermissionDenied
    return balance


def _back(balance):
    return redirect(reverse("points:person", args=[balance.person_id]))


@login_required
@require_POST
def adjust(request, person_pk: int):
    balance = _person_act(request, person_pk, perm.MANUAL)
    form = AdjustForm(request.POST)
    if form.is_valid():
        try:
            services.points_adjust(
                person=balance.person,
                amount=form.cleaned_data["amount"],
                reason=form.cleaned_data["reason"],
                actor=request.user,
            )
        except ValidationError as exc:
            _refused(request, exc)
        else:
            messages.success(request, _("Points entered in the ledger."))
            return _back(balance)
    context = _person_context(request, balance, adjust_form=form)
    return render(request, "points/person.html", context, status=400)


@login_required
@require_POST
def deed(request, person_pk: int):
    balance = _person_act(request, person_pk, perm.BANK)
    form = GoodDeedForm(request.POST)
    if form.is_valid():
        try:
            services.good_deed_register(
                person=balance.person,
                area=balance.area,
                what=form.cleaned_data["what"],
                done_on=form.cleaned_data["done_on"],
                hours=form.cleaned_data["hours"],
                actor=request.user,
            )
        except ValidationError as exc:
            _refused(request, exc)
        else:
            messages.success(request, _("Good deed registered and its points saved."))
            return _back(balance)
    context = _person_context(request, balance, deed_form=form)
    return render(request, "points/person.html", context, status=400)


@login_required
@require_POST
def deed_new(request):
    """储蓄登记 for someone named by their mobile number: a resident of the scope (who then
    starts saving) or a person already counted in it."""
    _require_any(request.user, perm.BANK)
    form = NewSaverForm(request.POST)
    if form.is_valid():
        # Finding a resident's person writes it (and its balance): a deed refused after that
        # leaves nothing behind.
        with transaction.atomic():
            person = services.points_person_find(
                user=request.user, phone=form.cleaned_data["phone"]
            )
            home = services.person_home(person) if person is not None else None
            if home is None or not _may(request.user, home, perm.BANK):
                transaction.set_rollback(True)
                form.add_error("phone", _("No resident or head with this mobile number here."))
            else:
                try:
                    services.good_deed_register(
                        person=person,
                        area=home,
                        what=form.cleaned_data["what"],
                        done_on=form.cleaned_data["done_on"],
                        hours=form.cleaned_data["hours"],
                        actor=request.user,
                    )
                except ValidationError as exc:
                    transaction.set_rollback(True)
                    _refused(request, exc)
                else:
                    messages.success(request, _("Good deed registered and its points saved."))
                    return redirect(reverse("points:person", args=[person.pk]))
    for errors in form.errors.values():
        for error in errors:
            messages.error(request, error)
    return redirect(reverse("points:index"))


@login_required
@require_POST
def redeem(request, person_pk: int):
    balance = _person_act(request, person_pk, perm.BANK)
    items = selectors.reward_items_of(balance.community_id)
    form = RedeemForm(request.POST, items=items)
    if form.is_valid():
        item = next(i for i in items if i.pk == form.cleaned_data["item"])
        try:
            services.reward_redeem(
                item=item,
                person=balance.person,
                quantity=form.cleaned_data["quantity"],
                actor=request.user,
            )
        except ValidationError as exc:
            _refused(request, exc)
        else:
            messages.success(
                request, _("%(item)s handed over; its points taken.") % {"item": item.name}
            )
            return _back(balance)
    context = _person_context(request, balance, redeem_form=form)
    return render(request, "points/person.html", context, status=400)


def _items_context(request, add_form=None):
    user = request.user
    communities = list(selectors.communities_visible_to(user, perm.BANK))
    page = _page(request, selectors.reward_items_visible_to(user).order_by("community", "cost"))
    bank = {c.pk for c in communities}
    for item in page.object_list:
        item.may_edit = item.community_id in bank or scope_for(user).is_admin
        item.stock_form = StockForm(initial={"stock": item.stock, "active": item.active})
    set_places(page.object_list, user=user, attr="community")
    waiting = list(selectors.open_requests_visible_to(user)[:REQUESTS_SHOWN])
    for request_ in waiting:
        request_.may_answer = request_.item.community_id in bank or scope_for(user).is_admin
    return {
        "page": page,
        "requests": waiting,
        "add_form": add_form or (RewardItemForm(communities=communities) if communities else None),
    }


@login_required
@require_safe
def items(request):
    """The reward items (积分兑换) the communities of the scope offer, and their stock."""
    _require_any(request.user, perm.VIEW)
    return render(request, "points/items.html", _items_context(request))


@login_required
@require_POST
def item_add(request):
    _require_any(request.user, perm.BANK)
    communities = list(selectors.communities_visible_to(request.user, perm.BANK))
    form = RewardItemForm(request.POST, communities=communities)
    if form.is_valid():
        community = next(c for c in communities if c.pk == form.cleaned_data["community"])
        try:
            services.reward_item_create(
                community=community,
                name=form.cleaned_data["name"],
                description=form.cleaned_data["description"],
                cost=form.cleaned_data["cost"],
                stock=form.cleaned_data["stock"],
                actor=request.user,
            )
        except ValidationError as exc:
            _refused(request, exc)
        else:
            messages.success(request, _("Reward item listed."))
            return redirect(reverse("points:items"))
    return render(request, "points/items.html", _items_context(request, form), status=400)


@login_required
@require_POST
def item_update(request, pk: int):
    item = selectors.get_reward_item_for_user(request.user, pk)
    if not _may(request.user, item.community, perm.BANK):
        raise PermissionDenied
    form = StockForm(request.POST)
    if form.is_valid():
        services.reward_item_update(
            item=item,
            stock=form.cleaned_data["stock"],
            active=form.cleaned_data["active"],
            actor=request.user,
        )
        messages.success(request, _("Stock of %(item)s saved.") % {"item": item.name})
    else:
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
    return redirect(reverse("points:items"))


@login_required
@require_POST
def request_answer(request, pk: int):
    """Hand over what a resident asked for (``hand_over``) or decline it with a reason."""
    found = selectors.get_open_request_for_user(request.user, pk)
    if not _may(request.user, found.item.community, perm.BANK):
        raise PermissionDenied
    try:
        if request.POST.get("action") == "hand_over":
            services.redemption_request_hand_over(request=found, actor=request.user)
            messages.success(
                request, _("%(item)s handed over; its points taken.") % {"item": found.item.name}
            )
        else:
            services.redemption_request_decline(
                request=found, actor=request.user, note=request.POST.get("note", "")
            )
            messages.success(request, _("Request declined; the resident sees why."))
    except ValidationError as exc:
        _refused(request, exc)
    return redirect(reverse("points:items"))
