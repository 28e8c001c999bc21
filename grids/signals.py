"""What the area tree tells the apps above it (which it may not import).

``areas_moved`` is sent inside the transaction of every change of a node's parent — the
``area_move`` service and an import that re-parents rows — with ``moved``, the moved nodes
(their subtrees moved with them) as a ``grids.selectors.MovedNodes``, which reads them and
their new keys once for every receiver.
Receivers keep rows that copy a place's ancestors (``grids.rules.ANCESTOR_KEYS``) right,
set-based, in the same transaction.
"""

from django.dispatch import Signal

areas_moved = Signal()
