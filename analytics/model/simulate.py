"""What-if simulator: replay a subnet mechanism's epochs with the exact engine, with and without a scenario.

Start from one mechanism's :class:`~analytics.model.yuma.EpochInputs` (as ``load_subnet(...).epoch_inputs(mechid)``
builds them from a stored snapshot) and run ``epochs`` epochs of :func:`analytics.model.yuma.epoch`, carrying the
state the chain carries from one epoch to the next (the engine's :func:`~analytics.model.yuma.carry_forward`):

* bonds: the bonds an epoch stores are the next epoch's input bonds (§4.9.5 of the design notes);
* validator permits: the permits an epoch computes mask the next epoch's rows and stake (§4.3);
* the clock: ``current_block`` advances by ``tempo``; ``last_mechanism_step_block`` becomes the previous
  epoch's block, so only the first epoch masks bonds to freshly registered miners (§4.9.2);
* who sets weights: weights are held fixed and re-set every epoch by every uid that was active in the
  first epoch, at the same phase of the tempo (``last_update`` and ``commit_block`` advance by ``tempo``
  each epoch), so nobody goes stale; uids already inactive in the snapshot stay inactive. A scenario
  changes this: a uid whose row a scenario rewrites sets it right before each epoch
  (``last_update = current_block - 1``); ``zero:U`` and ``stop:U`` freeze ``last_update``.

Stake, registrations and hyperparameters are held fixed (scenarios may change them once, for the whole
replay). The same replay without any scenario is the *baseline*; every figure is reported for both and
as a difference.

Scenarios, their one-token text form, parser and grammar live in :mod:`analytics.model.scenarios` (one
registry, :data:`~analytics.model.scenarios.KINDS`); their names stay importable from here.

Pure: numpy and :mod:`analytics.model.yuma` only.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from analytics.model.scenarios import (  # noqa: F401  (re-exported: simulate.* is the API the CLI and page use)
    KINDS,
    MAX_DIGITS,
    MAX_FACTOR,
    MIN_FACTOR,
    PARAM_SCENARIOS,
    SCENARIO_GRAMMAR,
    U16_MAX,
    U64_LIMIT,
    USAGE,
    WEIGHT_SCENARIOS,
    AlphaRange,
    BondsMovingAverage,
    BondsPenalty,
    CopyValidator,
    EditWeights,
    FollowConsensus,
    FormField,
    Kappa,
    LagConsensus,
    LateWeights,
    LiquidAlpha,
    MaxValidators,
    ParamScenario,
    ScaleMiner,
    ScaleStake,
    Scenario,
    ScenarioError,
    ScenarioKind,
    SetStake,
    StopSettingWeights,
    WeightScenario,
    Yuma3,
    ZeroWeights,
    check_combination,
    parse_scenario,
    parse_scenarios,
    scenario_uids,
    shorten,
)
from analytics.model.yuma import EpochInputs, EpochResult, activity_cutoff_blocks, carry_forward, epoch

MAX_EPOCHS = 200
ProgressFn = Callable[[int, int], None]  # progress(done, total) after each epoch replayed


def validate(scenarios: Sequence[Scenario], inputs: EpochInputs) -> list[str]:
    """Check scenarios against a subnet: raise :class:`ScenarioError` for unknown uids; return warnings."""
    check_combination(scenarios)
    n = len(inputs.alpha_stake)
    for s in scenarios:
        for uid in scenario_uids(s):
            if uid >= n:
                raise ScenarioError(f"scenario {s.spec!r}: uid {uid} is not on this subnet (uids 0-{n - 1})")
        if isinstance(s, ScaleStake):  # the scaled stake must stay a stake (found here, not mid-replay)
            _scaled_rao(s, int(inputs.alpha_stake[s.uid]))
            if inputs.tao_stake is not None:
                _scaled_rao(s, int(inputs.tao_stake[s.uid]))
    notes: list[str] = []
    permits = np.asarray(inputs.validator_permit, dtype=bool)
    for s in scenarios:
        if isinstance(s, CopyValidator) and not np.asarray(inputs.weights)[s.source].any():
            notes.append(f"{s.spec}: uid {s.source} has no weights to copy; uid {s.uid} will set none")
        if isinstance(s, WEIGHT_SCENARIOS) and not permits[s.uid]:
            notes.append(
                f"{s.spec}: uid {s.uid} holds no validator permit, so its weights count only once it earns one"
            )
    return notes


# --------------------------------------------------------------------------------------------------------
# Replay


@dataclass(frozen=True)
class Replay:
    """Outputs of consecutive epochs; arrays are (epochs, n) unless noted, values as the chain stores them."""

    blocks: np.ndarray  # (epochs,) current_block of each epoch
    consensus: np.ndarray  # u16
    incentive: np.ndarray  # u16
    validator_trust: np.ndarray  # u16
    dividends: np.ndarray  # u16
    stake_weight: np.ndarray  # u16
    active: np.ndarray  # bool
    validator_permit: np.ndarray  # bool, the new permits each epoch wrote
    server_emission: np.ndarray  # rao
    validator_emission: np.ndarray  # rao
    emission: np.ndarray  # rao (combined, what the chain stores as Emission)
    emission_share: np.ndarray  # float: (server + validator emission) / the mechanism's epoch emission
    bonds: np.ndarray  # (epochs, n, n) u16, the bonds each epoch stored

    @property
    def epochs(self) -> int:
        return len(self.blocks)


FIELDS = (
    "consensus",
    "incentive",
    "validator_trust",
    "dividends",
    "stake_weight",
    "emission_share",
    "server_emission",
    "validator_emission",
    "emission",
)
U16_FIELDS = ("consensus", "incentive", "validator_trust", "dividends", "stake_weight")


@dataclass(frozen=True)
class Simulation:
    """A baseline replay and the scenario replay of the same start, with the scenarios that made the difference."""

    scenarios: tuple[Scenario, ...]
    baseline: Replay
    scenario: Replay
    notes: tuple[str, ...] = ()
    # The starting inputs with the scenarios' stake, hyperparameters and fixed rows (edits, zeros, miners).
    inputs: EpochInputs | None = None

    @property
    def epochs(self) -> int:
        return self.baseline.epochs

    def delta(self, field: str) -> np.ndarray:
        """Scenario minus baseline for a per-epoch per-uid field (signed integers for u16 and rao fields)."""
        a, b = getattr(self.scenario, field), getattr(self.baseline, field)
        if a.dtype.kind in "iub":
            return a.astype(np.int64) - b.astype(np.int64)
        return a - b

    def target_uids(self) -> list[int]:
        """Uids the scenarios name directly (the validators and miners being changed), in order."""
        out: list[int] = []
        for s in self.scenarios:
            for uid in scenario_uids(s)[:1]:
                if uid not in out:
                    out.append(uid)
        return out

    @property
    def was_validator(self) -> np.ndarray:
        """(n,) bool: held a validator permit in some epoch of either replay."""
        return (self.scenario.validator_permit | self.baseline.validator_permit).any(axis=0)

    def paid(self) -> tuple[np.ndarray, np.ndarray]:
        """Emission paid per uid over the replay (miner incentive + validator dividends, rao): baseline, scenario."""
        base = self.baseline.server_emission.sum(0) + self.baseline.validator_emission.sum(0)
        scen = self.scenario.server_emission.sum(0) + self.scenario.validator_emission.sum(0)
        return base, scen

    def affected_uids(
        self, limit: int = 8, field: str = "emission_share", among: np.ndarray | None = None
    ) -> list[int]:
        """The scenarios' own uids, then those whose ``field`` moved most over the replay, up to ``limit``;
        ``among`` (bool per uid) keeps only some uids (e.g. the validators)."""
        keep = (
            np.ones(self.baseline.consensus.shape[1], dtype=bool)
            if among is None
            else np.asarray(among, bool)
        )
        out = [u for u in self.target_uids() if keep[u]][:limit]
        moved = np.abs(self.delta(field)).sum(axis=0) * keep
        for uid in np.argsort(-moved, kind="stable"):
            if len(out) >= limit or moved[uid] <= 1e-12:
                break
            if int(uid) not in out:
                out.append(int(uid))
        return out

    def biggest_winner_loser(self) -> tuple[int, int] | None:
        """The uids whose pay rose most and fell most over the replay (None when nobody's pay changed)."""
        base, scen = self.paid()
        change = scen.astype(np.int64) - base.astype(np.int64)
        if not change.any():
            return None
        return int(np.argmax(change)), int(np.argmin(change))

    def winners_losers(self) -> dict[str, np.ndarray]:
        """Per uid, summed over the epochs: emission (rao) and share, baseline vs scenario, sorted by the change."""
        base, scen = self.paid()
        change = scen.astype(np.int64) - base.astype(np.int64)
        with np.errstate(divide="ignore", invalid="ignore"):
            pct = np.where(base > 0, 100.0 * change / np.maximum(base, 1), np.nan)
        order = np.lexsort((np.arange(len(change)), -change))
        changed = order[change[order] != 0]
        return {
            "uid": changed,
            "baseline_rao": base[changed],
            "scenario_rao": scen[changed],
            "change_rao": change[changed],
            "change_pct": pct[changed],
            "baseline_share": self.baseline.emission_share.mean(0)[changed],
            "scenario_share": self.scenario.emission_share.mean(0)[changed],
            "final_tv_baseline": self.baseline.validator_trust[-1][changed],
            "final_tv_scenario": self.scenario.validator_trust[-1][changed],
        }

    def per_epoch_columns(self, uids: Sequence[int] | None = None) -> dict[str, np.ndarray]:
        """Long-format columns (epoch, block, uid, then each field for scenario, baseline and delta) for tables."""
        n = self.baseline.consensus.shape[1]
        uid_index = np.arange(n) if uids is None else np.asarray(list(uids), dtype=np.int64)
        e = self.epochs
        cols: dict[str, np.ndarray] = {
            "epoch": np.repeat(np.arange(e), len(uid_index)),
            "block": np.repeat(self.baseline.blocks, len(uid_index)),
            "uid": np.tile(uid_index, e),
        }
        for field in FIELDS:
            cols[field] = getattr(self.scenario, field)[:, uid_index].reshape(-1)
            cols[f"{field}_baseline"] = getattr(self.baseline, field)[:, uid_index].reshape(-1)
            cols[f"{field}_delta"] = self.delta(field)[:, uid_index].reshape(-1)
        return cols


def _max_upscale(rows: np.ndarray) -> np.ndarray:
    """Non-negative weights (a row, or rows along the last axis) as set_weights stores them: each row's largest
    entry becomes 65535, the others round(w * 65535 / max); an all-zero row stays zero."""
    rows = np.asarray(rows, dtype=np.float64)
    top = rows.max(axis=-1, keepdims=True, initial=0.0)
    scale = np.divide(U16_MAX, top, out=np.zeros_like(top), where=top > 0)
    return np.floor(rows * scale + 0.5).astype(np.int64).clip(0, U16_MAX)


@dataclass
class _Plan:
    """Scenarios compiled against one start: what is static, and what each epoch must recompute."""

    start: EpochInputs  # stake and hyperparameters changed; weights as stored
    weights: np.ndarray  # (n, n) int64: stored weights with miner scaling and static rows applied
    weights_set: np.ndarray | None
    refresh: np.ndarray  # bool: last_update advances by tempo each epoch
    fresh: np.ndarray  # bool: sets weights right before each epoch (scenario rows)
    follow: list[int]
    lag: list[int]
    copies: list[tuple[int, int]]  # in dependency order
    late: list[int]


def _apply_start(inputs: EpochInputs, scenarios: Sequence[Scenario]) -> EpochInputs:
    changes: dict[str, Any] = {}
    alpha = np.array(inputs.alpha_stake, dtype=np.int64, copy=True)
    tao = None if inputs.tao_stake is None else np.array(inputs.tao_stake, dtype=np.int64, copy=True)
    stake_changed = False
    for s in scenarios:
        if isinstance(s, PARAM_SCENARIOS):
            changes.update(s.params())
        elif isinstance(s, ScaleStake):
            stake_changed = True
            alpha[s.uid] = _scaled_rao(s, alpha[s.uid])
            if tao is not None:
                tao[s.uid] = _scaled_rao(s, tao[s.uid])
        elif isinstance(s, SetStake):
            stake_changed = True
            alpha[s.uid] = s.rao
            if tao is not None:
                tao[s.uid] = 0
    if stake_changed:
        changes["alpha_stake"] = alpha
        if tao is not None:
            changes["tao_stake"] = tao
    return dataclasses.replace(inputs, **changes) if changes else inputs


def _scaled_rao(s: ScaleStake, rao: int) -> int:
    """``rao`` times the factor, floored; ScenarioError when it leaves the stake range (a huge factor
    times a large stake overflows a float to infinity, which has no integer)."""
    product = int(rao) * s.factor
    if not math.isfinite(product) or product > U64_LIMIT:
        raise ScenarioError(f"scenario {s.spec!r}: the scaled stake exceeds {U64_LIMIT} rao")
    return math.floor(product)


def _compile(inputs: EpochInputs, scenarios: Sequence[Scenario], active0: np.ndarray) -> _Plan:
    start = _apply_start(inputs, scenarios)
    stored = np.asarray(inputs.weights, dtype=np.int64)
    weights = stored
    weights_set = None if inputs.weights_set is None else np.asarray(inputs.weights_set, dtype=bool)
    scale = [s for s in scenarios if isinstance(s, ScaleMiner)]
    if scale:
        col = np.ones(stored.shape[1])
        for miner in scale:
            col[miner.uid] *= miner.factor
        scaled = stored * col[None, :]
        # Validators re-set the changed rows; the chain stores them max-upscaled (largest entry 65535).
        changed = (stored[:, col != 1] > 0).any(axis=1)
        weights = stored.copy()
        weights[changed] = _max_upscale(scaled[changed])
    refresh = np.asarray(active0, dtype=bool).copy()
    fresh = np.zeros(len(refresh), dtype=bool)
    rows_set = weights_set.copy() if weights_set is not None else None
    weights = weights.copy() if weights is stored else weights
    for s in scenarios:
        if isinstance(s, EditWeights):
            row = np.zeros(weights.shape[1])
            for j, w in s.weights:
                row[j] = w
            weights[s.uid] = _max_upscale(row)
            fresh[s.uid] = True
        elif isinstance(s, ZeroWeights):
            weights[s.uid] = 0
            refresh[s.uid] = False
        elif isinstance(s, StopSettingWeights):
            refresh[s.uid] = False
        elif isinstance(s, FollowConsensus | LagConsensus | CopyValidator):
            fresh[s.uid] = True
    if rows_set is not None:
        for s in scenarios:
            if isinstance(s, EditWeights | ZeroWeights):
                rows_set[s.uid] = weights[s.uid] > 0
    copies = {s.uid: s.source for s in scenarios if isinstance(s, CopyValidator)}
    ordered: list[tuple[int, int]] = []
    done: set[int] = set()
    while len(ordered) < len(copies):  # sources before their copiers (cycles were rejected earlier)
        for uid, src in copies.items():
            if uid not in done and (src not in copies or src in done):
                ordered.append((uid, src))
                done.add(uid)
    return _Plan(
        start=start,
        weights=weights,
        weights_set=rows_set,
        refresh=refresh & ~fresh,
        fresh=fresh,
        follow=[s.uid for s in scenarios if isinstance(s, FollowConsensus)],
        lag=[s.uid for s in scenarios if isinstance(s, LagConsensus)],
        copies=ordered,
        late=[s.uid for s in scenarios if isinstance(s, LateWeights)],
    )


class _Recorder:
    """Preallocated per-epoch arrays, filled as the replay runs."""

    def __init__(self, epochs: int, n: int) -> None:
        self.blocks = np.zeros(epochs, dtype=np.int64)
        self.u16 = {f: np.zeros((epochs, n), dtype=np.int64) for f in U16_FIELDS}
        self.active = np.zeros((epochs, n), dtype=bool)
        self.permit = np.zeros((epochs, n), dtype=bool)
        self.rao = {
            f: np.zeros((epochs, n), dtype=np.int64)
            for f in ("server_emission", "validator_emission", "emission")
        }
        self.bonds = np.zeros((epochs, n, n), dtype=np.uint16)

    def record(self, k: int, block: int, out: EpochResult) -> None:
        self.blocks[k] = block
        for f in U16_FIELDS:
            self.u16[f][k] = getattr(out, f)
        self.active[k] = out.active
        self.permit[k] = out.new_validator_permit
        for f in self.rao:
            self.rao[f][k] = getattr(out, f)
        self.bonds[k] = out.bonds

    def replay(self, emission: int) -> Replay:
        paid = (self.rao["server_emission"] + self.rao["validator_emission"]).astype(np.float64)
        share = paid / emission if emission else np.zeros_like(paid)
        return Replay(
            blocks=self.blocks,
            active=self.active,
            validator_permit=self.permit,
            emission_share=share,
            bonds=self.bonds,
            **self.u16,
            **self.rao,
        )


Row = tuple[np.ndarray, "np.ndarray | None"]  # weight values and which entries are stored (None: > 0)


def _replay(
    plan: _Plan,
    epochs: int,
    previous_consensus: np.ndarray | None,
    progress: ProgressFn | None = None,
) -> Replay:
    start = plan.start
    n = len(start.alpha_stake)
    tempo = int(start.tempo)
    block0 = int(start.current_block)
    lu0 = np.asarray(start.last_update, dtype=np.int64)
    commit0 = None if start.commit_block is None else np.asarray(start.commit_block)
    stored = np.asarray(start.weights, dtype=np.int64)
    stored_set = None if start.weights_set is None else np.asarray(start.weights_set, dtype=bool)
    rec = _Recorder(epochs, n)
    out: EpochResult | None = None
    dynamic = bool(plan.follow or plan.lag or plan.copies or plan.late)
    late = set(plan.late)

    def static_row(u: int) -> Row:
        return plan.weights[u], None if plan.weights_set is None else plan.weights_set[u]

    def stored_row(u: int) -> Row:
        return stored[u], None if stored_set is None else stored_set[u]

    # What each late uid set for the previous epoch (before the first epoch: what is stored).
    previous: dict[int, Row] = {u: stored_row(u) for u in plan.late}
    followed: dict[int, Row] = {u: static_row(u) for u in plan.follow}
    prev_c = None if previous_consensus is None else np.asarray(previous_consensus, dtype=np.float64)

    def resolve() -> tuple[np.ndarray, np.ndarray | None, dict[int, Row]]:
        """This epoch's on-chain weights and, per dynamic uid, the row it means to set."""
        intended: dict[int, Row] = {u: static_row(u) for u in plan.late}
        for u in plan.lag:
            intended[u] = (_max_upscale(prev_c), None) if prev_c is not None else static_row(u)
        intended.update(followed)
        weights = plan.weights.copy()
        mask = None if plan.weights_set is None else plan.weights_set.copy()

        def put(u: int, row: Row) -> None:
            weights[u] = row[0]
            if mask is not None:
                mask[u] = row[0] > 0 if row[1] is None else row[1]

        for u, row in intended.items():
            put(u, previous[u] if u in late else row)
        for u, src in plan.copies:  # sources before copiers; a copier copies what is on chain
            intended[u] = (weights[src].copy(), None if mask is None else mask[src].copy())
            put(u, previous[u] if u in late else intended[u])
        return weights, mask, intended

    for k in range(epochs):
        block = block0 + k * tempo
        last_update = np.where(plan.refresh, lu0 + k * tempo, lu0)
        last_update = np.where(plan.fresh, block - 1, last_update)
        commit = commit0
        if commit0 is not None and k:  # a real commit block (not a "none" sentinel) moves with its setter
            moves = (plan.refresh | plan.fresh) & (commit0 >= 0) & (commit0 <= block0)
            commit = np.where(moves, commit0 + k * tempo, commit0)
        weights, mask, intended = (plan.weights, plan.weights_set, {}) if not dynamic else resolve()
        this_epoch: dict[str, Any] = dict(
            weights=weights, weights_set=mask, current_block=block, last_update=last_update
        )
        if out is None:
            inputs = dataclasses.replace(start, commit_block=commit, **this_epoch)
        else:  # bonds, permits and the last epoch's block as storage holds them after the previous epoch
            inputs = carry_forward(inputs, out, commit_block=commit, **this_epoch)
        if plan.follow:
            # A follower knows everybody else's weights this epoch and sets exactly the consensus they give
            # (computed with its own previous row in place, which moves the median little), at full I32F32
            # precision: it sets weights, it does not read the u16 the chain stores.
            consensus = np.asarray(epoch(inputs).consensus_bits, dtype=np.float64)
            followed = {u: (_max_upscale(consensus), None) for u in plan.follow}
            weights, mask, intended = resolve()
            inputs = dataclasses.replace(inputs, weights=weights, weights_set=mask)
        out = epoch(inputs)
        rec.record(k, block, out)
        previous = {u: intended[u] for u in plan.late}
        prev_c = np.asarray(out.consensus, dtype=np.float64)
        if progress is not None:
            progress(k + 1, epochs)
    return rec.replay(int(start.emission))


def simulate(
    inputs: EpochInputs,
    scenarios: Sequence[Scenario] = (),
    epochs: int = 20,
    *,
    previous_consensus: np.ndarray | None = None,
    baseline: Replay | None = None,
    progress: ProgressFn | None = None,
) -> Simulation:
    """Replay ``epochs`` epochs from ``inputs`` without and with ``scenarios``.

    ``previous_consensus`` (u16 per uid, the consensus stored before the first epoch) feeds ``lagcopy`` in
    the first epoch; without it a lagging copier keeps its stored row for that epoch.
    ``baseline``: a replay :func:`replay_baseline` made earlier from the same inputs and epochs (a page
    caches it), so only the scenario replay runs.
    ``progress(done, total)`` is called after each epoch replayed.
    Raises :class:`ScenarioError` for a scenario that does not fit this subnet.
    """
    _check_epochs(epochs)
    if len(inputs.alpha_stake) == 0:
        raise ScenarioError("the subnet has no neurons: there is nothing to replay")
    scenarios = tuple(scenarios)
    notes = validate(scenarios, inputs)
    if baseline is not None and baseline.epochs != epochs:
        raise ValueError(f"the baseline given has {baseline.epochs} epochs, not {epochs}")
    todo = (0 if baseline is not None else epochs) + (epochs if scenarios else 0)

    def tick(offset: int) -> ProgressFn | None:
        if progress is None:
            return None
        report = progress
        return lambda done, _total: report(offset + done, todo)

    active0 = _active(inputs)
    if baseline is None:
        baseline = _replay(_compile(inputs, (), active0), epochs, previous_consensus, tick(0))
    if not scenarios:
        return Simulation(scenarios, baseline, baseline, tuple(notes), inputs)
    plan = _compile(inputs, scenarios, active0)
    scenario = _replay(plan, epochs, previous_consensus, tick(todo - epochs))
    first = dataclasses.replace(plan.start, weights=plan.weights, weights_set=plan.weights_set)
    return Simulation(scenarios, baseline, scenario, tuple(notes), first)


def replay_baseline(
    inputs: EpochInputs, epochs: int = 20, *, previous_consensus: np.ndarray | None = None
) -> Replay:
    """The replay without any scenario (what :func:`simulate` compares against)."""
    _check_epochs(epochs)
    return _replay(_compile(inputs, (), _active(inputs)), epochs, previous_consensus)


def parse_epochs(text: str) -> int:
    """A replay length as typed or linked (``"20"``): a whole number from 1 to MAX_EPOCHS, else
    ScenarioError (``1e400``, ``nan``, ``-0``, a megabyte of digits...)."""
    stripped = text.strip()
    if not (stripped.isascii() and stripped.isdigit() and len(stripped) <= 6):
        raise ScenarioError(
            f"epochs must be a whole number from 1 to {MAX_EPOCHS}, got {shorten(stripped)!r}"
        )
    epochs = int(stripped)
    _check_epochs(epochs)
    return epochs


def _check_epochs(epochs: int) -> None:
    if not 1 <= epochs <= MAX_EPOCHS:
        raise ScenarioError(f"epochs must be between 1 and {MAX_EPOCHS}, got {epochs}")


def _active(inputs: EpochInputs) -> np.ndarray:
    """Who counts as active in the first epoch (the engine's rule: last_update + cutoff >= current_block)."""
    cutoff = activity_cutoff_blocks(inputs.activity_cutoff_factor_milli, inputs.tempo)
    return np.asarray(inputs.last_update, dtype=np.int64) + cutoff >= int(inputs.current_block)
