"""The audit history of who may do what (core.audit.accounts): django.contrib.auth's users
and groups, and who was given which group or permission, each with its actor and before and
after; a password change is recorded as a change, never with the hash; a sign-in writes
nothing. The triggers on auth's tables come from core's migration, none from a migration
in Django's own package. PostgreSQL only, as every trigger (``postgres``)."""

import pgtrigger
import pytest
from django.contrib.auth.models import Group, Permission, User, update_last_login
from django.core.management import call_command
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import reverse

from core import audit
from core.audit.middleware import HistoryMiddleware

pg = pytest.mark.postgres
History = audit.history_model


def _values(model) -> list[str]:
    """Every value any history row of ``model`` holds, as text."""
    return [
        str(values)
        for event in History(model).objects.all()
        for values in (event.pgh_before, event.pgh_after, event.pgh_context)
    ]


@pg
def test_a_user_made_staff_and_superuser_then_deleted_is_recorded_with_its_actor(world):
    admin = world.users["admin"]
    with audit.context(user=admin.pk, url="/admin/auth/user/add/"):
        user = User.objects.create_user("新同事", password="初始密码123")
    with audit.context(user=admin.pk):
        user.is_staff = user.is_superuser = True
        user.save()

    created, promoted = audit.history_of(user)
    assert created.pgh_label == audit.INSERT and created.pgh_context["user"] == admin.pk
    assert created.pgh_before is None and created.pgh_after is None
    created_as = audit.values_at_creation(created)
    assert created_as["username"] == "新同事" and created_as["is_staff"] is False
    assert "password" not in created_as and "last_login" not in created_as
    assert promoted.pgh_label == audit.UPDATE and promoted.pgh_context["user"] == admin.pk
    assert promoted.pgh_before == {"is_staff": False, "is_superuser": False}
    assert promoted.pgh_after == {"is_staff": True, "is_superuser": True}

    with audit.context(user=admin.pk):
        User.objects.filter(pk=user.pk).delete()
    deleted = audit.history_of(user).last()
    assert deleted.pgh_label == audit.DELETE and deleted.pgh_context["user"] == admin.pk
    assert deleted.pgh_before["username"] == "新同事" and deleted.pgh_before["is_superuser"]
    assert "password" not in deleted.pgh_before and "last_login" not in deleted.pgh_before


@pg
def test_a_password_change_is_recorded_as_changed_and_never_with_its_hash(world):
    user = world.users["community"]
    old_hash = User.objects.get(pk=user.pk).password
    with audit.context(user=user.pk, url="/accounts/password/"):
        user.set_password("另一个密码456")
        user.save(update_fields=["password"])
    new_hash = User.objects.get(pk=user.pk).password
    assert new_hash != old_hash

    changed = audit.history_of(user).last()
    assert changed.pgh_label == audit.UPDATE and changed.pgh_context["user"] == user.pk
    assert changed.pgh_before == {"password": audit.MASKED_VALUE}
    assert changed.pgh_after == {"password": audit.MASKED_VALUE}
    with audit.context(user=world.users["admin"].pk):
        User.objects.filter(pk=user.pk).delete()
    # Neither hash, nor any part of one, in any row the users' history holds.
    for text in _values(User):
        assert old_hash not in text and new_hash not in text
        assert "pbkdf2" not in text and "argon2" not in text and "md5$" not in text


@pg
def test_a_sign_in_writes_no_history_row(client, world):
    user = world.users["grid_head"]
    rows = audit.history_of(user).count()
    update_last_login(None, user)
    client.force_login(user)  # the user_logged_in signal sets last_login again
    assert User.objects.get(pk=user.pk).last_login is not None
    assert audit.history_of(user).count() == rows


@pg
def test_groups_and_permissions_given_and_taken_are_recorded(world):
    admin = world.users["admin"]
    user = world.users["street"]
    permission = Permission.objects.get(codename="change_department")
    with audit.context(user=admin.pk):
        group = Group.objects.create(name="县级管理员")
        group.name = "县级系统管理员"
        group.save()
        group.permissions.add(permission)
        user.groups.add(group)
        user.user_permissions.add(permission)
        membership = User.groups.through.objects.get(user=user, group=group)
        given = User.user_permissions.through.objects.get(user=user, permission=permission)
        granted = Group.permissions.through.objects.get(group=group, permission=permission)
        user.groups.remove(group)
        user.user_permissions.remove(permission)

    renamed = audit.history_of(group).last()
    assert renamed.pgh_before == {"name": "县级管理员"} and renamed.pgh_after == {
        "name": "县级系统管理员"
    }
    joined, left = audit.history_of(membership)
    assert (joined.pgh_label, left.pgh_label) == (audit.INSERT, audit.DELETE)
    assert left.pgh_before == {"user_id": user.pk, "group_id": group.pk}
    assert left.pgh_context["user"] == admin.pk
    assert audit.values_at_creation(joined) == left.pgh_before
    assert [e.pgh_label for e in audit.history_of(given)] == [audit.INSERT, audit.DELETE]
    assert audit.history_of(given).last().pgh_before["permission_id"] == permission.pk
    (group_granted,) = audit.history_of(granted)
    assert group_granted.pgh_label == audit.INSERT and group_granted.pgh_context["user"] == admin.pk
    assert audit.values_at_creation(group_granted) == {
        "group_id": group.pk,
        "permission_id": permission.pk,
    }


@pg
def test_a_request_that_makes_someone_staff_names_its_user_and_address(world):
    admin = world.users["admin"]
    target = world.users["county"]
    request = RequestFactory().post(f"/admin/auth/user/{target.pk}/change/", REMOTE_ADDR="10.9.8.7")
    request.user = admin

    def view(request):
        User.objects.filter(pk=target.pk).update(is_staff=True)
        return HttpResponse()

    HistoryMiddleware(view)(request)
    event = audit.history_of(target).last()
    assert event.pgh_after == {"is_staff": True}
    assert event.pgh_context["user"] == admin.pk and event.pgh_context["ip"] == "10.9.8.7"
    assert event.pgh_context["url"] == f"/admin/auth/user/{target.pk}/change/"


def _admin_url(model, view, *args):
    meta = History(model)._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_{view}", args=args)


@pg
def test_the_admin_shows_a_password_change_without_the_hash_and_refuses_writes(client, world):
    user = world.users["community"]
    with audit.context(user=world.users["admin"].pk):
        user.set_password("另一个密码456")
        user.is_staff = True
        user.save()
    new_hash = User.objects.get(pk=user.pk).password
    event = audit.history_of(user).last()
    assert event.pgh_before["password"] == audit.MASKED_VALUE
    client.force_login(world.users["admin"])

    listing = client.get(_admin_url(User, "changelist"))
    assert listing.status_code == 200 and event in listing.context["cl"].result_list
    body = client.get(_admin_url(User, "change", event.pk)).content.decode()
    assert new_hash not in body and new_hash.split("$")[-1] not in body
    assert "(not kept)" in body or "（未留存）" in body
    assert client.post(_admin_url(User, "change", event.pk), {"pgh_label": "x"}).status_code == 403
    assert client.post(_admin_url(User, "delete", event.pk), {"post": "yes"}).status_code == 403
    assert History(User).objects.filter(pk=event.pk, pgh_label=audit.UPDATE).exists()


@pg
@pytest.mark.parametrize(
    "model",
    [Group, User.groups.through, User.user_permissions.through, Group.permissions.through],
    ids=["group", "user_groups", "user_permissions", "group_permissions"],
)
def test_the_admin_lists_the_groups_and_permissions_history_read_only(client, world, model):
    user, group = world.users["street"], Group.objects.create(name="街道管理员")
    permission = Permission.objects.get(codename="view_department")
    with audit.context(user=world.users["admin"].pk):
        group.permissions.add(permission)
        user.groups.add(group)
        user.user_permissions.add(permission)
    event = History(model).objects.order_by("pgh_id").last()
    assert event is not None
    client.force_login(world.users["admin"])
    assert event in client.get(_admin_url(model, "changelist")).context["cl"].result_list
    page = client.get(_admin_url(model, "change", event.pk))
    assert page.status_code == 200 and world.users["admin"].username in page.content.decode()
    assert client.post(_admin_url(model, "change", event.pk), {"pgh_label": "x"}).status_code == 403


@pg
def test_every_history_trigger_is_installed_as_its_model_defines_it(db):
    """The triggers written into migrations by hand (auth's tables, the many-to-many
    tables) are those the tracked models compile to: a change to the tracking without a new
    migration fails here."""
    status = {
        f"{model._meta.label}:{trigger.name}": trigger.get_installation_status(model)[0]
        for model, trigger in pgtrigger.registered()
    }
    assert status and {uri for uri, s in status.items() if s != "INSTALLED"} == set()
    for uri in (
        "auth.User:history_update",
        "auth.Group:history_insert",
        "auth.User_groups:history_delete",
        "auth.User_user_permissions:history_insert",
        "auth.Group_permissions:history_delete",
        "grids.Department_handlers:history_insert",
    ):
        assert uri in status


def test_tracking_auth_writes_no_migration_into_django_s_package(db):
    # SystemExit(1) if any app, django.contrib.auth included, lacks a migration.
    call_command("makemigrations", check=True, dry_run=True, verbosity=0)
    assert History(User)._meta.app_label == "core"
    assert not User._meta.original_attrs.get("triggers")
