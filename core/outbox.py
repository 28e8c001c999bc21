"""The one way a message leaves the portal: claim an outbox row, commit, send outside any
transaction, mark it sent. The notification deliveries (``issues.NotificationDelivery``: one
row per e-mail, SMS or robot post of a notification), the text messages
(``core.models.TextMessage``: sign-in codes and reporters' news) and the digest deliveries
(``digests.DigestDelivery``) all go through ``outbox_deliver``, and all have the one shape
``OutboxRow`` gives them: ``created_at``, ``sent_at``, ``claimed_at``, ``attempts`` and
``last_error``. Each message has exactly one row in one of them.

Each row goes through three steps, each its own short transaction or none:

1. **Claim**: lock the row if no other worker holds it (``select_for_update(skip_locked)``)
   and, in one conditional ``UPDATE … WHERE sent_at IS NULL AND attempts < MAX_ATTEMPTS AND
   (claimed_at IS NULL OR claimed_at < now - CLAIM_TIMEOUT)``, set ``claimed_at`` and count
   the attempt. Committed before anything is sent, so the attempt is counted even if the
   worker dies.
2. **Send**, outside any transaction: no row lock or open transaction waits on the mail
   server, and a database restart meanwhile cannot roll back a mail that already left.
3. **Mark**: ``sent_at`` is set (or, when the send raised, ``last_error`` is recorded and the
   claim released so the next sweep tries again). A row that raised ``MAX_ATTEMPTS`` times is
   given up: it keeps its last error and is no longer picked. A failing row never stops the
   rows after it.

Delivery is **at least once**, deliberately. If a worker dies (or the database goes away)
after the mail left and before step 3 committed, the row stays claimed: nobody sends it
again while the claim is fresh (a redelivered task, a parallel sweep), and once the claim is
older than ``CLAIM_TIMEOUT`` the sweep sends it again. A problem handler who misses a
notification, or a head who misses the daily summary, costs more than a duplicate, and the
duplicate is recognisable: every message carries a ``Message-ID`` built from its row
(``outbox_message_id``) that is the same on every attempt, so the receiving mail system (and
any mail client) can drop the second copy. ``CLAIM_TIMEOUT`` is far longer than a send can
take (``EMAIL_TIMEOUT``), so a slow send is never taken for a dead one.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Iterable
from contextlib import nullcontext
from urllib.parse import urlsplit

from django.conf import settings
from django.db import models, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
CLAIM_TIMEOUT = dt.timedelta(minutes=15)
ERROR_MAX = 1000


class OutboxRow(models.Model):
    """The shape of an outbox table, for ``outbox_deliver`` to claim, send and mark. A
    concrete outbox adds what its mail says and to whom."""

    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True, default="")

    class Meta:
        abstract = True


def outbox_pending(queryset: models.QuerySet, *, now: dt.datetime | None = None):
    """The rows of ``queryset`` that a delivery run may claim now."""
    now = now or timezone.now()
    return queryset.filter(_claimable(now))


def _claimable(now: dt.datetime) -> Q:
    return Q(sent_at__isnull=True, attempts__lt=MAX_ATTEMPTS) & (
        Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - CLAIM_TIMEOUT)
    )


def outbox_deliver(
    *,
    model: type[models.Model],
    pks: Iterable[int],
    send: Callable,
    related: tuple[str, ...] = (),
    batch: int = 1,
    session: Callable | None = None,
) -> int:
    """Claim, send with ``send(row)`` and mark each row of ``model`` in ``pks`` (see the
    module's docstring). Returns how many were sent.

    With ``batch``, rows are claimed ``batch`` at a time (three queries a batch; each is
    still marked sent as soon as it left, one ``UPDATE`` by key); with ``session``, a
    context manager opened once per batch (one SMTP connection for a hundred mails,
    ``django.core.mail.get_connection``), each send is
    ``send(row, connection)``. A failing row is recorded alone and never stops the others."""
    pks = list(pks)
    sent = 0
    for first in range(0, len(pks), max(1, batch)):
        rows = _claim(model, pks[first : first + max(1, batch)], related)
        if not rows:
            continue  # sent, given up, or held by another worker
        with session() if session is not None else nullcontext() as connection:
            for row in rows:
                try:
                    if session is not None:
                        send(row, connection)
                    else:
                        send(row)
                except Exception as exc:  # whatever the server or the message did: record it
                    _failed(model, row, exc)
                    continue
                # Marked at once, not with the batch: a worker that dies mid-batch sends
                # again (after CLAIM_TIMEOUT) only the mail in flight, never those before.
                _mark_sent(model, row)
                sent += 1
    return sent


def _mark_sent(model, row) -> None:
    model.objects.filter(pk=row.pk, sent_at__isnull=True).update(
        sent_at=timezone.now(), last_error=""
    )


def _claim(model, pks: list[int], related: tuple[str, ...]) -> list:
    """The rows of ``pks`` no other worker holds, claimed (the attempt counted) and
    committed before anything is sent."""
    now = timezone.now()
    with transaction.atomic():
        rows = list(
            model.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related(*related)
            .filter(_claimable(now), pk__in=pks)
            .order_by("pk")
        )
        if not rows:
            return []
        model.objects.filter(_claimable(now), pk__in=[row.pk for row in rows]).update(
            claimed_at=now, attempts=F("attempts") + 1
        )
        # SQLite takes no row lock: keep only the rows this claim set (another worker may
        # have got there first between the read and the update).
        mine = set(
            model.objects.filter(pk__in=[row.pk for row in rows], claimed_at=now).values_list(
                "pk", flat=True
            )
        )
    rows = [row for row in rows if row.pk in mine]
    for row in rows:
        row.claimed_at, row.attempts = now, row.attempts + 1
    return rows


def _failed(model, row, exc: Exception) -> None:
    error = f"{type(exc).__name__}: {exc}"[:ERROR_MAX]
    given_up = row.attempts >= MAX_ATTEMPTS
    log.warning(
        "%s %s: delivery attempt %d of %d failed%s",
        model._meta.label,
        row.pk,
        row.attempts,
        MAX_ATTEMPTS,
        "; given up" if given_up else "",
        exc_info=True,
    )
    # Only our own claim is released: a row another worker re-claimed keeps its claim.
    model.objects.filter(pk=row.pk, claimed_at=row.claimed_at, sent_at__isnull=True).update(
        claimed_at=None, last_error=error
    )


def outbox_message_id(row: models.Model, kind: str) -> str:
    """The ``Message-ID`` of ``row``'s mail: the same on every attempt (so a resent copy can
    be recognised), different for every row of every database (the creation time is in it,
    so a restored or rebuilt database reusing ids does not collide)."""
    stamp = timezone.localtime(row.created_at, dt.UTC).strftime("%Y%m%d%H%M%S%f")
    return f"<{kind}-{row.pk}.{stamp}@{_mail_domain()}>"


def _mail_domain() -> str:
    host = urlsplit(settings.PORTAL_BASE_URL).hostname
    if host and "." in host:
        return host
    return settings.DEFAULT_FROM_EMAIL.rpartition("@")[2] or "localhost"


# --- handing rows to a worker -------------------------------------------------------------------

_broker_down_until = 0.0
BROKER_BACKOFF_SECONDS = 30


def outbox_queue(task, ids: list[int], *, what: str) -> None:
    """Hand the outbox rows ``ids`` to a worker (``task.apply_async(args=[ids])``), to be
    called after commit. If the broker is down, leave them for the sweep, and don't try again
    for a while: every request would otherwise wait on the same dead broker. One flag for
    every outbox: they share the broker."""
    global _broker_down_until
    if not ids:
        return
    if time.monotonic() < _broker_down_until:
        log.info("broker marked down; %d %s left for the sweep", len(ids), what)
        return
    try:
        task.apply_async(args=[ids], retry=False)
    except Exception:  # any transport error: the rows are safe in the outbox
        _broker_down_until = time.monotonic() + BROKER_BACKOFF_SECONDS
        log.warning("broker unreachable; %d %s left for the sweep", len(ids), what)


def outbox_broker_reset() -> None:
    """Forget that the broker was down (tests that bring it back)."""
    global _broker_down_until
    _broker_down_until = 0.0
