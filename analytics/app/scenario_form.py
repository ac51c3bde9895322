"""The What-if page's scenario glue: the scenarios in the link (``?scenario=`` in the CLI's grammar, ``?epochs=``),
and the builder drawn from the registry :data:`analytics.model.scenarios.KINDS` (one widget per form field)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from analytics.app import ui
from analytics.data.snapshot import SubnetSnapshot
from analytics.model import simulate as sm
from analytics.model.yuma import EpochInputs

PARAM_SCENARIO = "scenario"
PARAM_EPOCHS = "epochs"
DEFAULT_EPOCHS = 20
KINDS = {kind.label: kind for kind in sm.KINDS}


def epochs_from_url() -> int:
    """The replay length the link asks for (else the last one chosen); a bad value is said and replaced."""
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


def scenarios_from_url(inputs: EpochInputs) -> list[sm.Scenario]:
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


def set_scenarios(specs: list[str]) -> None:
    """The link's scenarios become ``specs``."""
    st.query_params[PARAM_SCENARIO] = specs


def keep_selected(widget_key: str) -> None:
    """The scenarios left selected in the multiselect ``widget_key`` become the link's."""
    set_scenarios(list(st.session_state[widget_key]))


def add(tokens: list[str], current: list[str], clear: str | None = None) -> None:
    """Add scenario tokens to the link if they parse and combine with ``current``; else say why."""
    try:
        added = [sm.parse_scenario(t) for t in tokens]
        sm.check_combination([*(sm.parse_scenario(s) for s in current), *added])
    except sm.ScenarioError as exc:
        st.session_state["_whatif_error"] = str(exc)
        return
    if clear:
        st.session_state[clear] = ""
    set_scenarios([*current, *(a.spec for a in added)])


def add_typed(current: list[str]) -> None:
    """Add what was typed in the text box (the CLI's tokens, space-separated)."""
    add(st.session_state.get("whatif_text", "").split(), current, clear="whatif_text")


def _form_value(field: sm.FormField, where: Any, snap: SubnetSnapshot, validators: list[int]) -> Any:
    """One field of a scenario kind's form as a widget (uids shown with their hotkeys)."""
    uids = list(range(snap.n))

    def name(uid: int) -> str:
        hotkey = str(snap.hotkeys[uid])
        return f"{uid} · {hotkey[:10]}…" if len(hotkey) > 10 else f"{uid} · {hotkey}" if hotkey else str(uid)

    now = 0.0 if field.current is None else float(snap.subnet[field.current[0]]) / field.current[1]
    key = field.key
    if field.kind in ("validator", "source", "miner"):
        options = uids if field.kind == "miner" else validators
        index = min(1, len(options) - 1) if field.kind == "source" else 0
        return where.selectbox(field.label, options, index=index, format_func=name, key=key)
    if field.kind == "text":
        return where.text_input(field.label, field.default, key=key)
    if field.kind == "number":
        return where.number_input(field.label, field.low, field.high, field.default, step=field.step, key=key)
    if field.kind == "fraction":
        return where.slider(field.label, field.low, field.high, float(round(now, 2)), field.step, key=key)
    if field.kind == "switch":
        return where.toggle(field.label, value=not bool(now), key=key)
    if field.kind == "range":
        return where.slider(field.label, field.low, field.high, field.default, field.step, key=key)
    return where.number_input(field.label, field.low, field.high, int(now), key=key)


def builder(snap: SubnetSnapshot, current: list[str], validators: list[int]) -> None:
    """The registry's form for the chosen kind of scenario; its token is added to the URL."""
    kind = KINDS[st.selectbox("Change", list(KINDS), key="whatif_kind")]
    cols = st.columns(3)
    values = {
        field.name: _form_value(field, cols[k], snap, validators or list(range(snap.n)))
        for k, field in enumerate(kind.fields)
    }
    spec = kind.form(values)
    st.text(f"Adds: {spec}")
    st.button("Add scenario", key="whatif_add", on_click=add, args=([spec], current), type="primary")
    if st.session_state.get("_whatif_error"):
        st.error(f"Not added: {ui.code(st.session_state.pop('_whatif_error'), 300)}")
