"""Subnet 13 (data universe) rules against values worked out by hand, edge cases, and bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest

from analytics.model.mechanisms import MechanismInputError
from analytics.model.mechanisms import data_universe_sn13 as sn13


def test_default_source_weights_sum_to_one() -> None:
    assert sn13.validate_source_weights(sn13.DEFAULT_SOURCE_WEIGHTS) == {
        "reddit": 0.58,
        "x": 0.37,
        "youtube": 0.05,
    }


def test_age_scale_factor_falls_from_one_to_half_at_thirty_days_then_zero() -> None:
    np.testing.assert_allclose(sn13.age_scale_factor([0, 360, 720, 721, 5000]), [1, 0.75, 0.5, 0, 0])


def test_scorable_bytes_discount_data_other_miners_also_hold() -> None:
    np.testing.assert_allclose(sn13.scorable_bytes([100, 40, 0], [100, 160, 0]), [100, 10, 0])
    np.testing.assert_allclose(sn13.scorable_bytes([100, 40]), [100, 40])


def test_label_scale_factor_uses_the_listed_value_case_blind_else_the_default() -> None:
    lsf = sn13.label_scale_factors(
        ["reddit", "Reddit", "x"], ["r/bitcoin", "r/Other", None], {("reddit", "r/Bitcoin"): 1.0}
    )
    np.testing.assert_allclose(lsf, [1.0, 0.3, 0.3])


def test_bucket_scores_and_scaled_score_by_hand() -> None:
    buckets = sn13.score_buckets(
        sources=["reddit", "x", "youtube"],
        label_scale=[1.0, 0.3, 0.3],
        age_hours=[0, 360, 720],
        bucket_scorable_bytes=[1000, 2000, 4000],
    )
    # reddit 0.58*1*1*1000 = 580; x 0.37*0.3*0.75*2000 = 166.5; youtube 0.05*0.3*0.5*4000 = 30
    np.testing.assert_allclose(buckets.score, [580, 166.5, 30])
    assert buckets.raw_score == pytest.approx(776.5)
    assert sn13.scaled_score(buckets.raw_score, 1.0) == pytest.approx(776.5)
    assert sn13.scaled_score(buckets.raw_score, 0.5) == pytest.approx(776.5 * 0.5**2.5)  # 137.267...
    assert sn13.scaled_score(buckets.raw_score, 0.5) == pytest.approx(137.2671, abs=1e-4)


def test_credibility_zero_scales_any_score_to_zero() -> None:
    assert sn13.scaled_score(1e9, 0.0) == 0.0
    np.testing.assert_array_equal(sn13.scaled_score(np.array([5.0, 7.0]), np.array([0.0, 1.0])), [0, 7])


def test_all_data_older_than_thirty_days_scores_zero() -> None:
    buckets = sn13.score_buckets(["reddit", "x"], [1.0, 1.0], [721, 24 * 90], [10**9, 10**9])
    assert buckets.raw_score == 0.0


def test_custom_source_weights_are_used() -> None:
    buckets = sn13.score_buckets(["a", "B"], [1, 1], [0, 0], [10, 10], source_weights={"A": 0.25, "b": 0.75})
    np.testing.assert_allclose(buckets.score, [2.5, 7.5])


def test_validation_shares_weight_by_bytes_and_nothing_validated_counts_as_zero() -> None:
    np.testing.assert_allclose(sn13.validation_shares([50, 0, 30], [100, 0, 30]), [0.5, 0, 1])


def test_credibility_path_is_the_ema_from_zero() -> None:
    path = sn13.credibility_path([1, 1, 0, 1])
    # 0 -> 0.15 -> 0.15 + 0.85*0.15 = 0.2775 -> 0.85*0.2775 = 0.235875 -> 0.15 + 0.85*0.235875 = 0.35049375
    np.testing.assert_allclose(path, [0, 0.15, 0.2775, 0.235875, 0.35049375])
    assert sn13.credibility_path([], start=0.4).tolist() == [0.4]


def test_credibility_zero_stays_zero_after_failures() -> None:
    assert sn13.credibility_path([0, 0, 0]).tolist() == [0, 0, 0, 0]


@pytest.mark.parametrize(
    ("credibility", "clean_needed"),
    [
        (0.0, 0),  # nothing to lose
        (0.5, 1),  # 0.5 -> 0.425 -> 0.51125
        (0.9, 6),  # 0.765 -> ... 0.8957 after 5, 0.9114 after 6
        (0.99, 18),
    ],
)
def test_clean_validations_to_recover_from_one_failure(credibility: float, clean_needed: int) -> None:
    n = sn13.recovery_validations(credibility)
    assert n == clean_needed
    after = sn13.credibility_path([0.0] + [1.0] * n, start=credibility)
    assert after[-1] >= credibility
    if n > 0:
        assert after[-2] < credibility


def test_full_credibility_is_never_regained_exactly_and_a_partial_failure_costs_less() -> None:
    assert sn13.recovery_validations(1.0) is None
    assert sn13.recovery_validations(0.9, failure_share=0.5) < sn13.recovery_validations(0.9)
    assert sn13.recovery_validations(0.9, failure_share=0.95) == 0
    assert sn13.recovery_validations(0.9, alpha=1.0) == 1


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: sn13.validate_source_weights({"reddit": 0.6, "x": 0.37, "youtube": 0.05}), "sum to 1.02"),
        (lambda: sn13.validate_source_weights({"reddit": 1.2, "x": -0.2}), "between 0 and 1"),
        (lambda: sn13.validate_source_weights({}), "at least one source"),
        (lambda: sn13.score_buckets(["reddit"], [1], [0], [-5]), "row 1 is -5; it cannot be negative"),
        (lambda: sn13.score_buckets(["tumblr"], [1], [0], [5]), "source 'tumblr' has no data-source weight"),
        (lambda: sn13.score_buckets(["reddit"], [1], [-3], [5]), "Age: row 1 is -3"),
        (lambda: sn13.score_buckets(["reddit", None], [1, 1], [0, 0], [5, 5]), "Row 2 has no source"),
        (lambda: sn13.score_buckets(["reddit", "x"], [1], [0], [5]), "Every bucket needs"),
        (lambda: sn13.scorable_bytes([-1]), "cannot be negative"),
        (lambda: sn13.scorable_bytes([10], [5]), "total includes this miner"),
        (lambda: sn13.label_scale_factors(["x"], ["#a"], {("x", "#a"): 6}), "between 0 and 5"),
        (lambda: sn13.label_scale_factors(["x"], ["#a"], {}, default=-0.1), "default label scale factor"),
        (lambda: sn13.validation_shares([11], [10]), "cannot exceed"),
        (lambda: sn13.credibility_path([0.5, 1.5]), "Evaluation 2: share 1.5 is above 1"),
        (lambda: sn13.credibility_path([1], alpha=0), "alpha"),
        (lambda: sn13.credibility_path([1], start=1.2), "starting credibility"),
        (lambda: sn13.recovery_validations(math.nan), "between 0 and 1"),
        (lambda: sn13.scaled_score(10, 1.5), "Credibility must be between 0 and 1"),
        (lambda: sn13.age_scale_factor([1], max_age_hours=0), "age limit"),
    ],
)
def test_bad_input_is_rejected_with_a_message_that_says_what_to_fix(call, message: str) -> None:
    with pytest.raises(MechanismInputError, match=message) as caught:
        call()
    assert isinstance(caught.value, ValueError)
