"""The acts on a micro-wish. Every change goes through ``wish_step``: the wish locked, the
move checked against ``rules.TRANSITIONS``, the fields saved with ``update_fields``, one
``WishEvent`` appended. The resident is told (SMS through the outbox, after commit) whenever
the wish list sorts their wish and when it is fulfilled; points are awarded once, when the
fulfilment is confirmed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from core.images import image_clean
from core.models import TextMessage
from core.sms import sms_number_or_none, sms_queue
from deliberation import services as proposal_services
from deliberation.models import Proposal
from grids.access import scope_for
from grids.models import Area, Person
from grids.selectors import area_keys
from points import services as points
from residents.models import ResidentAccount
from wishes import rules, selectors
from wishes.models import Outcome, State, Wish, WishEvent, WishPhoto
from wishes.selectors import person_may_claim

E = WishEvent.Kind
PHOTO_MAX_BYTES = 5 * 1024 * 1024
TITLE_MAX = 60


class WishError(ValidationError):
    """A step the wish list does not allow now, with a message for whoever tried it."""


class AlreadyClaimed(WishError):
    """Someone else claimed the wish first."""


def confirm_days() -> int:
    return settings.WISHES_CONFIRM_DAYS


def confirm_window_ends(wish: Wish) -> dt.datetime | None:
    """When a worker may confirm a fulfilled wish the resident has not confirmed."""
    if wish.fulfilled_at is None:
        return None
    return wish.fulfilled_at + dt.timedelta(days=confirm_days())


def photo_clean(upload):
    if upload.size > PHOTO_MAX_BYTES:
        raise ValidationError({"photo": _("a photo is larger than 5 MB")})
    try:
        return image_clean(upload)
    except ValidationError as exc:
        raise ValidationError({"photo": exc.messages}) from None


def _photo_store(wish: Wish, clean, role: str) -> None:
    WishPhoto.objects.create(
        wish=wish,
        role=role,
        kind=clean.kind,
        image=ContentFile(clean.content, name=f"photo.{clean.extension}"),
    )


def _sms_text(template: str, **values) -> str:
    """An SMS to a wish's resident, in the portal's language whatever the language of whoever
    acted (a worker reading English still texts the resident in Chinese). ``template`` is a
    msgid marked with ``gettext_noop``; the values (the wish's title, a worker's note) are
    people's own words and stay as written."""
    with translation.override(settings.LANGUAGE_CODE):
        return _(template) % values


def _tell(wish: Wish, text: str) -> bool:
    """The wish's resident told ``text`` by SMS (after commit), when a mobile number is known;
    the resident pages show ``told`` and the steps in any case."""
    phone = ""
    if wish.account_id:
        phone = wish.account.phone
    elif wish.for_phone:
        phone = wish.for_phone
    elif wish.resident_id:
        phone = wish.resident.phone
    number = sms_number_or_none(phone)
    if number is None:
        return False
    sms_queue(number, text, purpose=TextMessage.Purpose.REPORTER)
    return True


@transaction.atomic
def wish_step(
    *,
    wish: Wish,
    step: str,
    actor=None,
    person: Person | None = None,
    account: ResidentAccount | None = None,
    note: str = "",
    fields: dict | None = None,
    check: Callable[[Wish], None] | None = None,
) -> Wish:
    """The one write path of a wish: lock it, check the move (and ``check``, which raises
    ``WishError``, on the locked row), set ``fields``, append the step. Returns the wish as
    saved."""
    locked = (
        Wish.objects.select_for_update(of=("self",))
        .select_related("account", "resident", "area")
        .get(pk=wish.pk)
    )
    target = rules.STEP_TO[step]
    if target not in rules.TRANSITIONS[locked.state]:
        if step == E.CLAIM and locked.state == State.CLAIMED:
            raise AlreadyClaimed(_("This wish has already been claimed by someone else."))
        raise WishError(
            _("This wish is %(state)s: it cannot be %(step)s now.")
            % {"state": locked.get_state_display(), "step": E(step).label}
        )
    if check is not None:
        check(locked)
    now = timezone.now()
    old = locked.state
    changed = {"state": target, "updated_at": now, **(fields or {})}
    for name, value in changed.items():
        setattr(locked, name, value)
    locked.save(update_fields=list(changed))
    WishEvent.objects.create(
        wish=locked,
        kind=step,
        old_state=old,
        new_state=target,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        person=person,
        account=account,
        at=now,
        note=note,
    )
    return locked


# --- posting ---------------------------------------------------------------------------------


def _check_title(title: str) -> str:
    title = " ".join((title or "").split())
    if not title:
        raise ValidationError({"title": _("Say what you wish for.")})
    return title[:TITLE_MAX]


@transaction.atomic
def wish_post(
    *,
    area: Area,
    title: str,
    text: str = "",
    where: str = "",
    wanted_by: dt.date | None = None,
    photo=None,
    account: ResidentAccount | None = None,
    actor=None,
    for_name: str = "",
    for_phone: str = "",
    resident=None,
) -> Wish:
    """A wish posted on ``area``: by a signed-in resident (``account``), or by a worker
    (``actor``, who must hold a post over ``area`` that may post for residents) for
    ``resident`` on the register or for someone named ``for_name`` / ``for_phone``."""
    title = _check_title(title)
    if wanted_by is not None and wanted_by < timezone.localdate():
        raise ValidationError({"wanted_by": _("The date has already passed.")})
    if account is None:
        if actor is None or not rules.role_may(scope_for(actor).role_for(area), rules.POST_FOR):
            raise WishError(_("You may not post wishes for residents of this place."))
        if resident is not None:
            for_name = for_name or resident.name
            for_phone = for_phone or resident.phone
        if not (for_name.strip() or for_phone.strip()):
            raise ValidationError({"for_name": _("Say whose wish it is.")})
        if for_phone and sms_number_or_none(for_phone) is None:
            raise ValidationError({"for_phone": _("Enter a mainland mobile number.")})
        # Stored as the 11 digits a resident signs in with ("+86 138 0013 8000" typed).
        for_phone = sms_number_or_none(for_phone)[-11:] if for_phone else ""
    clean = photo_clean(photo) if photo else None
    wish = Wish.objects.create(
        area=area,
        **area_keys(area),
        account=account,
        resident=account.resident if account is not None else resident,
        for_name=for_name.strip(),
        for_phone=for_phone.strip() if account is None else "",
        posted_by=actor if account is None else None,
        title=title,
        text=text.strip(),
        where=where.strip(),
        wanted_by=wanted_by,
    )
    if clean is not None:
        _photo_store(wish, clean, WishPhoto.Role.WISH)
    WishEvent.objects.create(
        wish=wish,
        kind=E.POST,
        new_state=State.OPEN,
        actor=actor if account is None else None,
        account=account,
        at=wish.created_at,
    )
    return wish


# --- the claimer's steps ---------------------------------------------------------------------


def _check_near(person: Person):
    def check(wish: Wish) -> None:
        if wish.resident_id and wish.resident.person_id == person.pk:
            raise WishError(_("You cannot claim your own wish."))
        if not person_may_claim(person, wish):
            raise WishError(_("This wish is not near you: you cannot claim it."))

    return check


def _check_claimer(person: Person):
    def check(wish: Wish) -> None:
        if wish.claimer_id != person.pk:
            raise WishError(_("You have not claimed this wish."))

    return check


def wish_claim(*, wish: Wish, person: Person, actor=None, account=None) -> Wish:
    """``person`` (a Party member or volunteer near the wish) claims it. One claimer at a
    time: of two claims at once, the second finds it claimed (``AlreadyClaimed``)."""
    now = timezone.now()
    return wish_step(
        wish=wish,
        step=E.CLAIM,
        actor=actor,
        person=person,
        account=account,
        check=_check_near(person),
        fields={"claimer": person, "claimed_at": wish.claimed_at or now},
    )


def wish_hand_back(*, wish: Wish, person: Person, reason: str, actor=None, account=None) -> Wish:
    """The claimer gives the wish back to the open list, saying why."""
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": _("Say why you hand it back.")})
    return wish_step(
        wish=wish,
        step=E.HAND_BACK,
        actor=actor,
        person=person,
        account=account,
        note=reason,
        check=_check_claimer(person),
        fields={"claimer": None},
    )


def wish_fulfil(
    *, wish: Wish, person: Person, note: str, photo=None, actor=None, account=None
) -> Wish:
    """The claimer has fulfilled the wish: a note (and a photo) of what was done; the
    resident is told and asked to confirm."""
    note = note.strip()
    if not note:
        raise ValidationError({"note": _("Say what was done.")})
    clean = photo_clean(photo) if photo else None
    with transaction.atomic():
        done = wish_step(
            wish=wish,
            step=E.FULFIL,
            actor=actor,
            person=person,
            account=account,
            note=note,
            check=_check_claimer(person),
            fields={
                "claimer": None,
                "fulfiller": person,
                "fulfil_note": note,
                "fulfilled_at": timezone.now(),
                "outcome": "",
            },
        )
        if clean is not None:
            _photo_store(done, clean, WishPhoto.Role.FULFILMENT)
        _tell(
            done,
            _sms_text(
                gettext_noop(
                    "Your micro-wish “%(title)s” has been fulfilled by %(name)s. Please confirm "
                    "it on the resident pages."
                ),
                title=done.title,
                name=person.name,
            ),
        )
    return done


# --- the wish list (心愿清单): a worker sorts a wish -----------------------------------------


def _check_worker(actor, action: str):
    def check(wish: Wish) -> None:
        if not rules.role_may(scope_for(actor).role_for(wish.area), action):
            raise WishError(_("Your post does not let you do this for this place."))

    return check


def _check_plan(actor, proposal: Proposal):
    def check(wish: Wish) -> None:
        if not selectors.plan_proposals(actor, wish).filter(pk=proposal.pk).exists():
            raise WishError(
                {
                    "proposal": _(
                        "Choose a proposal not yet closed of the wish's place or a place above it."
                    )
                }
            )

    return check


SORTED_TEXTS = {
    Outcome.DONE_AT_ONCE: gettext_noop(
        "Your micro-wish “%(title)s” was done at once: %(note)s Please confirm it on "
        "the resident pages."
    ),
    Outcome.RENOVATION: gettext_noop(
        "Your micro-wish “%(title)s” has been put into the renovation plan: %(note)s"
    ),
    Outcome.EXPLAINED: gettext_noop("About your micro-wish “%(title)s”: %(note)s"),
}


def wish_sort(
    *, wish: Wish, outcome: str, note: str, actor, proposal: Proposal | None = None
) -> Wish:
    """A worker puts the wish on the wish list: done at once (立即解决, the worker fulfilled
    it; the resident confirms as after any fulfilment), put into the renovation plan
    (纳入改造, ``note`` says which; or ``proposal``, a proposal not yet closed of a place
    covering the wish, that the plan is put to the households as), or explained why not
    (做好解释, ``note`` is the explanation). The resident is told by SMS and on their pages."""
    if outcome not in rules.OUTCOME_STEP:
        raise ValidationError({"outcome": _("Choose where the wish goes on the wish list.")})
    if proposal is not None and outcome != Outcome.RENOVATION:
        raise ValidationError({"proposal": _("Only a renovation plan is a proposal.")})
    note = note.strip()
    if not note and proposal is not None:
        note = proposal.title
    if not note:
        message = {
            Outcome.DONE_AT_ONCE: _("Say what was done."),
            Outcome.RENOVATION: _("Say which renovation plan it goes into."),
            Outcome.EXPLAINED: _("Write the explanation the resident will read."),
        }[outcome]
        raise ValidationError({"note": message})
    step = rules.OUTCOME_STEP[outcome]
    now = timezone.now()
    fields = {"outcome": outcome, "claimer": None, "sorted_at": now, "told": note}
    person = getattr(actor, "person", None) if getattr(actor, "is_authenticated", False) else None
    if outcome == Outcome.DONE_AT_ONCE:
        fields.update(fulfiller=person, fulfil_note=note, fulfilled_at=now)
    checks = [_check_worker(actor, rules.SORT)]
    if proposal is not None:
        fields["proposal"] = proposal
        checks.append(_check_plan(actor, proposal))

    def check(locked: Wish) -> None:
        for one in checks:
            one(locked)

    with transaction.atomic():
        sorted_wish = wish_step(
            wish=wish,
            step=step,
            actor=actor,
            person=person,
            note=note,
            check=check,
            fields=fields,
        )
        _tell(
            sorted_wish,
            _sms_text(SORTED_TEXTS[outcome], title=sorted_wish.title, note=note),
        )
    return sorted_wish


PLAN_DRAFT_DAYS = 30


def wish_plan_draft(*, wish: Wish, actor, area: Area, note: str = "") -> Wish:
    """Put the wish into a renovation plan that is new: a draft proposal on ``area`` (the
    wish's place or one above it where the actor may draft proposals), its title and text
    taken from the wish and its voting window ``PLAN_DRAFT_DAYS`` away until the draft is
    edited; then the wish sorted into it as ``wish_sort`` does. One transaction."""
    if area.pk not in {a.pk for a in selectors.draft_areas(actor, wish)}:
        raise WishError({"proposal": _("You may not draft a proposal on that place.")})
    text = "\n\n".join(
        part
        for part in (
            wish.text,
            wish.where,
            _("From micro-wish #%(pk)s.") % {"pk": wish.pk},
        )
        if part
    )
    with transaction.atomic():
        proposal = proposal_services.proposal_create(
            area=area,
            title=wish.title,
            text=text,
            voting_closes_at=timezone.now() + dt.timedelta(days=PLAN_DRAFT_DAYS),
            actor=actor,
        )
        return wish_sort(
            wish=wish, outcome=Outcome.RENOVATION, note=note, actor=actor, proposal=proposal
        )


# --- confirmation, and the points it brings ------------------------------------------------------


def resident_for_points(wish: Wish, account: ResidentAccount | None = None):
    """The register's resident a confirmed wish earns ``wish_confirmed`` points for: the
    wish's own, else that of the account confirming it (or that posted it) — linked, or the
    register's resident with the account's mobile number (proved by signing in: the match
    the next sign-in would link). None for a light account whose number the register does
    not hold: points are counted for registered residents only (积分记入已登记的居民)."""
    from residents.accounts import register_match

    if wish.resident_id:
        return wish.resident
    account = account or wish.account
    if account is None:
        return None
    if account.resident_id:
        return account.resident
    return register_match(account.phone)


def _award(wish: Wish, actor=None) -> bool:
    """The confirmation's points, once each: the fulfiller's ``wish_fulfilled`` and the
    resident's ``wish_confirmed``. Whether the resident's were counted (a registered
    resident)."""
    if wish.fulfiller_id:
        points.points_award(
            person=wish.fulfiller,
            rule="wish_fulfilled",
            act_key=f"wish:{wish.pk}",
            area=wish.area,
            actor=actor,
        )
    if wish.resident_id:
        from residents.services import resident_person_ensure

        person = resident_person_ensure(resident=wish.resident)
        points.points_award(
            person=person,
            rule="wish_confirmed",
            act_key=f"wish:{wish.pk}",
            area=wish.area,
            actor=actor,
        )
        return True
    return False


def _check_own(account: ResidentAccount):
    def check(wish: Wish) -> None:
        from wishes.selectors import own_wishes

        if not own_wishes(account).filter(pk=wish.pk).exists():
            raise WishError(_("This is not your wish."))

    return check


def wish_confirm(*, wish: Wish, account: ResidentAccount) -> Wish:
    """The resident confirms their wish was fulfilled: the fulfiller earns ``wish_fulfilled``
    and the resident ``wish_confirmed``, once each — the resident when on the register
    (``resident_for_points``); a light account's confirmation counts the fulfiller's only."""
    with transaction.atomic():
        done = wish_step(
            wish=wish,
            step=E.CONFIRM,
            account=account,
            check=_check_own(account),
            fields=_confirm_fields(wish, account),
        )
        _award(done)
    return done


def _confirm_fields(wish: Wish, account: ResidentAccount | None) -> dict:
    fields = {"confirmed_at": timezone.now()}
    if not wish.resident_id:
        resident = resident_for_points(wish, account)
        if resident is not None:
            # The wish is the registered resident's from now on: the points are theirs.
            fields["resident"] = resident
    return fields


def wish_confirm_late(*, wish: Wish, actor) -> Wish:
    """A worker confirms a fulfilled wish the resident has left unconfirmed for the
    confirmation window (``settings.WISHES_CONFIRM_DAYS``); the points follow as on the
    resident's own confirmation."""

    def check(locked: Wish) -> None:
        _check_worker(actor, rules.CONFIRM_LATE)(locked)
        ends = confirm_window_ends(locked)
        if ends is None or timezone.now() < ends:
            raise WishError(
                _("The resident has %(days)s days to confirm it; wait until then.")
                % {"days": confirm_days()}
            )

    with transaction.atomic():
        done = wish_step(
            wish=wish,
            step=E.CONFIRM_LATE,
            actor=actor,
            check=check,
            fields=_confirm_fields(wish, None),
        )
        _award(done, actor=actor)
    return done
