"""Reads for the resident pages, every one scoped to what a resident may see: their own
problems (``own_reporter_rows``), the photos of their own reports, the
categories and places to report at. Someone else's problem is a 404, never a 403: the pages
do not say whether it exists."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.core.paginator import Paginator
from django.db.models import Exists, F, OuterRef, Q, QuerySet, Subquery
from django.http import Http404

from grids.models import Area
from grids.rules import AreaKind
from grids.selectors import area_labels
from issues.models import Category, Ticket, TicketPhoto, TicketReporter
from issues.rules import AWAITING_RATING_STATES
from issues.services import reporters_of_account
from residents.models import ResidentAccount

# Where a resident reports: their unit, their building, or (for places without units) the
# grid. The rest of the tree is for workers.
PLACE_KINDS = (AreaKind.UNIT, AreaKind.BUILDING, AreaKind.GRID)
PLACE_SEARCH_LIMIT = 15
PLACE_QUERY_MIN = 2  # one character would match half the city


def own_reporter_rows(account: ResidentAccount) -> QuerySet[TicketReporter]:
    """The reporter rows a resident sees: reported on their account or with their mobile
    number (which they proved by signing in). A link to the register's resident only
    preselects the place: the register's number may since have gone to someone else, so
    what workers recorded for that resident is not shown for the link alone."""
    return reporters_of_account(account).filter(Q(account=account) | Q(phone=account.phone))


def problems_page(account: ResidentAccount, page_number, *, per_page: int):
    """A page of the account's problems, newest first, one per problem however many of
    their reports were merged into it; each ticket carries ``my_place`` (the area name of
    their first report of it) and ``awaits_my_rating``. Two queries: count and page."""
    mine = own_reporter_rows(account)
    first_of_mine = mine.filter(ticket=OuterRef("pk")).order_by("created_at", "pk")
    unrated = mine.filter(ticket=OuterRef("pk")).filter(
        Q(rated_at__isnull=True) | Q(rated_at__lt=OuterRef("resolved_at"))
    )
    tickets = (
        Ticket.objects.filter(pk__in=mine.values("ticket_id"))
        .select_related("category")
        .annotate(
            my_place=Subquery(first_of_mine.values("reported_as__area__name")[:1]),
            unrated_by_me=Exists(unrated),
        )
        .order_by("-created_at", "-pk")
    )
    page = Paginator(tickets, per_page).get_page(page_number)
    for ticket in page.object_list:
        ticket.awaits_my_rating = (
            ticket.state in AWAITING_RATING_STATES
            and ticket.resolved_at is not None
            and ticket.unrated_by_me
        )
    return page


def reporter_rows_for_problem(account: ResidentAccount, ticket_pk) -> list[TicketReporter]:
    """The account's reporter rows of problem ``ticket_pk`` (usually one), with the problem
    and the report each came with; 404 when there is none: not theirs, or no such problem."""
    if not str(ticket_pk).isdigit():
        raise Http404
    rows = list(
        own_reporter_rows(account)
        .filter(ticket_id=int(ticket_pk))
        .select_related(
            "ticket__category", "ticket__area", "ticket__merged_into", "reported_as__area"
        )
        .order_by("created_at", "pk")
    )
    if not rows:
        raise Http404
    return rows


def photos_of(rows: list[TicketReporter]) -> QuerySet[TicketPhoto]:
    """The photos of the reports these rows came with: a resident's own photos, never those
    of another reporter whose report was merged with theirs."""
    return TicketPhoto.objects.filter(ticket_id__in={r.reported_as_id for r in rows}).order_by("pk")


def get_photo_for_rows(rows: list[TicketReporter], photo_pk) -> TicketPhoto:
    photo = photos_of(rows).filter(pk=photo_pk).first() if str(photo_pk).isdigit() else None
    if photo is None:
        raise Http404
    return photo


def report_categories() -> QuerySet[Category]:
    """What a resident picks from: the active categories with nothing under them."""
    return Category.objects.filter(active=True, rght=F("lft") + 1).order_by("tree_id", "lft")


def home_place(account: ResidentAccount) -> Area | None:
    """The place a resident on the register lives: their household's unit (or building or
    grid). No query when the account was read with ``current_account``."""
    resident = account.resident
    if resident is None or resident.household_id is None:
        return None
    return resident.household.area


def places_search(q: str, *, limit: int = PLACE_SEARCH_LIMIT) -> list[tuple[Area, str]]:
    """Units, buildings and grids whose name contains ``q``, each with its path from the
    community (``莲心社区 › 第1网格 › 1栋 › 1单元``); up to ``limit`` + 1 so the caller can tell
    there are more. Two queries."""
    q = " ".join((q or "").split())
    if len(q) < PLACE_QUERY_MIN:
        return []
    areas = list(
        Area.objects.filter(kind__in=PLACE_KINDS, name__icontains=q).order_by("tree_id", "lft")[
            : limit + 1
        ]
    )
    labels = area_labels(areas, user=AnonymousUser())
    return [(area, labels[area.pk]) for area in areas]


def place_for_report(pk) -> Area | None:
    if not str(pk).isdigit():
        return None
    return Area.objects.filter(Q(pk=int(pk)), kind__in=PLACE_KINDS).first()


def place_label(area: Area) -> str:
    return area_labels([area], user=AnonymousUser())[area.pk]
