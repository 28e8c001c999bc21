"""The resident's own points on the resident pages (``/r/points/``): their balance, their
ledger, the reward items their community offers for points (道德银行 兑换) and their
requests for them. Points are saved and redeemed by the community's workers: a resident asks
for an item here, a worker hands it over (taking the points) or declines, saying why."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe

from citizens.session import resident_required
from points.models import PointBalance
from points.selectors import entries_of, requests_of, reward_items_of
from points.services import redemption_request
from residents.services import resident_person_ensure

PAGE_SIZE = 20


@never_cache
@require_safe
@resident_required
def points_home(request):
    resident = request.resident.resident
    person = resident.person if resident is not None and resident.person_id else None
    balance = PointBalance.objects.filter(person=person).first() if person else None
    entries = (
        Paginator(entries_of(person), PAGE_SIZE).get_page(request.GET.get("page"))
        if person
        else None
    )
    community_id = resident.household.community_id if resident is not None else None
    return render(
        request,
        "citizens/points/home.html",
        {
            "registered": resident is not None,
            "balance": balance.balance if balance else 0,
            "earned": balance.earned if balance else 0,
            "page": entries,
            "items": reward_items_of(community_id),
            "requests": requests_of(person) if person else [],
        },
    )


@require_POST
@resident_required
def points_request(request, item_pk: int):
    """Ask for one of the community's reward items; another community's is a 404."""
    resident = request.resident.resident
    if resident is None:
        raise Http404
    items = reward_items_of(resident.household.community_id)
    item = next((i for i in items if i.pk == item_pk), None)
    if item is None:
        raise Http404
    person = resident_person_ensure(resident=resident)
    try:
        redemption_request(person=person, item=item)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(
            request,
            _("Asked for %(item)s: the community will hand it over and take the points.")
            % {"item": item.name},
        )
    return redirect(reverse("citizens:points"))
