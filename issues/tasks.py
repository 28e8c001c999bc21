"""Celery tasks: thin wrappers around services. Ids in, never model instances."""

import logging

from celery import shared_task
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from issues import services
from issues.models import Notification

log = logging.getLogger(__name__)


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_notifications(ids: list[int]) -> int:
    return notifications_send(ids)


def notifications_send(ids) -> int:
    """Send the given outbox rows that are still unsent. Each row is claimed under a row lock,
    so a retried task or a parallel sweep never sends one twice."""
    sent = 0
    for pk in ids:
        with transaction.atomic():
            row = (
                Notification.objects.select_for_update(skip_locked=True)
                .filter(pk=pk, sent_at__isnull=True)
                .first()
            )
            if row is None:
                continue
            row.attempts += 1
            if row.email:
                send_mail(row.subject, row.body, None, [row.email], fail_silently=False)
            row.sent_at = timezone.now()
            row.save(update_fields=["sent_at", "attempts"])
            sent += 1
    return sent


@shared_task
def notifications_sweep() -> int:
    """Send what a down broker left behind."""
    pending = Notification.objects.filter(sent_at__isnull=True).order_by("pk")
    return notifications_send(list(pending.values_list("pk", flat=True)[:1000]))


@shared_task
def escalate_overdue() -> int:
    return services.tickets_escalate_overdue()


@shared_task
def close_unrated() -> int:
    return services.tickets_close_unrated()
