"""The text-message outbox (``core.sms.sms_queue`` → ``core.models.TextMessage`` →
``sms_send_rows``/``sms_sweep``) against a real local gateway: written with the change, sent
after commit, at least once with the same id; a gateway or a broker that is down loses
nothing, sends nothing twice and fails no request."""

import logging

import pytest
from django.db import transaction

from core import sms, tasks
from core.models import TextMessage
from core.outbox import MAX_ATTEMPTS, outbox_broker_reset, outbox_message_id
from tests.outside import StubServer, broker_down

pytestmark = pytest.mark.django_db
TOKEN = "gateway-token-not-to-be-logged"
NUMBER = "138 0013 8000"


@pytest.fixture(autouse=True)
def _broker_up():
    outbox_broker_reset()  # an earlier test's dead broker is not this one's


@pytest.fixture
def gateway(settings):
    with StubServer(answer={"ok": True}, path="/sms/send") as server:
        settings.SMS_BACKEND = "core.sms.HttpBackend"
        settings.SMS_HTTP_URL = server.url
        settings.SMS_HTTP_TOKEN = TOKEN
        settings.SMS_HTTP_TIMEOUT = 5
        yield server


def _queue(text="您的验证码是 123456", purpose=TextMessage.Purpose.SIGN_IN):
    return sms.sms_queue(NUMBER, text, purpose=purpose)


def _id(row) -> str:
    return outbox_message_id(row, "sms").strip("<>")


def test_a_message_is_written_now_and_sent_once_after_commit(
    gateway, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        row = _queue()
        assert (row.number, row.purpose, row.sent_at) == ("+8613800138000", "sign_in", None)
        assert gateway.requests == []  # not before the commit

    (request,) = gateway.requests
    assert gateway.bodies() == [{"to": "+8613800138000", "text": row.text, "id": _id(row)}]
    assert request["headers"]["Idempotency-Key"] == _id(row)
    row.refresh_from_db()
    assert row.sent_at is not None and row.attempts == 1 and row.last_error == ""
    assert tasks.text_messages_sweep() == 0 and len(gateway.requests) == 1


def test_nothing_is_written_or_sent_when_the_change_rolls_back(
    gateway, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        _queue()
        raise RuntimeError("the request failed after queueing")
    assert callbacks == [] and not TextMessage.objects.exists() and gateway.requests == []


def test_a_number_that_is_no_mobile_is_refused_before_anything_is_written(gateway):
    with pytest.raises(ValueError):
        sms.sms_queue("010-6512 3456", "hi", purpose=TextMessage.Purpose.REPORTER)
    assert not TextMessage.objects.exists()


def test_a_gateway_that_is_down_loses_nothing_and_sends_nothing_twice(
    gateway, django_capture_on_commit_callbacks
):
    gateway.stop()
    with django_capture_on_commit_callbacks(execute=True):
        row = _queue()
    row.refresh_from_db()
    assert (row.sent_at, row.attempts, row.claimed_at) == (None, 1, None)
    assert row.last_error.startswith("SmsError: ") and TOKEN not in row.last_error
    assert tasks.text_messages_sweep() == 0  # still down: tried again, still unsent
    row.refresh_from_db()
    assert (row.sent_at, row.attempts) == (None, 2)

    gateway.start()  # back, on the same address
    assert tasks.text_messages_sweep() == 1
    assert tasks.text_messages_sweep() == 0
    assert gateway.bodies() == [{"to": "+8613800138000", "text": row.text, "id": _id(row)}]
    row.refresh_from_db()
    assert row.sent_at is not None and row.attempts == 3 and row.last_error == ""


def test_a_refusing_gateway_is_asked_again_with_the_same_id(gateway):
    gateway.status, gateway.answer = 503, {"error": "busy"}
    row = _queue()  # no commit in this test: the sweep is what sends it
    assert tasks.text_messages_sweep() == 0
    row.refresh_from_db()
    assert "503" in row.last_error and row.sent_at is None

    gateway.status, gateway.answer = 200, {"ok": True}
    assert tasks.text_messages_sweep() == 1
    keys = [r["headers"]["Idempotency-Key"] for r in gateway.requests]
    assert keys == [_id(row), _id(row)]  # so the gateway can drop a duplicate
    assert [b["id"] for b in gateway.bodies()] == keys


def test_a_message_that_keeps_failing_is_given_up_and_holds_up_no_other(gateway):
    gateway.stop()
    first = _queue("第一条")
    for _ in range(MAX_ATTEMPTS + 2):
        tasks.text_messages_sweep()
    first.refresh_from_db()
    assert (first.sent_at, first.attempts) == (None, MAX_ATTEMPTS)

    gateway.start()
    second = _queue("第二条")
    assert tasks.text_messages_sweep() == 1
    assert [b["text"] for b in gateway.bodies()] == ["第二条"]
    second.refresh_from_db()
    assert second.sent_at is not None


def test_a_down_broker_fails_no_request_and_the_sweep_sends_later(
    gateway, django_capture_on_commit_callbacks, caplog
):
    caplog.set_level(logging.INFO, logger="core.outbox")
    with broker_down(), django_capture_on_commit_callbacks(execute=True) as callbacks:
        first, second = _queue("一"), _queue("二")
    assert len(callbacks) == 2  # both ran, neither raised
    assert "broker unreachable" in caplog.text
    assert "broker marked down" in caplog.text  # the second did not wait on it again
    assert gateway.requests == []
    assert TextMessage.objects.filter(sent_at=None, attempts=0).count() == 2

    assert tasks.text_messages_sweep() == 2  # as beat runs it
    assert tasks.text_messages_sweep() == 0
    assert sorted(b["text"] for b in gateway.bodies()) == ["一", "二"]
    assert {b["id"] for b in gateway.bodies()} == {_id(first), _id(second)}


def test_a_sent_sign_in_code_is_blanked_and_other_texts_are_kept(gateway):
    code = _queue("验证码 271828")
    news = _queue("您反映的问题已办结", purpose=TextMessage.Purpose.REPORTER)
    assert sms.sms_send_rows(ids=[code.pk, news.pk]) == 2
    code.refresh_from_db()
    news.refresh_from_db()
    assert code.sent_at is not None and code.text == ""
    assert news.text == "您反映的问题已办结"
    assert any(b"271828" in r["body"] for r in gateway.requests)  # it did go out first


def test_an_unsent_sign_in_code_keeps_its_text_until_sent(gateway):
    gateway.stop()
    code = _queue("验证码 314159")
    assert sms.sms_send_rows(ids=[code.pk]) == 0
    code.refresh_from_db()
    assert (code.sent_at, code.text) == (None, "验证码 314159")
    gateway.start()
    assert sms.sms_sweep() == 1
    code.refresh_from_db()
    assert code.text == "" and code.sent_at is not None
