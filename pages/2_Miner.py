"""Miner: every validator's weight on one miner against the consensus, and the part clipped away."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from analytics.app import ui
from analytics.views import export

db, snapshot_id, netuid, mechid = ui.subnet_page(
    "Miner: weights vs consensus",
    "How each validator scores one miner, where the stake-weighted consensus lies, and what is clipped.",
)

consensus = ui.table("consensus", db, snapshot_id, netuid, mechid)
if consensus.empty:
    st.info(f"Subnet {netuid} has no UID in this snapshot. Pick another subnet.")
    st.stop()
best = int(consensus.sort_values(["incentive", "uid"], ascending=[False, True]).iloc[0]["uid"])
miner = ui.miner_picker(consensus["uid"].tolist(), default=best)
assert miner is not None
weights = ui.cached(export.weights_table, db, snapshot_id, netuid, mechid, miner=miner)
row = consensus.loc[consensus["uid"] == miner].iloc[0]

c1, c2, c3, c4 = st.columns(4)
c1.metric(
    "Consensus", f"{row['consensus']:.4f}", help="stake-weighted median of the validators' weights (kappa)"
)
c2.metric("Incentive", f"{row['incentive']:.4f}", help="this miner's share of the miners' emission")
c3.metric("Validators weighting it", int(row["validators_weighting"]))
c4.metric("Stake-weighted clipped weight", f"{row['stake_weighted_clipped']:.4f}")
st.text(f"Miner hotkey: {row['hotkey']}")

if weights.empty or not weights["weight_u16"].any():
    st.info(
        f"No validator has set a weight on miner {miner} in mechanism {mechid} of subnet {netuid}. "
        "Pick another miner, or check the Weight matrix page for who weights whom."
    )
else:
    st.subheader("Each validator's weight on this miner")
    st.caption(
        "One point per validator whose weights the epoch used; its size is the validator's stake. The line is "
        "the miner's consensus: the part of a weight above it (red) is clipped away and earns the validator no "
        "bonds or dividends. Weights are the validator's normalised weight row as the epoch saw it."
    )
    plot = weights[weights["row_counted"]].sort_values(["weight", "validator_uid"], ascending=[False, True])
    x = [f"uid {u}" for u in plot["validator_uid"]]
    size = 8 + 40 * np.sqrt(plot["stake_share"] / max(plot["stake_share"].max(), 1e-12))
    fig = go.Figure()
    clipped = plot["clipped"] > 0
    fig.add_trace(
        go.Bar(
            x=[xi for xi, c in zip(x, clipped, strict=True) if c],
            y=plot.loc[clipped, "clipped"],
            base=plot.loc[clipped, "kept"],
            marker_color="rgba(198,40,40,0.35)",
            name="clipped part",
            hovertemplate="clipped %{y:.5f}<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=plot["weight"],
            mode="markers",
            marker={
                "size": size,
                "color": np.where(clipped, "#c62828", "#1565c0"),
                "line": {"width": 1, "color": "white"},
                "opacity": 0.85,
            },
            name="validator weight (size = stake)",
            customdata=np.stack(
                [
                    ui.plot_text(plot["validator_hotkey"]),
                    plot["stake_share"],
                    plot["clipped"],
                    plot["weight_u16"],
                ],
                axis=1,
            ),
            hovertemplate="%{x}<br>%{customdata[0]}<br>weight %{y:.5f} (u16 %{customdata[3]})"
            "<br>stake share %{customdata[1]:.2%}<br>clipped %{customdata[2]:.5f}<extra></extra>",
        )
    )
    fig.add_hline(
        y=float(row["consensus"]),
        line={"color": "#212121", "dash": "dash"},
        annotation_text=f"consensus {row['consensus']:.4f}",
        annotation_position="top right",
    )
    fig.update_layout(
        height=460,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        xaxis_title="validator (heaviest weight first)",
        yaxis_title="normalised weight on this miner",
        legend=ui.legend_on_top(),
        barmode="overlay",
    )
    st.plotly_chart(fig, width="stretch", key="miner_chart")

if not weights.empty:  # nothing stored: the note above says so; no empty table, no empty CSV
    st.subheader("The table behind the chart")
    ui.table_and_csv(
        weights,
        export.csv_filename("weights", netuid, mechid, snapshot_id, miner=miner),
        key="miner",
        column_config={
            "stake_share": st.column_config.NumberColumn("stake share", format="percent"),
            "row_counted": st.column_config.CheckboxColumn(
                "row used", help="the epoch used this validator's row"
            ),
        },
    )

with st.expander("Every miner of this mechanism: consensus and incentive, stored and recomputed"):
    st.dataframe(
        consensus,
        hide_index=True,
        width="stretch",
        column_config={
            "recomputed_equals_chain": st.column_config.CheckboxColumn("recomputed = chain"),
            "stake_weighted_weight": st.column_config.NumberColumn("stake-weighted weight", format="%.5f"),
            "stake_weighted_clipped": st.column_config.NumberColumn("stake-weighted clipped", format="%.5f"),
        },
        placeholder="",
    )
    ui.csv_download(consensus, export.csv_filename("consensus", netuid, mechid, snapshot_id), key="consensus")
