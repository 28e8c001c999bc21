"""A problem's place is shown with the grid and the building above it ("第1网格 › 1栋 ›
2单元", from the user's own scope down) on the ticket page, in the merge suggestions and in
the inbox: the ancestors of every row fetched in one query, however many rows."""

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

TEXT = "楼道灯坏了，晚上看不见"


def _queries(client, url, **params) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params)
    assert response.status_code == 200
    return len(queries), response.content.decode()


def test_the_ticket_page_names_the_place_with_its_building_and_grid(t, login_as):
    ticket = t.report("U2")
    html = login_as("grid_head").get(reverse("issues:ticket_detail", args=[ticket.pk]))
    assert "第1网格 › 1栋 › 2单元" in html.content.decode()
    # Seen from the community, the community comes first.
    html = login_as("community").get(reverse("issues:ticket_detail", args=[ticket.pk]))
    assert f"{t.community_a.name} › 第1网格 › 1栋 › 2单元" in html.content.decode()


def test_the_inbox_names_each_place_at_one_query_for_all_rows(t, login_as):
    client = login_as("grid_head")
    url = reverse("issues:inbox")
    t.report("U1")
    few, html = _queries(client, url, tab="area")
    assert "第1网格 › 1栋 › 1单元" in html
    for place in ("U2", "B1", "G1", "U2", "U1"):
        t.report(place)
    many, html = _queries(client, url, tab="area")
    assert many == few
    assert html.count("第1网格 › 1栋 › 2单元") == 2
    assert "第1网格 › 1栋<" in html and "第1网格<" in html


def test_the_merge_suggestions_name_their_places_at_one_query_for_all(t, login_as):
    ticket = t.report("U1", description=TEXT)
    t.report("U2", tier="simple", description=TEXT)
    client = login_as("grid_head")
    url = reverse("issues:ticket_detail", args=[ticket.pk])
    few, html = _queries(client, url)
    assert html.count("data-duplicate=") == 1
    assert "第1网格 › 1栋 › 2单元</span>" in html
    for place in ("B1", "G1", "U1"):
        t.report(place, tier="complex", description=TEXT)
    many, html = _queries(client, url)
    assert html.count("data-duplicate=") == 4
    assert many == few
    assert "第1网格 › 1栋</span>" in html


def test_the_chains_of_many_places_cost_one_query(t, django_assert_num_queries):
    from grids.selectors import area_chains

    areas = [t.u1, t.u2, t.u3, t.u4, t.b1, t.g1] * 20
    with django_assert_num_queries(1):
        chains = area_chains(areas)
    assert [a.name for a in chains[t.u1.pk]][-3:] == ["第1网格", "1栋", "1单元"]
    assert [a.name for a in chains[t.g1.pk]][-1:] == ["第1网格"]


def test_the_triage_actions_put_assign_first_and_merge_and_decline_second(t, login_as):
    """Three actions read alike: assigning comes first and is chosen, merging and declining
    outlined in grey after it; the reveal links and the radios are thumb-sized (44 px,
    ``.btn-tap`` and ``.form-check-tap`` in the portal's stylesheet)."""
    import re
    from pathlib import Path

    t.report("U2", tier="simple", description=TEXT)
    ticket = t.report(
        "U1", reporter=None, reporter_phone="13911112222", description=f"{TEXT} 13922223333"
    )
    html = login_as("grid_head").get(reverse("issues:ticket_detail", args=[ticket.pk]))
    html = html.content.decode()

    chips = re.findall(
        r'<label class="btn btn-sm ([^"]*) action-chip" [^>]*data-action="(\w+)"', html
    )
    assert [action for _css, action in chips][:3] == ["assign", "merge", "decline"]
    css = {action: classes for classes, action in chips}
    assert css["assign"] == "btn-outline-danger"
    assert css["merge"] == css["decline"] == "btn-outline-secondary"
    assert re.search(r'id="act-assign" autocomplete="off" checked', html)
    reveals = re.findall(
        r'hx-target="#(?:reporter-phone-\d+|description-cell)"[^>]*>.{0,300}?'
        r'<button type="submit" class="([^"]*)"',
        html,
        re.S,
    )
    assert len(reveals) == 2 and all("btn-tap" in r.split() for r in reveals)
    radios = re.findall(r'<div class="(form-check[^"]*)"[^>]*><input type="radio"', html)
    assert len(radios) >= 4 and all("form-check-tap" in r.split() for r in radios)
    css = (Path(__file__).resolve().parents[2] / "static/portal/portal.css").read_text()
    assert re.search(r"\.btn-tap \{[^}]*min-height: 44px", css)
    assert re.search(r"\.form-check-tap \{[^}]*min-height: 44px", css)


def _handled(html: str) -> tuple[str, list[str]]:
    import re

    field = re.search(r'<dd id="handled-at">(.*?)</dd>', html, flags=re.S).group(1)
    steps = re.findall(r"<span data-handled-at>(.*?)</span>", html)
    return " ".join(field.split()), steps


def test_where_it_was_handled_reads_as_a_path_on_the_page_and_in_the_timeline(t, login_as):
    from issues import services
    from issues.rules import SYSTEM

    ticket = t.report("U2", tier="simple")
    services.ticket_escalate(ticket=ticket, actor=SYSTEM, note="楼栋长处理不了")
    url = reverse("issues:ticket_detail", args=[ticket.pk])
    ticket.refresh_from_db()
    handler = ticket.handler_area
    field, steps = _handled(login_as("community").get(url).content.decode())
    paths = {"unit": "莲心社区 › 第1网格 › 1栋 › 2单元", "building": "莲心社区 › 第1网格 › 1栋"}
    paths["grid"] = "莲心社区 › 第1网格"
    assert field.startswith(f"{paths[handler.kind]} · ")
    assert steps and set(steps) <= set(paths.values())
    assert len(set(steps)) == 2  # where it was first and where it went
    assert all(" › " in step for step in steps)  # never the bare name


def test_the_places_of_the_timeline_cost_one_query_however_many_steps(t, login_as):
    from issues import services

    ticket = t.report("U1", tier="simple")
    client = login_as("grid_head")
    url = reverse("issues:ticket_detail", args=[ticket.pk])
    few, html = _queries(client, url)
    steps = len(_handled(html)[1])
    for n in range(6):
        services.ticket_remind(ticket=ticket, actor=t.users["community"], note=f"催办{n}")
    many, html = _queries(client, url)
    assert len(_handled(html)[1]) >= steps + 6
    assert many == few
    assert set(_handled(html)[1]) == {"第1网格 › 1栋 › 1单元"}


def _chosen(html: str) -> str:
    import re

    found = re.search(r"<span [^>]*data-area-chosen[^>]*>(.*?)</span>", html, flags=re.S)
    return " ".join(found.group(1).split())


def test_the_report_form_names_the_place_of_the_visit_it_starts_from(t, login_as):
    from residents.services import visit_log

    visit = visit_log(household=t.households["U2"], visitor=t.persons["grid_head"])
    html = login_as("grid_head").get(reverse("issues:report"), {"visit": visit.pk})
    html = html.content.decode()
    assert _chosen(html) == "已选地点: 第1网格 › 1栋 › 2单元"
    assert "第1网格 › 1栋 › 2单元 201" in html  # the visit's household by its path too


def test_the_report_form_coming_back_with_errors_names_the_chosen_place(t, login_as):
    client = login_as("community")
    response = client.post(
        reverse("issues:report"),
        {"area": t.u2.code, "category": t.repair.pk, "channel": "hotline", "description": ""},
    )
    assert response.status_code == 200 and response.context["form"].errors
    assert _chosen(response.content.decode()) == "已选地点: 莲心社区 › 第1网格 › 1栋 › 2单元"


def test_the_report_form_names_no_place_for_a_code_outside_the_scope(t, login_as):
    client = login_as("community")
    empty = _chosen(client.get(reverse("issues:report")).content.decode())
    assert empty == ""
    response = client.post(reverse("issues:report"), {"area": t.u4.code, "description": ""})
    assert _chosen(response.content.decode()) == ""  # another community's: not named
