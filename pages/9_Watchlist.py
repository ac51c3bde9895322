"""Watchlist: the hotkeys in the link (?watch=…), their state now, their alerts, and the TOML to write.

Read-only: the app never writes the watchlist file; `python -m analytics alerts` reads it.
"""

from __future__ import annotations

import streamlit as st

from analytics.app import ui, watch
from analytics.views import export, watchlist

db = ui.page_setup(
    "Watchlist",
    intro="Validators you watch: how they stand now, what the alerts runs sent, and the watchlist file to save.",
)
snapshot_id = ui.snapshot_picker(db)

raw = st.query_params.get_all(watchlist.PARAM_WATCH)
watched, refused = watchlist.watched_keys(raw[: watchlist.MAX_WATCHED])
if len(raw) > watchlist.MAX_WATCHED:
    st.warning(f"The link watches {len(raw)} keys; the first {watchlist.MAX_WATCHED} are shown.")
for value in refused:
    st.warning(f"{ui.code(value)} in the link is not a Bittensor SS58 address: ignored.")
st.session_state["watchlist_keys"] = list(watched)  # the pages' watch links add to these

if not watched:
    st.info(
        "No hotkey is watched yet. Click **watch** next to a validator on the Validators page or on "
        "Validator detail, or add `?watch=HOTKEY` (repeatable) to this page's link."
    )
    st.stop()

kept = st.multiselect(
    "Watched hotkeys (remove one to drop it from the link)", options=watched, default=watched, key="watched"
)
if kept != watched:
    st.query_params[watchlist.PARAM_WATCH] = kept
    st.rerun()

state, now = ui.cached(watch.watch_state, db, snapshot_id, tuple(watched))
st.subheader("State now")
ui.table_and_csv(
    state,
    export.csv_filename("watchlist_state", None, None, snapshot_id),
    "watch_state",
    column_config={
        "hotkey": st.column_config.TextColumn("Hotkey", width="medium"),
        "netuid": st.column_config.NumberColumn("Subnet", format="%d"),
        "uid": st.column_config.NumberColumn("UID", format="%d"),
        "validator_permit": st.column_config.CheckboxColumn("Permit"),
        "validator_trust": st.column_config.NumberColumn("Tv on chain", format="%.4f"),
        "stake_alpha": st.column_config.NumberColumn("Stake (α)", format="localized", step=1),
        "severity": st.column_config.TextColumn(
            "Severity", help="as the alerts rate it (the consensus explanation, its worst mechanism first)"
        ),
        "reason": st.column_config.TextColumn("Why", width="large"),
        "blocks_since_update": st.column_config.NumberColumn("Blocks since update"),
        "likely_copier": st.column_config.CheckboxColumn("Copier signal"),
    },
)

st.subheader("Alerts that hold on this snapshot")
if now.empty:
    st.success(f"None of the suggested rules ({', '.join(watch.DEFAULT_RULES)}) fires for these hotkeys.")
else:
    ui.table_and_csv(
        now,
        export.csv_filename("watchlist_alerts_now", None, None, snapshot_id),
        "watch_now",
        column_config={
            "rule": st.column_config.TextColumn("Rule"),
            "netuid": st.column_config.NumberColumn("Subnet", format="%d"),
            "hotkey": st.column_config.TextColumn("Hotkey", width="medium"),
            "message": st.column_config.TextColumn("Message", width="large"),
        },
    )

st.subheader("Alert history")
history = ui.cached(watchlist.alert_history, db, tuple(watched))
if history.empty:
    st.info(
        "No alert was sent for these hotkeys yet. Alerts are remembered in the database by "
        "`python -m analytics alerts --config data/alerts.toml` (or `collect --alerts data/alerts.toml`)."
    )
else:
    ui.table_and_csv(
        history,
        export.csv_filename("watchlist_alert_history", None, None, None),
        "watch_history",
        column_config={"message": st.column_config.TextColumn("Message", width="large")},
    )

st.subheader("Your watchlist file")
rules = st.multiselect(
    "Rules", options=list(watch.DEFAULT_RULES), default=list(watch.DEFAULT_RULES), key="rules"
)
st.code(watch.watchlist_toml(watched, rules or list(watch.DEFAULT_RULES)), language="toml")
st.caption(
    "Save this as `data/alerts.toml`, put your own Apprise URL under `[[notify]]` (Discord, Telegram, Slack, "
    "e-mail, a JSON webhook…), and run `python -m analytics alerts --dry-run` to see what it would send. "
    "The app never writes this file."
)
