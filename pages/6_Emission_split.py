"""Emission split: how a subnet's emission is divided between its incentive mechanisms, per UID, and what-if.

Query, compute, draw: the subnet comes from analytics.cli.split.load_stored_subnet (through the
store), every number from analytics.model.emission. The edited split lives in ``?split=`` so a link
reproduces the what-if.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from analytics.app import ui
from analytics.cli.split import load_stored_subnet, owner_burn_note, owner_uids
from analytics.model import emission
from analytics.views import export

PARAM_SPLIT = "split"
TOP = 10


def alpha(rao: np.ndarray | int) -> np.ndarray | float:
    """rao -> alpha for display (float; the exact rao are in the CLI's --json)."""
    return np.asarray(rao, dtype=np.float64) / emission.RAO_PER_ALPHA


def split_table(pools: emission.SubnetPools, mechids: tuple[int, ...]) -> pd.DataFrame:
    """One row per mechanism: the raw u16 (None when unset), its share and its pools in alpha."""
    split = pools.split
    return pd.DataFrame(
        {
            "mechanism": list(mechids),
            "u16": [None if not split else (split[k] if k < len(split) else 0) for k in range(len(mechids))],
            "share %": np.round(pools.shares * 100, 4),
            "emission α": alpha(pools.mechanism),
            "miners α": alpha(pools.miners),
            "validators α": alpha(pools.validators),
        }
    ).astype({"u16": "Int64"})


def mechanism_table(snap, inputs, pay: emission.Payouts, k: int) -> pd.DataFrame:
    """One mechanism's UIDs: stored incentive, dividends used, and the miner / validator payouts."""
    return pd.DataFrame(
        {
            "uid": np.arange(snap.n),
            "hotkey": [str(h) for h in snap.hotkeys],
            "owner": owner_uids(snap),
            "incentive u16": inputs.incentive[k],
            "dividends u16": inputs.dividends[k],
            "miner α": alpha(pay.miner[k]),
            "validator α": alpha(pay.validator[k]),
            "total α": alpha(pay.by_mechanism[k]),
        }
    )


def totals_table(snap, mechids: tuple[int, ...], pay: emission.Payouts) -> pd.DataFrame:
    """Every UID's payout per mechanism and in total, next to the stored Emission."""
    frame = pd.DataFrame({"uid": np.arange(snap.n), "hotkey": [str(h) for h in snap.hotkeys]})
    for k, mechid in enumerate(mechids):
        frame[f"mechanism {mechid} α"] = alpha(pay.by_mechanism[k])
    frame["payout α"] = alpha(pay.total)
    frame["stored Emission α"] = alpha(snap.emission)
    return frame


def comparison_table(snap, change: emission.PayoutChange, uids: np.ndarray | None = None) -> pd.DataFrame:
    """Current vs edited payout per UID (all UIDs, or ``uids`` in that order)."""
    index = np.arange(snap.n) if uids is None else np.asarray(uids, dtype=np.int64)
    current, edited, delta = change.current[index], change.edited[index], change.delta[index]
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = np.where(current > 0, delta / np.where(current > 0, current, 1) * 100, np.nan)
    return pd.DataFrame(
        {
            "uid": index,
            "change α": alpha(delta),
            "change %": np.round(pct, 2),
            "current α": alpha(current),
            "edited α": alpha(edited),
            "hotkey": [str(snap.hotkeys[i]) for i in index],
        }
    )


def initial_split(count: int, current: tuple[int, ...] | None, netuid: int) -> tuple[int, ...]:
    """The editor's starting vector: a valid ``?split=`` link, else the current split (explicit)."""
    raw = st.query_params.get(PARAM_SPLIT)
    if raw is not None:
        try:
            parsed = emission.parse_split(raw, count)
        except emission.SplitError as exc:
            st.warning(
                f"The link's split {ui.code(raw)} is not valid for subnet {netuid}: {ui.code(exc, 300)}. "
                "Starting from the current split."
            )
        else:
            if parsed:
                return parsed + (0,) * (count - len(parsed))
    if current:
        return tuple(current) + (0,) * (count - len(current))
    return emission.even_split(count)


def split_editor(count: int, start: tuple[int, ...], netuid: int) -> tuple[int, ...] | None:
    """Percent or u16 inputs per mechanism; returns the valid vector to submit, or None (error shown)."""
    mode = st.radio("Edit the split as", ["percent", "u16"], horizontal=True, key=f"split_mode_{netuid}")
    columns = st.columns(min(count, 4))
    if mode == "percent":
        shown = [round(v / emission.U16_MAX * 100, 2) for v in start]
        values = [
            columns[m % len(columns)].number_input(
                f"Mechanism {m} %",
                min_value=0.0,
                max_value=100.0,
                value=shown[m],
                step=0.5,
                format="%.2f",
                key=f"pct_{netuid}_{count}_{m}",
            )
            for m in range(count)
        ]
        if values == shown:
            return start  # untouched: keep the exact vector rather than re-rounding its percentages
        total = sum(values)
        if abs(total - 100) > 1e-9 and total > 0:
            st.caption(f"The percentages add up to {total:.2f} %; they are scaled to 100 %.")
        try:
            return emission.percent_to_split([f"{v:.6f}" for v in values])
        except emission.SplitError as exc:
            st.error(f"Not a valid split: {exc}.")
            return None
    values = [
        columns[m % len(columns)].number_input(
            f"Mechanism {m} (u16)",
            min_value=0,
            max_value=emission.U16_MAX,
            value=int(start[m]),
            step=1,
            key=f"u16_{netuid}_{count}_{m}",
        )
        for m in range(count)
    ]
    try:
        return emission.parse_split([int(v) for v in values], count)
    except emission.SplitError as exc:
        st.error(f"The chain would reject this split: {exc.problem}.")
        if exc.suggestion:
            st.text(f"Nearest valid split: {emission.format_split(exc.suggestion)}")
        return None


def payout_chart(snap, change: emission.PayoutChange) -> go.Figure:
    """Every UID's payout under the current and the edited split (grouped bars, hotkeys on hover)."""
    uids = np.arange(snap.n)
    hover = [str(h) for h in snap.hotkeys]
    figure = go.Figure()
    for name, values in (("current split", change.current), ("edited split", change.edited)):
        figure.add_bar(
            x=uids,
            y=alpha(values),
            name=name,
            hovertext=hover,
            hovertemplate="uid %{x}<br>%{hovertext}<br>%{y:.6f} α<extra>" + name + "</extra>",
        )
    figure.update_layout(
        barmode="group",
        xaxis_title="UID",
        yaxis_title="payout per epoch (α)",
        legend={"orientation": "h", "y": 1.1},
        margin={"t": 30, "b": 40},
    )
    return figure


# --------------------------------------------------------------------------------------------------

db = ui.page_setup(
    "Emission split",
    intro="A subnet's owner splits its emission between incentive mechanisms with one u16 per mechanism "
    "(share = value / 65535). Each mechanism then pays its miners by incentive and its validators by dividends.",
)
snapshot_id = ui.snapshot_picker(db)
netuid = ui.subnet_picker(db, snapshot_id)
if netuid is None:
    st.stop()


def split_csv(table: str, mechid: int | None = None) -> str:
    """This subnet's download names, as every page names them (export.csv_filename)."""
    return export.csv_filename(table, netuid, mechid, snapshot_id)


snap, inputs = ui.cached(load_stored_subnet, db, snapshot_id, netuid)
mechids = inputs.mechids
count = len(mechids)
try:
    current_split = emission.parse_split(snap.split, count) if snap.split else None
except emission.SplitError as exc:
    st.error(
        f"Subnet {netuid}'s stored split ({emission.format_split(snap.split)}) is not one the chain accepts for "
        f"{count} mechanism(s): {exc.problem}. The snapshot may be damaged; try another snapshot."
    )
    st.stop()

st.subheader(f"Subnet {netuid}: current split")
epoch_emission = snap.epoch_emission
if epoch_emission is None:
    st.info(
        "This snapshot did not record the subnet's epoch emission; enter an amount to see the split in α."
    )
    epoch_emission = emission.alpha_to_rao(
        f"{st.number_input('Epoch emission (α)', min_value=0.0, value=1.0, step=0.1, key='epoch_emission'):.9f}"
    )
else:
    st.caption(
        f"Epoch emission E = {alpha(epoch_emission):,.9f} α per epoch, after the owner's cut "
        f"({emission.DEFAULT_OWNER_CUT}/65535 ≈ 18 % by default), split between mechanisms, then halved "
        "between miners and validators."
    )
pools = emission.subnet_pools(epoch_emission, current_split, count, owner_cut=0)
left, middle, right = st.columns(3)
left.metric("Mechanisms", count)
middle.metric("Split (u16)", emission.format_split(current_split))
right.metric("Shares", " / ".join(f"{s * 100:.2f} %" for s in pools.shares))
current_table = split_table(pools, mechids)
st.dataframe(current_table, hide_index=True)
ui.csv_download(current_table, split_csv("split_current"), key="split_current")
if current_split is None and count > 1:
    st.caption(
        "No split is set, so the chain splits evenly (the remainder of the division goes to mechanism 0)."
    )

current_pay = emission.uid_payouts(pools, inputs.incentive, inputs.dividends, stake=snap.alpha_stake)
if inputs.note:
    st.info(inputs.note)
for note in (*current_pay.notes, owner_burn_note(snap, current_pay)):
    if note:
        st.caption(note)

st.subheader("Per-mechanism payouts")
tabs = st.tabs([f"Mechanism {m}" for m in mechids] + ["All mechanisms"])
for k, mechid in enumerate(mechids):
    with tabs[k]:
        frame = mechanism_table(snap, inputs, current_pay, k)
        st.dataframe(frame, hide_index=True)
        ui.csv_download(frame, split_csv("split", mechid), key=f"split_mech_{mechid}")
with tabs[-1]:
    totals = totals_table(snap, mechids, current_pay)
    st.dataframe(totals, hide_index=True)
    ui.csv_download(totals, split_csv("split_totals"), key="split_totals")
    note = emission.stored_emission_note(count)
    st.caption(note or "With one mechanism the stored Emission is the combined payout (up to flooring).")

st.subheader("What if the split changed?")
if count == 1:
    subnets = ui.subnets(db, snapshot_id)
    several = [int(n) for n in subnets.loc[subnets["mechanism_count"] > 1, "netuid"]]
    hint = (
        f" Subnets with several mechanisms in this snapshot: {', '.join(map(str, several))}."
        if several
        else ""
    )
    st.info(
        f"Subnet {netuid} runs a single incentive mechanism, so all of its emission goes to mechanism 0 and "
        "a split changes nothing. An owner must first raise the mechanism count (which resets the split)."
        + hint
    )
    st.stop()

if st.session_state.get("_split_netuid", netuid) != netuid and PARAM_SPLIT in st.query_params:
    del st.query_params[PARAM_SPLIT]  # a what-if belongs to the subnet it was made for
st.session_state["_split_netuid"] = netuid
edited = split_editor(count, initial_split(count, current_split, netuid), netuid)
if edited is None:
    st.stop()
st.query_params[PARAM_SPLIT] = emission.format_split(edited)
st.text("Vector to submit (sums to 65535):")
st.code(emission.format_split(edited), language=None)
st.caption(
    "Owner call: AdminUtils.sudo_set_mechanism_emission_split"
    f"(netuid={netuid}, maybe_split=[{', '.join(str(v) for v in edited)}]). Shares: "
    + " / ".join(f"{p:.4f} %" for p in emission.split_to_percent(edited, count))
)

edited_pools = emission.subnet_pools(epoch_emission, edited, count, owner_cut=0)
edited_table = split_table(edited_pools, mechids)
st.dataframe(edited_table, hide_index=True)
ui.csv_download(edited_table, split_csv("split_edited"), key="split_edited")

edited_pay = emission.uid_payouts(edited_pools, inputs.incentive, inputs.dividends, stake=snap.alpha_stake)
change = emission.compare_payouts(current_pay, edited_pay)
if not change.delta.any():
    st.caption(
        "The edited split pays every UID the same as the current one: change a value above to compare."
    )
st.plotly_chart(payout_chart(snap, change), key="split_chart")

win_col, lose_col = st.columns(2)
with win_col:
    st.markdown("**Biggest winners**")
    winners = comparison_table(snap, change, change.winners(TOP))
    if winners.empty:
        st.caption("Nobody gains from this split.")
    st.dataframe(winners, hide_index=True)
    ui.csv_download(winners, split_csv("split_winners"), key="split_winners")
with lose_col:
    st.markdown("**Biggest losers**")
    losers = comparison_table(snap, change, change.losers(TOP))
    if losers.empty:
        st.caption("Nobody loses from this split.")
    st.dataframe(losers, hide_index=True)
    ui.csv_download(losers, split_csv("split_losers"), key="split_losers")

with st.expander("Every UID, current vs edited"):
    everyone = comparison_table(snap, change)
    st.dataframe(everyone, hide_index=True)
    ui.csv_download(everyone, split_csv("split_comparison"), key="split_comparison")
