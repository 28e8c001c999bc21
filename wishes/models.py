"""Micro-wishes (微心愿) and the wish list (心愿清单).

A resident posts a small wish on their place (or a worker posts it for them); a Party member
who registered at the community (双报到) or a volunteer whose team serves it claims it (认领),
fulfils it, and the resident confirms. A worker sorts the wishes the way Yantan's wish list
does (五张清单之"心愿清单"): what can be solved at once is solved at once (立查立改), what
cannot is put into the renovation plan (纳入改造), what cannot be done is explained (做好解释)
— and the resident (the 许愿者) is told each time.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.images import KINDS
from grids.models import AncestorKeys, Area, Person
from residents.models import Resident, ResidentAccount


class State(models.TextChoices):
    OPEN = "open", _("open, waiting for someone to claim it")
    CLAIMED = "claimed", _("claimed")
    FULFILLED = "fulfilled", _("fulfilled, waiting for the resident's confirmation")
    CONFIRMED = "confirmed", _("confirmed")
    PLANNED = "planned", _("put into the renovation plan")
    EXPLAINED = "explained", _("explained why not")


class Outcome(models.TextChoices):
    """Where the wish list put a wish (Yantan: 立即解决 / 纳入改造 / 做好解释); empty while a
    claimer has it in hand."""

    DONE_AT_ONCE = "done_at_once", _("done at once")
    RENOVATION = "renovation", _("put into the renovation plan")
    EXPLAINED = "explained", _("explained why not")


class Wish(AncestorKeys):
    area = models.ForeignKey(
        Area, verbose_name=_("place"), on_delete=models.PROTECT, related_name="wishes"
    )
    # Posted on the resident pages: the account (and the register's resident it is linked
    # to, if any). Posted by a worker for someone: the worker, and who it is for.
    account = models.ForeignKey(
        ResidentAccount,
        verbose_name=_("resident account"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="wishes",
    )
    resident = models.ForeignKey(
        Resident,
        verbose_name=_("resident"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="wishes",
    )
    for_name = models.CharField(_("wish of"), max_length=50, blank=True, default="")
    for_phone = models.CharField(_("their mobile"), max_length=20, blank=True, default="")
    posted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("posted by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("The worker who posted it for the resident (empty: the resident did)."),
    )
    title = models.CharField(_("wish"), max_length=60)
    text = models.TextField(_("details"), blank=True, default="")
    where = models.CharField(_("where"), max_length=100, blank=True, default="")
    wanted_by = models.DateField(_("wanted by"), null=True, blank=True)

    state = models.CharField(
        _("state"), max_length=16, choices=State.choices, default=State.OPEN, db_index=True
    )
    outcome = models.CharField(
        _("wish list"), max_length=16, choices=Outcome.choices, blank=True, default=""
    )
    claimer = models.ForeignKey(
        Person,
        verbose_name=_("claimed by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="claimed_wishes",
    )
    fulfiller = models.ForeignKey(
        Person,
        verbose_name=_("fulfilled by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="fulfilled_wishes",
    )
    fulfil_note = models.TextField(_("how it was fulfilled"), blank=True, default="")
    told = models.TextField(_("what the resident was told"), blank=True, default="")
    # 纳入改造: the proposal (议事) the renovation plan is put to the households as.
    proposal = models.ForeignKey(
        "deliberation.Proposal",
        verbose_name=_("renovation plan"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="wishes",
    )

    created_at = models.DateTimeField(_("posted at"), default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)
    claimed_at = models.DateTimeField(_("first claimed at"), null=True, blank=True)
    fulfilled_at = models.DateTimeField(_("fulfilled at"), null=True, blank=True)
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    sorted_at = models.DateTimeField(_("sorted at"), null=True, blank=True)

    class Meta:
        verbose_name = _("micro-wish")
        verbose_name_plural = _("micro-wishes")
        indexes = [
            models.Index(fields=["community", "created_at"], name="wish_community_created"),
            models.Index(fields=["grid", "created_at"], name="wish_grid_created"),
            models.Index(fields=["street", "created_at"], name="wish_street_created"),
            models.Index(fields=["district", "created_at"], name="wish_district_created"),
            models.Index(fields=["claimer", "state"], name="wish_claimer_state"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(account__isnull=True, resident__isnull=True, for_phone="")
                | ~Q(for_name=""),
                name="wish_names_its_resident",
                violation_error_message=_("a wish names whose it is"),
            ),
            # One claimer at a time, and only while it is claimed.
            models.CheckConstraint(
                condition=Q(state="claimed", claimer__isnull=False)
                | (~Q(state="claimed") & Q(claimer__isnull=True)),
                name="wish_claimer_while_claimed",
            ),
            models.CheckConstraint(
                condition=~Q(state__in=["fulfilled", "confirmed"]) | Q(fulfilled_at__isnull=False),
                name="wish_fulfilled_has_time",
            ),
            models.CheckConstraint(
                condition=Q(proposal__isnull=True) | Q(state="planned"),
                name="wish_proposal_when_planned",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.title}"

    @property
    def who(self) -> str:
        """Whose wish it is, as a worker reads it (never a number)."""
        if self.resident_id:
            return self.resident.name
        if self.account_id:
            return self.account.display_name or str(_("resident"))
        return self.for_name


def wish_photo_path(instance, filename: str) -> str:
    """A random name with the extension of the detected type: nothing of the client's file
    name is kept."""
    stamp = timezone.localdate()
    return f"wishes/{stamp:%Y/%m}/{uuid.uuid4().hex}.{KINDS[instance.kind].extension}"


class WishPhoto(models.Model):
    """A photo of the wish (posted with it) or of its fulfilment, re-encoded from the upload
    (``core.images.image_clean``) and served only through the permission-checked views."""

    class Role(models.TextChoices):
        WISH = "wish", _("with the wish")
        FULFILMENT = "fulfilment", _("of the fulfilment")

    class Kind(models.TextChoices):
        JPEG = "jpeg", "JPEG"
        PNG = "png", "PNG"
        WEBP = "webp", "WebP"

    wish = models.ForeignKey(
        Wish, verbose_name=_("micro-wish"), on_delete=models.CASCADE, related_name="photos"
    )
    role = models.CharField(_("photo of"), max_length=16, choices=Role.choices)
    image = models.ImageField(_("photo"), upload_to=wish_photo_path)
    kind = models.CharField(_("image type"), max_length=8, choices=Kind.choices)
    uploaded_at = models.DateTimeField(_("uploaded at"), default=timezone.now)

    class Meta:
        verbose_name = _("photo of a wish")
        verbose_name_plural = _("photos of wishes")

    def __str__(self) -> str:
        return self.image.name


class WishEvent(models.Model):
    """One step of a wish (who, when, old → new state, note). Append-only."""

    class Kind(models.TextChoices):
        POST = "post", _("posted")
        CLAIM = "claim", _("claimed")
        HAND_BACK = "hand_back", _("handed back")
        FULFIL = "fulfil", _("fulfilled")
        DONE_AT_ONCE = "done_at_once", _("done at once")
        PLAN = "plan", _("put into the renovation plan")
        EXPLAIN = "explain", _("explained why not")
        CONFIRM = "confirm", _("confirmed by the resident")
        CONFIRM_LATE = "confirm_late", _("confirmed by a worker after the confirmation window")

    wish = models.ForeignKey(
        Wish, verbose_name=_("micro-wish"), on_delete=models.CASCADE, related_name="events"
    )
    kind = models.CharField(_("step"), max_length=16, choices=Kind.choices)
    old_state = models.CharField(
        _("from state"), max_length=16, choices=State.choices, blank=True, default=""
    )
    new_state = models.CharField(_("to state"), max_length=16, choices=State.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by (login)"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    person = models.ForeignKey(
        Person,
        verbose_name=_("by (person)"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("The Party member or volunteer who acted."),
    )
    account = models.ForeignKey(
        ResidentAccount,
        verbose_name=_("by the resident"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    at = models.DateTimeField(_("at"), default=timezone.now)
    note = models.TextField(_("note"), blank=True, default="")

    class Meta:
        verbose_name = _("step of a wish")
        verbose_name_plural = _("steps of wishes")
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["wish", "at"], name="wishevent_wish_at")]

    def __str__(self) -> str:
        return f"#{self.wish_id} {self.get_kind_display()}"
