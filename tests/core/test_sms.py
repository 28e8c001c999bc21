"""SMS backends: the console line, the test outbox, and the HTTP gateway against a real local
HTTP server (request shape, headers, failures that raise SmsError without the token)."""

import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from core import sms
from core.sms import (
    ConsoleBackend,
    HttpBackend,
    LocmemBackend,
    SmsError,
    SmsMessage,
    get_sms_backend,
    send_sms,
    sms_number_normalise,
)

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "s3cret-token-value"


class Gateway:
    """A real HTTP server on 127.0.0.1 (a free port) recording every request it gets."""

    def __init__(self, *, status=200, body=b'{"ok": true}', delay=0.0):
        self.status, self.body, self.delay = status, body, delay
        self.requests = []
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                gateway.requests.append(
                    {
                        "path": self.path,
                        "headers": dict(self.headers.items()),
                        "body": self.rfile.read(length),
                    }
                )
                if gateway.delay:
                    time.sleep(gateway.delay)
                try:
                    self.send_response(gateway.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(gateway.body)))
                    self.end_headers()
                    self.wfile.write(gateway.body)
                except OSError:
                    pass  # the client gave up (timeout test)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/sms/send"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def http_settings(settings):
    settings.SMS_BACKEND = "core.sms.HttpBackend"
    settings.SMS_HTTP_TOKEN = TOKEN
    settings.SMS_HTTP_TIMEOUT = 10
    return settings


def _closed_port_url():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/sms"


# --- the backend setting -----------------------------------------------------------------------


def test_sms_backend_default_is_console_and_tests_use_locmem(settings):
    assert settings.SMS_BACKEND == "core.sms.LocmemBackend"
    assert isinstance(get_sms_backend(), LocmemBackend)
    assert isinstance(get_sms_backend("core.sms.ConsoleBackend"), ConsoleBackend)
    probe = (
        "import django; from django.conf import settings; django.setup(); "
        "print(settings.SMS_BACKEND)"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMS_")}
    env["DJANGO_SETTINGS_MODULE"] = "portal.settings"
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "core.sms.ConsoleBackend"


def test_sms_backend_http_without_url_fails_at_start_up():
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMS_")}
    env.update(DJANGO_SETTINGS_MODULE="portal.settings", SMS_BACKEND="core.sms.HttpBackend")
    out = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert out.returncode != 0
    assert "SMS_HTTP_URL" in out.stderr


def test_sms_message_is_frozen():
    message = SmsMessage(number="+8613800138000", text="hi", message_id="m1")
    with pytest.raises(AttributeError):
        message.text = "changed"


# --- console and locmem ------------------------------------------------------------------------


def test_console_backend_logs_one_line_per_message(caplog):
    backend = ConsoleBackend()
    caplog.set_level(logging.INFO, logger="portal.sms")
    sent = backend.send(
        [
            SmsMessage(number="+8613800138000", text="第一行\n第二行\r\nthird", message_id="a"),
            SmsMessage(number="+8613900139000", text="hello", message_id="b"),
        ]
    )
    assert sent == 2
    lines = [r.getMessage() for r in caplog.records if r.name == "portal.sms"]
    assert lines == ["SMS +8613800138000: 第一行 第二行 third", "SMS +8613900139000: hello"]


def test_send_sms_through_console_normalises_the_number(settings, caplog):
    settings.SMS_BACKEND = "core.sms.ConsoleBackend"
    caplog.set_level(logging.INFO, logger="portal.sms")
    assert send_sms("138 0013 8000", "验证码 123456", message_id="login-1") == 1
    assert [r.getMessage() for r in caplog.records if r.name == "portal.sms"] == [
        "SMS +8613800138000: 验证码 123456"
    ]


def test_locmem_backend_appends_to_outbox():
    assert send_sms("13800138000", "您的诉求已受理", message_id="n-42") == 1
    assert send_sms("+86 139-0013-9000", "second", message_id="n-43") == 1
    assert sms.outbox == [
        SmsMessage(number="+8613800138000", text="您的诉求已受理", message_id="n-42"),
        SmsMessage(number="+8613900139000", text="second", message_id="n-43"),
    ]


def test_send_sms_refuses_a_bad_number_before_the_backend():
    with pytest.raises(ValueError, match="not a mainland China mobile number"):
        send_sms("12345", "x", message_id="m")
    assert sms.outbox == []


def test_send_sms_refuses_an_unusable_message_id():
    for bad in ("", "has space", "line\nbreak", "x" * 201):
        with pytest.raises(ValueError, match="message id"):
            send_sms("13800138000", "x", message_id=bad)
    assert sms.outbox == []


# --- number normalisation ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "13800138000",
        "+8613800138000",
        "8613800138000",
        "008613800138000",
        "138 0013 8000",
        "138-0013-8000",
        "+86 138 0013 8000",
        " 13800138000 ",
    ],
)
def test_number_normalised_to_e164(raw):
    assert sms_number_normalise(raw) == "+8613800138000"


@pytest.mark.parametrize("prefix", ["13", "14", "15", "16", "17", "18", "19"])
def test_number_every_mobile_prefix_accepted(prefix):
    assert sms_number_normalise(prefix + "012345678") == "+86" + prefix + "012345678"


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "12800138000",  # 12x is not a mobile prefix
        "10086",
        "1380013800",  # 10 digits
        "138001380001",  # 12 digits
        "02812345678",  # landline
        "+12025550123",  # not mainland
        "+85291234567",  # Hong Kong
        "1380013800a",
        "١٣٨٠٠١٣٨٠٠٠",  # Arabic-Indic digits: digits to \d, not to a phone
    ],
)
def test_number_refused_with_clear_value_error(raw):
    with pytest.raises(ValueError, match="not a mainland China mobile number"):
        sms_number_normalise(raw)


def test_number_not_a_string_refused():
    with pytest.raises(ValueError, match="must be a string"):
        sms_number_normalise(13800138000)


# --- HTTP backend against a real server --------------------------------------------------------


def test_http_backend_posts_json_with_bearer_and_idempotency_key(http_settings):
    with Gateway() as gateway:
        http_settings.SMS_HTTP_URL = gateway.url
        assert send_sms("138 0013 8000", "验证码 123456\n5分钟内有效", message_id="otp-7") == 1
    assert len(gateway.requests) == 1
    request = gateway.requests[0]
    assert request["path"] == "/sms/send"
    assert json.loads(request["body"].decode("utf-8")) == {
        "to": "+8613800138000",
        "text": "验证码 123456\n5分钟内有效",
        "id": "otp-7",
    }
    assert "验证码".encode() in request["body"]  # UTF-8, not \u-escaped
    headers = {k.lower(): v for k, v in request["headers"].items()}
    assert headers["authorization"] == f"Bearer {TOKEN}"
    assert headers["idempotency-key"] == "otp-7"
    assert headers["content-type"] == "application/json; charset=utf-8"


def test_http_backend_sends_each_message_with_its_own_id(http_settings):
    with Gateway(status=202, body=b"") as gateway:
        backend = get_sms_backend(url=gateway.url)
        sent = backend.send(
            [
                SmsMessage(number="+8613800138000", text="a", message_id="m-1"),
                SmsMessage(number="+8613900139000", text="b", message_id="m-2"),
            ]
        )
    assert sent == 2
    assert [json.loads(r["body"])["id"] for r in gateway.requests] == ["m-1", "m-2"]
    assert [r["headers"]["Idempotency-Key"] for r in gateway.requests] == ["m-1", "m-2"]


def test_http_backend_without_token_sends_no_authorization(http_settings):
    http_settings.SMS_HTTP_TOKEN = ""
    with Gateway() as gateway:
        http_settings.SMS_HTTP_URL = gateway.url
        send_sms("13800138000", "x", message_id="m")
    assert "Authorization" not in gateway.requests[0]["headers"]


def test_http_backend_500_raises_sms_error_without_the_token(http_settings):
    body = f'{{"error": "backend exploded", "echo": "Bearer {TOKEN}"}}'.encode()
    with Gateway(status=500, body=body) as gateway:
        http_settings.SMS_HTTP_URL = gateway.url
        with pytest.raises(SmsError) as caught:
            send_sms("13800138000", "x", message_id="m-500")
    message = str(caught.value)
    assert "HTTP 500" in message
    assert "backend exploded" in message
    assert "m-500" in message
    assert TOKEN not in message
    assert TOKEN not in repr(caught.value.__cause__) and caught.value.__cause__ is None


def test_http_backend_4xx_raises_sms_error_with_short_excerpt(http_settings):
    with Gateway(status=400, body=b"bad number " + b"x" * 5000) as gateway:
        http_settings.SMS_HTTP_URL = gateway.url
        with pytest.raises(SmsError, match="HTTP 400") as caught:
            send_sms("13800138000", "x", message_id="m")
    assert "bad number" in str(caught.value)
    assert len(str(caught.value)) < 400


def test_http_backend_redirect_is_not_followed(http_settings):
    with Gateway(status=302, body=b"") as gateway:
        http_settings.SMS_HTTP_URL = gateway.url
        with pytest.raises(SmsError, match="HTTP 302"):
            send_sms("13800138000", "x", message_id="m")
    assert len(gateway.requests) == 1


def test_http_backend_connection_refused_raises_sms_error(http_settings):
    http_settings.SMS_HTTP_URL = _closed_port_url()
    with pytest.raises(SmsError, match="cannot reach the gateway") as caught:
        send_sms("13800138000", "x", message_id="m-refused")
    assert TOKEN not in str(caught.value)


def test_http_backend_slow_gateway_beyond_timeout_raises_sms_error(http_settings):
    http_settings.SMS_HTTP_TIMEOUT = 0.5
    with Gateway(delay=2.0) as gateway:
        http_settings.SMS_HTTP_URL = gateway.url
        started = time.monotonic()
        with pytest.raises(SmsError, match="no answer within 0.5 s"):
            send_sms("13800138000", "x", message_id="m-slow")
        assert time.monotonic() - started < 1.8
    assert len(gateway.requests) == 1


def test_http_backend_needs_a_url(http_settings):
    http_settings.SMS_HTTP_URL = ""
    with pytest.raises(ImproperlyConfigured, match="SMS_HTTP_URL"):
        get_sms_backend()
    with pytest.raises(ImproperlyConfigured, match="SMS_HTTP_URL"):
        HttpBackend(url="ftp://example.com/")
