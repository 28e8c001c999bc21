"""The outboxes (notification deliveries, text messages, digest deliveries) have one table
shape, ``OutboxRow``, as they have one claim/send/mark function (``core.outbox.outbox_deliver``).
The in-portal ``Notification`` is no outbox: its deliveries are."""

import pytest

from core.models import TextMessage
from core.outbox import OutboxRow
from digests.models import DigestDelivery
from issues.models import Notification, NotificationDelivery

OUTBOXES = [NotificationDelivery, TextMessage, DigestDelivery]
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
    assert all(shape == _definition(OutboxRow, name) for shape in shapes.values()), shapes
    assert all(model._meta.get_field(name).column == name for model in OUTBOXES)


def test_the_notification_list_is_not_an_outbox():
    """One outbox per message: the list item is read, not sent; only its deliveries are."""
    assert not issubclass(Notification, OutboxRow)
    assert not {f.name for f in Notification._meta.get_fields()} & set(SHAPE[1:])
