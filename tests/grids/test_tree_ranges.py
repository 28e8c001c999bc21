"""One way to say "this node and everything under it": grids.selectors. A city is not an mptt
ancestor of its districts (each district is the root of its own tree), so a hand-written
``lft``/``rght`` range of a city holds nothing; every scope filter goes through the selector."""

import re
from pathlib import Path

import pytest
from django.urls import reverse

from issues import services
from issues.models import Category, Ticket

ROOT = Path(__file__).resolve().parents[2]
APPS = ("grids", "issues", "residents", "digests", "portal")
# The selector itself, and the modules that write the numbering (imports and services shift
# lft/rght when they insert or move nodes; migrations build the index).
TREE_MODULES = {
    "grids/selectors.py",
    "grids/imports/areas.py",
    "grids/imports/numbering.py",
    "grids/imports/sql.py",
    "grids/services.py",
}
RANGE_LOOKUP = re.compile(r"(?<![A-Za-z0-9])(?:lft|rght)__")


@pytest.mark.django_db
def test_defect_city_code_filters_inbox_and_residents(world, login_as):
    category = Category.objects.create(code="lighting", name="楼道照明")
    ticket = services.ticket_report(
        area=world.u1,
        category=category,
        channel=Ticket.Channel.VISIT,
        description="楼道灯不亮",
        reporter=world.residents["U1"],
        reporter_phone="13700000001",
        tier="simple",
    )
    client = login_as("admin")
    for code in (world.city.code, world.county.code):
        inbox = client.get(reverse("issues:inbox"), {"tab": "area", "area": code})
        assert inbox.status_code == 200
        assert [t.pk for t in inbox.context["page"]] == [ticket.pk], code
        residents = client.get(reverse("residents:resident_list"), {"area": code})
        assert residents.status_code == 200
        assert {r.pk for r in residents.context["page"]} == {
            r.pk for r in world.residents.values()
        }, code
        households = client.get(reverse("residents:household_list"), {"area": code})
        assert {h.pk for h in households.context["page"]} == {
            h.pk for h in world.households.values()
        }, code


def test_tree_ranges_are_written_only_in_the_grids_selector():
    offenders = []
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            name = path.relative_to(ROOT).as_posix()
            if name in TREE_MODULES or "/migrations/" in name:
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if RANGE_LOOKUP.search(line):
                    offenders.append(f"{name}:{number}: {line.strip()}")
    assert not offenders, "use grids.selectors for tree ranges:\n" + "\n".join(offenders)
