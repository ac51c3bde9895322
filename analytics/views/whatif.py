"""What-if views shared by the What-if page and `python -m analytics simulate`: the engine inputs of one
mechanism and the tables of a replay (so the page's CSV and the CLI's are the same table)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from analytics.data.snapshot import SubnetSnapshot
from analytics.model import simulate
from analytics.model.yuma import EpochInputs, split_emissions


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
    was_validator = (sim.scenario.validator_permit | sim.baseline.validator_permit).any(axis=0)
    frame.insert(1, "role", np.where(was_validator[table["uid"]], "validator", "miner"))
    frame.insert(2, "hotkey", np.asarray(snap.hotkeys, dtype=object)[table["uid"]])
    return frame
