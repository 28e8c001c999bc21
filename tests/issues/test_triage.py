"""受理/核实 (issue 11 point 5): a triager declines a report with a reason the reporter is
told, or merges a duplicate into the problem it repeats (every reporter kept, told and
asked to rate); the page suggests likely duplicates; 首问负责 shows who keeps the reporter
informed."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from core import sms
from core.models import TextMessage
from issues import permissions as perm
from issues import services
from issues.models import Ticket, TicketEvent
from issues.rules import ReporterActor
from issues.services import TicketError, contact

from .helpers import events

S = Ticket.State
E = TicketEvent.Kind
R = Ticket.Rating
REASON = Ticket.DeclineReason
TEXT = "楼道灯坏了，晚上看不见"


def _messages(number: str) -> list[str]:
    return list(
        TextMessage.objects.filter(number=f"+86{number}", purpose=TextMessage.Purpose.REPORTER)
        .order_by("pk")
        .values_list("text", flat=True)
    )


def _second_report(t, place="U2", **extra):
    """Another resident reporting the same lamp, by phone."""
    return t.report(
        place,
        reporter=None,
        reporter_name="王大姐",
        reporter_phone=extra.pop("phone", "13911112222"),
        channel=Ticket.Channel.HOTLINE,
        **extra,
    )


# --- declining -------------------------------------------------------------------------------


def test_a_declined_report_tells_the_reporter_why_with_their_link(t):
    ticket = t.report()
    reporter = ticket.reporters.get()
    sms.outbox.clear()
    services.ticket_decline(
        ticket=ticket,
        actor=t.user("grid_head"),
        reason=REASON.ALREADY_SOLVED,
        note="物业昨天已经换好了灯，如仍不亮请再打12345",
    )
    # Sent through the SMS outbox (the test's transaction never commits: sent by hand).
    sms.sms_send_rows(ids=list(TextMessage.objects.values_list("pk", flat=True)))

    ticket.refresh_from_db()
    assert (ticket.state, ticket.decline_reason) == (S.DECLINED, REASON.ALREADY_SOLVED)
    assert ticket.decline_note == "物业昨天已经换好了灯，如仍不亮请再打12345"
    assert ticket.closed_at is not None and ticket.first_asker == t.users["grid_head"]
    (declined,) = events(ticket, E.DECLINE)
    assert (declined.old_state, declined.new_state, declined.actor) == (
        S.REPORTED,
        S.DECLINED,
        t.users["grid_head"],
    )
    (told,) = [m for m in sms.outbox if "物业昨天已经换好了灯" in m.text]
    assert told.number == "+86" + reporter.phone
    assert str(REASON.ALREADY_SOLVED.label) in told.text
    assert services.tracking_url(reporter) in told.text


@pytest.mark.parametrize(
    ("reason", "note", "field"),
    [
        (REASON.DUPLICATE, "重复了", "reason"),
        ("nonsense", "x", "reason"),
        (REASON.NOT_OURS, " ", "note"),
    ],
)
def test_a_decline_needs_a_reason_and_what_the_reporter_is_told(t, reason, note, field):
    ticket = t.report()
    with pytest.raises(ValidationError) as refused:
        services.ticket_decline(ticket=ticket, actor=t.user("grid_head"), reason=reason, note=note)
    assert field in refused.value.message_dict
    ticket.refresh_from_db()
    assert ticket.state == S.REPORTED and not _messages(ticket.reporters.get().phone)


@pytest.mark.parametrize("persona", ["unit_head", "building_head", "outsider", "department"])
def test_only_a_triager_over_the_place_declines(t, persona):
    ticket = t.report()
    with pytest.raises(PermissionDenied):
        services.ticket_decline(
            ticket=ticket, actor=t.user(persona), reason=REASON.NOT_OURS, note="不归我们管"
        )
    ticket.refresh_from_db()
    assert ticket.state == S.REPORTED


def test_only_a_report_not_yet_triaged_can_be_declined(t):
    ticket = t.report(tier="simple")
    with pytest.raises((PermissionDenied, TicketError)):  # not offered, as any illegal move
        services.ticket_decline(
            ticket=ticket, actor=t.user("grid_head"), reason=REASON.NOT_OURS, note="不归我们管"
        )


# --- merging --------------------------------------------------------------------------------


def _merged(t):
    """The first report triaged to the unit head, a second report of it merged in."""
    first = t.report(tier="simple")
    second = _second_report(t)
    target = services.ticket_merge(
        ticket=second, into=first, actor=t.user("grid_head"), note="同一盏灯"
    )
    first.refresh_from_db()
    second.refresh_from_db()
    return first, second, target


def test_a_merged_report_keeps_every_reporter_and_tells_the_new_one(t):
    first, second, target = _merged(t)
    assert target.pk == first.pk
    assert (second.state, second.decline_reason, second.merged_into) == (
        S.DECLINED,
        REASON.DUPLICATE,
        first,
    )
    rows = list(first.reporters.order_by("pk"))
    assert [(r.reported_as_id, r.phone) for r in rows] == [
        (first.pk, t.residents["U1"].phone),
        (second.pk, "13911112222"),
    ]
    assert not second.reporters.exists()
    (merge,) = events(second, E.MERGE)
    assert f"#{first.pk}" in merge.note and "同一盏灯" in merge.note
    (merged_in,) = events(first, E.MERGED_IN)
    assert f"#{second.pk}" in merged_in.note
    (told,) = _messages("13911112222")
    assert f"#{second.pk}" in told and f"#{first.pk}" in told
    assert services.tracking_url(rows[1]) in told


def test_a_merge_chain_is_flattened(t, login_as):
    """B merged into A, then A into C: B is merged into C, C lists both among its merged
    reports and B's page points at C; the reporters of all three follow C."""
    c, a, b = t.report(tier="simple"), _second_report(t), _second_report(t, phone="13922223333")
    services.ticket_merge(ticket=b, into=a, actor=t.user("grid_head"))
    b.refresh_from_db()
    version = b.version
    services.ticket_merge(ticket=a, into=c, actor=t.user("grid_head"))
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.merged_into_id, b.merged_into_id) == (c.pk, c.pk)
    assert b.version == version + 1  # an open page of B sees it changed
    assert set(c.merged.values_list("pk", flat=True)) == {a.pk, b.pk}
    assert sorted(c.reporters.values_list("reported_as_id", flat=True)) == sorted(
        [a.pk, b.pk, c.pk]
    )
    html = login_as("grid_head").get(reverse("issues:ticket_detail", args=[c.pk]))
    html = html.content.decode()
    assert f'data-merged-report="{a.pk}"' in html and f'data-merged-report="{b.pk}"' in html
    html = login_as("grid_head").get(reverse("issues:ticket_detail", args=[b.pk]))
    assert reverse("issues:ticket_detail", args=[c.pk]) in html.content.decode()


def test_every_reporter_of_a_merged_problem_is_told_the_result_and_all_must_rate(t):
    first, second, _target = _merged(t)
    one, two = first.reporters.order_by("pk")
    services.ticket_resolve(ticket=first, actor=t.user("unit_head"), feedback="灯泡已换")
    for row in (one, two):
        (result,) = [m for m in _messages(row.phone) if "灯泡已换" in m]
        assert f"#{first.pk}" in result and services.tracking_url(row) in result

    services.ticket_rate(ticket=first, actor=ReporterActor(one), rating=R.SATISFIED)
    first.refresh_from_db()
    assert first.state == S.RESOLVED  # the other reporter is still to rate it
    services.ticket_rate(ticket=first, actor=ReporterActor(two), rating=R.BASIC, comment="晚了两天")
    first.refresh_from_db()
    assert (first.state, first.rating, first.rating_source) == (
        S.CLOSED,
        R.BASIC,
        Ticket.RatingSource.RESIDENT,
    )
    assert first.rating_comment == "晚了两天"
    assert [e.kind for e in events(first)[-3:]] == [E.RATE, E.RATE, E.CLOSE]


def test_a_merged_problem_closes_with_the_ratings_given_when_the_window_ends(t):
    first, _second, _target = _merged(t)
    one, two = first.reporters.order_by("pk")
    services.ticket_resolve(ticket=first, actor=t.user("unit_head"), feedback="灯泡已换")
    first.refresh_from_db()
    services.ticket_rate(ticket=first, actor=ReporterActor(two), rating=R.SATISFIED)
    days = t.settings().rating_days

    assert services.tickets_close_unrated(now=first.resolved_at + dt.timedelta(days=days - 1)) == 0
    assert services.tickets_close_unrated(now=first.resolved_at + dt.timedelta(days=days + 1)) == 1
    first.refresh_from_db()
    assert (first.state, first.rating, first.rating_source) == (
        S.CLOSED,
        R.SATISFIED,
        Ticket.RatingSource.RESIDENT,
    )
    one.refresh_from_db()
    assert one.rating == ""  # nobody rated for the one who said nothing


def test_one_unsatisfied_reporter_reopens_a_merged_problem(t):
    first, _second, _target = _merged(t)
    one, two = first.reporters.order_by("pk")
    services.ticket_resolve(ticket=first, actor=t.user("unit_head"), feedback="灯泡已换")
    services.ticket_rate(ticket=first, actor=ReporterActor(one), rating=R.SATISFIED)
    services.ticket_rate(ticket=first, actor=ReporterActor(two), rating=R.UNSATISFIED)
    first.refresh_from_db()
    assert (first.state, first.reopen_count) == (S.IN_PROGRESS, 1)


def test_a_merge_into_a_resolved_problem_asks_the_new_reporter_to_rate_it(t):
    first = t.report(tier="simple")
    services.ticket_resolve(ticket=first, actor=t.user("unit_head"), feedback="灯泡已换")
    second = _second_report(t)
    services.ticket_merge(ticket=second, into=first, actor=t.user("grid_head"))
    (told,) = _messages("13911112222")
    assert "灯泡已换" in told
    first.refresh_from_db()
    one, _two = first.reporters.order_by("pk")
    services.ticket_rate(ticket=first, actor=ReporterActor(one), rating=R.SATISFIED)
    first.refresh_from_db()
    assert first.state == S.RESOLVED  # the reporter merged in has not rated yet


@pytest.mark.parametrize("target_state", ["self", "declined", "closed", "unseen"])
def test_a_merge_needs_a_problem_still_worked_that_the_triager_sees(t, target_state):
    second = _second_report(t)
    if target_state == "self":
        into = second
    elif target_state == "declined":
        into = t.report()
        services.ticket_decline(
            ticket=into, actor=t.user("grid_head"), reason=REASON.NOT_OURS, note="不归我们管"
        )
    elif target_state == "closed":
        into = t.report(tier="simple")
        services.ticket_resolve(ticket=into, actor=t.user("unit_head"), feedback="好了")
        services.ticket_rate(ticket=into, actor=t.user("community"), rating=R.SATISFIED)
    else:
        into = t.report("U4")  # another community's: the grid head cannot see it
    into.refresh_from_db()
    with pytest.raises(ValidationError):
        services.ticket_merge(ticket=second, into=into, actor=t.user("grid_head"))
    second.refresh_from_db()
    assert second.state == S.REPORTED and second.reporters.count() == 1


def test_a_unit_head_cannot_merge(t):
    first = t.report(tier="simple")
    second = _second_report(t, "U1")
    with pytest.raises(PermissionDenied):
        services.ticket_merge(ticket=second, into=first, actor=t.user("unit_head"))
    assert first.reporters.count() == 1


# --- duplicates suggested -------------------------------------------------------------------


def test_duplicates_are_at_the_place_or_its_neighbours_same_category_recent_and_alike(t, freeze):
    with freeze(timezone.now() - dt.timedelta(days=40)):
        old = t.report(description=TEXT)
    same_unit = t.report(description="楼道灯坏了，晚上看不见路", tier="simple")
    neighbour = t.report("U2", description="2单元楼道灯坏了晚上看不见")
    t.report("U3", description=TEXT)  # another grid
    t.report(description=TEXT, category=t.noise)  # another category
    t.report(description="电梯停运三天了，老人上不了楼")  # nothing alike
    closed = t.report(description=TEXT, tier="simple")
    services.ticket_resolve(ticket=closed, actor=t.user("unit_head"), feedback="好了")
    services.ticket_rate(ticket=closed, actor=t.user("community"), rating=R.SATISFIED)
    ticket = t.report(description=TEXT)

    found = services.duplicates_suggest(ticket, user=t.user("grid_head"))

    assert [other for other, _likeness in found] == [same_unit, neighbour]
    assert all(0.3 <= likeness <= 1 for _other, likeness in found)
    assert found[0][1] > found[1][1]  # the same unit weighs more
    assert old not in [other for other, _l in found]


def test_duplicates_are_only_what_the_triager_may_see(t):
    t.report("U4", description=TEXT)
    ticket = t.report("U4", description=TEXT)
    assert services.duplicates_suggest(ticket, user=t.user("grid_head")) == []
    assert len(services.duplicates_suggest(ticket, user=t.user("outsider"))) == 1


def test_duplicates_cost_no_query_per_candidate(t):
    ticket = t.report(description=TEXT)
    user = t.user("grid_head")
    t.report(description=TEXT)
    services.duplicates_suggest(ticket, user=user)  # the user's scope, worked out once
    with CaptureQueriesContext(connection) as few:
        alone = services.duplicates_suggest(ticket, user=user)
    assert len(alone) == 1  # asserted outside: explaining an assertion may query
    for i in range(12):
        t.report("U2" if i % 2 else "U1", description=f"{TEXT}{i}")
    with CaptureQueriesContext(connection) as many:
        found = services.duplicates_suggest(ticket, user=user)
        shown = [(other.area.name, other.category.name) for other, _likeness in found]
    assert len(found) == len(shown) == 5
    assert len(many) == len(few) == 1  # the candidates of its grid, with place and category


# --- the ticket page ------------------------------------------------------------------------


def test_the_triage_page_offers_decline_and_merge_with_the_suggestions(t, login_as):
    first = t.report(tier="simple", description=TEXT)
    ticket = _second_report(t, description=TEXT)
    client = login_as("grid_head")
    html = client.get(reverse("issues:ticket_detail", args=[ticket.pk])).content.decode()
    assert 'id="form-decline"' in html and 'id="form-merge"' in html
    assert f'data-duplicate="{first.pk}"' in html and "data-likeness=" in html
    assert 'name="merge-number"' in html
    assert (
        "action-decline"
        not in login_as("unit_head")
        .get(reverse("issues:ticket_detail", args=[ticket.pk]))
        .content.decode()
    )


def test_declining_on_the_page_shows_why(t, login_as):
    ticket = t.report()
    client = login_as("community")
    url = reverse("issues:ticket_act", args=[ticket.pk, "decline"])
    response = client.post(
        url,
        {"version": ticket.version, "decline-reason": "outside_area", "decline-note": "请找B社区"},
    )
    assert response.status_code == 302
    html = client.get(reverse("issues:ticket_detail", args=[ticket.pk])).content.decode()
    assert 'data-decline-reason="outside_area"' in html and "请找B社区" in html
    assert 'data-state="declined"' in html


def test_a_decline_without_a_note_is_refused_beside_the_field(t, login_as):
    ticket = t.report()
    url = reverse("issues:ticket_act", args=[ticket.pk, "decline"])
    response = login_as("community").post(
        url, {"version": ticket.version, "decline-reason": "not_ours", "decline-note": ""}
    )
    assert response.status_code == 400 and "invalid-feedback" in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.state == S.REPORTED


@pytest.mark.parametrize("how", ["suggestion", "number"])
def test_merging_on_the_page_goes_to_the_problem_and_both_pages_show_it(t, login_as, how):
    first = t.report(tier="simple", description=TEXT)
    ticket = _second_report(t, description=TEXT)
    client = login_as("grid_head")
    url = reverse("issues:ticket_act", args=[ticket.pk, "merge"])
    data = {"version": ticket.version}
    data |= {"merge-into": first.pk} if how == "suggestion" else {"merge-number": f"#{first.pk}"}
    response = client.post(url, data)
    assert response.status_code == 302
    assert response["Location"] == reverse("issues:ticket_detail", args=[first.pk])

    html = client.get(reverse("issues:ticket_detail", args=[ticket.pk])).content.decode()
    into = reverse("issues:ticket_detail", args=[first.pk])
    assert 'id="merged-into"' in html and f'href="{into}"' in html
    html = client.get(into).content.decode()
    assert f'data-merged-report="{ticket.pk}"' in html
    assert html.count("data-reporter=") == 2


def test_merging_into_a_number_nobody_can_see_is_refused(t, login_as):
    other = t.report("U4")
    ticket = _second_report(t)
    url = reverse("issues:ticket_act", args=[ticket.pk, "merge"])
    response = login_as("grid_head").post(
        url, {"version": ticket.version, "merge-number": other.pk}
    )
    assert response.status_code == 400
    ticket.refresh_from_db()
    assert ticket.state == S.REPORTED


def test_the_first_asker_is_shown_as_keeping_the_reporter_informed(t, login_as):
    recorded = t.report(actor=t.user("unit_head"))
    assert recorded.first_asker == t.users["unit_head"]
    by_resident = t.report()  # the system took it in: the triager becomes the first asker
    assert by_resident.first_asker is None
    services.ticket_assign(ticket=by_resident, tier="simple", actor=t.user("grid_head"))
    by_resident.refresh_from_db()
    assert by_resident.first_asker == t.users["grid_head"]
    services.ticket_escalate(ticket=by_resident, actor=t.user("unit_head"))
    by_resident.refresh_from_db()
    assert by_resident.first_asker == t.users["grid_head"]  # the first, not the latest

    with translation.override("en"):
        html = (
            login_as("community")
            .get(reverse("issues:ticket_detail", args=[by_resident.pk]))
            .content.decode()
        )
    assert f'data-first-asker="{t.users["grid_head"].pk}"' in html
    assert "李雪永" in html and "responsible for keeping the reporter informed" in html


def test_reporters_names_are_masked_for_whoever_may_not_call_them(t, login_as):
    ticket = t.report(tier="simple")  # 居民U1, handled by the unit head
    url = reverse("issues:ticket_detail", args=[ticket.pk])
    handler = login_as("unit_head").get(url).content.decode()
    assert "居民U1" in handler and "137****0001" in handler and "13700000001" not in handler
    assert reverse("issues:reporter_row_phone", args=[ticket.pk, ticket.reporters.get().pk]) in (
        handler
    )
    supervisor = login_as("building_head").get(url).content.decode()
    assert "居民U1" not in supervisor and "居**" in supervisor
    assert "reporter_row_phone" not in supervisor and "/reporters/" not in supervisor


def test_the_triager_checking_a_report_may_call_the_reporter(t, login_as):
    ticket = _second_report(t)
    url = reverse("issues:ticket_detail", args=[ticket.pk])
    html = login_as("grid_head").get(url).content.decode()
    assert "王大姐" in html and "139****2222" in html and "13911112222" not in html
    reveal = reverse("issues:reporter_row_phone", args=[ticket.pk, ticket.reporters.get().pk])
    assert reveal in html
    assert "13911112222" in login_as("grid_head").post(reveal).content.decode()
    assert login_as("building_head").post(reveal).status_code == 403  # nothing to tell yet


def test_a_reporters_phone_reveal_is_logged_and_only_for_a_call_back(t, login_as):
    from residents.models import AccessLog

    first, _second, _target = _merged(t)
    merged_in = first.reporters.order_by("pk").last()
    url = reverse("issues:reporter_row_phone", args=[first.pk, merged_in.pk])
    response = login_as("unit_head").post(url)
    assert response.status_code == 200 and "13911112222" in response.content.decode()
    log = AccessLog.objects.get(ticket_link__ticket=first)
    assert (log.viewer, log.field, log.resident) == (t.users["unit_head"], "phone", None)
    assert login_as("building_head").post(url).status_code == 403
    assert login_as("outsider").post(url).status_code == 404
    assert login_as("unit_head").get(url).status_code == 405
    wrong = reverse("issues:reporter_row_phone", args=[first.pk, merged_in.pk + 100])
    assert login_as("unit_head").post(wrong).status_code == 404


def test_the_first_asker_may_reveal_the_reporters_phone_until_it_is_finished(t, login_as):
    """首问负责: the building head recorded the report and keeps the reporter informed while
    the grid head triages it and the unit head handles it; each look logged. Once closed,
    that duty ends (a return visit's caller may still look, as anyone logging one)."""
    from residents.models import AccessLog

    ticket = _second_report(t, "U1", actor=t.user("building_head"))
    assert ticket.first_asker_id == t.users["building_head"].pk
    services.ticket_assign(ticket=ticket, tier="simple", actor=t.user("grid_head"))
    ticket.refresh_from_db()
    first_asker = t.user("building_head")
    assert not services.CALL_BACK_ACTIONS & perm.ticket_actions(first_asker, ticket)
    assert services.may_call_reporter(first_asker, ticket)
    url = reverse("issues:reporter_row_phone", args=[ticket.pk, ticket.reporters.get().pk])
    html = login_as("building_head").get(reverse("issues:ticket_detail", args=[ticket.pk]))
    assert url in html.content.decode()
    response = login_as("building_head").post(url)
    assert response.status_code == 200 and "13911112222" in response.content.decode()
    log = AccessLog.objects.get(ticket_link__ticket=ticket)
    assert (log.viewer, log.field) == (t.users["building_head"], "phone")
    services.ticket_resolve(ticket=ticket, actor=t.user("unit_head"), feedback="修好了")
    services.ticket_rate(ticket=ticket, actor=t.user("community"), rating=R.SATISFIED)
    ticket.refresh_from_db()
    assert ticket.state == S.CLOSED
    assert not contact.is_first_asker(first_asker, ticket)
