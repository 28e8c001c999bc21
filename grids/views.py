"""The area tree browser, the area picker's htmx partials and the public notice boards
(便民公示牌).

Every node is fetched through the user's scope in one step (``get_area_for_user``): a node
that is missing or outside the scope is a 404 alike. Nothing here changes data, so every page
answers GET (and HEAD) only.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_safe

from grids import selectors
from grids.access import scope_for
from grids.rules import AreaKind

CHILDREN_PAGE_SIZE = 100
SEARCH_LIMIT = 20
MAX_QUERY_LENGTH = 50


def children_page(request, queryset):
    return Paginator(queryset, CHILDREN_PAGE_SIZE).get_page(request.GET.get("page"))


@require_safe
@login_required
def area_root(request):
    """Where the user's part of the tree starts: one node → its page; several → a list. A
    login in no post (a department's handler) has no part of the tree."""
    scope = scope_for(request.user)
    if not scope.is_admin and not scope.grants:
        raise PermissionDenied
    roots = selectors.scope_root_areas(request.user)
    if len(roots) == 1:
        return redirect("dashboard:area_detail", code=roots[0].code)
    return render(request, "grids/area_root.html", {"roots": roots})


@require_safe
@login_required
def area_search(request):
    """htmx: up to ``SEARCH_LIMIT`` nodes in scope whose name or code contains ``q``."""
    q = request.GET.get("q", "").strip()[:MAX_QUERY_LENGTH]
    kind = request.GET.get("kind", "").strip()
    if kind and kind not in AreaKind.values:
        found = []
    else:
        found = selectors.area_search(request.user, q=q, kind=kind, limit=SEARCH_LIMIT + 1)
    results, more = found[:SEARCH_LIMIT], len(found) > SEARCH_LIMIT
    labels = selectors.area_labels(results, user=request.user)
    return render(
        request,
        "grids/_area_search.html",
        {
            "q": q,
            "results": [(area, labels[area.pk]) for area in results],
            "more": more,
            "limit": SEARCH_LIMIT,
        },
    )


def _picker_rows(children, *, path, user):
    return [(child, selectors.area_label(child, path=path, user=user)) for child in children]


@require_safe
@login_required
def area_children_partial(request, code):
    """htmx: one node's children, to pick one or walk further down (the area picker)."""
    area = selectors.get_area_for_user(request.user, code)
    path = selectors.area_path(area, within=selectors.scope_root_for(request.user, area))
    page = children_page(request, selectors.area_children_for_picker(area))
    return render(
        request,
        "grids/_area_children.html",
        {
            "area": area,
            "label": selectors.area_label(area, path=path, user=request.user),
            "up": path[-2] if len(path) > 1 else None,
            "page": page,
            "rows": _picker_rows(page.object_list, path=path, user=request.user),
        },
    )


@require_safe
@login_required
def area_root_children(request):
    """htmx: the top nodes of the user's scope, where walking the tree starts."""
    roots = selectors.scope_root_areas(request.user)
    labels = selectors.area_labels(roots, user=request.user)
    return render(
        request,
        "grids/_area_children.html",
        {"area": None, "rows": [(area, labels[area.pk]) for area in roots]},
    )


@require_safe
@login_required
def notice_board(request, code):
    """The public notice board of a community, grid, building or unit, to print on A4."""
    area = selectors.get_area_for_user(request.user, code)
    if area.kind not in selectors.BOARD_KINDS:
        raise Http404
    path = selectors.area_path(area)
    on_board = selectors.board_areas(path)
    return render(
        request,
        "grids/notice_board.html",
        {
            "area": area,
            "full_name": selectors.PATH_SEPARATOR.join(a.name for a in path),
            "heads": selectors.board_heads(on_board),
            "party_orgs": selectors.party_orgs_on(on_board),
            "today": timezone.localdate(),
        },
    )
