"""The demo's points (dashboard/points_demo.py): reward items in every community, the bulk
visits' points dated at the visits, savings and redemptions; a second run adds nothing."""

import datetime as dt

from django.utils import timezone

from dashboard import points_demo
from points.models import GoodDeed, PointEntry, RewardItem
from residents.models import Visit
from residents.services import visit_act_key

from .conftest import assert_ledger_sums_to_every_balance


def test_the_demo_loads_once(world):
    at = timezone.now() - dt.timedelta(days=9)
    visit = Visit.objects.create(
        household=world.households["U1"], visitor=world.persons["unit_head"], visited_at=at
    )
    lines = []
    codes = [world.community_a.code, world.community_b.code]
    points_demo.load(lines.append, community_codes=codes)
    assert RewardItem.objects.filter(community=world.community_a).count() == len(
        points_demo.REWARDS
    )
    entry = PointEntry.objects.get(act_key=visit_act_key(visit))
    assert entry.at == at and entry.person == world.persons["unit_head"]
    deeds = GoodDeed.objects.count()
    assert deeds >= 2  # a third of the six households save
    assert PointEntry.objects.filter(kind="saving").count() == deeds
    assert_ledger_sums_to_every_balance()

    before = PointEntry.objects.count()
    points_demo.load(lines.append, community_codes=codes)
    assert PointEntry.objects.count() == before
    assert RewardItem.objects.count() == 2 * len(points_demo.REWARDS)
    assert any(line.startswith("moral bank:") for line in lines)
