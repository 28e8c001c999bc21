"""The 503 of a database outage, without the real services (the restart itself is
test_postgres_restart.py): from a view, from a middleware (handler500), and a plain error
still the 500 page."""

import sqlite3

import psycopg
import pytest
from django.db import InterfaceError, OperationalError
from django.test import RequestFactory
from django.utils import translation

from portal import db_errors

# The connections are checked (and closed if broken) as the 503 is made: the test database
# is open to them.
pytestmark = pytest.mark.django_db


def _from_driver(cause):
    """The OperationalError Django raises for a driver's error (``__cause__`` as
    ``DatabaseErrorWrapper`` sets it)."""
    error = OperationalError(str(cause))
    error.__cause__ = cause
    return error


def _view_raising(exc):
    def view(request):
        raise exc

    return view


@pytest.mark.parametrize(
    "exc",
    [
        _from_driver(psycopg.OperationalError("server closed the connection unexpectedly")),
        _from_driver(psycopg.errors.AdminShutdown("terminating connection")),
        _from_driver(psycopg.errors.TooManyConnections("too many clients already")),
        _from_driver(sqlite3.OperationalError("database is locked")),
        InterfaceError("connection already closed"),
    ],
)
def test_a_view_whose_database_is_gone_answers_503(exc):
    request = RequestFactory().get("/tickets/?page=2")
    middleware = db_errors.DatabaseUnavailableMiddleware(_view_raising(exc))
    response = middleware.process_exception(request, exc)
    assert response.status_code == 503
    assert response["Retry-After"] == str(db_errors.RETRY_AFTER_SECONDS)
    assert response["Cache-Control"] == "no-store"
    body = response.content.decode()
    assert "门户暂时无法使用" in body and "/tickets/?page=2" in body
    assert "Traceback" not in body and "server closed" not in body


@pytest.mark.parametrize(
    "exc",
    [
        ValueError("a bug"),
        # Faults of the portal's own queries, to be mailed and fixed, not "try again".
        _from_driver(psycopg.errors.DeadlockDetected("deadlock detected")),
        _from_driver(psycopg.errors.SerializationFailure("could not serialize access")),
        _from_driver(psycopg.errors.QueryCanceled("canceling statement due to timeout")),
        _from_driver(psycopg.errors.DiskFull("could not extend file")),
        _from_driver(sqlite3.OperationalError("no such table: issues_ticket")),
    ],
)
def test_other_errors_are_not_taken_for_an_outage(exc):
    request = RequestFactory().get("/")
    middleware = db_errors.DatabaseUnavailableMiddleware(lambda r: None)
    assert middleware.process_exception(request, exc) is None
    try:
        raise exc
    except Exception:
        response = db_errors.server_error(request)
    assert response.status_code == 500


def test_a_middleware_whose_database_is_gone_answers_503_in_english_too():
    request = RequestFactory().get("/en/tickets/")
    with translation.override("en"):
        try:
            raise _from_driver(psycopg.errors.AdminShutdown("the database system is shutting down"))
        except OperationalError:
            response = db_errors.server_error(request)
    assert response.status_code == 503
    assert "The portal is unavailable for a moment" in response.content.decode()
    assert response._has_been_logged  # not logged (and mailed) again as a server error


def test_the_retry_link_stays_on_the_portal():
    request = RequestFactory().get("/")
    request.path = "//evil.example/x"  # as a server passes a request line of "GET //evil…"
    exc = InterfaceError("connection already closed")
    response = db_errors.DatabaseUnavailableMiddleware(_view_raising(exc)).process_exception(
        request, exc
    )
    body = response.content.decode()
    assert 'href="/evil.example/x"' in body and 'href="//' not in body
