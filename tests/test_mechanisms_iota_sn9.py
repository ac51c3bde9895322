"""Subnet 9 (IOTA) rules against values worked out by hand, edge cases, and input a user can get wrong."""

from __future__ import annotations

import numpy as np
import pytest

from analytics.model.mechanisms import MechanismInputError
from analytics.model.mechanisms import iota_sn9 as sn9


def test_effective_batch_count_sums_only_miners_at_or_above_b_min() -> None:
    result = sn9.merge_readiness([14, 10, 25, 9, 12], b_min=10, merge_fraction=0.8)
    assert result.effective_batch_count == 61  # 14 + 10 + 25 + 12; the 9 counts 0
    assert result.qualifies.tolist() == [True, True, True, False, True]
    assert result.shortfall.tolist() == [0, 0, 0, 1, 0]
    assert result.qualifying_miners == 4
    assert result.required_miners == 4  # 0.8 * 5
    assert result.merge_triggered
    # merge weight (1 + B) / sum over qualifying: 15, 11, 26, 0, 13 out of 65
    np.testing.assert_allclose(result.merge_weight, [15 / 65, 11 / 65, 26 / 65, 0, 13 / 65])


def test_no_miner_reaches_b_min_gives_zero_and_no_merge() -> None:
    result = sn9.merge_readiness([3, 9, 0], b_min=10, merge_fraction=0.8)
    assert result.effective_batch_count == 0
    assert result.qualifying_miners == 0
    assert result.required_miners == 3  # ceil(2.4)
    assert not result.merge_triggered
    assert result.merge_weight.tolist() == [0, 0, 0]
    assert result.shortfall.tolist() == [7, 1, 10]


def test_merge_waits_for_the_fraction_and_triggers_at_it() -> None:
    counts = [10] * 7 + [0] * 3
    assert sn9.merge_readiness(counts, b_min=10, merge_fraction=0.7).merge_triggered  # 7 of 10, not 8
    assert sn9.merge_readiness(counts, b_min=10, merge_fraction=0.7).required_miners == 7
    assert not sn9.merge_readiness(counts, b_min=10, merge_fraction=0.71).merge_triggered


def test_b_min_zero_lets_everyone_count() -> None:
    result = sn9.merge_readiness([0, 4], b_min=0)
    assert result.effective_batch_count == 4
    assert result.merge_triggered


def test_b_min_sweep_by_hand_and_against_one_call_per_value() -> None:
    sweep = sn9.b_min_sweep([14, 10, 25, 9, 12], merge_fraction=0.8)
    assert sweep.b_min.tolist() == [0, 9, 10, 11, 12, 13, 14, 15, 25, 26]
    # B_min 9: all 70; 10: 61; 11, 12: 51; 13, 14: 39; 15..25: 25; 26: 0
    assert sweep.effective_batch_count.tolist() == [70, 70, 61, 51, 51, 39, 39, 25, 25, 0]
    assert sweep.qualifying_miners.tolist() == [5, 5, 4, 3, 3, 2, 2, 1, 1, 0]
    assert sweep.merge_triggered.tolist() == [True, True, True] + [False] * 7
    values = np.arange(0, 30)
    swept = sn9.b_min_sweep([14, 10, 25, 9, 12], values, 0.6)
    for b, b_eff, triggered in zip(values, swept.effective_batch_count, swept.merge_triggered, strict=True):
        one = sn9.merge_readiness([14, 10, 25, 9, 12], b, 0.6)
        assert (one.effective_batch_count, one.merge_triggered) == (b_eff, triggered)


def test_step_decay_counts_fully_up_to_t_decay_inclusive_then_nothing() -> None:
    weights = sn9.step_decay_weight(np.array([-1, 0, 5, 10, 10.0001]), t_decay=10)
    assert weights.tolist() == [0, 1, 1, 1, 0]


def test_incentive_over_time_sums_scores_inside_the_window() -> None:
    scores = [[10, 0], [20, 5], [0, 30]]
    times = [0, 4, 5, 8, 9.5, 13, 14]
    got = sn9.incentive_over_time(scores, epoch_times=[0, 4, 8], times=times, t_decay=5)
    expected = [[10, 0], [30, 5], [30, 5], [20, 35], [0, 30], [0, 30], [0, 0]]
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(sn9.raw_incentive(scores, [0, 4, 8], at_time=8, t_decay=5), [20, 35])


def test_longer_t_decay_keeps_old_scores() -> None:
    scores = [[10, 0], [20, 5], [0, 30]]
    np.testing.assert_array_equal(sn9.raw_incentive(scores, [0, 4, 8], at_time=8, t_decay=8), [30, 35])
    np.testing.assert_array_equal(sn9.raw_incentive(scores, [0, 4, 8], at_time=8, t_decay=1), [0, 30])


def test_base_score_is_added_for_every_miner() -> None:
    np.testing.assert_array_equal(
        sn9.raw_incentive([[2, 0]], [0], at_time=100, t_decay=1, base_score=1), [1, 1]
    )


def test_shares_normalise_each_time_and_leave_empty_rows_at_zero() -> None:
    shares = sn9.incentive_shares(np.array([[20.0, 35.0], [0.0, 0.0]]))
    np.testing.assert_allclose(shares, [[20 / 55, 35 / 55], [0, 0]])


def test_epoch_scores_under_both_rules() -> None:
    counts = [[12, 9], [10, 30]]
    np.testing.assert_array_equal(sn9.epoch_scores(counts, b_min=10), [[12, 0], [10, 30]])
    np.testing.assert_array_equal(sn9.epoch_scores(counts, b_min=10, rule="per_sync"), [[1, 0], [1, 1]])


def test_pivot_timeline_orders_epochs_by_time_and_fills_missing_miners_with_zero() -> None:
    epochs, times, miners, matrix = sn9.pivot_timeline(
        epochs=[2, 1, 1], times=[6.0, 2.0, 2.0], miners=["b", "a", "b"], counts=[5, 3, 4]
    )
    assert epochs == [1, 2]
    assert times.tolist() == [2.0, 6.0]
    assert miners == ["b", "a"]
    np.testing.assert_array_equal(matrix, [[4, 3], [5, 0]])


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: sn9.merge_readiness([5, -2]), "row 2 is -2; it cannot be negative"),
        (lambda: sn9.merge_readiness([5, 2.5]), "whole numbers"),
        (lambda: sn9.merge_readiness([5, float("nan")]), "row 2 is empty"),
        (lambda: sn9.merge_readiness([]), "at least one miner"),
        (lambda: sn9.merge_readiness([5], b_min=-1), "B_min"),
        (lambda: sn9.merge_readiness([5], merge_fraction=0), "merge fraction"),
        (lambda: sn9.merge_readiness([5], merge_fraction=1.5), "at most 1"),
        (lambda: sn9.step_decay_weight(1.0, t_decay=0), "t_decay"),
        (lambda: sn9.incentive_over_time([[1, 2]], [0, 1], [0]), "one time per epoch"),
        (lambda: sn9.incentive_over_time([[1, -2]], [0], [0]), "cannot be negative"),
        (lambda: sn9.epoch_scores([[1]], rule="median"), "Unknown score rule"),
        (lambda: sn9.pivot_timeline([1, 1], [0, 0], ["a", "a"], [1, 2]), "repeats miner 'a'"),
        (lambda: sn9.pivot_timeline([1, 1], [0, 3], ["a", "b"], [1, 2]), "one epoch has one time"),
        (lambda: sn9.pivot_timeline([1, None], [0, 0], ["a", "b"], [1, 2]), "row 2 has no epoch"),
        (lambda: sn9.pivot_timeline([], [], [], []), "at least one row"),
    ],
)
def test_bad_input_is_rejected_with_a_message_that_says_what_to_fix(call, message: str) -> None:
    with pytest.raises(MechanismInputError, match=message) as caught:
        call()
    assert isinstance(caught.value, ValueError)
