"""A resident asks for a reward item from /r/points/; the community's worker hands it over
(the points and the stock taken then) or declines it, saying why."""

import pytest
from django.urls import reverse

from points import services
from points.models import PointEntry, RedemptionRequest
from points.services import NotEnoughPoints, PointsError

from .conftest import assert_ledger_sums_to_every_balance, balance_of

R = RedemptionRequest.State


def as_resident_of(client, phone):
    from tests.citizens.conftest import account_for, as_resident

    return as_resident(client, account_for(phone))


@pytest.fixture
def bank(world):
    from residents.services import resident_person_ensure

    worker = world.users["community"]
    person = resident_person_ensure(resident=world.residents["U1"])
    services.points_adjust(person=person, amount=5, reason="储蓄", actor=worker)
    soap = services.reward_item_create(
        community=world.community_a, name="肥皂", cost=2, stock=3, actor=worker
    )
    oil = services.reward_item_create(
        community=world.community_a, name="食用油", cost=8, stock=3, actor=worker
    )
    other = services.reward_item_create(
        community=world.community_b, name="大米", cost=1, stock=3, actor=world.users["outsider"]
    )
    return person, soap, oil, other


def test_a_request_is_handed_over_and_only_then_takes_the_points(client, world, bank):
    person, soap, _oil, _other = bank
    as_resident_of(client, world.residents["U1"].phone)
    page = client.get(reverse("citizens:points")).content.decode()
    assert f'data-request-item="{soap.pk}"' in page
    response = client.post(reverse("citizens:points_request", args=[soap.pk]))
    assert response.status_code == 302
    request = RedemptionRequest.objects.get()
    assert (request.person, request.state) == (person, R.REQUESTED)
    assert balance_of(person) == 5
    # a second tap queues nothing
    client.post(reverse("citizens:points_request", args=[soap.pk]))
    assert RedemptionRequest.objects.count() == 1

    worker = world.users["community"]
    client.force_login(worker)
    assert "肥皂" in client.get(reverse("points:items")).content.decode()
    url = reverse("points:request_answer", args=[request.pk])
    client.force_login(world.users["grid_head"])
    assert client.post(url, {"action": "hand_over"}).status_code == 403
    client.force_login(world.users["outsider"])
    assert client.post(url, {"action": "hand_over"}).status_code == 404
    client.force_login(worker)
    assert client.get(url).status_code == 405
    assert client.post(url, {"action": "hand_over"}).status_code == 302
    request.refresh_from_db()
    assert request.state == R.HANDED_OVER and request.entry.kind == PointEntry.Kind.REDEMPTION
    assert balance_of(person) == 3
    soap.refresh_from_db()
    assert soap.stock == 2
    assert_ledger_sums_to_every_balance()


def test_refused_at_once_beyond_the_balance_or_in_another_community(client, world, bank):
    person, _soap, oil, other = bank
    with pytest.raises(NotEnoughPoints):
        services.redemption_request(person=person, item=oil)
    with pytest.raises(PointsError):
        services.redemption_request(person=person, item=other)
    as_resident_of(client, world.residents["U1"].phone)
    assert client.post(reverse("citizens:points_request", args=[other.pk])).status_code == 404
    assert not RedemptionRequest.objects.exists()


def test_a_decline_says_why_and_the_resident_reads_it(client, world, bank):
    person, soap, _oil, _other = bank
    request = services.redemption_request(person=person, item=soap)
    worker = world.users["community"]
    with pytest.raises(PointsError):
        services.redemption_request_decline(request=request, actor=worker, note=" ")
    services.redemption_request_decline(request=request, actor=worker, note="本月已兑完，下月再来")
    with pytest.raises(PointsError):
        services.redemption_request_hand_over(request=request, actor=worker)
    assert balance_of(person) == 5
    as_resident_of(client, world.residents["U1"].phone)
    page = client.get(reverse("citizens:points")).content.decode()
    assert "本月已兑完，下月再来" in page and 'data-state="declined"' in page
