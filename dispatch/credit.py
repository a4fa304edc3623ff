"""A provider's credit score: the written rule (docs/credit.md), pure.

    credit = clamp(100 − 15 × upheld complaints of the last 365 days
                       − 10 × drop-outs after accepting of the last 90 days
                       + rating adjustment, 0, 100)
    rating adjustment = round((average stars − 4) × 5), once there are at least 3 ratings; else 0

Complaints count by visit: two upheld complaints about one visit (the senior's and a son's) cost 15
once. The score is recomputed from these inputs whenever one of them changes, never adjusted in
place, so it is the same however the events interleave.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

BASE = 100
UPHELD_PENALTY = 15
UPHELD_WINDOW = timedelta(days=365)
DROPOUT_PENALTY = 10
DROPOUT_WINDOW = timedelta(days=90)
MIN_RATINGS = 3
NEUTRAL_STARS = 4.0
PER_STAR = 5


@dataclass(frozen=True)
class Credit:
    """The score and its parts, as a console explains it."""

    score: int
    upheld: int  # visits with an upheld complaint in the window
    dropouts: int  # drop-outs after accepting in the window
    rating_adjustment: int


def upheld_since(now: datetime) -> datetime:
    """The oldest resolution time of an upheld complaint that still counts."""
    return now - UPHELD_WINDOW


def dropouts_since(now: datetime) -> datetime:
    """The oldest drop-out that still counts."""
    return now - DROPOUT_WINDOW


def rating_adjustment(rating_sum: int, rating_count: int) -> int:
    """(average − 4) × 5, rounded; nothing until there are MIN_RATINGS ratings. From −15 (all one
    star) to +5 (all five stars)."""
    if rating_count < MIN_RATINGS:
        return 0
    return round((rating_sum / rating_count - NEUTRAL_STARS) * PER_STAR)


def credit_score(*, upheld_visits: Iterable[tuple[int, datetime]], dropouts: Iterable[datetime],
                 rating_sum: int, rating_count: int, now: datetime) -> Credit:
    """The score from upheld complaints (request id, resolved at), drop-outs (at) and the ratings.
    Events older than their window, or later than `now`, do not count."""
    upheld = len({rid for rid, at in upheld_visits if upheld_since(now) <= at <= now})
    dropped = sum(1 for at in dropouts if dropouts_since(now) <= at <= now)
    adjust = rating_adjustment(rating_sum, rating_count)
    raw = BASE - UPHELD_PENALTY * upheld - DROPOUT_PENALTY * dropped + adjust
    return Credit(score=max(0, min(BASE, raw)), upheld=upheld, dropouts=dropped, rating_adjustment=adjust)
