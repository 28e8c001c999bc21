"""What the portal writes on a step is stored as a code and put into words when shown: the
history reads in the reader's language, whichever language the step was taken in
(issues/notes.py)."""

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from issues.models import Ticket, TicketEvent
from issues.notes import Note, with_text, words

pytestmark = pytest.mark.django_db

E = TicketEvent.Kind


def test_a_report_notes_its_channel_as_a_code(t):
    with translation.override("en"):
        ticket = t.report("U1", channel=Ticket.Channel.HOTLINE)
    (event,) = ticket.events.all()
    assert event.note == "" and event.system_note == {"code": "via", "args": {"channel": "hotline"}}
    with translation.override("zh-hans"):
        assert event.text == "来源：12345热线"
    with translation.override("en"):
        assert event.text == "via hotline 12345"


def test_the_ticket_page_shows_the_history_in_the_readers_language(t):
    t.end_post("unit_head")
    ticket = t.report("U1", tier="simple")  # passed over to the building head
    client = Client()
    client.force_login(t.user("community"))
    url = reverse("issues:ticket_detail", args=[ticket.pk])
    chinese = client.get(url).content.decode()
    client.cookies["django_language"] = "en"
    english = client.get("/en" + url).content.decode()
    assert "来源：敲门入户" in chinese and "via door-knock visit" in english
    assert "1单元" in english and "nobody in post at" in english
    assert "无人在岗" not in english and "来源" not in english


def test_a_persons_words_stay_as_written_beside_the_portals(t):
    note = with_text(Note("overdue", {"deadline": "2026-12-31"}), "  请加快  ")
    assert note.text == "请加快"
    with translation.override("en"):
        assert str(note) == "请加快 overdue: new deadline Dec. 31, 2026"
    with translation.override("zh-hans"):
        assert str(note) == "请加快 已超期：新期限2026年12月31日"


def test_dates_and_lists_in_a_note_follow_the_readers_language():
    stored = Note("reports_accepted", {"departments": ["住建局", "水务局"]}).stored()
    with translation.override("zh-hans"):
        assert "住建局、水务局" in words(stored)
    with translation.override("en"):
        assert words(stored) == "reports of 住建局, 水务局 accepted"
    # a note stored with its departments already joined still reads
    assert "住建局、水务局" in words(
        {"code": "reports_accepted", "args": {"departments": "住建局、水务局"}}
    )
    assert with_text(None, " 已修 ") == "已修"


def test_an_unknown_or_broken_note_shows_nothing_rather_than_failing():
    assert words({}) == "" and words({"code": "gone"}) == ""
    assert words({"code": "via", "args": {}}) == ""
    with translation.override("en"):
        assert words({"code": "via", "args": {"channel": "carrier pigeon"}}) == "via carrier pigeon"
    with pytest.raises(ValueError):
        Note("not-a-note")
