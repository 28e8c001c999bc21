"""Signing in by mobile number and a one-time code (residents/accounts.py)."""

from __future__ import annotations

import datetime as dt
import re
import threading

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from core.models import TextMessage
from core.ratelimit import RateLimited
from residents import accounts
from residents import services as resident_services
from residents.models import ResidentAccount, SignInCode
from tests.conftest import _id_number

from .conftest import STRANGER, account_for, last_code

IP = "203.0.113.7"


def send(phone=STRANGER, ip=IP):
    return accounts.sign_in_code_send(phone=phone, ip=ip)


def check(code, phone=STRANGER, ip=IP):
    return accounts.sign_in_code_check(phone=phone, code=code, ip=ip)


def test_a_code_is_six_digits_sent_by_sms_and_only_its_keyed_hash_is_kept(db, settings):
    row = send("139 1234 5678")
    code = last_code(STRANGER)
    assert len(code) == 6 and code.isdigit()
    assert row.phone == STRANGER and row.ip == IP
    assert code not in row.code_hash and len(row.code_hash) == 64
    assert row.expires_at - row.created_at == dt.timedelta(seconds=settings.RESIDENT_CODE_TTL)
    message = TextMessage.objects.get()
    assert message.number == "+8613912345678"
    assert message.purpose == TextMessage.Purpose.SIGN_IN
    # Another secret key gives another hash: the hash is keyed.
    settings.SECRET_KEY = "another-secret-key-for-this-test-only"
    assert accounts._code_hash(STRANGER, code) != row.code_hash


def test_the_code_goes_out_after_commit(db, django_capture_on_commit_callbacks):
    from core import sms
    from core.models import TextMessage

    with django_capture_on_commit_callbacks(execute=True):
        send()
    assert [m.number for m in sms.outbox] == ["+8613912345678"]
    (code,) = re.findall(r"\d{6}", sms.outbox[0].text)
    assert check(code).phone == STRANGER
    # Once sent, the outbox keeps no readable code (only SignInCode's keyed hash remains).
    (row,) = TextMessage.objects.filter(purpose=TextMessage.Purpose.SIGN_IN)
    assert row.sent_at is not None and row.text == ""


def test_not_a_mobile_number_is_refused(db):
    with pytest.raises(ValidationError) as caught:
        send("010-12345678")
    assert "phone" in caught.value.message_dict
    assert not SignInCode.objects.exists()


def test_the_right_code_signs_in_once(db):
    send()
    code = last_code(STRANGER)
    account = check(code)
    assert account.phone == STRANGER and account.last_sign_in_at is not None
    assert SignInCode.objects.get().used_at is not None
    with pytest.raises(ValidationError):
        check(code)  # used up


def test_a_code_expires(db, settings):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        send()
    code = last_code(STRANGER)
    expired = start + dt.timedelta(seconds=settings.RESIDENT_CODE_TTL)
    with time_machine.travel(expired, tick=False), pytest.raises(ValidationError):
        check(code)
    assert not ResidentAccount.objects.exists()
    with time_machine.travel(start + dt.timedelta(seconds=settings.RESIDENT_CODE_TTL - 1)):
        assert check(code).phone == STRANGER


def test_a_code_dies_after_five_wrong_tries(db):
    send()
    code = last_code(STRANGER)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(accounts.CODE_MAX_ATTEMPTS):
        with pytest.raises(ValidationError):
            check(wrong)
    assert SignInCode.objects.get().attempts == accounts.CODE_MAX_ATTEMPTS
    with pytest.raises(ValidationError):
        check(code)
    assert not ResidentAccount.objects.exists()


def test_four_wrong_tries_leave_the_code_usable(db):
    send()
    code = last_code(STRANGER)
    for _ in range(accounts.CODE_MAX_ATTEMPTS - 1):
        with pytest.raises(ValidationError):
            check("000000" if code != "000000" else "111111")
    assert check(code).phone == STRANGER


def test_only_the_newest_code_counts(db):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        send()
    first = last_code(STRANGER)
    with time_machine.travel(start + dt.timedelta(seconds=61), tick=False):
        send()
        second = last_code(STRANGER)
        if first != second:
            with pytest.raises(ValidationError):
                check(first)
        assert check(second).phone == STRANGER


def test_one_code_a_minute_per_number(db):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        send()
        with pytest.raises(RateLimited) as caught:
            send(ip="203.0.113.8")
    assert caught.value.retry_after == accounts.SEND_GAP
    assert SignInCode.objects.count() == 1
    with time_machine.travel(start + dt.timedelta(seconds=61), tick=False):
        send()
    assert SignInCode.objects.count() == 2


def test_five_codes_an_hour_per_number(db):
    start = timezone.now()
    for minute in range(accounts.SEND_PER_PHONE_HOUR):
        with time_machine.travel(start + dt.timedelta(minutes=2 * minute), tick=False):
            send(ip=f"203.0.113.{minute + 10}")
    later = start + dt.timedelta(minutes=20)
    with time_machine.travel(later, tick=False), pytest.raises(RateLimited) as caught:
        send(ip="203.0.113.99")
    # Until the first of the five leaves the hour: 40 minutes on.
    assert caught.value.retry_after == accounts.HOUR - 20 * 60
    assert SignInCode.objects.count() == accounts.SEND_PER_PHONE_HOUR
    with time_machine.travel(start + dt.timedelta(minutes=60, seconds=1), tick=False):
        send(ip="203.0.113.99")  # the first has left the hour: one more may go
        with pytest.raises(RateLimited):
            send(ip="203.0.113.98")


def test_twenty_codes_an_hour_per_address(db):
    numbers = [f"1391234{i:04d}" for i in range(accounts.SEND_PER_ADDRESS_HOUR + 1)]
    for number in numbers[:-1]:
        send(number)
    with pytest.raises(RateLimited):
        send(numbers[-1])
    send(numbers[-1], ip="203.0.113.200")  # from elsewhere it goes
    assert SignInCode.objects.count() == accounts.SEND_PER_ADDRESS_HOUR + 1


def test_checks_are_limited_per_number(db):
    send()
    code = last_code(STRANGER)
    wrong = "000000" if code != "000000" else "111111"
    for index in range(accounts.CHECK_PER_PHONE):
        with pytest.raises(ValidationError):
            check(wrong, ip=f"203.0.113.{index + 10}")
    with pytest.raises(RateLimited):
        check(code, ip="203.0.113.99")


def test_checks_are_limited_per_address(db):
    for index in range(accounts.CHECK_PER_ADDRESS):
        with pytest.raises(ValidationError):
            check("123456", phone=f"1391235{index:04d}")  # no code was ever sent
    with pytest.raises(RateLimited):
        check("123456", phone="13912360000")


def test_a_register_match_links_the_account(t):
    resident = t.residents["U1"]
    account = account_for(resident.phone)
    assert account.resident_id == resident.pk
    assert account.display_name == ""


def test_several_residents_with_one_number_link_the_householder_then_the_lowest_id(t):
    household = t.households["U2"]
    phone = "13600001111"
    child = resident_services.resident_create(
        household=household, name="子女", id_number=_id_number(41), phone=phone
    )
    other = resident_services.resident_create(
        household=t.households["U3"], name="另一人", id_number=_id_number(42), phone=phone
    )
    assert accounts.register_match(phone).pk == min(child.pk, other.pk)
    head = t.residents["U2"]
    head.phone = phone
    head.save(update_fields=["phone"])
    assert account_for(phone).resident_id == head.pk


def test_a_number_off_the_register_gets_a_light_account(t):
    account = account_for(STRANGER, display_name="  王 阿姨 ")
    assert account.resident_id is None
    assert account.display_name == "王 阿姨"
    assert ResidentAccount.objects.filter(phone=STRANGER).count() == 1


def test_the_second_sign_in_finds_the_same_account_and_links_it_once_registered(t):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        first = account_for(STRANGER, accept=False)
    assert first.resident_id is None
    resident = t.residents["U3"]
    resident.phone = STRANGER
    resident.save(update_fields=["phone"])
    with time_machine.travel(start + dt.timedelta(minutes=2), tick=False):
        again = account_for(STRANGER, accept=False)
    assert again.pk == first.pk and again.resident_id == resident.pk


def test_a_switched_off_account_cannot_sign_in(db):
    ResidentAccount.objects.create(phone=STRANGER, active=False)
    send()
    with pytest.raises(ValidationError) as caught:
        check(last_code(STRANGER))
    assert "phone" in caught.value.message_dict
    assert SignInCode.objects.get().used_at is None


def test_the_privacy_notice_is_accepted_with_its_version(db):
    account = account_for(STRANGER, accept=False)
    assert not accounts.privacy_accepted(account)
    accounts.account_privacy_accept(account=account)
    account.refresh_from_db()
    assert account.privacy_version == accounts.PRIVACY_VERSION
    assert accounts.privacy_accepted(account)
    account.privacy_version = "old"
    assert not accounts.privacy_accepted(account)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_parallel_asks_for_one_number_send_exactly_the_allowed_codes(monkeypatch):
    """The send limits are read from the codes under a lock per number: of a burst of
    parallel asks, exactly SEND_PER_PHONE_HOUR get a code, however they interleave."""
    monkeypatch.setattr(accounts, "SEND_GAP", 0)
    asks = accounts.SEND_PER_PHONE_HOUR + 4
    gate = threading.Barrier(asks)
    outcomes = []

    def ask(n):
        try:
            gate.wait(timeout=30)
            send(ip=f"203.0.113.{n + 10}")
            outcomes.append("sent")
        except RateLimited:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(asks)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(outcomes) == ["refused"] * 4 + ["sent"] * accounts.SEND_PER_PHONE_HOUR
    assert SignInCode.objects.filter(phone=STRANGER).count() == accounts.SEND_PER_PHONE_HOUR
