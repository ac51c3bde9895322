"""analytics/emission.py: the split rules of subtensor's mechanism.rs and the coinbase cut, exactly."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from analytics.model.emission import (
    DEFAULT_OWNER_CUT,
    STORED_EMISSION_NOTE,
    SplitError,
    alpha_to_rao,
    apportion,
    compare_payouts,
    even_split,
    mechanism_weights,
    nearest_valid_split,
    owner_cut_amount,
    parse_split,
    percent_to_split,
    shares,
    split_amounts,
    split_to_percent,
    stored_emission_note,
    subnet_pools,
    uid_payouts,
)

ALPHA = 10**9


# ---------------------------------------------------------------------------------------------
# The seed's worked examples


def test_two_mechanism_example_is_20_80_percent() -> None:
    split = parse_split("13107,52428", 2)
    assert split == (13107, 52428)
    # 13107 · 5 = 65535, so these are exactly a fifth and four fifths.
    assert [Fraction(s, 65535) for s in split] == [Fraction(1, 5), Fraction(4, 5)]
    assert split_to_percent(split, 2) == pytest.approx([20.0, 80.0], rel=1e-12)
    assert percent_to_split([20, 80]) == (13107, 52428)


def test_three_mechanism_example_is_60_30_10_percent() -> None:
    assert percent_to_split([60, 30, 10]) == (39321, 19660, 6554)
    assert percent_to_split([0.6, 0.3, 0.1]) == (39321, 19660, 6554)  # any scale
    assert np.round(split_to_percent((39321, 19660, 6554), 3), 2).tolist() == [60.0, 30.0, 10.0]


def test_of_each_100_earned_the_41_percent_becomes_24_6_12_3_4_1() -> None:
    pools = subnet_pools(alpha_to_rao(100), "39321,19660,6554", 3)
    # Owner cut 11796/65535 ≈ 18 %, then the rest halves into miners' and validators' 41 %.
    assert round(pools.owner / ALPHA, 1) == 18.0
    assert round(pools.miners.sum() / ALPHA, 1) == 41.0
    assert round(pools.validators.sum() / ALPHA, 1) == 41.0
    assert np.round(pools.miners / ALPHA, 1).tolist() == [24.6, 12.3, 4.1]
    assert np.round(pools.validators / ALPHA, 1).tolist() == [24.6, 12.3, 4.1]
    assert np.round(pools.owner_by_mechanism / ALPHA, 1).tolist() == [10.8, 5.4, 1.8]
    assert np.round(pools.total_by_mechanism / ALPHA, 1).tolist() == [60.0, 30.0, 10.0]


def test_worked_example_amounts_are_exact_rao() -> None:
    pools = subnet_pools(100 * ALPHA, (39321, 19660, 6554), 3)
    # cut bits = floor(11796 · 2^32 / 65535) = 11796 · 65537 = 773_074_452 (the fraction 0.18 drops);
    # owner = floor(1e11 · 773_074_452 / 2^32) = floor(17_999_542_225.6).
    assert pools.owner == 17_999_542_225
    assert pools.epoch_emission == 82_000_457_775
    e = pools.epoch_emission
    floors = [e * s // 65535 for s in (39321, 19660, 6554)]
    assert floors[0] == e * 3 // 5 == 49_200_274_665
    remainder = e - sum(floors)
    assert remainder == 1
    assert pools.mechanism.tolist() == [floors[0] + 1, floors[1], floors[2]]
    # Validators take the odd rao of each mechanism's halving.
    assert pools.miners.tolist() == [int(x) // 2 for x in pools.mechanism]
    assert (pools.miners + pools.validators).tolist() == pools.mechanism.tolist()
    assert int(pools.owner_by_mechanism.sum()) == pools.owner
    assert int(pools.total_by_mechanism.sum()) == 100 * ALPHA


# ---------------------------------------------------------------------------------------------
# split_emissions, vectors V14


@pytest.mark.parametrize(
    ("total", "split", "count", "expected"),
    [
        (25, None, 5, [5, 5, 5, 5, 5]),
        (10, None, 4, [4, 2, 2, 2]),
        (19, (3450, 6899, 10348, 17247, 27594), 5, [1, 2, 3, 5, 8]),
        (10**9, (16383, 49152), 2, [249_988_556, 750_011_444]),
        (10**9, (65535,), 3, [10**9, 0, 0]),  # a shorter split leaves the other mechanisms empty
        (7, (32768, 32767), 2, [4, 3]),
        (0, (13107, 52428), 2, [0, 0]),
        (5, None, 1, [5]),
    ],
)
def test_split_amounts_match_the_chain(total: int, split, count: int, expected: list[int]) -> None:
    amounts = split_amounts(total, split, count)
    assert amounts.dtype == np.int64
    assert amounts.tolist() == expected


def test_split_amounts_are_exact_for_large_rao() -> None:
    total = 2**62 + 12345  # float64 would lose the low bits
    amounts = split_amounts(total, (1, 65534), 2)
    assert int(amounts[1]) == total * 65534 // 65535
    assert int(amounts.sum()) == total


def test_split_amounts_reject_fractional_or_negative_totals() -> None:
    for bad in (1.5, -1, True):
        with pytest.raises(ValueError):
            split_amounts(bad, None, 2)


def test_mechanism_weights_are_e_m_over_e() -> None:
    pools = subnet_pools(10**9, (16383, 49152), 2, owner_cut=0)
    assert mechanism_weights(pools).tolist() == [0.249988556, 0.750011444]
    empty = subnet_pools(0, (16383, 49152), 2)
    assert mechanism_weights(empty).tolist() == [1.0, 0.0]


# ---------------------------------------------------------------------------------------------
# Validation


@pytest.mark.parametrize("raw", [None, "", "  ", "[]", [], ()])
def test_absent_or_empty_split_is_even(raw) -> None:
    assert parse_split(raw, 3) is None
    assert shares(parse_split(raw, 3), 3).tolist() == pytest.approx([1 / 3] * 3)


def test_split_text_forms() -> None:
    assert parse_split("[13107, 52428]", 2) == (13107, 52428)
    assert parse_split("13107 52428", 2) == (13107, 52428)
    assert parse_split([65535], 4) == (65535,)
    assert parse_split(np.array([13107, 52428], dtype=np.uint16), 2) == (13107, 52428)


def test_sum_must_be_exactly_65535() -> None:
    with pytest.raises(SplitError) as info:
        parse_split("39321,19660,6553", 3)
    assert "sum to 65534" in str(info.value)
    assert "off by -1" in str(info.value)
    assert sum(info.value.suggestion) == 65535
    assert "nearest valid split: " in str(info.value)


def test_percent_typed_as_u16_suggests_the_converted_vector() -> None:
    with pytest.raises(SplitError) as info:
        parse_split("60,30,10", 3)
    assert "percentages" in str(info.value)
    assert info.value.suggestion == (39321, 19660, 6554)
    assert str(info.value).endswith("nearest valid split: 39321,19660,6554")


def test_more_values_than_mechanisms() -> None:
    with pytest.raises(SplitError) as info:
        parse_split("13107,52428,0", 2)
    assert "3 values for 2 mechanisms" in str(info.value)
    assert info.value.suggestion == (13107, 52428)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("70000,1", "outside the u16 range"),
        ("-1,65536", "outside the u16 range"),
        ("1.5,65533.5", "not a whole number"),
        ("abc", "not a whole number"),
        ("nan,1", "not a whole number"),
    ],
)
def test_values_must_be_u16(raw: str, message: str) -> None:
    with pytest.raises(SplitError) as info:
        parse_split(raw, 2)
    assert message in str(info.value)
    assert parse_split(info.value.suggestion, 2) == info.value.suggestion


@pytest.mark.parametrize("count", [0, -1, 256, 1.5])
def test_mechanism_count_must_be_sane(count) -> None:
    with pytest.raises(SplitError, match="mechanism count"):
        parse_split(None, count)


def test_nearest_valid_split_keeps_proportions() -> None:
    assert nearest_valid_split([1, 1], 2) == (32768, 32767)
    assert nearest_valid_split([0, 0], 2) == (32768, 32767)
    assert nearest_valid_split([65535, 65535, 65535], 2) == (32768, 32767)
    assert nearest_valid_split([100, 0, 0], 3) == (65535, 0, 0)


# ---------------------------------------------------------------------------------------------
# Percent -> u16 rounding rule


def test_rounding_ties_go_to_the_smaller_share_then_the_lower_mechanism() -> None:
    # 60/30/10: quotas 39321, 19660.5, 6553.5; the tie goes to the 10 % mechanism.
    assert percent_to_split([60, 30, 10]) == (39321, 19660, 6554)
    assert percent_to_split([10, 30, 60]) == (6554, 19660, 39321)
    # Equal quotas: lower id first, as the chain credits its own remainder to mechanism 0.
    assert percent_to_split([50, 50]) == (32768, 32767)
    assert even_split(4) == (16384, 16384, 16384, 16383)
    assert even_split(3) == (21845, 21845, 21845)


def test_rounding_gives_units_to_the_largest_remainders() -> None:
    # quotas: 21823.155, 21823.155, 21888.69 -> floors sum 65534; largest remainder 0.69 gets the unit.
    assert percent_to_split(["33.3", "33.3", "33.4"]) == (21823, 21823, 21889)
    assert percent_to_split([100]) == (65535,)
    assert percent_to_split([1, 0]) == (65535, 0)


def test_percent_input_errors() -> None:
    with pytest.raises(SplitError, match="all values are zero"):
        percent_to_split([0, 0])
    with pytest.raises(SplitError, match="negative"):
        percent_to_split([110, -10])
    with pytest.raises(SplitError, match="not a number"):
        percent_to_split(["x", 1])
    with pytest.raises(SplitError, match="not a number"):
        percent_to_split([float("nan"), 1])
    with pytest.raises(SplitError, match="no values"):
        apportion([])


# ---------------------------------------------------------------------------------------------
# Owner cut and miners / validators


def test_owner_cut_is_the_fixed_point_product() -> None:
    assert DEFAULT_OWNER_CUT == 11796
    exact = 100 * ALPHA * 11796 // 65535
    assert exact - owner_cut_amount(100 * ALPHA) == 4  # U96F32 truncation of 11796/65535
    assert owner_cut_amount(100 * ALPHA, 0) == 0
    assert owner_cut_amount(100 * ALPHA, 65535) == 100 * ALPHA  # 65535/65535 is exactly 1
    with pytest.raises(ValueError, match="u16"):
        owner_cut_amount(100, 70000)


def test_parameters_are_not_buried() -> None:
    pools = subnet_pools(90, None, 1, owner_cut=0, miner_fraction=Fraction(1, 3))
    assert (pools.owner, pools.miners.tolist(), pools.validators.tolist()) == (0, [30], [60])
    pools = subnet_pools(1000, None, 2, owner_cut=0, miner_fraction="0.25")
    assert pools.miners.tolist() == [125, 125]
    with pytest.raises(ValueError, match="between 0 and 1"):
        subnet_pools(1000, None, 2, miner_fraction=1.5)


def test_subnet_pools_validate_the_split() -> None:
    with pytest.raises(SplitError):
        subnet_pools(1000, "1,2", 2)


def test_alpha_to_rao() -> None:
    assert alpha_to_rao("100") == 100 * ALPHA
    assert alpha_to_rao("0.000000001") == 1
    assert alpha_to_rao(1.5) == 1_500_000_000
    for bad in ("-1", "nan", "inf", "1e-10", "x"):
        with pytest.raises(ValueError):
            alpha_to_rao(bad)


def test_stored_emission_note_only_when_several_mechanisms() -> None:
    assert stored_emission_note(1) is None
    assert stored_emission_note(2) == STORED_EMISSION_NOTE
    assert "not the payout" in STORED_EMISSION_NOTE


# ---------------------------------------------------------------------------------------------
# Per-UID payouts


def test_uid_payouts_follow_incentive_and_dividends() -> None:
    pools = subnet_pools(1000, (13107, 52428), 2, owner_cut=0)  # E_m = 200, 800
    incentive = [[0, 65535, 0], [0, 16384, 49151]]
    dividends = [65535, 0, 0]  # one validator, shared by both mechanisms
    pay = uid_payouts(pools, incentive, dividends)
    assert pay.miner.tolist() == [[0, 100, 0], [0, 100, 299]]  # floor(400·16384/65535) = 100
    assert pay.validator.tolist() == [[100, 0, 0], [400, 0, 0]]
    assert pay.unpaid.tolist() == [0, 1]
    assert pay.total.tolist() == [500, 200, 299]
    assert pay.notes == ()


def test_uid_payouts_fallbacks_as_in_the_epoch() -> None:
    pools = subnet_pools(400, None, 4, owner_cut=0)  # 100 per mechanism
    incentive = [[0, 0], [0, 0], [0, 65535], [0, 0]]
    dividends = [[65535, 0], [0, 0], [0, 0], [0, 0]]
    pay = uid_payouts(pools, incentive, dividends)
    assert pay.by_mechanism.tolist() == [[100, 0], [0, 0], [0, 100], [0, 0]]
    assert pay.unpaid.tolist() == [0, 100, 0, 100]
    assert len(pay.notes) == 4
    assert "validators receive the whole mechanism" in pay.notes[0]
    assert "nothing can be paid" in pay.notes[1]
    with_stake = uid_payouts(pools, incentive, dividends, stake=np.array([1, 3]))
    assert with_stake.by_mechanism[1].tolist() == [25, 75]
    assert "paid by stake" in with_stake.notes[1]


@pytest.mark.parametrize(
    ("incentive", "dividends", "message"),
    [
        ([[1, 2]], [1, 2], "one row per mechanism"),
        ([[1, 2], [1, 2]], [1, 2, 3], "expected 2"),
        ([[1, 70000], [1, 2]], [1, 2], "u16"),
        ([[1, np.nan], [1, 2]], [1, 2], "NaN"),
        ([[1, 0.5], [1, 2]], [1, 2], "whole"),
        ([["a", "b"], [1, 2]], [1, 2], "numeric"),
    ],
)
def test_uid_payouts_reject_bad_arrays(incentive, dividends, message: str) -> None:
    pools = subnet_pools(1000, None, 2)
    with pytest.raises(ValueError, match=message):
        uid_payouts(pools, incentive, dividends)


def test_compare_payouts_winners_and_losers() -> None:
    incentive = [[65535, 0, 0, 0], [0, 65535, 0, 0]]
    dividends = [0, 0, 65535, 0]
    current = uid_payouts(subnet_pools(1000, None, 2, owner_cut=0), incentive, dividends)
    edited = uid_payouts(subnet_pools(1000, (6554, 58981), 2, owner_cut=0), incentive, dividends)
    change = compare_payouts(current, edited)
    # E_m = 101 (100 + the remainder), 899: miners 50 / 449, validators 51 / 450 against 250 each.
    assert change.delta.tolist() == [-200, 199, 1, 0]
    assert change.winners().tolist() == [1, 2]
    assert change.winners(1).tolist() == [1]
    assert change.losers().tolist() == [0]


def test_absurd_input_is_rejected_quickly() -> None:
    with pytest.raises(SplitError, match="outside the u16 range") as info:
        parse_split("1" * 5000 + ",0", 2)  # never converted to an int
    assert info.value.suggestion == (65535, 0)
    with pytest.raises(SplitError, match="not a whole number"):
        parse_split("1e999999999,1", 2)
    with pytest.raises(SplitError, match="too large"):
        percent_to_split(["1e999999999", 1])
    assert parse_split("-0,65535", 2) == (0, 65535)
