"""A database that cannot be reached answers a clean 503, never a traceback or a hanging
worker, and the same processes serve again as soon as it is back.

Two ways in, because an outage shows up in two places:

- ``DatabaseUnavailableMiddleware.process_exception``: a view (or the template it renders)
  whose query fails;
- ``server_error``, the project's ``handler500``: a query that fails in a middleware before
  or after the view (the session read for ``request.user``, a session saved on the way out),
  which Django turns into a server error without asking ``process_exception``.

The page is rendered without the request's context processors (the navbar's unread count
reads the database) in the language ``LocaleMiddleware`` chose. It says when to retry
(``Retry-After``) and is never cached. The outage is logged once per request as a warning
with the error's type and message, not as a server error: an outage of a few minutes would
otherwise mail every failed request to ``ADMINS``.

Getting well again needs nothing here: Django closes a connection that raised at the end of
the request (``close_old_connections``), and ``CONN_HEALTH_CHECKS`` (portal/settings.py)
checks a kept connection before a request reuses it, so a connection the restart broke is
replaced instead of failing the first request after it.
"""

import logging
import sys

from django.db import InterfaceError, OperationalError, connections
from django.http import HttpResponse, HttpResponseServerError
from django.template import loader
from django.views.decorators.csrf import requires_csrf_token

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 30
# PostgreSQL's SQLSTATEs of an outage: class 08 (connection exception), the server shutting
# down or starting (57P01-57P03), no connection slot left (53300). A deadlock, a
# serialization failure, a statement timeout or a full disk is an OperationalError too, but
# a fault to be mailed and fixed, not "try again in 30 s": those stay server errors.
_OUTAGE_STATES = ("57P01", "57P02", "57P03", "53300")
# SQLite (the embedded setup): the file cannot be opened, or another process holds it.
_SQLITE_OUTAGE = ("unable to open database", "database is locked")


def is_outage(exception: BaseException | None) -> bool:
    """Whether ``exception`` says the database cannot be reached (rather than that a query
    is wrong): an ``InterfaceError`` (a connection already closed), or an
    ``OperationalError`` from a refused, dropped or timed-out connection."""
    if isinstance(exception, InterfaceError):
        return True
    if not isinstance(exception, OperationalError):
        return False
    cause = exception.__cause__
    state = getattr(cause, "sqlstate", None)
    if state is not None:
        return state.startswith("08") or state in _OUTAGE_STATES
    module = type(cause).__module__ if cause is not None else ""
    if module.startswith("psycopg"):
        return True  # no SQLSTATE: the connection itself failed (refused, lost, timed out)
    message = str(exception).lower()
    return any(words in message for words in _SQLITE_OUTAGE)


def database_unavailable(request, exception: BaseException) -> HttpResponse:
    log.warning(
        "database unavailable, answered 503: %s: %s",
        type(exception).__name__,
        str(exception).strip().splitlines()[0] if str(exception).strip() else "",
    )
    for connection in connections.all(initialized_only=True):
        connection.close_if_unusable_or_obsolete()
    body = loader.render_to_string(
        "503.html",
        {"retry_after": RETRY_AFTER_SECONDS, "path": _same_site(request.get_full_path())},
    )
    response = HttpResponse(body, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    # Logged above as what it is; django.request would log (and mail) it as a server error.
    response._has_been_logged = True
    return response


def _same_site(path: str) -> str:
    """The page's own path for the retry link, never ``//host/…`` (another site)."""
    return "/" + path.lstrip("/\\")


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if is_outage(exception):
            return database_unavailable(request, exception)
        return None


@requires_csrf_token
def server_error(request, template_name="500.html"):
    """``handler500``: a database outage met outside the view is a 503 as well; anything
    else the plain 500 page (as ``django.views.defaults.server_error``)."""
    exception = sys.exc_info()[1]  # Django calls the handler while handling the exception
    if is_outage(exception):
        return database_unavailable(request, exception)
    return HttpResponseServerError(loader.get_template(template_name).render())
