"""Who may see and do what, derived from a login's current posts.

A login belongs to a Person; the person's current posts give roles, each over the subtree of
the post's node. A user's scope is the union of those subtrees. Per object, the role that
counts is the strongest one among the posts whose subtree holds the object. Superusers are
admins over everything. Department handlers hold no area post: they see what is assigned to
their department and nothing else (see ``issues``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Exists, F, OuterRef, Q
from django.utils.translation import gettext_lazy as _

from grids.models import Area, Department, Person, Post
from grids.rules import KEY_OF_KIND, UPPER_KINDS, AreaKind, PostTitle


class Role:
    ADMIN = "admin"
    COUNTY = "county"
    STREET = "street"
    COMMUNITY = "community"
    GRID = "grid"
    BUILDING = "building"
    UNIT = "unit"
    DEPARTMENT = "department"

    LABELS = {
        ADMIN: _("Administrator"),
        COUNTY: _("County office"),
        STREET: _("Street officer"),
        COMMUNITY: _("Community worker"),
        GRID: _("Grid head/worker"),
        BUILDING: _("Building head"),
        UNIT: _("Unit head"),
        DEPARTMENT: _("Department handler"),
    }
    # Strongest first: where two posts cover one node, the earlier role applies.
    ORDER = (ADMIN, COUNTY, STREET, COMMUNITY, GRID, BUILDING, UNIT, DEPARTMENT)


ROLE_BY_TITLE: dict[str, str] = {
    PostTitle.COUNTY_OFFICER: Role.COUNTY,
    PostTitle.STREET_OFFICER: Role.STREET,
    PostTitle.REGION_HEAD: Role.STREET,
    PostTitle.COMMUNITY_SECRETARY: Role.COMMUNITY,
    PostTitle.COMMUNITY_WORKER: Role.COMMUNITY,
    PostTitle.ZONE_HEAD: Role.COMMUNITY,
    PostTitle.GRID_HEAD: Role.GRID,
    PostTitle.GRID_WORKER: Role.GRID,
    PostTitle.BUILDING_HEAD: Role.BUILDING,
    PostTitle.UNIT_HEAD: Role.UNIT,
}


@dataclass(frozen=True)
class Grant:
    role: str
    area_id: int
    kind: str
    tree_id: int
    lft: int
    rght: int

    @property
    def is_city(self) -> bool:
        return self.kind == AreaKind.CITY

    @property
    def holds_trees(self) -> bool:
        """Whether other trees hang below this node through ``Area.upper`` (a city's
        districts, a district's streets: ``rules.UPPER_KINDS``)."""
        return self.kind in UPPER_KINDS

    def covers(self, area: Area, hung: dict[int, frozenset[int]] | None = None) -> bool:
        """Whether ``area`` lies in this grant's subtree: in its own tree's range, or (for a
        city or a district) in one of the trees ``hung`` below it (``Scope.hung_trees``)."""
        if area.tree_id == self.tree_id and self.lft <= area.lft <= self.rght:
            return True
        return self.holds_trees and area.tree_id in (hung or {}).get(self.area_id, ())


@dataclass
class Scope:
    """What one user may reach. Built once per request from one query (the departments a
    head also handles for, and the trees below a city or district, when first asked)."""

    is_admin: bool = False
    grants: list[Grant] = field(default_factory=list)
    person_id: int | None = None
    user_id: int | None = None
    _department_ids: list[int] | None = None
    areas: dict[int, Area] = field(default_factory=dict)  # the grants' nodes, as read
    _hung: dict[int, frozenset[int]] | None = None
    _city_districts: dict[int, list[int]] = field(default_factory=dict)

    @property
    def department_ids(self) -> list[int]:
        """The departments the user handles for: read the first time it is asked (one query),
        as most pages of most users never ask."""
        if self._department_ids is None:
            self._department_ids = (
                list(
                    Department.objects.filter(handlers__user_id=self.user_id).values_list(
                        "pk", flat=True
                    )
                )
                if self.user_id is not None
                else []
            )
        return self._department_ids

    @property
    def roles(self) -> set[str]:
        roles = {g.role for g in self.grants}
        if self.is_admin:
            roles.add(Role.ADMIN)
        if self.department_ids:
            roles.add(Role.DEPARTMENT)
        return roles

    @property
    def is_empty(self) -> bool:
        return not self.is_admin and not self.grants

    def area_q(self, prefix: str = "", roles: set[str] | frozenset[str] | None = None) -> Q:
        """A filter that keeps rows whose area (reached through ``prefix``) is in scope; with
        ``roles``, only the part of the scope held through one of those roles. No query, but
        for a city's or a district's grant the ids of the trees hung below it, once per
        request (``hung_trees``)."""
        if self.is_admin and (roles is None or Role.ADMIN in roles):
            return Q()
        grants = [g for g in self.grants if roles is None or g.role in roles]
        if not grants:
            return Q(pk__in=[])
        # grids.selectors builds on this module, so its helpers are imported late.
        from grids.selectors import tree_range_q

        q = Q()
        trees: set[int] = set()
        for grant in grants:
            if grant.holds_trees:  # a root: its own tree whole, and the trees below it
                trees |= {grant.tree_id, *self.hung_trees.get(grant.area_id, ())}
            else:
                q |= tree_range_q(
                    tree_id=grant.tree_id, lft=grant.lft, rght=grant.rght, prefix=prefix
                )
        if trees:
            q |= Q(**{f"{prefix}tree_id__in": sorted(trees)})
        return q

    def keyed_q(self, prefix: str = "", roles: set[str] | frozenset[str] | None = None) -> Q:
        """``area_q`` for a model that keeps its place's ancestor keys (``district_id`` …
        ``grid_id``, ``rules.ANCESTOR_KEYS``): each grant on a district, street, community
        or grid is one indexed equality, not a range over the tree joined in; a grant
        below the grid level or on a compound keeps the range (a small subtree)."""
        if self.is_admin and (roles is None or Role.ADMIN in roles):
            return Q()
        grants = [g for g in self.grants if roles is None or g.role in roles]
        if not grants:
            return Q(pk__in=[])
        from grids.selectors import tree_range_q

        by_key: dict[str, list[int]] = {}
        q = Q()
        for grant in grants:
            key = KEY_OF_KIND.get(grant.kind)
            if grant.is_city:
                q |= Q(**{f"{prefix}area_id": grant.area_id})
                by_key.setdefault("district", []).extend(
                    self._city_districts.get(grant.area_id, [])
                )
            elif key is not None:
                by_key.setdefault(key, []).append(grant.area_id)
            else:
                q |= tree_range_q(
                    tree_id=grant.tree_id, lft=grant.lft, rght=grant.rght, prefix=f"{prefix}area__"
                )
        for key, ids in by_key.items():
            q |= Q(**{f"{prefix}{key}_id__in": sorted(set(ids))})
        return q

    @property
    def hung_trees(self) -> dict[int, frozenset[int]]:
        """For each grant on a city or a district: the ids of the trees hung below it (its
        streets'; a city's districts' and theirs). One query, the first time it is asked."""
        if self._hung is None:
            from grids.selectors import hung_trees_of

            self._hung = hung_trees_of([g.area_id for g in self.grants if g.holds_trees])
        return self._hung

    def _needs_hung(self, area: Area) -> bool:
        """Whether telling the grants that cover ``area`` needs the trees hung below a city
        or district grant: only when such a grant does not hold it by range."""
        return any(
            g.holds_trees and not (g.tree_id == area.tree_id and g.lft <= area.lft <= g.rght)
            for g in self.grants
        )

    def grants_covering(self, area: Area) -> list[Grant]:
        """The grants whose subtree holds ``area``. No query, but the first time a city or
        district grant is asked about a node below it (``hung_trees``)."""
        hung = self.hung_trees if self._needs_hung(area) else None
        return [g for g in self.grants if g.covers(area, hung)]

    def top_grants(self) -> list[Grant]:
        """One grant per top node of the scope: those no other grant holds (a community
        worker who is also a unit head there has one top). No query, but ``hung_trees`` when
        a city or district grant sits beside others."""
        unique = list({g.area_id: g for g in self.grants}.values())
        holding = len(unique) > 1 and any(g.holds_trees for g in unique)
        hung = self.hung_trees if holding else None
        tops = []
        for grant in unique:
            node = Area(pk=grant.area_id, tree_id=grant.tree_id, lft=grant.lft, rght=grant.rght)
            if not any(
                other.area_id != grant.area_id and other.covers(node, hung) for other in unique
            ):
                tops.append(grant)
        return tops

    def role_for(self, area: Area) -> str | None:
        """The strongest role this user holds over ``area``; None: out of scope."""
        if self.is_admin:
            return Role.ADMIN
        best = None
        for grant in self.grants_covering(area):
            if best is None or Role.ORDER.index(grant.role) < Role.ORDER.index(best):
                best = grant.role
        return best


def scope_for(user) -> Scope:
    """The scope of ``user``, cached on the user object for the request."""
    cached = getattr(user, "_portal_scope", None)
    if cached is not None:
        return cached
    scope = Scope()
    if user.is_authenticated:
        scope.is_admin = user.is_superuser
        # Whether the person also handles for a department rides along (most do not: then
        # ``department_ids`` costs no query of its own).
        handles = Department.handlers.through.objects.filter(person_id=OuterRef("person_id"))
        posts = list(
            Post.objects.filter(person__user=user, ended_on__isnull=True)
            .select_related("area", "person")
            .annotate(handles=Exists(handles))
            .order_by("area__tree_id", "area__lft")
        )
        if posts and not any(post.handles for post in posts):
            scope._department_ids = []
        if not posts:
            # An administrator, a department handler: the person, if any, with the
            # departments handled (one row per department), in one query.
            rows = list(Person.objects.filter(user=user).annotate(department=F("departments")))
            person = rows[0] if rows else None
            Person.user.field.remote_field.set_cached_value(user, person)  # None: no person
            scope._department_ids = sorted({r.department for r in rows if r.department})
        if posts:  # the navbar's name (user.person) comes with the posts: no query of its own
            Person.user.field.remote_field.set_cached_value(user, posts[0].person)
        for post in posts:
            area = post.area
            scope.areas[area.pk] = area
            scope.person_id = post.person_id
            scope.grants.append(
                Grant(
                    role=ROLE_BY_TITLE[post.title],
                    area_id=area.pk,
                    kind=area.kind,
                    tree_id=area.tree_id,
                    lft=area.lft,
                    rght=area.rght,
                )
            )
        scope.user_id = user.pk
        cities = [g.area_id for g in scope.grants if g.is_city]
        if cities:
            for city_id, district_id in Area.objects.filter(upper_id__in=cities).values_list(
                "upper_id", "pk"
            ):
                scope._city_districts.setdefault(city_id, []).append(district_id)
    user._portal_scope = scope
    return scope
