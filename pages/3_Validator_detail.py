"""Validator detail: what staking with one validator pays, its weights against consensus, and its return,
stake, dividends and Tv over time.

History follows the hotkey, not the UID: UIDs are recycled when a neuron is deregistered.
"""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from analytics.app import ui
from analytics.views import export, stake, watchlist

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


def _figure(value: object, fmt: str) -> str:
    return "—" if value is None or value != value else format(value, fmt)  # NaN: no money data stored


c1, c2, c3, c4 = st.columns(4)
c1.metric(
    "Return (TAO a day per 1,000 TAO)",
    _figure(row["return_tao_per_1000_per_day"], ",.3f"),
    help="what 1,000 TAO staked with it earns per day after its take, at this epoch and the pool price",
)
c2.metric("Take", _figure(row["delegate_take"], ".1%"), help="the validator's delegate take")
c3.metric("Validator trust", f"{row['validator_trust']:.4f}")
c4.metric("Stake (α)", f"{row['stake_alpha']:,.0f}")
d1, d2, d3, d4 = st.columns(4)
d1.metric("Return (α a day per 1,000 TAO)", _figure(row["return_alpha_per_1000_per_day"], ",.3f"))
d2.metric("Clipped", f"{row['clipped_mass']:.2%}", help="share of its weight above consensus (1 − Tv)")
d3.metric("Stake share", f"{row['stake_share']:.2%}")
d4.metric("Dividend share", f"{row['dividend_share']:.2%}")
name = f"{row['name']} · " if row["name"] else ""
st.text(f"{name}UID {uid} · hotkey {hotkey}\nHealth: {row['severity']} — {row['reason']}")
watched = [*dict.fromkeys([*st.session_state.get("watchlist_keys", []), hotkey])]
ui.page_link(
    "pages/9_Watchlist.py",
    label="watch this validator",
    query_params={watchlist.PARAM_WATCH: watched},
    fallback_url=watchlist.watch_link(hotkey, watched),
    icon=":material/visibility:",
    help="open the Watchlist page with this hotkey added to its link (the watchlist file it shows is yours to save)",
)

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
        legend=ui.legend_on_top(),
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
history = ui.cached(stake.validator_history, db, netuid, hotkey)
if len(history) <= 1:
    st.info(
        "This hotkey appears in one snapshot only. History builds up as the weekly collection runs "
        "(`python -m analytics collect`, see the README's cron line)."
    )
if not history.empty:
    hist = history.assign(dividends_alpha=history["dividends"].astype("Float64") / export.RAO_PER_UNIT)
    panels = [
        ("return_tao_per_1000_per_day", "return: TAO a day per 1,000 TAO", ",.3~f"),
        ("stake_alpha", "stake (α)", ",.0f"),
        # two significant digits (0.0012, 8, 1,200): never 8.434, and tiny per-epoch amounts not shown as 0
        ("dividends_alpha", "dividends to its stakers per epoch (α)", ",.2~g"),
        ("validator_trust", "validator trust Tv", ".2f"),
    ]
    fig = make_subplots(
        rows=len(panels),
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.05,
        subplot_titles=[t for _, t, _ in panels],
    )
    for i, (column, title, fmt) in enumerate(panels, start=1):
        fig.add_trace(go.Scatter(x=hist["taken_at"], y=hist[column], mode="lines+markers", name=title), i, 1)
        fig.update_yaxes(rangemode="tozero", tickformat=fmt, nticks=6, row=i, col=1)
    fig.update_yaxes(range=[0, 1.05], row=len(panels), col=1)
    fig.update_layout(
        height=640, margin={"l": 10, "r": 10, "t": 30, "b": 10}, showlegend=False, hovermode="x unified"
    )
    st.plotly_chart(fig, width="stretch", key="validator_history_chart")
    ui.table_and_csv(
        hist,
        export.csv_filename("validator_history", netuid, None, None, uid=uid),
        key="validator_history",
        column_order=[
            "taken_at",
            "block",
            "return_tao_per_1000_per_day",
            "return_alpha_per_1000_per_day",
            "stake_alpha",
            "dividends_alpha",
            "validator_trust",
            "alpha_price_tao",
            "snapshot_id",
        ],
        column_config={
            "taken_at": st.column_config.DatetimeColumn("Taken (UTC)", format="YYYY-MM-DD HH:mm"),
            "block": st.column_config.NumberColumn("Block", format="localized", step=1),
            "return_tao_per_1000_per_day": st.column_config.NumberColumn("Return (TAO/day)", format="%.3f"),
            "return_alpha_per_1000_per_day": st.column_config.NumberColumn("Return (α/day)", format="%.3f"),
            "stake_alpha": st.column_config.NumberColumn("Stake (α)", format="localized", step=1),
            "dividends_alpha": st.column_config.NumberColumn("Dividends per epoch (α)", format="%.3f"),
            "validator_trust": st.column_config.NumberColumn("Tv", format="%.4f"),
            "alpha_price_tao": st.column_config.NumberColumn("α price (TAO)", format="%.5f"),
            "snapshot_id": st.column_config.NumberColumn("Snapshot", format="%d"),
        },
    )
    st.caption(
        "Returns: what 1,000 TAO staked earns per day after the take, in TAO at that snapshot's pool price and in α."
    )
