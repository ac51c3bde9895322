"""What-if: replay a subnet's epochs with changed weights, stake or hyperparameters, against the baseline.

Layout only: the snapshot gives the engine inputs, analytics.model.simulate replays the epochs,
analytics.views.whatif builds the tables and figures (so the CSV here and `python -m analytics simulate --csv`
agree), and the scenario builder is drawn from the registry analytics.model.scenarios.KINDS.
Scenarios live in the URL as repeated ``scenario`` parameters in the CLI's grammar (``?scenario=copy:5=12&scenario=kappa=0.6``),
so a link reproduces a what-if; ``epochs`` holds the replay length.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from analytics.app import scenario_form as form
from analytics.app import ui
from analytics.data.snapshot import SubnetSnapshot, load_subnet
from analytics.model import simulate as sm
from analytics.views import display, export, whatif
from analytics.views.whatif import BONDS_SHOWN, epochs_frame, mechanism_inputs, winners_frame

# Replays hold every epoch's (n, n) bonds (13 MB for 100 epochs of 256 UIDs): keep a few per server.
CACHED_WHAT_IFS = 8


# --------------------------------------------------------------------------------------------------
# Page

db, snapshot_id, netuid, mechid = ui.subnet_page(
    "What-if",
    "Replay a subnet's next epochs with the exact Yuma engine, changing weights, stake or hyperparameters, "
    "and compare with the same replay unchanged. Bonds and validator permits carry from epoch to epoch as on "
    "chain; weights are held fixed and re-set every epoch by everyone who set them.",
)
snap: SubnetSnapshot = ui.cached(load_subnet, db, snapshot_id, netuid)
if snap.n == 0:
    st.info(f"Subnet {netuid} has no neurons in snapshot {snapshot_id}: there is nothing to replay.")
    st.stop()

epochs = st.sidebar.slider("Epochs to replay", 1, sm.MAX_EPOCHS, form.epochs_from_url(), key="whatif_epochs")
st.session_state["_memo_epochs"] = epochs
st.query_params[form.PARAM_EPOCHS] = str(epochs)
if not snap.aligned:
    st.caption(
        "This snapshot was not taken at an epoch boundary: the first epoch starts from the state read at "
        f"block {snap.current_block:,}, so it is not the chain's own epoch."
    )
if snap.mechanism_count > 1:
    st.caption(
        f"Mechanism {mechid} of {snap.mechanism_count}: the replay runs this mechanism's weights and bonds "
        "with its share of the subnet's emission."
    )

scenarios = form.scenarios_from_url(mechanism_inputs(snap, mechid))
specs = [s.spec for s in scenarios]
permits = np.flatnonzero(snap.validator_permit | snap.validator_permit_prev).tolist()

if specs:
    st.multiselect(
        "Scenarios (remove one to drop it)",
        specs,
        default=specs,
        key=f"whatif_active_{'|'.join(specs)}",
        on_change=form.keep_selected,
        args=(f"whatif_active_{'|'.join(specs)}",),
    )
with st.expander("How the replay works"):
    st.markdown(
        "- The first epoch starts from the snapshot's stored inputs: weights, stake, bonds, permits, "
        "last updates and hyperparameters. Without a scenario it reproduces the chain's stored outputs.\n"
        "- Each epoch's bonds and new validator permits are the next epoch's inputs, as on chain; the block "
        "advances by the tempo.\n"
        "- Weights are held fixed and re-set every epoch by every uid that was active, so nobody goes "
        "stale (`stop:U` makes one stop). Stake and registrations are held fixed.\n"
        "- *Follows consensus* sets this epoch's consensus, computed from everybody else's weights; "
        "*copies last epoch's consensus* is the copier who reads the chain. Dividends follow bonds, which "
        "move by the bonds moving average each epoch: a validator that moves into consensus earns its "
        "share only as its bonds build.\n"
        "- One mechanism at a time, with its share of the subnet's emission."
    )
with st.expander("Add a scenario", expanded=not specs):
    form.builder(snap, specs, permits)
    st.text_input(
        "Or type scenarios as the CLI takes them (separated by spaces), then press Enter",
        key="whatif_text",
        on_change=form.add_typed,
        args=(specs,),
        placeholder="copy:5=12 kappa=0.6",
    )
    with st.popover("Scenario grammar"):
        st.code(sm.SCENARIO_GRAMMAR, language=None)

if not scenarios:
    base = ui.resource(whatif.baseline, db, snapshot_id, netuid, mechid, epochs, keep=6)
    trust = base.validator_trust[0]
    setters = np.asarray(snap.mechanism(mechid).weights).any(axis=1)
    candidates = [u for u in permits if setters[u] and trust[u] < 65535 * 0.9]
    st.info(
        "Add a scenario above to see what it changes. For instance, what would the least in-consensus validator "
        "earn if it followed consensus?"
    )
    if candidates:
        worst = min(candidates, key=lambda u: trust[u])
        st.button(
            f"Try: validator {worst} follows consensus",
            key="whatif_try",
            on_click=form.set_scenarios,
            args=([f"consensus:{worst}"],),
        )
    st.stop()

try:
    sim = ui.resource(
        whatif.simulation,
        db,
        snapshot_id,
        netuid,
        mechid,
        epochs,
        tuple(specs),
        keep=CACHED_WHAT_IFS,
        progress=("Replaying the epochs…", "Replaying epoch {done} of {total}…"),
        baseline=ui.resource(whatif.baseline, db, snapshot_id, netuid, mechid, epochs, keep=6),
    )
except sm.ScenarioError as exc:  # e.g. a scaled stake out of range
    st.error(f"The what-if cannot run: {ui.code(exc, 300)}")
    st.stop()

for note in sim.notes:
    st.warning(ui.code(note, 300))
changed_params = whatif.changed_hyperparameters(mechanism_inputs(snap, mechid), sim.inputs)
if not changed_params.empty:
    st.dataframe(changed_params, hide_index=True, width="stretch", placeholder="")

# Headline: what each named uid is paid over the replay, what-if against baseline.
paid_base, paid_what = sim.paid()
labels = {uid: f"uid {uid}" for uid in sim.target_uids()[:4]}
if not labels and sim.biggest_winner_loser() is not None:  # a hyperparameter what-if: its extremes
    winner, loser = sim.biggest_winner_loser()
    labels = {winner: "biggest winner, uid", loser: "biggest loser, uid"}
    labels = {uid: f"{text} {uid}" for uid, text in labels.items()}
for col, (uid, label) in zip(st.columns(max(len(labels), 1)), labels.items(), strict=False):
    base_paid, what_paid = int(paid_base[uid]), int(paid_what[uid])
    change = f"{100 * (what_paid - base_paid) / base_paid:+.1f} %" if base_paid else None
    col.metric(f"{label}: paid over {epochs} epochs (α)", f"{what_paid / 1e9:,.3f}", change)

was_validator = sim.was_validator
validators_moved = sim.affected_uids(5, "dividends", was_validator)
miners_moved = sim.affected_uids(5, "incentive", ~was_validator)
left, right = st.columns(2)
chart_validators = left.multiselect(
    "Validators in the charts",
    np.flatnonzero(was_validator).tolist(),
    default=validators_moved,
    key="whatif_validators",
    help="By default: the validators the scenarios name, then those whose dividends moved most.",
)
chart_miners = right.multiselect(
    "Miners in the incentive chart",
    np.flatnonzero(~was_validator).tolist(),
    default=miners_moved,
    key="whatif_miners",
    help="By default: the miners the scenarios name, then those whose incentive moved most.",
)
LINE_CHARTS = (
    ("validator_trust", "Validator trust (Tv)", chart_validators),
    ("dividends", "Dividends", chart_validators),
    ("incentive", "Incentive", chart_miners),
)
difference = (
    st.radio(
        "Plot",
        ["values", "difference from baseline"],
        horizontal=True,
        key="whatif_plot",
        help="The difference shows small changes that the values' scale hides.",
    )
    == "difference from baseline"
)
for field, title, uids in LINE_CHARTS:
    if uids:
        st.plotly_chart(
            whatif.line_chart(sim, field, uids, title, difference),
            width="stretch",
            key=f"whatif_{field}_chart",
        )
if not chart_validators and not chart_miners:
    st.info("Pick validators or miners to chart.")

st.subheader("Winners and losers")
st.caption(
    "Emission paid over the replayed epochs (miner incentive + validator dividends), what-if vs baseline, "
    "in α. The CSV holds the exact amounts in rao."
)
winners = winners_frame(snap, sim)
if winners.empty:
    st.info("No uid's emission changed.")
else:
    st.dataframe(display.whatif_winners_table(winners), hide_index=True, width="stretch", placeholder="")
ui.csv_download(
    winners,
    export.csv_filename("whatif_winners", netuid, mechid, snapshot_id, epochs=epochs),
    key="whatif_winners",
)

st.subheader("Bonds of a validator")
bond_holders = sorted(set(np.flatnonzero(was_validator).tolist()) | set(sim.target_uids()) & set(permits))
targets = [u for u in sim.target_uids() if u in bond_holders]
hotkeys = {u: str(snap.hotkeys[u]) for u in bond_holders if str(snap.hotkeys[u])}
chosen_hotkey = ui.validator_picker(
    hotkeys, default=hotkeys.get(targets[0]) if targets else None, where=st, label="Validator"
)
if chosen_hotkey is not None:
    chosen = next(u for u, hk in hotkeys.items() if hk == chosen_hotkey)
    view = st.radio("Show", ["what-if", "baseline", "difference"], horizontal=True, key="whatif_bonds_view")
    bonds = whatif.bonds_long(sim, chosen)
    if bonds.empty:
        st.info(f"Validator {chosen} holds no bonds in either replay.")
    else:
        held = bonds["miner_uid"].nunique()
        if held > BONDS_SHOWN:
            st.caption(f"Its {BONDS_SHOWN} largest bonds of {held}; the CSV holds them all.")
        st.plotly_chart(whatif.bonds_chart(sim, chosen, view), width="stretch", key="whatif_bonds_chart")
    name = export.csv_filename("whatif_bonds", netuid, mechid, snapshot_id, epochs=epochs, uid=chosen)
    ui.csv_download(bonds, name, key="whatif_bonds")

st.subheader("Per epoch")
st.caption(
    "The charted uids, every epoch: what-if, baseline and difference (u16 values as the chain stores them)."
)
table = epochs_frame(snap, sim)
table = table[table["uid"].isin(chart_validators + chart_miners)].reset_index(drop=True)
st.dataframe(table, hide_index=True, width="stretch", placeholder="")
ui.csv_download(
    table,
    export.csv_filename("whatif_epochs", netuid, mechid, snapshot_id, epochs=epochs),
    key="whatif_epochs_csv",
)
