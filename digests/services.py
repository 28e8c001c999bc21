"""Building and delivering the digests. One function per action, keyword arguments only.

Building a period: the figures of every node of the run are computed in a fixed number of
queries (``figures``) and rendered; then, in one transaction, the missing digests are inserted
in bulk with ``ON CONFLICT DO NOTHING`` on (kind, node, period_start), and their delivery rows
with them.
So a run can die anywhere and be run again: an existing digest is kept as it is (only
``rebuild`` recomputes it), and a delivery row, once marked sent, is never sent again.
Sending is separate and goes through ``core.outbox`` like the notifications: each row is
claimed in its own short transaction, mailed outside any transaction and marked sent; a row
whose worker died between mailing and marking is sent again once its claim is stale, with
the same ``Message-ID`` (at least once).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _

from core.outbox import outbox_deliver, outbox_message_id, outbox_pending
from core.requests import portal_url
from grids.models import Area, Post
from grids.selectors import area_subtree_q
from issues.models import Level
from issues.rules import TITLES_AT

from .figures import (
    COMMUNITY,
    COMPUTE,
    DIGEST_LAYERS,
    DISTRICT,
    GRID,
    LAYER_KINDS,
    STREET,
    Forest,
    Node,
)
from .models import Digest, DigestDelivery
from .periods import Period, daily_hour, due_periods, period_of
from .rendering import mail_subject

log = logging.getLogger(__name__)
K = Digest.Kind

# Who gets each node's digest: the people in post on the node itself.
RECIPIENT_TITLES: dict[str, frozenset[str]] = {
    GRID: TITLES_AT[Level.GRID],
    COMMUNITY: TITLES_AT[Level.COMMUNITY],
    STREET: TITLES_AT[Level.STREET],
    DISTRICT: TITLES_AT[Level.COUNTY],
}
LAYER_OF_AREA_KIND = {kind: layer for layer, kinds in LAYER_KINDS.items() for kind in kinds}
BATCH = 100  # digests carry their rendered HTML: keep each INSERT a reasonable size
SEND_WINDOW = {K.DAILY: dt.timedelta(days=31), K.WEEKLY: dt.timedelta(weeks=8)}
SEND_WINDOW[K.MONTHLY] = dt.timedelta(days=93)


@dataclass
class BuildResult:
    created: int = 0
    kept: int = 0
    rebuilt: int = 0
    sent: int = 0

    def __iadd__(self, other: BuildResult) -> BuildResult:
        self.created += other.created
        self.kept += other.kept
        self.rebuilt += other.rebuilt
        self.sent += other.sent
        return self


def _check_kind(kind: str) -> None:
    if kind not in K.values:
        raise ValidationError({"kind": _("unknown digest kind “%(kind)s”") % {"kind": kind}})


def digests_build(
    *,
    kind: str,
    day: dt.date,
    node: Area | None = None,
    rebuild: bool = False,
    deliver: bool = True,
    now: dt.datetime | None = None,
) -> BuildResult:
    """Build the ``kind`` digests of the period holding ``day`` for every node that gets one
    (under ``node`` if given). Existing digests are kept as they are, or with ``rebuild``
    given fresh figures; deliveries are written only for digests created now (``deliver``
    False: none, the digests are read in the portal only). Nothing is sent here: see
    ``digests_deliver``."""
    _check_kind(kind)
    now = now or timezone.now()
    node = _current(node)
    forest = Forest.load(node)
    return _build_period(
        period_of(kind, day), forest, root=node, rebuild=rebuild, deliver=deliver, now=now
    )


def _current(node: Area | None) -> Area | None:
    """``node`` as stored now: a caller's instance may hold nested-set numbers from before
    the tree last changed."""
    return Area.objects.get(pk=node.pk) if node is not None else None


def _scoped(queryset, root: Area | None, prefix: str):
    return queryset.filter(area_subtree_q(root, prefix)) if root is not None else queryset


def _build_period(
    period: Period,
    forest: Forest,
    *,
    root: Area | None,
    rebuild: bool,
    deliver: bool,
    now: dt.datetime,
) -> BuildResult:
    nodes = forest.digest_nodes(period.kind)
    if not nodes:
        return BuildResult()
    of_period = _scoped(
        Digest.objects.filter(kind=period.kind, period_start=period.start), root, "node__"
    )
    existing = dict(of_period.values_list("node_id", "pk"))
    targets = [n for n in nodes if rebuild or n.pk not in existing]
    if not targets:
        return BuildResult(kept=len(existing))
    # Computed before the transaction: it holds the writes only (on SQLite, the one write lock
    # the web process waits on). Nothing is rendered here: a mail is rendered when it is sent
    # (``Digest.mail``), a page when it is read; 21,000 daily digests of a city rendered twice
    # (text and HTML) took 30 of the run's 72 s, and storing the HTML 12 s more.
    figures = COMPUTE[period.kind](forest, period, now=now, root=root)
    fresh, stale = [], []
    for node in targets:
        digest = _digest(period, node, figures[node.pk], now)
        if node.pk in existing:
            digest.pk = existing[node.pk]
            stale.append(digest)
        else:
            fresh.append(digest)
    with transaction.atomic():
        # A digest another worker inserted meanwhile is left as it is (ON CONFLICT DO
        # NOTHING); its delivery rows, written by both, are unique per recipient.
        Digest.objects.bulk_create(fresh, ignore_conflicts=True, batch_size=BATCH)
        if stale:
            Digest.objects.bulk_update(
                stale, ["period_end", "figures", "built_at"], batch_size=BATCH
            )
        if deliver and fresh:
            _deliveries_create(period, root, {d.node_id for d in fresh}, now)
    return BuildResult(created=len(fresh), kept=len(existing) - len(stale), rebuilt=len(stale))


def _digest(period: Period, node: Node, figures: dict, now: dt.datetime) -> Digest:
    return Digest(
        kind=period.kind,
        node=Area(pk=node.pk, code=node.code, name=node.name, kind=node.kind),
        period_start=period.start,
        period_end=period.end,
        figures=figures,
        created_at=now,
        built_at=now,
    )


def _deliveries_create(period: Period, root: Area | None, node_ids: set[int], now) -> int:
    """A delivery row for each person in post on a new digest's node who has an e-mail
    address. Two queries and the insert, whatever the number of digests."""
    digest_of = dict(
        _scoped(
            Digest.objects.filter(kind=period.kind, period_start=period.start), root, "node__"
        ).values_list("node_id", "pk")
    )
    layers = DIGEST_LAYERS[period.kind]
    posts = _scoped(
        Post.objects.filter(
            ended_on__isnull=True,
            area__kind__in=[k for layer in layers for k in LAYER_KINDS[layer]],
            title__in=[t for layer in layers for t in RECIPIENT_TITLES[layer]],
            person__user__is_active=True,
        ).exclude(person__user__email=""),
        root,
        "area__",
    ).values_list("area_id", "area__kind", "title", "person__user_id", "person__user__email")
    rows: dict[tuple[int, int], DigestDelivery] = {}
    for area_id, area_kind, title, user_id, email in posts:
        if area_id not in node_ids or area_id not in digest_of:
            continue
        if title not in RECIPIENT_TITLES[LAYER_OF_AREA_KIND[area_kind]]:
            continue
        key = (digest_of[area_id], user_id)
        rows[key] = DigestDelivery(
            digest_id=key[0], recipient_id=user_id, email=email, created_at=now
        )
    DigestDelivery.objects.bulk_create(rows.values(), ignore_conflicts=True, batch_size=500)
    return len(rows)


def digests_deliver(
    *,
    kind: str | None = None,
    period: Period | None = None,
    root: Area | None = None,
    since: dt.datetime | None = None,
) -> int:
    """Mail the unsent deliveries (of ``kind``, ``period``, under ``root``, written since
    ``since``) through ``core.outbox``: each row is claimed and committed, mailed outside
    any transaction and marked sent, so a row another worker holds is skipped and a mail that
    left is not sent again while its claim is fresh (at least once: see ``core.outbox``).
    A mail server error is recorded on the row, which the next run tries again (up to
    ``core.outbox.MAX_ATTEMPTS``), and never holds up the other rows. Returns how many
    were sent."""
    pending = outbox_pending(DigestDelivery.objects.all())
    if kind is not None:
        pending = pending.filter(digest__kind=kind)
    if period is not None:
        pending = pending.filter(digest__kind=period.kind, digest__period_start=period.start)
    if root is not None:
        pending = pending.filter(area_subtree_q(_current(root), "digest__node__"))
    if since is not None:
        pending = pending.filter(created_at__gte=since)
    last: dict[tuple, tuple[str, str]] = {}

    def send(row: DigestDelivery, connection=None) -> None:
        # A digest's deliveries are written together, so they come one after the other in pk
        # order: its mail is rendered once for all of its recipients.
        key = (row.digest_id, row.digest.built_at)
        if key in last:
            row.digest.__dict__["mail"] = last[key]  # Digest.mail, a cached_property
        else:
            last.clear()
            last[key] = row.digest.mail
        _delivery_mail(row, connection)

    return outbox_deliver(
        model=DigestDelivery,
        pks=list(pending.order_by("pk").values_list("pk", flat=True)),
        send=send,
        related=("digest", "digest__node"),
        batch=SEND_BATCH,
        session=get_connection,
    )


# Deliveries claimed, sent over one mail connection and marked together: the whole city's
# daily digest went out at two queries and one SMTP connection per mail before.
SEND_BATCH = 100


def _delivery_mail(row: DigestDelivery, connection=None) -> None:
    digest_mail(
        digest=row.digest,
        email=row.email,
        message_id=outbox_message_id(row, "digest"),
        connection=connection,
    )


def digest_mail(
    *, digest: Digest, email: str, message_id: str | None = None, connection=None
) -> None:
    """One digest to one address, as text with an HTML alternative, linking to its page.
    ``message_id``: the delivery's stable ``Message-ID`` (a fresh one without it);
    ``connection``: an open mail connection to send it over (a new one without it)."""
    link = portal_url(reverse("digests:digest_detail", args=[digest.pk]))
    label = _("Read it in the portal")
    message = EmailMultiAlternatives(
        subject=mail_subject(digest),
        body=f"{digest.text}\n\n{label}: {link}\n",
        to=[email],
        headers={"Message-ID": message_id} if message_id else None,
        connection=connection,
    )
    footer = format_html('<p><a href="{}">{}</a></p>', link, label)
    head, body_end, tail = digest.html.rpartition("</body>")
    html = f"{head}{footer}{body_end}{tail}" if body_end else digest.html + footer
    message.attach_alternative(html, "text/html")
    message.send(fail_silently=False)


def digests_run_due(*, kind: str, now: dt.datetime | None = None) -> BuildResult:
    """What beat runs: build every due period of ``kind`` not yet built — the latest one and,
    after a worker was down, the missed ones since the last stored digest (at most
    ``periods.CATCH_UP[kind]``) — then send what is unsent."""
    _check_kind(kind)
    now = now or timezone.now()
    local = timezone.localtime(now)
    last = Digest.objects.filter(kind=kind).aggregate(last=Max("period_start"))["last"]
    periods = due_periods(kind, local.date(), last, before_daily_hour=local.hour < daily_hour())
    forest = Forest.load()
    result = BuildResult()
    for period in periods:
        result += _build_period(period, forest, root=None, rebuild=False, deliver=True, now=now)
    result.sent = digests_deliver(kind=kind, since=now - SEND_WINDOW[kind])
    log.info(
        "%s digests %s to %s: %d created, %d kept, %d mailed",
        kind,
        periods[0].start,
        periods[-1].end,
        result.created,
        result.kept,
        result.sent,
    )
    return result


def digests_sweep(*, now: dt.datetime | None = None) -> int:
    """What beat runs every few minutes: mail the deliveries a run left unsent — a worker
    killed while it mailed leaves the rest of its batch claimed, and only a run after
    ``core.outbox.CLAIM_TIMEOUT`` may send them; without this the next run of their kind
    (the next day, week or month) would. Each kind within its ``SEND_WINDOW``. Returns how
    many were sent."""
    now = now or timezone.now()
    return sum(digests_deliver(kind=kind, since=now - SEND_WINDOW[kind]) for kind in K.values)
