"""History: a subnet across snapshots — Tv distribution, validators out of consensus, concentration."""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from analytics.app import ui
from analytics.views import export

db, snapshot_id, netuid, _ = ui.subnet_page(
    "History",
    "One subnet across every snapshot of the network: is consensus getting healthier or not?",
    mechanism=False,
)
network = str(ui.provenance(db, snapshot_id).iloc[0]["network"])
summary = ui.table("history", db, snapshot_id, netuid)
_, tv_rows = ui.cached(export.history_tables, db, netuid, network)
if summary.empty:
    st.info(f"Subnet {netuid} has no stored history on this network yet.")
    st.stop()
if len(summary) == 1:
    st.info(
        "Only one snapshot of this subnet so far. History builds up as the weekly collection runs "
        "(`python -m analytics collect`; the README has the cron line)."
    )

c1, c2, c3 = st.columns(3)
last = summary.iloc[-1]
c1.metric("Snapshots", len(summary))
c2.metric(
    "Out of consensus now",
    int(last["out_of_consensus"]),
    delta=int(last["out_of_consensus"] - summary.iloc[-2]["out_of_consensus"]) if len(summary) > 1 else None,
    delta_color="inverse",
)
c3.metric("Effective miners now", f"{last['effective_miners']:.1f}")

st.subheader("Validator trust distribution")
fig = export.tv_band_bars(summary["taken_at"], summary, worst_last=True, label_first=True)
fig.update_layout(
    barmode="stack",
    height=360,
    margin={"l": 10, "r": 10, "t": 30, "b": 10},
    yaxis_title="validators with a permit",
    legend={"orientation": "h", "y": 1.1},
)
st.plotly_chart(fig, width="stretch", key="tv_bands")
st.caption(
    f"Bands follow the severity of the clipped share of a validator's weight (1 − Tv): {export.severity_rules()}. "
    "A validator with a permit that sets no weights has Tv = 0."
)
ui.csv_download(
    tv_rows,
    export.csv_filename("history_tv", netuid, None, None),
    key="history_tv",
    label="Download CSV (Tv per validator)",
)

left, right = st.columns(2)
with left:
    st.subheader("Validators out of consensus")
    fig = go.Figure(go.Bar(x=summary["taken_at"], y=summary["out_of_consensus"], marker_color="#ef6c00"))
    fig.update_layout(
        height=300,
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        yaxis=ui.integer_axis(summary["out_of_consensus"], "validators"),
    )
    st.plotly_chart(fig, width="stretch", key="out_bar")
    st.caption(f"Validators with a permit whose stored Tv is below {export.OUT_OF_CONSENSUS_TV:.2g}.")
with right:
    st.subheader("Consensus concentration")
    fig = go.Figure(
        go.Scatter(
            x=summary["taken_at"], y=summary["consensus_top10_share"], mode="lines+markers", name="top 10"
        )
    )
    fig.update_layout(
        height=300,
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        yaxis={"title": "top-10 miners' share", "range": [0, 1.02]},
    )
    st.plotly_chart(fig, width="stretch", key="concentration")
    st.caption(
        "Share of all consensus held by the ten highest miners; effective miners = 1 / Σ c², c = C / ΣC."
    )

st.subheader("Per snapshot")
ui.table_and_csv(
    summary,
    export.csv_filename("history", netuid, None, None),
    key="history",
    column_config={
        "tv_median": st.column_config.NumberColumn("Tv median", format="%.4f"),
        "tv_stake_weighted": st.column_config.NumberColumn("Tv stake-weighted", format="%.4f"),
        "consensus_top10_share": st.column_config.NumberColumn("top-10 share", format="percent"),
        "effective_miners": st.column_config.NumberColumn("effective miners", format="%.1f"),
    },
)
