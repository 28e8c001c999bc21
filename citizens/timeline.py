"""A problem's history as its reporter reads it.

Written for the resident, not the worker: no internal notes (progress notes, reminders, the
rectification list, meetings, department reports, return visits are left out or shown
without their note), workers shown only by their role and the area they answer for
(``网格长 · 第1网格``), and nothing of other people: another reporter's rating or comment is
not shown. What the resident is meant to read is: the result they were told (the resolve
feedback), why a report was declined, that reports were merged, and their own ratings."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from issues.models import Level, Ticket, TicketEvent, TicketReporter

E = TicketEvent.Kind
S = Ticket.State

# Who answers at each level, as a resident would name them.
ROLE_AT_LEVEL = {
    Level.UNIT: _("unit head"),
    Level.BUILDING: _("building head"),
    Level.GRID: _("grid head"),
    Level.COMMUNITY: _("community"),
    Level.STREET: _("street office"),
    Level.COUNTY: _("county office"),
    Level.DEPARTMENT: _("functional departments"),
}

# The state in plain words.
STATE_WORDS = {
    S.REPORTED: _("Received, being checked"),
    S.ASSIGNED: _("Handed over, waiting to be taken up"),
    S.IN_PROGRESS: _("Being handled"),
    S.RESOLVED: _("Handled: please tell us if you are satisfied"),
    S.CLOSED: _("Finished"),
    S.DECLINED: _("Not taken on"),
}

TITLES = {
    E.REPORT: _("Problem reported"),
    E.ASSIGN: _("Handed to"),
    E.ACCEPT: _("Taken up by"),
    E.ESCALATE: _("Passed up one level to"),
    E.REPORT_UP: _("Passed up as a hard problem to"),
    E.MEETING: _("Assigned at a county meeting to"),
    E.RESOLVE: _("Handled; the result"),
    E.RATE: _("You rated it"),
    E.REOPEN: _("Taken up again: the result was not satisfactory"),
    E.CLOSE: _("Finished"),
    E.DECLINE: _("Not taken on"),
    E.MERGE: _("Merged with the same problem reported earlier"),
    E.MERGED_IN: _("A report of the same problem was merged in"),
}
# A rating a worker wrote down on a return call (回访): the resident's words, not typed by them.
RETURN_CALL_RATING = _("Rated on a return call")
# Within this of the event, a reporter row's return-call rating is the event's.
SAME_MOMENT = dt.timedelta(seconds=5)
# Shown with their note: what the resident was told.
WITH_NOTE = frozenset({E.RESOLVE, E.DECLINE})
# Shown with who has it now (by role and area).
WITH_WHO = frozenset({E.ASSIGN, E.ACCEPT, E.ESCALATE, E.REPORT_UP, E.MEETING, E.RESOLVE})
# Internal work, not shown at all: progress notes, reminders, the rectification list, a
# department's report, the county office's review of the reports (accepting them, or sending
# a part back: the resolve that follows is shown), return visits.
# The kind of a return-call rating's entry (``data-kind`` on the page).
RETURN_CALL = "return_call_rate"
HIDDEN = frozenset(
    {
        E.PROGRESS,
        E.REMIND,
        E.RECTIFY,
        E.DEPARTMENT_REPORT,
        E.REVIEW,
        E.SEND_BACK,
        E.RETURN_VISIT,
    }
)


@dataclass(frozen=True)
class Entry:
    kind: str
    at: dt.datetime
    title: str
    who: str = ""
    text: str = ""


def who_of(level: str, area) -> str:
    role = ROLE_AT_LEVEL.get(level)
    if not role:
        return ""
    if level == Level.DEPARTMENT or area is None:
        return str(role)
    return f"{role} · {area.name}"


def _return_call_for_me(event, rows, *, others_joined: bool) -> bool:
    """Is the return-call rating ``event`` (no reporter on it: a worker logged it) one of
    ``rows``'? Yes when the problem had only its first reporter then and that is one of
    them; otherwise when one of them was last rated on a return call at that moment."""
    if not others_joined and any(r.reported_as_id == r.ticket_id for r in rows):
        return True
    return any(
        r.rating_source == Ticket.RatingSource.RETURN_CALL
        and r.rated_at is not None
        and abs(r.rated_at - event.at) <= SAME_MOMENT
        for r in rows
    )


def _decline_text(ticket: Ticket, event) -> str:
    if ticket.decline_reason and ticket.decline_note:
        return _("%(reason)s: %(note)s") % {
            "reason": Ticket.DeclineReason(ticket.decline_reason).label,
            "note": ticket.decline_note,
        }
    return event.text


def resident_timeline(ticket: Ticket, rows: list[TicketReporter]) -> list[Entry]:
    """The entries of ``ticket``'s history its reporter (``rows``: their reporter rows of
    it) may read, oldest first. One query. Texts are as written: the page masks the
    numbers in them."""
    mine = {row.pk for row in rows}
    events = (
        ticket.events.exclude(kind__in=HIDDEN)
        .select_related("handler_area")
        .only(
            "kind",
            "at",
            "note",
            "system_note",
            "level",
            "handler_area__name",
            "reporter_id",
            "actor_id",
            "ticket_id",
        )
        .order_by("at", "pk")
    )
    entries = [
        Entry(
            kind=E.MERGE,
            at=row.reported_as.closed_at or row.created_at,
            title=str(
                _("Your report #%(id)s was merged into this problem") % {"id": row.reported_as_id}
            ),
            text=row.reported_as.decline_note,
        )
        for row in rows
        if row.reported_as_id != row.ticket_id
    ]
    others_joined = False
    for event in events:
        kind = event.kind
        title = str(TITLES[kind])
        if kind == E.MERGED_IN:
            others_joined = True
        if kind == E.RATE and event.reporter_id is None:
            if event.actor_id is None or not _return_call_for_me(
                event, rows, others_joined=others_joined
            ):
                continue
            kind, title = RETURN_CALL, str(RETURN_CALL_RATING)
        elif kind == E.RATE and event.reporter_id not in mine:
            continue  # another reporter's rating is theirs
        if kind == E.DECLINE:
            text = _decline_text(ticket, event)
        elif kind in WITH_NOTE or kind in (E.RATE, RETURN_CALL):
            text = event.text
        else:
            text = ""
        who = who_of(event.level, event.handler_area) if kind in WITH_WHO else ""
        entries.append(Entry(kind=kind, at=event.at, title=title, who=who, text=text))
    return sorted(entries, key=lambda entry: entry.at)
