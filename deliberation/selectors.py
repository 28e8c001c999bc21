"""Reads of proposals, always through the reader's scope (a worker's grants, a resident's
household). ``get_proposal_for_user`` fetches and authorises in one step: 404 out of scope,
403 for a role that may not."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.http import Http404

from deliberation import rules
from deliberation.models import PaperBallot, Proposal, RollEntry
from grids.access import scope_for
from grids.selectors import area_lineages
from residents.models import Household

S = Proposal.State


def proposals_visible_to(user) -> QuerySet[Proposal]:
    """The proposals whose area lies in the user's scope, through the ancestor keys (one
    indexed equality per grant on a community or a grid)."""
    return Proposal.objects.filter(scope_for(user).keyed_q())


def _roll_count(**filters):
    rows = (
        RollEntry.objects.filter(proposal=OuterRef("pk"), **filters)
        .order_by()
        .values("proposal")
        .annotate(n=Count("*"))
        .values("n")[:1]
    )
    return Coalesce(Subquery(rows, output_field=IntegerField()), 0)


def with_turnout(proposals: QuerySet[Proposal]) -> QuerySet[Proposal]:
    """Each proposal with ``eligible_count`` and ``voted_count`` from its roll (zero before
    voting opens), inside the one query that lists them."""
    return proposals.annotate(eligible_count=_roll_count(), voted_count=_roll_count(voted=True))


def get_proposal_for_user(user, pk, action: str = rules.VIEW) -> Proposal:
    proposal = (
        proposals_visible_to(user).select_related("area").filter(pk=pk).first()
        if str(pk).isdigit()
        else None
    )
    if proposal is None:
        raise Http404
    if not rules.role_may(scope_for(user).role_for(proposal.area), action):
        raise PermissionDenied
    return proposal


def get_paper_for_user(user, proposal: Proposal, pk) -> PaperBallot:
    paper = (
        PaperBallot.objects.filter(proposal=proposal, pk=pk).select_related("proposal").first()
        if str(pk).isdigit()
        else None
    )
    if paper is None:
        raise Http404
    return paper


# --- the resident's side -----------------------------------------------------------------------


def resident_household(account) -> Household | None:
    """The household of a signed-in resident on the register, or None (a light account)."""
    resident = getattr(account, "resident", None)
    return resident.household if resident is not None else None


def proposals_for_household(household: Household | None) -> QuerySet[Proposal]:
    """The published proposals put to the household's place or any place above it (its unit,
    building, grid, compound, community). One query for the place's chain, then the list."""
    if household is None:
        return Proposal.objects.none()
    chain = area_lineages([household.area_id]).get(household.area_id) or []
    return Proposal.objects.filter(
        area_id__in=[a.pk for a in chain], state__in=sorted(rules.PUBLISHED_STATES)
    )


def get_proposal_for_household(household: Household | None, pk) -> Proposal:
    proposal = (
        proposals_for_household(household).select_related("area").filter(pk=pk).first()
        if str(pk).isdigit()
        else None
    )
    if proposal is None:
        raise Http404
    return proposal


def roll_entry_of(proposal: Proposal, household: Household | None) -> RollEntry | None:
    if household is None or proposal.state == S.DRAFT:
        return None
    return RollEntry.objects.filter(proposal=proposal, household=household).first()


# --- figures for the dashboard and the digests -------------------------------------------------


def proposal_figures_by_community(user) -> list[dict]:
    """Per community in the user's scope that has proposals: how many are open (under
    discussion or voting), closed, passed, and the turnout of the closed ones (households
    voted / eligible, from their frozen results). One query, whatever the number of
    communities or proposals."""
    rows = (
        proposals_visible_to(user)
        .exclude(state=S.DRAFT)
        .order_by()
        .values("community_id", "community__name")
        .annotate(
            open=Count("pk", filter=Q(state__in=sorted(rules.OPEN_STATES))),
            closed=Count("pk", filter=Q(state=S.CLOSED)),
            passed=Count("pk", filter=Q(outcome=Proposal.Outcome.PASSED)),
            eligible=Coalesce(Sum("result__eligible"), 0),
            voted=Coalesce(Sum("result__voted"), 0),
        )
        .order_by("community__name", "community_id")
    )
    figures = []
    for row in rows:
        eligible = row["eligible"]
        figures.append(
            {
                "community_id": row["community_id"],
                "community": row["community__name"],
                "open": row["open"],
                "closed": row["closed"],
                "passed": row["passed"],
                "eligible": eligible,
                "voted": row["voted"],
                "turnout_percent": round(100 * row["voted"] / eligible, 1) if eligible else None,
            }
        )
    return figures
