"""Wishes keep their ancestor keys right when the tree changes under them."""

from django.dispatch import receiver

from grids.selectors import MovedNodes, keyed_rows_follow_moves
from grids.signals import areas_moved
from wishes.models import Wish


@receiver(areas_moved, dispatch_uid="wishes.wishes_follow_moves")
def wishes_follow_moves(sender=None, *, moved: MovedNodes, **kwargs) -> int:
    """Nodes moved (inside the move's transaction): the wishes under them take the ancestor
    keys of their new place. Set-based."""
    return keyed_rows_follow_moves(Wish.objects.all(), moved)
