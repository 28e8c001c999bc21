"""Care tags (低保户, 残疾人, 独居老人 …) are sensitive personal data: health, income, family.
They are shown, filtered on and exported only where the viewer's role may reveal the ID
number (``residents.permissions.may_see_care_tags``: admin, community, grid); the unit and
building heads, the street and county officers see none of them — on the list, the detail,
the household page, the exports and the admin — and no dashboard, digest, notification or
text message names them.

Residents of the world (tests/conftest.py): U1 and U2 in building B1 of grid G1; B1 and G1
hang directly on that building and grid; U3 in grid G2; U4 in community B.
"""

import csv
import io

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from grids.access import Role
from residents.imports.columns import RESIDENT_EXPORT_COLUMNS
from residents.models import CareTag
from residents.permissions import ALLOWED, EDIT, IMPORT, REVEAL, may_see_care_tags

pytestmark = pytest.mark.django_db

# Each resident gets a tag of their own, so a page that shows one resident's tag is told
# apart from one that shows another's.
TAG_OF = {"U1": "低保户", "U2": "残疾人", "B1": "独居老人", "G1": "留守儿童", "U3": "退役军人"}
TAG_OF_OUTSIDE = {"U4": "低保户"}

# Whose tags each persona sees (their scope, where their role may reveal the ID number).
SEES_TAGS_OF = {
    "unit_head": set(),
    "building_head": set(),
    "grid_head": {"U1", "U2", "B1", "G1"},
    "community": {"U1", "U2", "B1", "G1", "U3"},
    "street": set(),
    "county": set(),
    "admin": {"U1", "U2", "B1", "G1", "U3", "U4"},
    "outsider": {"U4"},
}
# Whose rows each persona reaches on the list at all.
LISTS = {
    "unit_head": {"U1"},
    "building_head": {"U1", "U2", "B1"},
    "grid_head": {"U1", "U2", "B1", "G1"},
    "community": {"U1", "U2", "B1", "G1", "U3"},
    "street": set(TAG_OF) | set(TAG_OF_OUTSIDE),
    "county": set(TAG_OF) | set(TAG_OF_OUTSIDE),
    "admin": set(TAG_OF) | set(TAG_OF_OUTSIDE),
    "outsider": {"U4"},
}
TAG_COLUMN = next(c.label for c in RESIDENT_EXPORT_COLUMNS if c.key == "care_tags")


@pytest.fixture
def tagged(world):
    for key, name in {**TAG_OF, **TAG_OF_OUTSIDE}.items():
        world.residents[key].care_tags.set([CareTag.objects.get(name=name)])
    return world


def _tag_names(body: str) -> set[str]:
    return {name for name in CareTag.objects.values_list("name", flat=True) if name in body}


def test_the_rule_is_the_reveal_rule():
    for role in ALLOWED:
        assert may_see_care_tags(role) is (REVEAL in ALLOWED[role])
    # Whoever edits or imports residents (and so sets their tags) may see them.
    for role, actions in ALLOWED.items():
        if EDIT in actions or IMPORT in actions:
            assert may_see_care_tags(role), role
    assert not may_see_care_tags(Role.STREET) and not may_see_care_tags(Role.UNIT)
    assert not may_see_care_tags(None)


@pytest.mark.parametrize("persona", list(SEES_TAGS_OF))
def test_list_shows_tags_only_where_the_role_may_reveal(tagged, login_as, persona):
    client = login_as(persona)
    response = client.get(reverse("residents:resident_list"))
    assert response.status_code == 200
    rows = {r.name: r for r in response.context["page"].object_list}
    shown = {}
    for key in LISTS[persona]:
        resident = rows[f"居民{key}"]
        shown[key] = resident.shown_care_tags
    assert {k for k, tags in shown.items() if tags is not None} == SEES_TAGS_OF[persona]
    for key in SEES_TAGS_OF[persona]:
        assert [t.name for t in shown[key]] == [{**TAG_OF, **TAG_OF_OUTSIDE}[key]]
    body = response.content.decode()
    if not SEES_TAGS_OF[persona]:
        assert "关怀标签" not in body  # neither the column nor the filter
        assert _tag_names(body) == set()


@pytest.mark.parametrize("persona", ["unit_head", "street", "county"])
def test_no_filter_by_tag_for_roles_that_may_not_see_them(tagged, login_as, persona):
    client = login_as(persona)
    tag = CareTag.objects.get(name="残疾人")
    response = client.get(reverse("residents:resident_list"), {"tag": tag.pk})
    assert "tag" not in response.context["form"].fields
    names = {r.name for r in response.context["page"].object_list}
    # The parameter is ignored: the whole list, not the tagged resident alone.
    assert names == {f"居民{key}" for key in LISTS[persona]}


def test_filter_by_tag_finds_only_where_tags_are_shown(tagged, world, login_as):
    # A grid head of G1 who is also the unit head of U3: the tag of U3 is not theirs to see,
    # and a filter would tell it by which rows are left.
    from grids import services as g
    from grids.rules import PostTitle as T

    g.post_assign(area=world.u3, title=T.UNIT_HEAD, person=world.persons["grid_head"])
    client = login_as("grid_head")
    tag = CareTag.objects.get(name="退役军人")  # 居民U3's
    response = client.get(reverse("residents:resident_list"), {"tag": tag.pk})
    assert list(response.context["page"].object_list) == []
    everyone = client.get(reverse("residents:resident_list"))
    assert "居民U3" in {r.name for r in everyone.context["page"].object_list}
    tag = CareTag.objects.get(name="残疾人")  # 居民U2's, in G1
    response = client.get(reverse("residents:resident_list"), {"tag": tag.pk})
    assert [r.name for r in response.context["page"].object_list] == ["居民U2"]


@pytest.mark.parametrize("persona", ["unit_head", "building_head", "grid_head", "community"])
def test_detail_and_household_pages(tagged, world, login_as, persona):
    client = login_as(persona)
    resident = world.residents["U1"]
    sees = "U1" in SEES_TAGS_OF[persona]
    detail = client.get(reverse("residents:resident_detail", args=[resident.pk]))
    assert detail.status_code == 200
    assert ("低保户" in detail.content.decode()) is sees
    assert ("关怀标签" in detail.content.decode()) is sees
    house = client.get(reverse("residents:household_detail", args=[resident.household_id]))
    assert house.status_code == 200
    assert ("低保户" in house.content.decode()) is sees
    assert ("关怀标签" in house.content.decode()) is sees


@pytest.mark.parametrize("persona", ["grid_head", "community", "street", "county", "admin"])
def test_export_has_tags_only_where_the_role_may_reveal(tagged, login_as, persona):
    client = login_as(persona)
    response = client.get(reverse("residents:resident_export"), {"format": "csv"})
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    header, body = rows[0], rows[1:]
    column = header.index(TAG_COLUMN)
    tags = {row[4]: row[column] for row in body}
    for key in LISTS[persona]:
        expected = {**TAG_OF, **TAG_OF_OUTSIDE}[key] if key in SEES_TAGS_OF[persona] else ""
        assert tags[f"居民{key}"] == expected, key


def _staff(world, persona):
    user = world.users[persona]
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_resident", "change_resident"])
    )
    return user


def test_admin_leaves_tags_out_for_staff_who_may_not_see_them(tagged, world, client):
    client.force_login(_staff(world, "street"))
    listing = client.get(reverse("admin:residents_resident_changelist"))
    assert listing.status_code == 200
    assert "care_tags" not in str(listing.context["cl"].list_filter)
    assert _tag_names(listing.content.decode()) == set()
    resident = world.residents["U1"]
    page = client.get(reverse("admin:residents_resident_change", args=[resident.pk]))
    assert page.status_code == 200
    assert "care_tags" not in page.context["adminform"].form.fields
    assert "低保户" not in page.content.decode()


def test_admin_form_of_staff_who_may_keeps_tags_and_a_save_without_them_keeps_them(
    tagged, world, client
):
    client.force_login(_staff(world, "community"))
    resident = world.residents["U1"]
    url = reverse("admin:residents_resident_change", args=[resident.pk])
    page = client.get(url)
    assert "care_tags" in page.context["adminform"].form.fields
    client.force_login(_staff(world, "street"))
    response = client.post(url, {"name": "居民U1改", "is_householder": "on"})
    assert response.status_code == 302
    resident.refresh_from_db()
    assert resident.name == "居民U1改"
    assert [t.name for t in resident.care_tags.all()] == ["低保户"]  # untouched


def test_superuser_admin_list_filters_by_tag(tagged, login_as):
    client = login_as("admin")
    listing = client.get(reverse("admin:residents_resident_changelist"))
    assert "低保户" in listing.content.decode()


def test_dashboard_and_notifications_never_name_a_tag(tagged, world, login_as):
    from core.models import TextMessage
    from issues import services as issues
    from issues.models import Category, Notification
    from issues.rules import SYSTEM

    category = Category.objects.create(code="repair", name="公共设施维修")
    issues.ticket_report(
        area=world.u1,
        category=category,
        channel="visit",
        description="楼道灯坏了",
        reporter=world.residents["U1"],
        actor=SYSTEM,
    )
    for persona in ("community", "street", "county", "admin"):
        client = login_as(persona)
        for url in (
            reverse("home"),
            reverse("dashboard:area_detail", args=[world.community_a.code]),
            reverse("dashboard:engagement"),
            reverse("digests:digest_list"),
        ):
            response = client.get(url)
            assert response.status_code in (200, 302, 404), url
            assert _tag_names(response.content.decode()) == set(), (persona, url)
    texts = [n.text for n in TextMessage.objects.all()]
    texts += [f"{n.subject} {n.body}" for n in Notification.objects.all()]
    assert all(_tag_names(text) == set() for text in texts)
