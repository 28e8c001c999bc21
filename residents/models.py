from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core import audit
from core.privacy import mask_id_number, mask_phone
from grids.models import AncestorKeys, Area, PartyOrg, Person
from grids.rules import AreaKind
from residents.identity import validate_id_number

# Where a household may hang: a unit in town; a building or a grid (村小组) where there are
# no units, as in villages.
HOUSEHOLD_AREA_KINDS = frozenset({AreaKind.UNIT, AreaKind.BUILDING, AreaKind.GRID})


class CareTag(models.Model):
    """Why a resident needs looking after: 独居老人, 残疾人, 低保户 … (reference data)."""

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=32, unique=True)

    class Meta:
        verbose_name = _("care tag")
        verbose_name_plural = _("care tags")
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.name


@audit.track(exclude=[*audit.ANCESTOR_KEY_FIELDS, "updated_at"])
class Household(AncestorKeys):
    area = models.ForeignKey(
        Area,
        verbose_name=_("area"),
        on_delete=models.PROTECT,
        related_name="registered_households",
    )
    door = models.CharField(_("door number"), max_length=32, help_text=_("e.g. 301"))
    address = models.CharField(_("address"), max_length=200, blank=True, default="")
    in_online_group = models.BooleanField(
        _("in the online group"),
        default=False,
        help_text=_("At least one member is in the grid/building/unit WeChat group."),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("household")
        verbose_name_plural = _("households")
        constraints = [
            models.UniqueConstraint(fields=["area", "door"], name="household_door_unique"),
        ]
        # A node's households counted per child from the index alone (the tree browser):
        # a district's by street, a street's by community, a community's by grid.
        indexes = [
            models.Index(fields=["district", "street"], name="household_district_street"),
            models.Index(fields=["street", "community"], name="household_street_community"),
            models.Index(fields=["community", "grid"], name="household_community_grid"),
            models.Index(fields=["grid"], name="household_grid"),
        ]

    def __str__(self) -> str:
        return f"{self.area.name} {self.door}" if self.area_id else self.door

    def clean(self) -> None:
        if self.area_id and self.area.kind not in HOUSEHOLD_AREA_KINDS:
            raise ValidationError(
                {"area": _("a household belongs to a unit, a building or a grid")}
            )


@audit.track(exclude=["updated_at"])
class Resident(models.Model):
    class Gender(models.TextChoices):
        MALE = "M", _("male")
        FEMALE = "F", _("female")

    household = models.ForeignKey(
        Household,
        verbose_name=_("household"),
        on_delete=models.PROTECT,
        related_name="residents",
    )
    name = models.CharField(_("full name"), max_length=50)
    gender = models.CharField(_("gender"), max_length=1, choices=Gender.choices)
    birth_date = models.DateField(_("birth date"))
    id_number = models.CharField(
        _("ID number"), max_length=18, unique=True, validators=[validate_id_number]
    )
    phone = models.CharField(_("mobile"), max_length=11, blank=True, default="")
    is_householder = models.BooleanField(_("householder"), default=False)
    care_tags = models.ManyToManyField(
        CareTag, verbose_name=_("care tags"), blank=True, related_name="residents"
    )
    person = models.OneToOneField(
        Person,
        verbose_name=_("person"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="resident",
        help_text=_("Set when the resident also holds posts or is a Party member."),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("resident")
        verbose_name_plural = _("residents")
        indexes = [
            models.Index(fields=["name"], name="resident_name"),
            # A resident signing in, and their problems, are found by mobile number.
            models.Index(fields=["phone"], condition=~Q(phone=""), name="resident_phone"),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.masked_id_number}"

    @property
    def masked_id_number(self) -> str:
        return mask_id_number(self.id_number)

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone)


# Care tags (低保, 残疾 …) are sensitive personal data: who gave or took one is kept.
audit.track(model_name="ResidentCareTagHistory", app_label="residents")(Resident.care_tags.through)


class PartyMember(models.Model):
    """A Party member (a resident or an outside worker) and, for in-service members, the
    community where they registered (双报到)."""

    person = models.OneToOneField(
        Person, verbose_name=_("person"), on_delete=models.PROTECT, related_name="party_member"
    )
    party_org = models.ForeignKey(
        PartyOrg,
        verbose_name=_("Party organisation"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="members",
    )
    joined_on = models.DateField(_("joined the Party"), null=True, blank=True)
    in_service = models.BooleanField(_("in-service member"), default=False)
    work_unit = models.CharField(_("work unit"), max_length=100, blank=True, default="")
    registered_area = models.ForeignKey(
        Area,
        verbose_name=_("registered at community"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="registered_members",
    )
    registered_on = models.DateField(_("registered on"), null=True, blank=True)

    class Meta:
        verbose_name = _("Party member")
        verbose_name_plural = _("Party members")
        constraints = [
            models.CheckConstraint(
                condition=Q(in_service=False) | ~Q(work_unit=""),
                name="party_member_in_service_has_work_unit",
                violation_error_message=_("an in-service member names their work unit"),
            ),
        ]

    def __str__(self) -> str:
        return self.person.name


class VolunteerTeam(models.Model):
    name = models.CharField(_("name"), max_length=100)
    area = models.ForeignKey(
        Area, verbose_name=_("area"), on_delete=models.PROTECT, related_name="volunteer_teams"
    )
    members = models.ManyToManyField(
        Person, verbose_name=_("members"), blank=True, related_name="volunteer_teams"
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("volunteer team")
        verbose_name_plural = _("volunteer teams")

    def __str__(self) -> str:
        return self.name


class Visit(models.Model):
    """A door-knock visit (入户走访) to one household."""

    class Channel(models.TextChoices):
        DOOR_KNOCK = "door_knock", _("door-knock visit")
        PATROL = "patrol", _("grid patrol")
        PHONE = "phone", _("phone call")
        WECHAT = "wechat", _("WeChat")
        NEIGHBOUR = "neighbour", _("neighbourly call")

    household = models.ForeignKey(
        Household, verbose_name=_("household"), on_delete=models.PROTECT, related_name="visits"
    )
    visitor = models.ForeignKey(
        Person, verbose_name=_("visitor"), on_delete=models.PROTECT, related_name="visits"
    )
    visited_at = models.DateTimeField(_("visited at"), default=timezone.now)
    channel = models.CharField(
        _("channel"), max_length=16, choices=Channel.choices, default=Channel.DOOR_KNOCK
    )
    findings = models.TextField(_("what was found"), blank=True, default="")
    needs_follow_up = models.BooleanField(_("needs follow-up"), default=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("visit")
        verbose_name_plural = _("visits")
        indexes = [models.Index(fields=["household", "visited_at"], name="visit_household_at")]

    def __str__(self) -> str:
        return f"{self.household} {self.visited_at:%Y-%m-%d}"


class AccessLog(models.Model):
    """Who revealed which personal field of whom, when and from where -- or searched by a
    full ID number, and whom that found (no one: ``resident`` empty), or exported residents
    (which scope and filters, how many rows). Append-only; never holds the value itself, nor
    the number searched for. A look at a problem reporter's data
    is tied to its problem by ``issues.TicketAccess`` (``log.ticket_link``)."""

    class Field(models.TextChoices):
        ID_NUMBER = "id_number", _("ID number")
        PHONE = "phone", _("mobile")
        ID_SEARCH = "id_search", _("search by full ID number")
        DESCRIPTION = "description", _("problem description")
        EXPORT = "export", _("resident export")

    viewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("viewer"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    resident = models.ForeignKey(
        Resident,
        verbose_name=_("resident"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    field = models.CharField(_("field"), max_length=16, choices=Field.choices)
    at = models.DateTimeField(_("at"), default=timezone.now, db_index=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("browser"), max_length=200, blank=True, default="")
    # An export's: the scope and filters it covered, never a value; and how many rows.
    scope = models.CharField(_("scope"), max_length=300, blank=True, default="")
    rows = models.PositiveIntegerField(_("rows"), null=True, blank=True)

    class Meta:
        verbose_name = _("personal data access")
        verbose_name_plural = _("personal data access log")
        ordering = ["-at"]
        constraints = [
            # An ID number is always a resident's. A phone or a description may be a problem
            # reporter's who is no resident: the app that owns the problem names it
            # (``access_log_record``'s ``link``), and a search that found no one names no one.
            models.CheckConstraint(
                condition=Q(resident__isnull=False) | ~Q(field="id_number"),
                name="access_log_id_number_names_resident",
            ),
            models.CheckConstraint(
                condition=Q(rows__isnull=False) | ~Q(field="export"),
                name="access_log_export_counts_rows",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.viewer} {self.get_field_display()} {self.at:%Y-%m-%d %H:%M}"


class ResidentAccount(models.Model):
    """A resident signed in on the resident pages (居民端) by mobile number and a one-time
    code. Linked to the register's resident with that number when there is one; otherwise a
    light account holding only the number and a display name."""

    phone = models.CharField(_("mobile"), max_length=11, unique=True)
    display_name = models.CharField(_("display name"), max_length=50, blank=True, default="")
    resident = models.ForeignKey(
        Resident,
        verbose_name=_("resident on the register"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="accounts",
    )
    privacy_accepted_at = models.DateTimeField(
        _("privacy notice accepted at"), null=True, blank=True
    )
    privacy_version = models.CharField(
        _("privacy notice version"), max_length=16, blank=True, default=""
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    last_sign_in_at = models.DateTimeField(_("last signed in"), null=True, blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("resident account")
        verbose_name_plural = _("resident accounts")

    def __str__(self) -> str:
        return f"{self.display_name or _('resident')} {mask_phone(self.phone)}"

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone)


class SignInCode(models.Model):
    """A one-time code sent by SMS to sign in on the resident pages. Only a keyed hash of the
    code is kept; it expires, is used once, and takes a limited number of attempts."""

    phone = models.CharField(_("mobile"), max_length=11)
    code_hash = models.CharField(_("code hash"), max_length=64)
    created_at = models.DateTimeField(_("sent at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"))
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("wrong attempts"), default=0)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)

    class Meta:
        verbose_name = _("sign-in code")
        verbose_name_plural = _("sign-in codes")
        indexes = [
            models.Index(fields=["phone", "created_at"], name="signincode_phone_at"),
            # The hour's codes from one address, counted before each send.
            models.Index(fields=["ip", "created_at"], name="signincode_ip_at"),
        ]

    def __str__(self) -> str:
        return f"{mask_phone(self.phone)} {self.created_at:%Y-%m-%d %H:%M}"
