"""Properties the mechanism rules must keep for any input, checked with Hypothesis."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.model.mechanisms import data_universe_sn13 as sn13
from analytics.model.mechanisms import iota_sn9 as sn9

counts = st.lists(st.integers(min_value=0, max_value=200), min_size=1, max_size=30)
unit = st.floats(min_value=0, max_value=1, allow_nan=False)


@given(counts, st.integers(0, 200), st.integers(0, 200), st.floats(0.01, 1))
def test_raising_b_min_never_raises_b_eff_or_the_qualifying_count(batch, b1, b2, fraction) -> None:
    low, high = sorted((b1, b2))
    at_low = sn9.merge_readiness(batch, low, fraction)
    at_high = sn9.merge_readiness(batch, high, fraction)
    assert at_high.effective_batch_count <= at_low.effective_batch_count <= sum(batch)
    assert at_high.qualifying_miners <= at_low.qualifying_miners
    assert at_low.merge_triggered or not at_high.merge_triggered
    if at_low.qualifying_miners:
        assert np.isclose(at_low.merge_weight.sum(), 1.0)
        assert (at_low.merge_weight[~at_low.qualifies] == 0).all()


@given(
    st.integers(1, 6).flatmap(
        lambda miners: st.lists(
            st.lists(st.integers(0, 50), min_size=miners, max_size=miners), min_size=1, max_size=12
        )
    ),
    st.floats(0, 50),
    st.floats(0.1, 20),
    st.floats(0.1, 20),
)
def test_incentive_matches_a_plain_loop_and_grows_with_t_decay(scores, now, d1, d2) -> None:
    times = [2.0 * n for n in range(len(scores))]
    short, long = sorted((d1, d2))
    got = sn9.raw_incentive(scores, times, now, short)
    expected = [
        sum(row[m] for row, t0 in zip(scores, times, strict=True) if 0 <= now - t0 <= short)
        for m in range(len(scores[0]))
    ]
    np.testing.assert_array_equal(got, expected)
    assert (sn9.raw_incentive(scores, times, now, long) >= got).all()


@given(st.lists(unit, max_size=60), st.floats(0.01, 1), unit)
def test_credibility_stays_between_zero_and_one(shares, alpha, start) -> None:
    path = sn13.credibility_path(shares, alpha, start)
    assert ((path >= 0) & (path <= 1 + 1e-12)).all()
    assert path[0] == start


@settings(max_examples=200)
@given(st.floats(0, 0.999), st.floats(0.01, 1), unit)
def test_recovery_count_is_the_first_count_that_gets_back(credibility, alpha, failure_share) -> None:
    n = sn13.recovery_validations(credibility, alpha, failure_share)
    assert n is not None
    path = sn13.credibility_path([failure_share] + [1.0] * n, alpha, credibility)
    assert path[-1] >= credibility
    if n > 0:
        assert path[-2] < credibility


@given(st.lists(st.floats(0, 2000), min_size=1, max_size=20), st.floats(1, 10))
def test_age_scale_factor_never_rises_with_age_and_score_is_linear_in_bytes(ages, scale) -> None:
    ordered = np.sort(np.array(ages))
    asf = sn13.age_scale_factor(ordered)
    assert (np.diff(asf) <= 1e-12).all()
    assert ((asf == 0) | ((asf >= 0.5) & (asf <= 1))).all()
    scored = sn13.score_buckets(["reddit"] * len(ages), [1.0] * len(ages), ages, [1000.0] * len(ages))
    doubled = sn13.score_buckets(
        ["reddit"] * len(ages), [1.0] * len(ages), ages, [1000.0 * scale] * len(ages)
    )
    assert np.isclose(doubled.raw_score, scale * scored.raw_score)
