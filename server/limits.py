"""Rate limits (Flask-Limiter): memory by default, Redis when LINLI_REDIS_URL is set."""
from __future__ import annotations

from flask import request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

# Sliding-window counters: two counters a key, within one hit of a moving window (just after a
# minute boundary the weighted count may admit one more). A moving window keeps every hit, and the
# memory storage rescans them all from a new timer thread every 10 ms: about 1 ms of CPU a booking
# in bench/booking.py.
limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=True,
                  strategy="sliding-window-counter")


def login_phone_key() -> str:
    """Key login attempts by the phone number tried, whatever address they come from."""
    body = request.get_json(silent=True)
    phone = body.get("phone") if isinstance(body, dict) else None
    return f"login-phone:{str(phone)[-11:]}" if phone else f"login-addr:{get_remote_address()}"


def user_key() -> str:
    """Key a limit by the signed-in user (bookings)."""
    from server.auth import current_user

    return f"user:{current_user().id}"


def sos_senior_key() -> str:
    """Key SOS calls by the senior they are for, whoever presses the button."""
    body = request.get_json(silent=True)
    senior = body.get("senior_id") if isinstance(body, dict) else None
    return f"sos-senior:{senior}" if isinstance(senior, int) else f"sos-addr:{get_remote_address()}"
