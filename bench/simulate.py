"""Benchmark: 100 epochs of a 256-UID subnet with 64 validators, replayed by the what-if simulator.

Prints seconds per replay for the original Yuma and for Yuma3 with liquid alpha: the baseline alone
(what a page computes once and caches), a scenario against a cached baseline (what a page computes per
what-if), the full simulate() with both replays, and a consensus follower (which costs an extra epoch
per epoch: it has to see the consensus the others give before it can set it). Target: under 0.5 s for
100 epochs without liquid alpha. Run: ``python bench/simulate.py [--epochs 100] [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analytics.model import simulate as sm
from analytics.model.yuma import EpochInputs
from bench.common import run, verdict

N, VALIDATORS, BLOCK = 256, 64, 5_000_000


def subnet(*, yuma3: bool, liquid: bool, seed: int = 0) -> EpochInputs:
    """A 256-UID subnet: 64 validators that broadly agree on 192 miners, heavy-tailed stake, settled bonds."""
    rng = np.random.default_rng(seed)
    quality = rng.random(N)
    weights = np.zeros((N, N), dtype=np.int64)
    for i in range(VALIDATORS):
        row = quality * (1 + 0.3 * rng.random(N))
        row[:VALIDATORS] = 0
        weights[i] = np.floor(row / row.max() * 65535)
    stake = np.zeros(N, dtype=np.int64)
    stake[:VALIDATORS] = (rng.pareto(1.5, VALIDATORS) * 1_000 + 10).astype(np.int64) * 10**9
    inputs = EpochInputs(
        weights=weights,
        alpha_stake=stake,
        last_update=np.full(N, BLOCK - 100),
        block_at_registration=rng.integers(0, BLOCK - 10_000, N),
        validator_permit=np.arange(N) < VALIDATORS,
        current_block=BLOCK,
        yuma3=yuma3,
        liquid_alpha=liquid,
    )
    settled = sm.replay_baseline(inputs, 30)
    inputs.bonds = settled.bonds[-1].astype(np.int64)
    inputs.validator_permit = settled.validator_permit[-1]
    return inputs


class EngineClock:
    """Wraps the engine the simulator calls, so a run splits into engine time and simulator overhead."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.calls = 0
        self._epoch = sm.epoch

    def __call__(self, inputs: EpochInputs):
        start = time.perf_counter()
        out = self._epoch(inputs)
        self.seconds += time.perf_counter() - start
        self.calls += 1
        return out


def best_of(repeat: int, fn: Callable[[], object], clock: EngineClock) -> tuple[float, float, int]:
    """(seconds, engine seconds, engine calls) of the fastest of ``repeat`` runs."""
    runs = []
    for _ in range(repeat):
        clock.seconds, clock.calls = 0.0, 0
        start = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - start, clock.seconds, clock.calls))
    return min(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    e, r = args.epochs, args.repeat
    scenario = sm.parse_scenarios(["copy:5=12", "kappa=0.6", "stake:7*2"])
    follow = [sm.FollowConsensus(5)]
    clock = EngineClock()
    sm.epoch = clock  # the simulator looks the engine up at call time
    print(f"What-if replay, {N} UIDs, {VALIDATORS} validators, {e} epochs (best of {r}):")
    for name, yuma3, liquid in (("original Yuma", False, False), ("Yuma3 + liquid alpha", True, True)):
        inputs = subnet(yuma3=yuma3, liquid=liquid)
        base = sm.replay_baseline(inputs, e)
        runs = {
            "baseline replay": lambda inputs=inputs: sm.replay_baseline(inputs, e),
            "scenario vs cached baseline": lambda inputs=inputs, base=base: sm.simulate(
                inputs, scenario, e, baseline=base
            ),
            "simulate(), both replays": lambda inputs=inputs: sm.simulate(inputs, scenario, e),
            "consensus follower (cached)": lambda inputs=inputs, base=base: sm.simulate(
                inputs, follow, e, baseline=base
            ),
        }
        print(f"  {name}:")
        for label, fn in runs.items():
            total, engine, calls = best_of(r, fn, clock)
            tag = ""
            if label == "baseline replay" and not liquid:
                tag = verdict(total < 0.5, "< 0.5 s")
            print(
                f"    {label:<28} {total:6.3f} s = engine {engine:6.3f} s ({calls} epochs, "
                f"{engine / calls * 1e3:5.2f} ms each) + simulator {(total - engine) * 1e3:5.1f} ms{tag}"
            )
    print(f"  scenarios: {', '.join(s.spec for s in scenario)}; the follower runs the engine twice an epoch.")


if __name__ == "__main__":
    run(main)
