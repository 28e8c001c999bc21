"""Reads across the area tree. Each returns a queryset or a value built in a fixed number of
queries, whatever the size of the tree."""

from django.db.models import Q, QuerySet

from grids.models import Area, Post
from grids.rules import AreaKind


def area_subtree_q(area: Area, prefix: str = "") -> Q:
    """A filter for ``area`` and everything under it, for any model that points at an Area
    through ``prefix`` (e.g. ``"area__"`` for posts)."""
    if area.kind == AreaKind.CITY:
        # A city is its own one-node tree; its districts are trees of their own.
        district_trees = Area.objects.filter(upper=area).values("tree_id")
        return Q(**{f"{prefix}pk": area.pk}) | Q(**{f"{prefix}tree_id__in": district_trees})
    return Q(
        **{
            f"{prefix}tree_id": area.tree_id,
            f"{prefix}lft__gte": area.lft,
            f"{prefix}rght__lte": area.rght,
        }
    )


def area_subtree(area: Area) -> QuerySet[Area]:
    return Area.objects.filter(area_subtree_q(area)).order_by("tree_id", "lft")


def area_ancestors(area: Area, *, include_self: bool = False) -> list[Area]:
    """From the top (the city, if any) down to ``area``'s parent (or ``area``). Two queries."""
    chain = list(area.get_ancestors(include_self=include_self))
    root = chain[0] if chain else area
    if root.upper_id:
        chain.insert(0, Area.objects.get(pk=root.upper_id))
    return chain


def area_children(area: Area) -> QuerySet[Area]:
    if area.kind == AreaKind.CITY:
        return Area.objects.filter(upper=area).order_by("code")
    return Area.objects.filter(parent=area).order_by("tree_id", "lft")


def current_posts(area: Area | None = None) -> QuerySet[Post]:
    posts = Post.objects.filter(ended_on__isnull=True).select_related("person", "area")
    if area is not None:
        posts = posts.filter(area=area)
    return posts.order_by("area__tree_id", "area__lft", "title", "is_deputy", "person__name")
