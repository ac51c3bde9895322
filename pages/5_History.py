"""History: a subnet across snapshots — Tv distribution, validators out of consensus, concentration."""

from __future__ import annotations

import math

import plotly.graph_objects as go
import streamlit as st

from analytics.app import ui
from analytics.views import export, health

db, snapshot_id, netuid, _ = ui.subnet_page(
    "History",
    "One subnet across every snapshot of the network: is consensus getting healthier or not?",
    mechanism=False,
)
network = str(ui.provenance(db, snapshot_id).iloc[0]["network"])
# one read of the subnet's history (the export table "history" is its summary half: not read twice)
summary, tv_rows = ui.cached(export.history_tables, db, netuid, network)
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
change = int(last["out_of_consensus"] - summary.iloc[-2]["out_of_consensus"]) if len(summary) > 1 else None
c2.metric(
    "Out of consensus now",
    int(last["out_of_consensus"]),
    delta=change,
    delta_color="inverse",
    delta_description=None if change is None else "since the previous snapshot",
    help="validators whose health is critical or major",
)
c3.metric(
    "Effective miners now",
    f"{last['effective_miners']:.1f}" if math.isfinite(last["effective_miners"]) else "—",
    help="how many equal miners would hold the consensus as spread as it is: 1 / Σ c², c = C / ΣC "
    "(— while no miner has consensus)",
)

st.subheader("Consensus health of the validators")
fig = export.health_bars(summary["taken_at"], summary, worst_last=True)
fig.update_layout(
    barmode="stack",
    height=360,
    margin={"l": 10, "r": 10, "t": 30, "b": 10},
    yaxis=ui.integer_axis(summary["validators"], "validators"),
    legend={"orientation": "h", "y": 1.1, "title": {"text": "health"}},
)
st.plotly_chart(fig, width="stretch", key="tv_bands")
st.caption(f"Health, the same on every page: {health.rules()}")
ui.csv_download(
    tv_rows,
    export.csv_filename("history_tv", netuid, None, None),
    key="history_tv",
    label="Download CSV (Tv per validator)",
)

left, right = st.columns(2)
with left:
    st.subheader("Validators out of consensus")
    fig = go.Figure(
        go.Bar(x=summary["taken_at"], y=summary["out_of_consensus"], marker_color=health.COLOURS["major"])
    )
    fig.update_layout(
        height=300,
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        yaxis=ui.integer_axis(summary["out_of_consensus"], "validators"),
    )
    st.plotly_chart(fig, width="stretch", key="out_bar")
    st.caption("Validators whose health is critical or major.")
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
        "snapshot_id": st.column_config.NumberColumn("Snapshot", format="%d"),
        "taken_at": st.column_config.DatetimeColumn("Taken (UTC)", format="YYYY-MM-DD HH:mm"),
        "block": st.column_config.NumberColumn("Block", format="localized", step=1),
        "validators": st.column_config.NumberColumn("Validators"),
        "out_of_consensus": st.column_config.NumberColumn("Out of consensus"),
        **{
            f"tv_{level}": st.column_config.NumberColumn(
                level.upper() if level == "ok" else level.capitalize(), help=health.rules()
            )
            for level in health.LEVELS
        },
        "tv_median": st.column_config.NumberColumn("Tv median", format="%.4f"),
        "tv_stake_weighted": st.column_config.NumberColumn("Tv stake-weighted", format="%.4f"),
        "consensus_top10_share": st.column_config.NumberColumn("Top-10 miners' share", format="percent"),
        "effective_miners": st.column_config.NumberColumn("Effective miners", format="%.1f"),
    },
)
