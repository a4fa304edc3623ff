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
