"""`python -m analytics simulate`: replay a stored subnet's epochs with what-if scenarios against the baseline."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from analytics.cli import CliError, add_db_argument, chosen_snapshot, db_path
from analytics.data import files, store
from analytics.data.snapshot import SubnetSnapshot, load_subnet
from analytics.model import simulate
from analytics.model.yuma import EpochInputs
from analytics.textsafe import safe_text
from analytics.views import export
from analytics.views.whatif import epochs_frame, mechanism_inputs, winners_frame

HELP = (
    "Replay a subnet's epochs with what-if scenarios (weights, stake, hyperparameters) against the baseline."
)

EXAMPLES = """
Examples:
  python -m analytics simulate --netuid 1 --epochs 20 --scenario consensus:5
  python -m analytics simulate --netuid 1 --scenario copy:5=12 --scenario kappa=0.6 --json
  python -m analytics simulate --netuid 1 --epochs 50 --scenario yuma3=on --scenario liquid=on --csv out.csv

Every replay starts from the snapshot's stored epoch inputs and carries bonds and validator permits from
epoch to epoch as the chain does; weights are held fixed and re-set every epoch by every uid that was
active (see analytics/model/simulate.py). Figures are for one mechanism; the default output lists the uids the
scenarios changed most, with totals over the replay."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = simulate.SCENARIO_GRAMMAR + "\n" + EXAMPLES
    parser.add_argument("--netuid", type=int, required=True, help="the subnet to replay")
    parser.add_argument("--mechid", type=int, default=0, help="the incentive mechanism (default 0)")
    parser.add_argument("--snapshot", type=int, default=None, help="snapshot id (default: the newest)")
    add_db_argument(parser)
    parser.add_argument(
        "--epochs", type=int, default=20, help=f"epochs to replay, 1-{simulate.MAX_EPOCHS} (default 20)"
    )
    parser.add_argument(
        "--scenario",
        action="append",
        default=[],
        metavar="SPEC",
        help="a what-if change (repeatable; grammar below); none = the baseline replay alone",
    )
    parser.add_argument("--top", type=int, default=10, help="uids listed in the text summary (default 10)")
    out = parser.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print the whole result as JSON on stdout")
    out.add_argument("--csv", metavar="FILE", help="write one row per epoch and uid to FILE ('-' = stdout)")


def _db_path(args: argparse.Namespace) -> Path | str:
    path = db_path(args)
    if not store.db_exists(path):
        raise CliError(
            f"database {path} does not exist (create one with `python -m analytics demo --db {path}`)"
        )
    return path


def load(args: argparse.Namespace) -> tuple[SubnetSnapshot, EpochInputs]:
    """The stored subnet and the engine inputs of the chosen mechanism."""
    db = _db_path(args)
    try:
        snapshot_id = chosen_snapshot(db, args.snapshot)
        snap = load_subnet(db, snapshot_id, args.netuid)
        return snap, mechanism_inputs(snap, args.mechid)
    except store.StoreError as exc:
        raise CliError(str(exc)) from None


def run_simulation(args: argparse.Namespace) -> tuple[SubnetSnapshot, simulate.Simulation]:
    if not 1 <= args.epochs <= simulate.MAX_EPOCHS:
        raise CliError(f"--epochs must be between 1 and {simulate.MAX_EPOCHS}, got {args.epochs}")
    try:
        scenarios = simulate.parse_scenarios(args.scenario)
    except simulate.ScenarioError as exc:
        raise CliError(str(exc)) from None
    snap, inputs = load(args)
    try:
        result = simulate.simulate(
            inputs, scenarios, args.epochs, previous_consensus=snap.prev_consensus, progress=_progress()
        )
    except simulate.ScenarioError as exc:
        raise CliError(str(exc)) from None
    return snap, result


def _progress() -> simulate.ProgressFn | None:
    """A one-line epoch counter on an interactive stderr (nothing when piped or redirected)."""
    if not sys.stderr.isatty():
        return None

    def show(done: int, total: int) -> None:
        end = "\n" if done == total else ""
        print(f"\rreplaying epoch {done}/{total}", end=end, file=sys.stderr, flush=True)

    return show


def _plain(text: object, limit: int = 16) -> str:
    """A chain string made safe for a terminal line: printable characters only, shortened."""
    s = safe_text(str(text)) or ""
    return s if len(s) <= limit else s[: limit - 1] + "…"


def _records_json(frame: pd.DataFrame) -> str:
    """A table as a JSON array of row objects (pandas' writer: fast, NaN as null, integers exact)."""
    return frame.to_json(orient="records", double_precision=15)


def _check_folder(path: str) -> None:
    target = Path(path).expanduser()
    if not target.parent.is_dir():
        raise CliError(f"cannot write {target}: folder {target.parent} does not exist")


def _write_atomically(path: str, data: bytes) -> None:
    """Write to a temporary file beside the target, then rename: a reader never sees half a file."""
    target = Path(path).expanduser()
    _check_folder(path)
    try:
        files.atomic_write(target, data)
    except OSError as exc:
        raise CliError(f"cannot write {target}: {exc.strerror or exc}") from None


def _summary(snap: SubnetSnapshot, args: argparse.Namespace, sim: simulate.Simulation) -> str:
    lines = [
        f"subnet {snap.netuid} mechanism {args.mechid} · snapshot {snap.snapshot_id} (block {snap.current_block:,}"
        f"{'' if snap.aligned else ', not epoch-aligned'}) · {sim.epochs} epochs",
        "scenarios: " + (", ".join(s.spec for s in sim.scenarios) or "none (baseline replay)"),
    ]
    lines += [f"note: {note}" for note in sim.notes]
    uids = sim.affected_uids(limit=args.top) if sim.scenarios else []
    if not sim.scenarios:
        uids = [int(u) for u in np.argsort(-sim.baseline.emission_share.sum(0), kind="stable")[: args.top]]
    totals_b, totals_s = sim.paid()
    header = f"{'uid':>5} {'hotkey':<16} {'Tv last':>15} {'D last':>15} {'I last':>15} {'paid (alpha)':>14} {'change':>9}"
    lines += ["", header]
    for uid in uids:

        def pair(field: str, u: int = uid) -> str:
            b, s = getattr(sim.baseline, field)[-1, u], getattr(sim.scenario, field)[-1, u]
            return f"{b / 65535:.4f}" if b == s else f"{b / 65535:.3f}->{s / 65535:.3f}"

        base, scen = int(totals_b[uid]), int(totals_s[uid])
        change = "" if base == scen else (f"{100 * (scen - base) / base:+.1f}%" if base else "new")
        lines.append(
            f"{uid:>5} {_plain(snap.hotkeys[uid]):<16} {pair('validator_trust'):>15} {pair('dividends'):>15} "
            f"{pair('incentive'):>15} {scen / 1e9:>14.4f} {change:>9}"
        )
    if sim.scenarios and not uids:
        lines.append("  (no uid's figures changed)")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    if args.csv and args.csv != "-":
        _check_folder(args.csv)  # before minutes of work, not after
    snap, sim = run_simulation(args)
    if args.csv:
        data = export.csv_bytes(epochs_frame(snap, sim))
        if args.csv == "-":
            sys.stdout.buffer.write(data)
        else:
            _write_atomically(args.csv, data)
            print(f"wrote {sim.epochs * snap.n} rows to {args.csv}", file=sys.stderr)
        return 0
    if args.json:
        head = {
            "netuid": snap.netuid,
            "mechid": args.mechid,
            "snapshot_id": snap.snapshot_id,
            "block": snap.current_block,
            "aligned": snap.aligned,
            "epochs": sim.epochs,
            "scenarios": [s.spec for s in sim.scenarios],
            "notes": list(sim.notes),
            "affected_uids": sim.affected_uids() if sim.scenarios else [],
        }
        out = sys.stdout
        out.write(json.dumps(head, separators=(",", ":"))[:-1])
        out.write(',"winners_losers":' + _records_json(winners_frame(snap, sim)))
        out.write(',"per_epoch":' + _records_json(epochs_frame(snap, sim)) + "}\n")
        return 0
    print(_summary(snap, args, sim))
    return 0
