"""The embedded demo network: deterministic (fixed seed), written through the store, labelled 'demo'.

What it holds: 8 subnets (one with 2 incentive mechanisms and an uneven 70/30 split), 12 weekly
snapshots, 256 UIDs per subnet (128 on the two-mechanism subnet, as the chain requires
MaxAllowedUids x mechanisms <= 256), up to 64 validator permits, sparse weights with explicit zeros,
UIDs recycled between snapshots (new hotkeys, new registration block; weights pointing at the slot
zeroed and the slot's own weights and bonds removed, as `replace_neuron` does on chain).

Consistency: every output (C, I, Tv, D, stake weight, bonds, emission, permits) is computed by the
project's own engine, `analytics.model.yuma.epoch_with_mechanisms`, run epoch by epoch with bonds, permits
and the previous consensus carried from one epoch to the next. A snapshot stores the inputs of its
last epoch and that epoch's outputs, so recomputing it reproduces the stored values exactly.

The cases a staker must be able to spot (uids in DEMO_CASES, on subnets 1 and 2):
  far_from_consensus  weights mostly on a few weak miners: heavily clipped, low validator trust;
  stale_weights       a big validator that stopped setting weights after week 1: inactive;
  no_permit           sets honest weights but its stake is below the top-64 cut: no permit, Tv = 0;
  copier              sets its weights to the previous epoch's consensus (stored on chain) each time.

The money path (schema version 2): every hotkey has a delegate take and a childkey take (varied; 0 and
the 18 % maximum on every subnet), a nominator count and, for validators, an on-chain identity name
(one hostile: markup and a bidi override, to be shown as text); each subnet has a pool with its own
price (TAO and alpha reserves drifting week to week), emission-gate terms and an owner cut; subnet 3
has child hotkeys (a registered parent with two children, one of them under the parent's own coldkey,
and an unregistered parent with one child). E is built from the per-block split the coinbase makes
(``analytics.model.returns.block_split``), the epoch's stake inputs include parent/child inheritance,
and the recorded dividends (what the chain stores as AlphaDividendsPerSubnet /
RootAlphaDividendsPerSubnet) are the payout ``analytics.model.returns.distribute`` computes. Hotkeys and
coldkeys are valid SS58 addresses (``analytics.ss58``), derived deterministically.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from filelock import FileLock

from analytics import ss58
from analytics.data import files, store
from analytics.model import returns
from analytics.model.yuma import EpochInputs, EpochResult, epoch_with_mechanisms, hyperparameter_inputs

SEED = 20260105
NETWORK = "demo"
WEEKS = 12
EPOCHS_PER_WEEK = 3  # simulated epochs per weekly snapshot (the last one is stored)
WARMUP_EPOCHS = 5  # extra epochs before the first snapshot so bonds have built up
BLOCKS_PER_WEEK = 7 * 24 * 3600 // 12
FIRST_ANCHOR_BLOCK = 7_200_000
FIRST_TAKEN_AT = datetime(2026, 1, 5, 6, 0)  # a Monday, 06:00 UTC (naive = UTC, as the store keeps it)
RAO = 10**9
QUALITY_DRIFT = 0.05  # per epoch: consensus moves, so copying the previous one is detectable
TAO_WEIGHT = int(0.18 * 2**64)  # raw u64 TaoWeight
MAX_TAKE = 11796  # MaxDelegateTake / MaxChildkeyTake: 18 % of 65535
OWNER_CUT = 11796  # SubnetOwnerCut
CK_BURN = 2**64 // 100  # CKBurn: 1 % of a parent's share from another coldkey is recycled
SPEC_VERSION = 459
HOSTILE_NAME = "<img src=x onerror=alert(1)> \u202eevil\u202c validator"  # an untrusted chain string
EMISSION_GATE = {"emission_gate_bar": 0.0042, "emission_bar_quantile": 0.61, "emission_gate_exponent": 3.0}
DEMO_DB_PATH = store.DEMO_DB_PATH


def _generator_fingerprint() -> str:
    """A hash of the code that decides the demo's contents (this module and the engine)."""
    digest = hashlib.sha256()
    package = Path(__file__).resolve().parents[1]
    for module in ("data/demo.py", "model/yuma.py", "model/returns.py"):
        digest.update((package / module).read_bytes())
    return digest.hexdigest()[:12]


# Stored in every demo snapshot's `note`: a demo built by other code is rebuilt by ensure_demo_db, so
# the app's "recomputed = stored" always holds for the demo, even after the engine changed.
NOTE = f"deterministic demo network (seed {SEED}, generator {_generator_fingerprint()}); not chain data"


# The chain's default hyperparameters, as the engine's EpochInputs declares them: one place for those numbers.
CHAIN_DEFAULT: dict[str, Any] = {f.name: f.default for f in fields(EpochInputs)}


@dataclass(frozen=True)
class SubnetSpec:
    """The shape and hyperparameters of one demo subnet."""

    netuid: int
    name: str
    symbol: str
    n: int = 256
    validators: int = 40  # weight-setting validators with stake (the owner uid 0 among them)
    stakers: int = 3  # miners holding a little stake: a permit without weights, or none when permits run out
    max_validators: int = 64
    tempo: int = CHAIN_DEFAULT["tempo"]
    yuma3: bool = True
    liquid_alpha: bool = CHAIN_DEFAULT["liquid_alpha"]
    kappa: int = CHAIN_DEFAULT["kappa"]
    bonds_penalty: int = CHAIN_DEFAULT["bonds_penalty"]
    bonds_moving_avg: int = CHAIN_DEFAULT["bonds_moving_average"]
    commit_reveal: bool = False
    split: tuple[int, ...] | None = None  # MechanismEmissionSplit; its length is the mechanism count
    stake_threshold: int = 0
    burn: float = 0.0  # share of every honest row given to the owner uid (burned incentive)
    cases: bool = False  # plant the four staker cases
    emission_alpha: float = 150.0  # E per epoch, in alpha
    price_tao: float = 0.02  # the pool's spot price at the first snapshot (TAO per alpha)
    children: bool = False  # plant parent/child hotkeys

    @property
    def mechanism_count(self) -> int:
        return len(self.split) if self.split else 1


SUBNETS: tuple[SubnetSpec, ...] = (
    # 62 + 5 stake holders for 64 permits: the no-permit case and the two smallest stakers miss out
    SubnetSpec(
        1, "demo inference", "α", validators=62, stakers=5, cases=True, emission_alpha=310.0, price_tao=0.085
    ),
    SubnetSpec(
        2,
        "demo storage",
        "β",
        yuma3=False,
        validators=61,
        stakers=6,
        cases=True,
        emission_alpha=180.0,
        price_tao=0.041,
    ),
    SubnetSpec(
        3,
        "demo forecasting",
        "γ",
        liquid_alpha=True,
        bonds_moving_avg=975_000,
        emission_alpha=95.0,
        price_tao=0.0123,
        children=True,
    ),
    SubnetSpec(
        4,
        "demo two mechanisms",
        "δ",
        n=128,
        validators=22,
        split=(45875, 19660),
        emission_alpha=120.0,
        price_tao=0.0067,
    ),
    SubnetSpec(
        5,
        "demo burn + commit-reveal",
        "ε",
        commit_reveal=True,
        burn=0.6,
        emission_alpha=70.0,
        price_tao=0.0031,
    ),
    SubnetSpec(
        6,
        "demo vision",
        "ζ",
        yuma3=False,
        bonds_penalty=32767,
        validators=30,
        emission_alpha=140.0,
        price_tao=0.156,
    ),
    SubnetSpec(
        7,
        "markup <b>not bold</b> & co",  # an untrusted chain string: pages must show it as text
        "η",
        n=192,
        validators=28,
        stakers=8,
        stake_threshold=1_000 * RAO,
        emission_alpha=55.0,
        price_tao=0.0215,
    ),
    SubnetSpec(8, "demo slow tempo", "θ", tempo=720, validators=34, emission_alpha=210.0, price_tao=0.0502),
)

ROLES = ("far_from_consensus", "stale_weights", "no_permit", "copier")


def _rng(*key: int) -> np.random.Generator:
    return np.random.default_rng([SEED, *key])


@dataclass(frozen=True)
class Layout:
    """Which uid does what on a subnet (fixed for the whole history; miners' slots get recycled)."""

    validators: np.ndarray  # uids with validator stake that set weights (owner uid 0 included)
    stakers: np.ndarray  # miners holding a little stake
    roles: dict[str, int]


def layout(spec: SubnetSpec) -> Layout:
    """Deterministic roles: validators scattered over the uids, uid 0 the owner."""
    rng = _rng(spec.netuid, 0)
    others = rng.permutation(np.arange(1, spec.n))
    validators = np.sort(np.concatenate([[0], others[: spec.validators - 1]]))
    stakers = np.sort(others[spec.validators - 1 : spec.validators - 1 + spec.stakers])
    roles: dict[str, int] = {}
    if spec.cases:
        picks = rng.choice(validators[1:], size=len(ROLES), replace=False)
        roles = {role: int(uid) for role, uid in zip(ROLES, picks, strict=True)}
    return Layout(validators=validators, stakers=stakers, roles=roles)


DEMO_CASES: dict[int, dict[str, int]] = {s.netuid: layout(s).roles for s in SUBNETS if s.cases}


# Validator slots (index into a subnet's validators) held by one operator on every subnet.
OPERATORS = {1: "Opentensor Labs", 2: "Kraken Stake"}


def _hotkey(rng: np.random.Generator) -> str:
    """A deterministic, valid SS58 address (prefix 42) derived from 47 characters the generator draws
    (the same draws as before the keys became real addresses, so the rest of the demo is unchanged)."""
    alphabet = np.array(list(ss58.ALPHABET))
    return ss58.derive("demo:" + "".join(rng.choice(alphabet, size=47)))


def anchor_block(week: int) -> int:
    return FIRST_ANCHOR_BLOCK + week * BLOCKS_PER_WEEK


def epoch_block(spec: SubnetSpec, week: int) -> int:
    """The subnet's last epoch before the weekly snapshot (differs between subnets, like on chain)."""
    anchor = anchor_block(week)
    return anchor - 1 - (anchor + 37 * spec.netuid) % spec.tempo


# --------------------------------------------------------------------------------------------------
# One subnet's history


class _SubnetSim:
    """The chain state of one demo subnet, moved forward epoch by epoch."""

    def __init__(self, spec: SubnetSpec) -> None:
        self.spec = spec
        self.lay = layout(spec)
        self.rng = _rng(spec.netuid, 1)
        n, m = spec.n, spec.mechanism_count
        rng = self.rng
        self.hotkeys = [_hotkey(rng) for _ in range(n)]
        self.coldkeys = [_hotkey(rng) for _ in range(n)]
        self.owner_hotkey = self.hotkeys[0]
        # validators share a few coldkeys, as operators often do
        for k, uid in enumerate(self.lay.validators[1:]):
            if k % 7 == 3:
                self.coldkeys[int(uid)] = self.coldkeys[int(self.lay.validators[1 + k - 1])]
        # Two operators validate every subnet with one hotkey and coldkey, as the big validators do
        # on chain (the Stake page's search shows one validator's positions on every subnet).
        self.operators = {int(self.lay.validators[slot]): name for slot, name in OPERATORS.items()}
        for uid, name in self.operators.items():
            self.hotkeys[uid] = ss58.derive(f"demo:operator:{name}:hotkey")
            self.coldkeys[uid] = ss58.derive(f"demo:operator:{name}:coldkey")
        self.registered = FIRST_ANCHOR_BLOCK - 400_000 + rng.integers(0, 200_000, n)
        self.is_validator = np.zeros(n, dtype=bool)
        self.is_validator[self.lay.validators] = True
        miners = ~self.is_validator
        self.miners = np.flatnonzero(miners)

        self.alpha = np.zeros(n, dtype=np.int64)
        self.tao = np.zeros(n, dtype=np.int64)
        v = self.lay.validators
        self.alpha[v] = (rng.lognormal(np.log(40_000), 1.1, len(v)) * RAO).astype(np.int64)
        self.alpha[0] = 25_000 * RAO  # the owner
        root_holders = v[rng.random(len(v)) < 0.3]
        self.tao[root_holders] = (rng.lognormal(np.log(20_000), 0.8, len(root_holders)) * RAO).astype(
            np.int64
        )
        self.alpha[self.lay.stakers] = (rng.uniform(50, 500, len(self.lay.stakers)) * RAO).astype(np.int64)
        roles = self.lay.roles
        if roles:
            self.alpha[roles["stale_weights"]] = int(self.alpha[v].max() * 0.9)  # a big one went quiet
            self.alpha[roles["no_permit"]] = 30 * RAO  # below every staker: no permit
            self.tao[roles["no_permit"]] = 0
        # per-validator habits: how many miners they score, how noisy they are
        self.top_k = rng.integers(100, 140, n)
        self.noise = rng.uniform(0.003, 0.05, n)
        self.noise[rng.choice(v[1:], size=2, replace=False)] *= 3.0  # two sloppy validators
        self.quality = [self._new_quality(len(self.miners)) for _ in range(m)]  # per mechanism, per miner
        # the far-from-consensus validator favours three weak miners (its own, say)
        weak = self.miners[np.argsort(self.quality[0], kind="stable")]
        self.far_targets = np.sort(np.setdiff1d(weak[:8], self.lay.stakers)[:3])
        self.weights = [np.zeros((n, n), dtype=np.int64) for _ in range(m)]
        self.weights_set = [np.zeros((n, n), dtype=bool) for _ in range(m)]
        self.bonds = [np.zeros((n, n), dtype=np.int64) for _ in range(m)]
        self.last_update = [self.registered.copy() for _ in range(m)]
        self.commit_block = [np.full(n, -1, dtype=np.int64) for _ in range(m)]
        self.prev_consensus = np.zeros(n, dtype=np.int64)
        self.prev_incentive = [np.zeros(n, dtype=np.int64) for _ in range(m)]
        stake = self.alpha + self.tao  # initial permits: the top-k stake, as a previous epoch left them
        order = np.argsort(-stake, kind="stable")
        self.permit = np.zeros(n, dtype=bool)
        self.permit[order[: spec.max_validators]] = True
        self.permit &= stake > 0
        self.permit[0] = True
        self.last_epoch = 0
        self._money(spec)

    def _money(self, spec: SubnetSpec) -> None:
        """Takes, nominators, identities, parent/child relations and the extra (parent) keys."""
        rng = _rng(spec.netuid, 3)  # its own stream: the consensus history above is unchanged
        n, v = spec.n, self.lay.validators
        self.delegate_take = np.full(n, MAX_TAKE, dtype=np.int64)  # the chain's default take
        self.childkey_take = np.zeros(n, dtype=np.int64)
        self.delegate_take[v] = rng.choice([0, 1311, 3277, 5898, 9830, MAX_TAKE], size=len(v))
        self.childkey_take[v] = rng.choice([0, 655, 3277, MAX_TAKE], size=len(v))
        self.delegate_take[v[1 % len(v)]], self.delegate_take[v[-1]] = 0, MAX_TAKE  # both ends everywhere
        self.nominators = np.where(self.is_validator, rng.integers(1, 900, n), rng.integers(0, 3, n))
        names = ["Tensor Forge", "Opentensor Labs", "Rizzo", "Yuma Validator", "Datura", "Kraken Stake"]
        self.identity = {int(uid): f"{names[k % len(names)]} {spec.netuid}.{k}" for k, uid in enumerate(v)}
        self.identity.update(self.operators)
        if spec.netuid == 1:
            self.identity[int(v[min(3, len(v) - 1)])] = HOSTILE_NAME  # uid v[3] of the real demo
        self.root_proportion = ((15 + 3 * spec.netuid) << returns.FRAC) // 100
        # Extra keys (indices n, n + 1, ...): parents that are not registered on the subnet.
        self.extra_hotkeys: list[str] = []
        self.extra_coldkeys: list[str] = []
        self.extra_alpha: list[int] = []
        self.extra_tao: list[int] = []
        self.parents: dict[int, list[tuple[int, int]]] = {}
        if spec.children and len(v) > 15:  # a shrunk demo (tests) may have too few validators
            by_stake = v[1:][np.argsort(-self.alpha[v[1:]], kind="stable")]
            parent, kid_a, kid_b, kid_c = (int(x) for x in by_stake[[0, 5, 9, 14]])
            self.coldkeys[kid_b] = self.coldkeys[parent]  # same operator: no childkey take between them
            self.parents[kid_a] = [(int(0.30 * returns.U64_MAX), parent)]
            self.parents[kid_b] = [(int(0.20 * returns.U64_MAX), parent)]
            self.extra_hotkeys.append(ss58.derive(f"demo:{spec.netuid}:parent"))
            self.extra_coldkeys.append(ss58.derive(f"demo:{spec.netuid}:parent-owner"))
            self.extra_alpha.append(90_000 * RAO)
            self.extra_tao.append(15_000 * RAO)
            self.parents[kid_c] = [(returns.U64_MAX, n)]  # all of the unregistered parent's stake
            self.childkey_take[[kid_a, kid_c]] = [MAX_TAKE, 3277]
            self.identity[n] = "Unregistered Parent Co."

    def own_stakes(self) -> tuple[np.ndarray, np.ndarray]:
        """Own alpha and root stake (rao) of every key: the uids, then the extra parents."""
        alpha = np.concatenate([self.alpha, np.asarray(self.extra_alpha, dtype=np.int64)])
        tao = np.concatenate([self.tao, np.asarray(self.extra_tao, dtype=np.int64)])
        return alpha, tao

    def epoch_stakes(self) -> tuple[np.ndarray, np.ndarray]:
        """The stake the epoch uses: own stake with parent/child inheritance, per uid."""
        alpha, tao = self.own_stakes()
        if not self.parents:
            return self.alpha.copy(), self.tao.copy()
        n = self.spec.n
        return (
            returns.inherited_stake(alpha, self.parents, size=n),
            returns.inherited_stake(tao, self.parents, size=n),
        )

    def _new_quality(self, size: int) -> np.ndarray:
        return self.rng.lognormal(0.0, 0.9, size)

    # -- between epochs -----------------------------------------------------------------------------

    def drift_stake(self) -> None:
        holders = self.alpha > 0
        factor = np.exp(self.rng.normal(0.0, 0.05, int(holders.sum())))
        self.alpha[holders] = (self.alpha[holders] * factor).astype(np.int64)

    def recycle(self, count: int, window: tuple[int, int]) -> None:
        """Deregister the weakest miners and register new hotkeys in their slots (`replace_neuron`)."""
        rng = self.rng
        candidates = np.setdiff1d(self.miners, np.concatenate([self.lay.stakers, self.far_targets]))
        weakest = candidates[np.argsort(self.prev_incentive[0][candidates], kind="stable")[: count * 3]]
        chosen = np.sort(rng.choice(weakest, size=count, replace=False))
        for uid in chosen:
            block = int(rng.integers(*window))
            self.hotkeys[uid] = _hotkey(rng)
            self.coldkeys[uid] = _hotkey(rng)
            self.registered[uid] = block
            self.alpha[uid] = 0
            self.tao[uid] = 0
            self.prev_consensus[uid] = 0
            self.permit[uid] = False
            idx = int(np.searchsorted(self.miners, uid))
            for m in range(self.spec.mechanism_count):
                self.last_update[m][uid] = block
                self.prev_incentive[m][uid] = 0
                self.bonds[m][uid, :] = 0  # the slot's own bonds are removed
                self.weights[m][uid, :] = 0  # ... and the weights it set
                self.weights_set[m][uid, :] = False
                self.weights[m][:, uid] = 0  # weights pointing at it are zeroed, entries kept
                self.quality[m][idx] = self._new_quality(1)[0]

    def set_weights(self, epoch: int) -> None:
        """Every weight-setter submits a new row at a block inside (epoch - tempo, epoch)."""
        spec, rng, lay = self.spec, self.rng, self.lay
        n = spec.n
        setters = lay.validators.copy()
        roles = lay.roles
        if roles and epoch > epoch_block(spec, 1):
            setters = setters[setters != roles["stale_weights"]]
        if roles:
            setters = np.concatenate([setters, [roles["no_permit"]]])
        blocks = epoch - 1 - rng.integers(0, spec.tempo - 1, len(setters))
        for m in range(spec.mechanism_count):
            q = self.quality[m] * np.exp(rng.normal(0.0, QUALITY_DRIFT, len(self.miners)))
            self.quality[m] = q
            noisy = q[None, :] * np.exp(
                rng.normal(0.0, 1.0, (len(setters), len(self.miners))) * self.noise[setters, None]
            )
            rows = np.zeros((len(setters), n), dtype=np.float64)
            present = np.zeros((len(setters), n), dtype=bool)
            for r, uid in enumerate(setters):
                k = min(int(self.top_k[uid]), len(self.miners))
                top = np.argsort(-noisy[r], kind="stable")[:k]
                rows[r, self.miners[top]] = noisy[r, top] ** 2
                present[r, self.miners[top]] = True
                zeros = rng.choice(self.miners, size=k // 4, replace=False)  # scored, judged worthless
                present[r, zeros] = True
                if spec.burn:
                    rows[r] *= (1 - spec.burn) / max(rows[r].sum(), 1e-12)
                    rows[r, 0] = spec.burn
                    present[r, 0] = True
            if roles:
                r = int(np.flatnonzero(setters == roles["far_from_consensus"])[0])
                rows[r] = 0.0
                present[r] = False
                rows[r, self.far_targets] = [0.5, 0.3, 0.2]
                extra = rng.choice(self.miners, size=12, replace=False)
                rows[r, extra] += rng.uniform(0.0, 0.03, 12)
                present[r, self.far_targets] = present[r, extra] = True
                r = int(np.flatnonzero(setters == roles["copier"])[0])
                rows[r] = self.prev_consensus.astype(np.float64)
                rows[r, roles["copier"]] = 0.0
                present[r] = rows[r] > 0
            peak = rows.max(axis=1, keepdims=True)
            u16 = np.where(peak > 0, np.rint(rows / np.where(peak > 0, peak, 1) * 65535), 0).astype(np.int64)
            self.weights[m][setters] = u16
            self.weights_set[m][setters] = present | (u16 > 0)
            self.last_update[m][setters] = blocks
            # a slot re-registered after a validator set its row had that entry zeroed by the chain
            fresh = np.flatnonzero((self.registered > epoch - spec.tempo) & (self.registered < epoch))
            for uid in fresh:
                self.weights[m][setters[blocks < self.registered[uid]], uid] = 0
            if spec.commit_reveal:  # last_update is the commit block; the commit stays pending
                self.commit_block[m][setters] = blocks

    # -- the epoch --------------------------------------------------------------------------------

    def inputs(self, epoch: int, emission: int) -> dict:
        spec = self.spec
        alpha_stake, tao_stake = self.epoch_stakes()
        base = EpochInputs(
            weights=self.weights[0],
            weights_set=self.weights_set[0],
            bonds=self.bonds[0],
            alpha_stake=alpha_stake,
            tao_stake=tao_stake,
            tao_weight=TAO_WEIGHT,
            last_update=self.last_update[0],
            block_at_registration=self.registered.copy(),
            validator_permit=self.permit.copy(),
            commit_block=self.commit_block[0] if spec.commit_reveal else None,
            current_block=epoch,
            **hyperparameter_inputs(vars(spec)),
            owner_uid=0,
            last_mechanism_step_block=self.last_epoch,
            emission=emission,
        )
        m = range(spec.mechanism_count)
        return dict(
            inputs=base,
            mechanism_weights=[self.weights[k].copy() for k in m],
            mechanism_bonds=[self.bonds[k].copy() for k in m],
            mechanism_last_update=[self.last_update[k].copy() for k in m],
            split=list(spec.split) if spec.split else None,
            mechanism_weights_set=[self.weights_set[k].copy() for k in m],
            mechanism_commit_block=[self.commit_block[k].copy() for k in m] if spec.commit_reveal else None,
        )

    def run_epoch(self, epoch: int, emission: int) -> tuple[dict, EpochResult]:
        args = self.inputs(epoch, emission)
        result = epoch_with_mechanisms(**args)
        for k, mech in enumerate(result.mechanisms):
            self.bonds[k] = mech.bonds.astype(np.int64)
            self.prev_incentive[k] = mech.incentive.astype(np.int64)
        self.permit = result.new_validator_permit.astype(bool)
        self.prev_consensus = result.consensus.astype(np.int64)
        return args, result


# --------------------------------------------------------------------------------------------------
# Snapshot rows


def _pool(spec: SubnetSpec, week: int) -> dict:
    """The subnet's pool at the snapshot: reserves drifting week to week, each subnet its own price."""
    price = spec.price_tao * float(np.exp(0.12 * np.sin(0.9 * week + spec.netuid)))
    alpha_reserve = int((1_500_000 + 250_000 * spec.netuid + 20_000 * week) * RAO)
    tao_reserve = int(alpha_reserve * price)
    return {
        "tao_reserve": tao_reserve,
        "alpha_reserve": alpha_reserve,
        "alpha_outstanding": int(alpha_reserve * (1.6 + 0.05 * week)),
        "price_rao": tao_reserve * RAO // alpha_reserve,
        "moving_price": price * (1.0 - 0.03 * float(np.cos(week + spec.netuid))),
    }


def _emission(spec: SubnetSpec, sim: _SubnetSim, week: int) -> dict:
    """This week's per-epoch amounts, built from the coinbase's per-block split over `tempo` blocks."""
    target = spec.emission_alpha * RAO * (1 + 0.08 * np.sin(week + spec.netuid))
    alpha_out = int(target / spec.tempo / (1 - OWNER_CUT / 65535))
    split = returns.block_split(alpha_out, owner_cut_u16=OWNER_CUT, root_proportion_bits=sim.root_proportion)
    pending = {
        "pending_server": split.server * spec.tempo,
        "pending_validator": split.validator * spec.tempo,
        "pending_root": split.root * spec.tempo,
        "owner_cut": split.owner_cut * spec.tempo,
    }
    return {
        **pending,
        "epoch_emission": pending["pending_server"] + pending["pending_validator"] + pending["pending_root"],
        "block_alpha_out": alpha_out,
    }


def _subnet_row(spec: SubnetSpec, sim: _SubnetSim, e: int, money: dict) -> dict:
    extra = {k: v for k, v in money.items() if k != "epoch_emission"}
    return {
        "netuid": spec.netuid,
        "name": spec.name,
        "symbol": spec.symbol,
        "owner_hotkey": sim.owner_hotkey,
        "owner_coldkey": sim.coldkeys[0],
        "n": spec.n,
        "tempo": spec.tempo,
        "kappa": spec.kappa,
        "bonds_moving_avg": spec.bonds_moving_avg,
        "bonds_penalty": spec.bonds_penalty,
        "activity_cutoff_factor_milli": 13889,
        "yuma3": spec.yuma3,
        "liquid_alpha": spec.liquid_alpha,
        "alpha_low": 45875,
        "alpha_high": 58982,
        "alpha_sigmoid_steepness": 1000,
        "max_validators": spec.max_validators,
        "commit_reveal": spec.commit_reveal,
        "tao_weight": TAO_WEIGHT,
        "stake_threshold": spec.stake_threshold,
        "mechanism_count": spec.mechanism_count,
        "emission_split": list(spec.split) if spec.split else None,
        "epoch_emission": money["epoch_emission"],
        "aligned": True,
        "epoch_block": e,
        "inputs_block": e - 1,
        "weights_block": e if spec.commit_reveal else e - 1,
        "outputs_block": e,
        "last_mechanism_step_block": e - spec.tempo,
        "epoch_emission_source": "model",
        "subnet_owner_cut": OWNER_CUT,
        "root_proportion": sim.root_proportion / returns.ONE,
        "ck_burn": CK_BURN,
        "excess_tao": 0,
        "emission_bar_rank": 32,
        "epoch_spec_version": SPEC_VERSION,
        **EMISSION_GATE,
        **extra,
    }


def _long(
    matrix: np.ndarray, present: np.ndarray, netuid: int, mechid: int, value: str
) -> dict[str, np.ndarray]:
    i, j = np.nonzero(present)
    return {
        "netuid": np.full(len(i), netuid, dtype=np.int32),
        "mechid": np.full(len(i), mechid, dtype=np.int32),
        "validator_uid": i.astype(np.int32),
        "miner_uid": j.astype(np.int32),
        value: matrix[i, j].astype(np.uint16),
    }


def _money_rows(spec: SubnetSpec, sim: _SubnetSim, result: EpochResult, prev: dict, money: dict) -> dict:
    """The `hotkeys` and `child_keys` rows of one subnet: takes, stakes and the dividends the model pays."""
    n = spec.n
    hotkeys = list(prev["hotkeys"]) + sim.extra_hotkeys
    coldkeys = list(prev["coldkeys"]) + sim.extra_coldkeys
    extras = len(sim.extra_hotkeys)
    ids = {c: i for i, c in enumerate(dict.fromkeys(coldkeys))}
    alpha, tao = sim.own_stakes()
    keys = returns.Keys(
        alpha_stake=alpha,
        root_stake=tao,
        delegate_take=np.concatenate([sim.delegate_take, np.full(extras, MAX_TAKE)]),
        childkey_take=np.concatenate([sim.childkey_take, np.zeros(extras, dtype=np.int64)]),
        owner=np.array([ids[c] for c in coldkeys], dtype=np.int64),
    )
    payout = returns.distribute(
        np.arange(n),
        result.server_emission,
        result.validator_emission,
        keys,
        pending_server=money["pending_server"],
        pending_validator=money["pending_validator"],
        pending_root=money["pending_root"],
        owner_cut=money["owner_cut"],
        tao_weight=TAO_WEIGHT,
        ck_burn=CK_BURN,
        parents=sim.parents,
        owner_immune=np.array([c == coldkeys[0] for c in coldkeys]),
    )
    names: dict[str, str] = {}  # IdentitiesV2 is keyed by coldkey: the first name set for it wins
    for key, name in sorted(sim.identity.items()):
        names.setdefault(coldkeys[key], name)
    size = n + extras
    hotkey_rows = {
        "netuid": np.full(size, spec.netuid, dtype=np.int32),
        "hotkey": hotkeys,
        "uid": pa.array(list(range(n)) + [None] * extras, type=pa.int32()),
        "coldkey": coldkeys,
        "delegate_take": keys.delegate_take.astype(np.uint16),
        "childkey_take": keys.childkey_take.astype(np.uint16),
        "alpha_stake_own": alpha.astype(np.uint64),
        "root_stake_own": tao.astype(np.uint64),
        "alpha_dividends": payout.alpha_nominators.astype(np.uint64),
        "root_alpha_dividends": payout.root_nominators.astype(np.uint64),
        "nominators": np.concatenate([sim.nominators, np.full(extras, 12)]).astype(np.int32),
        "identity_name": pa.array([names.get(c) for c in coldkeys], type=pa.string()),
    }
    edges = [(c, p, prop) for c, plist in sorted(sim.parents.items()) for prop, p in plist]
    child_rows = {
        "netuid": np.full(len(edges), spec.netuid, dtype=np.int32),
        "child_hotkey": [hotkeys[c] for c, _, _ in edges],
        "parent_hotkey": [hotkeys[p] for _, p, _ in edges],
        "proportion": pa.array([prop for _, _, prop in edges], type=pa.uint64()),
        "suspended": np.zeros(len(edges), dtype=bool),
    }
    return {"hotkeys": [hotkey_rows], "child_keys": [child_rows] if edges else []}


def _snapshot_rows(
    spec: SubnetSpec, sim: _SubnetSim, args: dict, result: EpochResult, prev: dict, money: dict
) -> dict:
    """The rows of one subnet in one snapshot: the stored epoch's inputs and its outputs."""
    n, inp = spec.n, args["inputs"]
    total = [
        int(a) + (int(t) * TAO_WEIGHT) // (2**64 - 1)
        for a, t in zip(inp.alpha_stake, inp.tao_stake, strict=True)
    ]
    neurons = {
        "netuid": np.full(n, spec.netuid, dtype=np.int32),
        "uid": np.arange(n, dtype=np.int32),
        "hotkey": list(prev["hotkeys"]),
        "coldkey": list(prev["coldkeys"]),
        "is_owner": np.arange(n) == 0,
        "block_at_registration": inp.block_at_registration,
        "alpha_stake": inp.alpha_stake.astype(np.uint64),
        "tao_stake": inp.tao_stake.astype(np.uint64),
        "total_stake": np.array(total, dtype=np.uint64),
        "validator_permit_prev": inp.validator_permit,
        "prev_consensus": prev["consensus"].astype(np.uint16),
        "active": result.active,
        "validator_permit": result.new_validator_permit,
        "stake_weight": result.stake_weight.astype(np.uint16),
        "consensus": result.consensus.astype(np.uint16),
        "validator_trust": result.validator_trust.astype(np.uint16),
        "dividends": result.dividends.astype(np.uint16),
        "emission": result.emission.astype(np.uint64),
    }
    mech_rows, weight_rows, bond_rows, after_rows = [], [], [], []
    for k, mech in enumerate(result.mechanisms):
        commit = args["mechanism_commit_block"][k] if args["mechanism_commit_block"] else None
        mech_rows.append(
            {
                "netuid": np.full(n, spec.netuid, dtype=np.int32),
                "mechid": np.full(n, k, dtype=np.int32),
                "uid": np.arange(n, dtype=np.int32),
                "last_update": args["mechanism_last_update"][k],
                "commit_block": pa.nulls(n, pa.int64())
                if commit is None
                else pa.array(commit, mask=commit < 0, type=pa.int64()),
                "prev_incentive": prev["incentive"][k].astype(np.uint16),
                "incentive": mech.incentive.astype(np.uint16),
            }
        )
        weight_rows.append(
            _long(args["mechanism_weights"][k], args["mechanism_weights_set"][k], spec.netuid, k, "weight")
        )
        bond_rows.append(
            _long(args["mechanism_bonds"][k], args["mechanism_bonds"][k] > 0, spec.netuid, k, "bond")
        )
        after_rows.append(_long(mech.bonds, mech.bonds > 0, spec.netuid, k, "bond"))
    return {
        "subnets": [_subnet_row(spec, sim, int(inp.current_block), money)],
        "neurons": [neurons],
        "mechanism_neurons": mech_rows,
        "weights": weight_rows,
        "bonds": bond_rows,
        "bonds_after": after_rows,
        **_money_rows(spec, sim, result, prev, money),
    }


def _to_arrow(table: str, parts: list) -> pa.Table:
    """One table of a snapshot from its per-subnet parts (dict rows for `subnets`, column dicts otherwise)."""
    if table == "subnets":
        columns = {key: [row[key] for row in parts] for key in parts[0]}
        types = {
            "tao_weight": pa.uint64(),
            "stake_threshold": pa.uint64(),
            "epoch_emission": pa.uint64(),
            "emission_split": pa.list_(pa.uint16()),
            **{
                c: pa.uint64()
                for c in (
                    "pending_server",
                    "pending_validator",
                    "pending_root",
                    "owner_cut",
                    "block_alpha_out",
                    "ck_burn",
                    "tao_reserve",
                    "alpha_reserve",
                    "alpha_outstanding",
                    "price_rao",
                    "tao_in_emission",
                    "excess_tao",
                )
            },
            "subnet_owner_cut": pa.uint16(),
        }
        return pa.table({k: pa.array(v, type=types.get(k)) for k, v in columns.items()})
    return pa.concat_tables([pa.table(p) for p in parts])


# --------------------------------------------------------------------------------------------------
# Building


def generate(progress: Callable[[str], None] | None = None) -> list[store.SnapshotData]:
    """The demo's weekly snapshots, oldest first (deterministic: same seed, same bytes)."""
    per_week: list[dict[str, list]] = [{t: [] for t in store.TABLES} for _ in range(WEEKS)]
    for spec in SUBNETS:
        if progress:
            progress(f"simulating subnet {spec.netuid} of {len(SUBNETS)}")
        sim = _SubnetSim(spec)
        rng = _rng(spec.netuid, 2)
        for week in range(WEEKS):
            e_last = epoch_block(spec, week)
            count = EPOCHS_PER_WEEK + (WARMUP_EPOCHS if week == 0 else 0)
            epochs = [e_last - spec.tempo * (count - 1 - k) for k in range(count)]
            if week > 0:
                sim.drift_stake()
                sim.recycle(int(rng.integers(2, 6)), (epochs[0] - spec.tempo + 1, epochs[0] - 1))
            money = {**_emission(spec, sim, week), **_pool(spec, week)}
            emission = money["epoch_emission"]
            for e in epochs:
                sim.last_epoch = e - spec.tempo  # LastMechansimStepBlock: the previous epoch's block
                sim.set_weights(e)
                prev = {
                    "hotkeys": list(sim.hotkeys),
                    "coldkeys": list(sim.coldkeys),
                    "consensus": sim.prev_consensus.copy(),
                    "incentive": [x.copy() for x in sim.prev_incentive],
                }
                args, result = sim.run_epoch(e, emission)
            rows = _snapshot_rows(spec, sim, args, result, prev, money)
            for table, parts in rows.items():
                per_week[week][table].extend(parts)
    for week in range(WEEKS):  # block e's TAO into each pool, and each subnet's share of it
        subnet_rows = per_week[week]["subnets"]
        for row in subnet_rows:
            row["tao_in_emission"] = row["block_alpha_out"] * row["price_rao"] // RAO
        total = sum(row["tao_in_emission"] for row in subnet_rows)
        for row in subnet_rows:
            row["emission_share"] = row["tao_in_emission"] / total if total else 0.0
    snapshots = []
    for week in range(WEEKS):
        block = anchor_block(week)
        meta = {
            "network": NETWORK,
            "block": block,
            "block_hash": "0x" + hashlib.sha256(f"demo:{block}".encode()).hexdigest(),
            "taken_at": FIRST_TAKEN_AT + timedelta(weeks=week),
            "spec_version": SPEC_VERSION,
            "sdk_version": None,
            "source": "demo",
            "note": NOTE,
        }
        tables = {t: _to_arrow(t, parts) for t, parts in per_week[week].items() if parts}
        snapshots.append(store.SnapshotData(meta=meta, tables=tables))
    return snapshots


def _refuse_to_replace(path: Path) -> None:
    """--force replaces a metagraph-lens demo database and nothing else: not a file holding real
    snapshots, not another application's DuckDB file, not a file that cannot be read as one."""
    try:
        store.check_lens_database(path)
        snaps = store.list_snapshots(path)
    except store.StoreError as exc:
        raise store.StoreError(
            f"{exc}: refusing to replace it with the demo (remove it yourself or pick another --db)"
        ) from None
    real = snaps[snaps["source"] != "demo"]
    if len(real):
        raise store.StoreError(
            f"{path} holds {len(real)} non-demo snapshot(s): refusing to replace it with the demo"
        )
    if snaps.empty:
        raise store.StoreError(
            f"{path} holds no demo snapshot: refusing to replace it with the demo "
            "(remove it yourself or pick another --db)"
        )


def build_demo(
    db_path: str | os.PathLike[str] = DEMO_DB_PATH,
    *,
    force: bool = False,
    progress: Callable[[str], None] | None = None,
) -> Path:
    """Write the demo database at db_path via a temporary file renamed into place (never half-written).

    An existing file is kept unless force=True (and even then a database with non-demo snapshots is
    refused). Returns the path.
    """
    path = Path(db_path)
    if path.is_dir():
        raise store.StoreError(f"{path} is a directory, not a database file")
    if not path.parent.is_dir():
        raise store.StoreError(f"directory {path.parent} does not exist")
    if path.exists():
        if not force:
            raise store.StoreError(f"{path} already exists: pass --force to rebuild the demo there")
        _refuse_to_replace(path)
    with files.atomic_path(path) as tmp:
        snapshots = generate(progress)
        if progress:
            progress(f"writing {len(snapshots)} snapshots")
        store.ingest_snapshots(tmp, snapshots)
    return path


def demo_state(db_path: str | os.PathLike[str]) -> str:
    """'current' (a demo built by this code), 'stale' (a demo built by other code) or 'other'.

    'other' covers a missing, unreadable, locked or empty file and any database with a non-demo
    snapshot: ensure_demo_db never replaces those.
    """
    try:
        snaps = store.list_snapshots(db_path)
    except store.StoreError:
        return "other"
    if snaps.empty or (snaps["source"] != "demo").any():
        return "other"
    return "current" if (snaps["note"] == NOTE).all() else "stale"


def ensure_demo_db(db_path: str | os.PathLike[str] = DEMO_DB_PATH) -> Path:
    """Return db_path after making sure it holds the demo built by this code (what app.py calls).

    Builds the demo when the file is missing, and rebuilds it when it holds a demo from an older
    generator or engine. Any other existing file (corrupt, locked, chain data) is left untouched for
    the caller to report. Concurrent callers (several app sessions starting at once) serialise on a
    lock file, so the demo is built once; readers never see a half-written file because it is
    written to a temporary file and renamed into place.
    """
    path = Path(db_path)
    if path.exists() and demo_state(path) != "stale":
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(path.with_name(path.name + ".lock"), thread_local=False):
        if not path.exists():
            build_demo(path)
        elif demo_state(path) == "stale":
            build_demo(path, force=True)
    return path
