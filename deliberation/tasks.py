"""Celery tasks: thin wrappers around services (STYLE.md, "Celery")."""

from celery import shared_task


@shared_task
def proposals_close_due() -> int:
    """Close the proposals whose voting window has ended and freeze their results."""
    from deliberation import services

    return services.proposals_close_due()
