"""Barthel index scoring and the care level it gives (dispatch.assessment; no app, no DB)."""
from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from dispatch.assessment import BARTHEL_ITEMS, InvalidAssessment, care_level_for, check_items, score_assessment
from dispatch.catalog import CareLevel

FULL = {name: max(allowed) for name, allowed in BARTHEL_ITEMS.items()}


def test_the_scale_has_ten_items_and_tops_out_at_100():
    assert len(BARTHEL_ITEMS) == 10
    assert sum(FULL.values()) == 100
    assert all(min(allowed) == 0 for allowed in BARTHEL_ITEMS.values())


@pytest.mark.parametrize("score, level", [
    (100, CareLevel.INDEPENDENT), (99, CareLevel.MILD), (61, CareLevel.MILD), (60, CareLevel.MODERATE),
    (41, CareLevel.MODERATE), (40, CareLevel.SEVERE), (0, CareLevel.SEVERE),
])
def test_care_level_boundaries(score, level):
    assert care_level_for(score) == level


def test_full_independence_scores_100():
    assert score_assessment(FULL) == (100, CareLevel.INDEPENDENT)


def test_a_bedridden_senior_scores_0():
    assert score_assessment({name: 0 for name in BARTHEL_ITEMS}) == (0, CareLevel.SEVERE)


@given(st.fixed_dictionaries({name: st.sampled_from(allowed) for name, allowed in BARTHEL_ITEMS.items()}))
def test_any_valid_items_score_their_sum_with_a_consistent_level(items):
    score, level = score_assessment(items)
    assert score == sum(items.values()) and 0 <= score <= 100 and score % 5 == 0
    assert level == care_level_for(score)


@pytest.mark.parametrize("change, problems", [
    ({"bathing": 10}, {"bathing"}),
    ({"transfers": 20, "feeding": 7}, {"transfers", "feeding"}),
    ({"stairs": -5}, {"stairs"}),
    ({"mobility": None}, {"mobility"}),
    ({"singing": 5}, {"singing"}),
])
def test_scores_off_the_scale_or_unknown_items_are_named(change, problems):
    with pytest.raises(InvalidAssessment) as caught:
        score_assessment({**FULL, **change})
    assert set(caught.value.problems) == problems


def test_missing_items_are_named():
    items = {k: v for k, v in FULL.items() if k not in ("toilet", "bladder")}
    with pytest.raises(InvalidAssessment) as caught:
        check_items(items)
    assert caught.value.problems == {"toilet": "missing", "bladder": "missing"}
    assert isinstance(caught.value, ValueError)
