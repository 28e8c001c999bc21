"""One-time passwords: the first password of a login the portal creates for someone (the
heads import), sent to them by SMS or shown once to whoever created it.

A one-time password is random (``OTP_LENGTH`` characters of ``OTP_ALPHABET``, about 54 bits
from ``secrets``), must be changed at the first sign-in, and is hashed with
``OneTimePasswordHasher``: Django's PBKDF2 with ``OTP_ITERATIONS`` rounds instead of the
default hasher's million. Creating 10,000 logins in one import would otherwise hash for an
hour (about 0.35 s each on one core); a random secret of that length needs no slow hash to
resist guessing, the way a chosen password does. The first successful sign-in re-hashes it
with the default hasher (Django does that for any password stored with a hasher other than
the first of ``PASSWORD_HASHERS``), and the forced change replaces it soon after. Passwords
people choose always go through the default hasher.

``PASSWORD_HASHERS`` must list ``core.passwords.OneTimePasswordHasher`` (not first), or a
one-time password cannot be checked.
"""

from __future__ import annotations

import secrets

from django.contrib.auth.hashers import PBKDF2PasswordHasher, make_password

# No 0/O, 1/I/L: read off a phone screen and typed on another device.
OTP_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
OTP_LENGTH = 11
OTP_ITERATIONS = 1_000


class OneTimePasswordHasher(PBKDF2PasswordHasher):
    """PBKDF2-SHA256 with few rounds, for random one-time passwords only (see the module)."""

    algorithm = "pbkdf2_sha256_otp"
    iterations = OTP_ITERATIONS


def one_time_password_new() -> str:
    return "".join(secrets.choice(OTP_ALPHABET) for _ in range(OTP_LENGTH))


def one_time_password_hash(raw: str) -> str:
    """The stored form of a one-time password (``User.password``)."""
    return make_password(raw, hasher=OneTimePasswordHasher.algorithm)
