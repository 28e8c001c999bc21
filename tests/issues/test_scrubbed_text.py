"""Issue 9, point 3: phone and ID numbers typed into free text (the description, step notes,
department reports, the result told, rating comments, return-visit notes, visit findings)
are masked on every page and in the admin, for everyone; the description as written is
seen only through a logged reveal by whoever may call the reporter back."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from issues import services
from issues.services import Part
from residents import services as resident_services
from residents.models import AccessLog

pytestmark = pytest.mark.django_db

# Another county's resident, in the ways the probe wrote them.
PHONE, ID = "14701234567", "36992119910824023X"
WRITTEN = {
    "description": "邻居张某电话147.0123.4567，身份证369921/19910824/023x，家里漏水",
    "note": "已联系147 - 0123 - 4567",
    "report": "屋顶已修，回访147_0123_4567",
    "feedback": "已告知147\u200b0123\u200b4567",
    "comment": "还是漏，369 921 199 108 240 23x",
    "visit": "回访时说身份证369921.19910824.023X",
    "findings": "住户说电话1470 123 4567",
}
LEAKS = (PHONE, ID, "0123", "19910824", "921 199")


def _leaks(html: str) -> list[str]:
    flat = html.replace("\u200b", "")
    return [s for s in LEAKS if s in flat or s.lower() in flat.lower()]


@pytest.fixture
def hard(t):
    """A hard ticket at the county, on a meeting, one department reported back."""
    t.settings(hard_via_street=False)
    ticket = t.report("U1", tier="complex", description=WRITTEN["description"])
    services.ticket_escalate(
        ticket=ticket, actor=t.user("county"), note=WRITTEN["note"], as_hard=True
    )
    meeting = services.meeting_open(area=t.county, title="交办会", actor=t.users["county"])
    now = timezone.now()
    parts = [
        Part(department=d, deadline=now + dt.timedelta(days=5), instructions="处理")
        for d in (t.housing, t.water)
    ]
    services.meeting_assign(meeting=meeting, ticket=ticket, parts=parts, actor=t.user("county"))
    task = ticket.tasks.get(department=t.housing)
    services.department_report(task=task, actor=t.user("department"), report=WRITTEN["report"])
    ticket.refresh_from_db()
    return ticket, meeting


@pytest.fixture
def rated(t):
    """A simple ticket resolved, rated with a comment, and a return visit logged."""
    ticket = t.report("U1", tier="simple", description=WRITTEN["description"])
    unit = t.user("unit_head")
    services.ticket_resolve(ticket=ticket, actor=unit, feedback=WRITTEN["feedback"])
    services.ticket_rate(
        ticket=ticket, actor=t.user("community"), rating="basic", comment=WRITTEN["comment"]
    )
    ticket.refresh_from_db()
    visit = services.return_visit_schedule(
        ticket=ticket, actor=t.user("community"), on=timezone.localdate()
    )
    services.return_visit_log(visit=visit, actor=t.user("community"), note=WRITTEN["visit"])
    ticket.refresh_from_db()
    return ticket, visit


def _get(client, url) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


@pytest.mark.parametrize("persona", ["county", "department", "admin"])
def test_point3_ticket_page_and_inbox_show_no_full_number(t, hard, login_as, persona):
    ticket, meeting = hard
    client = login_as(persona)
    for url in (reverse("issues:ticket_detail", args=[ticket.pk]), reverse("issues:inbox")):
        html = _get(client, url)
        assert _leaks(html) == [], (persona, url)
    html = _get(client, reverse("issues:ticket_detail", args=[ticket.pk]))
    assert "147****4567" in html and "3****************X" in html
    assert "邻居张某电话" in html and "屋顶已修" in html and "已联系" in html


def test_point3_department_view_and_meeting_page_show_no_full_number(t, hard, login_as):
    ticket, meeting = hard
    # the department that reported (another department does not see its report)
    html = _get(login_as("department"), reverse("issues:ticket_detail", args=[ticket.pk]))
    assert _leaks(html) == [] and "屋顶已修，回访147****4567" in html
    html = _get(login_as("county"), reverse("issues:meeting_detail", args=[meeting.pk]))
    assert _leaks(html) == [] and "屋顶已修，回访147****4567" in html


@pytest.mark.parametrize("persona", ["unit_head", "community"])
def test_point3_feedback_comment_and_return_visit_are_scrubbed(t, rated, login_as, persona):
    ticket, _visit = rated
    html = _get(login_as(persona), reverse("issues:ticket_detail", args=[ticket.pk]))
    assert _leaks(html) == []
    assert "已告知147****4567" in html and "还是漏，3****************X" in html


def test_point3_admin_change_pages_show_no_full_number(t, hard, rated, login_as):
    client = login_as("admin")
    (ticket, meeting), (simple, visit) = hard, rated
    urls = [
        "/admin/issues/ticket/",
        f"/admin/issues/ticket/{ticket.pk}/change/",
        f"/admin/issues/ticket/{simple.pk}/change/",
        f"/admin/issues/meeting/{meeting.pk}/change/",
        f"/admin/issues/returnvisit/{visit.pk}/change/",
        "/admin/issues/returnvisit/",
    ]
    for url in urls:
        assert _leaks(_get(client, url)) == [], url
    html = _get(client, f"/admin/issues/ticket/{ticket.pk}/change/")
    assert "邻居张某电话147****4567" in html and "屋顶已修，回访147****4567" in html


def test_point3_visit_findings_are_scrubbed_on_the_household_page_and_admin(t, login_as):
    household = t.households["U1"]
    visit = resident_services.visit_log(
        household=household, visitor=t.persons["grid_head"], findings=WRITTEN["findings"]
    )
    html = _get(login_as("grid_head"), reverse("residents:household_detail", args=[household.pk]))
    assert _leaks(html) == [] and "住户说电话147****4567" in html
    admin = login_as("admin")
    html = _get(admin, f"/admin/residents/visit/{visit.pk}/change/")
    assert _leaks(html) == [] and "住户说电话147****4567" in html


def test_point3_the_description_as_written_through_a_logged_reveal(t, login_as):
    ticket = t.report("U1", tier="simple", description=WRITTEN["description"])
    url = reverse("issues:description_reveal", args=[ticket.pk])
    page = _get(login_as("unit_head"), reverse("issues:ticket_detail", args=[ticket.pk]))
    assert url in page  # offered where numbers were masked, to who may call back
    response = login_as("unit_head").post(url, REMOTE_ADDR="203.0.113.5", HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    assert WRITTEN["description"] in response.content.decode()
    log = AccessLog.objects.get()
    assert (log.viewer, log.ticket_link.ticket, log.field, log.ip) == (
        t.users["unit_head"],
        ticket,
        "description",
        "203.0.113.5",
    )
    stored = [str(f.value_from_object(log)) for f in AccessLog._meta.concrete_fields]
    assert not any(PHONE in s or "147.0123" in s for s in stored)
    # Whoever may not call the reporter back is neither offered it nor served.
    page = _get(login_as("building_head"), reverse("issues:ticket_detail", args=[ticket.pk]))
    assert url not in page
    assert login_as("building_head").post(url).status_code == 403
    assert login_as("outsider").post(url).status_code == 404
    assert login_as("unit_head").get(url).status_code == 405
    assert AccessLog.objects.count() == 1


def test_point3_no_reveal_offered_when_nothing_was_masked(t, login_as):
    ticket = t.report("U1", tier="simple", description="楼道灯不亮，3栋301室，2024-03-05 10:30")
    html = _get(login_as("unit_head"), reverse("issues:ticket_detail", args=[ticket.pk]))
    assert reverse("issues:description_reveal", args=[ticket.pk]) not in html
    assert "楼道灯不亮，3栋301室，2024-03-05 10:30" in html
