import secrets
import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from mptt.models import MPTTModel, TreeForeignKey

from core import audit
from core.images import KINDS
from core.outbox import OutboxRow
from core.privacy import mask_phone
from grids.models import AncestorKeys, Area, Department
from residents.models import AccessLog, Resident


class Tier(models.TextChoices):
    SIMPLE = "simple", _("simple")
    COMPLEX = "complex", _("complex")
    HARD = "hard", _("hard")


class Level(models.TextChoices):
    """The rungs a ticket climbs (上提一级), lowest first."""

    UNIT = "unit", _("unit head")
    BUILDING = "building", _("building head")
    GRID = "grid", _("grid")
    COMMUNITY = "community", _("community")
    STREET = "street", _("street/town")
    COUNTY = "county", _("county office")
    DEPARTMENT = "department", _("functional departments")


class Category(MPTTModel):
    """What a problem is about; a small configurable tree. Its code is the Open311
    service_code."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=60)
    description = models.CharField(_("description"), max_length=200, blank=True, default="")
    parent = TreeForeignKey(
        "self",
        verbose_name=_("parent"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    time_limit_days = models.PositiveSmallIntegerField(
        _("time limit (working days)"),
        null=True,
        blank=True,
        help_text=_("Overrides the tier's time limit for problems of this category."),
    )
    default_department = models.ForeignKey(
        Department,
        verbose_name=_("usual department"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    active = models.BooleanField(_("active"), default=True)

    class MPTTMeta:
        order_insertion_by = ["code"]

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")

    def __str__(self) -> str:
        return self.name


class TierPolicy(models.Model):
    """Time limits per tier (限时办结), edited in the admin."""

    tier = models.CharField(_("tier"), max_length=16, choices=Tier.choices, unique=True)
    time_limit_days = models.PositiveSmallIntegerField(
        _("time limit (working days)"), validators=[MinValueValidator(1)]
    )
    rectification_days = models.PositiveSmallIntegerField(
        _("new deadline after escalation (working days)"),
        default=3,
        validators=[MinValueValidator(1)],
    )

    class Meta:
        verbose_name = _("tier time limit")
        verbose_name_plural = _("tier time limits")
        ordering = ["tier"]

    def __str__(self) -> str:
        return f"{self.get_tier_display()}: {self.time_limit_days}"


class TicketSettings(models.Model):
    """One row of settings for the problem workflow, edited in the admin."""

    exclude_weekends = models.BooleanField(_("deadlines skip weekends"), default=True)
    hard_via_street = models.BooleanField(
        _("hard problems go through the street first"),
        default=True,
        help_text=_("Otherwise they go straight to the county office."),
    )
    rating_days = models.PositiveSmallIntegerField(
        _("days to rate before closing as not rated"),
        default=7,
        validators=[MinValueValidator(1), MaxValueValidator(90)],
    )

    class Meta:
        verbose_name = _("workflow settings")
        verbose_name_plural = _("workflow settings")

    def __str__(self) -> str:
        return str(_("workflow settings"))

    @classmethod
    def current(cls) -> "TicketSettings":
        settings_row = cls.objects.order_by("pk").first()
        return settings_row or cls.objects.create()


class Holiday(models.Model):
    """A day that deadlines skip (法定节假日). A weekend working day (调休) is a Holiday row
    with ``is_workday`` set."""

    date = models.DateField(_("date"), unique=True)
    name = models.CharField(_("name"), max_length=40)
    is_workday = models.BooleanField(_("working day (调休)"), default=False)

    class Meta:
        verbose_name = _("holiday")
        verbose_name_plural = _("holidays")
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date} {self.name}"


@audit.track(exclude=[*audit.ANCESTOR_KEY_FIELDS, "updated_at"])
class Ticket(AncestorKeys):
    """A resident's problem (群众反映问题) on its way through the six steps."""

    class State(models.TextChoices):
        REPORTED = "reported", _("reported")
        ASSIGNED = "assigned", _("assigned")
        IN_PROGRESS = "in_progress", _("in progress")
        RESOLVED = "resolved", _("resolved, awaiting rating")
        CLOSED = "closed", _("closed")
        # Not taken on (受理/核实): not ours, a duplicate merged into another, already
        # solved, outside our area. Neither open nor solved; left out of every figure.
        DECLINED = "declined", _("declined")

    class Channel(models.TextChoices):
        WECHAT = "wechat", _("WeChat group")
        MINI_PROGRAM = "mini_program", _("mini-program")
        VISIT = "visit", _("door-knock visit")
        PATROL = "patrol", _("grid patrol")
        HOTLINE = "hotline", _("hotline 12345")
        WALK_IN = "walk_in", _("walk-in")
        MEETING = "meeting", _("deliberation meeting")
        API = "api", _("API")

    class Rating(models.TextChoices):
        SATISFIED = "satisfied", _("satisfied")
        BASIC = "basic", _("basically satisfied")
        UNSATISFIED = "unsatisfied", _("unsatisfied")
        NOT_RATED = "not_rated", _("not rated")

    class RatingSource(models.TextChoices):
        """Where a rating came from: the reporter (the resident pages or the tracking link),
        or a return call by someone who did not handle the problem. ``WORKER`` marks the
        ratings a pilot's workers typed in before residents could rate (migration 0010):
        kept, never counted as the resident's or a return call."""

        RESIDENT = "resident", _("by the resident")
        RETURN_CALL = "return_call", _("by return call")
        WORKER = "worker", _("typed in by a worker (before residents rated)")

    class DeclineReason(models.TextChoices):
        NOT_OURS = "not_ours", _("not a problem for us")
        DUPLICATE = "duplicate", _("duplicate")
        ALREADY_SOLVED = "already_solved", _("already solved")
        OUTSIDE_AREA = "outside_area", _("outside our area")

    area = models.ForeignKey(
        Area, verbose_name=_("place"), on_delete=models.PROTECT, related_name="tickets"
    )
    category = models.ForeignKey(
        Category, verbose_name=_("category"), on_delete=models.PROTECT, related_name="tickets"
    )
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    description = models.TextField(_("description"))
    reporter = models.ForeignKey(
        Resident,
        verbose_name=_("reporter"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tickets",
    )
    reporter_name = models.CharField(_("reporter's name"), max_length=50, blank=True, default="")
    reporter_phone = models.CharField(_("reporter's phone"), max_length=20, blank=True, default="")
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("Who recorded it (empty when the resident reported it)."),
    )
    first_asker = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("first asker"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_(
            "First-asker responsibility (首问负责): whoever first took the report keeps the "
            "reporter informed."
        ),
    )
    visit = models.ForeignKey(
        "residents.Visit",
        verbose_name=_("from visit"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tickets",
    )

    state = models.CharField(
        _("state"), max_length=16, choices=State.choices, default=State.REPORTED, db_index=True
    )
    tier = models.CharField(_("tier"), max_length=16, choices=Tier.choices, blank=True, default="")
    level = models.CharField(
        _("level"), max_length=16, choices=Level.choices, blank=True, default=""
    )
    handler_area = models.ForeignKey(
        Area,
        verbose_name=_("handled at"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="handled_tickets",
    )
    deadline = models.DateTimeField(_("deadline"), null=True, blank=True, db_index=True)
    on_rectification_list = models.BooleanField(_("on the rectification list"), default=False)
    escalation_count = models.PositiveSmallIntegerField(_("escalations"), default=0)
    reopen_count = models.PositiveSmallIntegerField(_("times reopened"), default=0)
    resolved_level = models.CharField(
        _("solved at level"), max_length=16, choices=Level.choices, blank=True, default=""
    )
    feedback = models.TextField(_("result told to the reporter"), blank=True, default="")
    rating = models.CharField(
        _("rating"), max_length=16, choices=Rating.choices, blank=True, default=""
    )
    rating_comment = models.TextField(_("rating comment"), blank=True, default="")
    rating_source = models.CharField(
        _("rated"), max_length=16, choices=RatingSource.choices, blank=True, default=""
    )
    decline_reason = models.CharField(
        _("declined because"), max_length=16, choices=DeclineReason.choices, blank=True, default=""
    )
    decline_note = models.TextField(_("what the reporter was told"), blank=True, default="")
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("merged into"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="merged",
    )

    created_at = models.DateTimeField(_("reported at"), default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)
    assigned_at = models.DateTimeField(_("assigned at"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    version = models.PositiveIntegerField(_("version"), default=1)

    class Meta:
        verbose_name = _("problem")
        verbose_name_plural = _("problems")
        indexes = [
            models.Index(fields=["state", "deadline"], name="ticket_state_deadline"),
            models.Index(fields=["handler_area", "state"], name="ticket_handler_state"),
            # One per ancestor key, newest last: a scope's inbox in order, its window of
            # days, its count.
            models.Index(fields=["district", "created_at"], name="ticket_district_created"),
            models.Index(fields=["street", "created_at"], name="ticket_street_created"),
            models.Index(fields=["community", "created_at"], name="ticket_community_created"),
            models.Index(fields=["grid", "created_at"], name="ticket_grid_created"),
            # The rectification list (a few problems in a city): without it a district's tab
            # read every open problem of the district to find them, twice (page and count).
            models.Index(
                fields=["created_at"],
                name="ticket_rectification",
                condition=Q(on_rectification_list=True),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(reporter__isnull=True, reporter_phone=""),
                name="ticket_reporter_or_phone",
                violation_error_message=_("a problem names its reporter or a phone number"),
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.category.name if self.category_id else ''}"

    @property
    def is_open(self) -> bool:
        # issues.rules builds on this module (and names the groups of states).
        from issues.rules import OPEN_STATES

        return self.state in OPEN_STATES


class TicketDay(models.Model):
    """The problems' figures per node and local (Asia/Shanghai) day: a rollup, so that a
    street's, a district's or the city's dashboard adds up a few thousand of these rows
    instead of counting a hundred thousand problems. Kept at each problem's district and
    street/town (a problem placed at a city itself, with no district, at the city): below
    the street, a community's problems are few enough to count. ``TicketCategoryDay``
    holds the intake per category beside it.

    ``reported`` and the ratings count on the day a problem was reported (the ratings as the
    problem stands, on every problem taken on: a reopened one keeps its "unsatisfied"); the
    ``solved*`` and ``band_*`` counts on the day it was resolved. Declined reports are in
    none. Kept by ``issues.services.rollups`` on every step that changes one of these and
    on every move of a node; ``ticket_days_recount`` rebuilds them from the problems."""

    node = models.ForeignKey(
        Area, verbose_name=_("area"), on_delete=models.CASCADE, related_name="+"
    )
    day = models.DateField(_("day"))
    reported = models.IntegerField(_("reported"), default=0)
    rated = models.IntegerField(_("rated"), default=0)
    satisfied = models.IntegerField(_("satisfied"), default=0)
    rated_resident = models.IntegerField(_("rated by the resident"), default=0)
    rated_call = models.IntegerField(_("rated on a return call"), default=0)
    not_rated = models.IntegerField(_("not rated"), default=0)
    solved = models.IntegerField(_("solved"), default=0)
    solved_simple = models.IntegerField(_("solved, simple"), default=0)
    solved_complex = models.IntegerField(_("solved, complex"), default=0)
    solved_hard = models.IntegerField(_("solved, hard"), default=0)
    solved_untriaged = models.IntegerField(_("solved, not triaged"), default=0)
    band_grid = models.IntegerField(_("solved in the grid"), default=0)
    band_community = models.IntegerField(_("solved in the community"), default=0)
    band_street = models.IntegerField(_("solved in the street"), default=0)
    band_above = models.IntegerField(_("solved above the street"), default=0)

    COUNTS = (
        "reported",
        "rated",
        "satisfied",
        "rated_resident",
        "rated_call",
        "not_rated",
        "solved",
        "solved_simple",
        "solved_complex",
        "solved_hard",
        "solved_untriaged",
        "band_grid",
        "band_community",
        "band_street",
        "band_above",
    )

    class Meta:
        verbose_name = _("day's figures")
        verbose_name_plural = _("days' figures")
        constraints = [
            models.UniqueConstraint(fields=["node", "day"], name="ticketday_node_day"),
        ]

    def __str__(self) -> str:
        return f"{self.node_id} {self.day}"


class TicketCategoryDay(models.Model):
    """The problems taken on per node, local day and category (beside ``TicketDay``, at the
    same nodes): the dashboard's top categories of the last 30 days from a few hundred rows.
    """

    node = models.ForeignKey(
        Area, verbose_name=_("area"), on_delete=models.CASCADE, related_name="+"
    )
    day = models.DateField(_("day"))
    category = models.ForeignKey(
        Category, verbose_name=_("category"), on_delete=models.CASCADE, related_name="+"
    )
    reported = models.IntegerField(_("reported"), default=0)

    COUNTS = ("reported",)

    class Meta:
        verbose_name = _("day's figures of a category")
        verbose_name_plural = _("days' figures of categories")
        constraints = [
            models.UniqueConstraint(
                fields=["node", "day", "category"], name="ticketcategoryday_node_day_category"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.node_id} {self.day} {self.category_id}"


def tracking_token() -> str:
    return secrets.token_urlsafe(16)


class TicketReporter(models.Model):
    """Someone who reported a problem: the first report, and every report merged into it
    (合并). Each is told of the result and may rate it; each rating is kept here, and the
    problem's own ``rating`` sums them up. ``token`` is the personal tracking link sent by
    SMS to a reporter with a phone number."""

    ticket = models.ForeignKey(
        Ticket, verbose_name=_("problem"), on_delete=models.CASCADE, related_name="reporters"
    )
    reported_as = models.ForeignKey(
        Ticket,
        verbose_name=_("reported as"),
        on_delete=models.CASCADE,
        related_name="+",
        help_text=_("The report this came with: the problem itself or one merged into it."),
    )
    account = models.ForeignKey(
        "residents.ResidentAccount",
        verbose_name=_("resident account"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reports",
    )
    resident = models.ForeignKey(
        Resident,
        verbose_name=_("resident"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    name = models.CharField(_("name"), max_length=50, blank=True, default="")
    phone = models.CharField(_("mobile"), max_length=20, blank=True, default="", db_index=True)
    token = models.CharField(
        _("tracking token"), max_length=64, unique=True, default=tracking_token, editable=False
    )
    rating = models.CharField(
        _("rating"), max_length=16, choices=Ticket.Rating.choices, blank=True, default=""
    )
    rating_comment = models.TextField(_("rating comment"), blank=True, default="")
    rating_source = models.CharField(
        _("rated"), max_length=16, choices=Ticket.RatingSource.choices, blank=True, default=""
    )
    rated_at = models.DateTimeField(_("rated at"), null=True, blank=True)
    rating_caller = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("return call by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("joined at"), default=timezone.now)

    class Meta:
        verbose_name = _("reporter")
        verbose_name_plural = _("reporters")
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["ticket", "reported_as"], name="reporter_once_per_report"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.ticket_id} {self.name or mask_phone(self.phone)}"


def ticket_photo_path(instance, filename: str) -> str:
    """A random name with the extension of the detected type: nothing of the client's file
    name (or the ticket's id) is kept."""
    stamp = timezone.localdate()
    return f"tickets/{stamp:%Y/%m}/{uuid.uuid4().hex}.{KINDS[instance.kind].extension}"


def photo_token() -> str:
    return secrets.token_urlsafe(24)


class TicketAccess(models.Model):
    """Which problem a look at personal data was for: the reporter's phone revealed to call
    back, the description read as written. The look itself is the ``residents`` access log
    row, which knows nothing of problems. Append-only, like the log."""

    access_log = models.OneToOneField(
        AccessLog,
        verbose_name=_("personal data access"),
        primary_key=True,
        on_delete=models.PROTECT,
        related_name="ticket_link",
    )
    ticket = models.ForeignKey(
        Ticket, verbose_name=_("problem"), on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("personal data access for a problem")
        verbose_name_plural = _("personal data accesses for problems")

    def __str__(self) -> str:
        return f"{self.access_log} · #{self.ticket_id}"


class TicketPhoto(models.Model):
    """A photo as stored: re-encoded from the upload (``core.images.image_clean``), served
    by ``issues:ticket_photo`` to the ticket's scope and by ``open311:photo`` (through
    ``token``) to the public."""

    class Kind(models.TextChoices):
        JPEG = "jpeg", "JPEG"
        PNG = "png", "PNG"
        WEBP = "webp", "WebP"

    ticket = models.ForeignKey(
        Ticket, verbose_name=_("problem"), on_delete=models.CASCADE, related_name="photos"
    )
    image = models.ImageField(_("photo"), upload_to=ticket_photo_path)
    kind = models.CharField(_("image type"), max_length=8, choices=Kind.choices)
    # The public link's key (Open311 media_url): unguessable, unlike the row's id.
    token = models.CharField(
        _("public token"), max_length=64, unique=True, default=photo_token, editable=False
    )
    uploaded_at = models.DateTimeField(_("uploaded at"), default=timezone.now)

    class Meta:
        verbose_name = _("photo")
        verbose_name_plural = _("photos")

    def __str__(self) -> str:
        return self.image.name


class TicketEvent(models.Model):
    """One step in a ticket's history (who, when, old → new, note). Append-only."""

    class Kind(models.TextChoices):
        REPORT = "report", _("reported")
        ASSIGN = "assign", _("triaged and assigned")
        ACCEPT = "accept", _("accepted")
        PROGRESS = "progress", _("progress")
        REMIND = "remind", _("reminder")
        ESCALATE = "escalate", _("escalated one level")
        REPORT_UP = "report_up", _("reported up as a hard problem")
        RECTIFY = "rectify", _("put on the rectification list")
        MEETING = "meeting", _("assigned at a meeting")
        DEPARTMENT_REPORT = "department_report", _("department reported back")
        REVIEW = "review", _("the county office accepted the departments' reports")
        SEND_BACK = "send_back", _("a department's part sent back")
        RESOLVE = "resolve", _("resolved, result told to the reporter")
        RATE = "rate", _("rated")
        REOPEN = "reopen", _("reopened")
        CLOSE = "close", _("closed")
        RETURN_VISIT = "return_visit", _("return visit")
        DECLINE = "decline", _("declined")
        MERGE = "merge", _("merged into another problem")
        MERGED_IN = "merged_in", _("a duplicate report merged in")

    ticket = models.ForeignKey(
        Ticket, verbose_name=_("problem"), on_delete=models.CASCADE, related_name="events"
    )
    kind = models.CharField(_("step"), max_length=20, choices=Kind.choices)
    old_state = models.CharField(
        _("from state"), max_length=16, choices=Ticket.State.choices, blank=True, default=""
    )
    new_state = models.CharField(
        _("to state"), max_length=16, choices=Ticket.State.choices, blank=True, default=""
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Empty when the system or a resident acted."),
    )
    reporter = models.ForeignKey(
        TicketReporter,
        verbose_name=_("by the reporter"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Set when a reporter acted (reported, rated) on the resident pages."),
    )
    at = models.DateTimeField(_("at"), default=timezone.now)
    note = models.TextField(_("note"), blank=True, default="")
    # What the portal wrote on the step, as a code and its arguments (issues.notes): put
    # into words when shown, in the reader's language.
    system_note = models.JSONField(_("system note"), blank=True, default=dict)
    level = models.CharField(
        _("level"), max_length=16, choices=Level.choices, blank=True, default=""
    )
    handler_area = models.ForeignKey(
        Area,
        verbose_name=_("handled at"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        verbose_name = _("problem event")
        verbose_name_plural = _("problem events")
        ordering = ["at", "pk"]
        indexes = [
            models.Index(fields=["ticket", "at"], name="ticket_event_at"),
            # The digests count a day's steps across all tickets.
            models.Index(fields=["at"], name="ticket_event_at_only"),
        ]

    def __str__(self) -> str:
        return f"#{self.ticket_id} {self.get_kind_display()}"

    @property
    def text(self) -> str:
        """The step's note as shown: a person's words, then the portal's note in the
        current language."""
        from issues.notes import words

        return " ".join(filter(None, [self.note, words(self.system_note)]))


class Meeting(models.Model):
    """An assignment meeting (交办会) of the county office."""

    title = models.CharField(_("meeting title"), max_length=100)
    held_on = models.DateField(_("held on"), default=timezone.localdate)
    area = models.ForeignKey(
        Area, verbose_name=_("county"), on_delete=models.PROTECT, related_name="meetings"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("opened by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("assignment meeting")
        verbose_name_plural = _("assignment meetings")
        ordering = ["-held_on", "-pk"]

    def __str__(self) -> str:
        return self.title


class DepartmentTask(models.Model):
    """One department's part of a hard problem, assigned at a meeting: its own instructions
    (办理要求) and deadline. The department reports back; the county office then accepts
    the reports (the part is done) or sends the part back with a reason (open again)."""

    class Status(models.TextChoices):
        OPEN = "open", _("open")
        REPORTED = "reported", _("reported, awaiting the county office's review")
        DONE = "done", _("accepted by the county office")

    meeting = models.ForeignKey(
        Meeting, verbose_name=_("meeting"), on_delete=models.PROTECT, related_name="tasks"
    )
    ticket = models.ForeignKey(
        Ticket, verbose_name=_("problem"), on_delete=models.PROTECT, related_name="tasks"
    )
    department = models.ForeignKey(
        Department, verbose_name=_("department"), on_delete=models.PROTECT, related_name="tasks"
    )
    instructions = models.TextField(_("what to do"), blank=True, default="")
    deadline = models.DateTimeField(_("deadline"))
    status = models.CharField(
        _("status"), max_length=8, choices=Status.choices, default=Status.OPEN
    )
    report = models.TextField(_("report"), blank=True, default="")
    reported_at = models.DateTimeField(_("reported back at"), null=True, blank=True)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reported by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # The county office's review of the report.
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    sent_back_count = models.PositiveSmallIntegerField(_("times sent back"), default=0)
    sent_back_reason = models.TextField(_("why it was sent back"), blank=True, default="")
    # Overdue: reminded, the county office told, a new deadline (as a problem is lifted).
    overdue_count = models.PositiveSmallIntegerField(_("times overdue"), default=0)

    class Meta:
        verbose_name = _("department task")
        verbose_name_plural = _("department tasks")
        constraints = [
            models.UniqueConstraint(
                fields=["ticket", "department"],
                condition=Q(status="open"),
                name="task_one_open_per_dept",
            ),
        ]
        indexes = [
            # A department's list of its parts, and the overdue job's open parts by deadline.
            models.Index(fields=["department", "status", "deadline"], name="task_dept_status"),
            models.Index(
                fields=["deadline"], name="task_open_deadline", condition=Q(status="open")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.department} · #{self.ticket_id}"

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN

    def is_overdue(self, now=None) -> bool:
        return self.is_open and self.deadline < (now or timezone.now())


class ReturnVisit(models.Model):
    """A return visit to the reporter (定期回访), scheduled and then logged."""

    ticket = models.ForeignKey(
        Ticket, verbose_name=_("problem"), on_delete=models.CASCADE, related_name="return_visits"
    )
    scheduled_for = models.DateField(_("scheduled for"))
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    note = models.TextField(_("what the reporter said"), blank=True, default="")
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        verbose_name = _("return visit")
        verbose_name_plural = _("return visits")
        ordering = ["scheduled_for"]

    def __str__(self) -> str:
        return f"#{self.ticket_id} {self.scheduled_for}"


# The key's hash is a secret: a change of it is recorded as a change, never its value.
@audit.track(masked=["key_hash"])
class ApiKey(models.Model):
    """A key for one intake channel of the Open311 API (the mini-program, the hotline …).
    Only a hash is stored; the key is shown once when made."""

    name = models.CharField(_("name"), max_length=60)
    channel = models.CharField(_("channel"), max_length=16, choices=Ticket.Channel.choices)
    prefix = models.CharField(_("key prefix"), max_length=8, db_index=True)
    key_hash = models.CharField(_("key hash"), max_length=64, unique=True)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class Notification(models.Model):
    """Something put on a worker's desk (assigned, lifted to them, a reminder …), or a mail
    to a department's own mailbox. A row with a ``recipient`` is in that person's
    notification list until read; each of its outside channels (e-mail, SMS, a WeCom or
    DingTalk robot) is a ``NotificationDelivery`` outbox row written with it."""

    class Kind(models.TextChoices):
        TRIAGE = "triage", _("new problem to triage")
        ASSIGNED = "assigned", _("assigned to you")
        LIFTED = "lifted", _("lifted to you")
        REMINDER = "reminder", _("reminder")
        RECTIFICATION = "rectification", _("on the rectification list")
        MEETING_TASK = "meeting_task", _("meeting task")
        REVIEW = "review", _("departments' reports to review")
        SENT_BACK = "sent_back", _("a part sent back")
        REOPENED = "reopened", _("reopened: rated unsatisfied")
        OTHER = "other", _("other")

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("to"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.OTHER)
    ticket = models.ForeignKey(
        Ticket,
        verbose_name=_("problem"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    # In the portal's language, as it goes out by SMS and e-mail; ``said`` keeps it as codes
    # (``issues.notes.said``) so the list shows it in each reader's language.
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("text"))
    said = models.JSONField(_("what it says, as codes"), default=dict, blank=True, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(
                fields=["recipient", "created_at"],
                condition=Q(read_at__isnull=True),
                name="notification_unread",
            ),
            models.Index(fields=["recipient", "created_at"], name="notification_recipient_at"),
        ]

    def __str__(self) -> str:
        return self.subject


class NotificationDelivery(OutboxRow):
    """One notification on one outside channel: an outbox row, claimed, sent and marked by
    ``core.outbox``."""

    class Channel(models.TextChoices):
        EMAIL = "email", _("e-mail")
        SMS = "sms", _("SMS")
        WEBHOOK = "webhook", _("WeCom/DingTalk robot")

    notification = models.ForeignKey(
        Notification,
        verbose_name=_("notification"),
        on_delete=models.CASCADE,
        related_name="deliveries",
    )
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    address = models.CharField(_("address"), max_length=500)

    class Meta:
        verbose_name = _("notification delivery")
        verbose_name_plural = _("notification deliveries")
        indexes = [
            models.Index(
                fields=["created_at"],
                condition=Q(sent_at__isnull=True),
                name="delivery_unsent",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} · {self.notification}"


class NotificationChannels(models.Model):
    """How one person is reached besides the portal's own list: e-mail where they have an
    address, SMS to their phone (always when they have no e-mail), a WeCom or DingTalk robot
    (群机器人) webhook. Set by an administrator."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("login"),
        on_delete=models.CASCADE,
        related_name="notification_channels",
    )
    email = models.BooleanField(_("by e-mail"), default=True)
    sms = models.BooleanField(
        _("also by SMS"),
        default=False,
        help_text=_("Heads without an e-mail address are always reached by SMS."),
    )
    webhook_url = models.URLField(
        _("robot webhook"),
        max_length=500,
        blank=True,
        default="",
        help_text=_("A WeCom or DingTalk group robot's webhook address."),
    )

    class Meta:
        verbose_name = _("notification channels")
        verbose_name_plural = _("notification channels")

    def __str__(self) -> str:
        return str(self.user)
