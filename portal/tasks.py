"""Celery tasks of the project package: thin wrappers (STYLE.md, "Celery")."""

from celery import shared_task


@shared_task
def sign_in_logs_prune() -> dict:
    """Nightly: the sign-in logs older than SIGN_IN_LOG_KEEP_DAYS, and spent lockouts."""
    from portal import auth

    return auth.sign_in_logs_prune()
