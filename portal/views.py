from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from grids.access import Role, scope_for
from grids.models import Post


@login_required
def home(request):
    """Who I am here: my posts, my areas, what my role lets me do."""
    scope = scope_for(request.user)
    posts = (
        Post.objects.filter(person__user=request.user, ended_on__isnull=True)
        .select_related("area")
        .order_by("area__tree_id", "area__lft")
    )
    roles = [Role.LABELS[r] for r in Role.ORDER if r in scope.roles]
    return render(request, "home.html", {"posts": posts, "roles": roles, "scope": scope})
