"""Resident accounts (居民端): signing in with a mobile number and a one-time SMS code, the
privacy notice accepted once.

A code is six digits from ``secrets``; only a keyed hash of it is stored (HMAC-SHA256 with
``SECRET_KEY``, keyed by the number as well), it expires after ``RESIDENT_CODE_TTL``
seconds, is used once, and dies after ``CODE_MAX_ATTEMPTS`` wrong tries. Only the newest
code of a number counts: asking again retires the one before. Sending and checking are
rate limited per number and per client address before anything is written or compared; the
caller answers ``RateLimited`` with a 429. Sending is counted from the codes themselves (every
code sent is a row), so its brake holds with Redis down, where the cache's counters of
``core.ratelimit`` fail open: each code is a text message someone pays for and a stranger's
phone that rings. Checking uses those counters; with them off a guesser still has only
``CODE_MAX_ATTEMPTS`` tries at each code, and only so many codes an hour.

The account is created on the first sign-in and linked to the register's resident with
that mobile number (the householder first if several share it, then the lowest id);
otherwise it is a light account holding only the number and a display name. Resident
sessions are not Django users: the pages keep the account's id in the session."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import math
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Count, F, Min
from django.utils import timezone
from django.utils.translation import gettext as _

from core.models import TextMessage
from core.ratelimit import RateLimited, rate_limit_take
from core.sms import sms_number_normalise, sms_queue
from residents.models import Resident, ResidentAccount, SignInCode

CODE_DIGITS = 6
CODE_MAX_ATTEMPTS = 5
# Asking for codes: one a minute and five an hour per number, twenty an hour per address
# (a whole compound may sit behind one carrier NAT).
SEND_GAP = 60
SEND_PER_PHONE_HOUR = 5
SEND_PER_ADDRESS_HOUR = 20
# Trying codes: a code dies after five wrong tries anyway; these stop a guesser who asks
# for code after code, or walks through many numbers from one address.
CHECK_WINDOW = 60 * 60
CHECK_PER_PHONE = 15
CHECK_PER_ADDRESS = 60
HOUR = 60 * 60

# The advisory locks of code sends (``_send_allowed``): the first of their two keys.
SEND_LOCK_SPACE = 71_530_003

# Bump when the privacy notice says something new: everyone accepts it again.
PRIVACY_VERSION = "2026-12"


def code_ttl() -> int:
    return settings.RESIDENT_CODE_TTL


def phone_normalise(raw: str) -> str:
    """The 11-digit mainland mobile number in ``raw`` (spaces, dashes, +86 allowed), or a
    ``ValidationError`` for the form."""
    try:
        return sms_number_normalise((raw or "").strip())[3:]
    except ValueError:
        raise ValidationError(
            {"phone": _("Type a mainland mobile number: 11 digits starting 13–19.")}
        ) from None


def _code_hash(phone: str, code: str) -> str:
    key = settings.SECRET_KEY.encode("utf-8")
    return hmac.new(key, f"sign-in:{phone}:{code}".encode(), hashlib.sha256).hexdigest()


def send_limit_message() -> str:
    return _(
        "Too many sign-in codes asked for: one a minute and %(count)s an hour per number. "
        "Wait a little and try again."
    ) % {"count": SEND_PER_PHONE_HOUR}


def check_limit_message() -> str:
    return _("Too many tries at a sign-in code. Wait a while and ask for a new code.")


@transaction.atomic
def sign_in_code_send(*, phone: str, ip: str | None = None, text: str = "") -> SignInCode:
    """Send a new sign-in code to ``phone`` by SMS (after commit). Raises
    ``ValidationError`` for a number that is not a mainland mobile and
    ``core.ratelimit.RateLimited`` when the number or the address asked too often.

    ``text`` is the message, with ``%(code)s`` and ``%(minutes)s`` (by default the resident
    pages' own): a worker resetting their password gets the same code, told what it is for."""
    phone = phone_normalise(phone)
    now = _send_allowed(phone, ip)
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    row = SignInCode.objects.create(
        phone=phone,
        code_hash=_code_hash(phone, code),
        created_at=now,
        expires_at=now + dt.timedelta(seconds=code_ttl()),
        ip=ip or None,
    )
    minutes = max(1, code_ttl() // 60)
    text = text or _(
        "【Grid Governance】Your sign-in code is %(code)s, valid for %(minutes)s minutes. "
        "If you did not ask for it, ignore this message."
    )
    text = text % {"code": code, "minutes": minutes}
    sms_queue(phone, text, purpose=TextMessage.Purpose.SIGN_IN)
    return row


def _send_allowed(phone: str, ip: str | None) -> dt.datetime:
    """Raise ``RateLimited`` unless another code may go to ``phone`` from ``ip`` now: the
    last one to the number at least ``SEND_GAP`` seconds ago, fewer than
    ``SEND_PER_PHONE_HOUR`` to it and ``SEND_PER_ADDRESS_HOUR`` from the address in the hour
    before. Read from the codes sent, in the caller's transaction; on PostgreSQL under a
    transaction lock per number and per address (taken in that order), so of parallel asks
    exactly the allowed number get through. A refusal writes nothing, and says how long
    until the oldest code counted leaves the hour. Returns the send's time."""
    keys = [f"sign-in-code:{phone}"] + ([f"sign-in-code-ip:{ip}"] if ip else [])
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for key in keys:
                # The two-key form, in a space of its own: the single-key locks of
                # grids.services (the tree's) never meet these.
                cursor.execute(
                    "SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [SEND_LOCK_SPACE, key]
                )
    # The time is read once the locks are held: a send that waited for a parallel one is
    # timed after it, never before the code it waited for.
    now = timezone.now()
    hour_ago = now - dt.timedelta(seconds=HOUR)
    sent = SignInCode.objects.filter(created_at__gt=hour_ago)

    def wait_for(first: dt.datetime, seconds: int) -> int:
        return max(1, math.ceil(seconds - (now - first).total_seconds()))

    last = sent.filter(phone=phone).order_by("-created_at").values_list("created_at", flat=True)
    last = last.first()
    if last is not None and (now - last).total_seconds() < SEND_GAP:
        raise RateLimited(wait_for(last, SEND_GAP))
    counted = [(sent.filter(phone=phone), SEND_PER_PHONE_HOUR)]
    if ip:
        counted.append((sent.filter(ip=ip), SEND_PER_ADDRESS_HOUR))
    for rows, limit in counted:
        window = rows.aggregate(n=Count("pk"), first=Min("created_at"))
        if window["n"] >= limit:
            raise RateLimited(wait_for(window["first"], HOUR))
    return now


def _wrong() -> ValidationError:
    return ValidationError(
        {"code": _("That code is wrong or no longer valid. Check it, or ask for a new one.")}
    )


def sign_in_code_check(*, phone: str, code: str, ip: str | None = None) -> ResidentAccount:
    """The account of ``phone`` if ``code`` is its newest sign-in code, unused, unexpired
    and not worn out by wrong tries; the code is used up. The account is created on the
    first sign-in. Raises ``ValidationError`` (a wrong try is counted, and kept even though
    the sign-in fails) and ``RateLimited``."""
    phone = phone_normalise(phone)
    return _code_use(phone, code, ip, then=lambda now: _account_for(phone, now=now))


def phone_code_check(*, phone: str, code: str, ip: str | None = None) -> None:
    """``sign_in_code_check`` without the resident account: that ``code`` proves ``phone``
    (a worker resetting their password). Raises the same errors; the code is used up."""
    _code_use(phone_normalise(phone), code, ip, then=lambda now: None)


def _code_use(phone: str, code: str, ip: str | None, *, then):
    """Check ``code`` against the newest code of ``phone`` and use it up; ``then(now)``
    runs under the code's lock when it is right, and its answer is returned."""
    limits = {f"phone:{phone}": CHECK_PER_PHONE}
    if ip:
        limits[f"ip:{ip}"] = CHECK_PER_ADDRESS
    rate_limit_take(action="sign-in-code-check", limits=limits, window=CHECK_WINDOW)
    code = (code or "").strip()
    with transaction.atomic():
        row = (
            SignInCode.objects.select_for_update()
            .filter(phone=phone)
            .order_by("-created_at", "-pk")
            .first()
        )
        now = timezone.now()
        usable = (
            row is not None
            and row.used_at is None
            and row.expires_at > now
            and row.attempts < CODE_MAX_ATTEMPTS
        )
        if not usable:
            raise _wrong()
        wrong = not (code.isdigit() and hmac.compare_digest(row.code_hash, _code_hash(phone, code)))
        if wrong:
            # Counted while the row is locked, so a parallel guess waiting for the lock reads
            # this try; the block commits it, and only then is the refusal raised.
            SignInCode.objects.filter(pk=row.pk).update(attempts=F("attempts") + 1)
        else:
            SignInCode.objects.filter(pk=row.pk).update(used_at=now)
            answer = then(now)
    if wrong:
        raise _wrong()
    return answer


SIGN_IN_CODE_RETENTION = dt.timedelta(days=1)


def sign_in_codes_prune(*, now: dt.datetime | None = None) -> int:
    """Delete the sign-in codes older than ``SIGN_IN_CODE_RETENTION`` (one day: the rate
    limits look back an hour at most); the number deleted."""
    now = now or timezone.now()
    deleted, _by_model = SignInCode.objects.filter(
        created_at__lt=now - SIGN_IN_CODE_RETENTION
    ).delete()
    return deleted


def register_match(phone: str) -> Resident | None:
    """The register's resident with this mobile number: the householder if several share
    it, then the lowest id."""
    return Resident.objects.filter(phone=phone).order_by("-is_householder", "pk").first()


def _account_for(phone: str, *, now: dt.datetime) -> ResidentAccount:
    account, _created = ResidentAccount.objects.select_for_update().get_or_create(phone=phone)
    if not account.active:
        raise ValidationError({"phone": _("This account is switched off. Ask your community.")})
    fields = {"last_sign_in_at": now}
    if account.resident_id is None:
        # Linked on the first sign-in, or later once the register has the number.
        resident = register_match(phone)
        if resident is not None:
            fields["resident"] = resident
    for name, value in fields.items():
        setattr(account, name, value)
    account.save(update_fields=list(fields))
    return account


def privacy_accepted(account: ResidentAccount) -> bool:
    return account.privacy_accepted_at is not None and account.privacy_version == PRIVACY_VERSION


@transaction.atomic
def account_privacy_accept(*, account: ResidentAccount, display_name: str = "") -> ResidentAccount:
    """The resident accepted the current privacy notice (and, for a light account, chose
    how they are called)."""
    display_name = " ".join((display_name or "").split())
    if len(display_name) > 50:
        raise ValidationError({"display_name": _("At most 50 characters.")})
    account.privacy_accepted_at = timezone.now()
    account.privacy_version = PRIVACY_VERSION
    fields = ["privacy_accepted_at", "privacy_version"]
    if display_name:
        account.display_name = display_name
        fields.append("display_name")
    account.save(update_fields=fields)
    return account
