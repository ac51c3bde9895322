"""Incentive-mechanism lab: how two subnets score their miners before any weight reaches the chain.

One pure module per subnet (numpy + stdlib only, no I/O):

- ``iota_sn9``: subnet 9 (IOTA, orchestrated training): effective batch count over miners that reached
  B_min, the merge trigger, and step-decay scoring over full-sync epochs.
- ``data_universe_sn13``: subnet 13 (data universe): per-bucket score DSW * LSF * ASF * SB, the
  credibility EMA and the credibility^2.5 scaling.

Every function checks its input and raises ``MechanismInputError`` (a ``ValueError``) with a message
that says which value is wrong and what would be accepted, so a page can show it as it is.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from analytics.errors import InputError

__all__ = ["MechanismInputError", "as_finite_array"]


class MechanismInputError(InputError):
    """Input a mechanism cannot score; the message names the value and what is accepted."""


def as_finite_array(
    values: Sequence[float] | Sequence[Sequence[float]] | np.ndarray,
    name: str,
    *,
    ndim: int = 1,
    non_negative: bool = False,
    whole: bool = False,
) -> np.ndarray:
    """``values`` as a float64 array of ``ndim`` dimensions, every entry finite (and >= 0, whole if asked).

    ``name`` is how the message refers to the values ("batch counts", "bytes", ...).
    """
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise MechanismInputError(f"{name}: every entry must be a number ({error}).") from None
    if array.ndim != ndim:
        shape = "a list of numbers" if ndim == 1 else f"a {ndim}-dimensional table of numbers"
        raise MechanismInputError(f"{name}: expected {shape}, got shape {array.shape}.")
    bad = ~np.isfinite(array)
    if bad.any():
        position = _position(np.argwhere(bad)[0])
        raise MechanismInputError(f"{name}: {position} is empty or not a finite number; fill it in.")
    if non_negative and (array < 0).any():
        position = _position(np.argwhere(array < 0)[0])
        value = array[tuple(np.argwhere(array < 0)[0])]
        raise MechanismInputError(f"{name}: {position} is {value:g}; it cannot be negative.")
    if whole and (array != np.floor(array)).any():
        index = np.argwhere(array != np.floor(array))[0]
        raise MechanismInputError(
            f"{name}: {_position(index)} is {array[tuple(index)]:g}; counts must be whole numbers."
        )
    return array


def _position(index: np.ndarray) -> str:
    """1-based row (and column) of an offending entry, as a user counts rows in a table."""
    parts = [str(int(i) + 1) for i in index]
    return "row " + parts[0] if len(parts) == 1 else f"row {parts[0]}, column {parts[1]}"
