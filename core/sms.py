"""Text messages (SMS) through a pluggable backend, the way Django sends e-mail.

``settings.SMS_BACKEND`` names the backend class (a dotted path); ``send_sms`` builds one
``SmsMessage`` and hands it to ``get_sms_backend().send([...])``. Three backends ship here:

- ``core.sms.ConsoleBackend`` (the default): logs each message on logger ``portal.sms`` as
  one line, ``SMS +8613800138000: <text>``, with line breaks in the text folded to spaces.
  It is the developer's log, and it logs everything in full: sign-in codes and the
  ``/t/<token>/`` tracking links that open a reporter's problem without signing in.
  **Production must not use it** (set ``SMS_BACKEND=core.sms.HttpBackend``): whoever
  reads the logs could sign in as any resident or rate anyone's problem.
- ``core.sms.LocmemBackend`` (the test settings): appends each message to the module-level
  list ``core.sms.outbox``, like ``django.core.mail.outbox``.
- ``core.sms.HttpBackend``: one HTTP request per message to the gateway at
  ``settings.SMS_HTTP_URL``::

      POST <SMS_HTTP_URL>
      Content-Type: application/json; charset=utf-8
      Authorization: Bearer <SMS_HTTP_TOKEN>      (left out when the token is empty)
      Idempotency-Key: <message_id>

      {"to": "+8613800138000", "text": "…", "id": "<message_id>"}

  ``to`` is in E.164 form; ``text`` is UTF-8 JSON (not \\u-escaped); ``id`` is the caller's
  stable message id, the same on every retry of one message, so the gateway can drop a
  duplicate (it is also sent as ``Idempotency-Key``). Any 2xx answer counts as accepted and
  its body is ignored. Any other answer (redirects are not followed), a connection error or
  no answer within ``settings.SMS_HTTP_TIMEOUT`` seconds (default 10) raises ``SmsError``
  naming the status and the start of the answer's body; the token never appears in it.
  Messages of one ``send`` before the failing one have been sent.

Numbers are normalised before they reach any backend: mainland mobile numbers (11 digits
starting 13–19, optionally written with ``+86``/``0086``/``86``, spaces or dashes) become
``+86…``; anything else is refused with a ``ValueError``.

Nothing sends directly: ``sms_queue`` (``sms_queue_many`` for a batch) writes a
``core.models.TextMessage`` outbox row in the caller's transaction and a worker sends it
after commit (``sms_send_rows``), the sweep whatever was left behind (``sms_sweep``), each
at least once with the same id. Rows sent or given up are deleted after
``settings.TEXT_MESSAGE_KEEP_DAYS`` days (default 90; ``text_messages_prune``, daily): the
outbox holds residents' numbers and what they were told.
"""

from __future__ import annotations

import json
import logging
import re
import urllib.error
import urllib.request
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from core.numbers import MOBILE_RE, phone_normalise

logger = logging.getLogger("portal.sms")

# Messages sent with LocmemBackend (tests empty it between tests).
outbox: list[SmsMessage] = []

# Every break str.splitlines() knows, \r\n counted once.
_LINE_BREAKS = re.compile(r"\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]")
_MESSAGE_ID = re.compile(r"[!-~]{1,200}")  # printable ASCII, no spaces: safe in a header
_EXCERPT_CHARS = 200


class SmsError(Exception):
    """A message could not be handed to the gateway."""


def sms_number_normalise(raw: str) -> str:
    """``raw`` as E.164 (``+86`` and 11 digits) if it is a mainland mobile number, else
    ``ValueError``."""
    if not isinstance(raw, str):
        raise ValueError(f"SMS number must be a string, not {type(raw).__name__}")
    number = phone_normalise(raw)
    if not MOBILE_RE.match(number):
        raise ValueError(
            f"{raw!r} is not a mainland China mobile number "
            "(11 digits starting 13-19, optionally with +86)"
        )
    return "+86" + number


def sms_number_or_none(raw: str | None) -> str | None:
    """``raw`` as E.164 if it is a mainland mobile number, else ``None`` (a landline, a
    foreign number or nothing: no SMS)."""
    if not raw:
        return None
    try:
        return sms_number_normalise(raw)
    except ValueError:
        return None


@dataclass(frozen=True)
class SmsMessage:
    number: str
    text: str
    message_id: str


def sms_message(number: str, text: str, *, message_id: str) -> SmsMessage:
    """One message, checked: the number normalised, the id usable as a header value."""
    if not isinstance(message_id, str) or not _MESSAGE_ID.fullmatch(message_id):
        raise ValueError(
            f"SMS message id {message_id!r} must be 1-200 printable ASCII characters without spaces"
        )
    return SmsMessage(number=sms_number_normalise(number), text=str(text), message_id=message_id)


class BaseSmsBackend:
    """Subclasses implement ``send``; keyword arguments override the settings they read."""

    def __init__(self, **kwargs):
        pass

    def send(self, messages: list[SmsMessage]) -> int:
        """Send ``messages``; return how many were sent."""
        raise NotImplementedError


class ConsoleBackend(BaseSmsBackend):
    def send(self, messages: list[SmsMessage]) -> int:
        for message in messages:
            logger.info("SMS %s: %s", message.number, _LINE_BREAKS.sub(" ", message.text))
        return len(messages)


class LocmemBackend(BaseSmsBackend):
    def send(self, messages: list[SmsMessage]) -> int:
        outbox.extend(messages)
        return len(messages)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # A redirected POST would silently turn into a GET without the message: refuse it.
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


class HttpBackend(BaseSmsBackend):
    def __init__(self, *, url=None, token=None, timeout=None, **kwargs):
        super().__init__(**kwargs)
        self.url = url if url is not None else getattr(settings, "SMS_HTTP_URL", "")
        self.token = token if token is not None else getattr(settings, "SMS_HTTP_TOKEN", "")
        self.timeout = timeout if timeout is not None else getattr(settings, "SMS_HTTP_TIMEOUT", 10)
        if not self.url or not self.url.startswith(("http://", "https://")):
            raise ImproperlyConfigured(
                f"SMS_HTTP_URL must be an http:// or https:// URL for core.sms.HttpBackend "
                f"(it is {self.url!r})"
            )
        self._opener = urllib.request.build_opener(_NoRedirect)

    def send(self, messages: list[SmsMessage]) -> int:
        for message in messages:
            self._send_one(message)
        return len(messages)

    def _send_one(self, message: SmsMessage) -> None:
        number = sms_number_normalise(message.number)
        body = json.dumps(
            {"to": number, "text": message.text, "id": message.message_id}, ensure_ascii=False
        ).encode("utf-8")
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Accept": "application/json",
            "Idempotency-Key": message.message_id,
        }
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        what = f"SMS {message.message_id} to {number}"
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                status = response.status
                excerpt = self._excerpt(response)
        except urllib.error.HTTPError as error:
            status, excerpt = error.code, self._excerpt(error)
        except TimeoutError:
            raise SmsError(f"{what}: the gateway gave no answer within {self.timeout} s") from None
        except urllib.error.URLError as error:
            reason = error.reason
            if isinstance(reason, TimeoutError):
                raise SmsError(
                    f"{what}: the gateway gave no answer within {self.timeout} s"
                ) from None
            raise SmsError(f"{what}: cannot reach the gateway ({reason})") from None
        except OSError as error:
            raise SmsError(f"{what}: connection to the gateway failed ({error})") from None
        if not 200 <= status < 300:
            raise SmsError(f"{what}: the gateway answered HTTP {status}: {excerpt!r}")

    def _excerpt(self, response) -> str:
        try:
            raw = response.read(_EXCERPT_CHARS * 4)
        except OSError:
            return ""
        text = raw.decode("utf-8", errors="replace")[:_EXCERPT_CHARS]
        if self.token:
            text = text.replace(self.token, "<token>")
        return _LINE_BREAKS.sub(" ", text)


def get_sms_backend(path: str | None = None, **kwargs) -> BaseSmsBackend:
    """An instance of the backend class at ``path`` (default ``settings.SMS_BACKEND``)."""
    path = path or getattr(settings, "SMS_BACKEND", "core.sms.ConsoleBackend")
    return import_string(path)(**kwargs)


def send_sms(number: str, text: str, *, message_id: str, backend: str | None = None) -> int:
    """Send one text message through the configured backend; return 1 once it is sent.

    ``message_id`` is stable per message (e.g. the outbox row's id): a retry passes the same
    one, so the gateway can drop the duplicate. Raises ``ValueError`` for a number that is
    not a mainland mobile and ``SmsError`` when the backend could not send."""
    message = sms_message(number, text, message_id=message_id)
    return get_sms_backend(backend).send([message])


# --- the outbox: queue after commit, send at least once ------------------------------------------


def sms_queue(number: str, text: str, *, purpose: str):
    """Write one ``core.models.TextMessage`` now (in the caller's transaction) and hand it to
    a worker after commit. A down gateway or broker loses nothing: the row stays unsent and
    ``sms_sweep`` sends it later. Raises ``ValueError`` for a number that is not a mainland
    mobile (before anything is written)."""
    from django.db import transaction

    from core.models import TextMessage

    row = TextMessage.objects.create(
        number=sms_number_normalise(number), text=str(text), purpose=purpose
    )
    transaction.on_commit(lambda: _queue([row.pk]))
    return row


# Rows handed to one worker task by ``sms_queue_many``.
QUEUE_BATCH = 500


def sms_queue_many(messages: list[tuple[str, str]], *, purpose: str) -> list:
    """``sms_queue`` for many messages, ``(number, text)`` each: one ``bulk_create`` (in the
    caller's transaction) and, after commit, one worker task per ``QUEUE_BATCH`` rows. A
    number that is not a mainland mobile raises ``ValueError`` before anything is written."""
    from django.db import transaction

    from core.models import TextMessage

    rows = [
        TextMessage(number=sms_number_normalise(number), text=str(text), purpose=purpose)
        for number, text in messages
    ]
    rows = TextMessage.objects.bulk_create(rows, batch_size=2000)
    ids = [row.pk for row in rows]
    for start in range(0, len(ids), QUEUE_BATCH):
        batch = ids[start : start + QUEUE_BATCH]
        transaction.on_commit(lambda batch=batch: _queue(batch))
    return rows


def _queue(ids: list[int]) -> None:
    from core.outbox import outbox_queue
    from core.tasks import send_text_messages

    outbox_queue(send_text_messages, ids, what="text message(s)")


def sms_send_rows(*, ids) -> int:
    """Send the given outbox rows still unsent (``core.outbox.outbox_deliver``: claimed,
    sent outside any transaction, marked). Returns how many were sent."""
    from core.models import TextMessage
    from core.outbox import outbox_deliver

    ids = list(ids)
    sent = outbox_deliver(model=TextMessage, pks=ids, send=_send_row)
    sign_in_codes_forget(ids=ids)
    return sent


def sign_in_codes_forget(*, ids=None) -> int:
    """Blank the text of sign-in messages that have been sent or given up (of ``ids``, or
    all): a code is only a keyed hash in ``residents.SignInCode`` and a one-time password
    (``grids.imports.logins``) only a password hash, and the outbox must not keep either
    readable. A row that is still to be sent keeps its text, or it could not be sent."""
    from django.db.models import Q

    from core.models import TextMessage
    from core.outbox import MAX_ATTEMPTS

    # Only rows that still hold text: the partial index ``textmessage_code_unblanked`` has
    # just those (a handful between two sweeps), never the millions blanked before.
    done = Q(sent_at__isnull=False) | Q(attempts__gte=MAX_ATTEMPTS)
    rows = TextMessage.objects.filter(TextMessage.CODE_UNBLANKED).filter(done)
    if ids is not None:
        rows = rows.filter(pk__in=ids)
    return rows.update(text="")


def text_messages_prune(*, now=None, days: int | None = None) -> int:
    """Delete the outbox rows sent, or given up (``core.outbox.MAX_ATTEMPTS`` failed
    attempts), more than ``days`` days ago (default ``settings.TEXT_MESSAGE_KEEP_DAYS``,
    90): numbers and texts are not kept forever. Rows still to be sent are kept, however
    old. In batches (``core.batches.delete_in_batches``). Returns how many
    were deleted."""
    import datetime as dt

    from django.db.models import Q
    from django.utils import timezone

    from core.batches import delete_in_batches
    from core.models import TextMessage
    from core.outbox import MAX_ATTEMPTS

    if days is None:
        days = getattr(settings, "TEXT_MESSAGE_KEEP_DAYS", 90)
    if days < 1:
        raise ValueError(f"text messages are kept at least one day, not {days}")
    cutoff = (now or timezone.now()) - dt.timedelta(days=days)
    done = Q(sent_at__isnull=False) | Q(attempts__gte=MAX_ATTEMPTS)
    old = TextMessage.objects.filter(done, created_at__lt=cutoff)
    return delete_in_batches(old, order_by="created_at")


def sms_sweep(*, limit: int = 1000) -> int:
    """Send what a down broker, a down gateway or a dead worker left behind."""
    from core.models import TextMessage
    from core.outbox import outbox_pending

    pending = outbox_pending(TextMessage.objects.all()).order_by("pk")
    sent = sms_send_rows(ids=list(pending.values_list("pk", flat=True)[:limit]))
    sign_in_codes_forget()  # also rows sent by a worker that died before blanking them
    return sent


def _send_row(row) -> None:
    from core.outbox import outbox_message_id

    # The Message-ID without its angle brackets is a stable id of printable ASCII.
    send_sms(row.number, row.text, message_id=outbox_message_id(row, "sms").strip("<>"))
