"""The audit history (core.audit): every create, change and delete of the tracked models —
through a service, an import's set-based writes, ``QuerySet.update`` or raw SQL — leaves a
row with its actor, time, before and after; the rows refuse UPDATE and DELETE at the
database; the admin shows them and refuses every write, a superuser's included, in the
security log; a ballot's history never names the voter, and a vote writes no row.

The triggers exist on PostgreSQL only: those tests are marked ``postgres``. On SQLite the
embedded setup's migrations and writes still work, with no history (the last tests)."""

import logging

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.db import DatabaseError, connection, transaction
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import reverse

from core import audit
from core.audit.middleware import HistoryMiddleware
from core.spreadsheets import Table
from deliberation import services as deliberation
from deliberation.models import Ballot, PaperBallot, Proposal, RollEntry
from grids import services as grids
from grids.imports import areas_import, heads_import
from grids.models import Area, Department, Person, Post
from grids.rules import AreaKind
from issues.models import ApiKey, Ticket
from points import services as points
from points.models import PointBalance, PointEntry
from residents.imports import residents_import
from residents.models import CareTag, Household, Resident
from tests.deliberation.conftest import clock, proposal_in  # noqa: F401 (a fixture)
from tests.issues.conftest import Ticketing
from tests.residents.helpers import make_id, row, table

pg = pytest.mark.postgres
History = audit.history_model


def events(model, **filters):
    return list(History(model).objects.filter(**filters).order_by("pgh_id"))


# -- through the services -----------------------------------------------------------------


@pg
def test_a_service_create_change_and_delete_each_leave_a_row_with_actor_before_after(world):
    admin = world.users["admin"]
    with audit.context(user=admin.pk, url="/test/"):
        grid = grids.area_create(
            code=f"{world.community_a.code}009",
            name="第9网格",
            kind=AreaKind.GRID,
            parent=Area.objects.get(pk=world.community_a.pk),
        )
        grids.area_update(area=grid, name="第九网格", households=120)

    created, changed = audit.history_of(grid)
    assert created.pgh_label == audit.INSERT and created.pgh_context["user"] == admin.pk
    assert created.pgh_before is None and created.pgh_after is None  # no copy of the row
    assert changed.pgh_label == audit.UPDATE and changed.pgh_context["user"] == admin.pk
    assert changed.pgh_before == {"name": "第9网格", "households": 0}
    assert changed.pgh_after == {"name": "第九网格", "households": 120}
    assert changed.pgh_created_at is not None
    # The row as created, worked out from the row now and the changes since.
    assert audit.values_at_creation(created)["name"] == "第9网格"
    assert audit.values_at_creation(created)["households"] == 0

    with audit.context(user=admin.pk):
        Area.objects.filter(pk=grid.pk).delete()
    deleted = audit.history_of(grid).last()
    assert deleted.pgh_label == audit.DELETE and deleted.pgh_context["user"] == admin.pk
    assert deleted.pgh_before["name"] == "第九网格" and deleted.pgh_before["code"] == grid.code
    assert deleted.pgh_after is None
    assert audit.values_at_creation(created)["name"] == "第9网格"  # read from the delete


@pg
def test_a_ticket_step_records_the_fields_it_changed(world):
    t = Ticketing(world)
    ticket = t.report("U1")
    community = t.user("community")
    from issues import services

    with audit.context(user=community.pk):
        services.ticket_assign(ticket=ticket, tier="simple", actor=community)
    change = audit.history_of(ticket).filter(pgh_label=audit.UPDATE).last()
    assert change.pgh_context["user"] == community.pk
    assert change.pgh_before["state"] == Ticket.State.REPORTED
    assert change.pgh_after["state"] == Ticket.State.ASSIGNED
    assert "updated_at" not in change.pgh_after  # noise left out


@pg
def test_query_set_update_and_raw_sql_are_recorded_too(world):
    admin = world.users["admin"]
    household = world.households["U1"]
    with audit.context(user=admin.pk, command="fix_doors"):
        Household.objects.filter(pk=household.pk).update(door="999")
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE residents_household SET address = %s WHERE id = %s",
                ["莲心路1号", household.pk],
            )
    first, second = audit.history_of(household).filter(pgh_label=audit.UPDATE)
    assert (first.pgh_before, first.pgh_after) == ({"door": "101"}, {"door": "999"})
    assert second.pgh_after == {"address": "莲心路1号"}
    assert second.pgh_context == {"user": admin.pk, "command": "fix_doors"}


@pg
def test_an_update_that_changes_nothing_tracked_writes_no_row(world):
    household = world.households["U1"]
    before = len(events(Household))
    Household.objects.filter(pk=household.pk).update(door=household.door)  # the same value
    Household.objects.filter(pk=household.pk).update(grid=None)  # an ancestor key only
    assert len(events(Household)) == before


@pg
def test_a_tree_move_records_the_moved_node_only(world):
    grid = Area.objects.get(pk=world.g2.pk)
    community_b = Area.objects.get(pk=world.community_b.pk)
    areas, households = len(events(Area)), len(events(Household))
    with audit.context(user=world.users["admin"].pk):
        grids.area_move(area=grid, parent=community_b)

    moved = events(Area)[areas:]
    assert [(e.pgh_obj_id, e.pgh_label) for e in moved] == [(grid.pk, audit.UPDATE)]
    assert moved[0].pgh_before == {"parent_id": world.community_a.pk}
    assert moved[0].pgh_after == {"parent_id": community_b.pk}
    # The nested-set numbers renumbered and the households' ancestor keys rewritten: none.
    assert len(events(Household)) == households
    assert Household.objects.filter(area__in=[world.u3], community=community_b).exists()


@pg
def test_points_the_ledger_is_recorded_and_a_balance_s_sums_are_not(world, point_rules):
    worker = world.users["community"]
    person = world.persons["unit_head"]
    with audit.context(user=worker.pk):
        entry = points.points_adjust(person=person, amount=5, reason="帮邻居修水管", actor=worker)
    assert [e.pgh_label for e in audit.history_of(entry)] == [audit.INSERT]
    balance = PointBalance.objects.get(person=person)
    labels = [e.pgh_label for e in audit.history_of(balance)]
    with audit.context(user=worker.pk):
        points.points_adjust(person=person, amount=3, reason="打扫楼道", actor=worker)
    assert [e.pgh_label for e in audit.history_of(balance)] == labels  # sums: in the ledger
    assert PointEntry.objects.filter(person=person).count() == 2


@pg
def test_a_care_tag_given_and_taken_is_recorded(world):
    resident = world.residents["U1"]
    tag = CareTag.objects.first()
    through = Resident.care_tags.through
    with audit.context(user=world.users["community"].pk):
        resident.care_tags.add(tag)
        link = through.objects.get(resident=resident, caretag=tag)
        resident.care_tags.remove(tag)
    given, taken = audit.history_of(link)
    assert given.pgh_label == audit.INSERT and taken.pgh_label == audit.DELETE
    assert taken.pgh_before == {"resident_id": resident.pk, "caretag_id": tag.pk}
    assert taken.pgh_context["user"] == world.users["community"].pk
    assert audit.values_at_creation(given) == taken.pgh_before


# -- through the imports (set-based writes) -------------------------------------------------

AREA_HEADERS = ["编码", "名称", "类型", "上级编码", "网格类型", "户数"]
HEAD_HEADERS = ["区域编码", "区域名称", "职务", "姓名", "手机", "公示", "副职", "任职日期"]


def _table(headers, rows) -> Table:
    return Table(headers=headers, rows=[(i + 2, r) for i, r in enumerate(rows)])


@pg
def test_an_areas_import_names_who_imported_every_row_it_wrote(world):
    admin = world.users["admin"]
    a = world.community_a.code
    rows = [[f"{a}{i:03d}", f"新网格{i}", "网格", a, "基础网格", "300"] for i in (7, 8)]
    rows.append([world.g1.code, "第一网格", "网格", a, "基础网格", "310"])  # a change
    report = areas_import(table=_table(AREA_HEADERS, rows), source="网格.xlsx", user=admin)
    assert (report.created, report.updated) == (2, 1)

    new = Area.objects.filter(code__in=[f"{a}007", f"{a}008"])
    for area in new:
        (created,) = audit.history_of(area)
        assert created.pgh_label == audit.INSERT
        assert created.pgh_context == {"import": "areas", "file": "网格.xlsx", "user": admin.pk}
    changed = audit.history_of(world.g1).filter(pgh_label=audit.UPDATE).last()
    assert changed.pgh_before == {"name": "第1网格", "households": 0}
    assert changed.pgh_after == {"name": "第一网格", "households": 310}
    assert changed.pgh_context["import"] == "areas"


@pg
def test_a_heads_import_records_people_and_posts(world):
    rows = [[world.g2.code, "", "网格长", "新网格长", "13912345678", "", "", "2024-01-01"]]
    heads_import(table=_table(HEAD_HEADERS, rows), source="三长.csv", user=world.users["admin"])
    person = Person.objects.get(phone="13912345678")
    post = Post.objects.get(person=person)
    assert audit.history_of(person).first().pgh_context["import"] == "heads"
    assert audit.history_of(post).first().pgh_context["user"] == world.users["admin"].pk


@pg
def test_a_residents_import_records_households_and_residents(world):
    rows = [row(world.u3.code, "901", "新居民1", make_id(1), phone="13700009999")]
    residents_import(table=table(rows), source="居民.csv", user=world.users["community"])
    resident = Resident.objects.get(id_number=make_id(1))
    for obj in (resident, resident.household):
        (created,) = audit.history_of(obj)
        assert created.pgh_context["import"] == "residents"
        assert created.pgh_context["user"] == world.users["community"].pk


@pg
def test_the_import_command_names_itself_and_the_shell_user(world, tmp_path):
    from django.core.management import call_command

    a = world.community_a.code
    path = tmp_path / "areas.csv"
    path.write_text(
        ",".join(AREA_HEADERS) + f"\n{a}006,命令网格,网格,{a},基础网格,10\n", encoding="utf-8"
    )
    call_command("import_areas", str(path), verbosity=0)
    (created,) = audit.history_of(Area.objects.get(code=f"{a}006"))
    assert created.pgh_context["command"] == "import_areas"
    assert created.pgh_context["import"] == "areas" and created.pgh_context["os_user"]


# -- append-only -------------------------------------------------------------------------


@pg
@pytest.mark.parametrize("how", ["orm_update", "orm_delete", "sql_update", "sql_delete"])
def test_the_history_refuses_update_and_delete_at_the_database(world, how):
    history = History(Area)
    table_name = history._meta.db_table
    count = history.objects.count()
    assert count > 0
    with pytest.raises(DatabaseError, match="Cannot update or delete"), transaction.atomic():
        if how == "orm_update":
            history.objects.update(pgh_label="tampered")
        elif how == "orm_delete":
            history.objects.all().delete()
        else:
            verb = "UPDATE {} SET pgh_label = 'x'" if how == "sql_update" else "DELETE FROM {}"
            with connection.cursor() as cursor:
                cursor.execute(verb.format(table_name))  # nosec B608: a fixed table name
    assert history.objects.count() == count
    assert not history.objects.filter(pgh_label="tampered").exists()


# -- the admin -----------------------------------------------------------------------------


def _admin_url(model, view, *args):
    meta = History(model)._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_{view}", args=args)


@pg
def test_the_admin_lists_and_shows_before_and_after(client, world):
    admin = world.users["admin"]
    with audit.context(user=admin.pk):
        grids.area_update(area=Area.objects.get(pk=world.g1.pk), name="第一网格")
    event = audit.history_of(world.g1).last()
    client.force_login(admin)

    listing = client.get(_admin_url(Area, "changelist"), {"actor": admin.pk})
    assert listing.status_code == 200
    assert event in listing.context["cl"].result_list
    page = client.get(_admin_url(Area, "change", event.pk))
    assert page.status_code == 200
    body = page.content.decode()
    assert "第1网格" in body and "第一网格" in body and admin.username in body
    by_kind = client.get(_admin_url(Area, "changelist"), {"pgh_label": "update"})
    assert all(e.pgh_label == "update" for e in by_kind.context["cl"].result_list)


@pg
def test_the_admin_masks_personal_numbers(client, world):
    resident = world.residents["U1"]
    with audit.context(user=world.users["admin"].pk):
        Resident.objects.filter(pk=resident.pk).update(phone="13711112222")
    event = audit.history_of(resident).last()
    client.force_login(world.users["admin"])
    body = client.get(_admin_url(Resident, "change", event.pk)).content.decode()
    assert "13711112222" not in body and resident.phone not in body


@pg
@pytest.mark.parametrize("view", ["change", "delete", "add", "changelist"])
def test_a_superuser_cannot_add_change_or_delete_history_and_is_logged(client, world, caplog, view):
    with audit.context(user=world.users["admin"].pk):
        grids.area_update(area=Area.objects.get(pk=world.g1.pk), name="第一网格")
    event = audit.history_of(world.g1).last()
    client.force_login(world.users["admin"])
    args = (event.pk,) if view in ("change", "delete") else ()
    data = {
        "pgh_label": "forged",
        "post": "yes",
        "action": "delete_selected",
        "_selected_action": [event.pk],
    }
    with caplog.at_level(logging.WARNING, logger="portal.security"):
        response = client.post(_admin_url(Area, view, *args), data)
    assert response.status_code == 403
    assert any("refused" in r.getMessage() for r in caplog.records if r.name == "portal.security")
    event.refresh_from_db()
    assert event.pgh_label == audit.UPDATE
    assert History(Area).objects.filter(pk=event.pk).exists()


def test_no_one_is_given_a_write_permission_on_history(rf, world):
    from django.contrib import admin

    request = rf.get("/")
    request.user = world.users["admin"]
    for model, model_admin in admin.site._registry.items():
        if issubclass(model, audit.AuditEvent):
            assert not model_admin.has_add_permission(request)
            assert not model_admin.has_change_permission(request)
            assert not model_admin.has_delete_permission(request)
            assert model_admin.has_view_permission(request)
    tracked = {m.pgh_tracked_model for m in admin.site._registry if issubclass(m, audit.AuditEvent)}
    assert {Area, Person, Post, Household, Resident, Ticket, PointEntry, RollEntry} <= tracked
    assert {Department, ApiKey, Proposal, User, Group} <= tracked


def test_only_a_superuser_reads_the_history(rf, world):
    """The history spans the whole city, outside any worker's scope: a staff member given
    the view permission on it still does not read it."""
    from django.contrib import admin
    from django.contrib.auth.models import Permission

    staff = world.users["community"]
    staff.is_staff = True
    staff.save(update_fields=["is_staff"])
    history = History(Resident)
    staff.user_permissions.add(
        Permission.objects.get(
            codename=f"view_{history._meta.model_name}",
            content_type__app_label=history._meta.app_label,
        )
    )
    request = rf.get("/")
    request.user = type(staff).objects.get(pk=staff.pk)
    model_admin = admin.site._registry[history]
    assert not model_admin.has_view_permission(request)
    assert not model_admin.has_module_permission(request)
    request.user = world.users["admin"]
    assert model_admin.has_view_permission(request)


def test_free_text_in_the_history_is_shown_scrubbed():
    from django.contrib import admin

    model_admin = admin.site._registry[History(Ticket)]
    shown = model_admin._show("description", "电话13800138000，身份证110105194912310021")
    assert "13800138000" not in shown and "110105194912310021" not in shown


# -- requests ---------------------------------------------------------------------------


def test_the_history_middleware_runs_after_authentication():
    middleware = settings.MIDDLEWARE
    assert middleware.index("core.audit.middleware.HistoryMiddleware") > middleware.index(
        "django.contrib.auth.middleware.AuthenticationMiddleware"
    )


@pg
def test_a_request_s_changes_name_its_user_url_and_address(world):
    user = world.users["community"]
    request = RequestFactory().post("/grids/x/", REMOTE_ADDR="10.1.2.3")
    request.user = user

    def view(request):
        Household.objects.filter(pk=world.households["U1"].pk).update(door="707")
        return HttpResponse()

    HistoryMiddleware(view)(request)
    event = audit.history_of(world.households["U1"]).last()
    assert event.pgh_context["user"] == user.pk
    assert event.pgh_context["url"] == "/grids/x/" and event.pgh_context["ip"] == "10.1.2.3"


# -- votes: the roll, never the ballot ------------------------------------------------------


@pg
def test_a_ballot_s_history_never_names_the_voter_or_holds_a_choice(world, clock):  # noqa: F811
    assert audit.history_model(Ballot) is None  # left out: see deliberation/models.py
    proposal = proposal_in(world, state="voting")
    household, other = world.households["U1"], world.households["U2"]
    worker, second = world.users["community"], world.users["street"]
    with audit.context(user=None, url="/r/vote/"):
        deliberation.ballot_cast(proposal=proposal, household=household, choice="against")
    with audit.context(user=worker.pk):
        paper = deliberation.paper_ballot_record(
            proposal=proposal, household=other, choice="for", actor=worker
        )
    with audit.context(user=second.pk):
        deliberation.paper_ballot_confirm(paper=paper, actor=second)

    # Whether a household voted is on the roll itself; its history keeps the roll as
    # frozen, not when or from where each household voted (online or on paper).
    for voter in (household, other):
        entry = RollEntry.objects.get(proposal=proposal, household=voter)
        assert entry.voted
        assert [e.pgh_label for e in audit.history_of(entry)] == [audit.INSERT]
    # No history row anywhere holds a choice.
    for model in _history_models():
        for event in model.objects.all():
            for values in (event.pgh_before or {}, event.pgh_after or {}):
                assert "choice" not in values
    assert audit.values_at_creation(audit.history_of(paper).first()).get("choice") is None
    assert "choice" not in audit.tracked_columns(PaperBallot)


def _history_models():
    from django.apps import apps

    return [m for m in apps.get_models() if issubclass(m, audit.AuditEvent)]


@pg
def test_an_online_vote_writes_no_history_row_anywhere(world, clock):  # noqa: F811
    proposal = proposal_in(world, state="voting")
    household = world.households["U1"]
    entry = RollEntry.objects.get(proposal=proposal, household=household)
    (frozen,) = audit.history_of(entry)
    assert frozen.pgh_label == audit.INSERT
    assert audit.values_at_creation(frozen) == {
        "proposal_id": proposal.pk,
        "household_id": household.pk,
    }
    before = {m: m.objects.count() for m in _history_models()}
    with audit.context(user=None, url=f"/r/proposals/{proposal.pk}/vote/", ip="10.0.0.9"):
        deliberation.ballot_cast(proposal=proposal, household=household, choice="abstain")

    assert RollEntry.objects.get(pk=entry.pk).voted
    assert {m: m.objects.count() for m in _history_models()} == before
    assert "voted" not in audit.tracked_columns(RollEntry)
    assert "how" not in audit.tracked_columns(RollEntry)


@pg
def test_a_roll_entry_s_delete_is_recorded_without_whether_it_voted(world, clock):  # noqa: F811
    proposal = proposal_in(world, state="voting")
    household = world.households["U2"]
    deliberation.ballot_cast(proposal=proposal, household=household, choice="for")
    entry = RollEntry.objects.get(proposal=proposal, household=household)
    with audit.context(user=world.users["admin"].pk):
        RollEntry.objects.filter(pk=entry.pk).delete()
    frozen, deleted = audit.history_of(entry)
    assert frozen.pgh_label == audit.INSERT and deleted.pgh_label == audit.DELETE
    assert deleted.pgh_before == {"proposal_id": proposal.pk, "household_id": household.pk}
    assert deleted.pgh_context["user"] == world.users["admin"].pk


# -- SQLite: no triggers, everything else works ---------------------------------------------


def test_without_postgresql_the_writes_work_and_leave_no_history(world):
    if connection.vendor == "postgresql":
        pytest.skip("the embedded SQLite setup's behaviour")
    with audit.context(user=world.users["admin"].pk):
        grids.area_update(area=Area.objects.get(pk=world.g1.pk), name="第一网格")
        Household.objects.filter(pk=world.households["U1"].pk).update(door="808")
    assert Area.objects.get(pk=world.g1.pk).name == "第一网格"
    assert not History(Area).objects.exists() and not History(Household).objects.exists()


def test_every_history_table_is_protected_and_every_tracked_model_has_one():
    import pgtrigger

    protected = {
        model
        for model, trigger in pgtrigger.registered()
        if issubclass(model, audit.AuditEvent) and isinstance(trigger, pgtrigger.Protect)
    }
    tracked = {m.pgh_tracked_model._meta.label for m in protected}
    assert tracked == {
        "grids.Area",
        "grids.Person",
        "grids.Post",
        "grids.Department",
        "grids.Department_handlers",
        "issues.ApiKey",
        "deliberation.Proposal",
        "auth.User",
        "auth.Group",
        "auth.User_groups",
        "auth.User_user_permissions",
        "auth.Group_permissions",
        "residents.Household",
        "residents.Resident",
        "residents.Resident_care_tags",
        "issues.Ticket",
        "points.GoodDeed",
        "points.PointEntry",
        "points.PointBalance",
        "points.RedemptionRequest",
        "deliberation.RollEntry",
        "deliberation.PaperBallot",
        "deliberation.ProposalResult",
    }


# -- Celery tasks ----------------------------------------------------------------------------


@pg
def test_a_worker_s_task_names_itself_in_the_history(world):
    from celery import signals

    from issues.tasks import notifications_sweep

    household = world.households["U1"]
    signals.task_prerun.send(sender=notifications_sweep, task_id="t-1", task=notifications_sweep)
    try:
        Household.objects.filter(pk=household.pk).update(door="606")
    finally:
        signals.task_postrun.send(
            sender=notifications_sweep, task_id="t-1", task=notifications_sweep
        )

    (in_task,) = audit.history_of(household).filter(pgh_label=audit.UPDATE)
    assert in_task.pgh_context == {"task": notifications_sweep.name, "task_id": "t-1"}
    assert audit._task_contexts == {}  # left when the task ended
