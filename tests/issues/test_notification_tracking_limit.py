"""The tracking SMS a reporter reached by phone gets (``tracking_sms``) is limited per number:
anyone can file problems with any number (Open311, the hotline), and the intake must not be a
way to flood a number with texts. Past the limit the problem is filed, no text is queued and
a warning is logged."""

import datetime as dt
import logging

import pytest
from django.utils import timezone

from core.models import TextMessage
from issues.models import Ticket

pytestmark = pytest.mark.django_db
PHONE = "13812345678"


def _report(t, phone=PHONE):
    return t.report(reporter=None, reporter_phone=phone, channel=Ticket.Channel.HOTLINE)


def _tracking(number="+86" + PHONE):
    return TextMessage.objects.filter(purpose=TextMessage.Purpose.TRACKING, number=number)


def test_past_the_daily_limit_the_problem_is_filed_without_a_text(t, settings, caplog):
    settings.TRACKING_SMS_PER_NUMBER_PER_DAY = 3
    tickets = [_report(t) for _ in range(3)]
    assert _tracking().count() == 3
    with caplog.at_level(logging.WARNING, logger="issues.services.reporters"):
        fourth = _report(t)
    assert Ticket.objects.filter(pk=fourth.pk).exists() and fourth.reporters.count() == 1
    assert _tracking().count() == 3
    (record,) = [r for r in caplog.records if r.name == "issues.services.reporters"]
    assert record.levelno == logging.WARNING
    assert f"#{fourth.pk}" in record.getMessage() and PHONE not in record.getMessage()
    assert len({tk.pk for tk in tickets}) == 3


def test_other_numbers_are_not_held_up(t, settings):
    settings.TRACKING_SMS_PER_NUMBER_PER_DAY = 1
    _report(t)
    _report(t)
    _report(t, phone="13912345678")
    assert _tracking().count() == 1
    assert _tracking("+8613912345678").count() == 1


def test_the_limit_counts_the_last_24_hours_only_and_tracking_texts_only(t, settings):
    settings.TRACKING_SMS_PER_NUMBER_PER_DAY = 2
    TextMessage.objects.create(
        number="+86" + PHONE,
        text="old",
        purpose=TextMessage.Purpose.TRACKING,
        created_at=timezone.now() - dt.timedelta(hours=25),
    )
    TextMessage.objects.create(number="+86" + PHONE, text="code", purpose="sign_in")
    TextMessage.objects.create(number="+86" + PHONE, text="news", purpose="reporter")
    _report(t)
    _report(t)
    _report(t)
    assert _tracking().filter(created_at__gte=timezone.now() - dt.timedelta(hours=1)).count() == 2


def test_the_default_is_five_a_day(t):
    for _ in range(7):
        _report(t)
    assert _tracking().count() == 5


def test_the_count_is_one_query(t, django_assert_num_queries):
    from issues.services import tracking_sms

    ticket = _report(t)
    reporter = ticket.reporters.select_related("ticket__category").get()
    with django_assert_num_queries(2):  # the count, the row written
        tracking_sms(reporter)
