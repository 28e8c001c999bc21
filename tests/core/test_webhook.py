"""``core.webhook.webhook_post`` against a real local robot: the WeCom/DingTalk request shape,
and every way a robot can fail to take a message raising ``WebhookError`` without its key."""

import socket

import pytest

from core.webhook import CONTENT_MAX_CHARS, WebhookError, webhook_post, webhook_where
from tests.outside import StubServer

KEY = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"


@pytest.fixture
def robot():
    with StubServer(path=f"/cgi-bin/webhook/send?key={KEY}") as server:
        yield server


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
        (200, b"<html>gateway</html>", "other than JSON"),
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
    assert len(robot.requests) == 1  # one try: retrying is the outbox's business


def test_a_robot_that_is_down_raises_without_its_key():
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
