"""Password hashing, sign-in tokens and the CSRF token bound to a sign-in."""
from __future__ import annotations

import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()  # Argon2id with the library's current recommended cost.
# A hash of a random password, checked against when the phone is unknown, so a failed login
# costs the same time whether or not the account exists.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    """Argon2id hash of password."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when password matches; takes the same time for an unknown account."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def new_token() -> str:
    """A fresh bearer token (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """What the database keeps of a token: its SHA-256, so a leaked table signs nobody in."""
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_for(token: str, secret_key: str) -> str:
    """The CSRF token for a sign-in: an HMAC of it, so it cannot be forged or planted by a cookie."""
    return hmac.new(secret_key.encode(), b"csrf:" + token.encode(), hashlib.sha256).hexdigest()[:40]


def csrf_matches(token: str, secret_key: str, presented: str | None) -> bool:
    """Constant-time check of a presented CSRF token."""
    return bool(presented) and hmac.compare_digest(csrf_for(token, secret_key), presented)
