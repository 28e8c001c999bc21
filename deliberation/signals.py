"""Proposals keep their ancestor keys right when the tree changes under them: the scope that
sees a proposal, and its community's figures, follow a grid or street that moved."""

from django.dispatch import receiver

from deliberation.models import Proposal
from grids.selectors import MovedNodes, keyed_rows_follow_moves
from grids.signals import areas_moved


@receiver(areas_moved, dispatch_uid="deliberation.proposals_follow_moves")
def proposals_follow_moves(sender=None, *, moved: MovedNodes, **kwargs) -> int:
    """Nodes moved (inside the move's transaction): the proposals under them take the
    ancestor keys of their new place. Set-based."""
    return keyed_rows_follow_moves(Proposal.objects.all(), moved)
