"""One vocabulary for consensus health, shared by every page, table and count.

Before this module the Overview and History counted validators per validator-trust band while the
Validators page counted the severities of its full explanation: demo subnet 1 read "4 critical" on
one page and "1 critical" on the other (three inactive validators without weights have Tv = 0: the
bands called them critical, the explanation "not validating", major), and "64 validators" against
"65" (the Validators page also listed a UID without a permit that had set weights).

The definitions, used everywhere:

* **Validator**: a UID holding a validator permit (:func:`is_validator`). UIDs without a permit that
  set weights are shown on the Validators page as "no permit", never counted as validators.
* **Health level** of a validator (:func:`health_levels`), from stored values only (validator trust,
  permit, active), so 128 subnets x a year of snapshots stay cheap:

  - not active (its weights are older than the activity cutoff: no say in consensus) or Tv = 0
    (no weight of it counts: no weights, only a self-weight, all outdated): at least **major**
    ("not validating"), as :mod:`analytics.model.consensus` rates it;
  - otherwise by the clipped share of its weight, 1 - Tv, with consensus.py's thresholds:
    > CLIPPED_CRITICAL **critical**, > CLIPPED_MAJOR **major**, > CLIPPED_MINOR **minor**, else **ok**.

* **Out of consensus**: critical or major.

The Validators page's "Why" text still comes from consensus.py's full explanation (which also reports
a likely weight copier); the level shown and counted is this one.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from analytics.model import consensus
from analytics.model.units import U16_MAX

# Worst first: the order of every sort, legend and count.
LEVELS = ("critical", "major", "minor", "ok")
NO_PERMIT = "no permit"
ORDER = (*LEVELS, NO_PERMIT)
OUT_OF_CONSENSUS = ("critical", "major")

# One colour per level, shared by every chart and table that shows the levels.
COLOURS = {
    "critical": "#c62828",
    "major": "#ef6c00",
    "minor": "#f9a825",
    "ok": "#2e7d32",
    NO_PERMIT: "#78909c",
}
CELL_STYLES = {
    "critical": "background-color: #f4c7c3; color: #8e0000; font-weight: 600",
    "major": "background-color: #fbdcc0; color: #8a3b00; font-weight: 600",
    "minor": "background-color: #fdf1c2; color: #6d5200",
    "ok": "color: #2e7d32",
    NO_PERMIT: "color: #546e7a",
}


def is_validator(permit: Any) -> np.ndarray:
    """Which UIDs count as validators: the validator-permit holders."""
    return np.asarray(permit, dtype=bool)


def tv_levels(tv: Any) -> np.ndarray:
    """The level of each validator-trust fraction by the clipped share of its weight (1 - Tv) alone:
    the rule for an active permit holder whose weights count, and the tint of a Tv figure such as the
    Overview's stake-weighted Tv. Compared on Tv (Tv < 1 - threshold), so 0.95 is exactly ok."""
    c = consensus
    tv_ = np.asarray(tv, dtype=np.float64)
    return np.select(
        [tv_ < 1.0 - c.CLIPPED_CRITICAL, tv_ < 1.0 - c.CLIPPED_MAJOR, tv_ < 1.0 - c.CLIPPED_MINOR],
        ["critical", "major", "minor"],
        default="ok",
    ).astype(object)


def health_levels(validator_trust_u16: Any, permit: Any, active: Any) -> np.ndarray:
    """The health level of each UID (object array of LEVELS or NO_PERMIT); see the module docstring."""
    tv = np.asarray(validator_trust_u16, dtype=np.float64) / U16_MAX
    permit_ = is_validator(permit)
    active_ = np.asarray(active, dtype=bool)
    level = tv_levels(tv)
    inactive = ~active_ & (level != "critical")  # inactive: at least major (critical stays critical)
    level = np.where(inactive | (tv <= 0), "major", level).astype(object)
    return np.where(permit_, level, NO_PERMIT).astype(object)


def health_reasons(validator_trust_u16: Any, permit: Any, active: Any) -> np.ndarray:
    """A short plain-words reason per UID matching :func:`health_levels` (stored values only)."""
    tv = np.asarray(validator_trust_u16, dtype=np.float64) / U16_MAX
    permit_ = is_validator(permit)
    active_ = np.asarray(active, dtype=bool)
    out = []
    for t, p, a in zip(tv.tolist(), permit_.tolist(), active_.tolist(), strict=True):
        if not p:
            out.append("no validator permit: its weights do not count")
        elif not a:
            out.append("inactive: weights older than the activity cutoff")
        elif t <= 0:
            out.append("no weight counts (none set, or only on itself)")
        elif 1.0 - t > consensus.CLIPPED_MINOR:
            out.append(f"{1.0 - t:.0%} of its weight clipped above consensus")
        else:
            out.append("in consensus")
    return np.array(out, dtype=object)


def level_rank(levels: pd.Series) -> pd.Series:
    """Sort key of a level column, worst first (unknown values last)."""
    return levels.map({lv: i for i, lv in enumerate(ORDER)}).fillna(len(ORDER)).astype(int)


def counts(levels: Any) -> dict[str, int]:
    """Validators per level (every level present, NO_PERMIT excluded), worst first."""
    values = pd.Series(np.asarray(levels, dtype=object))
    return {lv: int((values == lv).sum()) for lv in LEVELS}


def tv_scale() -> str:
    """How a Tv figure is coloured (:func:`tv_levels` with COLOURS), for help texts."""
    c = consensus
    return (
        f"green from {1 - c.CLIPPED_MINOR:.2f} (ok), amber from {1 - c.CLIPPED_MAJOR:.2f} (minor), "
        f"orange from {1 - c.CLIPPED_CRITICAL:.2f} (major), red below (critical)"
    )


def rules() -> str:
    """The rule in words, for captions and help texts."""
    c = consensus
    return (
        f"clipped share of the weight (1 − Tv) over {c.CLIPPED_CRITICAL:.0%}: critical, over "
        f"{c.CLIPPED_MAJOR:.0%}: major, over {c.CLIPPED_MINOR:.0%}: minor, else ok; "
        "an inactive validator or one whose weights do not count at all (Tv = 0): at least major. "
        "Out of consensus = critical or major. Validators = UIDs holding a validator permit."
    )
