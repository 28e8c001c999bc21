"""The dashboard's engagement panel (群众参与): micro-wishes, proposals put to a household vote,
the regular meetings' rhythm and the points, over the viewer's scope or the node they look at.
Loaded by htmx after the page, so the dashboard's own figures keep their fixed queries; each
figure comes from its app's scoping selector, a fixed number of queries whatever the scope."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce

from councils.selectors import may_run_meetings, rhythm_counts
from deliberation import rules as deliberation_rules
from deliberation.models import Proposal
from deliberation.selectors import proposals_visible_to
from grids.access import scope_for
from grids.models import Area
from grids.rules import KIND_DEPTH, AreaKind
from grids.selectors import keyed_subtree_q
from points.permissions import VIEW as POINTS_VIEW
from points.permissions import user_may as points_user_may
from wishes.selectors import may_list as may_list_wishes
from wishes.selectors import wish_counts


@dataclass
class Engagement:
    wishes: dict | None
    wish_rows: list  # per community, or per grid where the scope is one community
    wish_rows_are_grids: bool
    proposals: dict | None
    rhythm: dict | None
    points: bool  # the points pages and the month's best heads are open to the user

    @property
    def empty(self) -> bool:
        return self.wishes is None and self.proposals is None and self.rhythm is None


def engagement_for(user, node: Area | None) -> Engagement:
    """What the panel shows; a part the user may not see is None (and its card left out)."""
    wishes, wish_rows, by_grid = None, [], False
    if may_list_wishes(user):
        # Rows one level below what is looked at: a community's grids, else communities
        # (a district's grids are not counted at all: thousands of rows nobody reads here).
        kinds = {node.kind} if node is not None else {g.kind for g in scope_for(user).top_grants()}
        by_grid = bool(kinds) and all(
            KIND_DEPTH[kind] >= KIND_DEPTH[AreaKind.COMMUNITY] for kind in kinds
        )
        counts = wish_counts(user=user, area=node, per_grid=by_grid)
        wishes = counts.total
        wish_rows = counts.grids if by_grid else counts.communities
    proposals = None
    if deliberation_rules.user_may(user, deliberation_rules.VIEW):
        rows = proposals_visible_to(user).exclude(state=Proposal.State.DRAFT)
        if node is not None:
            rows = rows.filter(keyed_subtree_q(node))
        proposals = rows.order_by().aggregate(
            open=Count("pk", filter=Q(state__in=sorted(deliberation_rules.OPEN_STATES))),
            closed=Count("pk", filter=Q(state=Proposal.State.CLOSED)),
            passed=Count("pk", filter=Q(outcome=Proposal.Outcome.PASSED)),
            eligible=Coalesce(Sum("result__eligible"), 0),
            voted=Coalesce(Sum("result__voted"), 0),
        )
        eligible = proposals["eligible"]
        proposals["turnout"] = round(100 * proposals["voted"] / eligible, 1) if eligible else None
    rhythm = rhythm_counts(user, within=node) if may_run_meetings(user) else None
    points = points_user_may(user, POINTS_VIEW)
    return Engagement(
        wishes=wishes,
        wish_rows=wish_rows,
        wish_rows_are_grids=by_grid,
        proposals=proposals,
        rhythm=rhythm,
        points=points,
    )
