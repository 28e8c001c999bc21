"""The dashboard's engagement panel (htmx after the page): wishes, proposals and the meetings'
rhythm over the viewer's scope or the node they look at, each from its app's scoping selector;
a fixed number of queries whatever the number of wishes, proposals or meetings."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse

from tests.councils.conftest import Councils
from tests.deliberation.conftest import proposal_in
from tests.issues.conftest import Ticketing

pytestmark = pytest.mark.django_db
URL = reverse("dashboard:engagement")


def _get(world, persona, **params):
    client = Client()
    client.force_login(world.users[persona])
    return client.get(URL, params)


def _wishes(world, n):
    from wishes import services

    for i in range(n):
        services.wish_post(
            area=world.u1,
            title=f"帮忙买一袋面粉{i}",
            resident=world.residents["U1"],
            actor=world.users["community"],
        )


def test_the_community_worker_sees_the_wishes_proposals_and_rhythm_of_the_community(world):
    _wishes(world, 3)
    proposal_in(world)  # a draft: not counted
    from deliberation.models import Proposal

    proposal_in(world, Proposal.State.VOTING, title="停车管理规约")
    c = Councils(Ticketing(world))
    c.held(on=dt.date(2025, 3, 3))
    response = _get(world, "community")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="engagement-wishes"' in html and 'id="engagement-proposals"' in html
    assert 'id="engagement-rhythm"' in html
    wishes = html.split('id="engagement-wishes"')[1].split("</section>")[0]
    assert "<strong>3</strong>" in wishes  # posted
    proposals = html.split('id="engagement-proposals"')[1].split("</section>")[0]
    assert "<strong>1</strong>" in proposals  # the vote that is open, not the draft


def test_the_outsider_sees_nothing_of_community_a(world):
    _wishes(world, 2)
    response = _get(world, "outsider")
    html = response.content.decode()
    assert response.status_code == 200
    wishes = html.split('id="engagement-wishes"')[1].split("</section>")[0]
    assert "<strong>0</strong>" in wishes
    assert _get(world, "outsider", node=world.community_a.code).status_code == 404


def test_a_node_inside_the_scope_narrows_the_figures(world):
    _wishes(world, 2)
    inside = _get(world, "community", node=world.g1.code).content.decode()
    other = _get(world, "community", node=world.g2.code).content.decode()
    pick = lambda html: html.split('id="engagement-wishes"')[1].split("</section>")[0]  # noqa: E731
    assert "<strong>2</strong>" in pick(inside) and "<strong>0</strong>" in pick(other)


def test_the_dashboard_loads_the_panel_and_keeps_its_own_queries(world):
    client = Client()
    client.force_login(world.users["community"])
    html = client.get(reverse("home")).content.decode()
    assert f'hx-get="{URL}"' in html
    department = Client()
    department.force_login(world.users["department"])
    assert URL not in department.get(reverse("home")).content.decode()


def test_only_get(world):
    client = Client()
    client.force_login(world.users["community"])
    assert client.post(URL).status_code == 405
    assert Client().get(URL).status_code == 302  # to the sign-in


@pytest.mark.parametrize("size", [1, 12])
def test_the_panel_costs_the_same_for_few_or_many(world, size, django_assert_max_num_queries):
    _wishes(world, size)
    from deliberation.models import Proposal

    for i in range(size // 4 + 1):
        proposal_in(world, Proposal.State.DISCUSSION, title=f"议题{i}")
    client = Client()
    client.force_login(world.users["community"])
    with django_assert_max_num_queries(12):
        assert client.get(URL).status_code == 200


def test_the_wishes_per_grid_of_a_community_and_per_community_above_it(world):
    _wishes(world, 2)
    community = _get(world, "community").content.decode()
    rows = community.split('id="engagement-wish-rows"')[1].split("</details>")[0]
    assert "按网格" in rows and f'data-area="{world.g1.code}"' in rows
    street = _get(world, "street").content.decode()
    rows = street.split('id="engagement-wish-rows"')[1].split("</details>")[0]
    assert f'data-area="{world.community_a.code}"' in rows
    assert f'data-area="{world.g1.code}"' not in rows
