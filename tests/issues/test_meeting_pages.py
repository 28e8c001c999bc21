"""The assignment meeting as the pages show it: each department its own instructions and
deadline on the meeting form, on the problem's page (a department sees its own part only),
on the meeting page and on the department's list of parts; the county office's review."""

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from issues import services
from issues.models import DepartmentTask, Level, Meeting, Ticket

pytestmark = pytest.mark.django_db

S = Ticket.State
OPEN, REPORTED, DONE = DepartmentTask.Status.values


def parts_of(ticket):
    return {p.department: p for p in ticket.tasks.all()}


def _client(t, persona) -> Client:
    client = Client()
    client.force_login(t.user(persona))
    return client


@pytest.fixture
def at_county(t):
    t.settings(hard_via_street=False)
    ticket = t.report("U1", tier="hard")
    assert ticket.level == Level.COUNTY
    return ticket


@pytest.fixture
def meeting(t):
    return services.meeting_open(area=t.county, title="第三次交办会", actor=t.user("county"))


def _assign_on_the_page(t, ticket, meeting, rows: dict):
    data = {"version": Ticket.objects.get(pk=ticket.pk).version, "meeting-meeting": meeting.pk}
    for department, (day, instructions) in rows.items():
        data[f"meeting-part_{department.pk}"] = "on"
        data[f"meeting-deadline_{department.pk}"] = day
        data[f"meeting-instructions_{department.pk}"] = instructions
    url = reverse("issues:ticket_act", args=[ticket.pk, "meeting"])
    return _client(t, "county").post(url, data)


def _day(days: int) -> str:
    return (timezone.localdate() + dt.timedelta(days=days)).isoformat()


def test_each_department_gets_its_own_instructions_and_deadline(t, at_county, meeting):
    page = _client(t, "county").get(reverse("issues:ticket_detail", args=[at_county.pk]))
    html = page.content.decode()
    assert 'id="meeting-parts"' in html
    for department in (t.housing, t.water):
        assert f'name="meeting-deadline_{department.pk}"' in html
        assert f'name="meeting-instructions_{department.pk}"' in html

    response = _assign_on_the_page(
        t,
        at_county,
        meeting,
        {t.housing: (_day(10), "牵头修复屋顶防水"), t.water: (_day(5), "配合更换入户水管")},
    )

    assert response.status_code == 302
    parts = {p.department: p for p in at_county.tasks.all()}
    assert parts[t.housing].instructions == "牵头修复屋顶防水"
    assert parts[t.water].instructions == "配合更换入户水管"
    assert timezone.localtime(parts[t.water].deadline).date().isoformat() == _day(5)
    assert timezone.localtime(parts[t.housing].deadline).date().isoformat() == _day(10)
    at_county.refresh_from_db()
    assert at_county.deadline == parts[t.housing].deadline  # the latest part's

    html = _client(t, "county").get(reverse("issues:meeting_detail", args=[meeting.pk]))
    html = html.content.decode()
    assert "牵头修复屋顶防水" in html and "配合更换入户水管" in html


def test_a_chosen_department_without_a_deadline_or_instructions_is_refused_by_name(
    t, at_county, meeting
):
    response = _assign_on_the_page(
        t, at_county, meeting, {t.housing: ("", "修复"), t.water: (_day(5), "")}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "住建局" in html and "水务局" in html
    assert not at_county.tasks.exists()
    response = _assign_on_the_page(t, at_county, meeting, {})
    assert response.status_code == 400 and not at_county.tasks.exists()
    response = _assign_on_the_page(t, at_county, meeting, {t.water: (_day(-1), "修")})
    assert response.status_code == 400 and not at_county.tasks.exists()


def _two_parts(t, ticket, meeting):
    _assign_on_the_page(
        t,
        ticket,
        meeting,
        {t.housing: (_day(10), "牵头修复屋顶防水"), t.water: (_day(5), "配合更换入户水管")},
    )
    return {p.department: p for p in ticket.tasks.all()}


def test_a_department_sees_only_its_own_part_and_reports_as_itself(t, at_county, meeting):
    _two_parts(t, at_county, meeting)
    html = _client(t, "water").get(reverse("issues:ticket_detail", args=[at_county.pk]))
    html = html.content.decode()
    assert "配合更换入户水管" in html and "牵头修复屋顶防水" not in html
    assert 'data-part="water"' in html and 'data-part="housing"' not in html
    assert "以水务局名义反馈" in html
    # nor another department's steps on the timeline: only its own report and send-back
    services.department_report(
        task=parts_of(at_county)[t.housing], actor=t.user("department"), report="屋顶已修复"
    )
    html = _client(t, "water").get(reverse("issues:ticket_detail", args=[at_county.pk]))
    html = html.content.decode()
    assert "屋顶已修复" not in html and "牵头修复屋顶防水" not in html
    county = _client(t, "county").get(reverse("issues:ticket_detail", args=[at_county.pk]))
    assert "屋顶已修复" in county.content.decode()

    assert 'data-part="water"' in county.content.decode()
    assert 'data-part="housing"' in county.content.decode()


def test_the_departments_list_of_parts(t, at_county, meeting):
    parts = _two_parts(t, at_county, meeting)
    url = reverse("issues:department_parts")
    html = _client(t, "water").get(url).content.decode()
    assert f"#{at_county.pk}" in html and "配合更换入户水管" in html
    assert "牵头修复屋顶防水" not in html and "overdue" not in html and "超期" not in html
    DepartmentTask.objects.filter(pk=parts[t.water].pk).update(
        deadline=timezone.now() - dt.timedelta(hours=1)
    )
    html = _client(t, "water").get(url).content.decode()
    assert "text-danger" in html and ("超期" in html or "overdue" in html)
    services.department_report(task=parts[t.water], actor=t.user("water"), report="已更换")
    html = _client(t, "water").get(url).content.decode()
    assert f"#{at_county.pk}" not in html
    html = _client(t, "water").get(url, {"status": REPORTED}).content.decode()
    assert f"#{at_county.pk}" in html
    assert _client(t, "water").get(url, {"status": "nonsense"}).status_code == 404
    for persona in ("county", "community", "unit_head"):
        assert _client(t, persona).get(url).status_code == 403


def test_the_county_office_sends_one_part_back_then_accepts(t, at_county, meeting):
    parts = _two_parts(t, at_county, meeting)
    services.department_report(task=parts[t.housing], actor=t.user("department"), report="已修")
    services.department_report(task=parts[t.water], actor=t.user("water"), report="已换")
    county = _client(t, "county")
    page = county.get(reverse("issues:ticket_detail", args=[at_county.pk])).content.decode()
    assert 'id="form-review"' in page and 'id="form-send_back"' in page
    assert 'id="form-resolve"' not in page and 'id="form-meeting"' not in page

    at_county.refresh_from_db()
    response = county.post(
        reverse("issues:ticket_act", args=[at_county.pk, "send_back"]),
        {
            "version": at_county.version,
            "send_back-task": parts[t.water].pk,
            "send_back-reason": "入户水管仍有渗漏",
            "send_back-deadline": _day(3),
        },
    )
    assert response.status_code == 302
    water = DepartmentTask.objects.get(pk=parts[t.water].pk)
    assert (water.status, water.sent_back_reason) == (OPEN, "入户水管仍有渗漏")
    html = _client(t, "water").get(reverse("issues:ticket_detail", args=[at_county.pk]))
    assert "入户水管仍有渗漏" in html.content.decode()

    services.department_report(task=water, actor=t.user("water"), report="已全部更换")
    at_county.refresh_from_db()
    response = county.post(
        reverse("issues:ticket_act", args=[at_county.pk, "review"]),
        {"version": at_county.version, "review-feedback": "经县里核查，屋顶和水管均已修复。"},
    )
    assert response.status_code == 302
    at_county.refresh_from_db()
    assert at_county.state == S.RESOLVED
    assert at_county.feedback == "经县里核查，屋顶和水管均已修复。"


def test_a_review_without_words_for_the_reporter_is_refused_beside_the_field(t, at_county, meeting):
    parts = _two_parts(t, at_county, meeting)
    for persona, part in (("department", parts[t.housing]), ("water", parts[t.water])):
        services.department_report(task=part, actor=t.user(persona), report="已办")
    at_county.refresh_from_db()
    response = _client(t, "county").post(
        reverse("issues:ticket_act", args=[at_county.pk, "review"]),
        {"version": at_county.version, "review-feedback": ""},
    )
    assert response.status_code == 400
    at_county.refresh_from_db()
    assert at_county.state == S.IN_PROGRESS
    assert set(at_county.tasks.values_list("status", flat=True)) == {REPORTED}


def test_the_navbar_shows_a_department_its_parts(t):
    html = _client(t, "water").get(reverse("home")).content.decode()
    assert reverse("issues:department_parts") in html
    html = _client(t, "county").get(reverse("home")).content.decode()
    assert reverse("issues:department_parts") not in html
    assert Meeting.objects.count() == 0


def test_the_reporters_tracking_page_of_a_reviewed_problem_shows_the_result_only(
    t, at_county, meeting
):
    parts = _two_parts(t, at_county, meeting)
    services.department_report(task=parts[t.housing], actor=t.user("department"), report="已修")
    services.department_report(task=parts[t.water], actor=t.user("water"), report="已换")
    at_county.refresh_from_db()
    services.part_send_back(
        ticket=at_county,
        task=parts[t.water],
        actor=t.user("county"),
        reason="内部：复核未通过",
        deadline=timezone.now() + dt.timedelta(days=3),
    )
    services.department_report(task=parts[t.water], actor=t.user("water"), report="已全部更换")
    at_county.refresh_from_db()
    services.ticket_review(ticket=at_county, actor=t.user("county"), feedback="县里核查：已修复")
    row = at_county.reporters.get()
    response = Client().get(reverse("citizens:track", args=[row.token]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "县里核查：已修复" in html
    assert "内部：复核未通过" not in html and "已全部更换" not in html


def test_a_department_handler_with_a_post_elsewhere_still_sees_only_its_parts(
    t, at_county, meeting
):
    from grids import services as grid_services
    from grids.rules import PostTitle

    _two_parts(t, at_county, meeting)
    grid_services.post_assign(
        person=t.persons["water"], area=t.u4, title=PostTitle.UNIT_HEAD
    )  # a unit head in community B
    html = _client(t, "water").get(reverse("issues:ticket_detail", args=[at_county.pk]))
    html = html.content.decode()
    assert "配合更换入户水管" in html and "牵头修复屋顶防水" not in html
