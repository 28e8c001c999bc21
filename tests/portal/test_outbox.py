"""The two outboxes (notifications, digest deliveries) have one table shape, ``OutboxRow``,
as they have one claim/send/mark function (``core.outbox.outbox_deliver``)."""

import pytest

from core.outbox import OutboxRow
from digests.models import DigestDelivery
from issues.models import Notification

OUTBOXES = [Notification, DigestDelivery]
SHAPE = ("created_at", "sent_at", "claimed_at", "attempts", "last_error")


def _definition(model, name):
    _name, _path, args, kwargs = model._meta.get_field(name).deconstruct()
    kwargs.pop("db_index", None)  # which columns are indexed is each table's own business
    return type(model._meta.get_field(name)), args, kwargs


@pytest.mark.parametrize("model", OUTBOXES, ids=lambda m: m.__name__)
def test_every_outbox_is_an_outbox_row(model):
    assert issubclass(model, OutboxRow) and OutboxRow._meta.abstract
    assert [f.name for f in OutboxRow._meta.get_fields()] == list(SHAPE)


@pytest.mark.parametrize("name", SHAPE)
def test_the_outbox_columns_are_defined_alike(name):
    shapes = {model.__name__: _definition(model, name) for model in OUTBOXES}
    assert shapes["Notification"] == shapes["DigestDelivery"] == _definition(OutboxRow, name)
    assert all(model._meta.get_field(name).column == name for model in OUTBOXES)
