"""Display forms of tables the pages show: amounts in α instead of rao, fractions instead of raw u16,
changes as percentages at a readable precision.

The CSV behind a table keeps the exact figures (rao, u16) the CLI writes; these frames are for reading.
Pure pandas: shared by the pages, no Streamlit.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from analytics.model.units import RAO_PER_UNIT, U16_MAX

# Points above which a chart draws with WebGL (plotly.express's render_mode="auto"; the charts built
# without px keep its choice).
WEBGL_FROM = 1000


def single_panel_axes(x_title: str, y_title: str, **layout: Any) -> dict[str, Any]:
    """The layout plotly.express gives a one-panel figure (for charts built with graph_objects): both
    axes anchored over the whole domain and titled, plus ``layout``."""
    return {
        "xaxis": {"anchor": "y", "domain": [0.0, 1.0], "title": {"text": x_title}},
        "yaxis": {"anchor": "x", "domain": [0.0, 1.0], "title": {"text": y_title}},
        **layout,
    }


def alpha(rao: object) -> np.ndarray:
    """Rao as α (float64; exact to the rao below 9 million α)."""
    return np.asarray(rao, dtype=np.float64) / RAO_PER_UNIT


def format_alpha(rao: int, decimals: int | None = None) -> str:
    """An amount of rao as α text for a caption or metric: ``126.242763265`` -> ``126.2428 α``.

    Without ``decimals``: four significant decimals for amounts from 1 α (more below, so a small
    amount never shows as 0), thousands separated; whole α show no decimals."""
    value = int(rao) / RAO_PER_UNIT
    if decimals is None:
        if int(rao) % RAO_PER_UNIT == 0:
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


# Column-name endings that name a unit: shown once, in the header, after the words.
_UNIT_SUFFIXES = {"rao": "rao", "alpha": "α", "tao": "TAO", "pct": "%", "u16": "u16"}
# Words written differently in a header than in a column name.
_WORDS = {"uid": "UID", "uids": "UIDs", "tv": "Tv", "id": "ID", "mechid": "mechanism", "netuid": "subnet"}


def readable_header(column: str) -> str:
    """A table header for a snake_case column name: words with spaces, the unit once in brackets
    (``stake_alpha`` -> "Stake (α)", ``validator_uid`` -> "Validator UID"). Other names are kept."""
    if "_" not in column and column.lower() == column and column not in _WORDS:
        return column[:1].upper() + column[1:] if column.isidentifier() else column
    words = column.split("_")
    unit = _UNIT_SUFFIXES.get(words[-1]) if len(words) > 1 else None
    if unit is not None:
        words = words[:-1]
    text = " ".join(_WORDS.get(w, w) for w in words if w)
    text = text[:1].upper() + text[1:]
    return f"{text} ({unit})" if unit else text


def header_labels(columns: list[str], column_config: dict[str, object] | None = None) -> dict[str, object]:
    """``column_config`` completed with a readable header for every column it does not configure, so
    no table shows a snake_case name (what is configured is kept as it is)."""
    labels: dict[str, object] = {str(c): readable_header(str(c)) for c in columns}
    labels.update(column_config or {})
    return labels
