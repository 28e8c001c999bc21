"""The Wilson score interval's lower bound that the monthly ranking orders by."""

from __future__ import annotations

import pytest

from dashboard.figures import wilson_lower_bound


@pytest.mark.parametrize(
    "successes, trials, bound",
    [
        (1, 1, 0.2065),
        (99, 100, 0.9455),
        (2, 2, 0.3424),
        (5, 5, 0.5655),
        (4, 5, 0.3755),
        (50, 100, 0.4038),
        (0, 10, 0.0),
    ],
)
def test_known_values_at_95_percent(successes, trials, bound):
    assert wilson_lower_bound(successes, trials) == pytest.approx(bound, abs=5e-5)


def test_one_of_one_comes_after_ninety_nine_of_a_hundred():
    assert wilson_lower_bound(1, 1) < wilson_lower_bound(99, 100)
    # ... though its plain share is higher
    assert 1 / 1 > 99 / 100


def test_more_of_the_same_share_is_more_certain():
    bounds = [wilson_lower_bound(n, n) for n in (1, 5, 20, 100)]
    assert bounds == sorted(bounds) and len(set(bounds)) == 4
    assert wilson_lower_bound(8, 10) < wilson_lower_bound(80, 100) < 0.8


def test_a_wider_interval_gives_a_lower_bound():
    assert wilson_lower_bound(9, 10, z=2.58) < wilson_lower_bound(9, 10)


def test_nothing_to_divide_is_none():
    assert wilson_lower_bound(0, 0) is None


@pytest.mark.parametrize("successes, trials", [(2, 1), (-1, 3)])
def test_impossible_counts_are_refused(successes, trials):
    with pytest.raises(ValueError):
        wilson_lower_bound(successes, trials)
