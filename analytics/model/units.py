"""The chain's units, defined once: 1 TAO = 1 alpha = 10**9 rao, and a u16 fraction is value / 65535."""

from __future__ import annotations

RAO_PER_UNIT = 10**9  # rao in one TAO or one alpha
U16_MAX = 65535  # the u16 that stands for 1.0 (weights, consensus, trust, splits)
