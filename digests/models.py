"""The rhythm (每日一汇总、每周一督促、每月一调度): one stored digest per (kind, node, period),
holding its figures, and one delivery row per recipient so that nothing is ever mailed twice.
The mail (text and HTML) is rendered from the figures when it is sent, as the portal page is
when it is read: building a whole city's digests renders nothing."""

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from core.outbox import OutboxRow
from grids.models import Area


class Digest(models.Model):
    class Kind(models.TextChoices):
        DAILY = "daily", _("daily summary")
        WEEKLY = "weekly", _("weekly supervision")
        MONTHLY = "monthly", _("monthly dispatch")

    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    node = models.ForeignKey(
        Area, verbose_name=_("area"), on_delete=models.PROTECT, related_name="digests"
    )
    period_start = models.DateField(_("first day"))
    period_end = models.DateField(_("last day"))
    figures = models.JSONField(_("figures"), default=dict, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    built_at = models.DateTimeField(
        _("figures computed at"),
        default=timezone.now,
        help_text=_("Later than the creation when the digest was rebuilt."),
    )

    class Meta:
        verbose_name = _("digest")
        verbose_name_plural = _("digests")
        ordering = ["-period_start", "kind", "node_id"]
        indexes = [models.Index(fields=["kind", "period_start"], name="digest_kind_period")]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "node", "period_start"], name="digest_once_per_period"
            ),
            models.CheckConstraint(
                condition=Q(period_end__gte=F("period_start")), name="digest_period_order"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.node_id} {self.period_start:%Y-%m-%d}"

    @cached_property
    def mail(self) -> tuple[str, str]:
        """The e-mail's text and HTML, rendered from the figures (``rendering.render_digest``)
        once per instance."""
        from digests.rendering import render_digest  # rendering reads this module

        return render_digest(self)

    @property
    def text(self) -> str:
        return self.mail[0]

    @property
    def html(self) -> str:
        return self.mail[1]


class DigestDelivery(OutboxRow):
    """One digest mailed to one recipient. The row is written with the digest and claimed,
    sent and marked by ``core.outbox``; ``sent_at`` set means it is never sent again."""

    digest = models.ForeignKey(
        Digest, verbose_name=_("digest"), on_delete=models.PROTECT, related_name="deliveries"
    )
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("to"),
        on_delete=models.CASCADE,
        related_name="digest_deliveries",
    )
    email = models.EmailField(_("e-mail"))

    class Meta:
        verbose_name = _("digest delivery")
        verbose_name_plural = _("digest deliveries")
        ordering = ["-created_at", "pk"]
        indexes = [
            models.Index(
                fields=["created_at"],
                condition=Q(sent_at__isnull=True),
                name="digest_delivery_pending",
            )
        ]
        constraints = [
            models.UniqueConstraint(fields=["digest", "recipient"], name="digest_delivery_once"),
        ]

    def __str__(self) -> str:
        return f"{self.digest_id} → {self.email}"
