"""One world for the whole matrix, built once per module in a transaction rolled back at the
end; each test runs in a savepoint inside it (pytest-django's ``db``)."""

import pytest
from django.db import transaction


@pytest.fixture(scope="module")
def mworld(django_db_setup, django_db_blocker, tmp_path_factory):
    from django.conf import settings

    from tests.permissions.world import MatrixWorld

    media = tmp_path_factory.mktemp("media")
    old_media = settings.MEDIA_ROOT
    settings.MEDIA_ROOT = str(media)
    with django_db_blocker.unblock(), transaction.atomic():
        world = MatrixWorld()
        yield world
        transaction.set_rollback(True)
    settings.MEDIA_ROOT = old_media
