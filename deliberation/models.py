"""Proposals put to the households concerned (议事会 / 协商议事), and their secret vote.

A proposal moves draft → discussion → voting → closed (``rules.TRANSITIONS``), each step an
append-only ``ProposalEvent``. When voting opens, the households under the proposal's area
are frozen into its roll (``RollEntry``: who voted and how, online or on paper — never what).
A ``Ballot`` is stored apart from the roll and holds nothing that leads back to a household:
a random id, the proposal, the choice and the hash of the receipt code shown once to the
voter. It has no sequential id, no time, no key to the roll, no session or user.
The result is written once when the window closes (``ProposalResult``) and never rewritten.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core import audit
from grids.models import AncestorKeys, Area
from residents.models import Household


@audit.track(exclude=audit.ANCESTOR_KEY_FIELDS)
class Proposal(AncestorKeys):
    class Kind(models.TextChoices):
        RENOVATION = "renovation", _("renovation plan")
        PARKING = "parking", _("parking rule")
        RULE = "rule", _("compound rule")
        FUND = "fund", _("use of the compound fund")
        OTHER = "other", _("other matter")

    class State(models.TextChoices):
        DRAFT = "draft", _("draft")
        DISCUSSION = "discussion", _("under discussion")
        VOTING = "voting", _("voting")
        CLOSED = "closed", _("closed")

    class Outcome(models.TextChoices):
        NONE = "", _("not decided")
        PASSED = "passed", _("passed")
        FAILED = "failed", _("failed")

    area = models.ForeignKey(
        Area, verbose_name=_("area"), on_delete=models.PROTECT, related_name="proposals"
    )
    title = models.CharField(_("title"), max_length=120)
    text = models.TextField(_("text"))
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.RENOVATION)
    state = models.CharField(
        _("state"), max_length=16, choices=State.choices, default=State.DRAFT, editable=False
    )
    outcome = models.CharField(
        _("outcome"), max_length=8, choices=Outcome.choices, blank=True, default="", editable=False
    )
    discussion_until = models.DateField(_("discussion until"), null=True, blank=True)
    voting_opens_at = models.DateTimeField(
        _("voting opens"),
        null=True,
        blank=True,
        help_text=_("Set to the moment voting is opened."),
    )
    voting_closes_at = models.DateTimeField(_("voting closes"))
    # The share of eligible households in favour must be strictly above this fraction.
    threshold_numerator = models.PositiveSmallIntegerField(_("threshold numerator"), default=2)
    threshold_denominator = models.PositiveSmallIntegerField(_("threshold denominator"), default=3)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("proposal")
        verbose_name_plural = _("proposals")
        indexes = [
            models.Index(fields=["community", "state"], name="proposal_community_state"),
            models.Index(fields=["state", "voting_closes_at"], name="proposal_state_closes"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(threshold_denominator__gt=0)
                & Q(threshold_numerator__lt=F("threshold_denominator")),
                name="proposal_threshold_below_one",
                violation_error_message=_("the threshold is a fraction below one"),
            ),
            models.CheckConstraint(
                condition=Q(outcome="") | Q(state="closed"),
                name="proposal_outcome_only_when_closed",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def threshold_label(self) -> str:
        return f"{self.threshold_numerator}/{self.threshold_denominator}"


class ProposalEvent(models.Model):
    """One step of a proposal (created, edited, discussion opened, voting opened, closed, a
    cost split set …). Append-only. Never names a household or a ballot."""

    class Kind(models.TextChoices):
        CREATE = "create", _("created")
        EDIT = "edit", _("edited")
        DISCUSSION = "discussion", _("discussion opened")
        VOTING = "voting", _("voting opened")
        CLOSE = "closed", _("voting closed")
        ATTACH = "attach", _("attachment added")
        COST_SPLIT = "cost_split", _("cost split set")
        PROGRESS = "progress", _("progress noted")

    proposal = models.ForeignKey(
        Proposal, verbose_name=_("proposal"), on_delete=models.PROTECT, related_name="events"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    from_state = models.CharField(_("from"), max_length=16, blank=True, default="")
    to_state = models.CharField(_("to"), max_length=16, blank=True, default="")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    note = models.TextField(_("note"), blank=True, default="")
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("proposal event")
        verbose_name_plural = _("proposal events")
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.proposal_id} {self.get_kind_display()}"


def attachment_path(instance, filename: str) -> str:
    """A random name with the extension of the detected type: nothing of the client's name."""
    return f"proposals/{timezone.localdate():%Y/%m}/{uuid.uuid4().hex}.{instance.extension}"


class ProposalAttachment(models.Model):
    """A plan, a drawing, a quotation: an image re-encoded from the upload or a PDF checked by
    its content; served only through a view that checks who asks."""

    class Kind(models.TextChoices):
        JPEG = "jpeg", "JPEG"
        PNG = "png", "PNG"
        WEBP = "webp", "WebP"
        PDF = "pdf", "PDF"

    proposal = models.ForeignKey(
        Proposal, verbose_name=_("proposal"), on_delete=models.PROTECT, related_name="attachments"
    )
    title = models.CharField(_("title"), max_length=100)
    file = models.FileField(_("file"), upload_to=attachment_path)
    kind = models.CharField(_("type"), max_length=8, choices=Kind.choices)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    uploaded_at = models.DateTimeField(_("uploaded at"), default=timezone.now)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self) -> str:
        return self.title

    @property
    def extension(self) -> str:
        return {"jpeg": "jpg"}.get(self.kind, self.kind)


# The roll as frozen (its inserts) and any delete, never the voted/how flips: a row per vote
# would say when each household voted and from which request (user, address), and lined up
# with the order the ballots were written in while voting is open, that ties a household to
# its ballot. Whether it voted is on the roll itself, with no time.
@audit.track(exclude=["voted", "how"])
class RollEntry(models.Model):
    """A household eligible to vote on a proposal, frozen when voting opens: whether it voted
    and how (online or on paper). Holds no time and nothing of the ballot."""

    class How(models.TextChoices):
        NOT_YET = "", _("not voted")
        ONLINE = "online", _("online")
        PAPER = "paper", _("on paper")

    proposal = models.ForeignKey(
        Proposal, verbose_name=_("proposal"), on_delete=models.PROTECT, related_name="roll"
    )
    household = models.ForeignKey(
        Household, verbose_name=_("household"), on_delete=models.PROTECT, related_name="+"
    )
    voted = models.BooleanField(_("voted"), default=False)
    how = models.CharField(_("how"), max_length=8, choices=How.choices, blank=True, default="")

    class Meta:
        verbose_name = _("roll entry")
        verbose_name_plural = _("voting roll")
        constraints = [
            models.UniqueConstraint(fields=["proposal", "household"], name="roll_household_once"),
            models.CheckConstraint(
                condition=(Q(voted=False) & Q(how="")) | (Q(voted=True) & ~Q(how="")),
                name="roll_how_when_voted",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.proposal_id} · {self.household_id}"


def ballot_id() -> uuid.UUID:
    return uuid.uuid4()


class Ballot(models.Model):
    """One secret ballot: nothing here leads back to a household (no sequential id, no time,
    no key to the roll, no user or session). ``receipt_hash`` is the SHA-256 of the code
    shown once to the voter, who can check with it that the ballot was counted."""

    class Choice(models.TextChoices):
        FOR = "for", _("for")
        AGAINST = "against", _("against")
        ABSTAIN = "abstain", _("abstain")

    id = models.UUIDField(primary_key=True, default=ballot_id, editable=False)
    proposal = models.ForeignKey(
        Proposal, verbose_name=_("proposal"), on_delete=models.PROTECT, related_name="ballots"
    )
    choice = models.CharField(_("choice"), max_length=8, choices=Choice.choices)
    receipt_hash = models.CharField(_("receipt hash"), max_length=64, unique=True)

    class Meta:
        verbose_name = _("ballot")
        verbose_name_plural = _("ballots")

    def __str__(self) -> str:
        return str(self.id)


# Never the choice: it is erased once the paper ballot is decided, and a history of it
# would tie the household to how it voted.
@audit.track(exclude=["choice"])
class PaperBallot(models.Model):
    """A ballot handed in on paper at a meeting, recorded by one worker for a household. It
    counts only when a second worker confirms it: then an anonymous ``Ballot`` is written,
    the household's roll entry is marked voted on paper and the choice here is erased. While
    it waits it blocks the household's online vote (one ballot per household); a rejected one,
    or one still waiting when the window closes, counts for nothing and frees nothing."""

    class Status(models.TextChoices):
        PENDING = "pending", _("waiting for a second worker")
        CONFIRMED = "confirmed", _("confirmed")
        REJECTED = "rejected", _("rejected")
        LAPSED = "lapsed", _("lapsed at the close")

    proposal = models.ForeignKey(
        Proposal, verbose_name=_("proposal"), on_delete=models.PROTECT, related_name="paper"
    )
    household = models.ForeignKey(
        Household, verbose_name=_("household"), on_delete=models.PROTECT, related_name="+"
    )
    choice = models.CharField(
        _("choice"), max_length=8, choices=Ballot.Choice.choices, blank=True, default=""
    )
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("confirmed or rejected by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)

    class Meta:
        verbose_name = _("paper ballot")
        verbose_name_plural = _("paper ballots")
        constraints = [
            models.UniqueConstraint(
                fields=["proposal", "household"],
                condition=Q(status="pending"),
                name="paper_one_pending_per_household",
            ),
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True) | ~Q(decided_by=F("recorded_by")),
                name="paper_second_worker_decides",
                violation_error_message=_("a second worker confirms a paper ballot"),
            ),
            # Only a waiting ballot keeps its choice: once decided nothing ties it to one.
            models.CheckConstraint(
                condition=Q(status="pending") & ~Q(choice="") | ~Q(status="pending") & Q(choice=""),
                name="paper_choice_only_while_pending",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.proposal_id} · {self.household_id} · {self.get_status_display()}"


@audit.track()
class ProposalResult(models.Model):
    """The result, written once when the window closes and never rewritten: eligible
    households, those that voted, the counts and whether the share in favour of the
    eligible households was strictly above the threshold."""

    proposal = models.OneToOneField(
        Proposal,
        verbose_name=_("proposal"),
        primary_key=True,
        on_delete=models.PROTECT,
        related_name="result",
    )
    eligible = models.PositiveIntegerField(_("eligible households"))
    voted = models.PositiveIntegerField(_("households voted"))
    votes_for = models.PositiveIntegerField(_("for"))
    votes_against = models.PositiveIntegerField(_("against"))
    votes_abstain = models.PositiveIntegerField(_("abstain"))
    threshold_numerator = models.PositiveSmallIntegerField(_("threshold numerator"))
    threshold_denominator = models.PositiveSmallIntegerField(_("threshold denominator"))
    passed = models.BooleanField(_("passed"))
    frozen_at = models.DateTimeField(_("frozen at"), default=timezone.now)

    class Meta:
        verbose_name = _("result")
        verbose_name_plural = _("results")
        constraints = [
            models.CheckConstraint(
                condition=Q(voted__lte=F("eligible"))
                & Q(voted=F("votes_for") + F("votes_against") + F("votes_abstain")),
                name="result_counts_add_up",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.proposal_id} {self.votes_for}/{self.eligible}"

    @property
    def turnout_percent(self) -> float:
        return round(100 * self.voted / self.eligible, 1) if self.eligible else 0.0

    @property
    def for_percent(self) -> float:
        return round(100 * self.votes_for / self.eligible, 1) if self.eligible else 0.0


class CostShare(models.Model):
    """One source's share of a passed renovation's cost, in whole percent; a proposal's
    shares sum to 100 (``services.proposal_cost_split_set``). Yantan: 财政补助40% + 企业捐助30%
    + 居民自筹20% + 自我造血10%."""

    class Source(models.TextChoices):
        PUBLIC = "public", _("public funds (财政补助)")
        ENTERPRISE = "enterprise", _("enterprise donation (企业捐助)")
        RESIDENTS = "residents", _("residents' contribution (居民自筹)")
        SELF = "self", _("self-generated (自我造血)")
        OTHER = "other", _("other sources")

    proposal = models.ForeignKey(
        Proposal, verbose_name=_("proposal"), on_delete=models.PROTECT, related_name="cost_shares"
    )
    source = models.CharField(_("source"), max_length=16, choices=Source.choices)
    percent = models.PositiveSmallIntegerField(_("percent"))

    class Meta:
        verbose_name = _("cost share")
        verbose_name_plural = _("cost split")
        constraints = [
            models.UniqueConstraint(fields=["proposal", "source"], name="cost_share_source_once"),
            models.CheckConstraint(
                condition=Q(percent__gt=0) & Q(percent__lte=100), name="cost_share_percent_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_source_display()} {self.percent}%"


def progress_photo_path(instance, filename: str) -> str:
    stamp = timezone.localdate()
    return f"proposals/progress/{stamp:%Y/%m}/{uuid.uuid4().hex}.{instance.extension}"


class ProgressNote(models.Model):
    """What was done on a passed proposal, on which day, with an optional photo. Append-only."""

    proposal = models.ForeignKey(
        Proposal, verbose_name=_("proposal"), on_delete=models.PROTECT, related_name="progress"
    )
    on = models.DateField(_("date"))
    text = models.TextField(_("what was done"))
    photo = models.ImageField(_("photo"), upload_to=progress_photo_path, blank=True)
    photo_kind = models.CharField(_("image type"), max_length=8, blank=True, default="")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("progress note")
        verbose_name_plural = _("progress notes")
        ordering = ["on", "pk"]

    def __str__(self) -> str:
        return f"{self.on} {self.text[:30]}"

    @property
    def extension(self) -> str:
        return {"jpeg": "jpg"}.get(self.photo_kind, self.photo_kind or "bin")
