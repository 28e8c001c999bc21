from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe

from core.replica import replica_reads
from dashboard import tree
from dashboard.engagement import engagement_for
from dashboard.figures import dashboard_for
from grids import selectors
from grids.access import Role, scope_for
from grids.views import children_page


@login_required
@require_safe
def home(request):
    """The worker dashboard for the user's scope, or for ``?node=<code>`` inside it."""
    with replica_reads():  # summaries: a replica's few seconds of lag are fine here
        dashboard = dashboard_for(request.user, node_code=request.GET.get("node", "").strip())
    scope = scope_for(request.user)
    roles = [Role.LABELS[r] for r in Role.ORDER if r in scope.roles]
    return render(
        request,
        "home.html",
        {
            "dash": dashboard,
            "roles": roles,
            "department_only": scope.is_empty and bool(scope.department_ids),
            "chart_data": dashboard.chart_data,
        },
    )


@login_required
@require_safe
def engagement(request):
    """The dashboard's engagement panel (htmx, after the page): for the user's scope, or for
    ``?node=<code>`` inside it (404 outside)."""
    code = request.GET.get("node", "").strip()
    node = selectors.get_area_for_user(request.user, code) if code else None
    with replica_reads():
        figures = engagement_for(request.user, node)
    return render(request, "dashboard/_engagement.html", {"engagement": figures, "node": node})


@require_safe
@login_required
def area_detail(request, code):
    """A node of the tree: its heads, Party body and children, each with households and open
    and overdue problems over its subtree."""
    area = selectors.get_area_for_user(request.user, code)
    now = timezone.now()
    path = selectors.area_path(area, within=selectors.scope_root_for(request.user, area))
    with replica_reads():  # a read-only page of counts: the replica may serve it
        return _area_detail_page(request, area, path, now)


def _area_detail_page(request, area, path, now):
    return render(
        request,
        "dashboard/area_detail.html",
        {
            "area": area,
            "path": path,
            "heads": selectors.area_heads(area),
            "party_org": selectors.party_org_of(area),
            "page": children_page(request, tree.area_children_with_counts(area, now=now)),
            "totals": tree.area_totals(area, now=now),
            "board_kinds": selectors.BOARD_KINDS,
            "has_board": area.kind in selectors.BOARD_KINDS,
        },
    )
