"""The daily summary (每日一汇总): per community and per grid, what came in, what moved, what
was solved and what became overdue, every figure checked against the timeline in
``conftest.py``."""

from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse

from digests.models import Digest, DigestDelivery
from digests.services import digests_build, digests_deliver

from .conftest import FRIDAY, FRIDAY_EVENING, THURSDAY, THURSDAY_EVENING, local

D = Digest.Kind.DAILY
ZERO = {"new": 0, "moved": 0, "solved": 0, "overdue": 0}


def counts(new=0, moved=0, solved=0, overdue=0) -> dict:
    return {"new": new, "moved": moved, "solved": solved, "overdue": overdue}


def daily(node, day=THURSDAY) -> Digest:
    return Digest.objects.get(kind=D, node=node, period_start=day)


def parts(digest: Digest) -> dict[str, dict]:
    return {
        p["name"]: {k: p[k] for k in ("new", "moved", "solved", "overdue")}
        for p in digest.figures["parts"]
    }


def items(digest: Digest) -> dict[int, dict]:
    return {t["id"]: t for t in digest.figures["tickets"]}


@pytest.fixture
def thursday(rhythm):
    rhythm.play(THURSDAY_EVENING)
    result = digests_build(kind=D, day=THURSDAY)
    return rhythm, result


def test_one_digest_per_community_and_grid(thursday):
    rhythm, result = thursday
    nodes = {d.node for d in Digest.objects.filter(kind=D, period_start=THURSDAY)}
    w = rhythm.world
    assert nodes == {w.community_a, w.community_b, w.g1, w.g2, w.g3}
    assert (result.created, result.kept, result.rebuilt) == (5, 0, 0)
    digest = daily(w.community_a)
    assert (digest.period_start, digest.period_end) == (THURSDAY, THURSDAY)
    assert digest.figures["as_of"] == THURSDAY_EVENING.isoformat()


def test_community_a_on_thursday(thursday):
    rhythm, _result = thursday
    digest = daily(rhythm.community_a)
    # G1: T2 new and triaged; T4 progressed and solved; T6 lifted by the sweep at 00:05.
    # G2: T3 new (not triaged: not moved); T9 rated and closed (moved, solved on Tuesday).
    # A itself (no grid): T7 new and triaged.
    assert parts(digest) == {
        "第1网格": counts(new=1, moved=3, solved=1, overdue=1),
        "第2网格": counts(new=1, moved=1),
    }
    assert digest.figures["rest"] == counts(new=1, moved=1)
    assert digest.figures["totals"] == counts(new=3, moved=5, solved=1, overdue=1)
    t = rhythm.t
    listed = items(digest)
    assert sorted(listed) == sorted(rhythm.ids("T6", "T4", "T9", "T2", "T3", "T7"))
    assert {k: listed[t["T6"].pk][k] for k in ZERO} == counts(moved=True, overdue=True)
    assert {k: listed[t["T4"].pk][k] for k in ZERO} == counts(moved=True, solved=True)
    assert {k: listed[t["T3"].pk][k] for k in ZERO} == counts(new=True)
    assert listed[t["T2"].pk]["grid"] == "第1网格"
    assert listed[t["T2"].pk]["place"] == "1栋 2单元"
    assert listed[t["T7"].pk]["grid"] == ""
    assert (listed[t["T6"].pk]["state"], listed[t["T6"].pk]["level"]) == ("assigned", "building")


def test_community_b_on_thursday_holds_nothing_of_a(thursday):
    rhythm, _result = thursday
    digest = daily(rhythm.community_b)
    assert parts(digest) == {"第1网格": counts(moved=1, solved=1)}  # T5 solved
    assert digest.figures["totals"] == counts(moved=1, solved=1)
    assert digest.figures["rest"] == ZERO
    assert list(items(digest)) == rhythm.ids("T5")
    others = [f"#{pk} " for pk in rhythm.ids("T6", "T4", "T9", "T2", "T3", "T7")]
    for name in ("莲心社区", "第2网格", "2单元", *others):
        assert name not in digest.text
        assert name not in digest.html


def test_each_grid_on_thursday(thursday):
    rhythm, _result = thursday
    g1, g2, g3 = (daily(rhythm.world.g1), daily(rhythm.world.g2), daily(rhythm.world.g3))
    assert g1.figures["totals"] == counts(new=1, moved=3, solved=1, overdue=1)
    assert g2.figures["totals"] == counts(new=1, moved=1)
    assert g3.figures["totals"] == counts(moved=1, solved=1)
    assert sorted(items(g1)) == sorted(rhythm.ids("T6", "T4", "T2"))
    assert sorted(items(g2)) == sorted(rhythm.ids("T9", "T3"))
    assert g1.figures["parts"] == []
    # a grid's digest is the grid's part only: nothing of the other grid or the community
    assert rhythm.t["T7"].pk not in items(g1) and rhythm.t["T3"].pk not in items(g1)


def test_friday_counts_the_sweep_and_the_ratings(rhythm):
    rhythm.play(THURSDAY_EVENING)
    digests_build(kind=D, day=THURSDAY)
    rhythm.play(FRIDAY_EVENING)
    digests_build(kind=D, day=FRIDAY)
    a, b = daily(rhythm.community_a, FRIDAY), daily(rhythm.community_b, FRIDAY)
    # T1 lifted at 00:05 (moved, became overdue); T4 rated basic (moved). T10 came in on
    # Thursday evening: not Friday's.
    assert parts(a) == {"第1网格": counts(moved=2, overdue=1), "第2网格": ZERO}
    assert a.figures["totals"] == counts(moved=2, overdue=1)
    assert sorted(items(a)) == sorted(rhythm.ids("T1", "T4"))
    # T5 rated unsatisfied and reopened: moved, and not solved
    assert b.figures["totals"] == counts(moved=1)
    # Thursday's digest is stored: T5 reopened since, yet it still says solved on Thursday
    assert daily(rhythm.community_b).figures["totals"] == counts(moved=1, solved=1)


def test_a_deadline_passing_in_the_day_counts_before_the_sweep_flags_it(rhythm):
    """Built after the day ended with no overdue sweep run since: T1's deadline (Thursday
    23:59:59) passed during Thursday and T1 is still open."""
    rhythm.play(local(2025, 3, 7, 0, 1))  # the sweep runs at 00:05
    digests_build(kind=D, day=THURSDAY)
    a = daily(rhythm.community_a)
    assert a.figures["as_of"] == local(2025, 3, 7).isoformat()
    # T1 (deadline passed) and T6 (flagged) became overdue; T10 came in at 19:00
    assert parts(a)["第1网格"] == counts(new=2, moved=4, solved=1, overdue=2)


def test_the_text_and_html_carry_the_figures(thursday):
    rhythm, _result = thursday
    digest = daily(rhythm.community_a)
    assert "莲心社区" in digest.text and "第1网格: 1 / 3 / 1 / 1" in digest.text
    assert f"#{rhythm.t['T6'].pk} 公共设施维修" in digest.text
    assert "<table" in digest.html and "第2网格" in digest.html
    assert "18:00" in digest.text  # counted up to the moment it was built


def test_delivered_to_the_community_and_the_grid_head(thursday):
    rhythm, _result = thursday
    sent = digests_deliver(kind=D)
    assert sent == 3
    to = sorted(m.to[0] for m in mail.outbox)
    assert to == [
        "community@grid.example.org",  # A's worker: A's digest
        "grid_head@grid.example.org",  # G1's head: G1's digest
        "outsider@grid.example.org",  # B's secretary: B's digest
    ]
    by_address = {m.to[0]: m for m in mail.outbox}
    grid_mail = by_address["grid_head@grid.example.org"]
    assert "第1网格" in grid_mail.subject
    assert grid_mail.body.startswith(daily(rhythm.world.g1).text)  # then the link to its page
    html, mimetype = grid_mail.alternatives[0]
    stored = daily(rhythm.world.g1).html
    assert mimetype == "text/html" and html.startswith(stored.rpartition("</body>")[0])
    assert DigestDelivery.objects.filter(sent_at__isnull=True).count() == 0


def test_nobody_without_an_e_mail_address_is_mailed(rhythm, client):
    grid_head = rhythm.user("grid_head")
    grid_head.email = ""
    grid_head.save(update_fields=["email"])
    rhythm.play(THURSDAY_EVENING)
    digests_build(kind=D, day=THURSDAY)
    assert not DigestDelivery.objects.filter(recipient=grid_head).exists()
    assert digests_deliver(kind=D) == 2
    client.force_login(grid_head)  # reads it in the portal all the same
    response = client.get(reverse("digests:digest_detail", args=[daily(rhythm.world.g1).pk]))
    assert response.status_code == 200
