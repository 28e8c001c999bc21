"""The resident's own points on the resident pages (``/r/points/``): their balance, their
ledger, and the reward items their community offers for points (道德银行 兑换, handed over
at the community's service centre). Read only: points are saved and redeemed by the
community's workers."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from citizens.session import resident_required
from points.models import PointBalance
from points.selectors import entries_of, reward_items_of

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
        },
    )
