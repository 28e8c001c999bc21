"""Celery tasks: thin wrappers around services. Ids in, never model instances.

Each task imports the services inside its body, and the services queue tasks with
``transaction.on_commit`` importing the task inside the function: neither module imports
the other at load time (STYLE.md, "Celery")."""

from celery import shared_task


@shared_task(acks_late=True)
def send_notifications(ids: list[int]) -> int:
    """A failed mail is recorded on its row and left for the sweep: no task retry needed."""
    from issues import services

    return services.notifications_send(ids=ids)


@shared_task
def notifications_sweep() -> int:
    from issues import services

    return services.notifications_sweep()


@shared_task
def escalate_overdue() -> int:
    from issues import services

    return services.tickets_escalate_overdue() + services.parts_escalate_overdue()


@shared_task
def close_unrated() -> int:
    from issues import services

    return services.tickets_close_unrated()
