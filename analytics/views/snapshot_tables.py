"""Snapshot-wide tables (Overview, History): stored values only, so 128 subnets stay fast; and the Tv bands and
severity words these pages share."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from analytics.model import consensus
from analytics.views.analysis import RAO_PER_UNIT, U16_MAX
from analytics.views.subnet_tables import SEVERITY_ORDER

# The thresholds come from analytics/consensus.py (one definition): clipped mass = 1 - Tv.
# A validator counts as out of consensus on the Overview and History pages when its stored validator
# trust is below OUT_OF_CONSENSUS_TV, i.e. more than consensus.CLIPPED_MAJOR of its weight is clipped
# away: the "major" level, whose full explanation the Validators page shows.
OUT_OF_CONSENSUS_TV = 1.0 - consensus.CLIPPED_MAJOR

# Validator trust bands matching consensus.py's clipped-mass severities, (band, low Tv, high Tv).
TV_BANDS = (
    ("critical", 0.0, 1.0 - consensus.CLIPPED_CRITICAL),
    ("major", 1.0 - consensus.CLIPPED_CRITICAL, OUT_OF_CONSENSUS_TV),
    ("minor", OUT_OF_CONSENSUS_TV, 1.0 - consensus.CLIPPED_MINOR),
    ("ok", 1.0 - consensus.CLIPPED_MINOR, 1.01),
)


TV_BAND_COLOURS = {"critical": "#c62828", "major": "#ef6c00", "minor": "#f9a825", "ok": "#2e7d32"}


def tv_band_bars(
    x: Any, counts: pd.DataFrame, *, worst_last: bool = False, label_first: bool = False
) -> go.Figure:
    """Stacked bars of validators per Tv band (``counts``' ``tv_<band>`` columns) over ``x``, one colour a band;
    the caller lays the figure out. Legend entries read 'band (range)', or 'range (band)' with ``label_first``."""
    fig = go.Figure()
    for band, _, _ in reversed(TV_BANDS) if worst_last else TV_BANDS:
        label = band_label(band)
        fig.add_trace(
            go.Bar(
                x=x,
                y=counts[f"tv_{band}"],
                name=f"{label} ({band})" if label_first else f"{band} ({label})",
                marker_color=TV_BAND_COLOURS[band],
            )
        )
    return fig


def band_label(band: str) -> str:
    """'0.5 ≤ Tv < 0.8' style label of a TV_BANDS entry."""
    _, lo, hi = next(b for b in TV_BANDS if b[0] == band)
    if lo <= 0:
        return f"Tv < {hi:.2g}"
    if hi > 1:
        return f"Tv ≥ {lo:.2g}"
    return f"{lo:.2g} ≤ Tv < {hi:.2g}"


def severity_rules() -> str:
    """The clipped-mass severity rule in words, from consensus.py's thresholds."""
    c = consensus
    return (
        f"clipped share of the weight ≤ {c.CLIPPED_MINOR:.0%} ok, ≤ {c.CLIPPED_MAJOR:.0%} minor, "
        f"≤ {c.CLIPPED_CRITICAL:.0%} major, more critical"
    )


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


def _validator_summary(neurons: pd.DataFrame) -> pd.DataFrame:
    """Per netuid: validators, stake-weighted mean Tv and validators out of consensus (stored values)."""
    v = neurons[neurons["validator_permit"].astype(bool)].copy()
    v["tv"] = v["validator_trust"].astype(np.float64) / U16_MAX
    v["stake"] = v["total_stake"].astype(np.float64)
    v["tv_x_stake"] = v["tv"] * v["stake"]
    v["out"] = v["tv"] < OUT_OF_CONSENSUS_TV
    g = v.groupby("netuid")
    out = pd.DataFrame(
        {
            "validators": g.size(),
            "stake_weighted_tv": g["tv_x_stake"].sum() / g["stake"].sum().replace(0, np.nan),
            "out_of_consensus": g["out"].sum(),
            **{
                f"tv_{band}": g["tv"].apply(lambda s, lo=lo, hi=hi: int(((s >= lo) & (s < hi)).sum()))
                for band, lo, hi in TV_BANDS
            },
        }
    )
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
    bands = [f"tv_{band}" for band, _, _ in TV_BANDS]
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


def history_tables(
    db_path: str, netuid: int, network: str | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A subnet across snapshots: (per-snapshot summary, per-validator Tv rows), stored values.

    Summary per snapshot: validators (permit holders), out of consensus (Tv < OUT_OF_CONSENSUS_TV),
    validators per Tv band (TV_BANDS), median and stake-weighted Tv, and consensus concentration: the share of all consensus held by the
    10 highest miners and the effective number of miners 1 / sum(c_i^2) with c = C / sum(C).
    """
    from analytics.data import store

    hist = store.subnet_history(db_path, netuid, network)
    if hist.empty:
        return pd.DataFrame(), pd.DataFrame()
    hist = hist.assign(
        tv=hist["validator_trust"].astype(np.float64) / U16_MAX,
        stake=hist["total_stake"].astype(np.float64),
        c=hist["consensus"].astype(np.float64),
    )
    val = hist[hist["validator_permit"].astype(bool)]
    keys = ["snapshot_id", "taken_at", "block"]
    snaps = hist[keys].drop_duplicates("snapshot_id").set_index("snapshot_id")
    g = val.groupby("snapshot_id")
    tv_x_stake = (val["tv"] * val["stake"]).groupby(val["snapshot_id"]).sum()
    share = hist["c"] / hist.groupby("snapshot_id")["c"].transform("sum").replace(0, np.nan)
    conc = hist.assign(share=share)
    top10 = (
        conc.sort_values("share", ascending=False)
        .groupby("snapshot_id")["share"]
        .apply(lambda s: s.head(10).sum())
    )
    hhi = (conc["share"] ** 2).groupby(conc["snapshot_id"]).sum()
    summary = pd.DataFrame(
        {
            "taken_at": snaps["taken_at"],
            "block": snaps["block"],
            "validators": g.size(),
            "out_of_consensus": g["tv"].apply(lambda s: int((s < OUT_OF_CONSENSUS_TV).sum())),
            **{
                f"tv_{band}": g["tv"].apply(lambda s, lo=lo, hi=hi: int(((s >= lo) & (s < hi)).sum()))
                for band, lo, hi in TV_BANDS
            },
            "tv_median": g["tv"].median(),
            "tv_stake_weighted": tv_x_stake / g["stake"].sum().replace(0, np.nan),
            "consensus_top10_share": top10,
            "effective_miners": 1.0 / hhi.replace(0, np.nan),
        }
    )
    counts = ["validators", "out_of_consensus", *(f"tv_{band}" for band, _, _ in TV_BANDS)]
    summary[counts] = summary[counts].fillna(0).astype(int)
    summary = summary.reset_index().rename(columns={"index": "snapshot_id"})
    tv_rows = val[["snapshot_id", "taken_at", "uid", "hotkey", "tv", "stake"]].rename(
        columns={"tv": "validator_trust", "stake": "stake_rao"}
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
