"""Business actions on the points ledger and the moral bank.

Every change of anyone's points is one appended ``PointEntry`` and, in the same
transaction, one ``UPDATE … SET balance = balance + n`` of their ``PointBalance``: the
ledger always sums to the balance, and the balance's CheckConstraint (never below zero)
settles two redemptions at once — the second one waits for the first's row lock, sees what
is left and is refused with a clear message. Locks are always taken balance first, then the
reward item, so two redemptions never wait on each other in a circle.

The apps that do the acts award through ``points_award`` (idempotent per rule and act) and
undo through ``points_reverse``; workers award and deduct by hand (``points_adjust``),
register good deeds (``good_deed_register``), list reward items and hand them over
(``reward_item_create``, ``reward_item_update``, ``reward_redeem``).
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import gettext as _

from grids.access import scope_for
from grids.models import Area, Person, Post
from grids.rules import ANCESTOR_KEYS, AreaKind
from grids.selectors import MovedNodes, area_keys, keyed_rows_follow_moves
from grids.signals import areas_moved
from points import permissions as perm
from points.models import (
    GoodDeed,
    PointBalance,
    PointEntry,
    PointRule,
    RedemptionRequest,
    RewardItem,
)

K = PointEntry.Kind
# Kinds that carry a rule's points for one act (the once-per-act constraint's kinds).
ACT_KINDS = (K.AWARD, K.SAVING)
NO_KEYS = {f"{key}_id": None for key in ANCESTOR_KEYS}
COMMUNITY_KINDS = frozenset({AreaKind.COMMUNITY, AreaKind.VILLAGE})
MAX_MANUAL = 1000  # points one manual entry may move; a bigger one is a typing slip


class PointsError(ValidationError):
    """A refused points act, with a message the worker (or resident) can act on."""


class NotEnoughPoints(PointsError):
    pass


class OutOfStock(PointsError):
    pass


# --- the one write path -------------------------------------------------------------------


def _keys(area: Area | None) -> dict:
    return area_keys(area) if area is not None else dict(NO_KEYS)


def _balance_row(person: Person, home: Area | None, keys: dict | None = None) -> PointBalance:
    """The person's balance row, made the first time they have points: counted at their
    first current post's node (a head's unit, grid …) if they hold one, else at ``home``
    (where the act was done; a resident's household is set by ``points_home_set``)."""
    balance = PointBalance.objects.filter(person=person).first()
    if balance is not None:
        return balance
    post = (
        Post.objects.filter(person=person, ended_on__isnull=True)
        .select_related("area")
        .order_by("pk")
        .first()
    )
    if post is not None and (home is None or post.area_id != home.pk):
        home, keys = post.area, None
    if home is not None and keys is None:
        keys = _keys(home)
    try:
        with transaction.atomic():
            return PointBalance.objects.create(person=person, area=home, **(keys or NO_KEYS))
    except IntegrityError:  # made meanwhile by a concurrent first award
        return PointBalance.objects.get(person=person)


def _move(person: Person, amount: int, *, earned: int, refuse: str | None = None) -> None:
    """Add ``amount`` to the person's balance (and ``earned`` to what they earned) in one
    UPDATE. A negative amount is taken only while the balance covers it: otherwise (also
    when a concurrent redemption got there first) ``NotEnoughPoints`` with ``refuse``."""
    rows = PointBalance.objects.filter(person=person)
    if amount < 0:
        rows = rows.filter(balance__gte=-amount)
    try:
        with transaction.atomic():
            updated = rows.update(
                balance=F("balance") + amount,
                earned=F("earned") + earned,
                updated_at=timezone.now(),
            )
    except IntegrityError:  # the CheckConstraint, should a caller not have filtered
        updated = 0
    if not updated:
        raise NotEnoughPoints(refuse or _("not enough points"))


def _append(
    *,
    person: Person,
    amount: int,
    kind: str,
    area: Area | None,
    refuse: str | None = None,
    **fields,
) -> PointEntry | None:
    """Append one entry and move the balance with it, in one transaction. An act's entry
    (an award, a saving) that is already there returns None and changes nothing."""
    keys = _keys(area)
    with transaction.atomic():
        _balance_row(person, area, keys)
        entry = PointEntry(person=person, amount=amount, kind=kind, area=area, **keys, **fields)
        if kind in ACT_KINDS:
            try:
                with transaction.atomic():
                    entry.save(force_insert=True)
            except IntegrityError:  # the same act awarded meanwhile: once per act
                return None
        else:
            entry.save(force_insert=True)
        _move(person, amount, earned=0 if kind == K.REDEMPTION else amount, refuse=refuse)
        return entry


def _points_for(rule: PointRule, quantity) -> int:
    if quantity is None:
        return rule.points
    quantity = Decimal(str(quantity))
    if quantity <= 0:
        raise PointsError(_("the quantity must be more than zero"))
    return int((rule.points * quantity).to_integral_value(rounding=ROUND_HALF_UP))


@transaction.atomic
def points_award(
    *,
    person: Person,
    rule: str,
    act_key: str,
    area: Area | None = None,
    actor=None,
    note: str = "",
    quantity=None,
) -> PointEntry | None:
    """Award ``person`` the points of ``rule`` for the act ``act_key`` (e.g. ``visit:12``),
    done at ``area``. Idempotent: the same (rule, act) never awards twice — the second call,
    also a concurrent one, returns None. A rule switched off or absent awards nothing (None).
    ``quantity`` multiplies the rule's points (volunteer hours), rounded to whole points."""
    if not act_key:
        raise ValueError("an award names its act")
    found = PointRule.objects.filter(code=rule, active=True).first()
    if found is None:
        return None
    if PointEntry.objects.filter(rule=found, act_key=act_key, kind__in=ACT_KINDS).exists():
        return None
    amount = _points_for(found, quantity)
    if amount <= 0:
        return None
    return _append(
        person=person,
        amount=amount,
        kind=K.AWARD,
        area=area,
        rule=found,
        act_key=act_key,
        quantity=quantity,
        actor=_login(actor),
        reason=note[:200],
    )


@transaction.atomic
def points_reverse(*, rule: str, act_key: str, actor=None, reason: str) -> PointEntry | None:
    """Undo the points of an act (the problem reopened, the rating taken back): one
    reversing entry of the award, at the award's place. No-op (None) if there was none or
    it is reversed already. Points already spent cannot be taken back: the reversal takes
    what the balance still holds (perhaps nothing) and still marks the act undone."""
    entry = (
        PointEntry.objects.select_for_update()
        .filter(rule__code=rule, act_key=act_key, kind__in=ACT_KINDS)
        .first()
    )
    if entry is None or PointEntry.objects.filter(reverses=entry).exists():
        return None
    balance = PointBalance.objects.select_for_update().get(person_id=entry.person_id)
    take = min(entry.amount, balance.balance)
    reversal = PointEntry(
        person_id=entry.person_id,
        amount=-take,
        kind=K.REVERSAL,
        rule_id=entry.rule_id,
        act_key=entry.act_key,
        reverses=entry,
        reason=(reason or _("act undone"))[:200],
        actor=_login(actor),
        area_id=entry.area_id,
        **{f"{key}_id": getattr(entry, f"{key}_id") for key in ANCESTOR_KEYS},
    )
    try:
        with transaction.atomic():
            reversal.save(force_insert=True)
    except IntegrityError:  # reversed meanwhile (one reversal per entry)
        return None
    if take:
        _move(entry.person, -take, earned=-take)
    return reversal


def _login(actor):
    """The login recorded as who did it: a user, not the system, a reporter or a resident's
    account."""
    return actor if isinstance(actor, get_user_model()) and actor.pk is not None else None


# --- authorised acts of workers -----------------------------------------------------------


def _require(actor, area: Area | None, action: str) -> None:
    """The actor holds a role allowed ``action`` over ``area``; PermissionDenied otherwise."""
    if actor is None or area is None:
        raise PermissionDenied
    # The node's place in the tree as it is now: an instance read before the tree grew
    # carries numbers that no longer say what lies under what.
    area = Area.objects.get(pk=area.pk)
    if not perm.role_may(scope_for(actor).role_for(area), action):
        raise PermissionDenied


def person_home(person: Person) -> Area | None:
    """Where a person's points are counted: their balance row's place, or, before they have
    any, the node of their first current post (a head's unit, building or grid). Two
    queries at most."""
    home = Area.objects.filter(
        pk__in=PointBalance.objects.filter(person=person, area__isnull=False).values("area_id")
    ).first()
    if home is None:
        post = Post.objects.filter(person=person, ended_on__isnull=True).order_by("pk").first()
        home = post.area if post is not None else None
    return home


@transaction.atomic
def points_home_set(*, person: Person, area: Area) -> PointBalance:
    """Count ``person``'s points at ``area`` (a resident's household): their balance row
    made there, or moved there when it had no place or another one."""
    keys = _keys(area)
    balance = _balance_row(person, area, keys)
    if balance.area_id != area.pk:
        PointBalance.objects.filter(pk=balance.pk).update(area=area, **keys)
        balance.area = area
        for name, value in keys.items():
            setattr(balance, name, value)
    return balance


@transaction.atomic
def points_adjust(
    *, person: Person, amount: int, reason: str, actor, area: Area | None = None
) -> PointEntry:
    """A manual award (amount > 0) or deduction (< 0) with its reason, by a community worker
    or an office above over the person's home (``area`` for a person with no points yet).
    A deduction never takes the balance below zero."""
    reason = " ".join((reason or "").split())
    if not reason:
        raise PointsError({"reason": _("say why the points are given or taken")})
    if not amount:
        raise PointsError({"amount": _("give a number of points other than zero")})
    if abs(amount) > MAX_MANUAL:
        raise PointsError(
            {"amount": _("at most %(max)s points in one entry") % {"max": MAX_MANUAL}}
        )
    place = person_home(person) or area
    _require(actor, place, perm.MANUAL)
    entry = _append(
        person=person,
        amount=amount,
        kind=K.MANUAL,
        area=place,
        reason=reason[:200],
        actor=actor,
        refuse=_("%(name)s has fewer than %(points)s points")
        % {
            "name": person.name,
            "points": -amount,
        },
    )
    return entry


def _community_of(area: Area) -> Area | None:
    if area.kind in COMMUNITY_KINDS:
        return area
    community_id = area_keys(area).get("community_id")
    return Area.objects.filter(pk=community_id).first() if community_id else None


@transaction.atomic
def good_deed_register(
    *,
    person: Person,
    area: Area,
    what: str,
    done_on: dt.date,
    actor,
    hours=None,
) -> tuple[GoodDeed, PointEntry | None]:
    """储蓄登记: the community registers a good deed of ``person`` done at ``area``; it saves
    the points of the good_deed rule, or volunteer_hours × ``hours`` where hours are given."""
    what = " ".join((what or "").split())
    if not what:
        raise PointsError({"what": _("say what was done")})
    if done_on > timezone.localdate():
        raise PointsError({"done_on": _("a good deed cannot be in the future")})
    if hours is not None:
        hours = Decimal(str(hours))
        if hours <= 0 or hours > 24:
            raise PointsError({"hours": _("between 0.5 and 24 hours")})
    _require(actor, area, perm.BANK)
    rule = PointRule.objects.filter(
        code="volunteer_hours" if hours is not None else "good_deed", active=True
    ).first()
    if rule is None:
        raise PointsError(_("the good-deed rules are switched off"))
    keys = _keys(area)
    deed = GoodDeed.objects.create(
        person=person,
        area=area,
        **keys,
        what=what[:200],
        done_on=done_on,
        hours=hours,
        registered_by=actor,
    )
    _balance_row(person, area, keys)
    entry = _append(
        person=person,
        amount=_points_for(rule, hours),
        kind=K.SAVING,
        area=area,
        rule=rule,
        act_key=f"deed:{deed.pk}",
        quantity=hours,
        reason=what[:200],
        actor=actor,
    )
    return deed, entry


@transaction.atomic
def reward_item_create(
    *, community: Area, name: str, cost: int, stock: int, actor, description: str = ""
) -> RewardItem:
    """List an item or service the community offers for points."""
    if community.kind not in COMMUNITY_KINDS:
        raise PointsError({"community": _("reward items are listed by a community or village")})
    _require(actor, community, perm.BANK)
    name = " ".join((name or "").split())
    if not name:
        raise PointsError({"name": _("the name is empty")})
    if cost is None or cost <= 0:
        raise PointsError({"cost": _("the cost is at least one point")})
    if stock is None or stock < 0:
        raise PointsError({"stock": _("the stock cannot be below zero")})
    try:
        with transaction.atomic():
            return RewardItem.objects.create(
                community=community,
                name=name[:100],
                description=(description or "").strip()[:200],
                cost=cost,
                stock=stock,
            )
    except IntegrityError:
        raise PointsError(
            {"name": _("this community already lists an item of that name")}
        ) from None


@transaction.atomic
def reward_item_update(
    *,
    item: RewardItem,
    actor,
    stock: int | None = None,
    cost: int | None = None,
    active: bool | None = None,
) -> RewardItem:
    """Set an item's stock (counted on the shelf), cost or whether it is offered."""
    _require(actor, item.community, perm.BANK)
    changes = {}
    if stock is not None:
        if stock < 0:
            raise PointsError({"stock": _("the stock cannot be below zero")})
        changes["stock"] = stock
    if cost is not None:
        if cost <= 0:
            raise PointsError({"cost": _("the cost is at least one point")})
        changes["cost"] = cost
    if active is not None:
        changes["active"] = active
    if changes:
        RewardItem.objects.filter(pk=item.pk).update(**changes)
        for name, value in changes.items():
            setattr(item, name, value)
    return item


@transaction.atomic
def reward_redeem(*, item: RewardItem, person: Person, actor, quantity: int = 1) -> PointEntry:
    """兑换: hand ``quantity`` of ``item`` to ``person`` for its points. The balance and the
    stock are both taken in this one transaction, each by an UPDATE that only takes what is
    there: two redemptions of the last item, or of more than the balance, at once — one wins,
    the other is refused (``OutOfStock``, ``NotEnoughPoints``) and nothing goes negative."""
    if quantity < 1:
        raise PointsError({"quantity": _("at least one")})
    _require(actor, item.community, perm.BANK)
    home = person_home(person)
    community_id = area_keys(home).get("community_id") if home is not None else None
    if home is None or (home.pk != item.community_id and community_id != item.community_id):
        raise PointsError(
            _("%(name)s saves points in another community and redeems them there")
            % {"name": person.name}
        )
    fresh = RewardItem.objects.filter(pk=item.pk).values("active", "cost").first()
    if not fresh or not fresh["active"]:
        raise PointsError(_("this item is no longer offered"))
    cost = fresh["cost"] * quantity
    entry = _append(
        person=person,
        amount=-cost,
        kind=K.REDEMPTION,
        area=home,
        item=item,
        quantity=quantity,
        reason=item.name,
        actor=actor,
        refuse=_("%(name)s has fewer than the %(points)s points %(item)s costs")
        % {"name": person.name, "points": cost, "item": item.name},
    )
    taken = RewardItem.objects.filter(pk=item.pk, stock__gte=quantity).update(
        stock=F("stock") - quantity
    )
    if not taken:
        raise OutOfStock(_("%(item)s is out of stock") % {"item": item.name})
    item.stock = RewardItem.objects.values_list("stock", flat=True).get(pk=item.pk)
    return entry


# --- a resident's request, handed over or declined by the community ----------------------

R = RedemptionRequest.State


@transaction.atomic
def redemption_request(*, person: Person, item: RewardItem) -> RedemptionRequest:
    """A resident asks for ``item`` from the resident pages. Refused at once (with what to
    do) for an item not offered, out of stock, of another community, or costing more than
    the balance; the points are taken only when a worker hands it over."""
    fresh = RewardItem.objects.filter(pk=item.pk).values("active", "stock", "cost").first()
    if not fresh or not fresh["active"]:
        raise PointsError(_("this item is no longer offered"))
    if fresh["stock"] < 1:
        raise OutOfStock(_("%(item)s is out of stock") % {"item": item.name})
    home = person_home(person)
    community_id = area_keys(home).get("community_id") if home is not None else None
    if home is None or item.community_id not in (home.pk, community_id):
        raise PointsError(_("this item is offered by another community"))
    balance = PointBalance.objects.filter(person=person).values_list("balance", flat=True).first()
    if (balance or 0) < fresh["cost"]:
        raise NotEnoughPoints(
            _("%(item)s costs %(points)s points; you have %(balance)s")
            % {"item": item.name, "points": fresh["cost"], "balance": balance or 0}
        )
    try:
        with transaction.atomic():
            return RedemptionRequest.objects.create(person=person, item=item)
    except IntegrityError:
        raise PointsError(_("you have already asked for this item")) from None


def _open_request(request: RedemptionRequest) -> RedemptionRequest:
    locked = (
        RedemptionRequest.objects.select_for_update()
        .select_related("item", "person")
        .get(pk=request.pk)
    )
    if locked.state != R.REQUESTED:
        raise PointsError(_("this request was already answered"))
    return locked


@transaction.atomic
def redemption_request_hand_over(*, request: RedemptionRequest, actor) -> RedemptionRequest:
    """The worker hands the item over: the redemption (balance and stock taken, refused as
    ``reward_redeem`` refuses) and the request answered, in one transaction."""
    locked = _open_request(request)
    entry = reward_redeem(item=locked.item, person=locked.person, actor=actor)
    RedemptionRequest.objects.filter(pk=locked.pk).update(
        state=R.HANDED_OVER, entry=entry, decided_by=actor, decided_at=timezone.now()
    )
    locked.refresh_from_db()
    return locked


@transaction.atomic
def redemption_request_decline(
    *, request: RedemptionRequest, actor, note: str
) -> RedemptionRequest:
    """The worker declines, saying why (out of stock until next month, come in person …)."""
    note = " ".join((note or "").split())
    if not note:
        raise PointsError({"note": _("say why, for the resident")})
    locked = _open_request(request)
    _require(actor, locked.item.community, perm.BANK)
    RedemptionRequest.objects.filter(pk=locked.pk).update(
        state=R.DECLINED, note=note[:200], decided_by=actor, decided_at=timezone.now()
    )
    locked.refresh_from_db()
    return locked


# --- whom the points are for ---------------------------------------------------------------

# How a worker names the person a good deed is saved for: by mobile number. The apps above
# add their finders (residents: a resident in the worker's scope, linked to their person on
# the way, ``residents.services.resident_person_by_phone``); the people already counted in
# the worker's scope are found without them.
PERSON_FINDERS: list = []


def points_person_find(*, user, phone: str) -> Person | None:
    """The person with mobile ``phone`` a worker may save points for, or None."""
    from grids.validators import normalize_phone
    from points.selectors import balances_visible_to

    phone = normalize_phone(phone or "")
    if not phone:
        return None
    for finder in PERSON_FINDERS:
        found = finder(user=user, phone=phone)
        if found is not None:
            return found
    row = balances_visible_to(user).select_related("person").filter(person__phone=phone).first()
    return row.person if row else None


# --- the tree changes under the ledger ----------------------------------------------------


@receiver(areas_moved, dispatch_uid="points.entries_follow_moves")
def points_follow_moves(sender=None, *, moved: MovedNodes, **kwargs) -> int:
    """Nodes moved (``grids.signals.areas_moved``, inside the move's transaction): entries,
    balances and good deeds under them take the ancestor keys of their new place."""
    if not moved.areas:
        return 0
    return sum(
        keyed_rows_follow_moves(rows, moved)
        for rows in (
            PointEntry.objects.filter(~Q(area=None)),
            PointBalance.objects.filter(~Q(area=None)),
            GoodDeed.objects.all(),
        )
    )
