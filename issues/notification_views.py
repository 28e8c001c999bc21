"""The notification list (/notifications/): each worker's own notifications, newest first,
the unread ones marked; opening one marks it read and goes to its problem. Reads through
``issues.selectors``, every change through ``issues.services.notifications``."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from grids.selectors import set_places
from issues.notes import said_body, said_subject
from issues.selectors import get_notification_for_user, notifications_for
from issues.services.notifications import notification_read, notifications_read_all

PAGE_SIZE = 25
# htmx stops polling on this status: a signed-out page has no badge to refresh.
HTMX_STOP_POLLING = 286


@login_required
@require_GET
def notification_list(request):
    rows = notifications_for(request.user).select_related("ticket__area")
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    # Each problem's place as the viewer's path, for the page's rows in one query.
    set_places((note.ticket for note in page.object_list if note.ticket_id), user=request.user)
    for note in page.object_list:  # in the reader's language, whoever's action wrote it
        note.shown_subject, note.shown_body = said_subject(note), said_body(note)
    return render(request, "issues/notifications.html", {"page": page})


@login_required
@require_POST
def notification_open(request, pk):
    notification = get_notification_for_user(request.user, pk)
    notification_read(notification=notification)
    if notification.ticket_id is None:
        return redirect("notifications:list")
    return redirect("issues:ticket_detail", pk=notification.ticket_id)


@login_required
@require_POST
def notification_read_all(request):
    notifications_read_all(user=request.user)
    return redirect(reverse("notifications:list") + _page_query(request))


@require_GET
def notification_badge(request):
    """The navbar's unread count alone, for htmx to poll."""
    if not request.user.is_authenticated:
        return HttpResponse(status=HTMX_STOP_POLLING)
    return render(request, "issues/_notification_badge.html")


def _page_query(request) -> str:
    page = request.POST.get("page", "")
    return f"?page={page}" if page.isdigit() and page != "1" else ""
