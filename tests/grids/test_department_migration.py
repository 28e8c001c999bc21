"""Departments moved from ``issues`` to ``grids`` on the same tables: a database migrated
before the move keeps its departments, their handlers, the tasks and categories that name
them, and the permissions granted on them."""

import pytest
from django.utils import timezone

from tests.migrating import leaves as _leaves
from tests.migrating import migrate as _migrate

BEFORE = [("grids", "0003_area_tree_indexes"), ("issues", "0006_outbox_claim")]


def test_shape_departments_survive_the_move_to_grids(fresh_db):
    old = _migrate(BEFORE)
    Person = old.get_model("grids", "Person")
    Area = old.get_model("grids", "Area")
    Department = old.get_model("issues", "Department")
    Category = old.get_model("issues", "Category")
    ContentType = old.get_model("contenttypes", "ContentType")
    Permission = old.get_model("auth", "Permission")
    Group = old.get_model("auth", "Group")

    handler = Person.objects.create(name="王处理")
    housing = Department.objects.create(code="housing", name="县住建局", email="h@example.cn")
    housing.handlers.add(handler)
    Department.objects.create(code="water", name="县水务局")
    roof = Category.objects.create(
        code="roof", name="屋顶漏水", default_department=housing, lft=1, rght=2, tree_id=1, level=0
    )
    area = Area.objects.create(
        code="3699", name="抚阳市", kind="city", lft=1, rght=2, tree_id=1, level=0
    )
    Ticket = old.get_model("issues", "Ticket")
    Meeting = old.get_model("issues", "Meeting")
    DepartmentTask = old.get_model("issues", "DepartmentTask")
    clerk = old.get_model("auth", "User").objects.create(username="clerk")
    ticket = Ticket.objects.create(
        area=area,
        category=roof,
        description="屋顶漏水",
        channel="hotline",
        reporter_phone="13700000042",
    )
    meeting = Meeting.objects.create(title="联席会议", area=area, created_by=clerk)
    DepartmentTask.objects.create(
        ticket=ticket, meeting=meeting, department=housing, deadline=timezone.now()
    )
    content_type, _ = ContentType.objects.get_or_create(app_label="issues", model="department")
    change, _ = Permission.objects.get_or_create(
        content_type=content_type, codename="change_department", defaults={"name": "Can change"}
    )
    Group.objects.create(name="departments editors").permissions.add(change)

    new = _migrate(_leaves())

    Department = new.get_model("grids", "Department")
    assert sorted(Department.objects.values_list("code", "name")) == [
        ("housing", "县住建局"),
        ("water", "县水务局"),
    ]
    housing = Department.objects.get(code="housing")
    assert list(housing.handlers.values_list("name", flat=True)) == ["王处理"]
    assert new.get_model("issues", "Category").objects.get().default_department_id == housing.pk
    task = new.get_model("issues", "DepartmentTask").objects.get()
    assert task.department_id == housing.pk
    group = new.get_model("auth", "Group").objects.get(name="departments editors")
    assert list(group.permissions.values_list("content_type__app_label", "codename")) == [
        ("grids", "change_department")
    ]
    with pytest.raises(LookupError):
        new.get_model("issues", "Department")

    # The running code reads the same rows.
    from grids.models import Department as Current

    assert Current.objects.get(code="housing").handlers.get().name == "王处理"
