"""Where a notification goes besides the list (``delivery_channels``) and how each channel is
sent (``notification_deliver``) against real local servers: an SMS gateway and a WeCom/
DingTalk robot that go down and come back. One outbox row per message: nothing is lost,
nothing is sent twice, a failing channel holds up no other."""

import pytest
from django.contrib.auth.models import User
from django.core import mail

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
def robot():
    with StubServer(path=f"/cgi-bin/webhook/send?key={KEY}") as server:
        yield server


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
    ("url", "valid"),
    [
        (f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={KEY}", True),
        ("http://oapi.dingtalk.com/robot/send?access_token=abc", True),
        ("", True),
        ("ftp://robot.example.org/send", False),
        ("javascript:alert(1)", False),
    ],
)
def test_the_admin_takes_http_robot_addresses_only(t, url, valid):
    form = NotificationChannelsForm(
        data={"user": t.users["unit_head"].pk, "email": "on", "webhook_url": url}
    )
    assert form.is_valid() is valid, form.errors
    if not valid:
        assert "webhook_url" in form.errors


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
