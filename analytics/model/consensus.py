"""Why is a validator out of consensus? Per-validator explanations and a weight-copier signal.

Pure: takes the engine's inputs and result (analytics.model.yuma) and returns plain dataclasses and lists,
so the validators page, the flags and the CSV exports share one explanation.

For every validator (a uid with a permit, or with weights on anyone but itself):
* validator trust Tv as recomputed and (when given) as stored, and the difference in u16;
* clipped mass 1 - Tv: the share of its normalised weight above consensus, clipped away;
* the miners where it was clipped, with its weight, the consensus and the excess;
* stake share against dividend share;
* reasons in plain words and a severity (thresholds below);
* a weight-copier signal when the previous epoch's consensus is known.
Per miner, `miner_consensus(result, uid)` shows each validator's weight against C_j and the stake
at or above it.
Pages: `explanation_table(explain_validators(...))` gives columns for a table/CSV; for a subnet with
several mechanisms explain each with `explain_validators(out.mechanism_inputs[m], out.mechanisms[m])`.

Severity (ordered): "ok" < "info" < "minor" < "major" < "critical". It is the worst of:
* clipped mass (permitted validators with counted weights): <= 5 % ok, <= 20 % minor, <= 50 % major,
  > 50 % critical. On mainnet subnet 2 every validator following the majority loses 1-3.5 % to
  clipping, so small clipping is normal; and an in-consensus validator stores Tv = 65534, not 65535;
* no validator permit: info (its weights do not count this epoch);
* permitted but not validating (no weights, only a self-weight, all outdated or masked): major;
* inactive (weights older than the activity cutoff): major (no influence on consensus, no active stake);
* some weights outdated by re-registration or masked by commit-reveal: minor;
* flagged as a likely copier: at least minor.
Weight on miners that consensus gives zero is mentioned from ZERO_CONSENSUS_NOTE of the row.

Weight-copier signal. The chain keeps the previous epoch's consensus in storage until the next epoch,
so a validator can set weights equal to it without evaluating any miner. For each validator with
counted weights we measure overlap (shared mass, sum_j min(a_j, b_j) of two vectors normalised to
sum 1; 1 = identical, 0 = disjoint) of its row with: the previous consensus, the current consensus,
and the closest other validator's row. The row is flagged "likely copier" when all of these hold:
overlap with the previous consensus >= COPIER_MIN_OVERLAP, it exceeds the overlap with the current
consensus by at least COPIER_MARGIN, it exceeds the overlap with every other validator's row, and the
consensus moved (previous vs current overlap <= COPIER_MAX_CONSENSUS_OVERLAP; otherwise copying
cannot be told apart from agreeing). It is a signal with the figures shown, never a verdict.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields

import numpy as np

from analytics.model.yuma import (
    ONE,
    EpochInputs,
    EpochResult,
    effective_activity_cutoff,
    weight_masks,
)

__all__ = [
    "CLIPPED_CRITICAL",
    "CLIPPED_MAJOR",
    "CLIPPED_MINOR",
    "COPIER_MARGIN",
    "COPIER_MAX_CONSENSUS_OVERLAP",
    "COPIER_MIN_OVERLAP",
    "SEVERITIES",
    "ZERO_CONSENSUS_NOTE",
    "ClippedMiner",
    "MinerConsensus",
    "MinerVote",
    "CopierSignal",
    "ValidatorExplanation",
    "clipped_matrix",
    "copier_signals",
    "miner_consensus",
    "explain_validators",
    "explanation_table",
    "overlap",
]

SEVERITIES = ("ok", "info", "minor", "major", "critical")
# Clipped-mass thresholds, calibrated on mainnet subnet 2 (2024-08), where every validator that
# follows the majority loses 1-3.5 % of its weight to clipping and the outliers lose 52-100 %.
CLIPPED_MINOR = 0.05  # clipped mass above this is at least "minor"
CLIPPED_MAJOR = 0.20  # above this "major"
CLIPPED_CRITICAL = 0.50  # above this "critical"
ZERO_CONSENSUS_NOTE = 0.05  # mention weight on zero-consensus miners from this share of the row
COPIER_MIN_OVERLAP = 0.90
COPIER_MARGIN = 0.02
COPIER_MAX_CONSENSUS_OVERLAP = 0.98
_TINY = 1e-12


@dataclass(frozen=True)
class ClippedMiner:
    """One miner where a validator's weight exceeded consensus and the excess was clipped."""

    uid: int
    weight: float  # the validator's normalised weight W_ij
    consensus: float  # C_j
    excess: float  # W_ij - C_j, the clipped amount (share of the validator's row)


@dataclass(frozen=True)
class CopierSignal:
    """Overlaps (shared weight mass, 0..1) of a validator's row with stale and current consensus."""

    uid: int
    overlap_previous_consensus: float
    overlap_current_consensus: float
    overlap_best_peer: float  # the closest other validator's row (0 when it has no peers)
    best_peer_uid: int | None
    consensus_moved: float  # 1 - overlap(previous consensus, current consensus)
    likely_copier: bool
    note: str


@dataclass
class ValidatorExplanation:
    """Everything the validators page shows for one validator (plain Python values)."""

    uid: int
    permit: bool  # previous epoch's permit, the one that decides whether its weights count
    new_permit: bool
    active: bool
    blocks_since_update: int
    activity_cutoff: int
    stake_share: float  # normalised stake S_i
    active_stake_share: float  # A_i (0 when inactive or without permit)
    dividend_share: float  # D_i (dividends sum to 1 across validators)
    dividend_to_stake: float | None  # D_i / S_i: 1 = paid in proportion to stake
    trust: float  # recomputed Tv
    trust_u16: int  # recomputed, as the chain would store it
    trust_stored_u16: int | None
    trust_delta_u16: int | None  # stored - recomputed
    clipped_mass: float  # 1 - Tv for rows with counted weights, else 0
    weights_set: int  # entries in storage (self-weight included)
    weights_counted: int  # entries left after every mask
    self_weights: int
    outdated: int  # entries dropped because the miner re-registered after they were set
    commit_reveal_masked: int
    miners_above_consensus: int
    zero_consensus_miners: int  # counted entries with weight > 0 on miners with C = 0
    zero_consensus_weight: float  # share of its row on those miners
    clipped_miners: list[ClippedMiner] = field(default_factory=list)  # largest excess first
    reasons: list[str] = field(default_factory=list)  # stable codes
    explanation: str = ""
    severity: str = "ok"
    copier: CopierSignal | None = None

    def as_row(self) -> dict[str, object]:
        """A flat dict for tables and CSV (lists summarised as text)."""
        # the scalar fields as they are (asdict would deep-copy every nested dataclass and list first:
        # a fifth of the Validators page's time at 256 UIDs, for fields dropped here anyway)
        skip = ("clipped_miners", "copier", "reasons")
        row = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in skip}
        row["reasons"] = ", ".join(self.reasons)
        row["top_clipped"] = "; ".join(f"uid {m.uid}: -{m.excess:.2%}" for m in self.clipped_miners[:5])
        c = self.copier
        row["copier_overlap_previous"] = None if c is None else round(c.overlap_previous_consensus, 4)
        row["copier_overlap_current"] = None if c is None else round(c.overlap_current_consensus, 4)
        row["copier_overlap_best_peer"] = None if c is None else round(c.overlap_best_peer, 4)
        row["likely_copier"] = False if c is None else c.likely_copier
        return row


def overlap(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Shared mass of non-negative vectors after normalising each to sum 1 (last axis); 0 if either is empty."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    sa = a.sum(axis=-1, keepdims=True)
    sb = b.sum(axis=-1, keepdims=True)
    an = np.divide(a, sa, out=np.zeros(np.broadcast_shapes(a.shape, sa.shape)), where=sa > _TINY)
    bn = np.divide(b, sb, out=np.zeros(np.broadcast_shapes(b.shape, sb.shape)), where=sb > _TINY)
    return np.minimum(an, bn).sum(axis=-1)


def _worse(current: str, candidate: str) -> str:
    return candidate if SEVERITIES.index(candidate) > SEVERITIES.index(current) else current


def _clipped_severity(mass: float) -> str:
    if mass > CLIPPED_CRITICAL:
        return "critical"
    if mass > CLIPPED_MAJOR:
        return "major"
    if mass > CLIPPED_MINOR:
        return "minor"
    return "ok"


def _copier_signals(
    uids: np.ndarray, rows: np.ndarray, previous: np.ndarray, current: np.ndarray
) -> dict[int, CopierSignal]:
    """Copier signals for validators `uids` with normalised weight rows `rows` (k, n)."""
    prev_o = overlap(rows, previous[None, :])
    cur_o = overlap(rows, current[None, :])
    moved = 1.0 - float(overlap(previous, current))
    k = len(uids)
    if k > 1:
        peers = np.stack([overlap(rows, rows[i][None, :]) for i in range(k)])  # (k, k)
        np.fill_diagonal(peers, -1.0)
        best = peers.argmax(axis=1)
        best_o = peers[np.arange(k), best]
    else:
        best = np.zeros(k, dtype=np.int64)
        best_o = np.zeros(k)
    out: dict[int, CopierSignal] = {}
    for i, uid in enumerate(uids.tolist()):
        p, c, b = float(prev_o[i]), float(cur_o[i]), max(0.0, float(best_o[i]))
        likely = (
            p >= COPIER_MIN_OVERLAP
            and p >= c + COPIER_MARGIN
            and p > b
            and moved >= 1.0 - COPIER_MAX_CONSENSUS_OVERLAP
        )
        peer_uid = int(uids[best[i]]) if k > 1 else None
        if moved < 1.0 - COPIER_MAX_CONSENSUS_OVERLAP:
            note = "consensus barely moved since the previous epoch, so copying cannot be told from agreeing"
        elif likely:
            note = (
                f"its weights share {p:.1%} with the previous epoch's consensus, more than with the current "
                f"consensus ({c:.1%}) or any other validator ({b:.1%}): likely copying stale consensus"
            )
        else:
            note = (
                f"shares {p:.1%} with the previous consensus, {c:.1%} with the current one, "
                f"{b:.1%} with its closest peer"
            )
        out[uid] = CopierSignal(uid, p, c, b, peer_uid, moved, likely, note)
    return out


@dataclass(frozen=True)
class MinerVote:
    """One validator's weight on a miner, against the miner's consensus."""

    validator_uid: int
    active_stake_share: float  # A_i: its say in consensus (0 when inactive or without a permit)
    weight: float  # normalised W_ij
    clipped: float  # max(0, W_ij - C_j)
    position: str  # "above", "at" or "below" consensus


@dataclass(frozen=True)
class MinerConsensus:
    """How a miner's consensus C_j came about: the stake-weighted median of the validators' weights."""

    uid: int
    consensus: float
    consensus_u16: int
    incentive: float
    stake_at_or_above: float  # share of the voting stake weighting it at least C_j (>= kappa)
    stake_above: float  # share weighting it strictly above C_j (< kappa): that excess is clipped
    votes: list[MinerVote]  # every validator with a counted row, heaviest say first


def miner_consensus(result: EpochResult, uid: int) -> MinerConsensus:
    """Explain miner `uid`'s consensus: each validator's weight on it and the stake behind C_j."""
    if not 0 <= uid < result.n:
        raise ValueError(f"uid {uid} is not on this subnet (n = {result.n})")
    rows = result.row_index
    w = result.weights_rows_bits[:, uid] if len(rows) else np.zeros(0, dtype=np.int64)
    a = result.active_stake_bits[rows]
    c = int(result.consensus_bits[uid])
    voting = a > 0
    total = float(a[voting].sum()) or 1.0
    at_or_above = float(a[voting & (w >= c)].sum()) / total
    above = float(a[voting & (w > c)].sum()) / total
    counted = result.weights_rows_bits.any(axis=1) if len(rows) else np.zeros(0, dtype=bool)
    votes = [
        MinerVote(
            int(rows[k]),
            float(a[k]) / ONE,
            float(w[k]) / ONE,
            max(0.0, float(w[k] - c) / ONE),
            "above" if w[k] > c else ("at" if w[k] == c else "below"),
        )
        for k in np.flatnonzero(counted)
    ]
    votes.sort(key=lambda v: (-v.active_stake_share, v.validator_uid))
    return MinerConsensus(
        uid,
        c / ONE,
        int(result.consensus[uid]),
        float(result.incentive_bits[uid]) / ONE,
        at_or_above,
        above,
        votes,
    )


def copier_signals(
    result: EpochResult, previous_consensus: Sequence[int] | np.ndarray, uids: Sequence[int] | None = None
) -> list[CopierSignal]:
    """Copier signals for the validators whose weights counted in `result` (or the given uids).

    previous_consensus: the chain's Consensus (u16 per uid) from the previous epoch.
    """
    w = result.weights_bits
    if uids is None:
        uids = [int(u) for u in np.flatnonzero(result.validator_permit & w.any(axis=1))]
    if not len(uids):
        return []
    idx = np.asarray(uids, dtype=np.int64)
    signals = _copier_signals(
        idx,
        w[idx].astype(np.float64),
        np.asarray(previous_consensus, dtype=np.float64),
        result.consensus_bits.astype(np.float64),
    )
    return [signals[int(u)] for u in idx]


def explain_validators(
    inputs: EpochInputs,
    result: EpochResult,
    *,
    stored_validator_trust: Sequence[int] | np.ndarray | None = None,
    previous_consensus: Sequence[int] | np.ndarray | None = None,
    max_clipped_miners: int = 20,
) -> list[ValidatorExplanation]:
    """Explain every validator's trust for one mechanism's epoch (`result = epoch(inputs)`).

    stored_validator_trust: the chain's ValidatorTrust u16 (to show recomputed vs stored).
    previous_consensus: the chain's Consensus u16 from the previous epoch (enables the copier signal).
    Returns one ValidatorExplanation per validator, ordered by uid.

    Several mechanisms: explain each one with its own inputs and result (out.mechanism_inputs[m],
    out.mechanisms[m]). The stored ValidatorTrust is the netuid-level weighted aggregate, so compare
    it with the aggregate `out.validator_trust`, not with one mechanism's trust.
    """
    n = result.n
    masks = weight_masks(inputs)
    permit = result.validator_permit
    non_self = masks.entries & ~np.eye(n, dtype=bool)
    chosen = np.flatnonzero(permit | result.new_validator_permit | non_self.any(axis=1))

    w = result.weights_bits  # (n, n) I32F32 bits, masked rows zero
    consensus = result.consensus_bits
    trust_bits = result.validator_trust_bits
    excess_bits = np.maximum(w - consensus[None, :], 0)
    cutoff = effective_activity_cutoff(inputs)
    last_update = np.asarray(inputs.last_update, dtype=np.int64)
    stake = result.stake_bits / ONE
    active_stake = result.active_stake_bits / ONE
    dividends = result.dividends_bits / ONE
    stored = None if stored_validator_trust is None else np.asarray(stored_validator_trust, dtype=np.int64)

    copier: dict[int, CopierSignal] = {}
    if previous_consensus is not None:
        if len(previous_consensus) != n:
            raise ValueError(f"previous_consensus has {len(previous_consensus)} entries for {n} uids")
        counted_uids = [u for u in chosen.tolist() if permit[u] and masks.kept[u].any() and w[u].any()]
        copier = {s.uid: s for s in copier_signals(result, previous_consensus, counted_uids)}

    out: list[ValidatorExplanation] = []
    for uid in chosen.tolist():
        kept = masks.kept[uid]
        row = w[uid]
        counted = bool(permit[uid] and kept.any() and row.any())
        tv = float(trust_bits[uid]) / ONE
        above = np.flatnonzero(excess_bits[uid] > 0)
        order = above[np.argsort(-excess_bits[uid][above], kind="stable")]
        clipped = [
            ClippedMiner(
                int(j), float(row[j]) / ONE, float(consensus[j]) / ONE, float(excess_bits[uid, j]) / ONE
            )
            for j in order[:max_clipped_miners]
        ]
        zero_c = kept & (row > 0) & (consensus == 0)
        zero_weight = float(row[zero_c].sum()) / ONE
        clipped_mass = max(0.0, 1.0 - tv) if counted else 0.0
        blocks = int(inputs.current_block) - int(last_update[uid])
        trust_u16 = int(result.validator_trust[uid])
        stored_u16 = None if stored is None else int(stored[uid])
        exp = ValidatorExplanation(
            uid=uid,
            permit=bool(permit[uid]),
            new_permit=bool(result.new_validator_permit[uid]),
            active=bool(result.active[uid]),
            blocks_since_update=blocks,
            activity_cutoff=cutoff,
            stake_share=float(stake[uid]),
            active_stake_share=float(active_stake[uid]),
            dividend_share=float(dividends[uid]),
            dividend_to_stake=(float(dividends[uid] / stake[uid]) if stake[uid] > 0 else None),
            trust=tv,
            trust_u16=trust_u16,
            trust_stored_u16=stored_u16,
            trust_delta_u16=None if stored_u16 is None else stored_u16 - trust_u16,
            clipped_mass=clipped_mass,
            weights_set=int(masks.entries[uid].sum()),
            weights_counted=int(kept.sum()),
            self_weights=int(masks.self_weight[uid].sum()),
            outdated=int(masks.outdated[uid].sum()),
            commit_reveal_masked=int(masks.commit_reveal[uid].sum()),
            miners_above_consensus=len(above),
            zero_consensus_miners=int(zero_c.sum()),
            zero_consensus_weight=zero_weight,
            clipped_miners=clipped,
            copier=copier.get(uid),
        )
        _reason(exp, masks.entries[uid], counted)
        out.append(exp)
    return out


def _reason(e: ValidatorExplanation, entries: np.ndarray, counted: bool) -> None:
    """Fill reasons, explanation and severity of one validator from its figures."""
    reasons: list[str] = []
    words: list[str] = []
    severity = "ok"
    not_validating = "major" if e.permit else "ok"  # a permit holder whose weights do not count
    if not e.permit:
        reasons.append("no_permit")
        words.append("no validator permit last epoch, so its weights were ignored")
        severity = _worse(severity, "info")
    if e.weights_set == 0:
        reasons.append("no_weights")
        words.append("has set no weights")
        severity = _worse(severity, not_validating)
    elif e.self_weights == e.weights_set:
        reasons.append("self_weight_only")
        words.append("its only weight is on itself, which the chain ignores")
        severity = _worse(severity, not_validating)
    if not e.active:
        reasons.append("inactive")
        words.append(
            f"stale weights: last set {e.blocks_since_update} blocks ago (activity cutoff {e.activity_cutoff}),"
            " so it has no say in consensus"
        )
        severity = _worse(severity, "major")
    nothing_left = e.permit and e.weights_counted == 0
    if e.outdated:
        reasons.append("outdated_weights")
        share = "all" if e.weights_counted == 0 and e.commit_reveal_masked == 0 else str(e.outdated)
        words.append(f"{share} of its weights point at miners re-registered since it set them")
        severity = _worse(severity, not_validating if nothing_left else "minor")
    if e.commit_reveal_masked:
        reasons.append("commit_reveal_masked")
        words.append(f"{e.commit_reveal_masked} weights were committed before the miner registered")
        severity = _worse(severity, not_validating if nothing_left else "minor")
    if counted:
        clipped_severity = _clipped_severity(e.clipped_mass)
        if clipped_severity == "ok":
            reasons.append("in_consensus")
            words.append(
                "in consensus"
                + (
                    f" ({e.clipped_mass:.1%} of its weight clipped on {e.miners_above_consensus} miners)"
                    if e.miners_above_consensus
                    else ""
                )
            )
        else:
            reasons.append("above_consensus")
            words.append(
                f"above consensus on {e.miners_above_consensus} miners ({e.clipped_mass:.1%} of its weight clipped)"
            )
        if e.zero_consensus_weight >= ZERO_CONSENSUS_NOTE:
            reasons.append("weight_on_zero_consensus")
            words.append(
                f"{e.zero_consensus_weight:.1%} of its weight is on {e.zero_consensus_miners} miners"
                " that consensus gives zero"
            )
        severity = _worse(severity, clipped_severity)
    elif (
        e.permit
        and e.weights_set
        and e.self_weights < e.weights_set
        and not (e.outdated or e.commit_reveal_masked)
    ):
        reasons.append("no_counted_weights")
        words.append("none of its weights count (all zero)")
        severity = _worse(severity, not_validating)
    if e.copier is not None and e.copier.likely_copier:
        reasons.append("likely_copier")
        words.append(e.copier.note)
        severity = _worse(severity, "minor")
    e.reasons = reasons
    e.explanation = "; ".join(words)
    e.severity = severity


def explanation_table(explanations: Sequence[ValidatorExplanation]) -> dict[str, list[object]]:
    """Column-oriented table (column name -> values), ready for a DataFrame or a CSV writer."""
    rows = [e.as_row() for e in explanations]
    if not rows:
        return {}
    return {key: [r[key] for r in rows] for key in rows[0]}


def clipped_matrix(result: EpochResult) -> np.ndarray:
    """(n, n) float: how much of each weight was clipped (W_ij - C_j where positive), for heatmaps."""
    w = result.weights_bits
    return np.maximum(w - result.consensus_bits[None, :], 0) / ONE
