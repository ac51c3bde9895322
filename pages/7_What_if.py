"""What-if: replay a subnet's epochs with changed weights, stake or hyperparameters, against the baseline.

Thin page: the snapshot gives the engine inputs (analytics.data.snapshot), analytics.model.simulate replays the
epochs, the CLI module builds the tables (so the CSV here and `python -m analytics simulate --csv` agree).
Scenarios live in the URL as repeated ``scenario`` parameters in the CLI's grammar (``?scenario=copy:5=12&scenario=kappa=0.6``),
so a link reproduces a what-if; ``epochs`` holds the replay length.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from analytics.app import ui
from analytics.cli.simulate import epochs_frame, mechanism_inputs, winners_frame
from analytics.data.snapshot import SubnetSnapshot, load_subnet
from analytics.model import simulate as sm
from analytics.model.yuma import EpochInputs
from analytics.views import display, export

PARAM_SCENARIO = "scenario"
PARAM_EPOCHS = "epochs"
DEFAULT_EPOCHS = 20
# Replays hold every epoch's (n, n) bonds (13 MB for 100 epochs of 256 UIDs): keep a few per server.
CACHED_WHAT_IFS = 8
BONDS_SHOWN = 40  # miners in the bonds heatmap (the validator's largest bonds)
COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"]

KINDS = {
    "Validator follows consensus": "consensus",
    "Validator copies another validator": "copy",
    "Validator copies last epoch's consensus": "lagcopy",
    "Validator sets its own weights": "weights",
    "Validator's weights arrive one epoch late": "late",
    "Validator stops (weights emptied)": "zero",
    "Validator stops re-setting weights (goes stale)": "stop",
    "Scale a validator's stake": "stake*",
    "Set a validator's stake": "stake=",
    "Miner gets better or worse": "miner",
    "Kappa (consensus quantile)": "kappa",
    "Bonds moving average": "bma",
    "Bonds penalty": "penalty",
    "Yuma version": "yuma3",
    "Liquid alpha": "liquid",
    "Liquid alpha bounds": "alpha",
    "Maximum validators": "maxval",
}


# --------------------------------------------------------------------------------------------------
# Cached computation (snapshots are immutable once stored; the DB file's mtime guards a replaced file)


def _db_stamp(db: str) -> int:
    try:
        return os.stat(db).st_mtime_ns
    except OSError:
        return 0


@st.cache_resource(show_spinner=False, max_entries=6)
def _baseline(db: str, stamp: int, snapshot_id: int, netuid: int, mechid: int, epochs: int) -> sm.Replay:
    snap = load_subnet(db, snapshot_id, netuid)
    return sm.replay_baseline(mechanism_inputs(snap, mechid), epochs, previous_consensus=snap.prev_consensus)


@st.cache_resource(show_spinner=False)
def _simulations() -> dict[tuple[object, ...], sm.Simulation]:
    """What-ifs computed in this server process, newest last (a small LRU kept by :func:`_simulation`)."""
    return {}


def _simulation(
    db: str, snapshot_id: int, netuid: int, mechid: int, epochs: int, specs: tuple[str, ...]
) -> sm.Simulation:
    """The what-if, from the cache or replayed now with a progress bar (the baseline is cached apart)."""
    stamp = _db_stamp(db)
    key = (db, stamp, snapshot_id, netuid, mechid, epochs, specs)
    cache = _simulations()
    if key in cache:
        cache[key] = cache.pop(key)
        return cache[key]
    snap = ui.cached(load_subnet, db, snapshot_id, netuid)
    base = _baseline(db, stamp, snapshot_id, netuid, mechid, epochs)
    bar = st.progress(0.0, text="Replaying the epochs…")
    sim = sm.simulate(
        mechanism_inputs(snap, mechid),
        sm.parse_scenarios(specs),
        epochs,
        previous_consensus=snap.prev_consensus,
        baseline=base,
        progress=lambda done, total: bar.progress(done / total, text=f"Replaying epoch {done} of {total}…"),
    )
    bar.empty()
    cache[key] = sim
    while len(cache) > CACHED_WHAT_IFS:
        cache.pop(next(iter(cache)))
    return sim


# --------------------------------------------------------------------------------------------------
# Scenarios in the URL


def _epochs_from_url() -> int:
    raw = st.query_params.get(PARAM_EPOCHS)
    if raw is None:
        return int(st.session_state.get("_memo_epochs", DEFAULT_EPOCHS))
    try:
        return sm.parse_epochs(raw)
    except sm.ScenarioError:
        pass
    st.warning(
        f"The link asks for {ui.code(raw)} epochs; a replay runs 1 to {sm.MAX_EPOCHS}. "
        f"Showing {DEFAULT_EPOCHS} epochs instead."
    )
    return DEFAULT_EPOCHS


def _scenarios_from_url(inputs: EpochInputs) -> list[sm.Scenario]:
    """The link's scenarios that parse, fit this subnet and combine; each one rejected is shown with why."""
    kept: list[sm.Scenario] = []
    for raw in st.query_params.get_all(PARAM_SCENARIO):
        try:
            scenario = sm.parse_scenario(raw)
            sm.validate([*kept, scenario], inputs)
        except sm.ScenarioError as exc:
            st.error(f"Scenario left out: {ui.code(exc, 300)}")
            continue
        kept.append(scenario)
    specs = [s.spec for s in kept]
    if st.query_params.get_all(PARAM_SCENARIO) != specs:
        st.query_params[PARAM_SCENARIO] = specs
    return kept


def _set_scenarios(specs: list[str]) -> None:
    st.query_params[PARAM_SCENARIO] = specs


def _keep_selected(widget_key: str) -> None:
    _set_scenarios(list(st.session_state[widget_key]))


HYPERPARAMETERS = {  # EpochInputs field -> (label, how to show the raw value)
    "kappa": ("kappa", lambda v: f"{v / 65535:.4f} ({v})"),
    "bonds_moving_average": ("bonds moving average", lambda v: f"{v / 1e6:.4f} ({v})"),
    "bonds_penalty": ("bonds penalty", lambda v: f"{v / 65535:.4f} ({v})"),
    "yuma3": ("Yuma3", lambda v: "on" if v else "off"),
    "liquid_alpha": ("liquid alpha", lambda v: "on" if v else "off"),
    "alpha_low": ("alpha low", lambda v: f"{v / 65535:.4f} ({v})"),
    "alpha_high": ("alpha high", lambda v: f"{v / 65535:.4f} ({v})"),
    "max_allowed_validators": ("max validators", str),
}


def _changed_hyperparameters(stored: EpochInputs, what_if: EpochInputs | None) -> pd.DataFrame:
    """The hyperparameters the scenarios change: snapshot value and what-if value (raw chain value in brackets)."""
    rows = []
    for field, (label, show) in HYPERPARAMETERS.items():
        before, after = getattr(stored, field), getattr(what_if, field) if what_if is not None else None
        if what_if is not None and before != after:
            rows.append({"hyperparameter": label, "snapshot": show(before), "what-if": show(after)})
    return pd.DataFrame(rows, columns=["hyperparameter", "snapshot", "what-if"])


def _most_moved(sim: sm.Simulation, field: str, among: np.ndarray, limit: int = 5) -> list[int]:
    """The scenarios' own uids in ``among``, then those whose ``field`` moved most over the replay."""
    out = [u for u in sim.target_uids() if among[u]][:limit]
    moved = np.abs(sim.delta(field)).sum(axis=0) * among
    for uid in np.argsort(-moved, kind="stable"):
        if len(out) >= limit or moved[uid] == 0:
            break
        if int(uid) not in out:
            out.append(int(uid))
    return out


def _add(spec: str, current: list[str]) -> None:
    try:
        scenario = sm.parse_scenario(spec)
        sm.check_combination([*(sm.parse_scenario(s) for s in current), scenario])
    except sm.ScenarioError as exc:
        st.session_state["_whatif_error"] = str(exc)
        return
    _set_scenarios([*current, scenario.spec])


def _add_typed(current: list[str]) -> None:
    tokens = st.session_state.get("whatif_text", "").split()
    try:
        added = [sm.parse_scenario(t) for t in tokens]
        sm.check_combination([*(sm.parse_scenario(s) for s in current), *added])
    except sm.ScenarioError as exc:
        st.session_state["_whatif_error"] = str(exc)
        return
    st.session_state["whatif_text"] = ""
    _set_scenarios([*current, *(a.spec for a in added)])


def _builder(snap: SubnetSnapshot, current: list[str], validators: list[int]) -> None:
    """Widgets that turn a choice into one scenario token and add it to the URL."""
    n = snap.n
    uids = list(range(n))
    vals = validators or uids

    def label(uid: int) -> str:
        hotkey = str(snap.hotkeys[uid])
        return f"{uid} · {hotkey[:10]}…" if len(hotkey) > 10 else f"{uid} · {hotkey}" if hotkey else str(uid)

    kind_label = st.selectbox("Change", list(KINDS), key="whatif_kind")
    kind = KINDS[kind_label]
    cols = st.columns(3)
    spec: str
    if kind in ("consensus", "lagcopy", "late", "zero", "stop"):
        uid = cols[0].selectbox("Validator", vals, format_func=label, key="whatif_uid")
        spec = f"{kind}:{uid}"
    elif kind == "copy":
        uid = cols[0].selectbox("Validator", vals, format_func=label, key="whatif_uid")
        src = cols[1].selectbox(
            "copies", vals, index=min(1, len(vals) - 1), format_func=label, key="whatif_src"
        )
        spec = f"copy:{uid}={src}"
    elif kind == "weights":
        uid = cols[0].selectbox("Validator", vals, format_func=label, key="whatif_uid")
        text = cols[1].text_input("Weights (miner:weight, …)", "1:1", key="whatif_vector")
        spec = f"weights:{uid}={text}"
    elif kind == "stake*":
        uid = cols[0].selectbox("Validator", vals, format_func=label, key="whatif_uid")
        factor = cols[1].number_input("× factor", 0.0, 1000.0, 2.0, step=0.5, key="whatif_factor")
        spec = sm.ScaleStake(uid, factor).spec
    elif kind == "stake=":
        uid = cols[0].selectbox("Validator", vals, format_func=label, key="whatif_uid")
        alpha = cols[1].number_input("stake (alpha)", 0.0, 1e10, 1000.0, key="whatif_alpha")
        spec = f"stake:{uid}={round(alpha * 1e9)}"
    elif kind == "miner":
        uid = cols[0].selectbox("Miner", uids, format_func=label, key="whatif_miner")
        factor = cols[1].number_input("× weight", 0.0, 100.0, 0.5, step=0.1, key="whatif_mfactor")
        spec = sm.ScaleMiner(uid, factor).spec
    elif kind in ("kappa", "bma", "penalty"):
        now = {"kappa": snap.subnet["kappa"] / 65535, "bma": snap.subnet["bonds_moving_avg"] / 1e6}
        now["penalty"] = snap.subnet["bonds_penalty"] / 65535
        value = cols[0].slider(kind_label, 0.0, 1.0, float(round(now[kind], 2)), 0.01, key=f"whatif_{kind}")
        spec = f"{kind}={value:g}"
    elif kind in ("yuma3", "liquid"):
        now_on = bool(snap.subnet["yuma3" if kind == "yuma3" else "liquid_alpha"])
        on = cols[0].toggle("on", value=not now_on, key=f"whatif_{kind}_on")
        spec = f"{kind}={'on' if on else 'off'}"
    elif kind == "alpha":
        low, high = cols[0].slider("alpha low, high", 0.0, 1.0, (0.7, 0.9), 0.01, key="whatif_alpha_range")
        spec = f"alpha={low:g},{high:g}"
    else:
        count = cols[0].number_input(
            "permits", 1, 65535, int(snap.subnet["max_validators"]), key="whatif_maxval"
        )
        spec = f"maxval={int(count)}"
    st.text(f"Adds: {spec}")
    st.button("Add scenario", key="whatif_add", on_click=_add, args=(spec, current), type="primary")
    if st.session_state.get("_whatif_error"):
        st.error(f"Not added: {ui.code(st.session_state.pop('_whatif_error'), 300)}")


# --------------------------------------------------------------------------------------------------
# Charts


def _line_chart(sim: sm.Simulation, field: str, uids: list[int], title: str, difference: bool) -> go.Figure:
    """One line per uid and replay (what-if solid, baseline dotted), or one line per uid of the difference.

    One legend entry per uid (clicking it hides both of its lines), laid out below the plot so it is
    never cut off, whatever the width; the title is short and the line styles are its subtitle, so a
    phone-width chart does not clip them."""
    fig = go.Figure()
    x = np.arange(sim.epochs)
    for k, uid in enumerate(uids):
        color = COLORS[k % len(COLORS)]
        if difference:
            lines = [(sim.delta(field)[:, uid], "solid")]
        else:
            lines = [
                (getattr(sim.scenario, field)[:, uid], "solid"),
                (getattr(sim.baseline, field)[:, uid], "dot"),
            ]
        for n, (values, dash) in enumerate(lines):
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=values / 65535,
                    mode="lines",
                    line={"color": color, "dash": dash},
                    name=f"uid {uid}",
                    legendgroup=str(uid),
                    showlegend=n == 0,
                )
            )
    subtitle = "what-if − baseline" if difference else "what-if solid, baseline dotted"
    fig.update_layout(
        title={"text": title, "subtitle": {"text": subtitle}},
        xaxis_title="epoch",
        height=360,
        margin={"t": 60, "b": 30, "l": 10, "r": 10},
        legend={"orientation": "h", "yanchor": "top", "y": -0.25, "x": 0, "font": {"size": 11}},
    )
    return fig


def _bonds_long(sim: sm.Simulation, uid: int) -> pd.DataFrame:
    """One validator's bonds per epoch and miner, what-if and baseline (u16 as stored)."""
    b, s = sim.baseline.bonds[:, uid, :].astype(np.int64), sim.scenario.bonds[:, uid, :].astype(np.int64)
    held = np.flatnonzero((b > 0).any(0) | (s > 0).any(0))
    epochs = np.repeat(np.arange(sim.epochs), len(held))
    return pd.DataFrame(
        {
            "epoch": epochs,
            "validator_uid": uid,
            "miner_uid": np.tile(held, sim.epochs),
            "bond": s[:, held].reshape(-1),
            "bond_baseline": b[:, held].reshape(-1),
            "bond_delta": (s - b)[:, held].reshape(-1),
        }
    )


def _bonds_chart(sim: sm.Simulation, uid: int, view: str, top: int = BONDS_SHOWN) -> go.Figure:
    """Heatmap of one validator's bonds (epochs x its ``top`` largest-bonded miners)."""
    b, s = sim.baseline.bonds[:, uid, :].astype(np.int64), sim.scenario.bonds[:, uid, :].astype(np.int64)
    peak = np.maximum(b.max(0), s.max(0))
    held = np.flatnonzero(peak > 0)
    held = np.sort(held[np.argsort(-peak[held], kind="stable")[:top]])
    z = {"what-if": s, "baseline": b, "difference": s - b}[view][:, held] / 65535
    fig = go.Figure(
        go.Heatmap(
            z=z.T,
            x=np.arange(sim.epochs),
            y=[f"uid {j}" for j in held],
            colorscale="RdBu" if view == "difference" else "Viridis",
            zmid=0 if view == "difference" else None,
            colorbar={"title": "bond / 65535"},
        )
    )
    fig.update_layout(
        title={"text": f"Bonds of validator {uid}", "subtitle": {"text": view}},
        xaxis_title="epoch",
        yaxis_title="miner",
        height=max(300, min(900, 14 * len(held) + 140)),
        margin={"t": 60, "b": 30},
    )
    return fig


# --------------------------------------------------------------------------------------------------
# Page

db = ui.page_setup(
    "What-if",
    intro="Replay a subnet's next epochs with the exact Yuma engine, changing weights, stake or hyperparameters, "
    "and compare with the same replay unchanged. Bonds and validator permits carry from epoch to epoch as on "
    "chain; weights are held fixed and re-set every epoch by everyone who set them.",
)
snapshot_id = ui.snapshot_picker(db)
netuid = ui.subnet_picker(db, snapshot_id)
if netuid is None:
    st.stop()
mechid = ui.mechanism_picker(db, snapshot_id, netuid)
snap: SubnetSnapshot = ui.cached(load_subnet, db, snapshot_id, netuid)
if snap.n == 0:
    st.info(f"Subnet {netuid} has no neurons in snapshot {snapshot_id}: there is nothing to replay.")
    st.stop()

epochs = st.sidebar.slider("Epochs to replay", 1, sm.MAX_EPOCHS, _epochs_from_url(), key="whatif_epochs")
st.session_state["_memo_epochs"] = epochs
st.query_params[PARAM_EPOCHS] = str(epochs)
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

scenarios = _scenarios_from_url(mechanism_inputs(snap, mechid))
specs = [s.spec for s in scenarios]
permits = np.flatnonzero(snap.validator_permit | snap.validator_permit_prev).tolist()

if specs:
    st.multiselect(
        "Scenarios (remove one to drop it)",
        specs,
        default=specs,
        key=f"whatif_active_{'|'.join(specs)}",
        on_change=_keep_selected,
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
    _builder(snap, specs, permits)
    st.text_input(
        "Or type scenarios as the CLI takes them (separated by spaces), then press Enter",
        key="whatif_text",
        on_change=_add_typed,
        args=(specs,),
        placeholder="copy:5=12 kappa=0.6",
    )
    with st.popover("Scenario grammar"):
        st.code(sm.SCENARIO_GRAMMAR, language=None)

if not scenarios:
    base = _baseline(db, _db_stamp(db), snapshot_id, netuid, mechid, epochs)
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
            on_click=_set_scenarios,
            args=([f"consensus:{worst}"],),
        )
    st.stop()

try:
    sim = _simulation(db, snapshot_id, netuid, mechid, epochs, tuple(specs))
except sm.ScenarioError as exc:  # e.g. a scaled stake out of range
    st.error(f"The what-if cannot run: {ui.code(exc, 300)}")
    st.stop()

for note in sim.notes:
    st.warning(ui.code(note, 300))
changed_params = _changed_hyperparameters(mechanism_inputs(snap, mechid), sim.inputs)
if not changed_params.empty:
    st.dataframe(changed_params, hide_index=True, width="stretch", placeholder="")

# Headline: what each named uid is paid over the replay, what-if against baseline.
paid_base = sim.baseline.server_emission.sum(0) + sim.baseline.validator_emission.sum(0)
paid_what = sim.scenario.server_emission.sum(0) + sim.scenario.validator_emission.sum(0)
named = sim.target_uids()[:4]
labels = {uid: f"uid {uid}" for uid in named}
if not named:  # a hyperparameter what-if: headline its biggest winner and loser
    change_all = paid_what.astype(np.int64) - paid_base.astype(np.int64)
    if change_all.any():
        labels = {
            int(np.argmax(change_all)): "biggest winner, uid",
            int(np.argmin(change_all)): "biggest loser, uid",
        }
        labels = {uid: f"{text} {uid}" for uid, text in labels.items()}
for col, (uid, label) in zip(st.columns(max(len(labels), 1)), labels.items(), strict=False):
    base_paid, what_paid = int(paid_base[uid]), int(paid_what[uid])
    change = f"{100 * (what_paid - base_paid) / base_paid:+.1f} %" if base_paid else None
    col.metric(f"{label}: paid over {epochs} epochs (α)", f"{what_paid / 1e9:,.3f}", change)

was_validator = (sim.scenario.validator_permit | sim.baseline.validator_permit).any(axis=0)
validators_moved = _most_moved(sim, "dividends", was_validator)
miners_moved = _most_moved(sim, "incentive", ~was_validator)
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
            _line_chart(sim, field, uids, title, difference),
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
    bonds = _bonds_long(sim, chosen)
    if bonds.empty:
        st.info(f"Validator {chosen} holds no bonds in either replay.")
    else:
        held = bonds["miner_uid"].nunique()
        if held > BONDS_SHOWN:
            st.caption(f"Its {BONDS_SHOWN} largest bonds of {held}; the CSV holds them all.")
        st.plotly_chart(_bonds_chart(sim, chosen, view), width="stretch", key="whatif_bonds_chart")
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
