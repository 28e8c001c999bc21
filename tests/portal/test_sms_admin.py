"""The SMS outbox in the admin: the operator sees what went out, what waits and why it
failed, with numbers masked and sign-in codes never shown."""

import pytest
from django.urls import reverse

from core.models import TextMessage

pytestmark = pytest.mark.django_db


def test_the_outbox_list_masks_numbers_and_shows_failures(login_as):
    TextMessage.objects.create(
        number="+8613912345678",
        text="验证码 481516",
        purpose="sign_in",
        attempts=2,
        last_error="SmsError: the gateway answered HTTP 503",
    )
    client = login_as("admin")
    page = client.get(reverse("admin:core_textmessage_changelist"))
    html = page.content.decode()
    assert page.status_code == 200
    assert "13912345678" not in html and "481516" not in html
    assert "the gateway answered HTTP 503" in html


def test_a_sign_in_code_is_never_shown_and_other_texts_are_scrubbed(login_as):
    code = TextMessage.objects.create(
        number="+8613912345678", text="验证码 481516", purpose="sign_in"
    )
    news = TextMessage.objects.create(
        number="+8613912345678", text="您反映的问题已办结，联系人13800138000", purpose="reporter"
    )
    client = login_as("admin")
    shown = client.get(reverse("admin:core_textmessage_change", args=[code.pk])).content.decode()
    assert "481516" not in shown and "13912345678" not in shown
    other = client.get(reverse("admin:core_textmessage_change", args=[news.pk])).content.decode()
    assert "您反映的问题已办结" in other and "13800138000" not in other


def test_nobody_adds_changes_or_deletes_a_message(login_as):
    row = TextMessage.objects.create(number="+8613912345678", text="x", purpose="reporter")
    client = login_as("admin")
    assert client.get(reverse("admin:core_textmessage_add")).status_code == 403
    assert client.post(reverse("admin:core_textmessage_delete", args=[row.pk])).status_code == 403
    assert TextMessage.objects.filter(pk=row.pk).exists()


def test_a_tracking_link_is_shown_without_its_token(login_as):
    token = "Zq8vN3kP-x_4TtR7wYb2cLm9"
    rows = [
        TextMessage.objects.create(
            number="+8613912345678",
            text=f"您反映的问题 #12 已受理，查看进度并评价：https://portal.example.org/t/{token}/",
            purpose="tracking",
        ),
        TextMessage.objects.create(
            number="+8613912345678",
            text=f"您反映的问题已办结 https://portal.example.org/t/{token}/ 请评价",
            purpose="reporter",
        ),
    ]
    client = login_as("admin")
    for row in rows:
        shown = client.get(reverse("admin:core_textmessage_change", args=[row.pk]))
        html = shown.content.decode()
        assert shown.status_code == 200
        assert token not in html
        assert "https://portal.example.org/t/…/" in html


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("看 https://x.org/t/abc-_9/ 谢谢", "看 https://x.org/t/…/ 谢谢"),
        ("看 https://x.org/t/abc", "看 https://x.org/t/…/"),
        ("a /t/one/ and /t/two/", "a /t/…/ and /t/…/"),
        ("no link here", "no link here"),
    ],
)
def test_tracking_tokens_hidden(text, shown):
    from core.admin import tracking_tokens_hidden

    assert tracking_tokens_hidden(text) == shown
