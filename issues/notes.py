"""What the portal itself writes on a step (the channel a report came in by, who was passed
over, the meeting and departments, a new deadline) is stored as a code and its arguments and
put into words when shown, in the reader's language: a worker who switches to English reads
the history in English, and a later wording applies to old steps too. A person's own words
on the step stay in ``TicketEvent.note`` as written."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext

from issues.models import Level, Ticket

# code: its words; each argument named in CHOICES is stored as its code and shown as its label
NOTES = {
    "via": _("via %(channel)s"),
    "passed_on": _("nobody in post at %(missing)s; passed on to %(level)s"),
    "meeting": _("%(meeting)s: assigned to %(departments)s"),
    "overdue": _("overdue: new deadline %(deadline)s"),
    "part_overdue": _("overdue part of %(departments)s: new deadline %(deadline)s"),
    "reports_accepted": _("reports of %(departments)s accepted"),
    # What a notification says (``Notification.said``): its subject, and the lines of its body
    # the portal writes (a person's own words on it are stored as written).
    "new_for_you": _("New problem for you: #%(id)s"),
    "to_triage": _("New problem to triage: #%(id)s"),
    "lifted_to_you": _("Problem #%(id)s was lifted to you"),
    "overdue_here": _("Overdue: problem #%(id)s"),
    "reminder": _("Reminder: problem #%(id)s"),
    "rated_unsatisfied": _("Problem #%(id)s was rated unsatisfied and reopened"),
    "meeting_task": _("Assigned to %(dept)s at %(meeting)s: problem #%(id)s"),
    "review_reports": _("Every department has reported on problem #%(id)s: review the reports"),
    "sent_back": _("Sent back to %(dept)s: problem #%(id)s"),
    "held": _("Problem #%(id)s (%(category)s) at %(place)s: %(text)s\nDeadline: %(deadline)s"),
    "new_deadline": _("New deadline: %(deadline)s"),
    "place": _("Place: %(place)s"),
}
CHOICES = {"channel": Ticket.Channel, "level": Level}


@dataclass(frozen=True)
class Note:
    """A note of the portal's (``code`` in ``NOTES``, with ``args``), and ``text``: a person's
    own words written with it on the same step."""

    code: str
    args: dict = field(default_factory=dict)
    text: str = ""

    def __post_init__(self):
        if self.code not in NOTES:
            raise ValueError(f"unknown note {self.code!r}")

    def stored(self) -> dict:
        return {"code": self.code, "args": self.args}

    def __str__(self) -> str:
        return " ".join(filter(None, [self.text, words(self.stored())]))


def with_text(note: Note | str | None, text: str) -> Note | str:
    """A person's ``text`` with the portal's ``note`` (either may be empty)."""
    text = text.strip()
    if isinstance(note, Note):
        return Note(note.code, note.args, text=" ".join(filter(None, [text, note.text])))
    return " ".join(filter(None, [text, note or ""]))


def split(note: Note | str | None) -> tuple[str, dict]:
    """What a step stores: (a person's words, the portal's note as code and arguments)."""
    if isinstance(note, Note):
        return note.text, note.stored()
    return note or "", {}


def words(stored: dict) -> str:
    """A stored note in the current language ("" for none, or a code no longer known)."""
    template = NOTES.get((stored or {}).get("code"))
    if template is None:
        return ""
    args = dict(stored.get("args") or {})
    for name, choices in CHOICES.items():
        if name in args:
            with contextlib.suppress(ValueError):  # a code no longer known shows as stored
                args[name] = choices(args[name]).label
    if isinstance(args.get("departments"), list):  # names, joined as the language joins
        args["departments"] = pgettext("list separator", ", ").join(args["departments"])
    if isinstance(args.get("deadline"), str):  # an ISO date, shown as the language shows dates
        with contextlib.suppress(ValueError):
            if "T" in args["deadline"]:  # a moment: the day and the time, local
                moment = timezone.localtime(dt.datetime.fromisoformat(args["deadline"]))
                args["deadline"] = date_format(moment, "SHORT_DATETIME_FORMAT")
            else:
                deadline = dt.date.fromisoformat(args["deadline"])
                args["deadline"] = date_format(deadline, "DATE_FORMAT")
    if isinstance(args.get("missing"), list):  # [[place name, level], …]
        args["missing"] = "、".join(
            f"{name}{Level(level).label if level in Level.values else level}"
            for name, level in args["missing"]
        )
    try:
        return str(template) % args
    except (KeyError, TypeError, ValueError):
        return ""


# A department's report, and a part sent back to it, are noted "住建局: what was said": the
# department's name, then the words as written. A department's handler is shown only the
# steps of its own parts (issues.views), read back through ``department_of``.
DEPARTMENT_SAID = "{department}: {text}"


def department_note(department: str, text: str) -> str:
    return DEPARTMENT_SAID.format(department=department, text=text)


def department_of(note: str) -> str:
    """The department a ``department_note`` names ("" for another note)."""
    name, colon, _text = note.partition(": ")
    return name if colon else ""


# --- what a notification says -------------------------------------------------------------


def said(subject: Note | str, body: Iterable[Note | str]) -> dict:
    """What ``Notification.said`` stores: the subject and each line of the body, a note of
    the portal's as its code and arguments (with a person's words beside it), a person's
    own text as written."""

    def one(part: Note | str) -> dict:
        if isinstance(part, Note):
            return {**part.stored(), "text": part.text}
        return {"text": part}

    return {"subject": one(subject), "body": [one(line) for line in body if line]}


def _shown(stored: dict) -> str:
    return " ".join(filter(None, [stored.get("text", ""), words(stored)]))


def said_subject(notification) -> str:
    """The notification's subject in the reader's language (as stored, for one written
    before the portal kept codes)."""
    stored = (notification.said or {}).get("subject")
    return _shown(stored) if stored else notification.subject


def said_body(notification) -> str:
    stored = (notification.said or {}).get("body")
    if stored is None:
        return notification.body
    return "\n".join(filter(None, (_shown(line) for line in stored)))
