"""How one case of the matrix is asked and read: a persona's client (its session made once
for the module), the request (GET, or POST with no data where the view takes only POST),
the answer as a short code (``200``, ``404``, ``302L`` for a redirect to the workers' login,
``302S`` to the residents' sign-in, ``302A`` to the admin's) and the leaks: the markers of
every object of the world the persona may not see, found in the body or the redirect."""

from __future__ import annotations

import contextlib
import json

from django.db import transaction
from django.test import Client

# Views that answer only POST: asked with POST and no data (a form's errors, or a refusal).
POST_ONLY = frozenset(
    {
        "logout",
        "residents:resident_find",
        "residents:resident_reveal",
        "issues:inbox_bulk",
        "issues:ticket_do",
        "issues:ticket_act",
        "issues:reporter_phone",
        "issues:reporter_row_phone",
        "issues:description_reveal",
        "issues:return_visit_log",
        "notifications:read_all",
        "notifications:open",
        "citizens:sign_out",
        "citizens:problem_rate",
        "citizens:wishes_open_act",
        "citizens:wish_confirm",
        "citizens:points_request",
        "citizens:track_rate",
        "citizens:proposal_vote",
        "points:deed_new",
        "points:adjust",
        "points:deed",
        "points:redeem",
        "points:item_add",
        "points:item_update",
        "points:request_answer",
        "deliberation:proposal_step",
        "deliberation:attachment_add",
        "deliberation:paper_record",
        "deliberation:paper_decide",
        "deliberation:cost_split",
        "deliberation:progress_add",
        "wishes:near_act",
        "wishes:sort",
        "wishes:confirm_late",
        "councils:agenda_add",
        "councils:hold",
        "councils:cancel",
        "councils:attendee_add",
        "councils:attendee_remove",
        "councils:correct",
        "councils:decide",
        "councils:decision_problem",
        "councils:decision_wish",
        "councils:decision_proposal",
        "admin:logout",
    }
)


def sessions(mworld, personas) -> dict[str, dict[str, str]]:
    """The cookies of each persona's session, made once: a resident through the resident
    pages' session key, a worker through a login; the anonymous visitor has none."""
    from citizens.session import SESSION_KEY

    cookies = {}
    for persona in personas:
        client = Client()
        if persona in mworld.accounts:
            session = client.session
            session[SESSION_KEY] = mworld.accounts[persona].pk
            session.save()
        elif persona != "anonymous":
            client.force_login(mworld.users[persona])
        cookies[persona] = {key: morsel.value for key, morsel in client.cookies.items()}
    return cookies


def client_for(cookies: dict[str, str]) -> Client:
    client = Client()
    for key, value in cookies.items():
        client.cookies[key] = value
    return client


def answer_code(response) -> str:
    code = str(response.status_code)
    if response.status_code in (301, 302):
        location = response.get("Location", "")
        if "/admin/login/" in location:
            code += "A"
        elif "/accounts/login/" in location:
            code += "L"
        elif "/r/sign-in/" in location:
            code += "S"
    return code


def body_of(response) -> str:
    if getattr(response, "streaming", False):
        content = b"".join(response.streaming_content)
    else:
        content = response.content
    text = content.decode("utf-8", "replace")
    # JSON (Open311) writes Chinese as \\u escapes: read it as the text it says.
    if response.get("Content-Type", "").startswith("application/json"):
        with contextlib.suppress(ValueError):
            text += json.dumps(json.loads(content), ensure_ascii=False)
    # A spreadsheet is a zip: its text is compressed, so read the cells.
    if content[:2] == b"PK":
        text += _xlsx_text(content)
    return text + " " + response.get("Location", "")


def _xlsx_text(content: bytes) -> str:
    import io

    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(content), read_only=True)
    except Exception:  # noqa: BLE001  (a zip that is no workbook: its bytes were read above)
        return ""
    cells = []
    for sheet in book.worksheets:
        for row in sheet.iter_rows(values_only=True):
            cells.extend(str(c) for c in row if c is not None)
    return " ".join(cells)


def ask(client: Client, name: str, url: str):
    """One request, in a savepoint rolled back: what one persona does is not seen by the
    next (a meeting called off, a notification read)."""
    with transaction.atomic():
        response = client.post(url, {}) if name in POST_ONLY else client.get(url)
        body = body_of(response)
        transaction.set_rollback(True)
    return response, body


def leaks(mworld, persona: str, body: str, public: frozenset[str] = frozenset()) -> list[str]:
    """The markers in ``body`` of objects ``persona`` may not see (but of the kinds the page
    shows to anyone, ``public``)."""
    return [
        marker
        for obj in mworld.all_objects()
        if persona not in obj.seen_by and obj.kind not in public
        for marker in obj.markers
        if marker in body
    ]
