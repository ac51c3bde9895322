"""Weight matrix: validators x miners as a heatmap, ordered by stake and by consensus."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from analytics.app import ui
from analytics.views import export

db, snapshot_id, netuid, mechid = ui.subnet_page(
    "Weight matrix",
    "Who weights whom. Rows are validators (largest stake on top), columns miners (highest consensus left).",
)

weights = ui.table("weights", db, snapshot_id, netuid, mechid)
if weights.empty or not weights["weight_u16"].any():
    st.info(
        f"No validator has set weights on mechanism {mechid} of subnet {netuid} in this snapshot, so there is no "
        "matrix to draw. Weights appear once validators call set_weights; collect a newer snapshot with "
        "`python -m analytics collect`."
    )
    st.stop()

ORDERS = {"stake": "Rows by stake, columns by consensus", "uid": "Rows and columns by UID"}
VALUES = {"weight": "normalised weight", "clipped": "clipped part only"}
c1, c2, _ = st.columns([3, 2, 2])
order = ui.bound_select(
    "Order", list(ORDERS), "order", parse=str, format_func=ORDERS.__getitem__, what="this page", where=c1
)
value = ui.bound_select(
    "Show", list(VALUES), "show", parse=str, format_func=VALUES.__getitem__, what="this page", where=c2
)

matrix = weights.pivot(index="validator_uid", columns="miner_uid", values=value)
stake = weights.groupby("validator_uid")["stake_share"].first()
consensus = weights.groupby("miner_uid")["consensus"].first()
if order == "stake":
    rows = stake.sort_values(ascending=False, kind="stable").index
    cols = consensus.sort_values(ascending=False, kind="stable").index
else:
    rows, cols = matrix.index.sort_values(), matrix.columns.sort_values()
matrix = matrix.loc[rows, cols]
hotkeys = weights.groupby("validator_uid")["validator_hotkey"].first().loc[rows]
row_labels = ui.plot_text([f"v{uid} · {hk[:6]}…" for uid, hk in zip(matrix.index, hotkeys, strict=True)])

# A few large weights would wash every other cell out: the colour scale stops at the 99th percentile
# of the non-zero cells (hover shows the exact value).
positive = matrix.to_numpy()[matrix.to_numpy() > 0]
zmax = float(np.quantile(positive, 0.99)) if positive.size else 1.0
fig = go.Figure(
    go.Heatmap(
        z=matrix.to_numpy(),
        x=[f"m{c}" for c in matrix.columns],
        y=row_labels,
        colorscale="Blues" if value == "weight" else "Reds",
        zmin=0,
        zmax=zmax,
        hovertemplate="validator %{y}<br>miner %{x}<br>" + value + " %{z:.5f}<extra></extra>",
        # Above the matrix, not beside it: on a phone a colour bar at the right would leave the matrix
        # a third of the width.
        colorbar={
            "title": {"text": VALUES[value], "side": "top"},
            "orientation": "h",
            "x": 1,
            "xanchor": "right",
            "y": 1.01,
            "yanchor": "bottom",
            "len": 0.5,
            "thickness": 12,
        },
    )
)
fig.update_layout(
    height=max(400, min(16 * len(rows) + 170, 950)),
    margin={"l": 10, "r": 10, "t": 70, "b": 10},
    xaxis={"title": "miner UID", "type": "category", "showticklabels": len(cols) <= 64},
    yaxis={"title": "validator (UID · hotkey)", "type": "category", "autorange": "reversed"},
)
st.plotly_chart(fig, width="stretch", key="weight_matrix")
st.caption(
    f"{len(rows)} validators × {len(cols)} miners. Colours stop at {zmax:.4f} (99th percentile); hover for exact "
    "values. A row the epoch ignores (no validator permit) is all zero. "
    "The CSV holds the matrix in long format, one row per validator and miner."
)
ui.csv_download(weights, export.csv_filename("weights", netuid, mechid, snapshot_id), key="weights")
