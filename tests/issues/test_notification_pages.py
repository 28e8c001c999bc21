"""The notification list (/notifications/) and the navbar's unread badge: each worker sees
their own rows only, newest first, the unread ones marked; opening one marks it read and goes
to its problem; "mark all read"; the badge counts with one cheap query, shown as 99+ past 99.
Every notification is its recipient's only: no role is refused, anyone else gets 404."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from issues.models import Notification
from issues.selectors import notifications_unread_count
from issues.services import notify
from issues.services.notifications import notification_read, notifications_read_all

LIST = reverse("notifications:list")
BADGE = reverse("notifications:badge")
READ_ALL = reverse("notifications:read_all")


def _tell(user, n=1, *, ticket=None, subject="通知"):
    rows = []
    for i in range(n):
        rows += notify(ticket=ticket, users=[user], subject=f"{subject}{i}", body="正文")
    return rows


def _listed(response) -> list[tuple[int, str]]:
    found = re.findall(r'data-notification="(\d+)" data-unread="(\d)"', response.content.decode())
    return [(int(pk), unread) for pk, unread in found]


def _badge(response) -> str:
    html = response.content.decode()
    match = re.search(r'<a id="notification-badge".*?</a>', html, re.S)
    assert match, "no badge"
    return match.group(0)


# --- the list ---------------------------------------------------------------------------------


def test_the_list_shows_my_own_newest_first_the_unread_marked(t, login_as):
    mine = _tell(t.users["unit_head"], 3)
    _tell(t.users["grid_head"], 2)  # someone else's
    notification_read(notification=mine[0])
    response = login_as("unit_head").get(LIST)
    assert response.status_code == 200
    assert _listed(response) == [(mine[2].pk, "1"), (mine[1].pk, "1"), (mine[0].pk, "0")]
    assert 'data-unread="2"' in _badge(response)
    assert 'id="read-all"' in response.content.decode()


def test_the_list_is_paginated(t, login_as):
    rows = _tell(t.users["unit_head"], 30)
    client = login_as("unit_head")
    first = _listed(client.get(LIST))
    second = _listed(client.get(LIST, {"page": 2}))
    assert len(first) == 25 and len(second) == 5
    assert [pk for pk, _u in first + second] == [r.pk for r in reversed(rows)]


def test_signed_out_the_list_asks_to_sign_in(client, t):
    response = client.get(LIST)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.parametrize("url", [LIST, BADGE])
def test_the_reading_pages_take_get_only(t, login_as, url):
    assert login_as("unit_head").post(url).status_code == 405


@pytest.mark.parametrize("size", [3, 40])
def test_the_list_reads_a_fixed_number_of_queries(t, login_as, size, django_assert_max_num_queries):
    ticket = t.report("U1", tier="simple")
    _tell(t.users["unit_head"], size, ticket=ticket)
    client = login_as("unit_head")
    # session, user, person (navbar name), page count, page rows, the problems' places,
    # unread count
    with django_assert_max_num_queries(7):
        response = client.get(LIST)
    assert response.status_code == 200


def _places(response) -> list[str]:
    html = response.content.decode()
    return [" ".join(p.split()) for p in re.findall(r"<span[^>]*data-place>(.*?)</span>", html)]


def test_each_problem_is_named_by_its_place_below_the_viewers_scope(t, login_as):
    ticket = t.report("U2", tier="simple")
    _tell(t.users["community"], ticket=ticket)
    _tell(t.users["grid_head"], ticket=ticket)
    _tell(t.users["community"], subject="无关问题")  # about no problem: no place
    assert _places(login_as("community").get(LIST)) == ["地点: 莲心社区 › 第1网格 › 1栋 › 2单元"]
    assert _places(login_as("grid_head").get(LIST)) == ["地点: 第1网格 › 1栋 › 2单元"]


def test_the_places_of_a_page_are_read_in_one_query(t, login_as, django_assert_num_queries):
    tickets = [t.report(key, tier="simple") for key in ("U1", "U2", "U3")]
    client = login_as("community")
    _tell(t.users["community"], ticket=tickets[0])
    client.get(LIST)  # the session warmed
    with CaptureQueriesContext(connection) as one:
        client.get(LIST)
    for ticket in tickets * 5:
        _tell(t.users["community"], ticket=ticket)
    with CaptureQueriesContext(connection) as many:
        response = client.get(LIST)
    about_problems = Notification.objects.filter(recipient=t.users["community"]).count()
    assert len(_places(response)) == about_problems >= 16
    assert len(many) == len(one)


# --- opening one, and all read -----------------------------------------------------------------


def test_opening_one_marks_it_read_and_goes_to_its_problem(t, login_as):
    ticket = t.report("U1", tier="simple")  # "assigned" on the unit head's desk
    services_note = Notification.objects.get(recipient=t.users["unit_head"], ticket=ticket)
    (reminder,) = _tell(t.users["unit_head"], ticket=ticket, subject="催办")
    (other,) = _tell(t.users["unit_head"], subject="别的")
    client = login_as("unit_head")
    response = client.post(reverse("notifications:open", args=[reminder.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("issues:ticket_detail", args=[ticket.pk])
    read = dict(Notification.objects.values_list("pk", "read_at"))
    assert read[reminder.pk] and read[services_note.pk]  # both about the problem now seen
    assert read[other.pk] is None
    assert client.get(response["Location"]).status_code == 200


def test_opening_one_without_a_problem_goes_back_to_the_list(t, login_as):
    (row,) = _tell(t.users["unit_head"])
    response = login_as("unit_head").post(reverse("notifications:open", args=[row.pk]))
    assert response.status_code == 302 and response["Location"] == LIST
    row.refresh_from_db()
    assert row.read_at is not None


def test_someone_elses_notification_is_not_found(t, login_as):
    (row,) = _tell(t.users["grid_head"])
    client = login_as("unit_head")
    assert client.post(reverse("notifications:open", args=[row.pk])).status_code == 404
    assert client.post(reverse("notifications:open", args=[row.pk + 999])).status_code == 404
    row.refresh_from_db()
    assert row.read_at is None


def test_opening_takes_post_only(t, login_as):
    (row,) = _tell(t.users["unit_head"])
    client = login_as("unit_head")
    assert client.get(reverse("notifications:open", args=[row.pk])).status_code == 405
    assert client.get(READ_ALL).status_code == 405
    row.refresh_from_db()
    assert row.read_at is None


def test_mark_all_read_reads_mine_only(t, login_as):
    _tell(t.users["unit_head"], 3)
    (theirs,) = _tell(t.users["grid_head"])
    response = login_as("unit_head").post(READ_ALL, {"page": "2"})
    assert response.status_code == 302 and response["Location"] == f"{LIST}?page=2"
    assert not Notification.objects.filter(recipient=t.users["unit_head"], read_at=None).exists()
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_the_read_services(t):
    rows = _tell(t.users["unit_head"], 3)
    assert notification_read(notification=rows[0]) == 1
    assert notification_read(notification=rows[0]) == 0
    assert notifications_read_all(user=t.users["unit_head"]) == 2
    assert notifications_read_all(user=t.users["unit_head"]) == 0


# --- the badge --------------------------------------------------------------------------------


def test_the_badge_counts_unread_with_one_query(t, django_assert_num_queries):
    _tell(t.users["unit_head"], 4)
    with django_assert_num_queries(1):
        assert notifications_unread_count(t.users["unit_head"]) == 4


def test_the_badge_shows_99_plus_past_99(t, login_as):
    _tell(t.users["unit_head"], 101)
    assert notifications_unread_count(t.users["unit_head"]) == 100  # counted up to the cap
    badge = _badge(login_as("unit_head").get(reverse("issues:inbox")))
    assert ">99+<" in badge


def test_the_badge_is_polled_every_minute(t, login_as):
    _tell(t.users["unit_head"], 2)
    client = login_as("unit_head")
    badge = _badge(client.get(reverse("issues:inbox")))
    assert f'hx-get="{BADGE}"' in badge and 'hx-trigger="every 60s"' in badge
    assert ">2<" in badge
    fragment = client.get(BADGE, HTTP_HX_REQUEST="true")
    assert fragment.status_code == 200
    assert _badge(fragment) == fragment.content.decode().strip()
    assert 'data-unread="2"' in fragment.content.decode()


def test_no_unread_no_count_on_the_badge(t, login_as):
    badge = _badge(login_as("unit_head").get(reverse("issues:inbox")))
    assert 'data-unread="0"' in badge and "badge rounded-pill" not in badge


def test_signed_out_the_badge_stops_polling(client, t):
    response = client.get(BADGE)
    assert response.status_code == 286 and response.content == b""
