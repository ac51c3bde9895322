"""Validator detail: one validator's weights against consensus, and its Tv and dividends over time.

History follows the hotkey, not the UID: UIDs are recycled when a neuron is deregistered.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from analytics.app import ui
from analytics.data import store
from analytics.views import export

db, snapshot_id, netuid, mechid = ui.subnet_page(
    "Validator detail",
    "Where one validator's weights overshoot consensus and are clipped, and how it fared across snapshots.",
)

validators = ui.validators_or_stop(db, snapshot_id, netuid, mechid)
hotkeys = dict(zip(validators["uid"].astype(int), validators["hotkey"].astype(str), strict=True))
hotkey = ui.validator_picker(hotkeys, default=str(validators.iloc[0]["hotkey"]))
assert hotkey is not None
row = validators.loc[validators["hotkey"] == hotkey].iloc[0]
uid = int(row["uid"])

c1, c2, c3, c4 = st.columns(4)
c1.metric("Validator trust", f"{row['validator_trust']:.4f}")
c2.metric("Clipped", f"{row['clipped_mass']:.2%}", help="share of its weight above consensus (1 − Tv)")
c3.metric("Stake share", f"{row['stake_share']:.2%}")
c4.metric("Dividend share", f"{row['dividend_share']:.2%}")
st.text(f"UID {uid} · hotkey {hotkey}\nSeverity: {row['severity']} — {row['reason']}")

weights = ui.cached(export.weights_table, db, snapshot_id, netuid, mechid, validator=uid)
st.subheader("Its weights against the consensus")
if weights.empty or not weights["weight_u16"].any():
    st.info(
        "This validator has no weight stored on this mechanism: it has not set weights (or they were "
        "cleared). Validators that set no weights get no bonds and, in time, no dividends."
    )
else:
    if not bool(weights["row_counted"].iloc[0]):
        st.warning(
            "The epoch ignored this validator's weights (no validator permit in the previous epoch): the "
            "weights below are as stored, not as counted."
        )
    order = weights.assign(
        key=weights["consensus"].where(weights["consensus"] > 0, -1.0) + weights["weight"] * 1e-9
    ).sort_values(["key", "miner_uid"], ascending=[False, True])
    order = order[(order["weight"] > 0) | (order["consensus"] > 0)]
    x = [f"uid {u}" for u in order["miner_uid"]]
    fig = go.Figure()
    fig.add_trace(go.Bar(x=x, y=order["kept"], name="kept (≤ consensus)", marker_color="#1565c0"))
    fig.add_trace(go.Bar(x=x, y=order["clipped"], name="clipped (above consensus)", marker_color="#c62828"))
    fig.add_trace(
        go.Scatter(
            x=x,
            y=order["consensus"],
            mode="lines",
            name="consensus",
            line={"color": "#212121", "width": 1.5, "shape": "hvh"},
        )
    )
    fig.update_layout(
        barmode="stack",
        height=440,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        xaxis_title="miner (highest consensus first)",
        yaxis_title="normalised weight",
        legend={"orientation": "h", "y": 1.08},
        bargap=0.05,
    )
    fig.update_xaxes(showticklabels=len(x) <= 64)
    st.plotly_chart(fig, width="stretch", key="validator_weights_chart")
    ui.csv_download(
        weights,
        export.csv_filename("weights", netuid, mechid, snapshot_id, validator=uid),
        key="validator_weights",
    )

st.subheader("Across snapshots (followed by hotkey)")
history = ui.cached(store.hotkey_history, db, netuid, hotkey)
if len(history) <= 1:
    st.info(
        "This hotkey appears in one snapshot only. History builds up as the weekly collection runs "
        "(`python -m analytics collect`, see the README's cron line)."
    )
if not history.empty:
    hist = pd.DataFrame(
        {
            "snapshot_id": history["snapshot_id"],
            "taken_at": history["taken_at"],
            "block": history["block"],
            "uid": history["uid"],
            "validator_permit": history["validator_permit"],
            "validator_trust": history["validator_trust"].astype(float) / export.U16_MAX,
            "dividends": history["dividends"].astype(float) / export.U16_MAX,
            "stake_alpha": history["total_stake"].astype(float) / export.RAO_PER_UNIT,
        }
    )
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=hist["taken_at"], y=hist["validator_trust"], name="validator trust", mode="lines+markers"
        )
    )
    fig.add_trace(
        go.Scatter(
            x=hist["taken_at"],
            y=hist["dividends"],
            name="dividends (share)",
            mode="lines+markers",
            yaxis="y2",
        )
    )
    fig.update_layout(
        height=360,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        yaxis={"title": "validator trust", "range": [0, 1.05]},
        yaxis2={
            "title": "dividend share",
            "overlaying": "y",
            "side": "right",
            "rangemode": "tozero",
            "tickformat": ".2~p",  # two significant digits as a percent: 8%, 0.002%, never 8.434%
            "tickmode": "auto",
            "nticks": 6,
            "showgrid": False,
        },
        legend={"orientation": "h", "y": 1.12},
        hovermode="x unified",
    )
    st.plotly_chart(fig, width="stretch", key="validator_history_chart")
    ui.table_and_csv(
        hist, export.csv_filename("validator_history", netuid, None, None, uid=uid), key="validator_history"
    )
