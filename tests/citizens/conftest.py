"""The resident pages' world: the ticket workflow's world (``tests/issues/conftest.py``) and
helpers that sign residents in through the real services."""

from __future__ import annotations

import re

import pytest

from core.models import TextMessage
from residents import accounts
from tests.issues.conftest import Ticketing

# A number on nobody's register, and the register's resident of U1 (居民U1).
STRANGER = "13912345678"
CODE_RE = re.compile(r"(?<!\d)(\d{6})(?!\d)")


@pytest.fixture
def t(world) -> Ticketing:
    return Ticketing(world)


def last_code(phone: str) -> str:
    """The code in the newest sign-in text to ``phone`` (the outbox row the SMS goes out
    from)."""
    row = TextMessage.objects.filter(
        number=f"+86{phone}", purpose=TextMessage.Purpose.SIGN_IN
    ).latest("created_at", "pk")
    return CODE_RE.search(row.text)[1]


def account_for(phone: str, *, accept: bool = True, display_name: str = ""):
    """An account signed in through the services (code sent, read, checked), the privacy
    notice accepted unless ``accept`` is False."""
    accounts.sign_in_code_send(phone=phone, ip="198.51.100.1")
    account = accounts.sign_in_code_check(phone=phone, code=last_code(phone), ip="198.51.100.1")
    if accept:
        account = accounts.account_privacy_accept(account=account, display_name=display_name)
    return account


def as_resident(client, account):
    """``client`` signed in on the resident pages as ``account``."""
    from citizens.session import SESSION_KEY

    session = client.session
    session[SESSION_KEY] = account.pk
    session.save()
    return client


@pytest.fixture
def resident(t):
    """居民U1 (on the register, householder of U1) signed in, notice accepted."""
    return account_for(t.residents["U1"].phone)


@pytest.fixture
def stranger(t):
    return account_for(STRANGER, display_name="王阿姨")
