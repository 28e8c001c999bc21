"""``core.webhook.webhook_post`` against a real local robot: the WeCom/DingTalk request shape,
every way a robot can fail to take a message raising ``WebhookError`` without its key, and
the addresses it is never posted to (no SSRF into the portal's own network)."""

import socket

import pytest

from core import webhook
from core.webhook import (
    CONTENT_MAX_CHARS,
    WebhookError,
    WebhookRefused,
    webhook_address_check,
    webhook_post,
    webhook_where,
)
from tests.outside import StubServer

KEY = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"


@pytest.fixture
def robot(settings):
    # The local robot is http on 127.0.0.1: only with WEBHOOK_ALLOW_PRIVATE.
    settings.WEBHOOK_ALLOW_PRIVATE = True
    with StubServer(path=f"/cgi-bin/webhook/send?key={KEY}") as server:
        yield server


@pytest.fixture
def dns(monkeypatch):
    """Names resolve to what the test says (a list per name: one answer per lookup, the
    last one repeated); anything else resolves for real (IP literals)."""
    answers: dict[str, list[str]] = {}
    real = socket.getaddrinfo
    lookups: list[str] = []

    def resolve(host, port, *args, **kwargs):
        lookups.append(host)
        if host not in answers:
            return real(host, port, *args, **kwargs)
        queue = answers[host]
        address = queue.pop(0) if len(queue) > 1 else queue[0]
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(webhook, "_getaddrinfo", resolve)
    answers["lookups"] = lookups  # type: ignore[assignment]
    return answers


def test_the_text_goes_as_a_wecom_dingtalk_text_message(robot):
    text = "您有新问题待办：#7\n楼道灯不亮"
    webhook_post(robot.url, text)
    (request,) = robot.requests
    assert request["path"] == f"/cgi-bin/webhook/send?key={KEY}"
    assert request["headers"]["Content-Type"] == "application/json; charset=utf-8"
    assert robot.bodies() == [{"msgtype": "text", "text": {"content": text}}]
    assert "楼道灯".encode() in request["body"]  # UTF-8, not \u-escaped


def test_a_long_text_is_cut_below_the_robots_limit(robot):
    webhook_post(robot.url, "长" * 5000)
    (body,) = robot.bodies()
    content = body["text"]["content"]
    assert len(content) == CONTENT_MAX_CHARS and content.endswith("…")
    assert len(content.encode("utf-8")) < 2048  # WeCom's limit


@pytest.mark.parametrize(
    ("status", "answer", "says"),
    [
        (200, {"errcode": 45009, "errmsg": "api freq out of limit"}, "errcode 45009"),
        (200, {"errcode": 310000, "errmsg": "keywords not in content"}, "errcode 310000"),
        (200, {"errcode": "93000"}, "errcode 93000"),
        (200, b"<html>gateway secret-echo</html>", "not with JSON"),
        (200, b"[0]", "errcode None"),
        (500, {"errcode": 0}, "HTTP 500"),
        (302, b"", "HTTP 302"),
    ],
)
def test_a_robot_that_does_not_take_it_raises(robot, status, answer, says):
    robot.status, robot.answer = status, answer
    with pytest.raises(WebhookError) as caught:
        webhook_post(robot.url, "hi")
    assert says in str(caught.value)
    assert KEY not in str(caught.value) and "127.0.0.1" in str(caught.value)
    assert "secret-echo" not in str(caught.value)  # status and errcode/errmsg, never the body
    assert len(robot.requests) == 1  # one try: retrying is the outbox's business


def test_a_robot_that_is_down_raises_without_its_key(settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(WebhookError) as caught:
        webhook_post(f"http://127.0.0.1:{port}/robot/send?access_token={KEY}", "hi")
    assert "cannot reach" in str(caught.value) and KEY not in str(caught.value)


def test_a_robot_that_never_answers_times_out(robot):
    robot.delay = 1.5
    with pytest.raises(WebhookError) as caught:
        webhook_post(robot.url, "hi", timeout=0.3)
    assert "no answer within 0.3 s" in str(caught.value) and KEY not in str(caught.value)


@pytest.mark.parametrize("url", ["ftp://robot.example.org/x", "javascript:alert(1)", "/send"])
def test_only_http_addresses_are_posted_to(url):
    with pytest.raises(WebhookError):
        webhook_post(url, "hi")


def test_what_is_shown_of_an_address_leaves_out_key_and_credentials():
    assert webhook_where(f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={KEY}") == (
        "https://qyapi.weixin.qq.com"
    )
    assert webhook_where("https://user:pw@oapi.dingtalk.com:8443/robot/send?access_token=x") == (
        "https://oapi.dingtalk.com:8443"
    )


# --- addresses never posted to (SSRF) ---------------------------------------------------------


def test_without_allow_private_the_local_robot_is_refused_unasked(robot, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    with pytest.raises(WebhookRefused) as caught:
        webhook_post(robot.url, "hi")
    assert caught.value.reason == "scheme" and "https://" in str(caught.value)
    assert robot.requests == []


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "169.254.169.254",  # the cloud's metadata service
        "10.1.2.3",
        "172.16.0.9",
        "192.168.1.20",
        "100.64.0.1",  # shared (carrier-grade NAT)
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "::1",
        "fe80::1",
        "fd00::5",
        "::ffff:127.0.0.1",  # IPv4-mapped: judged as 127.0.0.1
        "::ffff:169.254.169.254",
    ],
)
def test_a_host_resolving_to_a_non_public_address_is_refused(dns, address):
    dns["robot.example.org"] = [address]
    with pytest.raises(WebhookRefused) as caught:
        webhook_post(f"https://robot.example.org/send?key={KEY}", "hi")
    assert caught.value.reason == "private" and caught.value.address == address
    assert "not a public address" in str(caught.value) and KEY not in str(caught.value)


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/send",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::1]:8443/send",
        "https://localhost/send",
    ],
)
def test_private_literals_and_localhost_are_refused(url):
    with pytest.raises(WebhookRefused) as caught:
        webhook_address_check(url)
    assert caught.value.reason == "private"


def test_a_public_host_passes_the_check(dns):
    dns["qyapi.weixin.qq.com"] = ["101.91.40.24"]
    webhook_address_check(f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={KEY}")


def test_a_host_that_does_not_resolve_is_refused(monkeypatch):
    def nowhere(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(webhook, "_getaddrinfo", nowhere)
    with pytest.raises(WebhookRefused) as caught:
        webhook_post("https://robot.invalid/send", "hi")
    assert caught.value.reason == "unresolvable"


def test_a_name_that_resolves_elsewhere_at_connect_time_gets_nowhere(robot, settings, dns):
    """DNS rebinding: public when checked, 127.0.0.1 when connected. The connection goes
    only to an address that was checked at that moment."""
    settings.WEBHOOK_ALLOW_PRIVATE = False
    dns["rebind.example.org"] = ["93.184.216.34", "127.0.0.1"]
    with pytest.raises(WebhookRefused) as caught:
        webhook_post(f"https://rebind.example.org:{robot.port}/send?key={KEY}", "hi")
    assert caught.value.address == "127.0.0.1"
    assert dns["lookups"] == ["rebind.example.org", "rebind.example.org"]
    assert robot.requests == []


def test_allow_private_takes_http_and_private_addresses(settings, dns):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    dns["robot.lan"] = ["192.168.1.20"]
    webhook_address_check("http://robot.lan/send")
    webhook_address_check("https://127.0.0.1/send")
