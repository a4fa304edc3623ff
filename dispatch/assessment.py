"""Barthel index (ADL) scoring and the care level it gives."""
from __future__ import annotations

from dispatch.catalog import CareLevel

# Allowed scores per item, as in Mahoney & Barthel (1965), the 0–100 version.
BARTHEL_ITEMS: dict[str, tuple[int, ...]] = {
    "feeding": (0, 5, 10),
    "bathing": (0, 5),
    "grooming": (0, 5),
    "dressing": (0, 5, 10),
    "bowels": (0, 5, 10),
    "bladder": (0, 5, 10),
    "toilet": (0, 5, 10),
    "transfers": (0, 5, 10, 15),
    "mobility": (0, 5, 10, 15),
    "stairs": (0, 5, 10),
}


class InvalidAssessment(ValueError):
    """An item is missing, unknown, or has a score the scale does not allow."""

    def __init__(self, problems: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in problems.items()))
        self.problems = problems


def check_items(items: dict[str, int]) -> None:
    """Raise InvalidAssessment unless items holds exactly the ten items with allowed scores."""
    problems: dict[str, str] = {}
    for name, allowed in BARTHEL_ITEMS.items():
        if name not in items:
            problems[name] = "missing"
        elif items[name] not in allowed:
            problems[name] = f"must be one of {list(allowed)}"
    for name in items:
        if name not in BARTHEL_ITEMS:
            problems[name] = "unknown item"
    if problems:
        raise InvalidAssessment(problems)


def care_level_for(score: int) -> CareLevel:
    """100 independent, 61–99 mild, 41–60 moderate, ≤40 severe."""
    if score >= 100:
        return CareLevel.INDEPENDENT
    if score >= 61:
        return CareLevel.MILD
    if score >= 41:
        return CareLevel.MODERATE
    return CareLevel.SEVERE


def score_assessment(items: dict[str, int]) -> tuple[int, CareLevel]:
    """Validate the items and return the Barthel score with its care level."""
    check_items(items)
    score = sum(items.values())
    return score, care_level_for(score)
