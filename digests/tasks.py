"""Celery tasks: thin wrappers around the services. Beat runs ``run_due_digests`` with
"daily", "weekly" or "monthly" (seeded from ``BEAT_SCHEDULE_SEED``, edited in the admin)."""

from celery import shared_task

from digests import services


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def run_due_digests(kind: str) -> dict:
    """Build the due digests of ``kind`` (catching up on missed periods) and mail them.
    Safe to run again after a worker died half-way: one digest per node and period, and no
    mail sent twice."""
    result = services.digests_run_due(kind=kind)
    return {
        "created": result.created,
        "kept": result.kept,
        "rebuilt": result.rebuilt,
        "sent": result.sent,
    }


@shared_task
def digests_sweep() -> int:
    """Mail what a run left unsent (a worker killed mid-run): see ``digests_sweep``."""
    return services.digests_sweep()
