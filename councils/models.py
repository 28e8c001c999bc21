"""Regular meetings (三级例会): the meeting, who attended, its agenda, its minutes and the
corrections appended to them once held, its decisions, and the history of every act."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from councils.rules import Level, State
from grids.models import AncestorKeys, Area, Person


class Meeting(AncestorKeys):
    area = models.ForeignKey(
        Area, verbose_name=_("area"), on_delete=models.PROTECT, related_name="councils"
    )
    level = models.CharField(_("meeting"), max_length=16, choices=Level.choices)
    date = models.DateField(_("date"))
    room = models.CharField(_("room"), max_length=100, blank=True, default="")
    topic = models.CharField(_("topic"), max_length=200, blank=True, default="")
    chair = models.ForeignKey(
        Person,
        verbose_name=_("chaired by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="councils_chaired",
    )
    state = models.CharField(
        _("state"), max_length=16, choices=State.choices, default=State.PLANNED
    )
    minutes = models.TextField(_("minutes"), blank=True, default="")
    held_at = models.DateTimeField(_("recorded as held at"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("planned by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("planned at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("regular meeting")
        verbose_name_plural = _("regular meetings")
        indexes = [
            # The rhythm: an area's last held meeting and its next planned one.
            models.Index(fields=["area", "state", "date"], name="council_area_state_date"),
            models.Index(fields=["community", "date"], name="council_community_date"),
            models.Index(fields=["street", "date"], name="council_street_date"),
            # A district's or a grid's planned meetings, soonest first (the rhythm page).
            models.Index(fields=["district", "date"], name="council_district_date"),
            models.Index(fields=["grid", "date"], name="council_grid_date"),
        ]
        constraints = [
            # One regular meeting of a place a day (one called off leaves the day free):
            # five planned on one day would earn five attendances' points.
            models.UniqueConstraint(
                fields=["area", "date"],
                condition=~Q(state="cancelled"),
                name="council_one_a_day",
                violation_error_message=_("this place already has a meeting that day"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_level_display()} {self.date}"


class MeetingRhythm(AncestorKeys):
    """Where an area stands on its rhythm: the date of its last held meeting, when the next
    is due (``rules.Rhythm.due_after``) and its next planned one. One row per area that has
    had a meeting planned, written by the meeting services in the act's transaction
    (``services.rhythm_refresh``), with the area's ancestor keys: a district's (a street's,
    a community's, a grid's) overdue areas and its counts are read from one index on the
    key and the due date, not worked out from every meeting of every area in the scope.
    An area with no row has never had a meeting planned."""

    area = models.OneToOneField(
        Area, verbose_name=_("area"), on_delete=models.CASCADE, related_name="meeting_rhythm"
    )
    level = models.CharField(_("meeting"), max_length=16, choices=Level.choices)
    last_held = models.DateField(_("last held"), null=True, blank=True)
    next_due = models.DateField(_("next due"), null=True, blank=True)
    next_planned = models.DateField(_("next planned"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("meeting rhythm")
        verbose_name_plural = _("meeting rhythms")
        indexes = [
            models.Index(fields=[key, "next_due"], name=f"council_rhythm_{key}")
            for key in ("district", "street", "community", "grid")
        ]
        constraints = [
            # Due only after a meeting held.
            models.CheckConstraint(
                condition=Q(last_held__isnull=True, next_due__isnull=True)
                | Q(last_held__isnull=False, next_due__gt=models.F("last_held")),
                name="council_rhythm_due_after_held",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.area_id}: {self.last_held} → {self.next_due}"


class Attendance(models.Model):
    """One person at one held meeting. Never deleted: a person struck off after the fact
    keeps the row with when, by whom and why (and their points are reversed)."""

    class Capacity(models.TextChoices):
        HEAD = "head", _("head")
        PARTY_MEMBER = "party_member", _("Party member")
        RESIDENT = "resident", _("resident")

    meeting = models.ForeignKey(
        Meeting, verbose_name=_("meeting"), on_delete=models.CASCADE, related_name="attendance"
    )
    person = models.ForeignKey(
        Person, verbose_name=_("person"), on_delete=models.PROTECT, related_name="+"
    )
    capacity = models.CharField(_("as"), max_length=16, choices=Capacity.choices)
    added_at = models.DateTimeField(_("recorded at"), default=timezone.now)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    removed_at = models.DateTimeField(_("struck off at"), null=True, blank=True)
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("struck off by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    removed_reason = models.CharField(_("why struck off"), max_length=200, blank=True, default="")

    class Meta:
        verbose_name = _("attendance")
        verbose_name_plural = _("attendance")
        constraints = [
            models.UniqueConstraint(
                fields=["meeting", "person"],
                condition=Q(removed_at__isnull=True),
                name="council_attendance_once",
            ),
        ]

    def __str__(self) -> str:
        return str(self.person)


class MinutesCorrection(models.Model):
    """A correction to a held meeting's minutes, appended; the minutes as recorded stay."""

    meeting = models.ForeignKey(
        Meeting, verbose_name=_("meeting"), on_delete=models.CASCADE, related_name="corrections"
    )
    text = models.TextField(_("correction"))
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("minutes correction")
        verbose_name_plural = _("minutes corrections")
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return self.text[:40]


class AgendaItem(models.Model):
    """An item on a meeting's agenda: an open problem, an open micro-wish or a proposal not
    yet closed of its area, or a matter a head brings (五长提议制)."""

    meeting = models.ForeignKey(
        Meeting, verbose_name=_("meeting"), on_delete=models.CASCADE, related_name="agenda"
    )
    title = models.CharField(_("item"), max_length=200)
    ticket = models.ForeignKey(
        "issues.Ticket",
        verbose_name=_("problem"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    wish = models.ForeignKey(
        "wishes.Wish",
        verbose_name=_("micro-wish"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    proposal = models.ForeignKey(
        "deliberation.Proposal",
        verbose_name=_("proposal"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    proposed_by = models.ForeignKey(
        Person,
        verbose_name=_("proposed by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("added by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    added_at = models.DateTimeField(_("added at"), default=timezone.now)

    class Meta:
        verbose_name = _("agenda item")
        verbose_name_plural = _("agenda items")
        ordering = ["added_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["meeting", "ticket"],
                condition=Q(ticket__isnull=False),
                name="council_agenda_ticket_once",
            ),
            models.UniqueConstraint(
                fields=["meeting", "wish"],
                condition=Q(wish__isnull=False),
                name="council_agenda_wish_once",
            ),
            models.UniqueConstraint(
                fields=["meeting", "proposal"],
                condition=Q(proposal__isnull=False),
                name="council_agenda_proposal_once",
            ),
            # An item is about one matter at most.
            models.CheckConstraint(
                condition=Q(ticket__isnull=True, wish__isnull=True)
                | Q(ticket__isnull=True, proposal__isnull=True)
                | Q(wish__isnull=True, proposal__isnull=True),
                name="council_agenda_one_matter",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class Decision(models.Model):
    """What a meeting decided; with one click it is carried out — as a problem reported to
    the workflow, a micro-wish posted on the meeting's area, or a draft proposal put to the
    households — once, linked here."""

    meeting = models.ForeignKey(
        Meeting, verbose_name=_("meeting"), on_delete=models.CASCADE, related_name="decisions"
    )
    text = models.TextField(_("decision"))
    agenda_item = models.ForeignKey(
        AgendaItem,
        verbose_name=_("on the item"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="decisions",
    )
    ticket = models.OneToOneField(
        "issues.Ticket",
        verbose_name=_("problem reported"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="council_decision",
    )
    wish = models.OneToOneField(
        "wishes.Wish",
        verbose_name=_("micro-wish posted"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="council_decision",
    )
    proposal = models.OneToOneField(
        "deliberation.Proposal",
        verbose_name=_("proposal drafted"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="council_decision",
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("recorded at"), default=timezone.now)

    class Meta:
        verbose_name = _("decision")
        verbose_name_plural = _("decisions")
        ordering = ["decided_at", "pk"]
        constraints = [
            # Carried out once, one way.
            models.CheckConstraint(
                condition=Q(ticket__isnull=True, wish__isnull=True)
                | Q(ticket__isnull=True, proposal__isnull=True)
                | Q(wish__isnull=True, proposal__isnull=True),
                name="council_decision_carried_out_once",
            ),
        ]

    def __str__(self) -> str:
        return self.text[:40]

    @property
    def carried_out(self) -> bool:
        return bool(self.ticket_id or self.wish_id or self.proposal_id)


class MeetingEvent(models.Model):
    """The meeting's history, append-only: planned, held, called off, a person added or
    struck off, the minutes corrected, an item or a decision recorded, a problem made."""

    class Kind(models.TextChoices):
        PLAN = "plan", _("planned")
        HOLD = "hold", _("held")
        CANCEL = "cancel", _("called off")
        ATTENDEE_ADD = "attendee_add", _("attendee added")
        ATTENDEE_REMOVE = "attendee_remove", _("attendee struck off")
        CORRECT = "correct", _("minutes corrected")
        AGENDA = "agenda", _("agenda item added")
        DECIDE = "decide", _("decision recorded")
        CREATE = "create", _("decision carried out")
        WISH = "wish", _("decision posted as a micro-wish")
        PROPOSAL = "proposal", _("decision drafted as a proposal")

    meeting = models.ForeignKey(
        Meeting, verbose_name=_("meeting"), on_delete=models.CASCADE, related_name="events"
    )
    kind = models.CharField(_("what"), max_length=16, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    person = models.ForeignKey(
        Person,
        verbose_name=_("person"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    note = models.TextField(_("note"), blank=True, default="")
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("meeting event")
        verbose_name_plural = _("meeting events")
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return self.get_kind_display()
