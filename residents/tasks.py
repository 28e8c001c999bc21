"""Celery tasks of the residents app: thin wrappers (STYLE.md, "Celery")."""

from celery import shared_task


@shared_task
def sign_in_codes_prune() -> int:
    from residents import accounts

    return accounts.sign_in_codes_prune()
