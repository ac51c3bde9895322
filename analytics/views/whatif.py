"""What-if views shared by the What-if page and `python -m analytics simulate`: the engine inputs of one
mechanism and the tables of a replay (so the page's CSV and the CLI's are the same table)."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from analytics.data.snapshot import SubnetSnapshot, load_subnet
from analytics.model import simulate
from analytics.model.yuma import EpochInputs, split_emissions

BONDS_SHOWN = 40  # miners in the bonds heatmap (the validator's largest bonds)
COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"]


def mechanism_inputs(snap: SubnetSnapshot, mechid: int) -> EpochInputs:
    """One mechanism's epoch inputs; with several mechanisms it receives its split of E (design §5)."""
    inputs = snap.epoch_inputs(mechid)
    if snap.mechanism_count <= 1:
        return inputs
    shares = split_emissions(int(inputs.emission), snap.mechanism_count, snap.split)
    index = [m.mechid for m in snap.mechanisms].index(mechid)
    return dataclasses.replace(inputs, emission=int(shares[index]))


def epochs_frame(snap: SubnetSnapshot, sim: simulate.Simulation) -> pd.DataFrame:
    """One row per epoch and uid: the scenario's figures, the baseline's, and the difference."""
    cols = sim.per_epoch_columns()
    frame = pd.DataFrame(cols)
    frame.insert(3, "hotkey", np.asarray(snap.hotkeys, dtype=object)[cols["uid"]])
    return frame


def winners_frame(snap: SubnetSnapshot, sim: simulate.Simulation) -> pd.DataFrame:
    """Per uid, totals over the replay, sorted from the biggest winner to the biggest loser."""
    table = sim.winners_losers()
    frame = pd.DataFrame(table)
    frame.insert(1, "role", np.where(sim.was_validator[table["uid"]], "validator", "miner"))
    frame.insert(2, "hotkey", np.asarray(snap.hotkeys, dtype=object)[table["uid"]])
    return frame


def baseline(
    db: str | os.PathLike[str], snapshot_id: int, netuid: int, mechid: int, epochs: int
) -> simulate.Replay:
    """The stored subnet's mechanism replayed ``epochs`` epochs without any scenario."""
    snap = load_subnet(db, snapshot_id, netuid)
    inputs = mechanism_inputs(snap, mechid)
    return simulate.replay_baseline(inputs, epochs, previous_consensus=snap.prev_consensus)


def simulation(
    db: str | os.PathLike[str],
    snapshot_id: int,
    netuid: int,
    mechid: int,
    epochs: int,
    specs: tuple[str, ...],
    *,
    baseline: simulate.Replay | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> simulate.Simulation:
    """The what-if of ``specs`` on the stored subnet's mechanism against its baseline (given, or replayed now)."""
    snap = load_subnet(db, snapshot_id, netuid)
    return simulate.simulate(
        mechanism_inputs(snap, mechid),
        simulate.parse_scenarios(specs),
        epochs,
        previous_consensus=snap.prev_consensus,
        baseline=baseline,
        progress=progress,
    )


# How the page shows a hyperparameter, raw chain value in brackets.
HYPERPARAMETERS: dict[
    str, tuple[str, Callable[[Any], str]]
] = {  # EpochInputs field -> (label, how to show the raw value)
    "kappa": ("kappa", lambda v: f"{v / 65535:.4f} ({v})"),
    "bonds_moving_average": ("bonds moving average", lambda v: f"{v / 1e6:.4f} ({v})"),
    "bonds_penalty": ("bonds penalty", lambda v: f"{v / 65535:.4f} ({v})"),
    "yuma3": ("Yuma3", lambda v: "on" if v else "off"),
    "liquid_alpha": ("liquid alpha", lambda v: "on" if v else "off"),
    "alpha_low": ("alpha low", lambda v: f"{v / 65535:.4f} ({v})"),
    "alpha_high": ("alpha high", lambda v: f"{v / 65535:.4f} ({v})"),
    "max_allowed_validators": ("max validators", str),
}


def changed_hyperparameters(stored: EpochInputs, what_if: EpochInputs | None) -> pd.DataFrame:
    """The hyperparameters the scenarios change: snapshot value and what-if value (raw chain value in brackets)."""
    rows = []
    for field, (label, show) in HYPERPARAMETERS.items():
        before, after = getattr(stored, field), getattr(what_if, field) if what_if is not None else None
        if what_if is not None and before != after:
            rows.append({"hyperparameter": label, "snapshot": show(before), "what-if": show(after)})
    return pd.DataFrame(rows, columns=["hyperparameter", "snapshot", "what-if"])


def line_chart(
    sim: simulate.Simulation, field: str, uids: list[int], title: str, difference: bool
) -> go.Figure:
    """One line per uid and replay (what-if solid, baseline dotted), or one line per uid of the difference.

    One legend entry per uid (clicking it hides both of its lines), laid out below the plot so it is
    never cut off, whatever the width; the title is short and the line styles are its subtitle, so a
    phone-width chart does not clip them."""
    fig = go.Figure()
    x = np.arange(sim.epochs)
    for k, uid in enumerate(uids):
        color = COLORS[k % len(COLORS)]
        if difference:
            lines = [(sim.delta(field)[:, uid], "solid")]
        else:
            lines = [
                (getattr(sim.scenario, field)[:, uid], "solid"),
                (getattr(sim.baseline, field)[:, uid], "dot"),
            ]
        for n, (values, dash) in enumerate(lines):
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=values / 65535,
                    mode="lines",
                    line={"color": color, "dash": dash},
                    name=f"uid {uid}",
                    legendgroup=str(uid),
                    showlegend=n == 0,
                )
            )
    subtitle = "what-if − baseline" if difference else "what-if solid, baseline dotted"
    fig.update_layout(
        title={"text": title, "subtitle": {"text": subtitle}},
        xaxis_title="epoch",
        height=360,
        margin={"t": 60, "b": 30, "l": 10, "r": 10},
        legend={"orientation": "h", "yanchor": "top", "y": -0.25, "x": 0, "font": {"size": 11}},
    )
    return fig


def bonds_long(sim: simulate.Simulation, uid: int) -> pd.DataFrame:
    """One validator's bonds per epoch and miner, what-if and baseline (u16 as stored)."""
    b, s = sim.baseline.bonds[:, uid, :].astype(np.int64), sim.scenario.bonds[:, uid, :].astype(np.int64)
    held = np.flatnonzero((b > 0).any(0) | (s > 0).any(0))
    epochs = np.repeat(np.arange(sim.epochs), len(held))
    return pd.DataFrame(
        {
            "epoch": epochs,
            "validator_uid": uid,
            "miner_uid": np.tile(held, sim.epochs),
            "bond": s[:, held].reshape(-1),
            "bond_baseline": b[:, held].reshape(-1),
            "bond_delta": (s - b)[:, held].reshape(-1),
        }
    )


def bonds_chart(sim: simulate.Simulation, uid: int, view: str, top: int = BONDS_SHOWN) -> go.Figure:
    """Heatmap of one validator's bonds (epochs x its ``top`` largest-bonded miners)."""
    b, s = sim.baseline.bonds[:, uid, :].astype(np.int64), sim.scenario.bonds[:, uid, :].astype(np.int64)
    peak = np.maximum(b.max(0), s.max(0))
    held = np.flatnonzero(peak > 0)
    held = np.sort(held[np.argsort(-peak[held], kind="stable")[:top]])
    z = {"what-if": s, "baseline": b, "difference": s - b}[view][:, held] / 65535
    fig = go.Figure(
        go.Heatmap(
            z=z.T,
            x=np.arange(sim.epochs),
            y=[f"uid {j}" for j in held],
            colorscale="RdBu" if view == "difference" else "Viridis",
            zmid=0 if view == "difference" else None,
            colorbar={"title": "bond / 65535"},
        )
    )
    fig.update_layout(
        title={"text": f"Bonds of validator {uid}", "subtitle": {"text": view}},
        xaxis_title="epoch",
        yaxis_title="miner",
        height=max(300, min(900, 14 * len(held) + 140)),
        margin={"t": 60, "b": 30},
    )
    return fig
