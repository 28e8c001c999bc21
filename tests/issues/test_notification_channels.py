"""Where a notification goes besides the list (``delivery_channels``) and how each channel is
sent (``notification_deliver``) against real local servers: an SMS gateway and a WeCom/
DingTalk robot that go down and come back. One outbox row per message: nothing is lost,
nothing is sent twice, a failing channel holds up no other."""

import socket

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.utils import translation

from core import webhook
from core.models import TextMessage
from core.outbox import outbox_message_id
from issues import tasks
from issues.admin import NotificationChannelsForm
from issues.models import Notification, NotificationChannels, NotificationDelivery
from issues.services import delivery_channels, notify
from tests.outside import StubServer

C = NotificationDelivery.Channel
KEY = "robot-key-0123456789"


@pytest.fixture
def robot(settings):
    # The local robot is http on 127.0.0.1: only with WEBHOOK_ALLOW_PRIVATE.
    settings.WEBHOOK_ALLOW_PRIVATE = True
    with StubServer(path=f"/cgi-bin/webhook/send?key={KEY}") as server:
        yield server


PUBLIC = {"qyapi.weixin.qq.com": "101.91.40.24", "oapi.dingtalk.com": "203.119.169.1"}
INSIDE = {"robot.corp.example": "10.20.0.8"}


@pytest.fixture
def dns(monkeypatch):
    """The robots' names resolve as in PUBLIC and INSIDE (no DNS in the tests)."""
    real = socket.getaddrinfo

    def resolve(host, port, *args, **kwargs):
        address = PUBLIC.get(host) or INSIDE.get(host)
        if address is None:
            return real(host, port, *args, **kwargs)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(webhook, "_getaddrinfo", resolve)


@pytest.fixture
def gateway(settings):
    with StubServer(answer={"ok": True}, path="/sms") as server:
        settings.SMS_BACKEND = "core.sms.HttpBackend"
        settings.SMS_HTTP_URL = server.url
        settings.SMS_HTTP_TOKEN = "tok"
        yield server


def _set(t, persona, *, address=None, phone=None, **channels):
    user = t.users[persona]
    if address is not None:
        user.email = address
        user.save(update_fields=["email"])
    if phone is not None:
        person = t.persons[persona]
        person.phone = phone
        person.save(update_fields=["phone"])
    if channels:
        NotificationChannels.objects.update_or_create(user=user, defaults=channels)
    return user


# --- which channels ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("email", "phone", "chosen", "expected"),
    [
        ("h@x.org", "13912345678", {}, [("email", "h@x.org")]),
        ("", "13912345678", {}, [("sms", "+8613912345678")]),
        (
            "h@x.org",
            "139-1234-5678",
            {"sms": True},
            [("email", "h@x.org"), ("sms", "+8613912345678")],
        ),
        ("h@x.org", "13912345678", {"email": False}, [("sms", "+8613912345678")]),
        ("", "010-65123456", {}, []),  # a landline takes no SMS: the list only
        ("", "", {}, []),
        (
            "h@x.org",
            "13912345678",
            {"webhook_url": f"https://qyapi.weixin.qq.com/send?key={KEY}"},
            [("email", "h@x.org"), ("webhook", f"https://qyapi.weixin.qq.com/send?key={KEY}")],
        ),
        ("h@x.org", "", {"webhook_url": "ftp://robot.example.org/"}, [("email", "h@x.org")]),
    ],
)
def test_delivery_channels(t, email, phone, chosen, expected):
    user = _set(t, "unit_head", address=email, phone=phone, **chosen)
    assert delivery_channels([user]) == {user.pk: expected}


def test_delivery_channels_take_two_queries_for_any_number(t, django_assert_num_queries):
    users = list(User.objects.all())
    assert len(users) > 5
    with django_assert_num_queries(2):
        delivery_channels(users)


def test_a_robot_shared_by_several_is_posted_to_once(t, robot):
    for persona in ("grid_head", "community"):
        _set(t, persona, webhook_url=robot.url)
    notify(
        ticket=None,
        users=[t.users["grid_head"], t.users["community"]],
        subject="s",
        body="b",
    )
    assert NotificationDelivery.objects.filter(channel=C.WEBHOOK).count() == 1
    assert Notification.objects.filter(recipient__isnull=False).count() == 2
    assert tasks.notifications_sweep() == 3  # two mails, one robot post
    assert len(robot.requests) == 1


def test_a_notification_sms_has_one_outbox_row_only(t, gateway):
    """Not also a TextMessage: the delivery row is the SMS's outbox."""
    _set(t, "unit_head", address="")
    t.report("U1", tier="simple")
    (delivery,) = NotificationDelivery.objects.all()
    assert delivery.channel == C.SMS
    # The reporter's tracking text is the SMS outbox's; the notification is not.
    assert set(TextMessage.objects.values_list("purpose", flat=True)) <= {
        TextMessage.Purpose.TRACKING
    }
    assert tasks.notifications_sweep() == 1
    (request,) = [r for r in gateway.requests if b"notification-" in r["body"]]
    assert request["headers"]["Idempotency-Key"] == outbox_message_id(
        delivery, "notification"
    ).strip("<>")


# --- a robot or a gateway that is down --------------------------------------------------------


def test_a_robot_that_is_down_loses_nothing_and_sends_nothing_twice(t, robot):
    _set(t, "unit_head", webhook_url=robot.url)
    robot.stop()
    ticket = t.report("U1", tier="simple")
    assert tasks.notifications_sweep() == 1  # the e-mail went; the robot did not
    posted = NotificationDelivery.objects.get(channel=C.WEBHOOK)
    assert (posted.sent_at, posted.attempts, posted.claimed_at) == (None, 1, None)
    assert posted.last_error.startswith("WebhookError: cannot reach")
    assert KEY not in posted.last_error

    robot.start()  # back on the same address
    assert tasks.notifications_sweep() == 1
    assert tasks.notifications_sweep() == 0
    (body,) = robot.bodies()
    note = posted.notification
    assert body["msgtype"] == "text"
    assert body["text"]["content"].startswith(f"{note.subject}\n{note.body}")
    assert body["text"]["content"].endswith(f"/tickets/{ticket.pk}/")
    assert len(mail.outbox) == 1  # the e-mail was not sent again
    posted.refresh_from_db()
    assert posted.sent_at is not None and posted.attempts == 2 and posted.last_error == ""


def test_a_robot_answering_a_nonzero_errcode_has_not_taken_it(t, robot):
    _set(t, "unit_head", address="", phone="", webhook_url=robot.url)
    robot.answer = {"errcode": 45009, "errmsg": "api freq out of limit"}
    t.report("U1", tier="simple")
    assert tasks.notifications_sweep() == 0
    posted = NotificationDelivery.objects.get()
    assert posted.sent_at is None and "errcode 45009" in posted.last_error

    robot.answer = {"errcode": 0, "errmsg": "ok"}
    assert tasks.notifications_sweep() == 1
    assert len(robot.requests) == 2


def test_a_gateway_that_is_down_gets_the_same_message_id_when_back(t, gateway):
    _set(t, "unit_head", address="")
    gateway.stop()
    t.report("U1", tier="simple")
    assert tasks.notifications_sweep() == 0
    delivery = NotificationDelivery.objects.get()
    assert delivery.last_error.startswith("SmsError") and delivery.sent_at is None

    gateway.status = 503
    gateway.start()
    assert tasks.notifications_sweep() == 0  # refused: tried, recorded, kept
    gateway.status = 200
    assert tasks.notifications_sweep() == 1
    assert tasks.notifications_sweep() == 0
    ids = [r["headers"]["Idempotency-Key"] for r in gateway.requests]
    expected = outbox_message_id(delivery, "notification").strip("<>")
    assert ids == [expected, expected]
    delivery.refresh_from_db()
    assert delivery.sent_at is not None and delivery.attempts == 3


# --- the admin --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "refused"),
    [
        (f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={KEY}", None),
        ("https://oapi.dingtalk.com/robot/send?access_token=abc", None),
        ("", None),
        ("http://oapi.dingtalk.com/robot/send?access_token=abc", "scheme"),
        ("ftp://robot.example.org/send", "scheme"),
        ("javascript:alert(1)", "invalid"),  # not a URL at all
        ("https://169.254.169.254/latest/meta-data/", "private"),
        ("https://127.0.0.1:6379/", "private"),
        ("https://[::1]/send", "private"),
        ("https://robot.corp.example/send", "private"),  # a name for an inside address
    ],
)
def test_the_admin_takes_https_robots_at_public_addresses_only(t, dns, url, refused):
    form = NotificationChannelsForm(
        data={"user": t.users["unit_head"].pk, "email": "on", "webhook_url": url}
    )
    assert form.is_valid() is (refused is None), form.errors
    if refused:
        (error,) = form.errors.as_data()["webhook_url"]
        assert error.code == refused


def test_the_admin_says_why_an_inside_address_is_refused(t, dns):
    form = NotificationChannelsForm(
        data={
            "user": t.users["unit_head"].pk,
            "email": "on",
            "webhook_url": "https://robot.corp.example/send",
        }
    )
    with translation.override("en"):
        assert not form.is_valid()
        (message,) = form.errors["webhook_url"]
    assert "robot.corp.example" in message and "10.20.0.8" in message
    assert "private network" in message


def test_an_inside_address_saved_before_is_refused_at_send_time(t, dns):
    """A robot's address that was taken before (or that resolves elsewhere now) is checked
    again at every send: a WebhookError on the delivery, nothing posted."""
    _set(t, "unit_head", address="", phone="", webhook_url=f"https://169.254.169.254/x?key={KEY}")
    t.report("U1", tier="simple")
    assert tasks.notifications_sweep() == 0
    posted = NotificationDelivery.objects.get(channel=C.WEBHOOK)
    assert posted.sent_at is None and posted.attempts == 1
    assert posted.last_error.startswith("WebhookRefused: ")
    assert "169.254.169.254" in posted.last_error and KEY not in posted.last_error


def test_the_admin_shows_no_robot_key(t, client):
    _set(t, "unit_head", webhook_url=f"https://qyapi.weixin.qq.com/send?key={KEY}")
    t.report("U1", tier="simple")
    admin = User.objects.create_superuser("root", password="pw-for-tests-1")
    client.force_login(admin)
    delivery = NotificationDelivery.objects.get(channel=C.WEBHOOK)
    for url in (
        f"/admin/issues/notification/{delivery.notification_id}/change/",
        f"/admin/issues/notificationdelivery/{delivery.pk}/change/",
        "/admin/issues/notificationdelivery/",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert KEY not in response.content.decode(), url
