"""Posting a text to a group robot's webhook (WeCom 企业微信群机器人, DingTalk 钉钉自定义机器人).

Both take the same request for a plain text message::

    POST <webhook URL>
    Content-Type: application/json; charset=utf-8

    {"msgtype": "text", "text": {"content": "…"}}

and answer HTTP 200 with ``{"errcode": 0, "errmsg": "ok"}`` when the message was taken.
Anything else — another status, a non-zero ``errcode`` (a robot's rate limit is 45009 on
WeCom, 130101 on DingTalk; a wrong key 93000 / 310000), no JSON, a redirect, no answer within
``settings.WEBHOOK_TIMEOUT`` seconds (default 10) — raises ``WebhookError``, which the outbox
records and retries. The URL carries the robot's key, so it never appears in an error: only
its scheme and host do.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from django.conf import settings

_EXCERPT_CHARS = 200
# WeCom cuts a text message at 2,048 bytes; DingTalk at 20,000. Keep well under both.
CONTENT_MAX_CHARS = 600


class WebhookError(Exception):
    """The robot did not take the message."""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def webhook_where(url: str) -> str:
    """What of a robot's address may be shown: its scheme and host (the key is in the path
    or the query)."""
    parts = urlsplit(url)
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:  # not a number: say nothing of it
        port = ""
    return f"{parts.scheme}://{parts.hostname or ''}{port}"


def webhook_post(url: str, text: str, *, timeout: float | None = None) -> None:
    """Send ``text`` to the robot at ``url``; ``WebhookError`` if it was not taken."""
    if not url.startswith(("https://", "http://")):
        raise WebhookError("a robot webhook must be an http:// or https:// address")
    timeout = timeout if timeout is not None else getattr(settings, "WEBHOOK_TIMEOUT", 10)
    content = text if len(text) <= CONTENT_MAX_CHARS else text[: CONTENT_MAX_CHARS - 1] + "…"
    body = json.dumps({"msgtype": "text", "text": {"content": content}}, ensure_ascii=False).encode(
        "utf-8"
    )
    request = urllib.request.Request(
        url,
        data=body,
        headers={"Content-Type": "application/json; charset=utf-8"},
        method="POST",
    )
    where = f"robot at {webhook_where(url)}"
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=timeout) as response:
            status, raw = response.status, response.read(64 * 1024)
    except urllib.error.HTTPError as error:
        raise WebhookError(f"{where} answered HTTP {error.code}") from None
    except TimeoutError:
        raise WebhookError(f"{where} gave no answer within {timeout} s") from None
    except urllib.error.URLError as error:
        if isinstance(error.reason, TimeoutError):
            raise WebhookError(f"{where} gave no answer within {timeout} s") from None
        raise WebhookError(f"cannot reach the {where} ({error.reason})") from None
    except OSError as error:
        raise WebhookError(f"connection to the {where} failed ({error})") from None
    if not 200 <= status < 300:
        raise WebhookError(f"{where} answered HTTP {status}")
    try:
        answer = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        excerpt = raw[:_EXCERPT_CHARS].decode("utf-8", errors="replace")
        raise WebhookError(f"{where} answered something other than JSON: {excerpt!r}") from None
    errcode = answer.get("errcode", 0) if isinstance(answer, dict) else None
    if errcode != 0:
        message = answer.get("errmsg", "") if isinstance(answer, dict) else ""
        raise WebhookError(f"{where} refused the message: errcode {errcode} {message!r}"[:300])
