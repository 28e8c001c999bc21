"""Reads of tickets through the user's scope: area scope for the tree's people, assigned
tasks for department handlers."""

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404

from grids.access import scope_for
from issues.models import DepartmentTask, Notification, Ticket, TicketPhoto


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
