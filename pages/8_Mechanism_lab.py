"""Mechanism lab: play with how subnet 9 (IOTA) and subnet 13 (data universe) score miners before weights.

Layout only: the settings, tables and examples come from the registry (``analytics.model.mechanisms.registry``),
the tables and figures from ``analytics.views.mechanisms``, the widgets from ``analytics.app.lab``. Scalar
settings and the open tab are bound to the URL so a link reproduces the view; the editable tables start from
the registry's examples and can be loaded from a CSV. Everything a user types (miner names, labels) is shown
only in dataframes and Plotly text; error messages that quote it are Markdown-escaped.
"""

from __future__ import annotations

import streamlit as st

from analytics.app import lab, ui
from analytics.model.mechanisms import data_universe_sn13 as sn13
from analytics.model.mechanisms.registry import SN9, SN13
from analytics.views import mechanisms as views

# No database here, so not ui.page_setup (which stops a page without one): the same first steps by hand.
ui.app_navigation()
st.set_page_config(page_title=f"Mechanism lab · {ui.APP_NAME}", layout="wide")
st.title("Mechanism lab")
st.caption(
    "How two subnets score their miners before any weight reaches the chain. Edit the tables and settings; "
    "every result follows. The rules follow the subnets' public code (versions named in "
    "analytics/mechanisms/). No database needed."
)
SHARE = {"share": st.column_config.NumberColumn(format="%.3f")}


def sn9_merge_section(b_min: float, fraction: float) -> None:
    st.subheader("Who counts towards the merge")
    st.caption(
        "B_eff = Σ B_m over miners with B_m ≥ B_min; the others count 0. The orchestrator starts merging once "
        "the miners at B_min are at least the merge fraction of all miners; the merge then averages weights "
        "with weight 1 + B_m."
    )
    edited = lab.editable(SN9.tables["batches"])
    merge = lab.attempt(lambda: views.sn9_merge(edited, b_min, fraction))
    if merge is None:
        return
    result = merge.result
    c1, c2, c3 = st.columns(3)
    c1.metric("B_eff (effective batch count)", f"{result.effective_batch_count:g}")
    c2.metric(
        "Miners at B_min",
        f"{result.qualifying_miners} of {result.batch_counts.size}",
        f"{result.required_miners} needed to merge",
        delta_color="off",
        delta_arrow="off",
    )
    c3.metric("Merge", "triggers" if result.merge_triggered else "waits")
    if not result.merge_triggered:
        missing = result.required_miners - result.qualifying_miners
        st.info(f"The merge waits for {missing} more miner(s) to reach B_min = {b_min:g}.")
    weight = {"merge_weight": st.column_config.NumberColumn(format="%.3f")}
    ui.table_and_csv(merge.table, "sn9_merge.csv", "sn9_merge", column_config=weight)
    left, right = st.columns(2)
    left.plotly_chart(views.merge_bars(merge, b_min), width="stretch")
    right.plotly_chart(views.sweep_chart(merge, b_min), width="stretch")
    with st.expander("B_min sweep table"):
        ui.table_and_csv(merge.sweep, "sn9_b_min_sweep.csv", "sn9_sweep")


def sn9_decay_section(b_min: float) -> None:
    st.subheader("Incentive over time under step decay")
    st.caption(
        "Each full-sync epoch n gives miner m a score S_m^n; it counts fully while t − t0 ≤ t_decay and 0 after. "
        "Raw incentive I_m(t) = Σ_n S_m^n · w(t); the share is what normalised weights would pay. "
        "The public code keeps scores 10 h (3000 blocks)."
    )
    c1, c2, c3 = st.columns(3)
    rule = lab.field(SN9.fields["sn9_rule"], c1)
    decay_text = lab.field(SN9.fields["sn9_tdecay"], c2)
    base_score = lab.field(SN9.fields["sn9_base"], c3)
    edited = lab.editable(SN9.tables["timeline"])
    decay = lab.attempt(lambda: views.sn9_decay(edited, b_min, rule, decay_text, base_score))
    if decay is None:
        return
    st.plotly_chart(views.decay_chart(decay), width="stretch")
    at_time = lab.field(SN9.fields["sn9_at"], value=float(decay.epoch_times.max()))
    ui.table_and_csv(decay.at(at_time), "sn9_incentive_at_time.csv", "sn9_at", column_config=SHARE)
    with st.expander("Scores per epoch and the full time series"):
        ui.table_and_csv(decay.scores_table(), "sn9_epoch_scores.csv", "sn9_scores")
        ui.table_and_csv(decay.over_time, "sn9_incentive_over_time.csv", "sn9_series")


def subnet_9_tab() -> None:
    with st.expander("Rules and where they come from"):
        st.markdown(SN9.rules)
    c1, c2 = st.columns(2)
    b_min = lab.field(SN9.fields["sn9_bmin"], c1)
    fraction = lab.field(SN9.fields["sn9_frac"], c2)
    sn9_merge_section(b_min, fraction)
    st.divider()
    sn9_decay_section(b_min)


def sn13_score_section() -> float | None:
    """Score the buckets; returns the raw score for the sections below, None when the input is bad."""
    st.subheader("Score of a miner's data buckets")
    st.caption(
        "Scaled score = Σ over buckets DSW · LSF · ASF · SB × credibility^2.5. DSW: data-source weight; LSF: label "
        "scale factor (listed labels, else the default); ASF: 1 for fresh data down to 0.5 at 30 days, 0 beyond; "
        "SB: scorable bytes = bytes² / bytes all miners hold in that bucket."
    )
    st.markdown("**Data-source weights** (must sum to 1)")
    columns = st.columns(len(sn13.DEFAULT_SOURCE_WEIGHTS) + 1)
    weights = {
        source: lab.field(SN13.fields[f"dsw_{source}"], column)
        for column, source in zip(columns, sn13.DEFAULT_SOURCE_WEIGHTS, strict=False)
    }
    default_lsf = lab.field(SN13.fields["lsf_default"], columns[-1])
    left, right = st.columns([1, 2])
    with left:
        st.markdown("**Listed labels** (label scale factor 0–5)")
        labels = lab.editable(SN13.tables["labels"])
    with right:
        st.markdown("**The miner's buckets**")
        buckets = lab.editable(SN13.tables["buckets"])
    credibility = lab.field(SN13.fields["sn13_cred"])
    score = lab.attempt(lambda: views.sn13_score(labels, buckets, weights, default_lsf, credibility))
    if score is None:
        return None
    raw = score.scored.raw_score
    c1, c2, c3 = st.columns(3)
    c1.metric("Raw score", f"{raw:,.0f}")
    c2.metric(f"Scaled at credibility {credibility:g}", f"{score.scaled:,.0f}")
    c3.metric("Credibility^2.5", f"{credibility**sn13.CREDIBILITY_EXPONENT:.3f}")
    if raw == 0 and len(score.table) > 0:
        st.info("Every bucket scores 0: data older than 30 days, zero bytes or zero weights earn nothing.")
    formats = {"share_of_raw": "%.3f", "score": "%.0f", "scorable_bytes": "%.0f", "ASF": "%.4f"}
    config = {name: st.column_config.NumberColumn(format=f) for name, f in formats.items()}
    ui.table_and_csv(score.table, "sn13_bucket_scores.csv", "sn13_buckets", column_config=config)
    left, right = st.columns(2)
    left.plotly_chart(views.bucket_bars(score), width="stretch")
    right.plotly_chart(views.age_curve(score), width="stretch")
    return raw


def sn13_credibility_section(raw_score: float | None) -> None:
    st.subheader("Credibility over a validation history")
    st.caption(
        "After each evaluation C_new = α · V + (1 − α) · C_old, V = valid bytes / validated bytes (0 when nothing was "
        "validated). Credibility starts at 0 for a new miner; the score is scaled by C^2.5."
    )
    c1, c2 = st.columns(2)
    alpha = lab.field(SN13.fields["sn13_alpha"], c1)
    start = lab.field(SN13.fields["sn13_start"], c2)
    history = lab.editable(SN13.tables["history"])
    df = lab.attempt(lambda: views.sn13_credibility(history, alpha, start, raw_score))
    if df is None:
        return
    st.plotly_chart(views.credibility_chart(df), width="stretch")
    formats = {"credibility": "%.4f", "score_multiplier": "%.4f", "scaled_score": "%.0f"}
    config = {name: st.column_config.NumberColumn(format=f) for name, f in formats.items()}
    ui.table_and_csv(df, "sn13_credibility_path.csv", "sn13_path", column_config=config)

    st.subheader("Recovering from one failure")
    c1, c2 = st.columns(2)
    before = lab.field(SN13.fields["sn13_before"], c1)
    failure_share = lab.field(SN13.fields["sn13_fail"], c2)
    recovery = lab.attempt(lambda: views.sn13_recovery(before, alpha, failure_share))
    if recovery is None:
        return
    exponent = sn13.CREDIBILITY_EXPONENT
    c1, c2 = st.columns(2)
    if recovery.needed is None:
        c1.metric("Clean validations to recover", "never exactly")
        st.caption("Credibility 1 is only approached, never regained, once lost.")
    else:
        c1.metric(
            "Clean validations to recover",
            recovery.needed,
            f"credibility {before:g} → {recovery.after:.4f} after the failure",
            delta_color="off",
            delta_arrow="off",
        )
    c2.metric(
        "Score lost right after the failure",
        f"{recovery.lost:.1%}",
        f"credibility^{exponent:g}: {before**exponent:.3f} → {recovery.after**exponent:.3f}",
        delta_color="off",
        delta_arrow="off",
    )
    st.plotly_chart(views.recovery_chart(recovery, alpha), width="stretch")
    ui.table_and_csv(recovery.curve, "sn13_recovery.csv", "sn13_recovery")


def subnet_13_tab() -> None:
    with st.expander("Rules and where they come from"):
        st.markdown(SN13.rules)
    raw_score = sn13_score_section()
    st.divider()
    sn13_credibility_section(raw_score)


tab_9, tab_13 = st.tabs([SN9.label, SN13.label], key="tab", bind="query-params", on_change="ignore")
with tab_9:
    subnet_9_tab()
with tab_13:
    subnet_13_tab()
