"""Snapshot-wide tables (Overview, History): stored values only, so 128 subnets stay fast; and the Tv bands and
severity words these pages share."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from analytics.model import consensus
from analytics.model.units import RAO_PER_UNIT, U16_MAX
from analytics.views import health
from analytics.views.subnet_tables import SEVERITY_ORDER

# Validators, out of consensus and the per-level counts (tv_critical ... tv_ok) are the health levels
# of analytics/views/health.py: the same definition as the Validators page. OUT_OF_CONSENSUS_TV and
# TV_BANDS are the Tv thresholds of those levels for an active validator (kept for older callers).
OUT_OF_CONSENSUS_TV = 1.0 - consensus.CLIPPED_MAJOR

# Validator trust thresholds of consensus.py's clipped-mass levels, (level, low Tv, high Tv).
TV_BANDS = (
    ("critical", 0.0, 1.0 - consensus.CLIPPED_CRITICAL),
    ("major", 1.0 - consensus.CLIPPED_CRITICAL, OUT_OF_CONSENSUS_TV),
    ("minor", OUT_OF_CONSENSUS_TV, 1.0 - consensus.CLIPPED_MINOR),
    ("ok", 1.0 - consensus.CLIPPED_MINOR, 1.01),
)


# One colour per level: health.COLOURS (the Validators, Stake and History pages use the same set).
TV_BAND_COLOURS = {level: health.COLOURS[level] for level in health.LEVELS}


def health_bars(x: Any, counts: pd.DataFrame, *, worst_last: bool = False) -> go.Figure:
    """Stacked bars of validators per health level (``counts``' ``tv_<level>`` columns) over ``x``, one
    colour a level (health.COLOURS); the caller lays the figure out. Legend entries are the level names
    alone: a level is not a Tv range (an inactive validator is at least major whatever its Tv)."""
    fig = go.Figure()
    for level in reversed(health.LEVELS) if worst_last else health.LEVELS:
        fig.add_trace(go.Bar(x=x, y=counts[f"tv_{level}"], name=level, marker_color=TV_BAND_COLOURS[level]))
    return fig


tv_band_bars = health_bars  # the name the pages used before the levels replaced the Tv bands


def band_label(band: str) -> str:
    """'0.5 ≤ Tv < 0.8' style label of a TV_BANDS entry."""
    _, lo, hi = next(b for b in TV_BANDS if b[0] == band)
    if lo <= 0:
        return f"Tv < {hi:.2g}"
    if hi > 1:
        return f"Tv ≥ {lo:.2g}"
    return f"{lo:.2g} ≤ Tv < {hi:.2g}"


def severity_rules() -> str:
    """The health-level rule in words (:func:`analytics.views.health.rules`)."""
    return health.rules()


def split_text(split: Any, mechanism_count: int) -> str:
    """An emission split as percentages, e.g. '70% / 30%'; 'even' when the chain stores none."""
    if mechanism_count <= 1:
        return "—"
    if (
        split is None
        or (not isinstance(split, list | tuple | np.ndarray) and pd.isna(split))
        or len(split) == 0
    ):
        return "even"
    return " / ".join(f"{int(v) / U16_MAX:.0%}" for v in split)


def _with_levels(neurons: pd.DataFrame) -> pd.DataFrame:
    """The validators (permit holders) of stored neuron rows, with tv, stake and their health level."""
    v = neurons[health.is_validator(neurons["validator_permit"])].copy()
    v["tv"] = v["validator_trust"].astype(np.float64) / U16_MAX
    v["stake"] = v["total_stake"].astype(np.float64)
    v["level"] = health.health_levels(v["validator_trust"], v["validator_permit"], v["active"])
    return v


def _level_counts(v: pd.DataFrame, key: str) -> pd.DataFrame:
    """Per ``key``: validators, out of consensus and validators per health level (tv_<level>)."""
    per = pd.crosstab(v[key], v["level"]).reindex(columns=list(health.LEVELS), fill_value=0)
    out = pd.DataFrame({"validators": per.sum(axis=1)})
    out["out_of_consensus"] = per[list(health.OUT_OF_CONSENSUS)].sum(axis=1)
    for level in health.LEVELS:
        out[f"tv_{level}"] = per[level]
    return out


def _validator_summary(neurons: pd.DataFrame) -> pd.DataFrame:
    """Per netuid: validators, stake-weighted mean Tv and validators per health level (stored values)."""
    v = _with_levels(neurons)
    v["tv_x_stake"] = v["tv"] * v["stake"]
    g = v.groupby("netuid")
    out = _level_counts(v, "netuid")
    out.insert(1, "stake_weighted_tv", g["tv_x_stake"].sum() / g["stake"].sum().replace(0, np.nan))
    return out


def subnets_table(db_path: str, snapshot_id: int) -> pd.DataFrame:
    """The Overview's table: one row per subnet of a snapshot."""
    from analytics.data import store

    subs = store.subnets(db_path, snapshot_id)
    if subs.empty:
        return pd.DataFrame()
    validators = store.snapshot_validators(db_path, snapshot_id)
    summary = _validator_summary(validators) if len(validators) else pd.DataFrame()
    df = pd.DataFrame(
        {
            "netuid": subs["netuid"].astype(int),
            "name": subs["name"],
            "uids": subs["n"].astype(int),
            "mechanisms": subs["mechanism_count"].astype(int),
            "split": [
                split_text(sp, int(m))
                for sp, m in zip(subs["emission_split"], subs["mechanism_count"], strict=True)
            ],
            "tempo": subs["tempo"].astype(int),
            "epoch_emission_alpha": subs["epoch_emission"].astype("Float64") / RAO_PER_UNIT,
        }
    )
    df = df.join(summary, on="netuid")
    bands = [f"tv_{level}" for level in health.LEVELS]
    for col in ["validators", "out_of_consensus", *bands]:
        df[col] = df[col].fillna(0).astype(int) if col in df else 0
    if "stake_weighted_tv" not in df:  # a snapshot where no subnet has a validator permit yet
        df["stake_weighted_tv"] = np.nan
    return df[
        [
            "netuid",
            "name",
            "validators",
            "out_of_consensus",
            "stake_weighted_tv",
            "uids",
            "mechanisms",
            "split",
            "epoch_emission_alpha",
            "tempo",
            *bands,
        ]
    ]


_LEVEL_COLUMNS = ("validators", "out_of_consensus", *(f"tv_{level}" for level in health.LEVELS))


def history_tables(
    db_path: str, netuid: int, network: str | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A subnet across snapshots: (per-snapshot summary, per-validator Tv rows), stored values.

    Summary per snapshot: validators (permit holders), out of consensus and validators per health
    level (tv_<level>, :mod:`analytics.views.health`), median and stake-weighted Tv, and consensus
    concentration: the share of all consensus held by the 10 highest miners and the effective number
    of miners 1 / sum(c_i^2) with c = C / sum(C). The per-snapshot figures come from the store's
    `subnet_summary` (written at ingest), the levels from the permit holders' rows only: the
    subnet's every neuron is never read, so History stays fast at years of snapshots.
    """
    from analytics.data import store

    summ = store.subnet_summary(db_path, netuid, network)
    if summ.empty:
        return pd.DataFrame(), pd.DataFrame()
    val = _with_levels(store.validator_history(db_path, netuid, network))
    levels = _level_counts(val, "snapshot_id") if len(val) else pd.DataFrame()
    summ = summ.set_index("snapshot_id")
    summary = pd.DataFrame(
        {
            "taken_at": summ["taken_at"],
            "block": summ["block"],
            **{col: levels.get(col, 0) for col in _LEVEL_COLUMNS},
            "tv_median": summ["tv_median"],
            "tv_stake_weighted": summ["tv_stake_weighted"],
            "consensus_top10_share": summ["consensus_top10_share"],
            "effective_miners": summ["effective_miners"],
        },
        index=summ.index,
    )
    summary[list(_LEVEL_COLUMNS)] = summary[list(_LEVEL_COLUMNS)].fillna(0).astype(int)
    summary = summary.reset_index()
    tv_rows = val[["snapshot_id", "taken_at", "uid", "hotkey", "level", "tv", "stake"]].rename(
        columns={"level": "health", "tv": "validator_trust", "stake": "stake_rao"}
    )
    tv_rows = tv_rows.assign(stake_alpha=tv_rows.pop("stake_rao") / RAO_PER_UNIT).reset_index(drop=True)
    return summary, tv_rows


def reason_summary(validators: pd.DataFrame) -> pd.DataFrame:
    """Per severity (worst first): validators, their stake share, and their reasons with counts."""
    columns = ["severity", "validators", "stake_share", "reasons"]
    if validators.empty:
        return pd.DataFrame(columns=columns)
    rows = []
    for severity in SEVERITY_ORDER:
        group = validators[validators["severity"] == severity]
        if group.empty:
            continue
        codes = group["reason_codes"].str.split(", ").explode()
        counts = codes[codes != ""].value_counts(sort=False)
        counts = counts.sort_values(ascending=False, kind="stable")
        text = ", ".join(f"{code.replace('_', ' ')} ({n})" for code, n in counts.items())
        rows.append((severity, len(group), float(group["stake_share"].sum()), text))
    return pd.DataFrame(rows, columns=columns)


def history_table(db_path: str, snapshot_id: int, netuid: int, mechid: int = 0) -> pd.DataFrame:
    """The History page's per-snapshot summary of a subnet, on the network of ``snapshot_id``."""
    from analytics.data import store

    network = store.snapshot_meta(db_path, snapshot_id)["network"]
    return history_tables(db_path, netuid, network)[0]
