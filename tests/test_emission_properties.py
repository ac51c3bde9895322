"""Properties of analytics/emission.py that must hold for every split, amount and subnet."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.model.emission import (
    SplitError,
    nearest_valid_split,
    parse_split,
    percent_to_split,
    split_amounts,
    subnet_pools,
    uid_payouts,
)

RAO = st.integers(min_value=0, max_value=2**63 - 1)
COUNT = st.integers(min_value=1, max_value=8)


@st.composite
def valid_splits(draw: st.DrawFn) -> tuple[int, tuple[int, ...]]:
    """A mechanism count and a valid split with 1..M values (zeros allowed)."""
    count = draw(COUNT)
    length = draw(st.integers(min_value=1, max_value=count))
    weights = draw(st.lists(st.integers(0, 1000), min_size=length, max_size=length).filter(any))
    return count, percent_to_split(weights)


@settings(max_examples=300, deadline=None)
@given(total=RAO, case=valid_splits())
def test_mechanism_amounts_sum_to_the_total(total: int, case: tuple[int, tuple[int, ...]]) -> None:
    count, split = case
    amounts = [int(a) for a in split_amounts(total, split, count)]
    assert sum(amounts) == total
    assert len(amounts) == count
    exact = [total * s // 65535 for s in split] + [0] * (count - len(split))
    assert amounts[1:] == exact[1:]
    # Mechanism 0 gets its own floor plus the remainder, which is less than one rao per floored term.
    assert 0 <= amounts[0] - exact[0] < len(split)


@settings(max_examples=300, deadline=None)
@given(total=RAO, count=COUNT, empty=st.sampled_from([None, "", [], "[]"]))
def test_an_unset_split_is_even(total: int, count: int, empty) -> None:
    amounts = [int(a) for a in split_amounts(total, parse_split(empty, count), count)]
    assert amounts[1:] == [total // count] * (count - 1)
    assert amounts[0] == total // count + total % count


@settings(max_examples=300, deadline=None)
@given(st.lists(st.decimals(min_value=0, max_value=10**6, places=3), min_size=1, max_size=8).filter(any))
def test_percent_conversion_sums_to_65535_and_stays_within_one_unit(percents) -> None:
    split = percent_to_split(percents)
    assert sum(split) == 65535
    assert parse_split(split, len(split)) == split
    total = sum(Fraction(p) for p in percents)
    for value, percent in zip(split, percents, strict=True):
        assert abs(value - Fraction(percent) * 65535 / total) < 1


@settings(max_examples=300, deadline=None)
@given(
    count=COUNT,
    values=st.lists(st.one_of(st.integers(-10, 200_000), st.text(max_size=4)), min_size=0, max_size=10),
)
def test_every_error_suggests_a_split_the_chain_accepts(count: int, values: list) -> None:
    suggestion = nearest_valid_split(values, count)
    assert parse_split(suggestion, count) == suggestion
    try:
        parse_split([str(v) for v in values], count)
    except SplitError as error:
        assert error.suggestion is not None
        assert parse_split(error.suggestion, count) == error.suggestion


@st.composite
def subnets(draw: st.DrawFn):
    count, split = draw(valid_splits())
    n = draw(st.integers(1, 24))
    u16 = st.integers(0, 65535)
    incentive = np.array(
        draw(st.lists(st.lists(u16, min_size=n, max_size=n), min_size=count, max_size=count))
    )
    dividends = np.array(
        draw(st.lists(st.lists(u16, min_size=n, max_size=n), min_size=count, max_size=count))
    )
    emission = draw(st.integers(0, 10**15))
    owner_cut = draw(st.sampled_from([0, 11796, 65535, draw(st.integers(0, 65535))]))
    return count, split, incentive, dividends, emission, owner_cut


@settings(max_examples=300, deadline=None)
@given(subnets())
def test_pools_add_up_and_payouts_fill_each_pool_within_flooring(case) -> None:
    count, split, incentive, dividends, emission, owner_cut = case
    pools = subnet_pools(emission, split, count, owner_cut=owner_cut)
    assert pools.owner + int(pools.mechanism.sum()) == emission
    assert (pools.miners + pools.validators).tolist() == pools.mechanism.tolist()
    assert int(pools.total_by_mechanism.sum()) == emission

    pay = uid_payouts(pools, incentive, dividends)
    for m in range(count):
        miners_paid, validators_paid = int(pay.miner[m].sum()), int(pay.validator[m].sum())
        paid_miners, paid_validators = np.count_nonzero(incentive[m]), np.count_nonzero(dividends[m])
        pool = int(pools.mechanism[m])
        if paid_miners and paid_validators:
            # Each UID's share is floored: the shortfall is under one rao per UID with a share.
            assert 0 <= int(pools.miners[m]) - miners_paid < paid_miners
            assert 0 <= int(pools.validators[m]) - validators_paid < paid_validators
        elif paid_miners:
            assert validators_paid == 0 and 0 <= pool - miners_paid < paid_miners
        elif paid_validators:
            assert miners_paid == 0 and 0 <= pool - validators_paid < paid_validators
        else:
            assert miners_paid == validators_paid == 0
        assert int(pay.unpaid[m]) == pool - miners_paid - validators_paid
    assert int(pay.total.sum() + pay.unpaid.sum()) == int(pools.mechanism.sum())


@settings(max_examples=200, deadline=None)
@given(total=RAO, case=valid_splits(), unset=st.booleans())
def test_the_engine_splits_emission_the_same_way(total: int, case, unset: bool) -> None:
    """analytics.model.yuma runs the mechanisms with its own split_emissions: both must follow the one rule."""
    yuma = pytest.importorskip("analytics.model.yuma")
    count, split = case
    chosen = None if unset else split
    assert yuma.split_emissions(total, count, chosen) == split_amounts(total, chosen, count).tolist()
