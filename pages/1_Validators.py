"""Validators: what staking with each validator of a subnet pays, who is out of consensus, and why."""

from __future__ import annotations

import streamlit as st

from analytics.app import ui
from analytics.model import emission
from analytics.views import export, health, watchlist

db, snapshot_id, netuid, mechid = ui.subnet_page(
    "Validators",
    "Every validator of one subnet and mechanism, the most serious consensus problem first.",
)

table = ui.validators_or_stop(db, snapshot_id, netuid, mechid)

validators = table[table["severity"] != health.NO_PERMIT]
flagged = validators[validators["severity"].isin(health.OUT_OF_CONSENSUS)]
c1, c2, c3, c4 = st.columns(4)
c1.metric(
    "Validators",
    f"{len(validators):,}",
    help="UIDs holding a validator permit: the same count as on the Overview and History pages",
)
c2.metric("Out of consensus", f"{len(flagged):,}", help=f"critical or major. {health.rules()}")
c3.metric("Their share of stake", f"{flagged['stake_share'].sum():.1%}")
mismatch = int((~table["tv_matches_chain"]).sum())
c4.metric(
    "Recomputed Tv = chain",
    "all" if mismatch == 0 else f"{len(table) - mismatch:,} of {len(table):,}",
    help="Validator trust recomputed from the stored weights and stake by our Yuma engine, against the "
    "value the chain stored. A difference means the stored inputs do not explain the stored outputs.",
)
if len(table) > len(validators):
    st.caption(
        f"{len(table) - len(validators):,} UID(s) without a validator permit also set weights: listed last "
        'as "no permit" and not counted as validators (their weights do not count this epoch).'
    )

# What a staker reads first, then the consensus detail: the first eight fit 1400 px without scrolling.
COLUMNS = [
    "uid",
    "name",
    "hotkey",
    "return_tao_per_1000_per_day",
    "delegate_take",
    "severity",
    "stake_alpha",
    "validator_trust",
    "watch",
    "return_alpha_per_1000_per_day",
    "earn_per_1000_per_day",
    "reason",
    "stake_share",
    "dividend_share",
    "clipped_mass",
    "clipped_miners",
    "top_clipped",
    "validator_trust_stored",
    "tv_matches_chain",
    "blocks_since_update",
    "likely_copier",
    "copier_overlap_previous",
    "copier_overlap_current",
    "copier_overlap_best_peer",
    "reason_codes",
]

st.subheader("Every validator")
watched = st.session_state.get("watchlist_keys", [])
shown = table.assign(watch=watchlist.watch_links(table["hotkey"].astype(str), watched))
st.dataframe(
    # Tv tinted by the row's health level, the Overview's colours (a healthy 0.98 reads green, not a red bar).
    ui.style_by_level(shown, "severity", "validator_trust"),
    hide_index=True,
    width="stretch",
    height=min(36 * (len(table) + 1) + 3, 640),
    column_order=[c for c in COLUMNS if c in shown.columns],
    column_config={
        "uid": st.column_config.NumberColumn("UID", format="%d", width=60),
        "name": st.column_config.TextColumn("Name", width="small", help="on-chain identity of the coldkey"),
        "hotkey": st.column_config.TextColumn("Hotkey", width="small"),
        "return_tao_per_1000_per_day": st.column_config.NumberColumn(
            "Return (TAO/day)",
            format="%.3f",
            width=110,
            help="what 1,000 TAO staked with it earns per day after its take, at this epoch and the pool price",
        ),
        "return_alpha_per_1000_per_day": st.column_config.NumberColumn(
            "Return (α/day)",
            format="%.3f",
            help="the same return in alpha: α a day for 1,000 TAO staked (at the pool price), after take",
        ),
        "delegate_take": st.column_config.NumberColumn("Take", format="percent", width=70),
        "watch": st.column_config.LinkColumn(
            "Watch", display_text="watch", help="open the Watchlist page with this hotkey added to its link"
        ),
        "severity": st.column_config.TextColumn(
            "Health", width=90, help=f"{health.rules()} No permit: listed, not counted."
        ),
        "reason": st.column_config.TextColumn("Why", width="large"),
        "reason_codes": st.column_config.TextColumn("Reason codes"),
        "stake_alpha": st.column_config.NumberColumn(
            "Stake (α)", format="localized", step=1, help="the stake weight the epoch used"
        ),
        "stake_share": st.column_config.NumberColumn("Stake share", format="percent"),
        "validator_trust": st.column_config.NumberColumn(
            "Tv",
            format="%.3f",
            width=70,
            help="validator trust recomputed for this mechanism (1 = none of its weight clipped), coloured "
            f"by the validator's health: {health.tv_scale()}; inactive or Tv = 0: at least major",
        ),
        "validator_trust_stored": st.column_config.NumberColumn(
            "Tv on chain", format="%.4f", help="as stored by the chain (over all mechanisms)"
        ),
        "tv_matches_chain": st.column_config.CheckboxColumn("Tv = chain"),
        "clipped_mass": st.column_config.NumberColumn("Clipped", format="percent", help="1 − Tv"),
        "clipped_miners": st.column_config.NumberColumn("Miners clipped"),
        "dividend_share": st.column_config.NumberColumn("Dividend share", format="percent"),
        "earn_per_1000_per_day": st.column_config.NumberColumn(
            "Emission per 1,000 α a day, before take (α)", format="%.3f"
        ),
        "top_clipped": st.column_config.TextColumn("Most clipped miners"),
        "blocks_since_update": st.column_config.NumberColumn(
            "Blocks since weights", format="localized", step=1
        ),
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
    "**Return**: what 1,000 TAO staked with the validator earns per day after its take, at this snapshot's "
    "epoch and the pool's spot price, in TAO and in α (the Stake page averages 7 or 30 days). "
    "**Emission per 1,000 α a day, before take** = validator emission per epoch ÷ the validator's stake × "
    "1,000 × epochs per day, with epochs per day = 7,200 ÷ tempo, over all the subnet's mechanisms. "
    "**Clipped**: the share of the validator's normalised weight that lies above consensus and is cut off "
    "(= 1 − Tv)."
)

st.subheader("Why, in short")
summary = export.reason_summary(table)
st.dataframe(
    ui.style_by_level(summary, "severity"),
    hide_index=True,
    width="stretch",
    column_config={
        "severity": st.column_config.TextColumn("Health"),
        "validators": st.column_config.NumberColumn("UIDs", width="small"),
        "stake_share": st.column_config.NumberColumn("Stake share", format="percent", width="small"),
        "reasons": st.column_config.TextColumn("Reasons (UIDs)", width="large"),
    },
    placeholder="",
)
ui.csv_download(summary, export.csv_filename("reasons", netuid, mechid, snapshot_id), key="reasons")

st.subheader("Validator trust against stake")
fig = export.validators_figure(table)
fig.update_layout(height=380, margin={"l": 10, "r": 10, "t": 40, "b": 10}, legend=ui.legend_on_top("health"))
st.plotly_chart(fig, width="stretch", key="tv_vs_stake")
ui.csv_download(table, export.csv_filename("validators", netuid, mechid, snapshot_id), key="validators_chart")


with st.expander("All neurons of this subnet (raw values as stored)"):
    neurons = ui.table("neurons", db, snapshot_id, netuid, mechid)
    mechanism_count = int(ui.subnet_list(db, snapshot_id).set_index("netuid").at[netuid, "mechanism_count"])
    if note := emission.stored_emission_note(mechanism_count):
        st.caption(note)
    st.dataframe(neurons, hide_index=True, width="stretch", placeholder="")
    ui.csv_download(neurons, export.csv_filename("neurons", netuid, mechid, snapshot_id), key="neurons")
