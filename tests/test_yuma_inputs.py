"""Bad input gives a clear ValueError, never a silent wrong answer; tables come out per uid."""

from __future__ import annotations

import numpy as np
import pytest

from analytics.model.yuma import EpochInputs, epoch, epoch_with_mechanisms, split_emissions


def base(n: int = 3, **kw) -> EpochInputs:
    args = dict(
        weights=np.array([[0, 65535, 0], [0, 0, 0], [0, 0, 0]]),
        alpha_stake=np.array([10, 0, 0]),
        last_update=np.ones(n, dtype=np.int64),
        block_at_registration=np.zeros(n, dtype=np.int64),
        validator_permit=np.array([True, False, False]),
        current_block=1,
    )
    args.update(kw)
    return EpochInputs(**args)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"weights": np.zeros((3, 2))}, r"weights must have shape \(3, 3\)"),
        ({"weights": np.array([[0, np.nan, 0], [0, 0, 0], [0, 0, 0]])}, "NaN"),
        ({"weights": np.array([[0, 70000, 0], [0, 0, 0], [0, 0, 0]])}, "u16"),
        ({"weights": np.array([[0, 1.5, 0], [0, 0, 0], [0, 0, 0]])}, "integers"),
        ({"bonds": np.array([[0, -1, 0], [0, 0, 0], [0, 0, 0]])}, "u16"),
        ({"alpha_stake": np.array([10, -1, 0])}, "non-negative"),
        ({"last_update": np.ones(2)}, r"last_update must have shape \(3,\)"),
        ({"weights_set": np.ones((2, 2), dtype=bool)}, "weights_set"),
        ({"emission": -5}, "emission"),
        ({"weights": np.array([["a"] * 3] * 3)}, "numeric"),
    ],
)
def test_bad_inputs_raise_clear_errors(change: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        epoch(base(**change))


def test_mechanism_argument_errors() -> None:
    w = np.zeros((3, 3), dtype=np.int64)
    with pytest.raises(ValueError, match="at least one mechanism"):
        epoch_with_mechanisms(base(), [], [], [], None)
    with pytest.raises(ValueError, match="mechanism_bonds has 1 entries for 2 mechanisms"):
        epoch_with_mechanisms(base(), [w, w], [None], [np.ones(3)] * 2, None)
    with pytest.raises(ValueError, match="mechanism_count"):
        split_emissions(10, 0)


def test_float_and_unsigned_inputs_are_accepted_when_integral() -> None:
    ref = epoch(base())
    alt = epoch(
        base(
            weights=np.array([[0, 65535, 0], [0, 0, 0], [0, 0, 0]], dtype=np.uint16),
            alpha_stake=np.array([10.0, 0.0, 0.0]),
        )
    )
    assert alt.incentive.tolist() == ref.incentive.tolist() == [0, 65535, 0]


def test_columns_are_per_uid() -> None:
    cols = epoch(base()).columns()
    assert {len(v) for v in cols.values()} == {3}
    assert cols["uid"].tolist() == [0, 1, 2]
    assert cols["incentive_float"].tolist() == [0.0, 1.0, 0.0]


def test_empty_and_stakeless_subnets() -> None:
    empty = np.zeros(0, dtype=np.int64)
    r = epoch(
        EpochInputs(
            weights=np.zeros((0, 0)),
            alpha_stake=empty,
            last_update=empty,
            block_at_registration=empty,
            validator_permit=np.zeros(0, dtype=bool),
            current_block=5,
        )
    )
    assert r.consensus.size == 0 and r.bonds.shape == (0, 0)
    r = epoch(base(alpha_stake=np.zeros(3), yuma3=True, liquid_alpha=True))
    assert r.emission.tolist() == [0, 0, 0] and r.fallback


def test_legacy_activity_cutoff_overrides_factor_times_tempo() -> None:
    current = epoch(base(current_block=6000))  # cutoff 5000 (13889 x 360 / 1000): last_update 1 is stale
    legacy = epoch(base(current_block=6000, activity_cutoff=10_000))
    assert current.active.tolist() == [False] * 3 and legacy.active.tolist() == [True] * 3
    assert legacy.incentive.tolist() == [0, 65535, 0] and current.fallback
