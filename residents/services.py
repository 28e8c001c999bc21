"""Business actions on households, residents, visits and personal data."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import gettext as _

from core.ratelimit import rate_limit_take
from grids.access import scope_for
from grids.models import Area, Person
from grids.selectors import MovedNodes, area_keys, keyed_rows_follow_moves
from grids.signals import areas_moved
from grids.validators import normalize_phone, validate_mobile
from points.services import PERSON_FINDERS, points_award, points_home_set
from residents.identity import (
    id_birth_date,
    id_gender,
    normalize_id_number,
    validate_id_number,
)
from residents.models import (
    HOUSEHOLD_AREA_KINDS,
    AccessLog,
    CareTag,
    Household,
    Resident,
    Visit,
)
from residents.permissions import REVEAL, role_may
from residents.selectors import residents_visible_to


def _checked_mobile(phone: str) -> str:
    phone = normalize_phone(phone)
    if phone:
        try:
            validate_mobile(phone)
        except ValidationError as exc:
            raise ValidationError({"phone": exc.messages}) from None
    return phone


def _check_household_area(area: Area) -> None:
    if area.kind not in HOUSEHOLD_AREA_KINDS:
        raise ValidationError({"area": _("a household belongs to a unit, a building or a grid")})


@transaction.atomic
def household_create(
    *, area: Area, door: str, address: str = "", in_online_group: bool = False
) -> Household:
    _check_household_area(area)
    door = door.strip()
    if not door:
        raise ValidationError({"door": _("the door number is empty")})
    try:
        with transaction.atomic():
            return Household.objects.create(
                area=area,
                **area_keys(area),
                door=door,
                address=address.strip(),
                in_online_group=in_online_group,
            )
    except IntegrityError:  # the unique (area, door) constraint, also under a race
        raise ValidationError({"door": _("this door number is already registered here")}) from None


@transaction.atomic
def household_update(
    *, household: Household, address: str | None = None, in_online_group: bool | None = None
) -> Household:
    fields = []
    if address is not None:
        household.address = address.strip()
        fields.append("address")
    if in_online_group is not None:
        household.in_online_group = in_online_group
        fields.append("in_online_group")
    if fields:
        household.updated_at = timezone.now()
        household.save(update_fields=[*fields, "updated_at"])
    return household


def resident_fields_check(
    *, id_number: str, gender: str | None, birth_date: dt.date | None
) -> tuple[str, str, dt.date]:
    """Validate an ID number and the gender and birth date given with it (derived if absent).

    Returns the normalised (id_number, gender, birth_date); raises ValidationError keyed by
    field."""
    id_number = normalize_id_number(id_number)
    try:
        validate_id_number(id_number)
    except ValidationError as exc:
        raise ValidationError({"id_number": exc.messages}) from None
    derived_gender, derived_birth = id_gender(id_number), id_birth_date(id_number)
    if gender and gender != derived_gender:
        raise ValidationError({"gender": _("the gender does not match the ID number")})
    if birth_date and birth_date != derived_birth:
        raise ValidationError({"birth_date": _("the birth date does not match the ID number")})
    return id_number, derived_gender, derived_birth


@transaction.atomic
def resident_create(
    *,
    household: Household,
    name: str,
    id_number: str,
    gender: str | None = None,
    birth_date: dt.date | None = None,
    phone: str = "",
    is_householder: bool = False,
    care_tags: list[CareTag] | None = None,
) -> Resident:
    if not name.strip():
        raise ValidationError({"name": _("the name is empty")})
    id_number, gender, birth_date = resident_fields_check(
        id_number=id_number, gender=gender, birth_date=birth_date
    )
    phone = _checked_mobile(phone)
    try:
        with transaction.atomic():
            resident = Resident.objects.create(
                household=household,
                name=name.strip(),
                id_number=id_number,
                gender=gender,
                birth_date=birth_date,
                phone=phone,
                is_householder=is_householder,
            )
    except IntegrityError:  # the unique ID number, also under a race
        raise ValidationError({"id_number": _("this ID number is already registered")}) from None
    if care_tags:
        resident.care_tags.set(care_tags)
    return resident


@transaction.atomic
def resident_update(
    *,
    resident: Resident,
    name: str | None = None,
    phone: str | None = None,
    is_householder: bool | None = None,
    care_tags: list[CareTag] | None = None,
) -> Resident:
    """Change what a worker may correct. The ID number (and the gender and birth date it
    carries) is fixed: a wrong one is a new registration."""
    fields = []
    if name is not None:
        if not name.strip():
            raise ValidationError({"name": _("the name is empty")})
        resident.name = name.strip()
        fields.append("name")
    if phone is not None:
        resident.phone = _checked_mobile(phone)
        fields.append("phone")
    if is_householder is not None:
        resident.is_householder = is_householder
        fields.append("is_householder")
    if fields:
        resident.updated_at = timezone.now()
        resident.save(update_fields=[*fields, "updated_at"])
    if care_tags is not None:
        resident.care_tags.set(care_tags)
    return resident


@transaction.atomic
def visit_log(
    *,
    household: Household,
    visitor: Person,
    channel: str = Visit.Channel.DOOR_KNOCK,
    findings: str = "",
    needs_follow_up: bool = False,
    visited_at: dt.datetime | None = None,
) -> Visit:
    visited_at = visited_at or timezone.now()
    if visited_at > timezone.now() + dt.timedelta(minutes=5):
        raise ValidationError({"visited_at": _("a visit cannot be in the future")})
    visit = Visit.objects.create(
        household=household,
        visitor=visitor,
        channel=channel,
        findings=findings.strip(),
        needs_follow_up=needs_follow_up,
        visited_at=visited_at,
    )
    points_award(
        person=visitor, rule="visit_logged", act_key=visit_act_key(visit), area=household.area
    )
    return visit


def visit_act_key(visit: Visit) -> str:
    """What a visit earns points for: one visitor at one household on one day, so a form
    sent twice or a day's visits logged one by one earn visit_logged once."""
    day = timezone.localdate(visit.visited_at).isoformat()
    return f"visit:{visit.visitor_id}:{visit.household_id}:{day}"


@transaction.atomic
def resident_person_ensure(*, resident: Resident) -> Person:
    """The ``grids.Person`` a resident earns points through (and claims wishes, attends
    meetings as): theirs if linked; else the person already holding their mobile number
    (Person.phone is unique), unless another resident is linked to them; else a new one.
    Their points are counted at their household."""
    given = resident
    resident = Resident.objects.select_for_update().select_related("household").get(pk=given.pk)
    person = resident.person
    if person is None:
        if resident.phone:
            person = Person.objects.filter(phone=resident.phone, resident__isnull=True).first()
        if person is None:
            taken = bool(resident.phone) and Person.objects.filter(phone=resident.phone).exists()
            person = Person.objects.create(
                name=resident.name, phone="" if taken else resident.phone
            )
        Resident.objects.filter(pk=resident.pk).update(person=person, updated_at=timezone.now())
    given.person = person
    # A resident's points are counted at their household; a head's stay at their post (the
    # workers over that post manage them), wherever the head lives.
    if not person.posts.filter(ended_on__isnull=True).exists():
        points_home_set(person=person, area=resident.household.area)
    return person


def resident_person_by_phone(*, user, phone: str) -> Person | None:
    """The person of the resident in ``user``'s scope with mobile ``phone`` (linked on the way),
    for the moral bank's good-deed form (``points.services.points_person_find``)."""
    resident = residents_visible_to(user).filter(phone=phone).order_by("pk").first()
    return resident_person_ensure(resident=resident) if resident is not None else None


PERSON_FINDERS.append(resident_person_by_phone)


@transaction.atomic
def access_log_record(
    *,
    viewer,
    field: str,
    resident: Resident | None = None,
    link: Callable[[AccessLog], object] | None = None,
    ip: str | None = None,
    user_agent: str = "",
    scope: str = "",
    rows: int | None = None,
) -> AccessLog:
    """Write down one look at personal data: who, whose, which field, when and from where --
    never the value. Every reveal, every search by a full ID number and every export of
    residents (``scope``: what it covered; ``rows``: how many) goes through here.

    Whose: ``resident``, and/or what an app above this one owns (a problem whose reporter's
    phone or description was revealed): ``link`` is called with the new row, in the same
    transaction, and writes that app's row naming it (``issues.TicketAccess``). A look that
    names neither, and is no search, is refused."""
    whose_not_named = (AccessLog.Field.ID_SEARCH, AccessLog.Field.EXPORT)
    if resident is None and link is None and field not in whose_not_named:
        raise ValueError("an access log row names whose data was seen: a resident or a link")
    log = AccessLog.objects.create(
        viewer=viewer,
        resident=resident,
        field=field,
        ip=ip or None,
        user_agent=(user_agent or "")[:200],
        scope=scope[: AccessLog._meta.get_field("scope").max_length],
        rows=rows,
    )
    if link is not None:
        link(log)
    return log


def resident_export_record(
    *, viewer, scope: str, rows: int, ip: str | None = None, user_agent: str = ""
) -> AccessLog:
    """Write down one export of residents, as a reveal is: who, which scope and filters
    (``resident_export_scope``), how many rows, when and from where."""
    return access_log_record(
        viewer=viewer,
        field=AccessLog.Field.EXPORT,
        scope=scope,
        rows=rows,
        ip=ip,
        user_agent=user_agent,
    )


def resident_export_scope(user, *, area_code: str = "", tag=None, searched: bool = False) -> str:
    """What an export covered, for its log row: the places of ``user``'s grants (every place
    for an admin; ``--all`` on the command line: ``user`` None), then the filters -- a place,
    a care tag, whether a search narrowed it (never the text searched for)."""
    if user is None:
        parts = ["all (command line)"]
    else:
        scope = scope_for(user)
        if scope.is_admin:
            parts = ["all (admin)"]
        else:
            tops = Area.objects.filter(pk__in=[g.area_id for g in scope.top_grants()])
            places = tops.order_by("tree_id", "lft").values_list("name", "code")
            parts = ["scope " + ", ".join(f"{name} ({code})" for name, code in places)]
    if area_code:
        parts.append(f"area {area_code}")
    if tag is not None:
        parts.append(f"care tag {tag.name}")
    if searched:
        parts.append("search")
    return "; ".join(parts)


REVEALABLE_FIELDS = frozenset({AccessLog.Field.ID_NUMBER, AccessLog.Field.PHONE})


@transaction.atomic
def personal_field_reveal(
    *, user, resident: Resident, field: str, ip: str | None = None, user_agent: str = ""
) -> str:
    """Return the full value of one personal field and log who saw it. The log row holds who,
    whose, which field, when and from where — never the value."""
    if field not in REVEALABLE_FIELDS:
        raise ValidationError(_("unknown field"))
    if not role_may(scope_for(user).role_for(resident.household.area), REVEAL):
        raise PermissionDenied
    access_log_record(viewer=user, resident=resident, field=field, ip=ip, user_agent=user_agent)
    return getattr(resident, field)


# A worker looks up a few people a day by the number on a card; a probe confirming guesses
# needs many tries. Offices share one address behind their router, so it gets more.
FIND_PER_USER = 10
FIND_PER_ADDRESS = 30
FIND_WINDOW = 10 * 60


def find_limit_message() -> str:
    return _(
        "Too many searches by full ID number: at most %(count)s in %(minutes)s minutes. "
        "Try again later, or search by name."
    ) % {"count": FIND_PER_USER, "minutes": FIND_WINDOW // 60}


@transaction.atomic
def resident_find_by_id_number(
    *, user, id_number: str, ip: str | None = None, user_agent: str = ""
) -> Resident | None:
    """The resident in ``user``'s scope with this full ID number, or None. Each search
    counts against ``FIND_PER_USER`` (and ``FIND_PER_ADDRESS`` for ``ip``) per
    ``FIND_WINDOW`` seconds -- ``core.ratelimit.RateLimited`` once used up, before
    searching -- and is logged like a reveal: who, whom it found (or no one), when, from
    where; never the number searched for."""
    id_number = normalize_id_number(id_number)
    if not id_number:
        raise ValidationError({"id_number": _("Type the full ID number to find.")})
    limits = {f"user:{user.pk}": FIND_PER_USER}
    if ip:
        limits[f"ip:{ip}"] = FIND_PER_ADDRESS
    rate_limit_take(action="resident-find", limits=limits, window=FIND_WINDOW)
    resident = residents_visible_to(user).filter(id_number=id_number).first()
    access_log_record(
        viewer=user,
        resident=resident,
        field=AccessLog.Field.ID_SEARCH,
        ip=ip,
        user_agent=user_agent,
    )
    return resident


# --- the tree changes under the households ---------------------------------------------------


@receiver(areas_moved, dispatch_uid="residents.households_follow_moves")
def households_follow_moves(sender=None, *, moved: MovedNodes, **kwargs) -> int:
    """Nodes moved (``grids.signals.areas_moved``, inside the move's transaction): the
    households under them take the ancestor keys of their new place. Set-based."""
    return keyed_rows_follow_moves(Household.objects.all(), moved)
