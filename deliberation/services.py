"""Business actions on proposals and their vote. Views, the admin, the beat's job and the
demo all call these; none writes the tables itself.

``proposal_transition`` is the one write path of a proposal's state: it locks the row,
checks the move against ``rules.TRANSITIONS``, does what the step needs (the roll frozen
when voting opens, the result frozen when it closes) and appends the event.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Mapping

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from core import audit
from core.images import image_clean
from deliberation import rules
from deliberation.models import (
    Ballot,
    CostShare,
    PaperBallot,
    ProgressNote,
    Proposal,
    ProposalAttachment,
    ProposalEvent,
    ProposalResult,
    RollEntry,
)
from grids.access import scope_for
from grids.models import Area
from grids.selectors import area_keys, keyed_subtree_q
from residents.models import Household

S = Proposal.State
E = ProposalEvent.Kind
ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024
PHOTO_MAX_BYTES = 5 * 1024 * 1024
# Receipt codes: 12 characters of an alphabet without look-alikes (0/O, 1/I/L), ~60 bits.
RECEIPT_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
RECEIPT_LENGTH = 12


def _area_kind_error() -> str:
    return _("a proposal is put to a community, a compound, a grid, a building or a unit")


class ProposalError(ValidationError):
    """A step the rules do not allow, with a message a worker or resident can act on."""


# --- authorising -------------------------------------------------------------------------------


def authorise(actor, area: Area, action: str) -> None:
    """``actor`` may take ``action`` on a proposal at ``area``: PermissionDenied otherwise
    (the views have already answered 404 for a proposal out of scope)."""
    if actor is None or not rules.role_may(scope_for(actor).role_for(area), action):
        raise PermissionDenied


def _event(proposal: Proposal, kind: str, *, actor=None, old: str = "", new: str = "", note=""):
    return ProposalEvent.objects.create(
        proposal=proposal,
        kind=kind,
        from_state=old,
        to_state=new,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        note=note,
    )


def _lock(proposal: Proposal) -> Proposal:
    return (
        Proposal.objects.select_for_update(of=("self",)).select_related("area").get(pk=proposal.pk)
    )


# --- drafts ------------------------------------------------------------------------------------


def _check_threshold(numerator: int, denominator: int) -> None:
    if denominator < 1 or numerator < 1 or numerator >= denominator or denominator > 100:
        raise ProposalError(
            {"threshold_numerator": _("the threshold is a fraction between 0 and 1, e.g. 2/3")}
        )


def _check_window(closes_at: dt.datetime, discussion_until: dt.date | None) -> None:
    if closes_at <= timezone.now():
        raise ProposalError({"voting_closes_at": _("the voting window must close in the future")})
    if discussion_until is not None and discussion_until > timezone.localtime(closes_at).date():
        raise ProposalError(
            {"discussion_until": _("the discussion ends before the voting window closes")}
        )


@transaction.atomic
def proposal_create(
    *,
    area: Area,
    title: str,
    text: str,
    voting_closes_at: dt.datetime,
    actor,
    kind: str = Proposal.Kind.RENOVATION,
    discussion_until: dt.date | None = None,
    threshold_numerator: int = 2,
    threshold_denominator: int = 3,
) -> Proposal:
    authorise(actor, area, rules.MANAGE)
    if area.kind not in rules.PROPOSAL_AREA_KINDS:
        raise ProposalError({"area": _area_kind_error()})
    title, text = title.strip(), text.strip()
    if not title or not text:
        raise ProposalError(_("a proposal needs a title and a text"))
    _check_threshold(threshold_numerator, threshold_denominator)
    _check_window(voting_closes_at, discussion_until)
    proposal = Proposal.objects.create(
        area=area,
        **area_keys(area),
        title=title,
        text=text,
        kind=kind,
        discussion_until=discussion_until,
        voting_closes_at=voting_closes_at,
        threshold_numerator=threshold_numerator,
        threshold_denominator=threshold_denominator,
        created_by=actor,
    )
    _event(proposal, E.CREATE, actor=actor, new=S.DRAFT)
    return proposal


EDITABLE = (
    "title",
    "text",
    "kind",
    "discussion_until",
    "voting_closes_at",
    "threshold_numerator",
    "threshold_denominator",
)


@transaction.atomic
def proposal_update(*, proposal: Proposal, actor, **changes) -> Proposal:
    """Change a proposal while it is a draft or under discussion; the threshold only while
    it is a draft (before anybody could weigh it up against the discussion)."""
    proposal = _lock(proposal)
    authorise(actor, proposal.area, rules.MANAGE)
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise TypeError(f"not editable: {sorted(unknown)}")
    if proposal.state not in (S.DRAFT, S.DISCUSSION):
        raise ProposalError(_("a proposal put to the vote can no longer be changed"))
    threshold_changed = any(
        key in changes and changes[key] != getattr(proposal, key)
        for key in ("threshold_numerator", "threshold_denominator")
    )
    if threshold_changed and proposal.state != S.DRAFT:
        raise ProposalError(
            {"threshold_numerator": _("the threshold can only be changed while it is a draft")}
        )
    fields = []
    for key, value in changes.items():
        if isinstance(value, str):
            value = value.strip()
        if getattr(proposal, key) != value:
            setattr(proposal, key, value)
            fields.append(key)
    if not fields:
        return proposal
    if not proposal.title or not proposal.text:
        raise ProposalError(_("a proposal needs a title and a text"))
    _check_threshold(proposal.threshold_numerator, proposal.threshold_denominator)
    _check_window(proposal.voting_closes_at, proposal.discussion_until)
    proposal.save(update_fields=fields)
    _event(proposal, E.EDIT, actor=actor)
    return proposal


# --- the one write path of the state -----------------------------------------------------------


def eligible_households(area: Area):
    """The registered households under ``area``: through their ancestor keys for a community
    or a grid, the small range below for a compound, a building or a unit."""
    return Household.objects.filter(keyed_subtree_q(area))


def _freeze_roll(proposal: Proposal) -> int:
    households = eligible_households(proposal.area).order_by("pk").values_list("pk", flat=True)
    entries = [RollEntry(proposal=proposal, household_id=pk) for pk in households.iterator()]
    RollEntry.objects.bulk_create(entries, batch_size=2000)
    return len(entries)


def _shuffle_ballots(proposal: Proposal) -> None:
    """Write the proposal's ballots again in a random order, in the closing transaction: the
    order they lie in the table (and the transaction that wrote each) then says nothing of
    the order they were cast in, which the roll's changes could otherwise be lined up with."""
    ballots = list(Ballot.objects.filter(proposal=proposal).values("id", "choice", "receipt_hash"))
    secrets.SystemRandom().shuffle(ballots)
    Ballot.objects.filter(proposal=proposal).delete()
    Ballot.objects.bulk_create([Ballot(proposal=proposal, **b) for b in ballots], batch_size=2000)


def _freeze_result(proposal: Proposal) -> ProposalResult:
    counts = dict(
        Ballot.objects.filter(proposal=proposal)
        .values_list("choice")
        .annotate(n=Count("*"))
        .values_list("choice", "n")
    )
    roll = RollEntry.objects.filter(proposal=proposal).aggregate(
        eligible=Count("*"), voted=Count("pk", filter=Q(voted=True))
    )
    votes_for = counts.get(Ballot.Choice.FOR, 0)
    # Pending paper ballots lapse: never counted, their choice erased.
    PaperBallot.objects.filter(proposal=proposal, status=PaperBallot.Status.PENDING).update(
        status=PaperBallot.Status.LAPSED, choice="", decided_at=timezone.now()
    )
    _shuffle_ballots(proposal)
    return ProposalResult.objects.create(
        proposal=proposal,
        eligible=roll["eligible"],
        voted=roll["voted"],
        votes_for=votes_for,
        votes_against=counts.get(Ballot.Choice.AGAINST, 0),
        votes_abstain=counts.get(Ballot.Choice.ABSTAIN, 0),
        threshold_numerator=proposal.threshold_numerator,
        threshold_denominator=proposal.threshold_denominator,
        passed=rules.threshold_passes(
            votes_for=votes_for,
            eligible=roll["eligible"],
            numerator=proposal.threshold_numerator,
            denominator=proposal.threshold_denominator,
        ),
    )


@transaction.atomic
def proposal_transition(*, proposal: Proposal, to: str, actor=None, note: str = "") -> Proposal:
    """Move ``proposal`` to ``to``: discussion and voting by a worker who may manage it;
    closed by the portal itself (``actor`` None) once the voting window has ended."""
    locked = _lock(proposal)
    old = locked.state
    if to not in rules.TRANSITIONS[old]:
        raise ProposalError(
            _("a proposal that is %(state)s cannot become %(to)s")
            % {"state": S(old).label, "to": S(to).label}
        )
    now = timezone.now()
    fields = ["state"]
    if to == S.CLOSED:
        if locked.voting_closes_at > now:
            raise ProposalError(_("the voting window has not closed yet"))
    else:
        authorise(actor, locked.area, rules.MANAGE)
    if to == S.VOTING:
        if locked.voting_closes_at <= now:
            raise ProposalError(
                {"voting_closes_at": _("the voting window must close in the future")}
            )
        locked.voting_opens_at = now
        fields.append("voting_opens_at")
    locked.state = to
    if to == S.CLOSED:
        result = _freeze_result(locked)
        locked.outcome = Proposal.Outcome.PASSED if result.passed else Proposal.Outcome.FAILED
        fields.append("outcome")
    locked.save(update_fields=fields)
    if to == S.VOTING:
        _freeze_roll(locked)
    _event(locked, to, actor=actor, old=old, new=to, note=note)
    return locked


def proposal_discussion_open(*, proposal: Proposal, actor) -> Proposal:
    return proposal_transition(proposal=proposal, to=S.DISCUSSION, actor=actor)


def proposal_voting_open(*, proposal: Proposal, actor) -> Proposal:
    return proposal_transition(proposal=proposal, to=S.VOTING, actor=actor)


def proposal_close_if_due(*, proposal: Proposal) -> Proposal:
    """Close and freeze the result if the window has ended (the beat's job, and the first
    read after the close, whichever comes first). Returns the proposal as it now stands."""
    if proposal.state != S.VOTING or proposal.voting_closes_at > timezone.now():
        return proposal
    # The portal's own act, whoever's page or job came first: its history rows say so (a
    # page read writes no request context of its own).
    with transaction.atomic(), audit.context(closed_by="portal: the voting window ended"):
        locked = _lock(proposal)
        if locked.state != S.VOTING:  # closed meanwhile by someone else's read
            return locked
        return proposal_transition(proposal=locked, to=S.CLOSED)


def proposals_close_due(*, now: dt.datetime | None = None) -> int:
    """Close every proposal whose voting window has ended. Returns how many were closed."""
    now = now or timezone.now()
    due = Proposal.objects.filter(state=S.VOTING, voting_closes_at__lte=now).order_by("pk")
    closed = 0
    for proposal in due:
        if proposal_close_if_due(proposal=proposal).state == S.CLOSED:
            closed += 1
    return closed


# --- casting -----------------------------------------------------------------------------------


def receipt_new() -> str:
    return "".join(secrets.choice(RECEIPT_ALPHABET) for _i in range(RECEIPT_LENGTH))


def receipt_normalize(code: str) -> str:
    return "".join(ch for ch in (code or "").upper() if ch.isalnum())


def receipt_hash(code: str) -> str:
    return hashlib.sha256(receipt_normalize(code).encode()).hexdigest()


def receipt_format(code: str) -> str:
    """``K7QF9XM2PL4D`` as ``K7QF-9XM2-PL4D``: easier to copy down."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def _open_for_casting(proposal: Proposal) -> Proposal:
    """The proposal locked, if it takes ballots now: a cast after the window has ended is
    refused (the callers close a proposal that is due before they start, so its result is
    frozen without the late ballot)."""
    locked = _lock(proposal)
    if locked.state == S.VOTING and locked.voting_closes_at <= timezone.now():
        raise ProposalError(_("voting has closed"))
    if locked.state != S.VOTING:
        raise ProposalError(_("this proposal is not open for voting"))
    return locked


def _roll_entry(proposal: Proposal, household: Household | None) -> RollEntry:
    entry = (
        RollEntry.objects.select_for_update().filter(proposal=proposal, household=household).first()
        if household is not None
        else None
    )
    if entry is None:
        raise ProposalError(_("your household is not on this proposal's voting roll"))
    if entry.voted:
        raise ProposalError(_("this household has already voted"))
    return entry


def _check_choice(choice: str) -> None:
    if choice not in Ballot.Choice.values:
        raise ProposalError({"choice": _("choose for, against or abstain")})


def _ballot_write(proposal: Proposal, entry: RollEntry, choice: str, how: str) -> str:
    """Mark the roll entry voted (only if it was not: the guard holds even without the lock)
    and write the anonymous ballot. Returns the receipt code, shown once and never stored."""
    marked = RollEntry.objects.filter(pk=entry.pk, voted=False).update(voted=True, how=how)
    if marked != 1:
        raise ProposalError(_("this household has already voted"))
    code = receipt_new()
    Ballot.objects.create(proposal=proposal, choice=choice, receipt_hash=receipt_hash(code))
    return code


def ballot_cast(*, proposal: Proposal, household: Household | None, choice: str) -> str:
    """A registered member of ``household`` votes online. One ballot per household: the
    proposal and the roll entry are locked, and a household already voted (or with a paper
    ballot waiting for confirmation) is refused. Returns the receipt code."""
    _check_choice(choice)
    proposal_close_if_due(proposal=proposal)
    with transaction.atomic():
        return _cast_online(proposal, household, choice)


def _cast_online(proposal: Proposal, household: Household | None, choice: str) -> str:
    locked = _open_for_casting(proposal)
    entry = _roll_entry(locked, household)
    if PaperBallot.objects.filter(
        proposal=locked, household=household, status=PaperBallot.Status.PENDING
    ).exists():
        raise ProposalError(
            _("a paper ballot of your household is waiting for confirmation at the community")
        )
    return _ballot_write(locked, entry, choice, RollEntry.How.ONLINE)


def paper_ballot_record(
    *, proposal: Proposal, household: Household, choice: str, actor
) -> PaperBallot:
    """A worker records a household's paper ballot handed in at a meeting. It counts only
    once a second worker confirms it (``paper_ballot_confirm``)."""
    _check_choice(choice)
    proposal_close_if_due(proposal=proposal)
    with transaction.atomic():
        locked = _open_for_casting(proposal)
        authorise(actor, locked.area, rules.PAPER)
        _roll_entry(locked, household)
        return _paper_create(locked, household, choice, actor)


def _paper_create(locked: Proposal, household: Household, choice: str, actor) -> PaperBallot:
    try:
        with transaction.atomic():
            return PaperBallot.objects.create(
                proposal=locked, household=household, choice=choice, recorded_by=actor
            )
    except IntegrityError:
        raise ProposalError(
            _("a paper ballot of this household is already waiting for confirmation")
        ) from None


def _paper_lock(paper: PaperBallot, actor) -> tuple[Proposal, PaperBallot]:
    locked = _open_for_casting(paper.proposal)
    authorise(actor, locked.area, rules.PAPER)
    paper = PaperBallot.objects.select_for_update().get(pk=paper.pk)
    if paper.status != PaperBallot.Status.PENDING:
        raise ProposalError(_("this paper ballot has already been dealt with"))
    if paper.recorded_by_id == actor.pk:
        raise ProposalError(_("a second worker, not the one who recorded it, confirms it"))
    return locked, paper


def paper_ballot_confirm(*, paper: PaperBallot, actor) -> str:
    """A second worker confirms a paper ballot: it becomes an anonymous ballot, the household
    is marked voted on paper and the choice on the paper record is erased. Returns the
    receipt code, for the household to check its ballot was counted."""
    proposal_close_if_due(proposal=paper.proposal)
    with transaction.atomic():
        return _paper_confirm(paper, actor)


def _paper_confirm(paper: PaperBallot, actor) -> str:
    locked, paper = _paper_lock(paper, actor)
    entry = _roll_entry(locked, paper.household)
    code = _ballot_write(locked, entry, paper.choice, RollEntry.How.PAPER)
    paper.status = PaperBallot.Status.CONFIRMED
    paper.choice = ""
    paper.decided_by = actor
    paper.decided_at = timezone.now()
    paper.save(update_fields=["status", "choice", "decided_by", "decided_at"])
    return code


def paper_ballot_reject(*, paper: PaperBallot, actor) -> PaperBallot:
    """A second worker rejects a paper ballot recorded wrongly: it counts for nothing and the
    household may vote again."""
    proposal_close_if_due(proposal=paper.proposal)
    with transaction.atomic():
        return _paper_reject(paper, actor)


def _paper_reject(paper: PaperBallot, actor) -> PaperBallot:
    _locked, paper = _paper_lock(paper, actor)
    paper.status = PaperBallot.Status.REJECTED
    paper.choice = ""
    paper.decided_by = actor
    paper.decided_at = timezone.now()
    paper.save(update_fields=["status", "choice", "decided_by", "decided_at"])
    return paper


def receipt_check(*, code: str) -> Proposal | None:
    """The proposal whose ballots include the one with this receipt code, or None. Says
    only that the ballot is counted, never how it was cast (a receipt must not prove a vote
    to anyone else)."""
    if len(receipt_normalize(code)) != RECEIPT_LENGTH:
        return None
    ballot = (
        Ballot.objects.filter(receipt_hash=receipt_hash(code)).select_related("proposal").first()
    )
    return ballot.proposal if ballot is not None else None


# --- attachments, the cost split, progress -----------------------------------------------------


def attachment_clean(upload) -> tuple[bytes, str]:
    """An attachment checked by its content: a PDF kept as it is, an image re-encoded (JPEG,
    PNG or WebP). Returns the bytes and the kind."""
    if upload.size > ATTACHMENT_MAX_BYTES:
        raise ProposalError({"file": _("an attachment is larger than 10 MB")})
    upload.seek(0)
    head = upload.read(5)
    upload.seek(0)
    if head == b"%PDF-":
        return b"".join(upload.chunks()), ProposalAttachment.Kind.PDF
    try:
        clean = image_clean(upload)
    except ValidationError as exc:
        raise ProposalError({"file": exc.messages}) from None
    return clean.content, clean.kind


@transaction.atomic
def proposal_attach(*, proposal: Proposal, upload, title: str, actor) -> ProposalAttachment:
    proposal = _lock(proposal)
    authorise(actor, proposal.area, rules.MANAGE)
    if proposal.state not in (S.DRAFT, S.DISCUSSION):
        raise ProposalError(_("attachments are added before voting opens"))
    content, kind = attachment_clean(upload)
    attachment = ProposalAttachment(
        proposal=proposal, title=title.strip() or upload.name[:100], kind=kind, uploaded_by=actor
    )
    attachment.file.save("attachment", ContentFile(content), save=False)
    attachment.save()
    _event(proposal, E.ATTACH, actor=actor, note=attachment.title)
    return attachment


def _check_passed(proposal: Proposal) -> None:
    if proposal.outcome != Proposal.Outcome.PASSED:
        raise ProposalError(_("only a passed proposal carries a cost split and progress"))


@transaction.atomic
def proposal_cost_split_set(*, proposal: Proposal, shares: Mapping[str, int], actor) -> list:
    """Set who pays which share of a passed proposal's cost, in whole percent summing to
    100 (e.g. 财政补助 40 + 企业捐助 30 + 居民自筹 20 + 自我造血 10). Replaces the split set
    before; the event keeps each split set."""
    proposal = _lock(proposal)
    authorise(actor, proposal.area, rules.MANAGE)
    _check_passed(proposal)
    shares = {source: int(percent) for source, percent in shares.items() if int(percent or 0)}
    unknown = set(shares) - set(CostShare.Source.values)
    if unknown:
        raise ProposalError(_("unknown source of funds"))
    if any(percent < 0 or percent > 100 for percent in shares.values()):
        raise ProposalError(_("each share is between 0 and 100 percent"))
    total = sum(shares.values())
    if total != 100:
        raise ProposalError(_("the shares add up to %(total)s%%, not 100%%") % {"total": total})
    CostShare.objects.filter(proposal=proposal).delete()
    rows = CostShare.objects.bulk_create(
        [CostShare(proposal=proposal, source=s, percent=p) for s, p in shares.items()]
    )
    note = " + ".join(f"{CostShare.Source(s).label} {p}%" for s, p in shares.items())
    _event(proposal, E.COST_SPLIT, actor=actor, note=note)
    return rows


@transaction.atomic
def proposal_progress_add(
    *, proposal: Proposal, on: dt.date, text: str, actor, photo=None
) -> ProgressNote:
    proposal = _lock(proposal)
    authorise(actor, proposal.area, rules.MANAGE)
    _check_passed(proposal)
    text = text.strip()
    if not text:
        raise ProposalError({"text": _("say what was done")})
    if on > timezone.localdate():
        raise ProposalError({"on": _("progress is noted for a day that has come")})
    note = ProgressNote(proposal=proposal, on=on, text=text, author=actor)
    if photo is not None:
        if photo.size > PHOTO_MAX_BYTES:
            raise ProposalError({"photo": _("a photo is larger than 5 MB")})
        try:
            clean = image_clean(photo)
        except ValidationError as exc:
            raise ProposalError({"photo": exc.messages}) from None
        note.photo_kind = clean.kind
        note.photo.save("photo", ContentFile(clean.content), save=False)
    note.save()
    _event(proposal, E.PROGRESS, actor=actor, note=text[:200])
    return note
