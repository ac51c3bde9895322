"""Display forms of tables the pages show: amounts in α instead of rao, fractions instead of raw u16,
changes as percentages at a readable precision.

The CSV behind a table keeps the exact figures (rao, u16) the CLI writes; these frames are for reading.
Pure pandas: shared by the pages, no Streamlit.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

RAO_PER_ALPHA = 1_000_000_000
U16_MAX = 65535


def alpha(rao: object) -> np.ndarray:
    """Rao as α (float64; exact to the rao below 9 million α)."""
    return np.asarray(rao, dtype=np.float64) / RAO_PER_ALPHA


def format_alpha(rao: int, decimals: int | None = None) -> str:
    """An amount of rao as α text for a caption or metric: ``126.242763265`` -> ``126.2428 α``.

    Without ``decimals``: four significant decimals for amounts from 1 α (more below, so a small
    amount never shows as 0), thousands separated; whole α show no decimals."""
    value = int(rao) / RAO_PER_ALPHA
    if decimals is None:
        if int(rao) % RAO_PER_ALPHA == 0:
            decimals = 0
        elif abs(value) >= 1:
            decimals = 4
        else:
            decimals = min(9, max(4, 3 - int(np.floor(np.log10(abs(value))))))
    return f"{value:,.{decimals}f} α"


def whatif_winners_table(winners: pd.DataFrame) -> pd.DataFrame:
    """The What-if winners/losers table (``analytics.cli.simulate.winners_frame``) in the headline's units:
    paid over the replay in α, the change in α and in percent (2 decimals; empty for a uid paid nothing
    before), mean emission share and final validator trust as fractions."""
    out = pd.DataFrame(
        {
            "uid": winners["uid"],
            "role": winners["role"],
            "hotkey": winners["hotkey"],
            "baseline (α)": alpha(winners["baseline_rao"]),
            "what-if (α)": alpha(winners["scenario_rao"]),
            "change (α)": alpha(winners["change_rao"]),
            "change (%)": np.round(winners["change_pct"].astype(float), 2),
            "share baseline": np.round(winners["baseline_share"].astype(float), 6),
            "share what-if": np.round(winners["scenario_share"].astype(float), 6),
            "final Tv baseline": np.round(winners["final_tv_baseline"].astype(float) / U16_MAX, 4),
            "final Tv what-if": np.round(winners["final_tv_scenario"].astype(float) / U16_MAX, 4),
        }
    )
    return out.reset_index(drop=True)
