"""The Web Push (VAPID) key pair: generated on first use and kept in the instance folder."""
from __future__ import annotations

import base64
from pathlib import Path

from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from py_vapid import Vapid02


def load_or_create(instance_path: Path) -> Vapid02:
    """The instance's VAPID key, made and saved (PEM, 0600) the first time."""
    path = Path(instance_path) / "vapid_private.pem"
    if path.exists():
        return Vapid02.from_file(str(path))
    vapid = Vapid02()
    vapid.generate_keys()
    vapid.save_key(str(path))
    path.chmod(0o600)
    return vapid


def public_key_b64(vapid: Vapid02) -> str:
    """The application server key as browsers want it: base64url of the uncompressed point."""
    raw = vapid.public_key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def private_key_b64(vapid: Vapid02) -> str:
    """The private key as pywebpush's `vapid_private_key` takes it: base64url of the raw 32-byte scalar
    (it does not read PEM text)."""
    raw = vapid.private_key.private_numbers().private_value.to_bytes(32, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class VapidSigner:
    """The VAPID `Authorization` header per push service origin, signed once and reused while valid.

    A JWT lives `lifetime` seconds (at most 24 h by RFC 8292); a new one is signed when less than
    `renew_before` is left. The claims dict is built fresh for every signature: signing mutates it."""

    def __init__(self, vapid: Vapid02, subject: str, *, lifetime: int = 12 * 3600, renew_before: int = 3600,
                 clock=None):
        import time

        self._vapid = vapid
        self._subject = subject
        self._lifetime = lifetime
        self._renew_before = renew_before
        self._clock = clock or time.time
        self._cache: dict[str, tuple[float, str]] = {}

    def header(self, origin: str) -> str:
        """`vapid t=<jwt>,k=<public key>` for a push service origin (scheme://host[:port])."""
        now = self._clock()
        cached = self._cache.get(origin)
        if cached is not None and cached[0] - now > self._renew_before:
            return cached[1]
        exp = int(now) + self._lifetime
        value = self._vapid.sign({"aud": origin, "exp": exp, "sub": self._subject})["Authorization"]
        self._cache[origin] = (exp, value)
        return value
