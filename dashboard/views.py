from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_safe

from dashboard.figures import dashboard_for
from grids.access import Role, scope_for


@login_required
@require_safe
def home(request):
    """The worker dashboard for the user's scope, or for ``?node=<code>`` inside it."""
    dashboard = dashboard_for(request.user, node_code=request.GET.get("node", "").strip())
    scope = scope_for(request.user)
    roles = [Role.LABELS[r] for r in Role.ORDER if r in scope.roles]
    return render(
        request,
        "home.html",
        {
            "dash": dashboard,
            "roles": roles,
            "department_only": bool(scope.department_ids) and scope.is_empty,
            "chart_data": dashboard.chart_data,
        },
    )
