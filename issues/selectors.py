"""Reads of tickets through the user's scope: area scope for the tree's people, assigned
tasks for department handlers."""

import re

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from grids.access import scope_for
from grids.rules import KEY_OF_KIND
from grids.selectors import area_search, area_subtree_q
from grids.validators import MOBILE_RE, normalize_phone
from issues.models import DepartmentTask, Notification, Ticket, TicketPhoto, TicketReporter


def tickets_visible_to(user) -> QuerySet[Ticket]:
    scope = scope_for(user)
    q = scope.keyed_q()
    if scope.is_admin:
        return Ticket.objects.filter(q)  # everything: a department's share adds nothing
    if scope.department_ids:
        assigned = DepartmentTask.objects.filter(
            ticket=OuterRef("pk"), department_id__in=scope.department_ids
        )
        q = q | Q(Exists(assigned)) if scope.grants else Q(Exists(assigned))
    return Ticket.objects.filter(q)


# A place name that matches more areas than this narrows nothing: the worker is asked to type
# more of it (a wide match would only slow the list).
SEARCH_PLACES = 200
_TICKET_NUMBER = re.compile(r"#?(\d{1,9})")


def inbox_search(user, text: str) -> tuple[Q, str | None]:
    """The filter for what a worker types into the inbox's search box when the phone rings,
    and why it could not be applied (or None):

    - a ticket number (``123`` or ``#123``);
    - a full mobile number: the problems it reported, first or merged in (shown masked);
    - otherwise text: in the description, a reporter's name, or the name (or code) of a
      place in the user's scope at any level, through the problems' ancestor keys."""
    text = text.strip()
    if match := _TICKET_NUMBER.fullmatch(text):
        return Q(pk=int(match.group(1))), None
    phone = normalize_phone(text)
    if MOBILE_RE.match(phone):
        reported = TicketReporter.objects.filter(ticket=OuterRef("pk"), phone=phone)
        return Q(reporter_phone=phone) | Q(Exists(reported)), None
    named = TicketReporter.objects.filter(ticket=OuterRef("pk"), name__contains=text)
    q = Q(description__contains=text) | Q(reporter_name__contains=text) | Q(Exists(named))
    places = area_search(user, q=text, limit=SEARCH_PLACES + 1)
    if len(places) > SEARCH_PLACES:
        why = _("“%(text)s” names more than %(n)s places; type more of the name to find a place")
        return q, why % {"text": text, "n": SEARCH_PLACES}
    # Through the ancestor keys a place of a keyed kind (district … grid) holds its whole
    # subtree in one indexed column; a building, unit or compound by its own small range.
    by_key: dict[str, list[int]] = {}
    for area in places:
        key = KEY_OF_KIND.get(area.kind)
        if key is not None:
            by_key.setdefault(key, []).append(area.pk)
        else:
            q |= area_subtree_q(area, "area__")
    for key, ids in by_key.items():
        q |= Q(**{f"{key}_id__in": ids})
    return q, None


def get_ticket_for_user(user, pk) -> Ticket:
    ticket = (
        tickets_visible_to(user)
        .select_related(
            "area", "category", "handler_area", "reporter", "first_asker__person", "merged_into"
        )
        .filter(pk=pk)
        .first()
        if str(pk).isdigit()
        else None
    )
    if ticket is None:
        raise Http404
    return ticket


def get_photo_for_user(user, ticket_pk, photo_pk) -> TicketPhoto:
    """A photo of a ticket the user may see, fetched and authorised as the ticket page is:
    404 whether it is missing, of another ticket, or out of scope."""
    ticket = get_ticket_for_user(user, ticket_pk)
    photo = ticket.photos.filter(pk=photo_pk).first() if str(photo_pk).isdigit() else None
    if photo is None:
        raise Http404
    return photo


# --- the notification list: each user's own rows only --------------------------------------------

UNREAD_CAP = 100


def notifications_for(user) -> QuerySet[Notification]:
    """``user``'s notification list, newest first (index ``notification_recipient_at``)."""
    if not getattr(user, "is_authenticated", False):
        return Notification.objects.none()
    return Notification.objects.filter(recipient=user).order_by("-created_at", "-pk")


def notifications_unread_count(user, *, cap: int = UNREAD_CAP) -> int:
    """How many of ``user``'s notifications are unread, counted up to ``cap`` only: one query
    on the partial index ``notification_unread`` that stays cheap however many pile up."""
    return notifications_for(user).filter(read_at=None).order_by()[:cap].count()


def get_notification_for_user(user, pk) -> Notification:
    """One of ``user``'s own notifications, or 404 (missing or someone else's alike)."""
    row = notifications_for(user).filter(pk=pk).first() if str(pk).isdigit() else None
    if row is None:
        raise Http404
    return row
