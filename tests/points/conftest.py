"""The points tests' world: the personas of ``tests/conftest.py``, the ticket workflow's
``t`` and ``freeze`` (``tests/issues/conftest.py``), and helpers that read the ledger."""

import pytest
from django.db.models import Sum

from tests.issues.conftest import freeze, t  # noqa: F401  (fixtures shared with issues)


def ledger_sum(person) -> int:
    from points.models import PointEntry

    return PointEntry.objects.filter(person=person).aggregate(s=Sum("amount"))["s"] or 0


def balance_of(person) -> int:
    from points.models import PointBalance

    row = PointBalance.objects.filter(person=person).first()
    return row.balance if row else 0


def assert_ledger_sums_to_every_balance():
    """Every balance is its ledger's sum, and ``earned`` the sum of all but redemptions."""
    from points.models import PointBalance, PointEntry

    for row in PointBalance.objects.all():
        entries = PointEntry.objects.filter(person_id=row.person_id)
        total = entries.aggregate(s=Sum("amount"))["s"] or 0
        earned = entries.exclude(kind="redemption").aggregate(s=Sum("amount"))["s"] or 0
        assert (row.balance, row.earned) == (total, earned), row.person_id
        assert row.balance >= 0


@pytest.fixture
def resident_person(world):
    """The resident of U1 (莲心社区) as the person they earn points through."""
    from residents.services import resident_person_ensure

    return resident_person_ensure(resident=world.residents["U1"])
