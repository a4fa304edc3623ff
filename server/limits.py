"""Rate limits (Flask-Limiter): memory by default, Redis when LINLI_REDIS_URL is set (docs/limits.md)."""
from __future__ import annotations

import math
import time

from flask import Flask, Response, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from server.errors import AppError

# Bookings and SOS count in sliding-window counters: two counters a key, within one hit of a moving
# window (just after a minute boundary the weighted count may admit one more). A moving window keeps
# every hit, and the memory storage rescans them all from a new timer thread every 10 ms: about 1 ms
# of CPU a booking in bench/booking.py.
limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=True,
                  strategy="sliding-window-counter")
# Sign-in limits hold in every 60-second span, not only on average: a moving window keeps each
# attempt's time. Logins are rare, so keeping them costs nothing that matters.
exact_limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=True,
                        strategy="moving-window")


def init_limits(app: Flask, settings) -> None:
    """Configure both limiters for app: on, off, memory or Redis (keys under the deployment's prefix)."""
    app.config.update(RATELIMIT_ENABLED=settings.rate_limits_enabled,
                      RATELIMIT_STORAGE_URI=settings.redis_url or "memory://",
                      RATELIMIT_HEADERS_ENABLED=True)
    if settings.redis_url:  # Redis keys start "<prefix>:" (limits' own default is "LIMITS:")
        app.config["RATELIMIT_STORAGE_OPTIONS"] = {"key_prefix": settings.ratelimit_prefix}
    limiter.init_app(app)
    exact_limiter.init_app(app)


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
    """Key SOS calls by the senior they are for and the person pressing: one caller's presses never
    use up another's (only calls that got through count: see counts_when_allowed)."""
    from server.auth import current_user

    body = request.get_json(silent=True)
    senior = body.get("senior_id") if isinstance(body, dict) else None
    try:
        caller = current_user().id
    except AppError:  # not signed in: the call fails with 401 and is never counted
        caller = f"anonymous@{get_remote_address()}"
    return f"sos-senior:{senior!r}:by:{caller}"


def counts_when_allowed(response: Response) -> bool:
    """deduct_when: count a call only when it got through sign-in, permission and validation
    (a 2xx that is not an Idempotency-Key replay), so nobody else's failures use up a limit."""
    return response.status_code < 400 and "Idempotent-Replayed" not in response.headers


def retry_after() -> int:
    """Seconds until the limit this request breached admits a call again (for Retry-After)."""
    resets = [lim.reset_at for each in (limiter, exact_limiter) for lim in each.current_limits if lim.breached]
    return max(1, math.ceil(max(resets) - time.time())) if resets else 60
