"""A digest's figures made readable: labels in the reader's language, times as datetimes,
the e-mail (text and HTML) and the chart data. The page and the e-mail share one partial per
kind, so they never disagree."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import formats, translation
from django.utils.translation import gettext as _

from core.requests import portal_url
from dashboard.figures import LEVEL_BANDS
from grids.selectors import COMMUNITY_KINDS
from issues.models import Level, Ticket

from .models import Digest
from .periods import midnight

K = Digest.Kind
TEMPLATES = {K.DAILY: "daily", K.WEEKLY: "weekly", K.MONTHLY: "monthly"}


def period_label(kind: str, start: dt.date, end: dt.date) -> str:
    if kind == K.DAILY:
        return formats.date_format(start, "DATE_FORMAT")
    if kind == K.MONTHLY:
        return formats.date_format(start, "YEAR_MONTH_FORMAT")
    return _("%(start)s to %(end)s") % {
        "start": formats.date_format(start, "DATE_FORMAT"),
        "end": formats.date_format(end, "DATE_FORMAT"),
    }


def digest_title(digest: Digest) -> str:
    return _("%(place)s · %(kind)s · %(period)s") % {
        "place": digest.node.name,
        "kind": digest.get_kind_display(),
        "period": period_label(digest.kind, digest.period_start, digest.period_end),
    }


def _moment(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


def _label(choices, value: str) -> str:
    return str(choices(value).label) if value in choices.values else "—"


def _ticket(item: dict) -> dict:
    return {
        **item,
        "state_label": _label(Ticket.State, item["state"]),
        "level_label": _label(Level, item["level"]),
        "deadline": _moment(item.get("deadline")),
    }


def _bands(stats: dict) -> list[dict]:
    return [
        {
            "key": band.key,
            "label": str(band.label),
            "detail": str(band.detail),
            "count": stats["levels"][band.key],
            "percent": stats["level_shares"][band.key],
        }
        for band in LEVEL_BANDS
    ]


def digest_context(digest: Digest) -> dict:
    """What the templates read: the figures, with labels and datetimes added."""
    f = digest.figures
    context = {
        "digest": digest,
        "title": digest_title(digest),
        "period": period_label(digest.kind, digest.period_start, digest.period_end),
        "f": f,
        "is_grid": digest.node.kind == "grid",
    }
    if digest.kind == K.DAILY:
        context["as_of"] = _moment(f.get("as_of"))
        context["tickets"] = [_ticket(t) for t in f.get("tickets", [])]
        # Built before the day ended: say until when it counts.
        day_end = midnight(digest.period_end + dt.timedelta(days=1))
        context["partial_day"] = context["as_of"] is not None and context["as_of"] < day_end
    elif digest.kind == K.WEEKLY:
        context["snapshot_at"] = _moment(f.get("snapshot_at"))
        for name in ("open_tickets", "rectification", "reopened", "unsatisfied_open"):
            context[name] = [_ticket(t) for t in f.get(name, [])]
            context[f"{name}_more"] = f.get(f"{name}_more", 0)
        context["inbox_url"] = portal_url(reverse("issues:inbox"))
        # A community's own digest: its rectification list grid by grid, no community column.
        context["is_community"] = digest.node.kind in COMMUNITY_KINDS
        context["show_community"] = not context["is_community"]
    else:
        context["as_of"] = _moment(f.get("as_of"))
        context["bands"] = _bands(f["totals"])
        ranking = f["ranking"]
        # Ranked in full; the rest (too few ratings) as a compact list; a digest stored
        # before the minimum existed has ``ranked`` missing: all of it is the ranking.
        context["ranked"] = [r for r in ranking if r.get("ranked") is not False]
        context["unranked"] = [r for r in ranking if r.get("ranked") is False]
        context["chart_left_out"] = len(ranking) - len(_charted(ranking))
    return context


def _charted(ranking: list[dict]) -> list[dict]:
    """The communities the solve-rate chart shows: those where something was reported."""
    return [row for row in ranking if row["intake"]]


def render_digest(digest: Digest) -> tuple[str, str]:
    """The e-mail's text and HTML, in the portal's default language."""
    with translation.override(settings.LANGUAGE_CODE):
        context = digest_context(digest)
        name = TEMPLATES[digest.kind]
        text = render_to_string(f"digests/text/{name}.txt", context)
        html = render_to_string("digests/email.html", {**context, "body": name})
    return text.strip() + "\n", html


def mail_subject(digest: Digest) -> str:
    with translation.override(settings.LANGUAGE_CODE):
        return digest_title(digest)


def chart_data(digest: Digest) -> dict:
    """The monthly charts: solve rate by community, and where problems were solved."""
    if digest.kind != K.MONTHLY:
        return {}
    ranking = _charted(digest.figures["ranking"])
    return {
        "rates": {
            "names": [row["name"] for row in ranking],
            "values": [row["solve_rate"] for row in ranking],
            "label": _("Solve rate (%)"),
        },
        "levels": {
            "items": [
                {"name": band["label"], "value": band["count"]}
                for band in _bands(digest.figures["totals"])
            ],
            "label": _("Solved at each level"),
        },
    }
