"""Rate limits (core.ratelimit) on what the public or a scraper could hammer: the Open311 API
(reads per address, filings per address and per key, photos per address), the reveal of a
resident's full numbers (per worker and per address), the resident pages' sign-in codes
(per number and per address, asked for and tried). Each answers 429 with Retry-After — the
API in its own error list — and a down cache lets everything through uncounted."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from core import ratelimit, sms
from issues import open311
from issues import services as issue_services
from issues.models import Category, Ticket
from residents import accounts

pytestmark = pytest.mark.django_db

BASE = "/open311/v2"
FORM = "application/x-www-form-urlencoded"
X, Y = "198.51.100.7", "203.0.113.9"


@pytest.fixture
def category(db):
    return Category.objects.create(code="streetlight", name="路灯不亮")


@pytest.fixture
def api_key(db):
    return issue_services.api_key_create(name="12345热线", channel=Ticket.Channel.HOTLINE)


def _filing(world, raw_key, n=0):
    return {
        "api_key": raw_key,
        "service_code": "streetlight",
        "address_id": world.u1.code,
        "description": f"3栋门口路灯不亮 {n}",
        "first_name": "三丰",
        "last_name": "张",
        "phone": "13812345678",
    }


def _post(client, data, ip=X, fmt="json"):
    return client.post(f"{BASE}/requests.{fmt}", urlencode(data), content_type=FORM, REMOTE_ADDR=ip)


# --- Open311 -----------------------------------------------------------------------------------


def test_reads_are_limited_per_address(client, world, category, settings):
    settings.OPEN311_READS_PER_MINUTE = 3
    for _ in range(3):
        assert client.get(f"{BASE}/services.json", REMOTE_ADDR=X).status_code == 200
    response = client.get(f"{BASE}/requests.json", REMOTE_ADDR=X)
    assert response.status_code == 429
    assert response["Retry-After"] == "60"
    (error,) = response.json()  # the spec's error list
    assert error["code"] == 429 and "60" in error["description"]
    assert client.get(f"{BASE}/services.json", REMOTE_ADDR=Y).status_code == 200


def test_the_limit_is_answered_in_xml_too(client, world, category, settings):
    settings.OPEN311_READS_PER_MINUTE = 1
    client.get(f"{BASE}/services.xml", REMOTE_ADDR=X)
    response = client.get(f"{BASE}/services.xml", REMOTE_ADDR=X)
    assert response.status_code == 429 and response["Retry-After"] == "60"
    body = response.content.decode()
    assert "<errors><error><code>429</code>" in body


def test_the_default_read_limit(client, world, category, settings):
    assert settings.OPEN311_READS_PER_MINUTE == 120
    for _ in range(120):
        assert client.get(f"{BASE}/services.json", REMOTE_ADDR=X).status_code == 200
    assert client.get(f"{BASE}/services.json", REMOTE_ADDR=X).status_code == 429


def test_filings_are_limited_per_address_before_the_key_is_checked(
    client, world, category, api_key, settings
):
    settings.OPEN311_CREATES_PER_MINUTE = 3
    _key, raw = api_key
    for n in range(3):
        assert _post(client, _filing(world, f"guess-{n}")).status_code == 403
    response = _post(client, _filing(world, raw))  # the right key, too late
    assert response.status_code == 429 and response["Retry-After"] == "60"
    assert response.json()[0]["code"] == 429
    assert not Ticket.objects.exists()
    assert _post(client, _filing(world, raw), ip=Y).status_code == 201


def test_filings_are_limited_per_key(client, world, category, api_key, settings):
    settings.OPEN311_CREATES_PER_KEY_HOUR = 2
    _key, raw = api_key
    assert _post(client, _filing(world, raw, 1), ip=X).status_code == 201
    assert _post(client, _filing(world, raw, 2), ip=Y).status_code == 201
    response = _post(client, _filing(world, raw, 3), ip="192.0.2.1")  # any address
    assert response.status_code == 429 and response["Retry-After"] == str(60 * 60)
    assert Ticket.objects.count() == 2
    other_key, other_raw = issue_services.api_key_create(
        name="小程序", channel=Ticket.Channel.MINI_PROGRAM
    )
    assert _post(client, _filing(world, other_raw, 4), ip=X).status_code == 201


def test_photos_are_limited_per_address(client, monkeypatch):
    monkeypatch.setattr(open311, "PHOTOS_PER_ADDRESS_MINUTE", 2)
    url = f"{BASE}/photos/{'a' * 43}.png"
    assert client.get(url, REMOTE_ADDR=X).status_code == 404
    assert client.get(url, REMOTE_ADDR=X).status_code == 404
    response = client.get(url, REMOTE_ADDR=X)
    assert response.status_code == 429 and response["Retry-After"] == "60"
    assert client.get(url, REMOTE_ADDR=Y).status_code == 404


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _down_cache():
    return override_settings(
        CACHES={
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": f"redis://127.0.0.1:{_closed_port()}/1",
                "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
            }
        }
    )


def test_a_down_cache_lets_the_api_through_uncounted(client, world, category, api_key, caplog):
    _key, raw = api_key
    with _down_cache():
        assert client.get(f"{BASE}/services.json", REMOTE_ADDR=X).status_code == 200
        assert _post(client, _filing(world, raw)).status_code == 201
    assert "cache unreachable" in caplog.text and "failing open" in caplog.text


# --- the reveal of a resident's full numbers ---------------------------------------------------


def _reveal(client, resident, field="id_number", ip=X, **extra):
    url = reverse("residents:resident_reveal", args=[resident.pk, field])
    return client.post(url, REMOTE_ADDR=ip, **extra)


def test_reveals_are_limited_per_worker(client, world, monkeypatch):
    monkeypatch.setattr(ratelimit, "REVEALS_PER_USER", 3)
    client.force_login(world.users["community"])
    resident = world.residents["U1"]
    for _ in range(3):
        assert _reveal(client, resident).status_code == 200
    response = _reveal(client, resident, "phone")
    assert response.status_code == 429 and response["Retry-After"] == str(10 * 60)
    assert "3" in response.content.decode()
    # From another address it is the same worker: still refused.
    assert _reveal(client, resident, ip=Y).status_code == 429
    # Another worker is not held up.
    other = Client()
    other.force_login(world.users["grid_head"])
    assert _reveal(other, resident).status_code == 200


def test_reveals_are_limited_per_address(client, world, monkeypatch):
    monkeypatch.setattr(ratelimit, "REVEALS_PER_ADDRESS", 1)
    resident = world.residents["U1"]
    first, second = Client(), Client()
    first.force_login(world.users["community"])
    second.force_login(world.users["grid_head"])
    assert _reveal(first, resident).status_code == 200
    assert _reveal(second, resident).status_code == 429
    assert _reveal(second, resident, ip=Y).status_code == 200


def test_a_reporters_phone_shares_the_count_of_reveals(client, world, category, monkeypatch):
    monkeypatch.setattr(ratelimit, "REVEALS_PER_USER", 2)
    ticket = issue_services.ticket_report(
        area=world.u1,
        category=category,
        channel="walk_in",
        description="楼道灯不亮",
        reporter_phone="13900000009",
        actor=world.users["unit_head"],
    )
    client.force_login(world.users["community"])
    assert _reveal(client, world.residents["U1"]).status_code == 200
    phone = reverse("issues:reporter_phone", args=[ticket.pk])
    description = reverse("issues:description_reveal", args=[ticket.pk])
    assert client.post(phone, REMOTE_ADDR=X).status_code == 200
    response = client.post(description, REMOTE_ADDR=X, HTTP_HX_REQUEST="true")
    assert response.status_code == 429 and response["Retry-After"] == str(10 * 60)
    assert _reveal(client, world.residents["U1"]).status_code == 429


def test_a_refused_reveal_logs_nothing(client, world, monkeypatch):
    from residents.models import AccessLog

    monkeypatch.setattr(ratelimit, "REVEALS_PER_USER", 1)
    client.force_login(world.users["community"])
    resident = world.residents["U1"]
    _reveal(client, resident)
    logged = AccessLog.objects.count()
    assert _reveal(client, resident).status_code == 429
    assert AccessLog.objects.count() == logged


def test_a_refused_reveal_under_htmx_is_a_message_in_place(client, world, monkeypatch):
    monkeypatch.setattr(ratelimit, "REVEALS_PER_USER", 0)
    client.force_login(world.users["community"])
    response = _reveal(client, world.residents["U1"], HTTP_HX_REQUEST="true")
    assert response.status_code == 429
    html = response.content.decode()
    assert 'id="too-many"' in html and "portal-navbar" not in html


# --- the resident pages' sign-in codes ---------------------------------------------------------


def _ask_code(client, phone, ip=X):
    return client.post(reverse("citizens:sign_in"), {"phone": phone}, REMOTE_ADDR=ip)


def test_codes_are_limited_per_number(client, db, monkeypatch):
    """One a minute, SEND_PER_PHONE_HOUR an hour for one number, from any address."""
    sms.outbox.clear()
    assert _ask_code(client, "13900000001").status_code == 302
    response = _ask_code(Client(), "13900000001", ip=Y)
    assert response.status_code == 429 and 1 <= int(response["Retry-After"]) <= 60
    monkeypatch.setattr(accounts, "SEND_GAP", 0)
    for _ in range(accounts.SEND_PER_PHONE_HOUR - 1):
        assert _ask_code(Client(), "13900000001", ip=Y).status_code == 302
    response = _ask_code(Client(), "13900000001", ip="192.0.2.1")
    # Until the first code leaves the hour: the codes above went out within seconds.
    assert response.status_code == 429 and 60 * 60 - 60 <= int(response["Retry-After"]) <= 60 * 60


def test_codes_are_limited_per_address(db, monkeypatch):
    monkeypatch.setattr(accounts, "SEND_PER_ADDRESS_HOUR", 3)
    for n in range(3):
        assert _ask_code(Client(), f"1390000001{n}").status_code == 302
    response = _ask_code(Client(), "13900000019")
    assert response.status_code == 429 and 60 * 60 - 60 <= int(response["Retry-After"]) <= 60 * 60
    assert _ask_code(Client(), "13900000019", ip=Y).status_code == 302


def test_code_sends_stay_limited_with_the_cache_down(db, monkeypatch):
    """Every code sent is a text message: its limits are counted from the codes in the
    database, not the cache's counters that fail open, so a down Redis lifts no brake."""
    sms.outbox.clear()
    monkeypatch.setattr(accounts, "SEND_GAP", 0)
    monkeypatch.setattr(accounts, "SEND_PER_ADDRESS_HOUR", 3)
    with _down_cache():
        for n in range(accounts.SEND_PER_PHONE_HOUR):
            assert _ask_code(Client(), "13900000001", ip=f"192.0.2.{n + 10}").status_code == 302
        assert _ask_code(Client(), "13900000001", ip="192.0.2.1").status_code == 429
        for n in range(3):
            assert _ask_code(Client(), f"1390000002{n}").status_code == 302
        assert _ask_code(Client(), "13900000029").status_code == 429
    assert accounts.SignInCode.objects.count() == accounts.SEND_PER_PHONE_HOUR + 3


def test_code_tries_are_limited_per_number_and_address(client, db, monkeypatch):
    monkeypatch.setattr(accounts, "CHECK_PER_PHONE", 2)
    assert _ask_code(client, "13900000001").status_code == 302
    url = reverse("citizens:sign_in_code")
    for _ in range(2):
        assert client.post(url, {"code": "000000"}, REMOTE_ADDR=X).status_code == 200
    response = client.post(url, {"code": "000000"}, REMOTE_ADDR=Y)
    assert response.status_code == 429 and response["Retry-After"] == str(60 * 60)
