"""Where to stake: every validator of every subnet, ranked by what 1,000 TAO staked earns per day."""

from __future__ import annotations

import math

import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from analytics.app import ui
from analytics.views import export, health, stake

db = ui.page_setup(
    "Where to stake",
    icon=":material/savings:",
    intro="Every validator of every subnet, ranked by what 1,000 TAO staked with it earns per day after its "
    "take, with its consensus health. Search a hotkey, coldkey or name to see one validator on every subnet.",
)
snapshot_id = ui.snapshot_picker(db)
subnets = ui.subnet_list(db, snapshot_id)
names = {
    int(n): (v if isinstance(v, str) else "") for n, v in zip(subnets["netuid"], subnets["name"], strict=True)
}


def _netuids(raw: str) -> list[int]:
    values = [int(part) for part in raw.split(",") if part.strip()]
    unknown = [v for v in values if v not in names]
    if unknown:
        raise KeyError(unknown)
    return values


def _window(raw: str) -> int:
    value = int(raw)
    if value not in stake.WINDOWS:
        raise ValueError(raw)
    return value


def _min_stake(raw: str) -> float:
    value = float(raw)
    if not math.isfinite(value) or value < 0:
        raise ValueError(raw)
    return value


def _flag(raw: str) -> bool:
    return {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}[
        raw.strip().lower()
    ]


def _query(raw: str) -> str:
    if len(raw) > 100 or not raw.isprintable():
        raise ValueError(raw)
    return raw


WINDOW_LABELS = {1: "last epoch", 7: "7 days", 30: "30 days"}
ui.bound_state(
    "netuid", "stake_netuids", parse=_netuids, default=[], label="subnets", shown=lambda _: "every subnet"
)
ui.bound_state("window", "stake_window", parse=_window, default=stake.DEFAULT_WINDOW, label="window",
               shown=lambda w: f"{WINDOW_LABELS[w]}")  # fmt: skip
ui.bound_state("min_stake", "stake_min", parse=_min_stake, default=0.0, label="minimum stake",
               shown=lambda _: "no minimum")  # fmt: skip
ui.bound_state("in_consensus", "stake_in_consensus", parse=_flag, default=False, label="in consensus only",
               shown=lambda _: "every validator")  # fmt: skip
ui.bound_state(
    "hotkey",
    "stake_hotkey",
    parse=stake.parse_hotkey,
    default="",
    label="hotkey",
    shown=lambda _: "every validator",
)
ui.bound_state("q", "stake_query", parse=_query, default="", label="search", shown=lambda _: "no search")

search, subnet_box = st.columns([3, 2])
search.text_input(
    "Search hotkey, coldkey or name",
    key="stake_query",
    placeholder="e.g. 5F3s… or a validator's name",
    help="Part of a hotkey, coldkey or on-chain name, on every subnet (case does not matter).",
)
subnet_box.multiselect(
    "Subnets",
    list(names),
    key="stake_netuids",
    format_func=lambda n: f"{n} · {names[n]}" if names[n] else str(n),
    placeholder="every subnet",
)
w_col, min_col, cons_col = st.columns([2, 2, 2])
w_col.segmented_control(
    "Return over", list(stake.WINDOWS), key="stake_window", format_func=WINDOW_LABELS.get, required=True
)
min_col.number_input("Minimum stake (TAO)", min_value=0.0, step=100.0, key="stake_min", format="%.0f")
cons_col.toggle(
    "In consensus only",
    key="stake_in_consensus",
    help=f"hide critical, major and keys without a validator permit. {health.rules()}",
)

window = int(st.session_state["stake_window"] or stake.DEFAULT_WINDOW)
filters = stake.Filters(
    netuids=tuple(int(n) for n in st.session_state["stake_netuids"]),
    min_stake_tao=float(st.session_state["stake_min"] or 0.0),
    in_consensus_only=bool(st.session_state["stake_in_consensus"]),
    hotkey=st.session_state["stake_hotkey"] or None,
    query=str(st.session_state["stake_query"] or ""),
)
table = ui.cached(stake.stake_table, db, snapshot_id, window)
if filters.hotkey and not (table["hotkey"] == filters.hotkey).any():
    st.warning(
        f"No validator with hotkey {ui.code(filters.hotkey)} in this snapshot; showing every validator instead."
    )
    st.session_state["stake_hotkey"] = ""
    filters = stake.Filters(**{**filters.__dict__, "hotkey": None})

ui.write_state("netuid", ",".join(str(n) for n in filters.netuids))
ui.write_state("window", None if window == stake.DEFAULT_WINDOW else str(window))
ui.write_state("min_stake", None if filters.min_stake_tao == 0 else f"{filters.min_stake_tao:g}")
ui.write_state("in_consensus", "1" if filters.in_consensus_only else None)
ui.write_state("hotkey", filters.hotkey)
ui.write_state("q", filters.query or None)

shown = stake.apply_filters(table, filters)

# The heading says what is shown, for a phone where the sidebar is closed.
if filters.hotkey:
    what = f"hotkey {filters.hotkey[:6]}…{filters.hotkey[-4:]}"
elif filters.netuids:
    what = ("subnet " if len(filters.netuids) == 1 else "subnets ") + ", ".join(map(str, filters.netuids))
else:
    what = "every subnet"
ui.set_heading(f"Where to stake · {what} · {WINDOW_LABELS[window]}")
if filters.hotkey:
    st.text(f"Validator hotkey {filters.hotkey}")
    if st.button("Show every validator", icon=":material/close:"):
        st.session_state["stake_hotkey"] = ""
        ui.write_state("hotkey", None)
        st.rerun()

if table.empty:
    st.info(
        f"Snapshot {snapshot_id} holds no validator returns. Collect a snapshot with `python -m analytics collect`."
    )
    st.stop()

c1, c2, c3 = st.columns(3)
c1.metric("Validators shown", f"{len(shown):,}", help=f"of {len(table):,} in this snapshot")
c2.metric("Subnets", f"{shown['netuid'].nunique():,}")
best = shown["return_tao_per_1000_per_day"].max() if len(shown) else float("nan")
c3.metric("Best return (TAO a day per 1,000 TAO)", "—" if math.isnan(best) else f"{best:,.3f}")

if shown.empty:
    st.info("No validator matches these filters. Clear the search or lower the minimum stake.")
    st.stop()

st.caption(
    "Return: what 1,000 TAO staked today earns per day after the validator's take (and the childkey take "
    "where it applies), in TAO at the subnet's pool price; in α, the alpha it earns. Trend: change of the "
    "last-epoch return over the window. Select a row for its history."
)
event = st.dataframe(
    shown,
    hide_index=True,
    width="stretch",
    height=min(36 * (len(shown) + 1) + 3, 600),
    on_select="rerun",
    selection_mode="single-row",
    key="stake_table",
    column_config={
        "netuid": st.column_config.NumberColumn("Subnet", format="%d", width=60, pinned=True),
        "name": st.column_config.TextColumn("Name", width="small"),
        "hotkey": st.column_config.TextColumn("Hotkey", width="small"),
        "return_tao_per_1000_per_day": st.column_config.NumberColumn(
            "Return (TAO/day)", format="%.3f", help="per 1,000 TAO staked, after take"
        ),
        "delegate_take": st.column_config.NumberColumn("Take", format="percent", width=70),
        "health": st.column_config.TextColumn("Health", width=80, help=health.rules()),
        "stake_tao": st.column_config.NumberColumn(
            "Stake (TAO)", format="localized", step=1, help="its alpha stake at the pool price"
        ),
        "validator_trust": st.column_config.NumberColumn("Tv", format="%.3f", width=70),
        "trend": st.column_config.NumberColumn("Trend", format="percent", width=70),
        "return_alpha_per_1000_per_day": st.column_config.NumberColumn(
            "Return (α/day)",
            format="%.3f",
            help="the same return in alpha: α a day for 1,000 TAO staked (at the pool price), after take",
        ),
        "stake_alpha": st.column_config.NumberColumn("Stake (α)", format="localized", step=1),
        "alpha_price_tao": st.column_config.NumberColumn("α price (TAO)", format="%.5f"),
        "childkey_take": st.column_config.NumberColumn("Childkey take", format="percent"),
        "reason": st.column_config.TextColumn("Why", width="medium"),
        "uid": st.column_config.NumberColumn("UID", format="%d"),
        "coldkey": st.column_config.TextColumn("Coldkey", width="small"),
        "window_epochs": st.column_config.NumberColumn("Epochs in window", format="%d"),
    },
    placeholder="",
)
csv_name = export.csv_filename("stake", None, None, snapshot_id, w=window)  # stake_snap12_w7.csv
ui.csv_download(shown, csv_name, key="stake")

st.subheader("Return against stake")
fig = stake.bubble_figure(shown)
fig.update_layout(height=440, margin={"l": 10, "r": 10, "t": 40, "b": 10}, legend=ui.legend_on_top("health"))
st.plotly_chart(fig, width="stretch", key="stake_bubbles")
ui.csv_download(shown, csv_name, key="stake_chart")

# One validator over time: the selected row, else the hotkey asked for. Not drawn by default: its history
# is a read across every snapshot, so the first view of the page stays fast.
rows = event.selection.rows if event is not None else []
if not rows and not filters.hotkey:
    st.subheader("One validator over time")
    st.caption("Select a row of the table, or search a hotkey, to see its return, Tv and stake over time.")
    st.stop()
pick = shown.iloc[rows[0]] if rows else shown.iloc[0]
netuid, hotkey = int(pick["netuid"]), str(pick["hotkey"])
st.subheader(f"One validator over time · subnet {netuid}")
label = pick["name"] if isinstance(pick["name"], str) and pick["name"] else "no on-chain name"
st.text(f"{label} · hotkey {hotkey}")
st.page_link(
    "pages/3_Validator_detail.py",
    label="Its consensus detail",
    query_params={"snapshot": str(snapshot_id), "netuid": str(netuid), "validator": hotkey},
    icon=":material/arrow_forward:",
)
history = ui.cached(stake.validator_history, db, netuid, hotkey)
if len(history) <= 1:
    st.info("This validator appears in one snapshot only: history builds up as the weekly collection runs.")
if not history.empty:
    fig = make_subplots(
        rows=3,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.06,
        subplot_titles=("return: TAO a day per 1,000 TAO, after take", "validator trust Tv", "stake (α)"),
    )
    x = history["taken_at"]
    fig.add_trace(
        go.Scatter(x=x, y=history["return_tao_per_1000_per_day"], mode="lines+markers", name="return"), 1, 1
    )
    fig.add_trace(go.Scatter(x=x, y=history["validator_trust"], mode="lines+markers", name="Tv"), 2, 1)
    fig.add_trace(go.Scatter(x=x, y=history["stake_alpha"], mode="lines+markers", name="stake"), 3, 1)
    fig.update_yaxes(range=[0, 1.05], row=2, col=1)
    fig.update_yaxes(rangemode="tozero", tickformat=",.3~f", row=1, col=1)
    fig.update_yaxes(rangemode="tozero", tickformat=",.0f", row=3, col=1)
    fig.update_layout(
        height=560, margin={"l": 10, "r": 10, "t": 30, "b": 10}, showlegend=False, hovermode="x unified"
    )
    st.plotly_chart(fig, width="stretch", key="stake_history")
    ui.csv_download(
        history, export.csv_filename("stake_history", netuid, None, snapshot_id), key="stake_history"
    )
