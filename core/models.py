"""The ground floor's one table: the text-message outbox, and the audit history of
django.contrib.auth's accounts (``core.audit.accounts``). Everything else in ``core`` is
functions, template tags and abstract shapes."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.audit import accounts  # noqa: F401 (the accounts' history tables are core's)
from core.outbox import OutboxRow
from core.privacy import mask_phone

# A sign-in message whose code is still readable: waiting to be sent, or sent and not yet
# blanked (``core.sms.sign_in_codes_forget``). A partial index holds just these.
_CODE_UNBLANKED = Q(purpose="sign_in") & ~Q(text="")


class TextMessage(OutboxRow):
    """One SMS, written in the same transaction as what it tells of and sent after commit
    through ``settings.SMS_BACKEND`` (``core.sms.sms_queue``): a sign-in code (its text
    blanked once sent), a tracking link, news for a reporter. Sent at least once, with the
    same message id on every attempt so the gateway can drop a duplicate. A notification to
    a worker by SMS is not one of these: it is a delivery row of the notification outbox
    (``issues.NotificationDelivery``), one outbox per message."""

    class Purpose(models.TextChoices):
        SIGN_IN = "sign_in", _("sign-in code")
        TRACKING = "tracking", _("tracking link for a reporter")
        REPORTER = "reporter", _("news for a reporter")

    CODE_UNBLANKED = _CODE_UNBLANKED

    number = models.CharField(_("mobile"), max_length=20)
    text = models.TextField(_("text"))
    purpose = models.CharField(_("purpose"), max_length=16, choices=Purpose.choices)

    class Meta:
        verbose_name = _("text message")
        verbose_name_plural = _("text messages")
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["created_at"], condition=Q(sent_at__isnull=True), name="textmessage_unsent"
            ),
            # The sweep's blanking of sent sign-in codes: a handful of rows, not every code
            # ever sent.
            models.Index(
                fields=["sent_at"], condition=_CODE_UNBLANKED, name="textmessage_code_unblanked"
            ),
            # Tracking texts to one number in the last day (issues' per-number limit).
            models.Index(fields=["number", "created_at"], name="textmessage_number_created"),
            # The daily pruning of old rows, and the admin's list (newest first).
            models.Index(fields=["created_at"], name="textmessage_created"),
        ]

    def __str__(self) -> str:
        return f"{mask_phone(self.number.removeprefix('+86'))} · {self.get_purpose_display()}"
