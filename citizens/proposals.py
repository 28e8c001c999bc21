"""The resident pages of proposals (/r/proposals/): the proposals put to my household's
place, read, vote once, see my receipt code once, check a receipt. Thin views over
``deliberation.selectors`` (scoped to the resident's household) and ``deliberation.services``.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from citizens.session import resident_required
from core.ratelimit import RateLimited, rate_limit_take, too_many_requests
from core.requests import client_ip
from deliberation import selectors, services
from deliberation.files import attachment_response
from deliberation.forms import ReceiptForm, VoteForm
from deliberation.models import PaperBallot, Proposal

S = Proposal.State
DETAIL = "citizens/proposals/proposal.html"
RECEIPT_CHECKS = {"per_ip": 30}
HOUR = 60 * 60


def _household(request):
    return selectors.resident_household(request.resident)


@resident_required
@require_safe
def proposals(request):
    household = _household(request)
    rows = list(
        selectors.proposals_for_household(household)
        .select_related("area")
        .order_by("-voting_closes_at", "-pk")[:50]
    )
    return render(
        request,
        "citizens/proposals/list.html",
        {"proposals": rows, "on_register": household is not None},
    )


def _context(request, proposal: Proposal, **extra) -> dict:
    household = _household(request)
    entry = selectors.roll_entry_of(proposal, household)
    waiting_paper = (
        entry is not None
        and not entry.voted
        and PaperBallot.objects.filter(
            proposal=proposal, household=household, status=PaperBallot.Status.PENDING
        ).exists()
    )
    context = {
        "proposal": proposal,
        "attachments": proposal.attachments.all(),
        "entry": entry,
        "waiting_paper": waiting_paper,
        "may_vote": proposal.state == S.VOTING
        and entry is not None
        and not entry.voted
        and not waiting_paper,
        "result": getattr(proposal, "result", None) if proposal.state == S.CLOSED else None,
        "cost_shares": proposal.cost_shares.all() if proposal.outcome else [],
        "progress": proposal.progress.all() if proposal.outcome else [],
        "form": VoteForm(),
    }
    context.update(extra)
    return context


@resident_required
@require_safe
def proposal(request, pk):
    found = selectors.get_proposal_for_household(_household(request), pk)
    found = services.proposal_close_if_due(proposal=found)
    return render(request, DETAIL, _context(request, found))


@never_cache
@resident_required
@require_POST
def vote(request, pk):
    household = _household(request)
    found = selectors.get_proposal_for_household(household, pk)
    form = VoteForm(request.POST)
    if not form.is_valid():
        return render(request, DETAIL, _context(request, found, form=form), status=400)
    try:
        code = services.ballot_cast(
            proposal=found, household=household, choice=form.cleaned_data["choice"]
        )
    except ValidationError as exc:
        form.add_error(None, exc.messages)
        found.refresh_from_db()
        return render(request, DETAIL, _context(request, found, form=form), status=409)
    # The receipt code is on this answer only: stored nowhere but as its hash.
    response = render(
        request,
        "citizens/proposals/voted.html",
        {"proposal": found, "receipt": services.receipt_format(code)},
    )
    response["Cache-Control"] = "no-store"
    return response


@resident_required
@require_safe
def attachment(request, pk, attachment_pk):
    found = selectors.get_proposal_for_household(_household(request), pk)
    item = found.attachments.filter(pk=attachment_pk).first()
    if item is None:
        raise Http404
    return attachment_response(item)


@never_cache
@require_http_methods(["GET", "POST"])
def receipt(request):
    """Check a receipt code: whether the ballot it belongs to is counted, never how it was
    cast. Open to anyone holding a code (a household that voted on paper may have no
    account); a POST, so the code stays out of addresses and logs; limited per address."""
    form = ReceiptForm(request.POST or None)
    found = None
    if request.method == "POST" and form.is_valid():
        try:
            rate_limit_take(
                action="proposal-receipt",
                limits={f"ip:{client_ip(request)}": RECEIPT_CHECKS["per_ip"]},
                window=HOUR,
            )
        except RateLimited as exc:
            return too_many_requests(
                request,
                message=_("Too many receipt checks from here. Try again later."),
                retry_after=exc.retry_after,
                template="citizens/429.html",
            )
        found = services.receipt_check(code=form.cleaned_data["code"])
        if found is None:
            form.add_error("code", _("No counted ballot has this receipt code."))
    return render(request, "citizens/proposals/receipt.html", {"form": form, "found": found})
