"""The Django admin: the tree list, the import preview and confirmation, exports, and the
forms that write through the services."""

import io

import pytest
from django.contrib.auth.models import Permission, User
from django.urls import reverse

from grids import services
from grids.models import Area, ImportRun, Post
from grids.rules import AreaKind, PostTitle

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    user = User.objects.create_superuser("root", "root@example.org", "pw-for-tests-1")
    client.force_login(user)
    return client


@pytest.fixture
def city():
    city = services.area_create(code="3699", name="抚阳市", kind=AreaKind.CITY)
    county = services.area_create(code="369921", name="莲溪县", kind=AreaKind.DISTRICT, parent=city)
    town = services.area_create(code="369921100", name="莲城镇", kind=AreaKind.TOWN, parent=county)
    community = services.area_create(
        code="369921100001", name="莲心社区", kind=AreaKind.COMMUNITY, parent=town
    )
    grid = services.area_create(
        code="369921100001001", name="第1网格", kind=AreaKind.GRID, parent=community
    )
    return {"city": city, "county": county, "town": town, "community": community, "grid": grid}


def _add_buildings(grid: Area, count: int) -> None:
    for i in range(count):
        building = services.area_create(
            code=f"{grid.code}{i:03d}", name=f"{i}栋", kind=AreaKind.BUILDING, parent=grid
        )
        services.area_create(
            code=f"{building.code}01", name="1单元", kind=AreaKind.UNIT, parent=building
        )


def _upload(text: str, name: str = "areas.csv", encoding: str = "utf-8-sig") -> io.BytesIO:
    data = io.BytesIO(text.encode(encoding))
    data.name = name
    return data


class TestAreaChangelist:
    def test_tree_is_indented_under_the_city(self, admin_client, city):
        response = admin_client.get(reverse("admin:grids_area_changelist"))
        assert response.status_code == 200
        html = response.content.decode()
        # district is level 0 of its own tree but shown one step under its city
        # by a class per depth (static/portal/admin.css), no inline style under the CSP
        assert 'class="tree-indent-0">抚阳市' in html
        assert 'class="tree-indent-1">莲溪县' in html
        assert 'class="tree-indent-3">莲心社区' in html
        assert html.index("抚阳市") < html.index("莲溪县") < html.index("第1网格")

    def test_search_by_code_and_filter_by_kind(self, admin_client, city):
        url = reverse("admin:grids_area_changelist")
        html = admin_client.get(url, {"q": "369921100001001"}).content.decode()
        assert "第1网格" in html and "莲城镇" not in html
        html = admin_client.get(url, {"kind__exact": "town"}).content.decode()
        assert "莲城镇" in html and "第1网格" not in html

    def test_queries_do_not_grow_with_rows(self, admin_client, city, django_assert_max_num_queries):
        url = reverse("admin:grids_area_changelist")
        _add_buildings(city["grid"], 5)
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as small:
            assert admin_client.get(url).status_code == 200
        _add_buildings(Area.objects.get(code="369921100001001"), 0)
        community = Area.objects.get(code="369921100001")
        grid2 = services.area_create(
            code="369921100001002", name="第2网格", kind=AreaKind.GRID, parent=community
        )
        _add_buildings(grid2, 40)
        with django_assert_max_num_queries(len(small)):
            assert admin_client.get(url).status_code == 200

    def test_area_page_shows_path_heads_and_history(self, admin_client, city):
        grid = city["grid"]
        first = services.person_get_or_create(name="李雪永", phone="18937143700")
        second = services.person_get_or_create(name="王芳", phone="13800138000")
        services.post_assign(area=grid, title=PostTitle.GRID_HEAD, person=first)
        services.post_assign(area=grid, title=PostTitle.GRID_HEAD, person=second)
        html = admin_client.get(reverse("admin:grids_area_change", args=[grid.pk])).content
        html = html.decode()
        for name in ("抚阳市", "莲溪县", "莲城镇", "莲心社区", "李雪永", "王芳"):
            assert name in html


class TestAreaForms:
    def test_add_goes_through_the_service_and_the_kind_rules(self, admin_client, city):
        url = reverse("admin:grids_area_add")
        response = admin_client.post(
            url,
            {
                "code": "369921100001001001",
                "name": "1栋",
                "kind": "building",
                "parent_code": "369921100001",  # a community: a building may not sit there
                "households": "12",
                "posts-TOTAL_FORMS": "0",
                "posts-INITIAL_FORMS": "0",
                "party_org-TOTAL_FORMS": "0",
                "party_org-INITIAL_FORMS": "0",
            },
        )
        assert response.status_code == 200
        assert "楼栋" in response.content.decode()  # the error names the kinds involved
        assert not Area.objects.filter(code="369921100001001001").exists()

        response = admin_client.post(
            url,
            {
                "code": "369921100001001001",
                "name": "1栋",
                "kind": "building",
                "parent_code": "369921100001001",
                "households": "12",
                "posts-TOTAL_FORMS": "0",
                "posts-INITIAL_FORMS": "0",
                "party_org-TOTAL_FORMS": "0",
                "party_org-INITIAL_FORMS": "0",
            },
        )
        assert response.status_code == 302
        building = Area.objects.get(code="369921100001001001")
        assert building.parent == city["grid"]
        grid = Area.objects.get(pk=city["grid"].pk)
        assert grid.lft < building.lft < building.rght < grid.rght

    def test_change_moves_the_node(self, admin_client, city):
        other = services.area_create(
            code="369921100001002",
            name="第2网格",
            kind=AreaKind.GRID,
            parent=city["community"],
        )
        building = services.area_create(
            code="369921100001001001", name="1栋", kind=AreaKind.BUILDING, parent=city["grid"]
        )
        response = admin_client.post(
            reverse("admin:grids_area_change", args=[building.pk]),
            {
                "name": "1栋(改)",
                "parent_code": other.code,
                "households": "30",
                "posts-TOTAL_FORMS": "0",
                "posts-INITIAL_FORMS": "0",
                "party_org-TOTAL_FORMS": "0",
                "party_org-INITIAL_FORMS": "0",
            },
        )
        assert response.status_code == 302, response.content.decode()[:2000]
        building.refresh_from_db()
        other.refresh_from_db()
        assert (building.name, building.households, building.parent_id) == ("1栋(改)", 30, other.pk)
        assert other.lft < building.lft < other.rght


class TestImportPages:
    def test_preview_writes_nothing_and_confirm_imports(self, admin_client, city):
        url = reverse("admin:grids_area_import")
        assert admin_client.get(url).status_code == 200
        csv_text = (
            "编码,名称,类型,上级编码,户数\n"
            "369921100001001002,2栋,楼栋,369921100001001,24\n"
            "36992110000100100201,1单元,单元,369921100001001002,12\n"
        )
        response = admin_client.post(url, {"file": _upload(csv_text, encoding="gbk")})
        html = response.content.decode()
        assert response.status_code == 200
        assert "2栋" not in Area.objects.values_list("name", flat=True)
        assert 'name="token"' in html
        assert "369921100001001002" in html and "gbk" in html
        token = response.context["token"]

        response = admin_client.post(url, {"token": token, "filename": "areas.csv"})
        assert response.status_code == 302
        assert Area.objects.filter(code="36992110000100100201", parent__name="2栋").exists()
        assert ImportRun.objects.get().created == 2

    def test_errors_listed_with_line_and_column(self, admin_client, city):
        url = reverse("admin:grids_area_import")
        csv_text = "编码,名称,类型,上级编码\nA1,,网格,369921100001\nA2,楼,楼栋,NOPE\n"
        response = admin_client.post(url, {"file": _upload(csv_text)})
        html = response.content.decode()
        assert "B（名称）" in html and "D（上级编码）" in html and "NOPE" in html
        assert 'name="token"' not in html  # no way to confirm a failing file
        assert not Area.objects.filter(code__in=["A1", "A2"]).exists()

    def test_confirm_token_cannot_escape_the_upload_folder(self, admin_client, city):
        response = admin_client.post(
            reverse("admin:grids_area_import"), {"token": "../../pyproject.toml"}
        )
        assert response.status_code == 302
        assert Area.objects.count() == 5

    def test_heads_import_preview_renders(self, admin_client, city):
        csv_text = "区域编码,职务,姓名,手机\n369921100001001,网格长,李雪永,18937143700\n"
        response = admin_client.post(
            reverse("admin:grids_post_import"), {"file": _upload(csv_text, "heads.csv")}
        )
        assert response.status_code == 200
        assert "李雪永" in response.content.decode()
        assert not Post.objects.exists()

    def test_export_downloads(self, admin_client, city):
        response = admin_client.get(reverse("admin:grids_area_export"), {"format": "csv"})
        assert response.status_code == 200
        text = response.content.decode("utf-8-sig")
        assert text.splitlines()[0] == "编码,名称,类型,上级编码,网格类型,户数"
        assert "369921,莲溪县,区县,3699,,0" in text
        response = admin_client.get(reverse("admin:grids_area_export"), {"format": "xlsx"})
        assert response.content[:2] == b"PK"


class TestAccess:
    def test_anonymous_is_sent_to_login(self, client, city):
        response = client.get(reverse("admin:grids_area_import"))
        assert response.status_code == 302 and "login" in response["Location"]

    def test_staff_without_add_permission_gets_403_on_import(self, client, city):
        user = User.objects.create_user("viewer", password="pw-for-tests-1", is_staff=True)
        user.user_permissions.add(Permission.objects.get(codename="view_area"))
        client.force_login(user)
        assert client.get(reverse("admin:grids_area_changelist")).status_code == 200
        assert client.get(reverse("admin:grids_area_import")).status_code == 403
        assert client.get(reverse("admin:grids_area_export")).status_code == 200


class TestPostAdmin:
    def test_adding_a_principal_ends_the_previous_one(self, admin_client, city):
        grid = city["grid"]
        first = services.person_get_or_create(name="李雪永", phone="18937143700")
        second = services.person_get_or_create(name="王芳", phone="13800138000")
        old = services.post_assign(area=grid, title=PostTitle.GRID_HEAD, person=first)
        response = admin_client.post(
            reverse("admin:grids_post_add"),
            {
                "area": grid.pk,
                "title": "grid_head",
                "person": second.pk,
                "is_public": "on",
                "started_on": "2026-11-01",
            },
        )
        assert response.status_code == 302
        old.refresh_from_db()
        assert old.ended_on is not None
        assert Post.objects.get(ended_on__isnull=True, area=grid).person == second

    def test_title_not_allowed_on_kind_is_refused(self, admin_client, city):
        person = services.person_get_or_create(name="李雪永", phone="18937143700")
        response = admin_client.post(
            reverse("admin:grids_post_add"),
            {
                "area": city["community"].pk,
                "title": "unit_head",
                "person": person.pk,
                "started_on": "2026-11-01",
            },
        )
        assert response.status_code == 200
        assert not Post.objects.exists()

    def test_posts_cannot_be_deleted(self, admin_client, city):
        person = services.person_get_or_create(name="李雪永", phone="18937143700")
        post = services.post_assign(area=city["grid"], title=PostTitle.GRID_HEAD, person=person)
        response = admin_client.post(reverse("admin:grids_post_delete", args=[post.pk]), {})
        assert response.status_code == 403
        assert Post.objects.filter(pk=post.pk).exists()


class TestPostAdminReview:
    def test_promoting_a_deputy_in_the_admin_ends_the_principal(self, admin_client, city):
        grid = city["grid"]
        head = services.person_get_or_create(name="李雪永", phone="18937143700")
        deputy = services.person_get_or_create(name="王芳", phone="13800138000")
        principal = services.post_assign(area=grid, title=PostTitle.GRID_HEAD, person=head)
        second = services.post_assign(
            area=grid, title=PostTitle.GRID_HEAD, person=deputy, is_deputy=True
        )
        response = admin_client.post(
            reverse("admin:grids_post_change", args=[second.pk]), {"is_public": "on"}
        )
        assert response.status_code == 302
        principal.refresh_from_db()
        second.refresh_from_db()
        assert principal.ended_on is not None and not second.is_deputy

    def test_a_post_cannot_start_in_the_future(self, admin_client, city):
        import datetime as dt

        from django.utils import timezone

        person = services.person_get_or_create(name="李雪永", phone="18937143700")
        tomorrow = timezone.localdate() + dt.timedelta(days=1)
        response = admin_client.post(
            reverse("admin:grids_post_add"),
            {
                "area": city["grid"].pk,
                "title": "grid_head",
                "person": person.pk,
                "started_on": tomorrow.isoformat(),
            },
        )
        assert response.status_code == 200 and not Post.objects.exists()


class TestImportLimitsAndCells:
    """Issue 9, points 4 and 5: uploads that would exhaust a worker, and control characters."""

    @pytest.fixture(autouse=True)
    def uploads(self, settings, tmp_path):
        settings.VAR_DIR = tmp_path
        return tmp_path / "imports"

    def test_point4_web_import_shows_the_limit_error_not_a_500(self, admin_client, city, settings):
        url = reverse("admin:grids_area_import")
        settings.SPREADSHEET_MAX_ROWS = 3
        rows = "".join(f"36992110000100100{i},{i}栋,楼栋,369921100001001\n" for i in range(10))
        response = admin_client.post(url, {"file": _upload("编码,名称,类型,上级编码\n" + rows)})
        html = response.content.decode()
        assert response.status_code == 200
        assert "3" in html and 'name="token"' not in html
        assert str(response.context["errors"][0].message).count("3") == 2

        settings.SPREADSHEET_MAX_UPLOAD_BYTES = 100
        response = admin_client.post(url, {"file": _upload("编码,名称,类型,上级编码\n" + rows)})
        assert response.status_code == 200
        assert "0.0 MB" in response.content.decode() and 'name="token"' not in html

    def test_point4_zip_bomb_upload_is_refused_on_the_heads_import(
        self, admin_client, city, settings
    ):
        from tests.portal.test_spreadsheets import _bomb

        settings.SPREADSHEET_MAX_UNPACKED_BYTES = 20 * 1024 * 1024
        data = io.BytesIO(_bomb(25 * 1024 * 1024))
        data.name = "heads.xlsx"
        response = admin_client.post(reverse("admin:grids_post_import"), {"file": data})
        assert response.status_code == 200
        assert "20.0 MB" in response.content.decode()
        assert 'name="token"' not in response.content.decode()

    def test_point5_nul_byte_is_a_cell_error_at_preview(self, admin_client, city, uploads):
        url = reverse("admin:grids_area_import")
        csv_text = "编码,名称,类型,上级编码\n369921100001001002,2\x00栋,楼栋,369921100001001\n"
        response = admin_client.post(url, {"file": _upload(csv_text)})
        html = response.content.decode()
        assert response.status_code == 200
        (error,) = response.context["errors"]
        assert (error.line, error.column) == (2, "B（名称）") and "U+0000" in error.message
        assert "U+0000" in html and 'name="token"' not in html  # no way to confirm
        assert not Area.objects.filter(code="369921100001001002").exists()
        assert not any(uploads.iterdir())  # the failed preview's file is gone

    def test_point5_upload_file_is_private_0600_and_removed(self, admin_client, city, uploads):
        url = reverse("admin:grids_area_import")
        csv_text = "编码,名称,类型,上级编码\n369921100001001002,2栋,楼栋,369921100001001\n"
        token = admin_client.post(url, {"file": _upload(csv_text)}).context["token"]
        assert (uploads / token).stat().st_mode & 0o777 == 0o600
        assert uploads.stat().st_mode & 0o777 == 0o700

        assert admin_client.post(url, {"token": token}).status_code == 302
        assert Area.objects.filter(code="369921100001001002").exists()
        assert not (uploads / token).exists()


class TestPartyOrgAdmin:
    """Point 4: a Party body is changed through ``party_org_update``, not ``.update()``."""

    def _org(self, city):
        committee = services.party_org_create(
            name="莲城镇党委", kind="working_committee", area=city["town"]
        )
        return services.party_org_create(
            name="莲心社区党委", kind="community_org", area=city["community"], parent=committee
        )

    def test_shape_a_change_goes_through_party_org_update(self, admin_client, city, monkeypatch):
        org = self._org(city)
        secretary = services.person_get_or_create(name="李书记", phone="13900001111")
        calls = []
        real = services.party_org_update

        def spy(**kwargs):
            calls.append(kwargs)
            return real(**kwargs)

        monkeypatch.setattr(services, "party_org_update", spy)
        response = admin_client.post(
            reverse("admin:grids_partyorg_change", args=[org.pk]),
            {"name": " 莲心社区党总支 ", "secretary": secretary.pk},
        )
        assert response.status_code == 302, response.content.decode()[:2000]
        assert calls == [{"org": org, "name": "莲心社区党总支", "secretary": secretary}]
        org.refresh_from_db()
        assert (org.name, org.secretary) == ("莲心社区党总支", secretary)

    def test_shape_the_services_refusal_shows_on_the_form_and_writes_nothing(
        self, admin_client, city, monkeypatch
    ):
        from django.core.exceptions import ValidationError

        org = self._org(city)

        def refuse(**kwargs):
            org.__class__.objects.filter(pk=org.pk).update(name="written before the refusal")
            raise ValidationError({"name": "拒绝：名称不合规定"})

        monkeypatch.setattr(services, "party_org_update", refuse)
        response = admin_client.post(
            reverse("admin:grids_partyorg_change", args=[org.pk]), {"name": "新名称"}
        )
        assert response.status_code == 200
        form = response.context["adminform"].form
        assert form.errors["name"] == ["拒绝：名称不合规定"]
        assert "新名称" in response.content.decode()  # the input is kept
        org.refresh_from_db()
        assert org.name == "莲心社区党委"  # the transaction was rolled back

    def test_shape_the_service_refuses_an_empty_name(self, city):
        from django.core.exceptions import ValidationError

        org = self._org(city)
        with pytest.raises(ValidationError) as caught:
            services.party_org_update(org=org, name="  ", secretary=None)
        assert "name" in caught.value.error_dict
        org.refresh_from_db()
        assert org.name == "莲心社区党委"


def test_shape_an_area_is_not_deleted_through_the_admin(admin_client, city):
    grid = city["grid"]
    delete = reverse("admin:grids_area_delete", args=[grid.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert Area.objects.filter(pk=grid.pk).exists()
