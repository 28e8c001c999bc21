"""What the SMS outbox keeps, and for how long: sent sign-in codes are blanked by a sweep that
touches only the rows still holding text (a partial index), rows are deleted after
``TEXT_MESSAGE_KEEP_DAYS``, and one helper decides which numbers take an SMS."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core import sms, tasks
from core.models import TextMessage
from core.outbox import MAX_ATTEMPTS

pytestmark = pytest.mark.django_db
P = TextMessage.Purpose
NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)


def _row(*, days_ago=0, sent=True, attempts=1, purpose=P.REPORTER, text="您反映的问题已办结"):
    created = NOW - dt.timedelta(days=days_ago)
    return TextMessage.objects.create(
        number="+8613912345678",
        text=text,
        purpose=purpose,
        created_at=created,
        sent_at=created if sent else None,
        attempts=attempts,
    )


# --- pruning -----------------------------------------------------------------------------------


def test_sent_and_given_up_rows_older_than_the_window_are_deleted():
    old_sent = _row(days_ago=91)
    old_given_up = _row(days_ago=120, sent=False, attempts=MAX_ATTEMPTS)
    old_still_to_send = _row(days_ago=120, sent=False, attempts=1)  # never lost
    recent_sent = _row(days_ago=89)
    recent_given_up = _row(days_ago=10, sent=False, attempts=MAX_ATTEMPTS)

    assert sms.text_messages_prune(now=NOW) == 2
    kept = set(TextMessage.objects.values_list("pk", flat=True))
    assert kept == {old_still_to_send.pk, recent_sent.pk, recent_given_up.pk}
    assert not TextMessage.objects.filter(pk__in=[old_sent.pk, old_given_up.pk]).exists()


def test_the_window_comes_from_the_setting_or_the_argument(settings):
    _row(days_ago=40)
    _row(days_ago=20)
    settings.TEXT_MESSAGE_KEEP_DAYS = 30
    assert sms.text_messages_prune(now=NOW) == 1
    assert sms.text_messages_prune(now=NOW, days=10) == 1
    assert not TextMessage.objects.exists()
    with pytest.raises(ValueError):
        sms.text_messages_prune(now=NOW, days=0)


def test_pruning_goes_in_batches(monkeypatch):
    from core import batches

    monkeypatch.setattr(batches, "DELETE_BATCH", 2)
    for days in (100, 101, 102, 103, 104):
        _row(days_ago=days)
    with CaptureQueriesContext(connection) as queries:
        assert sms.text_messages_prune(now=NOW) == 5
    deletes = [q for q in queries.captured_queries if q["sql"].startswith("DELETE")]
    assert len(deletes) == 3


def test_the_task_prunes_with_the_setting(settings):
    settings.TEXT_MESSAGE_KEEP_DAYS = 1
    row = TextMessage.objects.create(
        number="+8613912345678",
        text="x",
        purpose=P.TRACKING,
        created_at=timezone.now() - dt.timedelta(days=2),
        sent_at=timezone.now() - dt.timedelta(days=2),
    )
    assert tasks.text_messages_prune() == 1
    assert not TextMessage.objects.filter(pk=row.pk).exists()


# --- blanking sent sign-in codes ---------------------------------------------------------------


def test_the_sweep_blanks_only_sent_codes_still_holding_text():
    waiting = _row(purpose=P.SIGN_IN, sent=False, text="验证码 111111")
    sent = _row(purpose=P.SIGN_IN, text="验证码 222222")
    blanked = _row(purpose=P.SIGN_IN, text="")
    news = _row(purpose=P.REPORTER, text="您反映的问题已办结")
    assert sms.sign_in_codes_forget() == 1
    texts = dict(TextMessage.objects.values_list("pk", "text"))
    assert texts == {waiting.pk: "验证码 111111", sent.pk: "", blanked.pk: "", news.pk: news.text}


def test_a_sign_in_message_given_up_is_blanked_too():
    """A code or one-time password that could not be sent is not kept readable either."""
    from core.outbox import MAX_ATTEMPTS

    given_up = _row(purpose=P.SIGN_IN, sent=False, text="初始密码 Abc123xyz")
    TextMessage.objects.filter(pk=given_up.pk).update(attempts=MAX_ATTEMPTS)
    trying = _row(purpose=P.SIGN_IN, sent=False, text="验证码 444444")
    TextMessage.objects.filter(pk=trying.pk).update(attempts=MAX_ATTEMPTS - 1)
    assert sms.sign_in_codes_forget() == 1
    texts = dict(TextMessage.objects.values_list("pk", "text"))
    assert texts == {given_up.pk: "", trying.pk: "验证码 444444"}


def _plan(sql: str) -> str:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL enable_seqscan = off")  # a small table: make it choose
            cursor.execute(f"EXPLAIN {sql}")
        else:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
        return "\n".join(str(row) for row in cursor.fetchall())


def test_the_sweeps_blanking_reads_the_partial_index_not_every_code_sent():
    for _ in range(30):
        _row(purpose=P.SIGN_IN, text="")  # blanked long ago: not to be read again
    _row(purpose=P.SIGN_IN, text="验证码 333333")
    with CaptureQueriesContext(connection) as queries:
        assert sms.sign_in_codes_forget() == 1
    (update,) = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("UPDATE")]
    assert "textmessage_code_unblanked" in _plan(update)


def test_the_index_holds_only_sign_in_rows_with_text():
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, TextMessage._meta.db_table)
    assert constraints["textmessage_code_unblanked"]["columns"] == ["sent_at"]
    assert constraints["textmessage_number_created"]["columns"] == ["number", "created_at"]


# --- which numbers take an SMS -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "number"),
    [
        ("13912345678", "+8613912345678"),
        ("+86 139-1234-5678", "+8613912345678"),
        ("010-65123456", None),  # a landline
        ("", None),
        (None, None),
        ("12345", None),
    ],
)
def test_sms_number_or_none(raw, number):
    assert sms.sms_number_or_none(raw) == number
