"""Rate limits (Flask-Limiter): memory by default, Redis when LINLI_REDIS_URL is set (docs/limits.md)."""
from __future__ import annotations

import math
import time

from flask import Flask, Response, has_request_context, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits import RateLimitItem
from limits.storage import RedisStorage
from limits.strategies import SlidingWindowCounterRateLimiter
from limits.util import WindowStats

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
    storage = getattr(limiter, "_storage", None)  # none when limits are off
    if settings.rate_limits_enabled and isinstance(storage, RedisStorage):
        # Flask-Limiter 4 keeps its strategy in _limiter and has no option to pass one of our own.
        limiter._limiter = OneTripSlidingWindow(storage)


# limits' own acquire_sliding_window.lua (limits 5.8), shifting the windows first as its
# sliding_window.lua would when read after it, then the window as sliding_window.lua returns it.
_ACQUIRE_AND_READ = """
local limit = tonumber(ARGV[1])
local expiry = tonumber(ARGV[2]) * 1000
local amount = tonumber(ARGV[3])
local acquired = 0

local current_ttl = tonumber(redis.call('pttl', KEYS[2]))
if current_ttl > 0 and current_ttl < expiry then
    redis.call('rename', KEYS[2], KEYS[1])
    redis.call('set', KEYS[2], 0, 'PX', current_ttl + expiry)
end

if amount <= limit then
    local previous_count = tonumber(redis.call('get', KEYS[1])) or 0
    local previous_ttl = tonumber(redis.call('pttl', KEYS[1])) or 0
    local current_count = tonumber(redis.call('get', KEYS[2])) or 0
    current_ttl = tonumber(redis.call('pttl', KEYS[2])) or 0
    if previous_ttl <= 0 then previous_ttl = 0 end
    if current_ttl <= 0 then current_ttl = 0 end
    local weighted_count = math.floor(previous_count * previous_ttl / expiry) + current_count
    if (weighted_count + amount) <= limit then
        if redis.call('exists', KEYS[2]) == 1 then
            redis.call('incrby', KEYS[2], amount)
        else
            redis.call('set', KEYS[2], amount, 'PX', expiry * 2)
        end
        acquired = 1
    end
end

return {acquired, tonumber(redis.call('get', KEYS[1])) or 0, tonumber(redis.call('pttl', KEYS[1])),
        tonumber(redis.call('get', KEYS[2])) or 0, tonumber(redis.call('pttl', KEYS[2]))}
"""
_WINDOWS = "linli.limits.windows"  # request.environ: the windows this request's hits and tests read


class OneTripSlidingWindow(SlidingWindowCounterRateLimiter):
    """Sliding-window counters on Redis in one round trip a check, not two.

    Flask-Limiter hits (or, with deduct_when, tests) a limit, then reads its window again for the
    X-RateLimit-* headers: two Lua scripts on Redis for every booking. Here the hit's script also
    returns the window after the hit, as the second read would, and the headers are made from it.
    The counting is limits' own: the same keys, the same script, the same decision.
    """

    def __init__(self, storage: RedisStorage):
        super().__init__(storage)
        self._script = storage.get_connection().register_script(_ACQUIRE_AND_READ)

    def _keys(self, key: str) -> list[str]:
        storage = self.storage
        return [storage.prefixed_key(storage._previous_window_key(key)),
                storage.prefixed_key(storage._current_window_key(key))]

    @staticmethod
    def _keep(key: str, window: tuple[int, float, int, float]) -> None:
        if has_request_context():
            request.environ.setdefault(_WINDOWS, {})[key] = window

    def hit(self, item: RateLimitItem, *identifiers: str, cost: int = 1) -> bool:
        key = item.key_for(*identifiers)
        acquired, previous, previous_ttl, current, current_ttl = self._script(
            self._keys(key), [item.amount, item.get_expiry(), cost])
        self._keep(key, (int(previous), max(0, previous_ttl) / 1000, int(current), max(0, current_ttl) / 1000))
        return bool(acquired)

    def test(self, item: RateLimitItem, *identifiers: str, cost: int = 1) -> bool:
        key = item.key_for(*identifiers)
        window = self.storage.get_sliding_window(key, item.get_expiry())
        self._keep(key, window)
        previous, previous_expires_in, current, _ = window
        return self._weighted_count(item, previous, previous_expires_in, current) < item.amount - cost + 1

    def get_window_stats(self, item: RateLimitItem, *identifiers: str) -> WindowStats:
        key = item.key_for(*identifiers)
        window = request.environ.get(_WINDOWS, {}).get(key) if has_request_context() else None
        if window is None:
            return super().get_window_stats(item, *identifiers)
        return _stats(self, item, window)


def _stats(strategy: SlidingWindowCounterRateLimiter, item: RateLimitItem,
           window: tuple[int, float, int, float]) -> WindowStats:
    """limits' SlidingWindowCounterRateLimiter.get_window_stats, for a window already read."""
    previous_count, previous_expires_in, current_count, current_expires_in = window
    remaining = max(0, item.amount - math.floor(
        strategy._weighted_count(item, previous_count, previous_expires_in, current_count)))
    now = time.time()
    if not (previous_count or current_count):
        return WindowStats(now, remaining)
    expiry = item.get_expiry()
    previous_reset_in, current_reset_in = math.inf, math.inf
    if previous_count:
        previous_reset_in = previous_expires_in % (expiry / previous_count)
    if current_count:
        current_reset_in = current_expires_in % expiry
    return WindowStats(now + min(previous_reset_in, current_reset_in), remaining)


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
