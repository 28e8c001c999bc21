"""Celery tasks: thin wrappers around services. Ids in, never model instances."""

from celery import shared_task

from issues import services


@shared_task(acks_late=True)
def send_notifications(ids: list[int]) -> int:
    """A failed mail is recorded on its row and left for the sweep: no task retry needed."""
    return services.notifications_send(ids=ids)


@shared_task
def notifications_sweep() -> int:
    return services.notifications_sweep()


@shared_task
def escalate_overdue() -> int:
    return services.tickets_escalate_overdue()


@shared_task
def close_unrated() -> int:
    return services.tickets_close_unrated()
