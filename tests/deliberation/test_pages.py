"""The workers' pages (/proposals/) and the residents' (/r/proposals/): allowed, outsider
404, wrong role 403, wrong method 405; lists at a fixed number of queries."""

import datetime as dt
import io

import pytest
from django.urls import reverse
from PIL import Image

from deliberation import services
from deliberation.models import Ballot, PaperBallot, Proposal, ProposalAttachment, RollEntry
from tests.citizens.conftest import account_for, as_resident

from .conftest import START, fresh, proposal_in

pytestmark = pytest.mark.django_db
S = Proposal.State


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(out, "PNG")
    return out.getvalue()


# --- workers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "persona, status",
    [
        ("community", 200),
        ("grid_head", 200),
        ("unit_head", 200),
        ("county", 200),
        ("admin", 200),
        ("department", 403),
    ],
)
def test_the_list_opens_for_every_post_and_refuses_a_department(login_as, persona, status):
    assert login_as(persona).get(reverse("deliberation:proposal_list")).status_code == status


def test_the_list_shows_only_proposals_in_scope(world, login_as, clock):
    mine = proposal_in(world, title="莲心改造")
    theirs = services.proposal_create(
        area=fresh(world.community_b),
        title="旴江停车",
        text="x",
        voting_closes_at=START + dt.timedelta(days=3),
        actor=world.users["outsider"],
    )
    page = login_as("community").get(reverse("deliberation:proposal_list")).content.decode()
    assert f'data-proposal="{mine.pk}"' in page and f'data-proposal="{theirs.pk}"' not in page
    assert "莲心社区" in page  # the place as its path


def test_the_list_filters_by_area_and_state(world, login_as, clock):
    on_b1 = proposal_in(world, area=world.b1, title="1栋加装电梯")
    on_community = proposal_in(world, S.DISCUSSION, title="小区停车")
    client = login_as("community")
    url = reverse("deliberation:proposal_list")
    page = client.get(url, {"area": world.b1.code}).content.decode()
    assert f'data-proposal="{on_b1.pk}"' in page
    assert f'data-proposal="{on_community.pk}"' not in page
    page = client.get(url, {"state": "discussion"}).content.decode()
    assert (
        f'data-proposal="{on_community.pk}"' in page and f'data-proposal="{on_b1.pk}"' not in page
    )
    page = client.get(url, {"area": world.community_b.code}).content.decode()
    assert "filter-errors" in page  # a place out of scope reads as a message


@pytest.mark.parametrize("count", [2, 12])
def test_the_list_reads_a_fixed_number_of_queries(
    world, login_as, clock, django_assert_max_num_queries, count
):
    for i in range(count):
        proposal_in(world, S.VOTING if i % 2 else S.DRAFT, title=f"议题{i}")
    client = login_as("community")
    with django_assert_max_num_queries(12):
        response = client.get(reverse("deliberation:proposal_list"))
    assert response.content.decode().count("data-proposal=") == count


def test_detail_outsider_404_and_department_404(world, login_as, clock):
    proposal = proposal_in(world)
    url = reverse("deliberation:proposal_detail", args=[proposal.pk])
    assert login_as("community").get(url).status_code == 200
    assert login_as("outsider").get(url).status_code == 404
    assert login_as("department").get(url).status_code == 404
    assert login_as("community").post(url).status_code == 405


def test_create_a_draft_and_open_it_step_by_step(world, login_as, clock):
    client = login_as("community")
    response = client.post(
        reverse("deliberation:proposal_create"),
        {
            "area": world.community_a.code,
            "title": "莲心小区雨污分流改造",
            "kind": "renovation",
            "text": "改造方案：雨污分流、管网更新。",
            "voting_closes_at": "2026-03-20T18:00",
            "threshold_numerator": 2,
            "threshold_denominator": 3,
        },
    )
    proposal = Proposal.objects.get(title="莲心小区雨污分流改造")
    assert response.status_code == 302
    step = reverse("deliberation:proposal_step", args=[proposal.pk])
    assert client.get(step).status_code == 405
    client.post(step, {"to": "discussion"})
    client.post(step, {"to": "voting"})
    proposal.refresh_from_db()
    assert proposal.state == S.VOTING
    assert RollEntry.objects.filter(proposal=proposal).count() == 5
    page = client.get(reverse("deliberation:proposal_detail", args=[proposal.pk])).content.decode()
    assert 'data-eligible="5"' in page


def test_create_refuses_a_place_out_of_scope_and_a_wrong_role(world, login_as, clock):
    data = {
        "area": world.community_b.code,
        "title": "t",
        "kind": "renovation",
        "text": "x",
        "voting_closes_at": "2026-03-20T18:00",
        "threshold_numerator": 2,
        "threshold_denominator": 3,
    }
    response = login_as("community").post(reverse("deliberation:proposal_create"), data)
    assert response.status_code == 200 and not Proposal.objects.exists()
    assert login_as("grid_head").get(reverse("deliberation:proposal_create")).status_code == 403
    assert (
        login_as("unit_head").post(reverse("deliberation:proposal_create"), data).status_code == 403
    )


def test_wrong_role_403_on_the_steps(world, login_as, clock):
    proposal = proposal_in(world, area=world.g1)
    step = reverse("deliberation:proposal_step", args=[proposal.pk])
    assert login_as("grid_head").post(step, {"to": "discussion"}).status_code == 403
    assert login_as("outsider").post(step, {"to": "discussion"}).status_code == 404
    edit = reverse("deliberation:proposal_edit", args=[proposal.pk])
    assert login_as("grid_head").get(edit).status_code == 403
    assert login_as("community").get(edit).status_code == 200


def test_paper_ballots_through_the_pages(world, login_as, clock, client):
    proposal = proposal_in(world, S.VOTING)
    u1 = world.households["U1"]
    client.force_login(world.users["community"])
    record = reverse("deliberation:paper_record", args=[proposal.pk])
    client.post(record, {"household": u1.pk, "choice": "for"})
    paper = PaperBallot.objects.get()
    confirm = reverse("deliberation:paper_decide", args=[proposal.pk, paper.pk, "confirm"])
    client.post(confirm)  # the same worker: refused
    assert not Ballot.objects.exists()
    page = client.get(reverse("deliberation:proposal_detail", args=[proposal.pk])).content.decode()
    assert "waiting for a second worker" in page or "等待" in page
    assert login_as("county").post(confirm).status_code == 403  # sees it, records none
    assert login_as("outsider").post(confirm).status_code == 404
    client.force_login(world.users["street"])
    response = client.post(confirm)
    assert response.status_code == 200 and 'id="receipt-code"' in response.content.decode()
    assert Ballot.objects.count() == 1
    assert client.get(confirm).status_code == 405


def test_attachments_are_served_only_in_scope(world, login_as, clock, client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    proposal = proposal_in(world)
    client.force_login(world.users["community"])
    client.post(
        reverse("deliberation:attachment_add", args=[proposal.pk]),
        {"title": "平面图", "file": SimpleUploadedFile("plan.png", _png(), "image/png")},
    )
    attachment = ProposalAttachment.objects.get()
    url = reverse("deliberation:attachment_file", args=[proposal.pk, attachment.pk])
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert login_as("outsider").get(url).status_code == 404
    client.force_login(world.users["community"])
    bad = client.post(
        reverse("deliberation:attachment_add", args=[proposal.pk]),
        {"title": "x", "file": SimpleUploadedFile("x.pdf", b"<html>", "application/pdf")},
    )
    assert bad.status_code == 400 and ProposalAttachment.objects.count() == 1


def test_a_passed_proposal_takes_a_cost_split_on_its_page(world, login_as, clock):
    proposal = proposal_in(world, S.VOTING)
    for key in ("U1", "U2", "B1", "G1"):
        services.ballot_cast(proposal=proposal, household=world.households[key], choice="for")
    clock.set(START + dt.timedelta(days=8))
    client = login_as("community")
    detail = reverse("deliberation:proposal_detail", args=[proposal.pk])
    page = client.get(detail).content.decode()  # the first read closes it
    assert 'data-passed="true"' in page
    url = reverse("deliberation:cost_split", args=[proposal.pk])
    bad = client.post(url, {"public": 40, "enterprise": 30, "residents": 20})
    assert bad.status_code == 400 and "90%" in bad.content.decode()
    client.post(url, {"public": 40, "enterprise": 30, "residents": 20, "self": 10})
    assert proposal.cost_shares.count() == 4
    assert login_as("grid_head").post(url, {"public": 100}).status_code == 404


# --- residents -------------------------------------------------------------------------------


def test_a_resident_reads_votes_once_and_checks_the_receipt(world, client, clock):
    proposal = proposal_in(world, S.VOTING)
    account = account_for(world.residents["U1"].phone)
    as_resident(client, account)
    page = client.get(reverse("citizens:proposals")).content.decode()
    assert f'data-proposal="{proposal.pk}"' in page
    url = reverse("citizens:proposal", args=[proposal.pk])
    assert 'id="vote-form"' in client.get(url).content.decode()
    vote = reverse("citizens:proposal_vote", args=[proposal.pk])
    assert client.get(vote).status_code == 405
    response = client.post(vote, {"choice": "for"})
    assert response.status_code == 200
    code = response.content.decode().split('id="receipt-code">')[1].split("<")[0]
    again = client.post(vote, {"choice": "against"})
    assert again.status_code == 409 and Ballot.objects.count() == 1
    assert 'id="already-voted"' in client.get(url).content.decode()
    client.logout()
    checked = client.post(reverse("citizens:proposal_receipt"), {"code": code})
    assert 'id="receipt-counted"' in checked.content.decode()
    wrong = client.post(reverse("citizens:proposal_receipt"), {"code": "AAAA-AAAA-AAAA"})
    assert 'id="receipt-counted"' not in wrong.content.decode()


def test_a_resident_elsewhere_gets_404_and_drafts_are_not_shown(world, client, clock):
    proposal = proposal_in(world, S.VOTING)
    draft = proposal_in(world, title="草稿")
    as_resident(client, account_for(world.residents["U4"].phone))  # community B
    assert client.get(reverse("citizens:proposal", args=[proposal.pk])).status_code == 404
    vote = client.post(reverse("citizens:proposal_vote", args=[proposal.pk]), {"choice": "for"})
    assert vote.status_code == 404 and not Ballot.objects.exists()
    as_resident(client, account_for(world.residents["U1"].phone))
    assert client.get(reverse("citizens:proposal", args=[draft.pk])).status_code == 404


def test_a_resident_not_on_the_register_cannot_vote(world, client, clock):
    proposal = proposal_in(world, S.VOTING)
    as_resident(client, account_for("13912345678", display_name="王阿姨"))
    assert 'id="not-on-register"' in client.get(reverse("citizens:proposals")).content.decode()
    assert client.get(reverse("citizens:proposal", args=[proposal.pk])).status_code == 404


def test_signed_out_residents_go_to_sign_in(world, client, clock):
    proposal = proposal_in(world, S.VOTING)
    response = client.get(reverse("citizens:proposal", args=[proposal.pk]))
    assert response.status_code == 302 and reverse("citizens:sign_in") in response["Location"]


@pytest.mark.parametrize("count", [1, 6])
def test_the_resident_list_reads_a_fixed_number_of_queries(
    world, client, clock, django_assert_max_num_queries, count
):
    for i in range(count):
        proposal_in(world, S.VOTING, area=world.u1 if i % 2 else world.community_a, title=f"议{i}")
    as_resident(client, account_for(world.residents["U1"].phone))
    with django_assert_max_num_queries(8):
        page = client.get(reverse("citizens:proposals")).content.decode()
    assert page.count("data-proposal=") == count
