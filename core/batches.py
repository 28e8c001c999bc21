"""Set-based work on large tables in short statements."""

from __future__ import annotations

from django.db.models import QuerySet

DELETE_BATCH = 5000


def delete_in_batches(rows: QuerySet, *, order_by: str = "pk", size: int | None = None) -> int:
    """Delete ``rows`` ``size`` (default ``DELETE_BATCH``) at a time in ``order_by`` order,
    each batch its own short statement (a nightly prune never holds a long lock or a huge
    transaction). Returns how many rows were deleted (cascades included, as
    ``QuerySet.delete`` counts them)."""
    size = size or DELETE_BATCH
    deleted = 0
    while True:
        batch = list(rows.order_by(order_by).values_list("pk", flat=True)[:size])
        if not batch:
            return deleted
        deleted += rows.model.objects.filter(pk__in=batch).delete()[0]
