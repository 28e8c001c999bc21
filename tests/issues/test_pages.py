"""The problem pages: inbox tabs and filters, the ticket page showing only what the user may
do now, the actions as small forms with errors beside the field, reporting, meetings."""

import datetime as dt
import io

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from grids.models import Department
from issues import services
from issues.models import Category, Meeting, Ticket, TicketSettings

pytestmark = pytest.mark.django_db


@pytest.fixture
def category(db):
    return Category.objects.create(code="lighting", name="楼道照明")


def _report(world, category, area=None, tier="simple", text="楼道灯不亮"):
    return services.ticket_report(
        area=area or world.u1,
        category=category,
        channel=Ticket.Channel.VISIT,
        description=text,
        reporter=world.residents["U1"],
        reporter_phone="13700000001",
        tier=tier,
    )


def _png(name="p.png", size=(8, 8)) -> io.BytesIO:
    data = io.BytesIO()
    Image.new("RGB", size, "red").save(data, "PNG")
    data.name = name
    data.seek(0)
    return data


class TestInbox:
    def test_tabs_show_the_right_tickets(self, world, login_as, category):
        mine = _report(world, category)
        other = _report(world, category, area=world.u3)
        client = login_as("unit_head")
        html = client.get(reverse("issues:inbox")).content.decode()
        assert f"#{mine.pk}<" in html and f"#{other.pk}<" not in html
        html = client.get(reverse("issues:inbox"), {"tab": "area"}).content.decode()
        assert f"#{mine.pk}<" in html and f"#{other.pk}<" not in html
        client = login_as("community")
        html = client.get(reverse("issues:inbox"), {"tab": "area"}).content.decode()
        assert f"#{mine.pk}<" in html and f"#{other.pk}<" in html
        html = client.get(reverse("issues:inbox"), {"tab": "overdue"}).content.decode()
        assert f"#{mine.pk}<" not in html
        Ticket.objects.filter(pk=mine.pk).update(deadline=timezone.now() - dt.timedelta(hours=1))
        html = client.get(reverse("issues:inbox"), {"tab": "overdue"}).content.decode()
        assert f"#{mine.pk}<" in html and 'data-deadline="over"' in html

    def test_outsider_sees_nothing_of_another_community(self, world, login_as, category):
        ticket = _report(world, category)
        client = login_as("outsider")
        html = client.get(reverse("issues:inbox"), {"tab": "area"}).content.decode()
        assert f"#{ticket.pk}<" not in html
        assert client.get(reverse("issues:ticket_detail", args=[ticket.pk])).status_code == 404

    def test_filters_and_unknown_tab(self, world, login_as, category):
        ticket = _report(world, category, text="电梯停运")
        _report(world, category, text="楼道灯不亮")
        client = login_as("community")
        html = client.get(reverse("issues:inbox"), {"tab": "area", "q": "电梯"}).content.decode()
        assert f"#{ticket.pk}<" in html and "楼道灯不亮" not in html
        html = client.get(reverse("issues:inbox"), {"tab": "area", "q": f"#{ticket.pk}"})
        assert f"#{ticket.pk}<" in html.content.decode()
        assert client.get(reverse("issues:inbox"), {"tab": "nope"}).status_code == 404
        area_filter = {"tab": "area", "area": world.community_b.code}
        response = client.get(reverse("issues:inbox"), area_filter)  # a message, not a 404
        assert response.status_code == 200 and list(response.context["form"].errors) == ["area"]
        assert list(response.context["page"]) == []

    def test_queries_do_not_grow_with_rows(self, world, login_as, category):
        client = login_as("community")
        _report(world, category)
        with CaptureQueriesContext(connection) as small:
            client.get(reverse("issues:inbox"), {"tab": "area"})
        for i in range(20):
            _report(world, category, area=world.u3 if i % 2 else world.u2)
        with CaptureQueriesContext(connection) as large:
            client.get(reverse("issues:inbox"), {"tab": "area"})
        assert len(large) == len(small)


class TestTicketPage:
    def test_only_the_actions_allowed_now(self, world, login_as, category):
        ticket = _report(world, category)
        html = login_as("unit_head").get(reverse("issues:ticket_detail", args=[ticket.pk]))
        html = html.content.decode()
        assert "action-accept" in html and "action-resolve" in html
        assert "action-rate" not in html and "action-meeting" not in html
        html = login_as("street").get(reverse("issues:ticket_detail", args=[ticket.pk]))
        html = html.content.decode()
        assert "action-remind" in html and "action-accept" not in html

    def test_action_flow_and_timeline(self, world, login_as, category):
        ticket = _report(world, category)
        client = login_as("unit_head")
        url = reverse("issues:ticket_act", args=[ticket.pk, "progress"])
        response = client.post(url, {"version": ticket.version, "progress-note": "已联系物业"})
        assert response.status_code == 302
        ticket.refresh_from_db()
        url = reverse("issues:ticket_act", args=[ticket.pk, "resolve"])
        response = client.post(url, {"version": ticket.version, "resolve-feedback": "灯已换好"})
        assert response.status_code == 302
        ticket.refresh_from_db()
        assert ticket.state == Ticket.State.RESOLVED
        # The handler may not rate it: the page says the rating is the reporter's, and the
        # rating form is refused. A return call by the community worker records it.
        html = client.get(reverse("issues:ticket_detail", args=[ticket.pk])).content.decode()
        assert 'id="rating-not-yours"' in html and "action-rate" not in html
        url = reverse("issues:ticket_act", args=[ticket.pk, "rate"])
        response = client.post(url, {"version": ticket.version, "rate-rating": "satisfied"})
        assert response.status_code == 403
        reporter = ticket.reporters.get()
        caller = login_as("community")
        response = caller.post(
            url,
            {
                "version": ticket.version,
                "rate-reporter": reporter.pk,
                "rate-rating": "satisfied",
                "rate-comment": "电话回访，居民满意",
            },
        )
        assert response.status_code == 302
        reporter.refresh_from_db()
        assert (reporter.rating_source, reporter.rating_caller) == (
            "return_call",
            world.users["community"],
        )
        html = client.get(reverse("issues:ticket_detail", args=[ticket.pk])).content.decode()
        for kind in ("report", "assign", "progress", "resolve", "rate", "close"):
            assert f'data-kind="{kind}"' in html

    def test_errors_beside_the_field_and_nothing_changes(self, world, login_as, category):
        ticket = _report(world, category)
        client = login_as("unit_head")
        url = reverse("issues:ticket_act", args=[ticket.pk, "resolve"])
        response = client.post(url, {"version": ticket.version, "resolve-feedback": ""})
        assert response.status_code == 400
        assert "invalid-feedback" in response.content.decode()
        ticket.refresh_from_db()
        assert ticket.state == Ticket.State.ASSIGNED

    def test_a_stale_form_is_refused(self, world, login_as, category):
        ticket = _report(world, category)
        client = login_as("unit_head")
        url = reverse("issues:ticket_act", args=[ticket.pk, "progress"])
        response = client.post(url, {"version": ticket.version - 1, "progress-note": "x"})
        assert response.status_code == 400
        assert ticket.events.count() == 2

    def test_action_not_allowed_is_403_and_wrong_method_405(self, world, login_as, category):
        ticket = _report(world, category)
        client = login_as("building_head")
        url = reverse("issues:ticket_act", args=[ticket.pk, "resolve"])
        assert client.post(url, {"resolve-feedback": "x"}).status_code == 403
        assert client.get(url).status_code == 405
        outsider = login_as("outsider")
        assert outsider.post(url, {"resolve-feedback": "x"}).status_code == 404

    def test_detail_queries_do_not_grow_with_events(self, world, login_as, category):
        ticket = _report(world, category)
        client = login_as("unit_head")
        url = reverse("issues:ticket_detail", args=[ticket.pk])
        with CaptureQueriesContext(connection) as small:
            client.get(url)
        for i in range(10):
            services.ticket_progress(ticket=ticket, actor=world.users["unit_head"], note=f"{i}")
        with CaptureQueriesContext(connection) as large:
            client.get(url)
        assert len(large) == len(small)


class TestReport:
    def test_report_with_photos_from_a_visit(self, world, login_as, category, settings, tmp_path):
        settings.MEDIA_ROOT = tmp_path
        from residents.services import visit_log

        visit = visit_log(
            household=world.households["U1"],
            visitor=world.persons["unit_head"],
            findings="楼道灯坏了",
        )
        client = login_as("unit_head")
        page = client.get(reverse("issues:report"), {"visit": visit.pk})
        assert page.status_code == 200 and "楼道灯坏了" in page.content.decode()
        response = client.post(
            reverse("issues:report"),
            {
                "area": world.u1.code,
                "category": category.pk,
                "channel": "visit",
                "description": "楼道灯坏了",
                "resident": world.residents["U1"].pk,
                "tier": "simple",
                "visit": visit.pk,
                "photos": [_png()],
            },
        )
        assert response.status_code == 302
        ticket = Ticket.objects.get()
        assert (ticket.visit, ticket.reporter, ticket.level) == (
            visit,
            world.residents["U1"],
            "unit",
        )
        assert ticket.photos.count() == 1

    def test_bad_photo_and_out_of_scope_area_refused(self, world, login_as, category):
        client = login_as("unit_head")
        fake = io.BytesIO(b"not an image")
        fake.name = "x.png"
        response = client.post(
            reverse("issues:report"),
            {
                "area": world.u1.code,
                "category": category.pk,
                "channel": "hotline",
                "description": "x",
                "reporter_phone": "13700000009",
                "photos": [fake],
            },
        )
        assert response.status_code == 200 and not Ticket.objects.exists()
        response = client.post(
            reverse("issues:report"),
            {
                "area": world.u4.code,
                "category": category.pk,
                "channel": "hotline",
                "description": "x",
                "reporter_phone": "13700000009",
            },
        )
        assert response.status_code == 200 and not Ticket.objects.exists()

    def test_department_handler_cannot_report(self, world, login_as):
        assert login_as("department").get(reverse("issues:report")).status_code == 403


class TestMeetings:
    def test_county_officer_assigns_to_two_departments(self, world, login_as, category):
        TicketSettings.objects.create(hard_via_street=False)
        ticket = _report(world, category, tier="hard")
        water = Department.objects.create(code="water", name="水务局")
        client = login_as("county")
        response = client.post(
            reverse("issues:meeting_list"), {"title": "第1次交办会", "held_on": "2026-11-20"}
        )
        meeting = Meeting.objects.get()
        assert response.status_code == 302
        url = reverse("issues:ticket_act", args=[ticket.pk, "meeting"])
        response = client.post(
            url,
            {
                "version": Ticket.objects.get(pk=ticket.pk).version,
                "meeting-meeting": meeting.pk,
                f"meeting-part_{world.department.pk}": "on",
                f"meeting-deadline_{world.department.pk}": "2099-12-31",
                f"meeting-instructions_{world.department.pk}": "牵头处理",
                f"meeting-part_{water.pk}": "on",
                f"meeting-deadline_{water.pk}": "2099-12-20",
                f"meeting-instructions_{water.pk}": "配合处理",
            },
        )
        assert response.status_code == 302
        assert ticket.tasks.count() == 2
        html = client.get(reverse("issues:meeting_detail", args=[meeting.pk])).content.decode()
        assert "住建局" in html and "水务局" in html

    def test_meetings_are_for_the_county_office(self, world, login_as):
        assert login_as("community").get(reverse("issues:meeting_list")).status_code == 403


class TestReferenceImports:
    """Holidays and departments come in through django-import-export's admin screens."""

    def test_holiday_import_preview_and_confirm(self, admin_client_for_world):
        from issues.models import Holiday

        client = admin_client_for_world
        url = reverse("admin:issues_holiday_import")
        assert client.get(url).status_code == 200
        data = io.BytesIO("日期,名称,调休上班\n2027-01-01,元旦,0\n".encode("utf-8-sig"))
        data.name = "holidays.csv"
        response = client.post(url, {"import_file": data, "format": "0", "resource": "0"})
        assert response.status_code == 200
        assert not Holiday.objects.exists()  # a preview writes nothing
        html = response.content.decode()
        assert "元旦" in html

    def test_department_export(self, admin_client_for_world):
        response = admin_client_for_world.post(
            reverse("admin:grids_department_export"),
            {
                "format": "0",
                "resource": "0",
                "departmentresource_code": "on",
                "departmentresource_name": "on",
                "departmentresource_email": "on",
            },
        )
        assert response.status_code == 200
        assert response["Content-Disposition"].startswith("attachment")
        text = response.content.decode("utf-8-sig")
        assert text.splitlines()[0].startswith("编码,名称") and "住建局" in text


# Departments belong to the organisation (grids); holidays to the problem workflow.
APP_OF = {"department": "grids", "holiday": "issues"}


@pytest.fixture
def admin_client_for_world(client, world):
    client.force_login(world.users["admin"])
    return client


class TestReviewFindings:
    def test_a_unit_head_cannot_report_up_as_hard(self, world, login_as, category):
        ticket = _report(world, category)
        client = login_as("unit_head")
        html = client.get(reverse("issues:ticket_detail", args=[ticket.pk])).content.decode()
        assert "escalate-as_hard" not in html  # the checkbox is not offered
        with pytest.raises(PermissionDenied):
            services.ticket_escalate(ticket=ticket, actor=world.users["unit_head"], as_hard=True)
        ticket.refresh_from_db()
        assert ticket.level == "unit"

    def test_nothing_is_stored_when_the_report_is_refused(
        self, world, category, settings, tmp_path
    ):
        settings.MEDIA_ROOT = tmp_path
        with pytest.raises(PermissionDenied):
            services.ticket_report(
                area=world.u1,
                category=category,
                channel="visit",
                description="x",
                reporter_phone="13700000001",
                tier="hard",
                actor=world.users["unit_head"],
                photos=[SimpleUploadedFile("p.png", _png().getvalue(), "image/png")],
            )
        assert not Ticket.objects.exists()
        assert not any(tmp_path.rglob("*.png"))


class TestCallingBack:
    def test_the_handler_reveals_the_reporters_phone_and_it_is_logged(
        self, world, login_as, category
    ):
        from residents.models import AccessLog

        ticket = services.ticket_report(
            area=world.u1,
            category=category,
            channel="hotline",
            description="灯坏了",
            reporter_phone="13700000042",
            tier="simple",
        )
        page = login_as("unit_head").get(reverse("issues:ticket_detail", args=[ticket.pk]))
        html = page.content.decode()
        assert "137****0042" in html and "13700000042" not in html
        response = login_as("unit_head").post(reverse("issues:reporter_phone", args=[ticket.pk]))
        assert response.status_code == 200 and "13700000042" in response.content.decode()
        log = AccessLog.objects.get(ticket_link__ticket=ticket)
        assert (log.viewer, log.field, log.resident) == (world.users["unit_head"], "phone", None)
        # Someone with nothing to tell the reporter may not.
        response = login_as("building_head").post(
            reverse("issues:reporter_phone", args=[ticket.pk])
        )
        assert response.status_code == 403
        assert (
            login_as("outsider")
            .post(reverse("issues:reporter_phone", args=[ticket.pk]))
            .status_code
            == 404
        )


class TestControlCharacters:
    def test_point9_the_report_form_refuses_a_control_character(self, world, login_as, category):
        client = login_as("unit_head")
        data = {
            "area": world.u1.code,
            "category": category.pk,
            "channel": "hotline",
            "description": "楼道灯\x14不亮",
            "reporter_phone": "13700000009",
        }
        response = client.post(reverse("issues:report"), data)
        assert response.status_code == 200 and not Ticket.objects.exists()
        errors = response.context["form"].errors
        assert "控制字符" in errors["description"][0]
        assert "U+0014" in errors["description"][0]

        response = client.post(
            reverse("issues:report"), {**data, "reporter_name": "张\n三", "description": "ok"}
        )
        assert "控制字符" in response.context["form"].errors["reporter_name"][0]
        response = client.post(
            reverse("issues:report"), {**data, "description": "楼道灯不亮\r\n\t三天了"}
        )
        assert response.status_code == 302 and Ticket.objects.count() == 1

    def test_point9_every_portal_form_checks_its_text_fields(self):
        """The check sits in the mixin every portal form is built on."""
        from django import forms

        from core.forms import Form
        from issues.forms import NoteForm
        from portal.auth import LoginForm
        from residents.forms import ResidentFilterForm

        class Free(Form):
            line = forms.CharField()
            text = forms.CharField(widget=forms.Textarea)
            mail = forms.EmailField(required=False)

        form = Free({"line": "a\tb", "text": "a\x7fb", "mail": "a\x9f@example.org"})
        assert set(form.errors) == {"line", "text", "mail"}
        assert all("控制字符" in " ".join(e) for e in form.errors.values())
        assert Free({"line": "a b", "text": "a\nb\tc"}).is_valid()
        assert "note" in NoteForm({"note": "\x08"}).errors
        assert "q" in ResidentFilterForm({"q": "\x1b"}).errors
        login = LoginForm(None, {"username": "a\x14", "password": "x"})
        assert "控制字符" in str(login.errors)


class TestReferenceSpreadsheets:
    """Issue 9 points 4, 5 and 8 on django-import-export's holiday and department screens."""

    @pytest.fixture(autouse=True)
    def uploads(self, settings, tmp_path):
        settings.VAR_DIR = tmp_path
        return tmp_path / "imports"

    @staticmethod
    def _file(data: bytes, name="holidays.csv"):
        upload = io.BytesIO(data)
        upload.name = name
        return upload

    def _preview(self, client, data, name="holidays.csv", model="holiday"):
        fmt = "1" if name.endswith(".xlsx") else "0"
        return client.post(
            reverse(f"admin:{APP_OF[model]}_{model}_import"),
            {"import_file": self._file(data, name), "format": fmt, "resource": "0"},
        )

    def test_point5_nul_byte_is_a_cell_error_at_preview(self, admin_client_for_world, uploads):
        from issues.models import Holiday

        data = "日期,名称,调休上班\n2027-01-01,元\x00旦,0\n".encode("utf-8-sig")
        response = self._preview(admin_client_for_world, data)
        assert response.status_code == 200
        errors = response.context["form"].errors["import_file"]
        assert len(errors) == 1 and "U+0000" in errors[0] and "B（名称）" in errors[0]
        assert "confirm_form" not in response.context
        assert not Holiday.objects.exists()
        assert not uploads.exists() or not any(uploads.iterdir())

    def test_point4_oversized_or_zip_bomb_upload_is_refused(
        self, admin_client_for_world, settings, uploads
    ):
        from tests.portal.test_spreadsheets import _bomb

        settings.SPREADSHEET_MAX_UNPACKED_BYTES = 20 * 1024 * 1024
        response = self._preview(admin_client_for_world, _bomb(25 * 1024 * 1024), "h.xlsx")
        assert response.status_code == 200
        assert "20.0 MB" in response.context["form"].errors["import_file"][0]
        settings.SPREADSHEET_MAX_UPLOAD_BYTES = 10
        response = self._preview(admin_client_for_world, "日期,名称\n".encode())
        assert "0.0 MB" in response.context["form"].errors["import_file"][0]
        assert not uploads.exists() or not any(uploads.iterdir())

    def test_point5_upload_file_is_private_0600_and_removed(self, admin_client_for_world, uploads):
        from issues.models import Holiday

        data = "日期,名称,调休上班\n2027-01-01,元旦,0\n".encode("gbk")
        response = self._preview(admin_client_for_world, data)
        confirm = response.context["confirm_form"]
        (stored,) = uploads.iterdir()
        assert stored.stat().st_mode & 0o777 == 0o600 and uploads.stat().st_mode & 0o777 == 0o700
        response = admin_client_for_world.post(
            reverse("admin:issues_holiday_process_import"),
            {name: confirm[name].value() for name in confirm.fields},
        )
        assert response.status_code == 302
        assert Holiday.objects.get().name == "元旦"
        assert not any(uploads.iterdir())

    @pytest.mark.parametrize("fmt", ["0", "1"])
    def test_point8_department_and_holiday_exports_escape_and_reimport_unchanged(
        self, admin_client_for_world, fmt
    ):
        from issues.models import Holiday
        from tests.spreadsheet_checks import FORMULA_PAYLOADS, assert_no_formula

        client = admin_client_for_world
        for i, payload in enumerate(FORMULA_PAYLOADS):
            Department.objects.create(code=f"f{i}", name=payload, email="")
            Holiday.objects.create(date=dt.date(2030, 1, 1 + i), name=payload, is_workday=False)
        names = {
            "department": dict(Department.objects.values_list("code", "name")),
            "holiday": dict(Holiday.objects.values_list("date", "name")),
        }
        fields = {
            "department": ("code", "name", "email"),
            "holiday": ("date", "name", "is_workday"),
        }
        for model, columns in fields.items():
            response = client.post(
                reverse(f"admin:{APP_OF[model]}_{model}_export"),
                {"format": fmt, "resource": "0"} | {f"{model}resource_{c}": "on" for c in columns},
            )
            assert response.status_code == 200
            ext = "csv" if fmt == "0" else "xlsx"
            assert assert_no_formula(response.content, ext) >= len(FORMULA_PAYLOADS)

            preview = self._preview(client, response.content, f"{model}.{ext}", model)
            result = preview.context["result"]
            assert not result.has_errors() and not result.has_validation_errors()
            assert {(model, row.import_type) for row in result.rows} == {(model, "skip")}
        assert dict(Department.objects.values_list("code", "name")) == names["department"]
        assert dict(Holiday.objects.values_list("date", "name")) == names["holiday"]
