"""The audit history of the departments and their handlers, the Open311 API keys and the
proposals: a create, change and delete each leave a row with its actor, before and after;
an API key's hash is never copied; a proposal's ancestor keys are left out; the admin shows
each history read-only. PostgreSQL only, as every trigger (``postgres``)."""

import pytest
from django.urls import reverse

from core import audit
from deliberation import services as deliberation
from deliberation.models import Proposal
from grids.models import Department
from issues.models import ApiKey, Ticket
from issues.services import api_keys
from tests.deliberation.conftest import clock, proposal_in  # noqa: F401 (a fixture)

pg = pytest.mark.postgres
History = audit.history_model


def _admin_url(model, view, *args):
    meta = History(model)._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_{view}", args=args)


def _read_only_in_admin(client, model, event, *shown):
    """The history row is listed and shown (with ``shown`` on its page) and refuses writes."""
    listing = client.get(_admin_url(model, "changelist"))
    assert listing.status_code == 200 and event in listing.context["cl"].result_list
    page = client.get(_admin_url(model, "change", event.pk))
    assert page.status_code == 200
    body = page.content.decode()
    for text in shown:
        assert text in body
    assert client.post(_admin_url(model, "change", event.pk), {"pgh_label": "x"}).status_code == 403
    assert client.post(_admin_url(model, "delete", event.pk), {"post": "yes"}).status_code == 403
    event.refresh_from_db()
    return body


# -- departments -------------------------------------------------------------------------


@pg
def test_a_department_changed_in_the_admin_is_recorded_with_its_actor(client, world):
    admin = world.users["admin"]
    department = world.department
    client.force_login(admin)
    response = client.post(
        reverse("admin:grids_department_change", args=[department.pk]),
        {
            "code": department.code,
            "name": "县住房和城乡建设局",
            "email": "zjj@example.gov.cn",
            "handlers": [world.persons["department"].pk],
        },
    )
    assert response.status_code == 302

    changed = audit.history_of(department).last()
    assert changed.pgh_label == audit.UPDATE and changed.pgh_context["user"] == admin.pk
    assert changed.pgh_context["url"].startswith("/admin/")
    assert changed.pgh_before == {"name": "住建局", "email": ""}
    assert changed.pgh_after == {"name": "县住房和城乡建设局", "email": "zjj@example.gov.cn"}
    _read_only_in_admin(client, Department, changed, "住建局", "县住房和城乡建设局", admin.username)


@pg
def test_a_department_created_and_deleted_is_recorded(world):
    admin = world.users["admin"]
    with audit.context(user=admin.pk, command="import_departments"):
        department = Department.objects.create(code="water", name="水务局")
    with audit.context(user=admin.pk):
        Department.objects.filter(pk=department.pk).delete()
    created, deleted = audit.history_of(department)
    assert (
        created.pgh_label == audit.INSERT and created.pgh_context["command"] == "import_departments"
    )
    assert deleted.pgh_label == audit.DELETE and deleted.pgh_context["user"] == admin.pk
    assert deleted.pgh_before == {"code": "water", "name": "水务局", "email": ""}
    assert audit.values_at_creation(created) == deleted.pgh_before


@pg
def test_a_handler_given_and_taken_is_recorded(client, world):
    admin = world.users["admin"]
    person = world.persons["grid_head"]
    through = Department.handlers.through
    with audit.context(user=admin.pk):
        world.department.handlers.add(person)
        link = through.objects.get(department=world.department, person=person)
        world.department.handlers.remove(person)
    given, taken = audit.history_of(link)
    assert (given.pgh_label, taken.pgh_label) == (audit.INSERT, audit.DELETE)
    assert taken.pgh_before == {"department_id": world.department.pk, "person_id": person.pk}
    assert taken.pgh_context["user"] == admin.pk
    client.force_login(admin)
    _read_only_in_admin(client, through, taken, admin.username)


# -- API keys ----------------------------------------------------------------------------


@pg
def test_an_api_key_made_in_the_admin_is_recorded_without_its_hash(client, world):
    admin = world.users["admin"]
    client.force_login(admin)
    response = client.post(
        reverse("admin:issues_apikey_add"), {"name": "小程序", "channel": "mini_program"}
    )
    assert response.status_code == 302
    key = ApiKey.objects.get(name="小程序")
    response = client.post(
        reverse("admin:issues_apikey_change", args=[key.pk]), {"name": "微信小程序"}
    )
    assert response.status_code == 302  # active unticked: switched off

    created, changed = audit.history_of(key)
    assert created.pgh_label == audit.INSERT and created.pgh_context["user"] == admin.pk
    assert "key_hash" not in audit.values_at_creation(created)
    assert audit.values_at_creation(created)["prefix"] == key.prefix
    assert changed.pgh_context["user"] == admin.pk
    assert changed.pgh_before == {"name": "小程序", "active": True}
    assert changed.pgh_after == {"name": "微信小程序", "active": False}
    body = _read_only_in_admin(client, ApiKey, created, key.prefix)
    assert key.key_hash not in body


@pg
def test_an_api_key_s_new_hash_is_recorded_as_changed_and_its_delete_without_it(world):
    admin = world.users["admin"]
    with audit.context(user=admin.pk):
        key, _raw = api_keys.api_key_create(name="热线", channel=Ticket.Channel.HOTLINE)
        old_hash = key.key_hash
        ApiKey.objects.filter(pk=key.pk).update(key_hash="0" * 64)
        ApiKey.objects.filter(pk=key.pk).delete()
    _created, rotated, deleted = audit.history_of(key)
    assert rotated.pgh_before == {"key_hash": audit.MASKED_VALUE}
    assert rotated.pgh_after == {"key_hash": audit.MASKED_VALUE}
    assert deleted.pgh_label == audit.DELETE and "key_hash" not in deleted.pgh_before
    assert deleted.pgh_before["name"] == "热线"
    for event in History(ApiKey).objects.all():
        text = f"{event.pgh_before} {event.pgh_after}"
        assert old_hash not in text and "0" * 64 not in text


# -- proposals ---------------------------------------------------------------------------


@pg
def test_a_proposal_created_changed_and_put_to_the_vote_is_recorded(client, world, clock):  # noqa: F811
    worker = world.users["community"]
    with audit.context(user=worker.pk, url="/deliberation/new/"):
        proposal = proposal_in(world, title="加装电梯方案")
        deliberation.proposal_update(proposal=proposal, actor=worker, title="一号楼加装电梯方案")
        deliberation.proposal_discussion_open(proposal=proposal, actor=worker)

    created, retitled, opened = audit.history_of(proposal)
    assert created.pgh_label == audit.INSERT and created.pgh_context["user"] == worker.pk
    assert audit.values_at_creation(created)["title"] == "加装电梯方案"
    kept = audit.values_at_creation(created)
    assert not {f"{key}_id" for key in audit.ANCESTOR_KEY_FIELDS} & set(kept)
    assert retitled.pgh_before == {"title": "加装电梯方案"}
    assert retitled.pgh_after == {"title": "一号楼加装电梯方案"}
    assert opened.pgh_before == {"state": Proposal.State.DRAFT}
    assert opened.pgh_after == {"state": Proposal.State.DISCUSSION}

    # A rewrite of its ancestor keys only (a move of the tree above it) writes nothing.
    Proposal.objects.filter(pk=proposal.pk).update(grid=None, district=None)
    assert audit.history_of(proposal).count() == 3
    with audit.context(user=world.users["admin"].pk):
        deleted_pk = proposal.pk
        proposal.events.all().delete()
        Proposal.objects.filter(pk=deleted_pk).delete()
    deleted = audit.history_of(proposal).last()
    assert deleted.pgh_label == audit.DELETE and deleted.pgh_before["title"] == "一号楼加装电梯方案"
    assert "community" not in deleted.pgh_before and "community_id" not in deleted.pgh_before

    client.force_login(world.users["admin"])
    _read_only_in_admin(client, Proposal, retitled, "加装电梯方案", "一号楼加装电梯方案")
