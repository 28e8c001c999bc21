"""``manage.py run_digest daily|weekly|monthly [--date] [--node] [--rebuild] [--no-mail]``."""

from __future__ import annotations

import io

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.utils import translation

from digests.models import Digest, DigestDelivery

from .conftest import FRIDAY_EVENING, THURSDAY_EVENING, local


def run(*args) -> str:
    """The command's report, in English (the Chinese catalog is filled separately)."""
    out = io.StringIO()
    with translation.override("en"):
        call_command("run_digest", *args, stdout=out)
    return out.getvalue().strip()


def test_today_then_again(rhythm):
    rhythm.play(THURSDAY_EVENING)
    assert run("daily") == (
        "daily 2025-03-06–2025-03-06: 5 created, 0 kept, 0 rebuilt; 3 e-mails sent"
    )
    assert run("daily") == (
        "daily 2025-03-06–2025-03-06: 0 created, 5 kept, 0 rebuilt; 0 e-mails sent"
    )
    assert len(mail.outbox) == 3


def test_a_past_day_under_one_node(rhythm):
    rhythm.play(FRIDAY_EVENING)
    out = run("daily", "--date", "2025-03-04", "--node", rhythm.community_a.code)
    assert out.startswith("daily 2025-03-04–2025-03-04: 3 created")  # A, G1 and G2
    nodes = {d.node for d in Digest.objects.all()}
    assert nodes == {rhythm.community_a, rhythm.world.g1, rhythm.world.g2}


def test_rebuild_mails_nothing_again(rhythm):
    rhythm.play(THURSDAY_EVENING)
    run("daily")
    rhythm.play(FRIDAY_EVENING)
    assert run("daily", "--date", "2025-03-06", "--rebuild") == (
        "daily 2025-03-06–2025-03-06: 0 created, 0 kept, 5 rebuilt; 0 e-mails sent"
    )
    assert len(mail.outbox) == 3


def test_weekly_and_monthly_default_to_the_last_full_period(rhythm):
    rhythm.play(local(2025, 4, 2, 9, 0))
    # the two communities', the street's and the county's
    assert run("weekly").startswith("weekly 2025-03-24–2025-03-30: 4 created")
    assert run("monthly").startswith("monthly 2025-03-01–2025-03-31: 2 created")
    assert run("weekly", "--date", "2025-03-05").startswith("weekly 2025-03-03–2025-03-09")


def test_no_mail(rhythm):
    rhythm.play(THURSDAY_EVENING)
    assert run("daily", "--no-mail").endswith("5 created, 0 kept, 0 rebuilt; 0 e-mails sent")
    assert not DigestDelivery.objects.exists() and not mail.outbox


@pytest.mark.parametrize(
    "args",
    [
        ("weekly", "--date", "2025-03-06"),  # the week is not over
        ("monthly", "--date", "2025-03-01"),
        ("daily", "--date", "2025-03-07"),  # tomorrow
        ("daily", "--date", "6 March"),
        ("daily", "--node", "000000"),
    ],
)
def test_refused(rhythm, args):
    rhythm.play(THURSDAY_EVENING)
    with pytest.raises(CommandError):
        run(*args)
    assert not Digest.objects.exists()
