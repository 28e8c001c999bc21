"""The points ledger (积分制管理) and the moral bank (道德银行).

``PointEntry`` is the ledger: append-only, every change of anyone's points one row (an
award for an act, its reversal when the act is undone, a manual award or deduction with its
reason, a good deed saved, a redemption). ``PointBalance`` is each person's sum of it, kept
in the same transaction as each entry by one ``UPDATE … SET balance = balance + n``; its
CheckConstraint keeps it from ever going below zero, also under concurrent redemptions.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core import audit
from grids.models import AncestorKeys, Area, Person

# The rules the portal awards by itself, named in the reader's language. A rule's ``name``
# in the admin overrides its label; left empty, the label below is shown (translated).
RULE_LABELS = {
    "visit_logged": _("Visit logged"),
    "problem_solved_own_level": _("Problem solved at one's own level"),
    "rated_satisfied": _("Rated satisfied by the resident"),
    "wish_fulfilled": _("Micro-wish fulfilled"),
    "wish_confirmed": _("Micro-wish confirmed"),
    "meeting_attended": _("Meeting attended"),
    "volunteer_hours": _("Volunteer hours (per hour)"),
    "good_deed": _("Good deed"),
}


class PointRule(models.Model):
    """What an act earns. ``points`` is per act; a rule counted by quantity (volunteer
    hours) multiplies it by the quantity given. A rule switched off awards nothing."""

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(
        _("name"),
        max_length=100,
        blank=True,
        default="",
        help_text=_("Leave empty to show the built-in name in the reader's language."),
    )
    points = models.PositiveIntegerField(_("points"))
    active = models.BooleanField(_("active"), default=True)
    description = models.TextField(_("description"), blank=True, default="")

    class Meta:
        verbose_name = _("points rule")
        verbose_name_plural = _("points rules")
        ordering = ["pk"]
        constraints = [
            models.CheckConstraint(condition=Q(points__gt=0), name="point_rule_points_positive")
        ]

    def __str__(self) -> str:
        return str(self.label)

    @property
    def label(self):
        return self.name or RULE_LABELS.get(self.code, self.code)


class RewardItem(models.Model):
    """An item or a service a community offers for points (积分换购/积分换项目)."""

    community = models.ForeignKey(
        Area,
        verbose_name=_("community/village"),
        on_delete=models.PROTECT,
        related_name="reward_items",
    )
    name = models.CharField(_("name"), max_length=100)
    description = models.CharField(_("description"), max_length=200, blank=True, default="")
    cost = models.PositiveIntegerField(_("cost in points"))
    stock = models.IntegerField(_("in stock"), default=0)
    active = models.BooleanField(_("offered"), default=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("reward item")
        verbose_name_plural = _("reward items")
        ordering = ["community", "cost", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(stock__gte=0), name="reward_item_stock_not_negative"
            ),
            models.CheckConstraint(condition=Q(cost__gt=0), name="reward_item_cost_positive"),
            models.UniqueConstraint(fields=["community", "name"], name="reward_item_name_unique"),
        ]

    def __str__(self) -> str:
        return self.name


@audit.track(exclude=audit.ANCESTOR_KEY_FIELDS)
class GoodDeed(AncestorKeys):
    """A good deed registered by the community (储蓄登记): what, when, where, and the
    volunteer hours where it was counted by the hour. Its points are the ``saving`` entry
    that names it (act key ``deed:<pk>``)."""

    person = models.ForeignKey(
        Person, verbose_name=_("person"), on_delete=models.PROTECT, related_name="good_deeds"
    )
    area = models.ForeignKey(
        Area, verbose_name=_("place"), on_delete=models.PROTECT, related_name="+"
    )
    what = models.CharField(_("what was done"), max_length=200)
    done_on = models.DateField(_("done on"))
    hours = models.DecimalField(
        _("volunteer hours"), max_digits=5, decimal_places=1, null=True, blank=True
    )
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("registered by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("registered at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("good deed")
        verbose_name_plural = _("good deeds")
        constraints = [
            models.CheckConstraint(
                condition=Q(hours__isnull=True) | Q(hours__gt=0), name="good_deed_hours_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.what


@audit.track(exclude=audit.ANCESTOR_KEY_FIELDS)
class PointEntry(AncestorKeys):
    """One line of the ledger. Append-only: no code path updates or deletes a row. The place
    of the act (``area`` and its ancestor keys) lets rankings per community, street and
    county read an index instead of joining the tree."""

    class Kind(models.TextChoices):
        AWARD = "award", _("award")
        REVERSAL = "reversal", _("reversal")
        MANUAL = "manual", _("manual award or deduction")
        SAVING = "saving", _("saving (good deed)")
        REDEMPTION = "redemption", _("redemption")

    person = models.ForeignKey(
        Person, verbose_name=_("person"), on_delete=models.PROTECT, related_name="point_entries"
    )
    amount = models.IntegerField(_("points"))
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    rule = models.ForeignKey(
        PointRule,
        verbose_name=_("rule"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="entries",
    )
    act_key = models.CharField(_("act"), max_length=100, blank=True, default="")
    quantity = models.DecimalField(
        _("quantity"), max_digits=7, decimal_places=1, null=True, blank=True
    )
    reverses = models.OneToOneField(
        "self",
        verbose_name=_("reverses"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reversed_by",
    )
    item = models.ForeignKey(
        RewardItem,
        verbose_name=_("reward item"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="redemptions",
    )
    reason = models.CharField(_("reason"), max_length=200, blank=True, default="")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    area = models.ForeignKey(
        Area,
        verbose_name=_("place"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("points entry")
        verbose_name_plural = _("points ledger")
        constraints = [
            # Once per act: an act earns its rule's points once, whoever tries again.
            models.UniqueConstraint(
                fields=["rule", "act_key"],
                condition=Q(kind__in=["award", "saving"]),
                name="point_entry_once_per_act",
            ),
            # A reversal of points already spent takes back what is left, perhaps nothing:
            # it still marks the act undone. Every other entry moves points.
            models.CheckConstraint(
                condition=~Q(amount=0) | Q(kind="reversal"), name="point_entry_amount_not_zero"
            ),
            models.CheckConstraint(
                condition=~Q(kind__in=["award", "saving"])
                | (Q(rule__isnull=False) & ~Q(act_key="") & Q(amount__gt=0)),
                name="point_entry_award_names_its_act",
            ),
            models.CheckConstraint(
                condition=~Q(kind="manual") | (~Q(reason="") & Q(rule__isnull=True)),
                name="point_entry_manual_has_reason",
            ),
            models.CheckConstraint(
                condition=~Q(kind="reversal") | (Q(reverses__isnull=False) & Q(amount__lte=0)),
                name="point_entry_reversal_names_entry",
            ),
            models.CheckConstraint(
                condition=~Q(kind="redemption") | (Q(item__isnull=False) & Q(amount__lt=0)),
                name="point_entry_redemption_names_item",
            ),
        ]
        indexes = [
            models.Index(fields=["person", "at"], name="point_entry_person_at"),
            models.Index(fields=["community", "at"], name="point_entry_community_at"),
            models.Index(fields=["street", "at"], name="point_entry_street_at"),
            models.Index(fields=["district", "at"], name="point_entry_district_at"),
        ]

    def __str__(self) -> str:
        return f"{self.person_id} {self.amount:+d} {self.get_kind_display()}"


# The balance and the sum earned follow from the append-only ledger (PointEntry, tracked):
# their updates, one per entry, are left out; where a balance is kept and who holds it is not.
@audit.track(exclude=[*audit.ANCESTOR_KEY_FIELDS, "balance", "earned", "updated_at"])
class PointBalance(AncestorKeys):
    """A person's points: ``balance`` (what can be redeemed) and ``earned`` (everything but
    redemptions: what the rankings count), both the sums of their ledger. Placed at the
    person's home (a resident's household, or where they first earned), with its ancestor
    keys, so a community's or a county's ranking is one indexed read."""

    person = models.OneToOneField(
        Person, verbose_name=_("person"), on_delete=models.PROTECT, related_name="point_balance"
    )
    balance = models.IntegerField(_("balance"), default=0)
    earned = models.IntegerField(_("earned"), default=0)
    area = models.ForeignKey(
        Area,
        verbose_name=_("home"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("points balance")
        verbose_name_plural = _("points balances")
        constraints = [
            models.CheckConstraint(
                condition=Q(balance__gte=0),
                name="point_balance_not_negative",
                violation_error_message=_("a balance cannot go below zero"),
            ),
        ]
        # The ranking's order (``selectors.RANKING_ORDER``) under each scope key, and over
        # everyone counted somewhere (the city): the top of a ranking is read from the
        # index, never sorted out of the whole scope.
        indexes = [
            models.Index(fields=[key, "-earned", "-balance", "id"], name=f"point_ranking_{key}")
            for key in ("district", "street", "community", "grid")
        ] + [
            models.Index(
                fields=["-earned", "-balance", "id"],
                condition=Q(area__isnull=False),
                name="point_ranking_all",
            )
        ]

    def __str__(self) -> str:
        return f"{self.person_id}: {self.balance}"


@audit.track()
class RedemptionRequest(models.Model):
    """A resident asking from the resident pages to redeem a reward item: the community's
    worker hands it over (the redemption entry then names the request's points) or declines
    it with a reason. The points are taken only at the hand-over."""

    class State(models.TextChoices):
        REQUESTED = "requested", _("requested")
        HANDED_OVER = "handed_over", _("handed over")
        DECLINED = "declined", _("declined")

    person = models.ForeignKey(
        Person,
        verbose_name=_("person"),
        on_delete=models.PROTECT,
        related_name="redemption_requests",
    )
    item = models.ForeignKey(
        RewardItem, verbose_name=_("reward item"), on_delete=models.PROTECT, related_name="+"
    )
    state = models.CharField(
        _("state"), max_length=16, choices=State.choices, default=State.REQUESTED
    )
    entry = models.OneToOneField(
        PointEntry,
        verbose_name=_("redemption"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="request",
    )
    note = models.CharField(_("what the resident was told"), max_length=200, blank=True, default="")
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)

    class Meta:
        verbose_name = _("redemption request")
        verbose_name_plural = _("redemption requests")
        constraints = [
            # One open request per person and item: a second tap does not queue another.
            models.UniqueConstraint(
                fields=["person", "item"],
                condition=Q(state="requested"),
                name="redemption_request_one_open",
            ),
            models.CheckConstraint(
                condition=~Q(state="handed_over") | Q(entry__isnull=False),
                name="redemption_request_handed_over_has_entry",
            ),
            models.CheckConstraint(
                condition=~Q(state="declined") | ~Q(note=""),
                name="redemption_request_declined_says_why",
            ),
        ]
        indexes = [models.Index(fields=["item", "state"], name="redemption_request_item")]

    def __str__(self) -> str:
        return f"{self.person_id} {self.item_id} {self.state}"
