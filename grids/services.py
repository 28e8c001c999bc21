"""Business actions on the area tree, the heads and the Party bodies.

Views, admin, imports, commands and tasks call these; none of them re-implements them.
Every tree write runs under one advisory lock, because nested-set numbering read by one
writer must not be shifted under it by another.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from grids import rules
from grids.models import Area, ImportRun, PartyOrg, Person, Post
from grids.rules import AreaKind, GridType
from grids.selectors import MovedNodes
from grids.signals import areas_moved
from grids.validators import (
    normalize_phone,
    validate_area_code,
    validate_phone,
    validate_post_start,
)

# Arbitrary but fixed: the key of the PostgreSQL advisory lock that serialises tree writes.
AREA_TREE_LOCK = 71_530_001
PARTY_TREE_LOCK = 71_530_002


def lock_tree(key: int = AREA_TREE_LOCK) -> None:
    """Serialise writers of a nested-set tree until the transaction ends.

    SQLite needs nothing: the project opens its transactions IMMEDIATE, one writer at a time.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])


def _check_parent(kind: str, parent: Area | None) -> None:
    message = rules.parent_kind_error(kind, parent.kind if parent else None)
    if message:
        raise ValidationError({"parent": message})


def _place(area: Area, parent: Area | None) -> None:
    """Set the MPTT parent or the cross-tree ``upper`` link, as the kind requires."""
    if area.kind in rules.TREE_ROOT_KINDS:
        area.parent = None
        area.upper = parent
    else:
        area.parent = parent
        area.upper = None


def _grid_type_for(kind: str, grid_type: str) -> str:
    if kind == AreaKind.GRID:
        return grid_type or GridType.BASIC
    if message := rules.grid_type_error(kind, grid_type):
        raise ValidationError({"grid_type": message})
    return ""


def area_name_error(name: str) -> str | None:
    """Why ``name`` (already stripped) cannot name an area, or None. The area import checks
    its rows with the same function."""
    if not name:
        return _("the name is empty")
    limit = Area._meta.get_field("name").max_length
    if len(name) > limit:
        return _("the name is longer than %(max)s characters") % {"max": limit}
    return None


@transaction.atomic
def area_create(
    *,
    code: str,
    name: str,
    kind: str,
    parent: Area | None = None,
    grid_type: str = "",
    households: int = 0,
) -> Area:
    validate_area_code(code)
    if message := area_name_error(name.strip()):
        raise ValidationError({"name": message})
    lock_tree()
    if parent is not None:
        parent.refresh_from_db()  # numbering read under the lock, not before it
    _check_parent(kind, parent)
    if Area.objects.filter(code=code).exists():
        raise ValidationError({"code": _("code “%(code)s” is taken") % {"code": code}})
    area = Area(
        code=code,
        name=name.strip(),
        kind=kind,
        grid_type=_grid_type_for(kind, grid_type),
        households=households,
    )
    _place(area, parent)
    area.save()  # django-mptt appends it as the last child: only this street is shifted
    return area


@transaction.atomic
def area_update(
    *,
    area: Area,
    name: str | None = None,
    grid_type: str | None = None,
    households: int | None = None,
) -> Area:
    """Change what a node is called and counts; where it sits is ``area_move``'s business."""
    fields = []
    if name is not None:
        if message := area_name_error(name.strip()):
            raise ValidationError({"name": message})
        area.name = name.strip()
        fields.append("name")
    if grid_type is not None:
        area.grid_type = _grid_type_for(area.kind, grid_type)
        fields.append("grid_type")
    if households is not None:
        area.households = households
        fields.append("households")
    if fields:
        area.updated_at = timezone.now()
        area.save(update_fields=[*fields, "updated_at"])
    return area


@transaction.atomic
def area_move(*, area: Area, parent: Area | None) -> Area:
    lock_tree()
    area.refresh_from_db()
    if parent is not None:
        parent.refresh_from_db()
        if parent.pk == area.pk or (
            parent.tree_id == area.tree_id and area.lft <= parent.lft <= area.rght
        ):
            raise ValidationError(
                {"parent": _("a node cannot move under itself or one of its descendants")}
            )
    _check_parent(area.kind, parent)
    if area.kind in rules.TREE_ROOT_KINDS:
        # A street (or district) is the root of its own tree: it moves by its link to the
        # node above, and no nested-set number changes anywhere.
        area.upper = parent
        area.updated_at = timezone.now()
        area.save(update_fields=["upper", "updated_at"])
    else:
        area.move_to(parent, "last-child")  # renumbers the one or two streets involved
        Area.objects.filter(pk=area.pk).update(updated_at=timezone.now())
        area.refresh_from_db()
    # Rows that copy their place's ancestors (problems, households) follow, in this
    # transaction.
    areas_moved.send(sender=Area, moved=MovedNodes([area.pk]))
    return area


def person_get_or_create(*, name: str, phone: str) -> Person:
    phone = normalize_phone(phone)
    validate_phone(phone)
    person, created = Person.objects.get_or_create(phone=phone, defaults={"name": name})
    if not created and person.name != name:
        person.name = name
        person.save(update_fields=["name"])
    return person


@transaction.atomic
def post_assign(
    *,
    area: Area,
    title: str,
    person: Person,
    is_deputy: bool = False,
    is_public: bool = True,
    started_on: dt.date | None = None,
) -> Post:
    """Put ``person`` in a post. A new principal ends the current one's post: history stays."""
    message = rules.title_kind_error(title, area.kind)
    if message:
        raise ValidationError({"title": message})
    started_on = started_on or timezone.localdate()
    try:
        validate_post_start(started_on)
    except ValidationError as exc:
        raise ValidationError({"started_on": exc.messages}) from None
    current = Post.objects.select_for_update().filter(area=area, title=title, ended_on__isnull=True)
    hand_over = post_hand_over(
        current=list(current), person_id=person.pk, is_deputy=is_deputy, started_on=started_on
    )
    for previous, ended_on in hand_over.ends:
        post_end(post=previous, ended_on=ended_on)
    same = hand_over.same
    if same is not None:
        if (same.is_deputy, same.is_public) != (is_deputy, is_public):
            same.is_deputy, same.is_public = is_deputy, is_public
            same.save(update_fields=["is_deputy", "is_public"])
        return same
    return Post.objects.create(
        area=area,
        title=title,
        person=person,
        is_deputy=is_deputy,
        is_public=is_public,
        started_on=started_on,
    )


@dataclass(frozen=True)
class HandOver:
    """What giving a post changes among the posts of its area and title still held."""

    ends: list[tuple[Post, dt.date]]  # the posts that end, each with its last day
    same: Post | None  # the person's own current post there: it is kept, flags and all


def post_hand_over(
    *, current: Iterable[Post], person_id: int | None, is_deputy: bool, started_on: dt.date
) -> HandOver:
    """The rule of a hand-over, as data (nothing is read or written): ``current`` are the
    posts of one area and title still held, and a person (``person_id`` None: one not yet
    saved, who holds nothing) takes the post from ``started_on``.

    A new principal, or a deputy promoted to principal, ends every other principal's post
    on the day the new one starts (never before the old one started); deputies stay. The
    person's own current post, if any, is kept rather than a second one created.
    ``post_assign`` applies this to the database, the heads import to a whole file."""
    current = list(current)
    ends = []
    if not is_deputy:
        ends = [
            (post, max(started_on, post.started_on))
            for post in current
            if not post.is_deputy and post.person_id != person_id
        ]
    same = None
    if person_id is not None:
        same = next((post for post in current if post.person_id == person_id), None)
    return HandOver(ends=ends, same=same)


def post_end(*, post: Post, ended_on: dt.date | None = None) -> Post:
    if post.ended_on is not None:
        raise ValidationError(_("this post has already ended"))
    ended_on = ended_on or timezone.localdate()
    if ended_on < post.started_on:
        raise ValidationError({"ended_on": _("a post cannot end before it started")})
    post.ended_on = ended_on
    post.save(update_fields=["ended_on"])
    return post


@transaction.atomic
def party_org_create(
    *,
    name: str,
    kind: str,
    area: Area,
    parent: PartyOrg | None = None,
    secretary: Person | None = None,
) -> PartyOrg:
    message = rules.party_org_error(kind, parent.kind if parent else None, area.kind)
    if message:
        raise ValidationError({"kind": message})
    if parent is not None and not (
        parent.area.tree_id == area.tree_id and parent.area.lft < area.lft < parent.area.rght
    ):
        raise ValidationError(
            {"parent": _("a Party body's area must lie inside its parent body's area")}
        )
    lock_tree(PARTY_TREE_LOCK)
    if parent is not None:
        parent.refresh_from_db()
    org = PartyOrg(name=name, kind=kind, area=area, parent=parent, secretary=secretary)
    org.full_clean(exclude=["parent"])
    org.save()
    return org


@transaction.atomic
def party_org_update(*, org: PartyOrg, name: str, secretary: Person | None) -> PartyOrg:
    """Rename a Party body or change its secretary. Its kind, area and parent stay: they
    place it in the tree."""
    name = name.strip()
    if not name:
        raise ValidationError({"name": _("the name is empty")})
    org.name, org.secretary = name, secretary
    org.full_clean(exclude=["parent", "area", "kind"])
    org.save(update_fields=["name", "secretary"])
    return org


def import_run_record(*, target: str, report, source: str, user) -> ImportRun:
    """Append the record of a written import (dry runs leave none)."""
    return ImportRun.objects.create(
        target=target,
        source=source[:255],
        user=user,
        rows=report.rows,
        created=report.created,
        updated=report.updated,
        unchanged=report.unchanged,
        seconds=report.seconds,
    )
