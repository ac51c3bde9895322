"""Validators: who is out of consensus on a subnet's mechanism, why, and what their stakers earn."""

from __future__ import annotations

import numpy as np
import plotly.express as px
import streamlit as st

from analytics.app import ui
from analytics.model import emission
from analytics.views import export

db, snapshot_id, netuid, mechid = ui.subnet_page(
    "Validators",
    "Every validator of one subnet and mechanism, the most serious consensus problem first.",
)

table = ui.validators_or_stop(db, snapshot_id, netuid, mechid)

flagged = table[table["severity"].isin(export.OUT_OF_CONSENSUS)]
c1, c2, c3, c4 = st.columns(4)
c1.metric("Validators", len(table))
c2.metric(
    "Out of consensus",
    len(flagged),
    help=f"severity major or critical: more than {1 - export.OUT_OF_CONSENSUS_TV:.0%} of the weight clipped, "
    "stale weights, or not validating",
)
c3.metric("Their share of stake", f"{flagged['stake_share'].sum():.1%}")
mismatch = int((~table["tv_matches_chain"]).sum())
c4.metric(
    "Recomputed Tv = chain",
    "all" if mismatch == 0 else f"{len(table) - mismatch} of {len(table)}",
    help="Validator trust recomputed from the stored weights and stake by our Yuma engine, against the "
    "value the chain stored. A difference means the stored inputs do not explain the stored outputs.",
)

SEVERITY_COLOURS = {
    "critical": "background-color: #f4c7c3; color: #8e0000; font-weight: 600",
    "major": "background-color: #fbdcc0; color: #8a3b00; font-weight: 600",
    "minor": "background-color: #fdf1c2; color: #6d5200",
    "info": "background-color: #e3ecf6; color: #29486b",
    "ok": "color: #2e7d32",
}
CHART_COLOURS = {
    "critical": "#c62828",
    "major": "#ef6c00",
    "minor": "#f9a825",
    "info": "#5c7fa6",
    "ok": "#2e7d32",
}

st.subheader("Why, in short")
summary = export.reason_summary(table)
st.dataframe(
    summary.style.map(lambda v: SEVERITY_COLOURS.get(v, ""), subset=["severity"]).format(precision=4),
    hide_index=True,
    width="stretch",
    column_config={
        "severity": st.column_config.TextColumn("Severity"),
        "validators": st.column_config.NumberColumn("Validators", width="small"),
        "stake_share": st.column_config.NumberColumn("Stake", format="percent", width="small"),
        "reasons": st.column_config.TextColumn("Reasons (validators)", width="large"),
    },
    placeholder="",
)
ui.csv_download(summary, export.csv_filename("reasons", netuid, mechid, snapshot_id), key="reasons")

st.subheader("Every validator")
styled = table.style.map(lambda v: SEVERITY_COLOURS.get(v, ""), subset=["severity"]).format(precision=4)
st.dataframe(
    styled,
    hide_index=True,
    width="stretch",
    height=min(36 * (len(table) + 1) + 3, 640),
    column_config={
        "uid": st.column_config.NumberColumn("UID", format="%d"),
        "hotkey": st.column_config.TextColumn("Hotkey", width="medium"),
        "severity": st.column_config.TextColumn(
            "Severity",
            help=f"critical > major > minor > info > ok. {export.severity_rules()}; not validating or stale "
            "weights: major; no permit: info. Thresholds: analytics/consensus.py.",
        ),
        "reason": st.column_config.TextColumn("Why", width="large"),
        "reason_codes": st.column_config.TextColumn("Reason codes"),
        "stake_alpha": st.column_config.NumberColumn("Stake (α)", format="%.1f"),
        "stake_share": st.column_config.NumberColumn("Stake share", format="percent"),
        "validator_trust": st.column_config.ProgressColumn("Tv", min_value=0.0, max_value=1.0, format="%.4f"),
        "validator_trust_stored": st.column_config.NumberColumn(
            "Tv on chain", format="%.4f", help="as stored by the chain (over all mechanisms)"
        ),
        "tv_matches_chain": st.column_config.CheckboxColumn("Tv = chain"),
        "clipped_mass": st.column_config.NumberColumn("Clipped", format="percent", help="1 − Tv"),
        "clipped_miners": st.column_config.NumberColumn("Miners clipped"),
        "dividend_share": st.column_config.NumberColumn("Dividend share", format="percent"),
        "earn_per_1000_per_day": st.column_config.NumberColumn("Earns /1000/day", format="%.3f"),
        "top_clipped": st.column_config.TextColumn("Most clipped miners"),
        "blocks_since_update": st.column_config.NumberColumn("Blocks since update"),
        "likely_copier": st.column_config.CheckboxColumn(
            "Copier signal", help="its weights track the previous epoch's consensus more than anyone else's"
        ),
        "copier_overlap_previous": st.column_config.NumberColumn("Overlap prev. C", format="%.3f"),
        "copier_overlap_current": st.column_config.NumberColumn("Overlap current C", format="%.3f"),
        "copier_overlap_best_peer": st.column_config.NumberColumn("Overlap best peer", format="%.3f"),
    },
    placeholder="",
)
ui.csv_download(table, export.csv_filename("validators", netuid, mechid, snapshot_id), key="validators")
st.caption(
    "**Earns /1000/day** = validator emission per epoch ÷ the validator's stake × 1000 × epochs per day, "
    "with epochs per day = 7200 ÷ tempo: what 1000 α staked on it earned per day at this epoch's "
    "emission, before the validator's take, over all the subnet's mechanisms. **Clipped**: the share of the "
    "validator's normalised weight that lies above consensus and is cut off (= 1 − Tv)."
)

st.subheader("Validator trust against stake")
chart = table.assign(stake_plot=np.maximum(table["stake_alpha"], 1e-3), hotkey=ui.plot_text(table["hotkey"]))
fig = px.scatter(
    chart,
    x="stake_plot",
    y="validator_trust",
    color="severity",
    color_discrete_map=CHART_COLOURS,
    category_orders={"severity": list(export.SEVERITY_ORDER)},
    log_x=True,
    hover_data={"uid": True, "hotkey": True, "stake_plot": False, "stake_alpha": ":.1f", "reason": True},
    labels={"stake_plot": "stake (α, log scale)", "validator_trust": "validator trust Tv"},
)
fig.update_traces(marker={"size": 10, "line": {"width": 1, "color": "white"}})
fig.update_layout(height=360, margin={"l": 10, "r": 10, "t": 10, "b": 10}, legend_title_text="severity")
fig.update_yaxes(range=[-0.03, 1.05])
st.plotly_chart(fig, width="stretch", key="tv_vs_stake")
ui.csv_download(table, export.csv_filename("validators", netuid, mechid, snapshot_id), key="validators_chart")


with st.expander("All neurons of this subnet (raw values as stored)"):
    neurons = ui.table("neurons", db, snapshot_id, netuid, mechid)
    mechanism_count = int(ui.subnets(db, snapshot_id).set_index("netuid").at[netuid, "mechanism_count"])
    if note := emission.stored_emission_note(mechanism_count):
        st.caption(note)
    st.dataframe(neurons, hide_index=True, width="stretch", placeholder="")
    ui.csv_download(neurons, export.csv_filename("neurons", netuid, mechid, snapshot_id), key="neurons")
