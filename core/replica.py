"""Reads that may go to a streaming replica (``DATABASE_REPLICA_URL``), and the router that
sends them there.

Only reads marked with ``replica_reads()`` go to the replica: the dashboards, the tree
browser's counts and the digests' figures — summaries that may lag the primary by the
replica's few seconds. Everything else reads the primary, above all what a worker reads
right after an act (the inbox, a problem's page, a form's choices): a replica that has not
replayed the act yet would show a problem as not yet handled. Writes always go to the
primary, and the router refuses to migrate the replica (PostgreSQL replays the primary's
schema). Without ``DATABASE_REPLICA_URL`` the marked reads read the primary too.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings

REPLICA = "replica"
_on_replica: ContextVar[bool] = ContextVar("replica_reads", default=False)


@contextmanager
def replica_reads():
    """Inside the block, this thread's (or task's) reads go to the replica, if there is
    one. Nested blocks and a transaction on the primary are respected: inside an atomic
    block the reads stay on the primary, with the writes they may lead to."""
    token = _on_replica.set(True)
    try:
        yield
    finally:
        _on_replica.reset(token)


def replica_alias() -> str | None:
    return REPLICA if REPLICA in settings.DATABASES else None


class ReplicaRouter:
    """``DATABASE_ROUTERS``: the marked reads to the replica, the rest to the primary."""

    def db_for_read(self, model, **hints):
        if not _on_replica.get() or replica_alias() is None:
            return None  # the default database
        from django.db import connections

        if connections["default"].in_atomic_block:
            return None  # a transaction sees its own writes: it reads where it writes
        return REPLICA

    def db_for_write(self, model, **hints):
        return "default"

    def allow_relation(self, obj1, obj2, **hints):
        return True  # one database, two copies of it

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == "default"
