"""Benchmark: backfill weekly points of a finney-sized network over the fake chain at a round trip.

The network of bench/collect.py (128 subnets x 256 UIDs x 64 validators), every subnet running an
epoch every 361 blocks (its LastMechansimStepBlock at block B is the last multiple of 361 <= B), so
each point reads its own blocks: a block's first touch costs three round trips as with the SDK's
transport (hash, header, runtime version). Target (issue 16): 52 weekly points <= 8 minutes at
150 ms. Prints wall and CPU time per point and the projection to --target-points.

    python bench/backfill.py [--points 4] [--target-points 52] [--latency 0.15] [--subnets 128]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault(
    "BTCLI_TOKEN_SYMBOLS_CACHE", str(Path(tempfile.gettempdir()) / "lens-bench-symbols.json")
)

from collect import build_network  # noqa: E402

from analytics.data import collector  # noqa: E402
from tests.fakechain import FakeChain, fake_subtensor  # noqa: E402

EPOCH = 361
WEEK = 50_400


class EveryEpoch(FakeChain):
    """The same state at every block, but an epoch every 361 blocks: each point anchors elsewhere."""

    def _stored(self, module, storage_function, params, block):
        if storage_function == "LastMechansimStepBlock":
            return block - block % EPOCH
        return super()._stored(module, storage_function, params, block)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=4)
    parser.add_argument("--target-points", type=int, default=52)
    parser.add_argument("--latency", type=float, default=0.15)
    parser.add_argument("--subnets", type=int, default=128)
    args = parser.parse_args()
    head = 1_000_000 + args.points * WEEK
    chain = build_network(args.subnets, 256, 64, head=head)
    chain.__class__ = EveryEpoch
    chain.latency = args.latency
    times: list[tuple[float, float]] = []
    marks = [time.perf_counter(), time.process_time()]

    def progress(done, total, point, subnets_done, subnets) -> None:
        if subnets and subnets_done == subnets and len(times) < done:
            now = (time.perf_counter(), time.process_time())
            times.append((now[0] - marks[0], now[1] - marks[1]))
            marks[:] = now
            print(
                f"point {done}/{total} (block {point}): wall {times[-1][0]:.1f} s, CPU {times[-1][1]:.1f} s",
                flush=True,
            )

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        summary = collector.backfill(
            fake_subtensor(chain),
            Path(tmp) / "backfill.duckdb",
            start_block=head - (args.points - 1) * WEEK,
            end_block=head,
            every="week",
            policy=collector.RetryPolicy(tries=1, timeout=600),
            progress=progress,
        )
        wall = time.perf_counter() - start
    assert summary.ok, summary.failed
    per_point = wall / args.points
    print(
        f"{args.points} points x {args.subnets} subnets at {args.latency * 1000:.0f} ms: {wall:.0f} s "
        f"({per_point:.1f} s per point, {len(chain.requests) / args.points / args.subnets:.1f} requests per "
        f"subnet-point); projected {args.target_points} points: {per_point * args.target_points / 60:.1f} min "
        "(target <= 8 min)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
