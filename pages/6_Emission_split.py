"""Emission split: how a subnet's emission is divided between its incentive mechanisms, per UID, and what-if.

Query, compute, draw: the subnet comes from analytics.views.split.load_stored_subnet (through the
store), every number from analytics.model.emission. The edited split lives in ``?split=`` so a link
reproduces the what-if.
"""

from __future__ import annotations

import streamlit as st

from analytics.app import ui
from analytics.model import emission
from analytics.views import display, export
from analytics.views.split import (
    comparison_table,
    load_stored_subnet,
    mechanism_table,
    owner_burn_note,
    payout_chart,
    split_table,
    totals_table,
)

PARAM_SPLIT = "split"
TOP = 10


def initial_split(count: int, current: tuple[int, ...] | None, netuid: int) -> tuple[int, ...]:
    """The editor's starting vector: a valid ``?split=`` link, else the current split (explicit)."""
    raw = st.query_params.get(PARAM_SPLIT)
    if raw is not None:
        try:
            parsed = emission.parse_split(raw, count)
        except emission.SplitError as exc:
            st.warning(
                f"The link's split {ui.code(raw)} is not valid for subnet {netuid}: {ui.code(exc, 300)}. "
                "Starting from the current split."
            )
        else:
            if parsed:
                return parsed + (0,) * (count - len(parsed))
    if current:
        return tuple(current) + (0,) * (count - len(current))
    return emission.even_split(count)


def _keep_typed_percent(keys: list[str], index: int) -> None:
    """The percentage just typed stays as typed; the other mechanisms share the rest in proportion
    (emission.keep_one_percent), and a note says what they became."""
    values = [st.session_state[k] for k in keys]
    if abs(sum(values) - 100) <= 1e-6:
        return
    kept = emission.keep_one_percent([f"{v:.6f}" for v in values], index)
    others = []
    for m, (key, value) in enumerate(zip(keys, kept, strict=True)):
        if m != index:
            st.session_state[key] = float(value)
            others.append(f"mechanism {m} → {float(value):.2f} %")
    st.session_state["_split_percent_note"] = (
        f"Mechanism {index} set to {float(kept[index]):.2f} %; the others keep their proportions and share "
        f"the remaining {100 - float(kept[index]):.2f} %: {', '.join(others)}."
    )


def split_editor(count: int, start: tuple[int, ...], netuid: int) -> tuple[int, ...] | None:
    """Percent or u16 inputs per mechanism; returns the valid vector to submit, or None (error shown)."""
    mode = st.radio("Edit the split as", ["percent", "u16"], horizontal=True, key=f"split_mode_{netuid}")
    columns = st.columns(min(count, 4))
    if mode == "percent":
        shown = [round(v / emission.U16_MAX * 100, 2) for v in start]
        keys = [f"pct_{netuid}_{count}_{m}" for m in range(count)]
        values = [
            columns[m % len(columns)].number_input(
                f"Mechanism {m} %",
                min_value=0.0,
                max_value=100.0,
                value=shown[m],
                step=0.5,
                format="%.2f",
                key=keys[m],
                on_change=_keep_typed_percent,
                args=(keys, m),
            )
            for m in range(count)
        ]
        if values == shown:
            return start  # untouched: keep the exact vector rather than re-rounding its percentages
        note = st.session_state.pop("_split_percent_note", None)
        if note:
            st.caption(note)
        total = sum(values)
        if abs(total - 100) > 1e-6 and total > 0:
            st.warning(f"The percentages add up to {total:.2f} %, not 100 %.")
            if st.button("Normalise to 100 %", key=f"split_normalise_{netuid}"):
                for key, value in zip(keys, values, strict=True):
                    st.session_state[key] = 100 * value / total
                st.rerun()
            return None
        try:
            return emission.percent_to_split([f"{v:.6f}" for v in values])
        except emission.SplitError as exc:
            st.error(f"Not a valid split: {exc}.")
            return None
    values = [
        columns[m % len(columns)].number_input(
            f"Mechanism {m} (u16)",
            min_value=0,
            max_value=emission.U16_MAX,
            value=int(start[m]),
            step=1,
            key=f"u16_{netuid}_{count}_{m}",
        )
        for m in range(count)
    ]
    try:
        return emission.parse_split([int(v) for v in values], count)
    except emission.SplitError as exc:
        st.error(f"The chain would reject this split: {exc.problem}.")
        if exc.suggestion:
            st.text(f"Nearest valid split: {emission.format_split(exc.suggestion)}")
        return None


# --------------------------------------------------------------------------------------------------

db, snapshot_id, netuid, _ = ui.subnet_page(
    "Emission split",
    "A subnet's owner splits its emission between incentive mechanisms with one u16 per mechanism "
    "(share = value / 65535). Each mechanism then pays its miners by incentive and its validators by dividends.",
    mechanism=False,
)


def split_csv(table: str, mechid: int | None = None) -> str:
    """This subnet's download names, as every page names them (export.csv_filename)."""
    return export.csv_filename(table, netuid, mechid, snapshot_id)


snap, inputs = ui.cached(load_stored_subnet, db, snapshot_id, netuid)
mechids = inputs.mechids
count = len(mechids)
try:
    current_split = emission.parse_split(snap.split, count) if snap.split else None
except emission.SplitError as exc:
    st.error(
        f"Subnet {netuid}'s stored split ({emission.format_split(snap.split)}) is not one the chain accepts for "
        f"{count} mechanism(s): {exc.problem}. The snapshot may be damaged; try another snapshot."
    )
    st.stop()

st.subheader(f"Subnet {netuid}: current split")
epoch_emission = snap.epoch_emission
if epoch_emission is None:
    st.info(
        "This snapshot did not record the subnet's epoch emission; enter an amount to see the split in α."
    )
    epoch_emission = emission.alpha_to_rao(
        f"{st.number_input('Epoch emission (α)', min_value=0.0, value=1.0, step=0.1, key='epoch_emission'):.9f}"
    )
else:
    st.caption(
        f"Epoch emission E = {display.format_alpha(epoch_emission)} per epoch, after the owner's cut "
        f"({emission.DEFAULT_OWNER_CUT}/65535 ≈ 18 % by default), split between mechanisms, then halved "
        "between miners and validators."
    )
pools = emission.subnet_pools(epoch_emission, current_split, count, owner_cut=0)
left, middle, right = st.columns(3)
left.metric("Mechanisms", count)
middle.metric(  # " / " as in Shares: "45875,19660" would read as one number with a thousands comma
    "Split (u16)",
    emission.format_split(current_split).replace(",", " / "),
    help="the owner's u16 per mechanism, share = value / 65535 (in a link or the CLI: 45875,19660)",
)
right.metric("Shares", " / ".join(f"{s * 100:.2f} %" for s in pools.shares))
current_table = split_table(pools, mechids)
st.dataframe(current_table, hide_index=True, placeholder="")
ui.csv_download(current_table, split_csv("split_current"), key="split_current")
if current_split is None and count > 1:
    st.caption(
        "No split is set, so the chain splits evenly (the remainder of the division goes to mechanism 0)."
    )

current_pay = emission.uid_payouts(pools, inputs.incentive, inputs.dividends, stake=snap.alpha_stake)
if inputs.note:
    st.info(inputs.note)
for note in (*current_pay.notes, owner_burn_note(snap, current_pay)):
    if note:
        st.caption(note)

st.subheader("Per-mechanism payouts")
tabs = st.tabs([f"Mechanism {m}" for m in mechids] + ["All mechanisms"])
for k, mechid in enumerate(mechids):
    with tabs[k]:
        frame = mechanism_table(snap, inputs, current_pay, k)
        st.dataframe(frame, hide_index=True, placeholder="")
        ui.csv_download(frame, split_csv("split", mechid), key=f"split_mech_{mechid}")
with tabs[-1]:
    totals = totals_table(snap, mechids, current_pay)
    st.dataframe(totals, hide_index=True, placeholder="")
    ui.csv_download(totals, split_csv("split_totals"), key="split_totals")
    note = emission.stored_emission_note(count)
    st.caption(note or "With one mechanism the stored Emission is the combined payout (up to flooring).")

st.subheader("What if the split changed?")
if count == 1:
    subnets = ui.subnet_list(db, snapshot_id)
    several = [int(n) for n in subnets.loc[subnets["mechanism_count"] > 1, "netuid"]]
    hint = (
        f" Subnets with several mechanisms in this snapshot: {', '.join(map(str, several))}."
        if several
        else ""
    )
    st.info(
        f"Subnet {netuid} runs a single incentive mechanism, so all of its emission goes to mechanism 0 and "
        "a split changes nothing. An owner must first raise the mechanism count (which resets the split)."
        + hint
    )
    st.stop()

if st.session_state.get("_split_netuid", netuid) != netuid and PARAM_SPLIT in st.query_params:
    del st.query_params[PARAM_SPLIT]  # a what-if belongs to the subnet it was made for
st.session_state["_split_netuid"] = netuid
edited = split_editor(count, initial_split(count, current_split, netuid), netuid)
if edited is None:
    st.stop()
st.query_params[PARAM_SPLIT] = emission.format_split(edited)
st.text("Vector to submit (sums to 65535):")
st.code(emission.format_split(edited), language=None)
st.caption(
    "Owner call: AdminUtils.sudo_set_mechanism_emission_split"
    f"(netuid={netuid}, maybe_split=[{', '.join(str(v) for v in edited)}]). Shares: "
    + " / ".join(f"{p:.4f} %" for p in emission.split_to_percent(edited, count))
)

edited_pools = emission.subnet_pools(epoch_emission, edited, count, owner_cut=0)
edited_table = split_table(edited_pools, mechids)
st.dataframe(edited_table, hide_index=True, placeholder="")
ui.csv_download(edited_table, split_csv("split_edited"), key="split_edited")

edited_pay = emission.uid_payouts(edited_pools, inputs.incentive, inputs.dividends, stake=snap.alpha_stake)
change = emission.compare_payouts(current_pay, edited_pay)
if not change.delta.any():
    st.caption(
        "The edited split pays every UID the same as the current one: change a value above to compare."
    )
st.plotly_chart(payout_chart(snap, change), key="split_chart")

for col, title, uids, nobody, name in zip(
    st.columns(2),
    ("Biggest winners", "Biggest losers"),
    (change.winners(TOP), change.losers(TOP)),
    ("Nobody gains from this split.", "Nobody loses from this split."),
    ("winners", "losers"),
    strict=True,
):
    col.markdown(f"**{title}**")
    ranked = comparison_table(snap, change, uids)
    if ranked.empty:
        col.caption(nobody)
    col.dataframe(ranked, hide_index=True, placeholder="")
    with col:
        ui.csv_download(ranked, split_csv(f"split_{name}"), key=f"split_{name}")

with st.expander("Every UID, current vs edited"):
    everyone = comparison_table(snap, change)
    st.dataframe(everyone, hide_index=True, placeholder="")
    ui.csv_download(everyone, split_csv("split_comparison"), key="split_comparison")
