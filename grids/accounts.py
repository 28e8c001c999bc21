"""The logins of people who hold posts: whether one must change its password first (a
one-time password given by the heads import, ``grids.imports.logins``), and the change
that lifts it."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from grids.models import Person


def one_time_password_expired(user) -> bool:
    """Whether ``user`` holds a one-time password given more than
    ``ONE_TIME_PASSWORD_DAYS`` ago and not yet replaced: it no longer signs in."""
    if user is None or not user.is_authenticated:
        return False
    given_before = timezone.now() - dt.timedelta(days=settings.ONE_TIME_PASSWORD_DAYS)
    return Person.objects.filter(
        user=user, password_change_required=True, password_issued_at__lt=given_before
    ).exists()


def password_change_required(user) -> bool:
    """Whether ``user`` signed in with a one-time password not yet replaced."""
    if user is None or not user.is_authenticated:
        return False
    return Person.objects.filter(user=user, password_change_required=True).exists()


@transaction.atomic
def password_set(*, user, password: str) -> None:
    """``user`` chose ``password`` (validated by the caller's form): stored with the default
    hasher, and the one-time password, if it was one, is no longer to be changed."""
    user.set_password(password)
    user.save(update_fields=["password"])
    Person.objects.filter(user=user, password_change_required=True).update(
        password_change_required=False, password_issued_at=None
    )


def login_for_mobile(phone: str):
    """The active login whose username is the mobile number ``phone`` (11 digits), or
    None: whom a password reset by SMS code is for."""
    from django.contrib.auth import get_user_model

    return get_user_model().objects.filter(username=phone, is_active=True).first()
