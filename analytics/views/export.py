"""CSV export shared by the pages' download buttons and `python -m analytics export`.

Two halves:

* :func:`csv_bytes` turns a DataFrame into deterministic UTF-8 CSV bytes (``\\n`` line ends, no index,
  floats in Python's shortest round-trip form, empty cells for missing values). Text cells that a
  spreadsheet would run as a formula (they begin with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
  return) get a leading ``'``; numbers are written as numbers, untouched. Chain strings (names,
  hotkeys) are untrusted, so this matters.
* The table builders (:func:`build_table` and the four ``*_table`` functions) make exactly the
  DataFrames the pages show. A page and the CLI call the same builder and the same writer, so the
  file from a download button and the file from the CLI are the same bytes.
"""

from __future__ import annotations

import functools
import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from analytics.data.store import SNAPSHOT_META_COLUMNS, StoreError, db_exists, db_token
from analytics.model import consensus

if TYPE_CHECKING:
    from analytics.data.snapshot import SubnetSnapshot
    from analytics.model.yuma import EpochInputs, EpochResult

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: str) -> str:
    """A text cell made safe for spreadsheets: a leading ``'`` when it could start a formula."""
    return "'" + cell if cell.startswith(FORMULA_PREFIXES) else cell


def _format_cell(value: Any) -> str:
    """One cell as CSV text: numbers as numbers, text neutralised, missing as empty."""
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        f = float(value)
        if math.isnan(f):
            return ""
        if math.isinf(f):
            return "inf" if f > 0 else "-inf"
        return repr(f)
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, bytes):
        value = value.hex()
    if isinstance(value, list | tuple | np.ndarray):
        value = " ".join(_format_cell(v) for v in value)
        return neutralise(value)
    return neutralise(str(value))


_NEEDS_QUOTES = re.compile('[,"\r\n]')


def _quote(cell: str) -> str:
    """RFC 4180 quoting: a cell holding a comma, a quote, CR or LF is quoted, inner quotes doubled."""
    if _NEEDS_QUOTES.search(cell):
        return '"' + cell.replace('"', '""') + '"'
    return cell


def _format_column(series: pd.Series) -> list[str]:
    """Every cell of one column as quoted CSV text; vectorised for the common numeric dtypes."""
    if not isinstance(series.dtype, np.dtype):  # strings (pandas' str dtype), nullable ints...
        return _format_objects(series.tolist())
    values = series.to_numpy()
    if values.dtype.kind == "b":
        return np.where(values, "true", "false").tolist()
    if values.dtype.kind in "iu":
        return [str(v) for v in values.tolist()]
    if values.dtype.kind == "f":
        finite = np.isfinite(values)
        if finite.all():
            return list(map(repr, values.tolist()))
        return [
            repr(v) if ok else _format_cell(v) for v, ok in zip(values.tolist(), finite.tolist(), strict=True)
        ]
    return _format_objects(series.tolist())


def _format_objects(cells: list[Any]) -> list[str]:
    if all(type(v) is str for v in cells):  # the common text column: no per-cell type dispatch
        return [_quote(neutralise(v)) for v in cells]
    return [_quote(_format_cell(v)) for v in cells]


def csv_bytes(df: pd.DataFrame) -> bytes:
    """Deterministic CSV of ``df`` (header + rows, no index, ``\\n`` line ends), safe in a spreadsheet."""
    header = ",".join(_quote(neutralise(str(c))) for c in df.columns)
    columns = [_format_column(df[c]) for c in df.columns]
    lines = [header, *(",".join(row) for row in zip(*columns, strict=True))] if columns else [header]
    return ("\n".join(lines) + "\n").encode("utf-8")


def csv_filename(table: str, netuid: int | None, mechid: int | None, snapshot_id: int, **extra: Any) -> str:
    """The file name a download button offers, e.g. ``validators_sn3_m0_snap12.csv``."""
    parts = [table]
    if netuid is not None:
        parts.append(f"sn{netuid}")
    if mechid is not None:
        parts.append(f"m{mechid}")
    parts.append(f"snap{snapshot_id}")
    parts += [f"{k}{v}" for k, v in sorted(extra.items()) if v is not None]
    return "_".join(parts) + ".csv"


# --------------------------------------------------------------------------------------------------
# Table builders: the DataFrames the pages show and the CLI writes.

RAO_PER_UNIT = 1_000_000_000
BLOCKS_PER_DAY = 7200  # 12 s blocks
U16_MAX = 65535
PROVENANCE_COLUMNS = ("snapshot_id", *SNAPSHOT_META_COLUMNS)


def epochs_per_day(tempo: int) -> float:
    """Since runtime spec 423 an epoch runs every `tempo` blocks (LastEpochBlock + tempo; before, the
    rule was every tempo + 1); 7200 blocks of 12 s make a day."""
    return BLOCKS_PER_DAY / max(int(tempo), 1)


def earnings_per_1000_per_day(
    validator_emission_rao: np.ndarray, stake_rao: np.ndarray, tempo: int
) -> np.ndarray:
    """What 1000 units staked on each validator earn per day, before the validator's take.

    validator emission per epoch (rao) / the validator's stake (rao) x 1000 x epochs per day, where
    epochs per day = 7200 / tempo. NaN where the validator has no stake.
    """
    emission = np.asarray(validator_emission_rao, dtype=np.float64)
    stake = np.asarray(stake_rao, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = emission / stake * 1000.0 * epochs_per_day(tempo)
    return np.where(stake > 0, out, np.nan)


@dataclass(frozen=True)
class SubnetAnalysis:
    """One stored subnet plus the engine's recomputation (netuid aggregate and each mechanism)."""

    snap: SubnetSnapshot
    aggregate: EpochResult
    per_mechanism: dict[int, EpochResult]
    per_inputs: dict[int, EpochInputs]  # what each mechanism's epoch ran on

    def result(self, mechid: int) -> EpochResult:
        if mechid not in self.per_mechanism:
            self.snap.mechanism(mechid)  # raises StoreError naming the mechanisms that exist
        return self.per_mechanism[mechid]


def _file_token(db_path: str) -> str:
    return db_token(db_path)


@functools.lru_cache(maxsize=8)
def _analysis(db_path: str, token: str, snapshot_id: int, netuid: int) -> SubnetAnalysis:
    from analytics.data.snapshot import load_subnet  # the engine and loader only when a table is built

    snap = load_subnet(db_path, snapshot_id, netuid)
    aggregate = snap.recompute()  # netuid-level aggregate; .mechanisms[k] is mechanism k's own epoch
    results = aggregate.mechanisms or [aggregate]
    inputs = aggregate.mechanism_inputs or [snap.epoch_inputs(m.mechid) for m in snap.mechanisms]
    per_mechanism = {m.mechid: r for m, r in zip(snap.mechanisms, results, strict=True)}
    per_inputs = {m.mechid: i for m, i in zip(snap.mechanisms, inputs, strict=True)}
    return SubnetAnalysis(snap=snap, aggregate=aggregate, per_mechanism=per_mechanism, per_inputs=per_inputs)


def subnet_analysis(db_path: str | os.PathLike[str], snapshot_id: int, netuid: int) -> SubnetAnalysis:
    """Load one subnet and recompute its epoch (memoised per file version, snapshot and subnet)."""
    db = str(db_path)
    if not db_exists(db):
        raise StoreError(f"database {db} does not exist")
    return _analysis(db, _file_token(db), int(snapshot_id), int(netuid))


def _f(u16: np.ndarray) -> np.ndarray:
    return np.asarray(u16, dtype=np.float64) / U16_MAX


def _bits(bits: np.ndarray) -> np.ndarray:
    return np.asarray(bits, dtype=np.float64) / (1 << 32)


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


# Severity order of analytics/consensus.py, worst first (for sorting), and which levels count as
# "out of consensus" in the headline figures (more than CLIPPED_MAJOR of the weight clipped, inactive,
# or no usable weights).
SEVERITY_ORDER = tuple(reversed(consensus.SEVERITIES))  # ("critical", "major", "minor", "info", "ok")
OUT_OF_CONSENSUS = ("critical", "major")


def validators_table(db_path: str, snapshot_id: int, netuid: int, mechid: int = 0) -> pd.DataFrame:
    """Every validator of one mechanism, the most severe consensus problem first, then by stake.

    Severity, reason, clipped mass, the miners clipped and the copier signal come from
    :func:`analytics.model.consensus.explain_validators`. Stake is the stake weight the epoch used (alpha +
    TAO x TaoWeight); Tv as recomputed for this mechanism and as the chain stored it (netuid level);
    earnings per 1000 staked per day: see :func:`earnings_per_1000_per_day` (all mechanisms together).
    The copier signal needs the previous epoch's consensus of the same mechanism, which the chain stores
    only at netuid level: it is shown for single-mechanism subnets (NaN otherwise).
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
            "severity": rows["severity"],
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
    rank = df["severity"].map({sev: i for i, sev in enumerate(SEVERITY_ORDER)}).fillna(len(SEVERITY_ORDER))
    df = df.assign(_rank=rank).sort_values(["_rank", "stake_alpha", "uid"], ascending=[True, False, True])
    return df.drop(columns="_rank").reset_index(drop=True)


VALIDATOR_COLUMNS = (
    "uid",
    "hotkey",
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


# --------------------------------------------------------------------------------------------------
# Snapshot-wide tables (Overview, History): stored values only, so 128 subnets stay fast.

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


# The CLI's --table choices, in the order --help lists them. Every builder takes
# (db_path, snapshot_id, netuid, mechid, **filters); SNAPSHOT_TABLES ignore the subnet.
TABLES: dict[str, Callable[..., pd.DataFrame]] = {
    "neurons": neurons_table,
    "weights": weights_table,
    "validators": validators_table,
    "consensus": consensus_table,
    "subnets": lambda db_path, snapshot_id, netuid=None, mechid=0: subnets_table(db_path, snapshot_id),
    "history": history_table,
}
SNAPSHOT_TABLES = frozenset({"subnets"})


def build_table(
    db_path: str, name: str, snapshot_id: int, netuid: int | None, mechid: int = 0, **filters: Any
) -> pd.DataFrame:
    """The table ``name`` (a key of TABLES) for one snapshot, subnet and mechanism.

    ``filters`` (miner=, validator=) apply to the weights table only.
    """
    if name not in TABLES:
        raise ValueError(f"unknown table {name!r}; choose one of {', '.join(TABLES)}")
    builder = TABLES[name]
    return builder(db_path, snapshot_id, netuid, mechid, **filters)
