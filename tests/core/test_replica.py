"""The replica router: only reads marked ``replica_reads`` go to the replica, never inside
a transaction, never a write or a migration; the dashboard's and the tree browser's reads
are marked."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.test import override_settings

from core import replica
from core.replica import ReplicaRouter, replica_reads
from issues.models import Ticket

ROUTER = ReplicaRouter()


@pytest.fixture
def with_replica(settings):
    databases = {**settings.DATABASES, "replica": {**settings.DATABASES["default"]}}
    with override_settings(DATABASES=databases):
        yield


def test_without_a_replica_every_read_is_the_primarys(db):
    with replica_reads():
        assert ROUTER.db_for_read(Ticket) is None


def test_marked_reads_go_to_the_replica_and_nothing_else(transactional_db, with_replica):
    assert ROUTER.db_for_read(Ticket) is None
    with replica_reads():
        assert ROUTER.db_for_read(Ticket) == "replica"
        assert ROUTER.db_for_write(Ticket) == "default"
        with transaction.atomic():
            assert ROUTER.db_for_read(Ticket) is None  # it reads where it writes
    assert ROUTER.db_for_read(Ticket) is None
    assert ROUTER.allow_migrate("default", "issues") is True
    assert ROUTER.allow_migrate("replica", "issues") is False


def test_the_dashboard_and_the_tree_browser_read_marked(login_as, world, monkeypatch):
    seen = []
    real = ReplicaRouter.db_for_read

    def recording(self, model, **hints):
        seen.append(replica._on_replica.get())
        return real(self, model, **hints)

    monkeypatch.setattr(ReplicaRouter, "db_for_read", recording)
    client = login_as("county")
    assert client.get("/").status_code == 200
    assert any(seen)
    seen.clear()
    assert client.get(f"/areas/{world.street.code}/").status_code == 200
    assert any(seen)
    seen.clear()
    assert client.get("/tickets/").status_code == 200
    assert not any(seen)  # the inbox reads the primary: a worker sees their own acts
