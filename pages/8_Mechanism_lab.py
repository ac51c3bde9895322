"""Mechanism lab: play with how subnet 9 (IOTA) and subnet 13 (data universe) score miners before weights.

Thin page: tables in, ``analytics.model.mechanisms`` computes, tables and Plotly charts out, a CSV behind every
table. Scalar settings and the open tab are bound to the URL (``bind="query-params"``) so a link reproduces
the view; the editable tables start from examples kept in ``st.session_state`` (``<name>_base``) and can be
loaded from a CSV. Everything a user types (miner names, labels) is shown only in dataframes and Plotly
text; error messages that quote it are Markdown-escaped.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from analytics.app.ui import APP_NAME
from analytics.model.mechanisms import MechanismInputError
from analytics.model.mechanisms import data_universe_sn13 as sn13
from analytics.model.mechanisms import iota_sn9 as sn9

# No database here, so not ui.page_setup (which stops a page without one): the same page config by hand.
st.set_page_config(page_title=f"Mechanism lab · {APP_NAME}", layout="wide")
st.title("Mechanism lab")
st.caption(
    "How two subnets score their miners before any weight reaches the chain. Edit the tables and settings; "
    "every result follows. The rules follow the subnets' public code (versions named in "
    "analytics/mechanisms/). No database needed."
)

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:&])")


_WORD_JOINER = "\u2060"


def plain(text: str) -> str:
    """Backslash-escape Markdown so a message quoting user input is shown as typed, never as markup.

    The renderer turns a bare URL into a link even when its characters are escaped, so ``://`` and
    ``www.`` get an invisible word joiner: a crafted link's text cannot become a clickable link."""
    text = text.replace("://", f":{_WORD_JOINER}//").replace("www.", f"www{_WORD_JOINER}.")
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def show_error(error: Exception) -> None:
    st.error(plain(str(error)), icon="⚠️")


MAX_UPLOAD_ROWS = 50_000


def read_table_csv(uploaded, example_df: pd.DataFrame) -> pd.DataFrame:
    """An uploaded CSV as a table shaped like ``example_df`` (its columns, numbers as numbers).

    Extra columns are dropped; a missing column, an unreadable file or too many rows raise
    MechanismInputError saying what the file needs.
    """
    wanted = list(example_df.columns)
    try:
        df = pd.read_csv(uploaded, nrows=MAX_UPLOAD_ROWS + 1)
    except (ValueError, UnicodeDecodeError) as error:  # pandas' ParserError and EmptyDataError included
        raise MechanismInputError(
            f"Could not read the CSV ({error}); save it as comma-separated UTF-8 text."
        ) from None
    df.columns = [str(c).strip().lower() for c in df.columns]
    missing = [c for c in wanted if c not in df.columns]
    if missing:
        raise MechanismInputError(
            f"The CSV lacks column(s) {', '.join(missing)}; its header must name: {', '.join(wanted)}."
        )
    if len(df) > MAX_UPLOAD_ROWS:
        raise MechanismInputError(
            f"The CSV has more than {MAX_UPLOAD_ROWS:,} rows; the lab takes at most that many."
        )
    df = df[wanted].copy()
    for column in wanted:
        if pd.api.types.is_numeric_dtype(example_df[column]):
            df[column] = pd.to_numeric(df[column], errors="coerce")
        else:
            df[column] = df[column].astype("string")
    return df


def editable(name: str, build: Callable[[], pd.DataFrame], **editor_args) -> pd.DataFrame:
    """An editable table that starts from an example, can be loaded from a CSV and reset; returns the edits.

    The starting table lives in ``st.session_state[name + "_base"]``; loading or resetting swaps it and
    renews the editor's key so earlier cell edits do not land on the new rows.
    """
    base_key, version_key, loaded_key = f"{name}_base", f"{name}_version", f"{name}_loaded"
    if base_key not in st.session_state:
        st.session_state[base_key] = build()
    version = st.session_state.setdefault(version_key, 0)
    edited = st.data_editor(
        st.session_state[base_key],
        key=f"{name}_{version}",
        num_rows="dynamic",
        hide_index=True,
        **editor_args,
    )
    with st.popover("Load a CSV or reset this table"):
        example_df = build()
        st.caption(f"Columns: {', '.join(example_df.columns)} (a header row, comma-separated).")
        uploaded = st.file_uploader("CSV file", type="csv", key=f"{name}_upload")
        if uploaded is not None and st.session_state.get(loaded_key) != uploaded.file_id:
            try:
                st.session_state[base_key] = read_table_csv(uploaded, example_df)
            except MechanismInputError as error:
                show_error(error)
            else:
                st.session_state[loaded_key] = uploaded.file_id
                st.session_state[version_key] = version + 1
                st.rerun()
        if st.button("Reset to the example", key=f"{name}_reset"):
            st.session_state[base_key] = example_df
            st.session_state[version_key] = version + 1
            st.rerun()
        st.download_button(
            "Download this table as CSV",
            edited.to_csv(index=False).encode("utf-8"),
            file_name=f"{name}.csv",
            mime="text/csv",
            key=f"download_input_{name}",
        )
    return edited


def table(df: pd.DataFrame, file_name: str, key: str, **dataframe_args) -> None:
    """Show a results table with a CSV download of exactly what is shown."""
    st.dataframe(df, hide_index=True, width="stretch", **dataframe_args, placeholder="")
    st.download_button(
        "Download CSV",
        df.to_csv(index=False).encode("utf-8"),
        file_name=file_name,
        mime="text/csv",
        key=f"download_{key}",
    )


def numbers(series: pd.Series) -> np.ndarray:
    """A column as floats; blanks become NaN so the mechanism names the empty row."""
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def texts(series: pd.Series) -> list[str | None]:
    return [None if pd.isna(v) or str(v).strip() == "" else str(v) for v in series]


# --------------------------------------------------------------------------------------------------------
# Subnet 9 · IOTA
# --------------------------------------------------------------------------------------------------------


def sn9_batches_example() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "miner": ["miner-A", "miner-B", "miner-C", "miner-D", "miner-E"],
            "backward_passes": [14, 10, 25, 9, 12],
        }
    )


def sn9_timeline_example() -> pd.DataFrame:
    passes = {
        "steady": [12] * 8,
        "early burst": [30, 30, 30, 0, 0, 0, 0, 0],
        "late joiner": [0, 0, 0, 0, 20, 20, 20, 20],
        "below B_min": [8] * 8,
    }
    rows = [
        {"epoch": epoch + 1, "time_h": 2.0 * epoch, "miner": miner, "backward_passes": counts[epoch]}
        for epoch in range(8)
        for miner, counts in passes.items()
    ]
    return pd.DataFrame(rows)


def parse_hours(text: str) -> list[float]:
    """'2, 6, 10' -> [2.0, 6.0, 10.0]; raises MechanismInputError naming the part that is not a duration."""
    values = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        try:
            value = float(part)
        except ValueError:
            raise MechanismInputError(
                f"t_decay list: {part!r} is not a number of hours; write e.g. 2, 6, 10."
            ) from None
        if not np.isfinite(value) or value <= 0:
            raise MechanismInputError(f"t_decay list: {part!r} must be a positive number of hours.")
        values.append(value)
    if not values:
        raise MechanismInputError("t_decay list: give at least one duration in hours, e.g. 2, 6, 10.")
    return sorted(set(values))


def sn9_merge_section(b_min: float, fraction: float) -> None:
    st.subheader("Who counts towards the merge")
    st.caption(
        "B_eff = Σ B_m over miners with B_m ≥ B_min; the others count 0. The orchestrator starts merging once "
        "the miners at B_min are at least the merge fraction of all miners; the merge then averages weights "
        "with weight 1 + B_m."
    )
    edited = editable(
        "sn9_batches",
        sn9_batches_example,
        column_config={
            "miner": st.column_config.TextColumn("miner"),
            "backward_passes": st.column_config.NumberColumn("backward passes since merge", step=1),
        },
    )
    try:
        result = sn9.merge_readiness(numbers(edited["backward_passes"]), b_min, fraction)
    except MechanismInputError as error:
        show_error(error)
        return
    miners = [m if m is not None else f"row {i + 1}" for i, m in enumerate(texts(edited["miner"]))]
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
    df = pd.DataFrame(
        {
            "miner": miners,
            "backward_passes": result.batch_counts.astype(int),
            "qualifies": result.qualifies,
            "shortfall": result.shortfall.astype(int),
            "merge_weight": result.merge_weight,
        }
    )
    table(
        df,
        "sn9_merge.csv",
        "sn9_merge",
        column_config={"merge_weight": st.column_config.NumberColumn(format="%.3f")},
    )
    left, right = st.columns(2)
    bars = px.bar(
        df,
        x="miner",
        y="backward_passes",
        color=df["qualifies"].map({True: "at B_min", False: "below B_min"}),
        labels={"color": "", "backward_passes": "backward passes"},
        category_orders={"miner": df["miner"].tolist()},
        title="Backward passes against B_min",
    )
    bars.add_hline(y=b_min, line_dash="dash", annotation_text=f"B_min = {b_min:g}")
    left.plotly_chart(bars, width="stretch")
    # How B_eff and the merge respond to B_min, at every value where anything changes.
    sweep = sn9.b_min_sweep(result.batch_counts, merge_fraction=fraction)
    sweep_df = pd.DataFrame(
        {
            "b_min": sweep.b_min.astype(int),
            "b_eff": sweep.effective_batch_count,
            "miners_at_b_min": sweep.qualifying_miners,
            "merge_triggers": sweep.merge_triggered,
        }
    )
    line = px.line(
        sweep_df,
        x="b_min",
        y="b_eff",
        line_shape="hv",
        labels={"b_min": "B_min", "b_eff": "B_eff"},
        title="B_eff as B_min changes (× = merge waits)",
    )
    line.add_scatter(
        x=sweep_df.loc[~sweep_df["merge_triggers"], "b_min"],
        y=sweep_df.loc[~sweep_df["merge_triggers"], "b_eff"],
        mode="markers",
        marker={"symbol": "x", "size": 9},
        name="merge waits",
    )
    line.add_vline(x=b_min, line_dash="dash")
    right.plotly_chart(line, width="stretch")
    with st.expander("B_min sweep table"):
        table(sweep_df, "sn9_b_min_sweep.csv", "sn9_sweep")


def sn9_decay_section(b_min: float) -> None:
    st.subheader("Incentive over time under step decay")
    st.caption(
        "Each full-sync epoch n gives miner m a score S_m^n; it counts fully while t − t0 ≤ t_decay and 0 after. "
        "Raw incentive I_m(t) = Σ_n S_m^n · w(t); the share is what normalised weights would pay. "
        "The public code keeps scores 10 h (3000 blocks)."
    )
    c1, c2, c3 = st.columns(3)
    rule_labels = {
        "backward_passes": "backward passes (if ≥ B_min)",
        "per_sync": "1 per sync at B_min (public validator)",
    }
    rule = c1.radio(
        "Score per epoch",
        list(rule_labels),
        format_func=rule_labels.__getitem__,
        key="sn9_rule",
        bind="query-params",
    )
    decay_text = c2.text_input(
        "t_decay values (hours, comma-separated)", "2, 6, 10", key="sn9_tdecay", bind="query-params"
    )
    base_score = c3.number_input(
        "Base score per miner",
        value=0.0,
        step=1.0,
        key="sn9_base",
        bind="query-params",
        help="The public orchestrator gives every registered miner 1; the issue's formula has none.",
    )
    edited = editable(
        "sn9_timeline",
        sn9_timeline_example,
        column_config={
            "epoch": st.column_config.NumberColumn("epoch", step=1),
            "time_h": st.column_config.NumberColumn("sync time (h)"),
            "miner": st.column_config.TextColumn("miner"),
            "backward_passes": st.column_config.NumberColumn("backward passes", step=1),
        },
    )
    try:
        t_decays = parse_hours(decay_text)
        epochs = [None if pd.isna(e) else e for e in edited["epoch"]]
        epoch_ids, epoch_times, miners, counts = sn9.pivot_timeline(
            epochs, numbers(edited["time_h"]), texts(edited["miner"]), numbers(edited["backward_passes"])
        )
        scores = sn9.epoch_scores(counts, b_min, rule)
        start, end = float(epoch_times.min()), float(epoch_times.max()) + max(t_decays)
        even = np.linspace(start, end + 1, 400)
        frames = []
        for t_decay in t_decays:
            # Add the instants where a score starts and stops counting, so each step sits where it happens.
            edges = np.concatenate([epoch_times, epoch_times + t_decay])
            grid = np.unique(np.concatenate([even, edges, edges + 1e-6]))
            raw = sn9.incentive_over_time(scores, epoch_times, grid, t_decay, base_score)
            shares = sn9.incentive_shares(raw)
            for j, miner in enumerate(miners):
                frames.append(
                    pd.DataFrame(
                        {
                            "t_decay_h": t_decay,
                            "time_h": grid,
                            "miner": str(miner),
                            "raw_incentive": raw[:, j],
                            "share": shares[:, j],
                        }
                    )
                )
    except MechanismInputError as error:
        show_error(error)
        return
    over_time = pd.concat(frames, ignore_index=True)
    fig = px.line(
        over_time,
        x="time_h",
        y="share",
        color="miner",
        facet_col="t_decay_h",
        line_shape="hv",
        color_discrete_sequence=px.colors.qualitative.D3,
        labels={"time_h": "time (h)", "share": "incentive share"},
        title="Incentive share over time, one panel per t_decay",
    )
    fig.for_each_annotation(lambda a: a.update(text=a.text.replace("t_decay_h=", "t_decay = ") + " h"))
    st.plotly_chart(fig, width="stretch")
    at_time = st.number_input(
        "Read the incentive at time (h)",
        value=float(epoch_times.max()),
        step=1.0,
        key="sn9_at",
        bind="query-params",
    )
    rows = []
    for t_decay in t_decays:
        raw = sn9.raw_incentive(scores, epoch_times, at_time, t_decay, base_score)
        shares = sn9.incentive_shares(raw)
        rows += [
            {"t_decay_h": t_decay, "miner": str(m), "raw_incentive": raw[j], "share": shares[j]}
            for j, m in enumerate(miners)
        ]
    at_df = pd.DataFrame(rows)
    table(
        at_df,
        "sn9_incentive_at_time.csv",
        "sn9_at",
        column_config={"share": st.column_config.NumberColumn(format="%.3f")},
    )
    with st.expander("Scores per epoch and the full time series"):
        score_df = pd.DataFrame(scores, columns=[str(m) for m in miners])
        score_df.insert(0, "time_h", epoch_times)
        score_df.insert(0, "epoch", [str(e) for e in epoch_ids])
        table(score_df, "sn9_epoch_scores.csv", "sn9_scores")
        table(over_time, "sn9_incentive_over_time.csv", "sn9_series")


def link_binding_for_whole_number(key: str) -> str | None:
    """``"query-params"``, unless the link's value reads as an infinite number (``1e400``, ``inf``):
    Streamlit 1.67 turns a URL value into an int before its range check and raises on those. Such a
    value is dropped and the input starts unbound at its default, like any other unreadable setting."""
    raw = st.query_params.get(key)
    try:
        infinite = raw is not None and not np.isfinite(float(raw))
    except ValueError:
        infinite = False
    if infinite:
        del st.query_params[key]
        return None
    return "query-params"


def subnet_9_tab() -> None:
    with st.expander("Rules and where they come from"):
        st.markdown(
            "- **B_eff** = Σ B_m over miners with B_m ≥ B_min; a merge starts once at least "
            "⌈fraction × miners⌉ miners reach B_min and averages weights with weight 1 + B_m.\n"
            "- **Step decay**: a score assigned at t0 counts fully while t − t0 ≤ t_decay, then 0; "
            "I_m = Σ_n S_m^n · w(t).\n"
            "- Defaults from the public IOTA code, github.com/macrocosm-os/iota at commit 56aee24 (2025-07-04): "
            "B_min = 10 (`GLOBAL_OPTIMIZER_STEPS`), fraction 0.8 (`MINERS_REQUIRED_FOR_WEIGHT_UPLOADING`), "
            "scores kept 10 h (`SCORE_VALIDITY_PERIOD`), merge weight 1 + backward passes, +1 per passing sync, "
            "base score 1 per registered miner. Details in `analytics/mechanisms/iota_sn9.py`."
        )
    c1, c2 = st.columns(2)
    b_min = c1.number_input(
        "B_min (backward passes)",
        value=sn9.DEFAULT_B_MIN,
        step=1,
        key="sn9_bmin",
        bind=link_binding_for_whole_number("sn9_bmin"),
    )
    fraction = c2.number_input(
        "Merge fraction (share of miners at B_min)",
        value=sn9.DEFAULT_MERGE_FRACTION,
        step=0.05,
        format="%.2f",
        key="sn9_frac",
        bind="query-params",
    )
    sn9_merge_section(b_min, fraction)
    st.divider()
    sn9_decay_section(b_min)


# --------------------------------------------------------------------------------------------------------
# Subnet 13 · data universe
# --------------------------------------------------------------------------------------------------------


def sn13_labels_example() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "source": ["reddit", "x", "x"],
            "label": ["r/Bitcoin", "#bittensor", "#tao"],
            "scale_factor": [1.0, 1.0, 1.0],
        }
    )


def sn13_buckets_example() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "source": ["reddit", "reddit", "x", "x", "youtube", "x"],
            "label": ["r/Bitcoin", "r/gardening", "#bittensor", "#tao", "channel-42", "#tao"],
            "age_days": [0.5, 2.0, 3.0, 12.0, 20.0, 35.0],
            "bytes": [50e6, 80e6, 20e6, 30e6, 60e6, 90e6],
            "bytes_all_miners": [50e6, 80e6, 40e6, 30e6, 60e6, 90e6],
        }
    )


def sn13_history_example() -> pd.DataFrame:
    valid = [1.0] * 14 + [0.0] + [1.0] * 9
    return pd.DataFrame(
        {
            "valid_bytes": [v * 4e6 for v in valid],
            "validated_bytes": [4e6] * len(valid),
        }
    )


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
    weights = {}
    for column, (source, default) in zip(columns, sn13.DEFAULT_SOURCE_WEIGHTS.items(), strict=False):
        weights[source] = column.number_input(
            source,
            value=default,
            step=0.01,
            format="%.2f",
            key=f"dsw_{source}",
            bind="query-params",
        )
    default_lsf = columns[-1].number_input(
        "Default label scale factor",
        value=sn13.DEFAULT_LABEL_SCALE_FACTOR,
        step=0.05,
        format="%.2f",
        key="lsf_default",
        bind="query-params",
    )
    left, right = st.columns([1, 2])
    with left:
        st.markdown("**Listed labels** (label scale factor 0–5)")
        labels = editable(
            "sn13_labels",
            sn13_labels_example,
            column_config={"scale_factor": st.column_config.NumberColumn("scale factor", step=0.1)},
        )
    with right:
        st.markdown("**The miner's buckets**")
        buckets = editable(
            "sn13_buckets",
            sn13_buckets_example,
            column_config={
                "age_days": st.column_config.NumberColumn("age (days)"),
                "bytes": st.column_config.NumberColumn("bytes", format="%.0f"),
                "bytes_all_miners": st.column_config.NumberColumn(
                    "bytes all miners hold",
                    format="%.0f",
                    help="This miner included; equal to bytes when unique.",
                ),
            },
        )
    credibility = st.number_input(
        "Credibility for the scaled score",
        value=0.9,
        step=0.05,
        format="%.3f",
        key="sn13_cred",
        bind="query-params",
    )
    try:
        listed: dict[tuple[str, str], float] = {}
        seen: set[tuple[str, str]] = set()
        for row, (source, label, factor) in enumerate(
            zip(
                texts(labels["source"]), texts(labels["label"]), numbers(labels["scale_factor"]), strict=True
            ),
            start=1,
        ):
            if source is None or label is None:
                raise MechanismInputError(
                    f"Listed labels: row {row} needs a source and a label; fill them in or delete the row."
                )
            if (source.strip().lower(), label.strip().lower()) in seen:
                raise MechanismInputError(
                    f"Listed labels: row {row} lists {source} {label} again; keep one row (several jobs on one "
                    "label add up, so give their sum)."
                )
            seen.add((source.strip().lower(), label.strip().lower()))
            listed[(source, label)] = factor
        sources, bucket_labels = texts(buckets["source"]), texts(buckets["label"])
        lsf = sn13.label_scale_factors([s or "" for s in sources], bucket_labels, listed, default_lsf)
        sb = sn13.scorable_bytes(numbers(buckets["bytes"]), numbers(buckets["bytes_all_miners"]))
        scored = sn13.score_buckets(sources, lsf, numbers(buckets["age_days"]) * 24.0, sb, weights)
        scaled = sn13.scaled_score(scored.raw_score, credibility)
    except MechanismInputError as error:
        show_error(error)
        return None
    c1, c2, c3 = st.columns(3)
    c1.metric("Raw score", f"{scored.raw_score:,.0f}")
    c2.metric(f"Scaled at credibility {credibility:g}", f"{scaled:,.0f}")
    c3.metric("Credibility^2.5", f"{credibility**sn13.CREDIBILITY_EXPONENT:.3f}")
    if scored.raw_score == 0 and len(sources) > 0:
        st.info("Every bucket scores 0: data older than 30 days, zero bytes or zero weights earn nothing.")
    df = pd.DataFrame(
        {
            "bucket": range(1, len(sources) + 1),
            "source": [s or "" for s in sources],
            "label": [lbl or "" for lbl in bucket_labels],
            "age_days": numbers(buckets["age_days"]),
            "bytes": numbers(buckets["bytes"]),
            "DSW": scored.source_weight,
            "LSF": scored.label_scale_factor,
            "ASF": scored.age_scale_factor,
            "scorable_bytes": scored.scorable_bytes,
            "score": scored.score,
            "share_of_raw": scored.score / scored.raw_score
            if scored.raw_score > 0
            else np.zeros(len(sources)),
        }
    )
    table(
        df,
        "sn13_bucket_scores.csv",
        "sn13_buckets",
        column_config={
            "share_of_raw": st.column_config.NumberColumn(format="%.3f"),
            "score": st.column_config.NumberColumn(format="%.0f"),
            "scorable_bytes": st.column_config.NumberColumn(format="%.0f"),
            "ASF": st.column_config.NumberColumn(format="%.4f"),
        },
    )
    left, right = st.columns(2)
    bars = px.bar(
        df,
        x=df["bucket"].astype(str),
        y="score",
        color="source",
        hover_data=["label", "age_days", "DSW", "LSF", "ASF", "scorable_bytes"],
        labels={"x": "bucket (row)", "score": "score"},
        title="Score per bucket",
    )
    left.plotly_chart(bars, width="stretch")
    days = np.linspace(0, 35, 351)
    curve = go.Figure(go.Scatter(x=days, y=sn13.age_scale_factor(days * 24.0), name="ASF", mode="lines"))
    curve.add_scatter(x=df["age_days"], y=df["ASF"], mode="markers", name="buckets", text=df["label"])
    curve.update_layout(title="Age scale factor", xaxis_title="age (days)", yaxis_title="ASF")
    right.plotly_chart(curve, width="stretch")
    return scored.raw_score


def sn13_credibility_section(raw_score: float | None) -> None:
    st.subheader("Credibility over a validation history")
    st.caption(
        "After each evaluation C_new = α · V + (1 − α) · C_old, V = valid bytes / validated bytes (0 when nothing was "
        "validated). Credibility starts at 0 for a new miner; the score is scaled by C^2.5."
    )
    c1, c2 = st.columns(2)
    alpha = c1.number_input(
        "α",
        value=sn13.CREDIBILITY_ALPHA,
        step=0.01,
        format="%.2f",
        key="sn13_alpha",
        bind="query-params",
    )
    start = c2.number_input(
        "Starting credibility",
        value=sn13.STARTING_CREDIBILITY,
        step=0.05,
        format="%.2f",
        key="sn13_start",
        bind="query-params",
    )
    history = editable(
        "sn13_history",
        sn13_history_example,
        column_config={
            "valid_bytes": st.column_config.NumberColumn("valid bytes", format="%.0f"),
            "validated_bytes": st.column_config.NumberColumn("validated bytes", format="%.0f"),
        },
    )
    try:
        shares = sn13.validation_shares(numbers(history["valid_bytes"]), numbers(history["validated_bytes"]))
        path = sn13.credibility_path(shares, alpha, start)
    except MechanismInputError as error:
        show_error(error)
        return
    df = pd.DataFrame(
        {
            "evaluation": range(len(path)),
            "share_valid": np.concatenate([[np.nan], shares]),
            "credibility": path,
        }
    )
    df["score_multiplier"] = path**sn13.CREDIBILITY_EXPONENT
    if raw_score is not None:
        df["scaled_score"] = raw_score * df["score_multiplier"]
    fig = go.Figure()
    fig.add_scatter(x=df["evaluation"], y=df["credibility"], name="credibility", mode="lines+markers")
    fig.add_scatter(
        x=df["evaluation"], y=df["score_multiplier"], name="credibility^2.5 (score multiplier)", mode="lines"
    )
    failed = df[df["share_valid"] < 1]
    fig.add_scatter(
        x=failed["evaluation"],
        y=failed["credibility"],
        mode="markers",
        name="evaluation below 100%",
        marker={"size": 11, "symbol": "x"},
    )
    fig.update_layout(
        title="Credibility path", xaxis_title="evaluation", yaxis_title="value", yaxis_range=[0, 1.02]
    )
    st.plotly_chart(fig, width="stretch")
    table(
        df,
        "sn13_credibility_path.csv",
        "sn13_path",
        column_config={
            "credibility": st.column_config.NumberColumn(format="%.4f"),
            "score_multiplier": st.column_config.NumberColumn(format="%.4f"),
            "scaled_score": st.column_config.NumberColumn(format="%.0f"),
        },
    )

    st.subheader("Recovering from one failure")
    c1, c2 = st.columns(2)
    before = c1.number_input(
        "Credibility before the failure",
        value=0.9,
        step=0.01,
        format="%.3f",
        key="sn13_before",
        bind="query-params",
    )
    failure_share = c2.number_input(
        "Share validated in the failed evaluation",
        value=0.0,
        step=0.1,
        format="%.2f",
        key="sn13_fail",
        bind="query-params",
    )
    try:
        needed = sn13.recovery_validations(before, alpha, failure_share)
    except MechanismInputError as error:
        show_error(error)
        return
    after = alpha * failure_share + (1 - alpha) * before
    exponent = sn13.CREDIBILITY_EXPONENT
    c1, c2 = st.columns(2)
    if needed is None:
        c1.metric("Clean validations to recover", "never exactly")
        st.caption("Credibility 1 is only approached, never regained, once lost.")
    else:
        c1.metric(
            "Clean validations to recover",
            needed,
            f"credibility {before:g} → {after:.4f} after the failure",
            delta_color="off",
            delta_arrow="off",
        )
    lost = 1 - (after / before) ** exponent if before > 0 else 0.0
    c2.metric(
        "Score lost right after the failure",
        f"{lost:.1%}",
        f"credibility^{exponent:g}: {before**exponent:.3f} → {after**exponent:.3f}",
        delta_color="off",
        delta_arrow="off",
    )
    levels = np.round(np.arange(0.0, 0.995, 0.01), 2)
    recovery_df = pd.DataFrame(
        {
            "credibility_before": levels,
            "clean_validations": [sn13.recovery_validations(c, alpha, failure_share) for c in levels],
        }
    )
    fig = px.line(
        recovery_df,
        x="credibility_before",
        y="clean_validations",
        line_shape="hv",
        title=f"Clean validations to recover from one failure (α = {alpha:g})",
        labels={
            "credibility_before": "credibility before the failure",
            "clean_validations": "clean validations",
        },
    )
    fig.add_vline(x=before, line_dash="dash")
    st.plotly_chart(fig, width="stretch")
    table(recovery_df, "sn13_recovery.csv", "sn13_recovery")


def subnet_13_tab() -> None:
    with st.expander("Rules and where they come from"):
        st.markdown(
            "- **Scaled score** = Σ over buckets DSW · LSF · ASF · SB × credibility^2.5.\n"
            "- **Credibility** after each evaluation: C = α · V + (1 − α) · C_old, α = 0.15, V the share of "
            "validated bytes that were valid.\n"
            "- Defaults from the public data-universe code, github.com/macrocosm-os/data-universe at commit "
            "e5ddd00 (2025-09-29): DSW reddit 0.58, x 0.37, youtube 0.05; default LSF 0.3, listed labels up to 5; "
            "ASF 1 → 0.5 linearly over 30 days, 0 after; SB = bytes² / bytes all miners hold in the bucket; "
            "credibility starts at 0. Not modelled: the S3 boost and the credibility cut when a raw score grows. "
            "Details in `analytics/mechanisms/data_universe_sn13.py`."
        )
    raw_score = sn13_score_section()
    st.divider()
    sn13_credibility_section(raw_score)


tab_9, tab_13 = st.tabs(
    ["Subnet 9 (IOTA)", "Subnet 13 (data universe)"], key="tab", bind="query-params", on_change="ignore"
)
with tab_9:
    subnet_9_tab()
with tab_13:
    subnet_13_tab()
