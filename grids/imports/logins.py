"""Logins for the people of a heads import, when the importer asks for them.

The username is the person's mobile number and the first password a one-time password
(``core.passwords``) that must be changed at the first sign-in (``Person.
password_change_required``). It reaches its holder by SMS, queued in the import's
transaction and sent after it commits (``core.sms.sms_queue_many``: an import that fails
sends nothing), or it is shown once to the importer on the result of the import: it is
held in the report only, never written anywhere in plain text.

For each person of the file (the first row of each mobile number):

- a person who already has a login keeps it;
- a login named by the mobile number that belongs to nobody yet is linked to the person
  (an administrator made it by hand): never a second login;
- a login named by the mobile number that belongs to another person is a row error, and so
  is a landline (no SMS can reach it, and it is no mobile to sign in with);
- anybody else gets a new login.

Set-based like the rest of the import: one query reads the logins of the file's numbers,
one ``bulk_create`` writes the new ones, one ``UPDATE`` per kind links them to their people
(in chunks on SQLite). Hashing is the slow part, hence the cheap hasher for these random
passwords (about 0.3 ms each; the default hasher would take 0.3 s).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import OuterRef, Subquery, TextChoices
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.importing import BATCH, LOOKUP_CHUNK, chunks
from core.models import TextMessage
from core.passwords import one_time_password_hash, one_time_password_new
from core.requests import portal_url
from core.sms import sms_queue_many
from core.spreadsheets import CellError, ColumnMap
from grids.imports.sql import rows_any_of
from grids.models import Person
from grids.validators import MOBILE_RE


class LoginDelivery(TextChoices):
    """Whether the import creates logins, and how their one-time passwords are handed over."""

    NONE = "", gettext_lazy("No logins")
    SMS = "sms", gettext_lazy("Create logins: one-time password by SMS")
    SHOW = "show", gettext_lazy("Create logins: one-time passwords shown once after the import")


@dataclass(slots=True)
class OneTimePassword:
    """A new login's one-time password, for the importer to hand over (shown once)."""

    line: int
    name: str
    username: str
    password: str = field(repr=False)


@dataclass
class LoginPlan:
    # (line, phone, name) of each person who gets a new login.
    create: list[tuple[int, str, str]] = field(default_factory=list)
    # Mobile numbers whose existing login is linked to the person of that number.
    link: list[str] = field(default_factory=list)
    existing: int = 0  # people who already have a login


def logins_plan(
    rows, persons: dict[str, Person], cols: ColumnMap, errors: list[CellError]
) -> LoginPlan:
    """Who gets a new login and whose existing one is linked; the rows that cannot have one
    go into ``errors`` (see the module's docstring)."""
    plan = LoginPlan()
    first = {}
    for row in rows:
        if row.phone and row.name:
            first.setdefault(row.phone, row)
    wanted = [
        phone for phone in first if (person := persons.get(phone)) is None or person.user_id is None
    ]
    plan.existing = len(first) - len(wanted)
    User = get_user_model()
    found = User.objects.order_by().values("username", "person__pk", "person__name")
    logins = {v["username"]: v for v in rows_any_of(found, "username", sorted(wanted))}
    for phone in wanted:
        row = first[phone]

        def bad(message: str, line=row.line) -> None:
            errors.append(CellError(line, cols.label("phone"), message))

        if not MOBILE_RE.match(phone):
            bad(_("%(v)s is not a mobile number: a login needs one to sign in with") % {"v": phone})
        elif phone not in logins:
            plan.create.append((row.line, phone, row.name))
        elif logins[phone]["person__pk"] is None:
            plan.link.append(phone)
        else:
            bad(
                _("%(v)s is already the username of another person's login (%(name)s)")
                % {"v": phone, "name": logins[phone]["person__name"]}
            )
    return plan


def logins_write(plan: LoginPlan, *, delivery: str) -> list[OneTimePassword]:
    """Create and link the logins of ``plan`` (after the people are written) and queue the
    one-time passwords by SMS, or return them to be shown once (``delivery``)."""
    User = get_user_model()
    now = timezone.now()
    passwords = [
        OneTimePassword(line, name, phone, one_time_password_new())
        for line, phone, name in plan.create
    ]
    users = [
        User(username=p.username, password=one_time_password_hash(p.password), date_joined=now)
        for p in passwords
    ]
    User.objects.bulk_create(users, batch_size=BATCH)
    _link(plan.link, change_required=False)
    _link([p.username for p in passwords], change_required=True)
    if delivery == LoginDelivery.SMS:
        sms_queue_many(
            [(p.username, _sms_text(p)) for p in passwords], purpose=TextMessage.Purpose.SIGN_IN
        )
        return []
    return passwords


def _link(phones: list[str], *, change_required: bool) -> None:
    """Point each person of ``phones`` at the login named by their number."""
    User = get_user_model()
    login = User.objects.filter(username=OuterRef("phone")).values("pk")[:1]
    people = Person.objects.order_by()
    if connection.vendor == "postgresql":
        batches = [people.filter(phone__any=phones)] if phones else []
    else:
        batches = (people.filter(phone__in=chunk) for chunk in chunks(phones, LOOKUP_CHUNK))
    issued_at = timezone.now() if change_required else None
    for batch in batches:
        batch.update(
            user=Subquery(login),
            password_change_required=change_required,
            password_issued_at=issued_at,
        )


def _sms_text(password: OneTimePassword) -> str:
    # In the portal's language, whatever the importer reads the admin in.
    with translation.override(settings.LANGUAGE_CODE):
        return _(
            "【Grid Governance】%(name)s, your login to the grid governance portal: username "
            "%(username)s, one-time password %(password)s. Change it when you first sign in: "
            "%(url)s"
        ) % {
            "name": password.name,
            "username": password.username,
            "password": password.password,
            "url": portal_url(reverse("login")),
        }
