"""Digest pages: the history of the digests the user may read, one digest (tables, and charts
for the monthly one), and the XLSX of the weekly rectification list and the monthly ranking.
Every read goes through the scoping selectors."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Case, IntegerField, Q, When
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from core.spreadsheets import spreadsheet_response
from grids.access import scope_for
from grids.models import Area
from grids.selectors import area_subtree_q, scope_root_areas, set_places

from .forms import DigestFilterForm
from .models import Digest
from .rendering import chart_data, digest_context
from .selectors import digests_visible_to, get_digest_for_user

K = Digest.Kind
PAGE_SIZE = 30


@login_required
@require_safe
def digest_list(request):
    scope = scope_for(request.user)
    if not scope.is_admin and not scope.grants:
        raise PermissionDenied  # digests are per area: a department's handler has none
    kind = request.GET.get("kind", "")
    if kind and kind not in K.values:
        raise Http404
    form = DigestFilterForm(request.GET or None, areas=_filter_areas(request.user))
    # The person's own nodes first (their own level's digests), then the newest.
    own = [g.area_id for g in scope.grants]
    digests = (
        digests_visible_to(request.user)
        .select_related("node")
        .defer("figures")
        .annotate(own=Case(When(node_id__in=own, then=0), default=1, output_field=IntegerField()))
        .order_by("own", "-period_start", "kind", "node__tree_id", "node__lft")
    )
    if kind:
        digests = digests.filter(kind=kind)
    if form.is_valid():
        if day := form.cleaned_data["day"]:
            digests = digests.filter(period_start__lte=day, period_end__gte=day)
        if area := form.cleaned_data["area"]:
            digests = digests.filter(area_subtree_q(area, "node__"))
    page = Paginator(digests, PAGE_SIZE).get_page(request.GET.get("page"))
    set_places(page.object_list, user=request.user, attr="node")
    return render(
        request,
        "digests/digest_list.html",
        {"page": page, "kind": kind, "kinds": K.choices, "form": form},
    )


def _filter_areas(user) -> list[Area]:
    """The areas a digest list can be narrowed to: the user's top nodes and the nodes right
    under them (a street officer's communities, a county officer's streets). Two queries."""
    tops = scope_root_areas(user)
    children = list(Area.objects.filter(Q(parent__in=tops) | Q(upper__in=tops)).order_by("code"))
    return [*tops, *children]


@login_required
@require_safe
def digest_detail(request, pk: int):
    digest = get_digest_for_user(request.user, pk)
    context = digest_context(digest)
    context["chart_data"] = chart_data(digest)
    context["exportable"] = digest.kind in SHEETS
    return render(request, "digests/digest_detail.html", context)


def _percent(value) -> str:
    return "" if value is None else f"{value:.1f}"


def _local(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else ""


def _rectification_sheet(digest: Digest) -> tuple[str, list, list[list]]:
    """The weekly digest's rectification list (a community's, a street's or the county's):
    its file name, headers and rows, each place named from below its community."""
    headers = [
        _("Street"),
        _("Community"),
        _("Problem"),
        _("Category"),
        _("Place"),
        _("Level"),
        _("Handled at"),
        _("New deadline"),
        _("Overdue"),
        _("Escalations"),
    ]
    rows = [
        [
            t["street"],
            t["community"],
            t["id"],
            t["category"],
            t.get("path") or t["place"],
            t["level_label"],
            t["handler"],
            _local(t["deadline"]),
            _("yes") if t["overdue"] else _("no"),
            t["escalations"],
        ]
        for t in digest_context(digest)["rectification"]
    ]
    return "rectification", headers, rows


def _ranking_sheet(digest: Digest) -> tuple[str, list, list[list]]:
    """The monthly digest's ranking of communities: its file name, headers and rows."""
    headers = [
        _("Rank"),
        _("Street"),
        _("Community"),
        _("Reported"),
        _("Solved"),
        _("Solve rate (%)"),
        _("Median hours to solve"),
        _("Rated"),
        _("Satisfaction (%)"),
        _("Confident at least (%)"),
        _("Rated by the resident"),
        _("Rated by return call"),
        _("Closed not rated"),
    ]
    # A community with too few ratings to rank has no rank (an empty cell), after the ranked.
    rows = [
        [
            "" if r["rank"] is None else r["rank"],
            r["street"],
            r["name"],
            r["intake"],
            r["solved"],
            _percent(r["solve_rate"]),
            "" if r["median_hours"] is None else r["median_hours"],
            r["rated"],
            _percent(r["satisfaction"]),
            _percent(r.get("satisfaction_bound")),
            r.get("rated_resident", ""),
            r.get("rated_call", ""),
            r.get("not_rated", ""),
        ]
        for r in digest.figures["ranking"]
    ]
    return "ranking", headers, rows


SHEETS = {K.WEEKLY: _rectification_sheet, K.MONTHLY: _ranking_sheet}


@login_required
@require_safe
def digest_export(request, pk: int):
    """The weekly rectification list or the monthly ranking as XLSX."""
    digest = get_digest_for_user(request.user, pk)
    sheet = SHEETS.get(digest.kind)
    if sheet is None:
        raise Http404
    name, headers, rows = sheet(digest)
    filename = f"{name}-{digest.node.code}-{digest.period_start:%Y%m%d}"
    return spreadsheet_response(filename, "xlsx", headers, rows)
