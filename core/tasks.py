"""Celery tasks of the ground floor: thin wrappers, ids in (STYLE.md, "Celery")."""

from celery import shared_task


@shared_task(acks_late=True)
def send_text_messages(ids: list[int]) -> int:
    """A failed send is recorded on its row and left for the sweep: no task retry needed."""
    from core import sms

    return sms.sms_send_rows(ids=ids)


@shared_task
def text_messages_sweep() -> int:
    from core import sms

    return sms.sms_sweep()


@shared_task
def text_messages_prune() -> int:
    """Daily: delete the rows sent or given up more than TEXT_MESSAGE_KEEP_DAYS ago."""
    from core import sms

    return sms.text_messages_prune()
