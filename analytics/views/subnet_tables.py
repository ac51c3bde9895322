"""Per-subnet tables (neurons, weights, consensus, validators) of one snapshot and mechanism, as the pages show
them and the CLI writes them: stored values beside the engine's recomputation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from analytics.model import consensus
from analytics.model.units import RAO_PER_UNIT
from analytics.textsafe import plot_text
from analytics.views import display, health, returns
from analytics.views.analysis import (
    SubnetAnalysis,
    _bits,
    _f,
    earnings_per_1000_per_day,
    subnet_analysis,
)


def neurons_table(db_path: str, snapshot_id: int, netuid: int, mechid: int = 0) -> pd.DataFrame:
    """Every UID of the subnet as stored: keys, stake (rao), u16 outputs, this mechanism's I and last update."""
    a = subnet_analysis(db_path, snapshot_id, netuid)
    s = a.snap
    mech = s.mechanism(mechid)
    return pd.DataFrame(
        {
            "uid": np.arange(s.n),
            "hotkey": s.hotkeys,
            "coldkey": s.coldkeys,
            "owner": s.is_owner,
            "active": s.active,
            "validator_permit": s.validator_permit,
            "stake_alpha": s.total_stake / RAO_PER_UNIT,
            "alpha_stake_rao": s.alpha_stake,
            "tao_stake_rao": s.tao_stake,
            "stake_weight_u16": s.stake_weight,
            "consensus_u16": s.consensus,
            "incentive_u16": mech.incentive,
            "validator_trust_u16": s.validator_trust,
            "dividends_u16": s.dividends,
            "emission_rao": s.emission,
            "last_update": mech.last_update,
            "block_at_registration": s.block_at_registration,
        }
    )


def _setter_rows(a: SubnetAnalysis, mechid: int) -> np.ndarray:
    """UIDs whose weight row counts or is stored: the epoch's rows plus any row with an entry."""
    mech = a.snap.mechanism(mechid)
    stored = np.flatnonzero(mech.weights_set.any(axis=1))
    return np.union1d(stored, a.result(mechid).row_index).astype(np.int64)


def weights_table(
    db_path: str,
    snapshot_id: int,
    netuid: int,
    mechid: int = 0,
    *,
    miner: int | None = None,
    validator: int | None = None,
) -> pd.DataFrame:
    """Validators x miners, one row per pair: stored u16, normalised weight, consensus, clipped part.

    Rows are the validators that set weights (or whose row the epoch used), every miner UID for each.
    `weight` is the row as the epoch used it (after masks and row normalisation; 0 for a row the
    epoch ignores), `consensus` the recomputed C of the miner (exact, before u16 rounding),
    `clipped` = weight - min(weight, C).
    `miner` / `validator` (uids) keep one column / one row of the matrix.
    """
    a = subnet_analysis(db_path, snapshot_id, netuid)
    s, r = a.snap, a.result(mechid)
    mech = s.mechanism(mechid)
    rows = _setter_rows(a, mechid)
    if validator is not None:
        rows = rows[rows == int(validator)]
    cols = np.arange(s.n) if miner is None else np.array([int(miner)], dtype=np.int64)
    cols = cols[cols < s.n]
    ii = np.repeat(rows, len(cols))
    jj = np.tile(cols, len(rows))
    w = _bits(r.weights_bits[ii, jj]) if len(ii) else np.zeros(0)
    kept = _bits(r.clipped_weights_bits[ii, jj]) if len(ii) else np.zeros(0)
    counted = np.isin(ii, r.row_index) & r.validator_permit[ii] if len(ii) else np.zeros(0, dtype=bool)
    return pd.DataFrame(
        {
            "validator_uid": ii,
            "validator_hotkey": s.hotkeys[ii],
            "stake_share": _bits(r.stake_bits[ii]),
            "row_counted": counted,
            "miner_uid": jj,
            "miner_hotkey": s.hotkeys[jj],
            "weight_u16": mech.weights[ii, jj],
            "weight": w,
            "consensus": _bits(r.consensus_bits[jj]),
            "kept": kept,
            "clipped": np.maximum(w - kept, 0.0),
        }
    )


def consensus_table(db_path: str, snapshot_id: int, netuid: int, mechid: int = 0) -> pd.DataFrame:
    """Per miner: consensus and incentive as stored and as recomputed, support and clipped stake."""
    a = subnet_analysis(db_path, snapshot_id, netuid)
    s, r = a.snap, a.result(mechid)
    mech = s.mechanism(mechid)
    stake = _bits(r.active_stake_bits)
    w = _bits(r.weights_bits)
    kept = _bits(r.clipped_weights_bits)
    counted = w > 0
    return pd.DataFrame(
        {
            "uid": np.arange(s.n),
            "hotkey": s.hotkeys,
            "consensus": _f(r.consensus),
            "consensus_stored": _f(s.consensus) if s.mechanism_count == 1 else np.nan,
            "incentive": _f(r.incentive),
            "incentive_stored": _f(mech.incentive),
            "recomputed_equals_chain": (r.incentive == mech.incentive)
            & ((r.consensus == s.consensus) if s.mechanism_count == 1 else True),
            "validators_weighting": counted.sum(axis=0),
            "stake_weighted_weight": stake @ w,
            "stake_weighted_clipped": stake @ (w - kept),
            "emission_rao": r.emission,
        }
    )


# The health levels of analytics/views/health.py (one vocabulary for every page), worst first, and
# which count as "out of consensus". Kept under these names for the pages and tests that use them.
SEVERITY_ORDER = health.ORDER  # ("critical", "major", "minor", "ok", "no permit")
OUT_OF_CONSENSUS = health.OUT_OF_CONSENSUS


def validators_table(
    db_path: str, snapshot_id: int, netuid: int, mechid: int = 0, *, money: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Every validator of one mechanism, the most severe consensus problem first, then by stake.

    ``severity`` is the health level of :mod:`analytics.views.health` (stored Tv, permit, active: the
    level every page counts); UIDs without a permit that set weights are listed last as "no permit".
    Reason, clipped mass, the miners clipped and the copier signal come from
    :func:`analytics.model.consensus.explain_validators`. Stake is the stake weight the epoch used (alpha +
    TAO x TaoWeight); Tv as recomputed for this mechanism and as the chain stored it (netuid level);
    earnings per 1000 staked per day: see :func:`earnings_per_1000_per_day` (all mechanisms together).
    The copier signal needs the previous epoch's consensus of the same mechanism, which the chain stores
    only at netuid level: it is shown for single-mechanism subnets (NaN otherwise). ``money``: the
    snapshot's :func:`analytics.views.returns.returns_table` rows (window 1) when the caller already
    read them (any subnets that include this one; the alerts read them once for every subnet watched).
    """
    a = subnet_analysis(db_path, snapshot_id, netuid)
    s, r = a.snap, a.result(mechid)
    single = s.mechanism_count == 1
    explanations = consensus.explain_validators(
        a.per_inputs[mechid],
        r,
        stored_validator_trust=s.validator_trust if single else None,
        previous_consensus=s.prev_consensus if single and s.prev_consensus.any() else None,
    )
    if not explanations:
        return pd.DataFrame(columns=list(VALIDATOR_COLUMNS))
    rows = pd.DataFrame([e.as_row() for e in explanations])
    uids = rows["uid"].to_numpy(dtype=np.int64)
    stake_rao = np.asarray(r.total_stake if len(r.total_stake) else s.total_stake, dtype=np.float64)[uids]
    if s.epoch_emission is None:
        earn = np.full(len(uids), np.nan)
    else:
        earn = earnings_per_1000_per_day(
            a.aggregate.validator_emission[uids], stake_rao, int(s.subnet["tempo"])
        )
    df = pd.DataFrame(
        {
            "uid": uids,
            "hotkey": s.hotkeys[uids],
            "stake_alpha": stake_rao / RAO_PER_UNIT,
            "severity": health.health_levels(
                s.validator_trust[uids], s.validator_permit[uids], s.active[uids]
            ),
            "reason": rows["explanation"],
            "reason_codes": rows["reasons"],
            "stake_share": rows["stake_share"],
            "dividend_share": rows["dividend_share"],
            "earn_per_1000_per_day": earn,
            "validator_trust": rows["trust"],
            "validator_trust_stored": _f(s.validator_trust[uids]),
            "tv_matches_chain": a.aggregate.validator_trust[uids] == s.validator_trust[uids],
            "clipped_mass": rows["clipped_mass"],
            "clipped_miners": rows["miners_above_consensus"],
            "top_clipped": rows["top_clipped"],
            "blocks_since_update": rows["blocks_since_update"],
            "active": rows["active"],
            "permit": rows["permit"],
            "likely_copier": rows["likely_copier"].astype(bool),
            "copier_overlap_previous": rows["copier_overlap_previous"].astype(np.float64),
            "copier_overlap_current": rows["copier_overlap_current"].astype(np.float64),
            "copier_overlap_best_peer": rows["copier_overlap_best_peer"].astype(np.float64),
        }
    )
    df = _with_returns(df, db_path, snapshot_id, netuid, money)
    df = df.assign(_rank=health.level_rank(df["severity"])).sort_values(
        ["_rank", "stake_alpha", "uid"], ascending=[True, False, True]
    )
    return df.drop(columns="_rank").reset_index(drop=True)


# What staking pays (analytics.views.returns, this snapshot's epoch), joined by hotkey.
RETURN_COLUMNS = ("name", "return_tao_per_1000_per_day", "return_alpha_per_1000_per_day", "delegate_take")


def _with_returns(
    df: pd.DataFrame, db_path: str, snapshot_id: int, netuid: int, money: pd.DataFrame | None = None
) -> pd.DataFrame:
    """``df`` with the validators' name, take and return after take per 1000 staked per day (NaN where
    the snapshot holds no money data, e.g. one collected before schema 2); ``money``: the snapshot's
    returns_table rows (window 1) already read, else read here."""
    if money is None:
        money = returns.returns_table(db_path, snapshot_id, netuids=[int(netuid)], window_days=1)
    else:  # rows of this subnet only (a returns row depends on its own subnet alone)
        money = money[money["netuid"] == int(netuid)]
    money = money[money["uid"].notna()][["hotkey", *RETURN_COLUMNS]]
    out = df.merge(money, on="hotkey", how="left")
    out["name"] = out["name"].fillna("")  # no identity: an empty cell, not "None"
    return out[["uid", "hotkey", *RETURN_COLUMNS, *[c for c in df.columns if c not in ("uid", "hotkey")]]]


VALIDATOR_COLUMNS = (
    "uid",
    "hotkey",
    *RETURN_COLUMNS,
    "stake_alpha",
    "severity",
    "reason",
    "reason_codes",
    "stake_share",
    "dividend_share",
    "earn_per_1000_per_day",
    "validator_trust",
    "validator_trust_stored",
    "tv_matches_chain",
    "clipped_mass",
    "clipped_miners",
    "top_clipped",
    "blocks_since_update",
    "active",
    "permit",
    "likely_copier",
    "copier_overlap_previous",
    "copier_overlap_current",
    "copier_overlap_best_peer",
)


def validators_figure(table: pd.DataFrame) -> go.Figure:
    """The Validators page's chart: Tv against stake (log scale), one trace per health level (worst first,
    the health colours), UID, hotkey, stake and reason in the hover; chain strings escaped for Plotly.
    The page sets its height, margins and legend.

    Built from numpy columns with graph_objects: the figure plotly.express gave (spec for spec), without
    px's grouping and re-validation (~45 ms a run)."""
    stake_plot = np.maximum(table["stake_alpha"].to_numpy(dtype=np.float64), 1e-3)
    trust = table["validator_trust"].to_numpy()
    custom = np.empty((len(table), 4), dtype=object)
    custom[:, 0] = table["uid"].to_numpy()
    custom[:, 1] = plot_text(table["hotkey"]).to_numpy()
    custom[:, 2] = table["stake_alpha"].to_numpy()
    custom[:, 3] = table["reason"].to_numpy()
    levels = table["severity"].to_numpy()
    order = [*health.ORDER, *sorted(set(levels) - set(health.ORDER), key=list(levels).index)]
    traces = []
    for level in order:
        rows = np.flatnonzero(levels == level)
        if not len(rows):
            continue
        traces.append(
            go.Scatter(
                x=stake_plot[rows],
                y=trust[rows],
                customdata=custom[rows],
                hovertemplate=f"health={level}<br>validator trust Tv=%{{y}}<br>UID=%{{customdata[0]}}"
                "<br>hotkey=%{customdata[1]}<br>stake (α)=%{customdata[2]:,.1f}<br>why=%{customdata[3]}"
                "<extra></extra>",
                legendgroup=level,
                marker={
                    "color": health.COLOURS[level],
                    "line": {"color": "white", "width": 1},
                    "size": 10,
                    "symbol": "circle",
                },
                mode="markers",
                name=level,
                orientation="v",
                showlegend=True,
                xaxis="x",
                yaxis="y",
            )
        )
    layout = display.single_panel_axes(
        "stake (α, log scale)", "validator trust Tv", legend={"tracegroupgap": 0}
    )
    layout["xaxis"].update(dtick=1, type="log")  # log axis: a tick per power of ten, as on the Stake page
    layout["yaxis"]["range"] = [-0.03, 1.05]
    return go.Figure(data=traces, layout=layout)
