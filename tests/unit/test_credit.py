"""The credit rule (docs/credit.md): penalties, windows, the rating adjustment, the clamp."""
from datetime import UTC, datetime, timedelta

import pytest

from dispatch.credit import credit_score, rating_adjustment

NOW = datetime(2026, 12, 1, 4, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def score(upheld=(), dropouts=(), rating_sum=0, rating_count=0):
    return credit_score(upheld_visits=upheld, dropouts=dropouts, rating_sum=rating_sum,
                        rating_count=rating_count, now=NOW).score


def test_a_clean_record_is_100():
    assert score() == 100


def test_the_worked_example_of_docs_credit():
    # two upheld visits (one 20 days ago, one 300 days ago), one drop-out 30 days ago, ten ratings averaging 3.6
    credit = credit_score(upheld_visits=[(11, NOW - 20 * DAY), (12, NOW - 300 * DAY)],
                          dropouts=[NOW - 30 * DAY], rating_sum=36, rating_count=10, now=NOW)
    assert (credit.upheld, credit.dropouts, credit.rating_adjustment) == (2, 1, -2)
    assert credit.score == 100 - 30 - 10 - 2 == 58


def test_each_upheld_visit_costs_15_within_a_year_only():
    assert score(upheld=[(1, NOW - DAY)]) == 85
    assert score(upheld=[(1, NOW - DAY), (2, NOW - 364 * DAY)]) == 70
    assert score(upheld=[(1, NOW - 366 * DAY)]) == 100


def test_two_upheld_complaints_about_one_visit_cost_once():
    assert score(upheld=[(7, NOW - DAY), (7, NOW - 2 * DAY)]) == 85


def test_each_dropout_costs_10_within_90_days_only():
    assert score(dropouts=[NOW - DAY]) == 90
    assert score(dropouts=[NOW - DAY, NOW - 89 * DAY]) == 80
    assert score(dropouts=[NOW - 91 * DAY]) == 100


def test_events_after_now_do_not_count():
    assert score(upheld=[(1, NOW + DAY)], dropouts=[NOW + DAY]) == 100


@pytest.mark.parametrize("rating_sum, count, adjust", [
    (10, 2, 0),  # fewer than three ratings: no adjustment
    (3, 3, -15),  # all one star
    (15, 3, 5),  # all five stars
    (12, 3, 0),  # the neutral four
    (13, 3, 2),  # 4.33 → +1.67 → 2
])
def test_the_rating_adjustment(rating_sum, count, adjust):
    assert rating_adjustment(rating_sum, count) == adjust


def test_good_ratings_soften_a_penalty_but_never_lift_above_100():
    assert score(dropouts=[NOW - DAY], rating_sum=15, rating_count=3) == 95
    assert score(rating_sum=15, rating_count=3) == 100


def test_the_score_never_falls_below_zero():
    assert score(upheld=[(i, NOW - DAY) for i in range(10)]) == 0
