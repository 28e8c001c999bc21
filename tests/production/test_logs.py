"""Every log line says when, how bad, where, for which request (or task) and from whom
(portal/logs.py): the X-Request-ID taken when sane and echoed, the client's address through
TRUSTED_PROXY_HOPS, a task's id in a worker, text lines or one JSON object a line."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys

import pytest
from django.http import HttpResponse
from django.test import RequestFactory

from portal.logs import RequestContextFilter, RequestIdMiddleware, request_id_for
from tests.production.conftest import ROOT, clean_environment


class Records(logging.Handler):
    def __init__(self):
        super().__init__()
        self.addFilter(RequestContextFilter())
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        self.records.append(record)


@pytest.fixture
def records():
    handler = Records()
    logger = logging.getLogger("portal.test_logs")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield handler.records
    logger.removeHandler(handler)


def _view(request):
    logging.getLogger("portal.test_logs").info("inside the view")
    return HttpResponse("ok")


@pytest.mark.parametrize(
    "incoming",
    ["0f3c2a9b8d7e6f5a4b3c2d1e0f9a8b7c", "7d0c8f0e-5b8a-4d4e-9f3c-2a1b0c9d8e7f", "req.42:abc-def"],
)
def test_a_sane_request_id_is_kept_and_echoed(records, settings, incoming):
    settings.TRUSTED_PROXY_HOPS = 1
    request = RequestFactory().get(
        "/", HTTP_X_REQUEST_ID=incoming, HTTP_X_FORWARDED_FOR="10.9.8.7, 203.0.113.5"
    )
    response = RequestIdMiddleware(_view)(request)
    assert response["X-Request-ID"] == incoming
    [record] = records
    assert (record.request_id, record.client_ip) == (incoming, "203.0.113.5")


@pytest.mark.parametrize(
    "incoming",
    [None, "", "short", "x" * 129, "has space in it", 'quote"d-id-123', "line\nbreak-0000", "日志"],
)
def test_anything_else_is_replaced_by_a_new_id(records, incoming):
    meta = {} if incoming is None else {"HTTP_X_REQUEST_ID": incoming}
    response = RequestIdMiddleware(_view)(RequestFactory().get("/", **meta))
    rid = response["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", rid)
    assert records[0].request_id == rid
    assert records[0].client_ip == "127.0.0.1"  # REMOTE_ADDR: no proxy trusted
    assert request_id_for(incoming) != request_id_for(incoming)  # new each time


def test_outside_a_request_the_fields_say_so(records):
    logging.getLogger("portal.test_logs").info("a command's line")
    assert (records[0].request_id, records[0].client_ip) == ("-", "-")


def test_a_task_logs_its_own_id(records):
    from portal.celery import app

    @app.task(bind=True, name="tests.production.test_logs.noisy")
    def noisy(self):
        logging.getLogger("portal.test_logs").info("inside the task")

    noisy.apply(task_id="5e0c1d2a-task-id-for-the-log")
    [record] = records
    assert record.request_id == "5e0c1d2a-task-id-for-the-log"


def test_the_full_stack_echoes_the_id(client, db):
    response = client.get("/livez", HTTP_X_REQUEST_ID="from-nginx-0123456789abcdef")
    assert response["X-Request-ID"] == "from-nginx-0123456789abcdef"
    assert re.fullmatch(r"[0-9a-f]{32}", client.get("/livez")["X-Request-ID"])


LINE = """
import logging, django
django.setup()
logging.getLogger("grids.imports").warning("导入完成 %d", 3)
"""


def _log_line(env: dict[str, str], tmp_path) -> str:
    result = subprocess.run(
        [sys.executable, "-c", LINE],
        cwd=ROOT,
        env={
            **clean_environment(),
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "PORTAL_VAR_DIR": str(tmp_path),
            "PYTHONIOENCODING": "utf-8",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    [line] = [ln for ln in result.stderr.splitlines() if "grids.imports" in ln]
    return line


def test_text_lines_have_time_level_logger_request_and_client(tmp_path):
    line = _log_line({}, tmp_path)
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} WARNING grids\.imports \[- -\] 导入完成 3", line
    ), line


def test_json_lines_are_one_object_each(tmp_path):
    found = json.loads(_log_line({"LOG_FORMAT": "json"}, tmp_path))
    assert found["level"] == "WARNING" and found["logger"] == "grids.imports"
    assert found["message"] == "导入完成 3"
    assert (found["request_id"], found["client_ip"]) == ("-", "-")
    assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", found["time"])
    assert os.linesep not in json.dumps(found)
