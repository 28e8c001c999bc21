"""Every log line says which request (or task) wrote it and for whom.

``RequestIdMiddleware`` takes the id a proxy sent in ``X-Request-ID`` (nginx:
``proxy_set_header X-Request-ID $request_id``) when it looks like one, makes one otherwise,
and echoes it on the response, so a line in nginx's log, gunicorn's access log and the
portal's own log can be matched. The id and the client's address (``core.requests.client_ip``,
which honours ``TRUSTED_PROXY_HOPS``) live in context variables while the request runs;
``RequestContextFilter`` copies them onto each record. In a Celery task the request id is the
task's id. ``LOG_FORMAT=json`` (portal/settings.py) writes each record as one JSON object.
"""

from __future__ import annotations

import contextvars
import logging
import re
import uuid

from core.requests import client_ip

REQUEST_ID_HEADER = "X-Request-ID"
# What a proxy's id looks like (nginx's $request_id is 32 hex digits, others send UUIDs):
# anything else (too long, spaces, quotes, newlines) is replaced, never written to a log.
_SANE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{7,127}")

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
client_ip_var: contextvars.ContextVar[str] = contextvars.ContextVar("client_ip", default="")


def request_id_for(incoming: str | None) -> str:
    """The incoming id when it is sane, a new random one otherwise."""
    if incoming and _SANE_ID.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """First in MIDDLEWARE, so the redirects and refusals of the others carry the id too."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        rid = request_id_for(request.META.get("HTTP_X_REQUEST_ID"))
        request.request_id = rid
        rid_token = request_id_var.set(rid)
        ip_token = client_ip_var.set(client_ip(request))
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(rid_token)
            client_ip_var.reset(ip_token)
        response[REQUEST_ID_HEADER] = rid
        return response


def _task_id() -> str:
    try:
        from celery import current_task
    except ImportError:  # pragma: no cover - celery is a dependency
        return ""
    task = current_task  # a proxy: false (not None) outside a task
    if not task or task.request is None:
        return ""
    return task.request.id or ""


class RequestContextFilter(logging.Filter):
    """Adds ``request_id`` and ``client_ip`` to every record ("-" outside a request). In a
    worker's task the id is the task's id; a task run eagerly inside a request keeps the
    request's id, which is the one the person who caused it can quote."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get() or _task_id() or "-"
        record.client_ip = client_ip_var.get() or "-"
        return True


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s %(client_ip)s] %(message)s"
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(request_id)s %(client_ip)s %(message)s"


def json_formatter(**kwargs) -> logging.Formatter:
    """python-json-logger's formatter (its module moved in version 3), named ``time``,
    ``level`` and ``logger`` like the text lines' columns."""
    try:
        from pythonjsonlogger.json import JsonFormatter
    except ImportError:  # pragma: no cover - python-json-logger < 3
        from pythonjsonlogger.jsonlogger import JsonFormatter
    return JsonFormatter(
        JSON_FIELDS,
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        json_ensure_ascii=False,
        **kwargs,
    )
