"""The resident pages (/r/) and the tracking link (/t/<token>/) through the test client."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import time_machine
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from citizens.session import SESSION_KEY
from issues import services
from issues.models import Ticket, TicketEvent, TicketReporter, TicketSettings
from issues.rules import SYSTEM
from residents import accounts
from residents.models import ResidentAccount

from .conftest import STRANGER, account_for, as_resident, last_code

S = Ticket.State
E = TicketEvent.Kind


def png(color=(200, 30, 30)) -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), color).save(out, "PNG")
    return SimpleUploadedFile("leak.png", out.getvalue(), content_type="image/png")


def report_as(client, t, *, place=None, description="楼道灯坏了，晚上看不见", photos=()):
    data = {"category": t.leak.pk, "place": (place or t.u1).pk, "description": description}
    if photos:
        data["photos"] = list(photos)
    return client.post(reverse("citizens:report"), data)


def reported(account, t, **extra) -> Ticket:
    """A problem the account reported on the resident pages (through the service)."""
    from citizens.services import resident_report

    ticket = resident_report(
        account=account,
        area=extra.pop("area", t.u1),
        category=t.leak,
        description=extra.pop("description", "楼道灯坏了，晚上看不见"),
        **extra,
    )
    ticket.refresh_from_db()
    return ticket


def resolved(t, ticket, feedback="已更换灯泡，楼道已亮") -> Ticket:
    """Triaged (complex: the grid head) and resolved by the grid head."""
    grid_head = t.user("grid_head")
    ticket.refresh_from_db()
    if ticket.state == S.REPORTED:
        services.ticket_assign(ticket=ticket, tier="complex", actor=grid_head)
    services.ticket_resolve(ticket=ticket, actor=t.user("grid_head"), feedback=feedback)
    ticket.refresh_from_db()
    return ticket


# --- signing in -------------------------------------------------------------------------------


def test_sign_in_with_the_code_then_the_privacy_notice_then_home(client, t):
    phone = t.residents["U1"].phone
    home = reverse("citizens:home")
    answer = client.get(home)
    assert answer.status_code == 302 and answer["Location"].startswith(reverse("citizens:sign_in"))
    answer = client.post(reverse("citizens:sign_in"), {"phone": phone, "next": home})
    assert answer.status_code == 302
    assert answer["Location"].startswith(reverse("citizens:sign_in_code"))
    page = client.get(answer["Location"])
    assert page.status_code == 200 and b"137****0001" in page.content
    before = client.session.session_key
    answer = client.post(reverse("citizens:sign_in_code"), {"code": last_code(phone), "next": home})
    assert answer.status_code == 302 and answer["Location"] == home
    assert client.session.session_key != before  # cycled
    account = ResidentAccount.objects.get(phone=phone)
    assert client.session[SESSION_KEY] == account.pk
    # The notice first.
    answer = client.get(home)
    assert answer.status_code == 302 and answer["Location"].startswith(reverse("citizens:privacy"))
    page = client.get(answer["Location"])
    assert b'id="accept-privacy"' in page.content
    assert b'name="display_name"' not in page.content  # on the register: named there
    answer = client.post(reverse("citizens:privacy"), {"next": home})
    assert answer.status_code == 302 and answer["Location"] == home
    account.refresh_from_db()
    assert account.privacy_version == accounts.PRIVACY_VERSION
    page = client.get(home)
    assert page.status_code == 200 and b'id="no-problems"' in page.content
    # Signing out ends it.
    assert client.post(reverse("citizens:sign_out")).status_code == 302
    assert client.get(home).status_code == 302


def test_a_wrong_code_is_said_on_the_form(client, db):
    client.post(reverse("citizens:sign_in"), {"phone": STRANGER})
    code = last_code(STRANGER)
    wrong = "000000" if code != "000000" else "111111"
    page = client.post(reverse("citizens:sign_in_code"), {"code": wrong})
    assert page.status_code == 200 and b"invalid-feedback" in page.content
    assert SESSION_KEY not in client.session


def test_a_light_account_names_itself_with_the_notice(client, db):
    account = account_for(STRANGER, accept=False)
    as_resident(client, account)
    page = client.get(reverse("citizens:privacy"))
    assert b'name="display_name"' in page.content
    client.post(reverse("citizens:privacy"), {"display_name": "王阿姨"})
    account.refresh_from_db()
    assert account.display_name == "王阿姨" and accounts.privacy_accepted(account)


def test_the_privacy_notice_is_public(client, db):
    page = client.get(reverse("citizens:privacy"))
    assert page.status_code == 200
    assert b'id="privacy-notice"' in page.content and b'id="privacy-form"' not in page.content


def test_asking_too_often_answers_429_with_retry_after_and_a_message(client, db):
    assert client.post(reverse("citizens:sign_in"), {"phone": STRANGER}).status_code == 302
    answer = client.post(reverse("citizens:sign_in"), {"phone": STRANGER})
    assert answer.status_code == 429
    assert 1 <= int(answer["Retry-After"]) <= accounts.SEND_GAP
    assert b'id="too-many"' in answer.content
    assert accounts.send_limit_message().encode() in answer.content


def test_too_many_codes_from_one_address_answer_429(client, db):
    for index in range(accounts.SEND_PER_ADDRESS_HOUR):
        phone = f"1391234{index:04d}"
        assert client.post(reverse("citizens:sign_in"), {"phone": phone}).status_code == 302
    answer = client.post(reverse("citizens:sign_in"), {"phone": "13912349999"})
    assert answer.status_code == 429 and answer["Retry-After"] == str(accounts.HOUR)
    # Another address is not held up.
    answer = client.post(
        reverse("citizens:sign_in"), {"phone": "13912349999"}, REMOTE_ADDR="192.0.2.99"
    )
    assert answer.status_code == 302


def test_too_many_tries_at_codes_answer_429(client, db):
    client.post(reverse("citizens:sign_in"), {"phone": STRANGER})
    for _ in range(accounts.CHECK_PER_PHONE):
        client.post(reverse("citizens:sign_in_code"), {"code": "12345x"[:5] + "9"})
    answer = client.post(reverse("citizens:sign_in_code"), {"code": last_code(STRANGER)})
    assert answer.status_code == 429 and answer["Retry-After"] == str(accounts.CHECK_WINDOW)
    assert accounts.check_limit_message().encode() in answer.content


def test_the_code_page_without_a_number_goes_back_to_step_one(client, db):
    answer = client.get(reverse("citizens:sign_in_code"))
    assert answer.status_code == 302 and answer["Location"] == reverse("citizens:sign_in")


def test_a_not_accepted_notice_gates_every_page(client, t):
    account = account_for(STRANGER, accept=False)
    as_resident(client, account)
    for url in (reverse("citizens:home"), reverse("citizens:report")):
        answer = client.get(url)
        assert answer.status_code == 302
        assert answer["Location"].startswith(reverse("citizens:privacy"))


@pytest.mark.parametrize(
    ("name", "method"),
    [("citizens:sign_out", "get"), ("citizens:home", "post"), ("citizens:places", "post")],
)
def test_wrong_method_is_405(client, resident, name, method):
    as_resident(client, resident)
    assert getattr(client, method)(reverse(name)).status_code == 405


# --- reporting --------------------------------------------------------------------------------


def test_the_report_form_preselects_the_home_of_a_register_resident(client, t, resident):
    as_resident(client, resident)
    page = client.get(reverse("citizens:report"))
    assert page.status_code == 200
    assert f'data-place="{t.u1.pk}"'.encode() in page.content
    assert f'name="place" value="{t.u1.pk}"'.encode() in page.content
    # Only active leaves to choose from.
    assert f'value="{t.leak.pk}"'.encode() in page.content
    assert f'value="{t.repair.pk}"'.encode() not in page.content


def test_a_light_account_finds_the_place_by_name(client, t, stranger):
    as_resident(client, stranger)
    page = client.get(reverse("citizens:report"))
    assert b'data-place=""' in page.content
    found = client.get(reverse("citizens:places"), {"q": "2单元"}, HTTP_HX_REQUEST="true")
    assert found.status_code == 200
    assert f'data-place-id="{t.u2.pk}"'.encode() in found.content
    assert "莲心社区 › 第1网格 › 1栋 › 2单元".encode() in found.content
    # Grids and buildings by name too, but no community or street.
    assert (
        f'data-place-id="{t.g1.pk}"'.encode()
        in client.get(reverse("citizens:places"), {"q": "第1网格"}).content
    )
    assert b"data-place-id" not in client.get(reverse("citizens:places"), {"q": "莲心社区"}).content
    assert b"data-place-id" not in client.get(reverse("citizens:places"), {"q": "2"}).content


def test_the_place_search_needs_a_signed_in_resident(client, t):
    answer = client.get(reverse("citizens:places"), {"q": "2单元"}, HTTP_HX_REQUEST="true")
    assert answer.status_code == 204 and answer["HX-Redirect"] == reverse("citizens:sign_in")


def test_report_with_a_photo(client, t, stranger):
    as_resident(client, stranger)
    answer = report_as(client, t, place=t.u2, photos=[png()])
    ticket = Ticket.objects.get()
    assert answer.status_code == 302
    assert answer["Location"] == reverse("citizens:problem", args=[ticket.pk])
    assert ticket.channel == Ticket.Channel.MINI_PROGRAM and ticket.area_id == t.u2.pk
    assert ticket.reporter_phone == STRANGER and ticket.reporter_name == "王阿姨"
    assert ticket.reported_by_id is None
    reporter = TicketReporter.objects.get()
    assert reporter.account_id == stranger.pk
    assert TicketEvent.objects.get(ticket=ticket).reporter_id == reporter.pk
    photo = ticket.photos.get()
    page = client.get(answer["Location"])
    url = reverse("citizens:problem_photo", args=[ticket.pk, photo.pk])
    assert url.encode() in page.content
    image = client.get(url)
    assert image.status_code == 200 and image["Content-Type"] == "image/png"
    # Signed in, no tracking SMS: they follow it here.
    from core.models import TextMessage

    assert not TextMessage.objects.filter(purpose=TextMessage.Purpose.TRACKING).exists()


def test_a_report_by_a_register_resident_names_them(client, t, resident):
    as_resident(client, resident)
    report_as(client, t)
    ticket = Ticket.objects.get()
    assert ticket.reporter_id == t.residents["U1"].pk


def test_a_bad_photo_or_no_place_is_refused_on_the_form(client, t, stranger):
    as_resident(client, stranger)
    bad = SimpleUploadedFile("x.png", b"<svg onload=alert(1)>", content_type="image/png")
    page = report_as(client, t, photos=[bad])
    assert page.status_code == 200 and b"invalid-feedback" in page.content
    data = {"category": t.leak.pk, "place": t.community_a.pk, "description": "x"}
    page = client.post(reverse("citizens:report"), data)
    assert page.status_code == 200 and b"alert-danger" in page.content
    assert not Ticket.objects.exists()


# --- only one's own problems ------------------------------------------------------------------


def test_a_resident_sees_only_their_own_problems(client, t, resident, stranger):
    mine = reported(resident, t)
    theirs = reported(stranger, t, photos=[png()])
    photo = theirs.photos.get()
    as_resident(client, resident)
    home = client.get(reverse("citizens:home"))
    assert f'data-ticket="{mine.pk}"'.encode() in home.content
    assert f'data-ticket="{theirs.pk}"'.encode() not in home.content
    assert client.get(reverse("citizens:problem", args=[mine.pk])).status_code == 200
    assert client.get(reverse("citizens:problem", args=[theirs.pk])).status_code == 404
    assert client.get(reverse("citizens:problem", args=[999999])).status_code == 404
    url = reverse("citizens:problem_photo", args=[theirs.pk, photo.pk])
    assert client.get(url).status_code == 404
    # Nor through one's own problem's address.
    url = reverse("citizens:problem_photo", args=[mine.pk, photo.pk])
    assert client.get(url).status_code == 404
    # Nor rate it.
    resolved(t, theirs)
    answer = client.post(
        reverse("citizens:problem_rate", args=[theirs.pk]), {"rate-rating": "satisfied"}
    )
    assert answer.status_code == 404
    theirs.refresh_from_db()
    assert theirs.state == S.RESOLVED


def test_problems_a_worker_recorded_for_the_resident_or_their_number_are_theirs(
    client, t, resident
):
    by_worker = t.report(reporter=t.residents["U1"], actor=t.user("unit_head"))
    by_phone = t.report(reporter=None, reporter_phone=resident.phone, actor=t.user("unit_head"))
    as_resident(client, resident)
    home = client.get(reverse("citizens:home"))
    for ticket in (by_worker, by_phone):
        assert f'data-ticket="{ticket.pk}"'.encode() in home.content


def test_the_list_is_newest_first_in_few_queries(
    client, t, resident, django_assert_max_num_queries
):
    as_resident(client, resident)
    for size in (2, 12):
        while TicketReporter.objects.filter(account=resident).count() < size:
            cache.clear()  # past the daily report limit
            reported(resident, t)
        with django_assert_max_num_queries(4):  # session, account, count, page
            page = client.get(reverse("citizens:home"))
        order = [
            int(x) for x in page.content.split(b'data-ticket="')[1:] for x in [x.split(b'"')[0]]
        ]
        assert order == sorted(order, reverse=True) and len(order) == size


def test_the_problem_page_in_few_queries(client, t, resident, django_assert_max_num_queries):
    ticket = reported(resident, t, photos=[png(), png((0, 0, 200))])
    resolved(t, ticket)
    as_resident(client, resident)
    with django_assert_max_num_queries(6):
        assert client.get(reverse("citizens:problem", args=[ticket.pk])).status_code == 200


# --- rating -----------------------------------------------------------------------------------


def test_unsatisfied_reopens_satisfied_closes_and_the_rating_stays_shown(client, t, resident):
    ticket = resolved(t, reported(resident, t))
    as_resident(client, resident)
    url = reverse("citizens:problem", args=[ticket.pk])
    page = client.get(url)
    assert b'id="rate-form"' in page.content and "已更换灯泡".encode() in page.content
    answer = client.post(
        reverse("citizens:problem_rate", args=[ticket.pk]),
        {"rate-rating": "unsatisfied", "rate-comment": "灯还是不亮", "version": ticket.version},
    )
    assert answer.status_code == 302 and answer["Location"] == url
    ticket.refresh_from_db()
    assert ticket.state == S.IN_PROGRESS and ticket.reopen_count == 1
    row = TicketReporter.objects.get(ticket=ticket)
    assert row.rating == "unsatisfied" and row.rating_source == Ticket.RatingSource.RESIDENT
    page = client.get(url)
    assert b'id="rate-form"' not in page.content
    assert "灯还是不亮".encode() in page.content  # their own comment on the timeline

    ticket = resolved(t, ticket, feedback="已更换整条线路")
    page = client.get(url)
    assert b'id="rate-form"' in page.content  # a new result to rate
    client.post(
        reverse("citizens:problem_rate", args=[ticket.pk]),
        {"rate-rating": "satisfied", "rate-comment": "谢谢"},
    )
    ticket.refresh_from_db()
    assert ticket.state == S.CLOSED and ticket.rating == "satisfied"
    assert ticket.rating_source == Ticket.RatingSource.RESIDENT
    page = client.get(url)
    assert b'id="rate-form"' not in page.content
    assert b'id="my-rating" data-rating="satisfied"' in page.content
    # Rated: a second rating is refused.
    answer = client.post(
        reverse("citizens:problem_rate", args=[ticket.pk]), {"rate-rating": "unsatisfied"}
    )
    assert answer.status_code == 400
    ticket.refresh_from_db()
    assert ticket.state == S.CLOSED


def test_no_rating_before_it_is_resolved(client, t, resident):
    ticket = reported(resident, t)
    as_resident(client, resident)
    assert (
        b'id="rate-form"' not in client.get(reverse("citizens:problem", args=[ticket.pk])).content
    )
    answer = client.post(
        reverse("citizens:problem_rate", args=[ticket.pk]), {"rate-rating": "satisfied"}
    )
    assert answer.status_code == 400
    ticket.refresh_from_db()
    assert ticket.state == S.REPORTED and not ticket.rating


# --- the tracking link -----------------------------------------------------------------------


def test_the_tracking_link_works_without_signing_in_and_expires_after_the_rating_window(client, t):
    ticket = t.report(
        reporter=None, reporter_phone=STRANGER, reporter_name="赵先生", actor=t.user("unit_head")
    )
    reporter = TicketReporter.objects.get(ticket=ticket)
    url = reverse("citizens:track", args=[reporter.token])
    page = client.get(url)
    assert page.status_code == 200 and b'id="timeline"' in page.content
    assert b'id="rate-form"' not in page.content
    ticket = resolved(t, ticket)
    page = client.get(url)
    assert b'id="rate-form"' in page.content
    answer = client.post(
        reverse("citizens:track_rate", args=[reporter.token]),
        {"rate-rating": "basic", "rate-comment": "还行"},
    )
    assert answer.status_code == 302 and answer["Location"] == url
    ticket.refresh_from_db()
    assert ticket.state == S.CLOSED and ticket.rating == "basic"
    assert b'data-rating="basic"' in client.get(url).content
    days = TicketSettings.current().rating_days
    expires = services.tracking_expires_at(ticket)
    assert expires == ticket.closed_at + dt.timedelta(days=days)
    with time_machine.travel(expires - dt.timedelta(minutes=1), tick=False):
        assert client.get(url).status_code == 200
    with time_machine.travel(expires + dt.timedelta(seconds=1), tick=False):
        gone = client.get(url)
        assert gone.status_code == 404 and b'id="link-gone"' in gone.content
        assert (
            client.post(
                reverse("citizens:track_rate", args=[reporter.token]), {"rate-rating": "satisfied"}
            ).status_code
            == 404
        )


def test_an_unknown_token_is_the_friendly_404(client, db):
    page = client.get(reverse("citizens:track", args=["no-such-token"]))
    assert page.status_code == 404 and b'id="link-gone"' in page.content


def test_the_tracking_link_while_unrated_expires_rating_days_after_the_resolve(client, t):
    ticket = t.report(reporter=None, reporter_phone=STRANGER, actor=t.user("unit_head"))
    reporter = TicketReporter.objects.get(ticket=ticket)
    ticket = resolved(t, ticket)
    url = reverse("citizens:track", args=[reporter.token])
    later = ticket.resolved_at + dt.timedelta(days=TicketSettings.current().rating_days, seconds=1)
    with time_machine.travel(later, tick=False):
        assert client.get(url).status_code == 404


def test_the_tracking_sms_link_is_the_page(client, t):
    from core.models import TextMessage

    ticket = t.report(reporter=None, reporter_phone=STRANGER, actor=t.user("unit_head"))
    text = TextMessage.objects.get(purpose=TextMessage.Purpose.TRACKING).text
    reporter = TicketReporter.objects.get(ticket=ticket)
    path = reverse("citizens:track", args=[reporter.token])
    assert path in text
    assert client.get(path).status_code == 200


# --- the timeline is the resident's -----------------------------------------------------------


def test_the_timeline_hides_internal_notes_and_other_peoples_data(client, t, resident):
    grid_head, community = t.user("grid_head"), t.user("community")
    ticket = reported(resident, t, description="3楼楼道灯坏了")
    # Another resident reports the same thing; it is merged in.
    other = t.report(
        reporter=None,
        reporter_phone="13955556666",
        reporter_name="钱多多",
        description="楼道灯不亮，我电话13955556666",
        actor=t.user("unit_head"),
    )
    services.ticket_assign(ticket=ticket, tier="complex", actor=grid_head, note="分流备注：内部")
    services.ticket_merge(ticket=other, into=ticket, actor=grid_head, note="同一问题")
    services.ticket_progress(
        ticket=ticket, actor=grid_head, note="内部进展：联系电工老张 13811112222"
    )
    services.ticket_remind(ticket=ticket, actor=community, note="催办：抓紧")
    services.ticket_resolve(ticket=ticket, actor=grid_head, feedback="已更换灯泡，楼道已亮")
    ticket.refresh_from_db()
    other_row = TicketReporter.objects.get(ticket=ticket, reported_as=other)
    from issues.rules import ReporterActor

    services.ticket_rate(
        ticket=ticket, actor=ReporterActor(other_row), rating="basic", comment="钱多多的意见"
    )
    as_resident(client, resident)
    page = client.get(reverse("citizens:problem", args=[ticket.pk]))
    html = page.content.decode()
    kinds = [chunk.split('"')[0] for chunk in html.split('data-kind="')[1:]]
    assert E.PROGRESS not in kinds and E.REMIND not in kinds
    assert kinds[0] == E.REPORT and E.RESOLVE in kinds and E.MERGED_IN in kinds
    assert kinds.count(E.RATE) == 0  # the other reporter's rating is theirs
    for secret in (
        "分流备注",
        "内部进展",
        "13811112222",
        "催办",
        "钱多多",
        "13955556666",
        "我电话",
    ):
        assert secret not in html, secret
    assert "已更换灯泡，楼道已亮" in html
    # Workers by role and area, never by name.
    assert "第1网格" in html
    for person in t.persons.values():
        assert person.name not in html
    assert b'id="rate-form"' in page.content


def test_the_merged_reporter_sees_the_merge_and_their_own_report(client, t, stranger):
    first = t.report(actor=t.user("unit_head"), description="楼道灯坏了，居民U1反映")
    mine = reported(stranger, t, description="我家楼道灯坏了")
    services.ticket_assign(ticket=first, tier="complex", actor=t.user("grid_head"))
    services.ticket_merge(
        ticket=mine, into=first, actor=t.user("grid_head"), note=f"与#{first.pk}相同"
    )
    as_resident(client, stranger)
    page = client.get(reverse("citizens:problem", args=[first.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "我家楼道灯坏了" in html and "居民U1反映" not in html and "居民U1" not in html
    assert f"与#{first.pk}相同" in html
    assert client.get(reverse("citizens:problem", args=[mine.pk])).status_code == 404


def test_a_declined_report_says_why(client, t, stranger):
    ticket = reported(stranger, t)
    services.ticket_decline(
        ticket=ticket,
        actor=t.user("grid_head"),
        reason=Ticket.DeclineReason.NOT_OURS,
        note="请联系物业公司处理",
    )
    as_resident(client, stranger)
    page = client.get(reverse("citizens:problem", args=[ticket.pk]))
    assert b'data-state="declined"' in page.content
    assert "请联系物业公司处理".encode() in page.content


def test_the_tracking_page_masks_numbers_in_what_a_worker_wrote_down(client, t):
    ticket = t.report(
        reporter=None,
        reporter_phone=STRANGER,
        description="邻居13822223333家漏水",
        actor=t.user("unit_head"),
    )
    reporter = TicketReporter.objects.get(ticket=ticket)
    page = client.get(reverse("citizens:track", args=[reporter.token]))
    assert b"13822223333" not in page.content


def test_systems_acts_are_not_ratings(client, t, resident):
    ticket = resolved(t, reported(resident, t))
    with pytest.raises(services.TicketError):
        services.ticket_rate(ticket=ticket, actor=SYSTEM, rating="satisfied")
    assert timezone.now()


def test_reporting_too_much_answers_429(client, t, stranger):
    from citizens.services import REPORTS_PER_ACCOUNT_DAY, report_limit_message

    as_resident(client, stranger)
    for _ in range(REPORTS_PER_ACCOUNT_DAY):
        assert report_as(client, t).status_code == 302
    answer = report_as(client, t)
    assert answer.status_code == 429 and answer["Retry-After"] == str(24 * 60 * 60)
    assert report_limit_message().encode() in answer.content
    assert Ticket.objects.count() == REPORTS_PER_ACCOUNT_DAY


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/r/"])
def test_sign_in_never_sends_elsewhere(client, db, target):
    client.post(reverse("citizens:sign_in"), {"phone": STRANGER, "next": target})
    answer = client.post(
        reverse("citizens:sign_in_code"), {"code": last_code(STRANGER), "next": target}
    )
    assert answer.status_code == 302 and answer["Location"] == reverse("citizens:home")
