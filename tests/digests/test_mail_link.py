"""Digest e-mails link to the digest's page in the portal."""

import datetime as dt

import pytest
from django.core import mail
from django.urls import reverse

from digests.models import Digest
from digests.services import digest_mail

pytestmark = pytest.mark.django_db


def test_the_mail_links_to_the_page(world, settings):
    settings.PORTAL_BASE_URL = "https://portal.example.gov.cn/"
    digest = Digest.objects.create(
        kind="daily",
        node=world.community_a,
        period_start=dt.date(2026, 11, 20),
        period_end=dt.date(2026, 11, 20),
        figures={},
    )
    # The mail as rendered from the figures (Digest.mail): here a stand-in, the link is the point.
    digest.__dict__["mail"] = ("汇总\n", "<html><body><p>汇总</p></body></html>")
    digest_mail(digest=digest, email="community@example.org")
    (message,) = mail.outbox
    link = "https://portal.example.gov.cn" + reverse("digests:digest_detail", args=[digest.pk])
    assert link in message.body
    html, _mime = message.alternatives[0]
    assert f'href="{link}"' in html
    assert html.index(link) < html.index("</body>")  # inside the body, after the digest
