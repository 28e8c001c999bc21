"""Wishes keep their ancestor keys right when the tree changes under them."""

from django.dispatch import receiver

from grids.models import Area
from grids.selectors import keyed_rows_follow_moves
from grids.signals import areas_moved
from wishes.models import Wish


@receiver(areas_moved, dispatch_uid="wishes.wishes_follow_moves")
def wishes_follow_moves(sender=None, *, area_ids, **kwargs) -> int:
    """Nodes moved (inside the move's transaction): the wishes under them take the ancestor
    keys of their new place. Set-based."""
    moved = list(Area.objects.filter(pk__in=list(area_ids)))
    return keyed_rows_follow_moves(Wish.objects.all(), moved) if moved else 0
