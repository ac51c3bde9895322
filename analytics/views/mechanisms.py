"""Mechanism lab views: the lab's input tables in, the mechanisms' results out as tables and Plotly figures.

Every function takes the tables as the user edited them (DataFrames shaped like the registry's examples)
and the settings, calls :mod:`analytics.model.mechanisms`, and raises its ``MechanismInputError`` for bad
input, so the page only lays things out and shows the message. User text (miner names, labels) goes only
into tables and Plotly text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from plotly.colors import qualitative  # px's colour sequences, without importing plotly.express
from plotly.subplots import make_subplots

from analytics.model.mechanisms import MechanismInputError
from analytics.model.mechanisms import data_universe_sn13 as sn13
from analytics.model.mechanisms import iota_sn9 as sn9
from analytics.model.mechanisms.registry import Table
from analytics.views.display import WEBGL_FROM, single_panel_axes

MAX_UPLOAD_ROWS = 50_000

# The lab's figures are built with graph_objects, not plotly.express: the same figures (the traces, axes,
# colours and hover text px gave, checked equal spec for spec), at a fifth of the cost (px groups and
# re-validates each figure; the lab's seven cost ~0.25 s a run with it).


def _colorway() -> list[str]:
    """The default template's colour sequence (what px colours groups with)."""
    return list(pio.templates[pio.templates.default].layout.colorway)


def _groups(values: Any) -> list[tuple[Any, np.ndarray]]:
    """(value, row positions) of each distinct value, in order of first appearance (px's grouping)."""
    codes, uniques = pd.factorize(pd.Series(values), sort=False)
    return [(value, np.flatnonzero(codes == i)) for i, value in enumerate(uniques)]


def _bar_figure(
    x: np.ndarray,
    y: np.ndarray,
    groups: Any,
    hover: Callable[[Any], str],
    *,
    axes: tuple[str, str],
    legend: str,
    title: str,
    customdata: np.ndarray | None = None,
    categories: list[Any] | None = None,
) -> go.Figure:
    """Stacked bars, one trace per value of ``groups`` (in order of first appearance) coloured in
    plotly's cycle: the figure px.bar(color=...) drew, without px's grouping and re-validation.
    ``categories`` fixes the order of the x axis."""
    colours = _colorway()
    traces = [
        go.Bar(
            x=x[rows],
            y=y[rows],
            customdata=None if customdata is None else customdata[rows],
            hovertemplate=hover(group),
            legendgroup=group,
            marker={"color": colours[i % len(colours)], "pattern": {"shape": ""}},
            name=group,
            orientation="v",
            showlegend=True,
            textposition="auto",
            xaxis="x",
            yaxis="y",
        )
        for i, (group, rows) in enumerate(_groups(groups))
    ]
    layout = single_panel_axes(
        *axes,
        barmode="relative",
        legend={"title": {"text": legend}, "tracegroupgap": 0},
        title={"text": title},
    )
    if categories is not None:
        layout["xaxis"].update(categoryarray=categories, categoryorder="array")
    return go.Figure(data=traces, layout=layout)


def _hv_line(x: Any, y: Any, hover: str) -> go.Scatter:
    """px.line's one-colour step line (line_shape="hv")."""
    return go.Scatter(
        x=x,
        y=y,
        hovertemplate=hover,
        legendgroup="",
        line={"color": _colorway()[0], "dash": "solid", "shape": "hv"},
        marker={"symbol": "circle"},
        mode="lines",
        name="",
        orientation="v",
        showlegend=False,
        xaxis="x",
        yaxis="y",
    )


def example_frame(table: Table) -> pd.DataFrame:
    """The registry's example rows of an input table, as the table the lab starts from."""
    return pd.DataFrame(table.example())


def numbers(series: pd.Series) -> np.ndarray:
    """A column as floats; blanks become NaN so the mechanism names the empty row."""
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def texts(series: pd.Series) -> list[str | None]:
    """A text column with blanks as None, so the mechanism names the empty row."""
    return [None if pd.isna(v) or str(v).strip() == "" else str(v) for v in series]


def read_table_csv(uploaded: IO[bytes] | Any, example_df: pd.DataFrame) -> pd.DataFrame:
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


# --------------------------------------------------------------------------------------------------------
# Subnet 9 · IOTA


@dataclass(frozen=True)
class Merge:
    """Who counts towards the merge: the model's result, the per-miner table and the B_min sweep."""

    result: sn9.MergeReadiness
    table: pd.DataFrame
    sweep: pd.DataFrame


def sn9_merge(batches: pd.DataFrame, b_min: float, fraction: float) -> Merge:
    result = sn9.merge_readiness(numbers(batches["backward_passes"]), b_min, fraction)
    miners = [m if m is not None else f"row {i + 1}" for i, m in enumerate(texts(batches["miner"]))]
    table = pd.DataFrame(
        {
            "miner": miners,
            "backward_passes": result.batch_counts.astype(int),
            "qualifies": result.qualifies,
            "shortfall": result.shortfall.astype(int),
            "merge_weight": result.merge_weight,
        }
    )
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
    return Merge(result, table, sweep_df)


def merge_bars(merge: Merge, b_min: float) -> go.Figure:
    df = merge.table
    miners = df["miner"].to_numpy()
    passes = df["backward_passes"].to_numpy()
    levels = df["qualifies"].map({True: "at B_min", False: "below B_min"})
    bars = _bar_figure(
        miners,
        passes,
        levels,
        lambda level: f"={level}<br>miner=%{{x}}<br>backward passes=%{{y}}<extra></extra>",
        axes=("miner", "backward passes"),
        legend="",
        title="Backward passes against B_min",
        categories=df["miner"].tolist(),
    )
    bars.add_hline(y=b_min, line_dash="dash", annotation_text=f"B_min = {b_min:g}")
    return bars


def sweep_chart(merge: Merge, b_min: float) -> go.Figure:
    sweep_df = merge.sweep
    waits = ~sweep_df["merge_triggers"]
    line = go.Figure(
        data=[
            _hv_line(
                sweep_df["b_min"].to_numpy(),
                sweep_df["b_eff"].to_numpy(),
                "B_min=%{x}<br>B_eff=%{y}<extra></extra>",
            )
        ],
        layout=single_panel_axes(
            "B_min",
            "B_eff",
            legend={"tracegroupgap": 0},
            margin={"t": 60},
            title={"text": "B_eff as B_min changes (× = merge waits)"},
        ),
    )
    line.add_scatter(
        x=sweep_df.loc[waits, "b_min"],
        y=sweep_df.loc[waits, "b_eff"],
        mode="markers",
        marker={"symbol": "x", "size": 9},
        name="merge waits",
    )
    line.add_vline(x=b_min, line_dash="dash")
    return line


@dataclass(frozen=True)
class Decay:
    """Incentive under step decay: the pivoted timeline, the scores, and the curves (one per t_decay)."""

    t_decays: list[float]
    epoch_ids: list[Any]
    epoch_times: np.ndarray
    miners: list[Any]
    scores: np.ndarray  # (epochs, miners)
    base_score: float
    over_time: pd.DataFrame  # t_decay_h, time_h, miner, raw_incentive, share

    def at(self, time_h: float) -> pd.DataFrame:
        """Raw incentive and share of every miner at one time, per t_decay."""
        rows = []
        for t_decay in self.t_decays:
            raw = sn9.raw_incentive(self.scores, self.epoch_times, time_h, t_decay, self.base_score)
            shares = sn9.incentive_shares(raw)
            rows += [
                {"t_decay_h": t_decay, "miner": str(m), "raw_incentive": raw[j], "share": shares[j]}
                for j, m in enumerate(self.miners)
            ]
        return pd.DataFrame(rows)

    def scores_table(self) -> pd.DataFrame:
        score_df = pd.DataFrame(self.scores, columns=[str(m) for m in self.miners])
        score_df.insert(0, "time_h", self.epoch_times)
        score_df.insert(0, "epoch", [str(e) for e in self.epoch_ids])
        return score_df


def sn9_decay(timeline: pd.DataFrame, b_min: float, rule: str, decay_text: str, base_score: float) -> Decay:
    t_decays = sn9.parse_hours(decay_text)
    epochs = [None if pd.isna(e) else e for e in timeline["epoch"]]
    epoch_ids, epoch_times, miners, counts = sn9.pivot_timeline(
        epochs, numbers(timeline["time_h"]), texts(timeline["miner"]), numbers(timeline["backward_passes"])
    )
    scores = sn9.epoch_scores(counts, b_min, rule)  # type: ignore[arg-type]
    frames = [
        pd.DataFrame(
            {
                "t_decay_h": t_decay,
                "time_h": grid,
                "miner": str(miner),
                "raw_incentive": raw[:, j],
                "share": shares[:, j],
            }
        )
        for t_decay, grid, raw, shares in sn9.incentive_curves(scores, epoch_times, t_decays, base_score)
        for j, miner in enumerate(miners)
    ]
    over_time = pd.concat(frames, ignore_index=True)
    return Decay(t_decays, epoch_ids, epoch_times, miners, scores, base_score, over_time)


def decay_chart(decay: Decay) -> go.Figure:
    df = decay.over_time
    t_decays = [value for value, _ in _groups(df["t_decay_h"])]
    fig = make_subplots(  # px's facet_col grid: one row, a panel per t_decay, axes shared
        rows=1,
        cols=len(t_decays),
        specs=[[{"type": "xy"}] * len(t_decays)],
        shared_xaxes="all",
        shared_yaxes="all",
        row_titles=[],
        column_titles=[f"t_decay = {t} h" for t in t_decays],
        subplot_titles=[],
        horizontal_spacing=0.02,
        vertical_spacing=0.03,
        row_heights=[1.0],
        column_widths=[1.0] * len(t_decays),
        start_cell="bottom-left",
    )
    for annotation in fig.layout.annotations:
        annotation.update(font=None)
    trace = go.Scattergl if len(df) > WEBGL_FROM else go.Scatter
    panel = {t: i for i, t in enumerate(t_decays)}
    time_h, share = df["time_h"].to_numpy(), df["share"].to_numpy()
    traces = []
    for j, (miner, rows) in enumerate(_groups(df["miner"])):
        for t, cells in _groups(df["t_decay_h"].to_numpy()[rows]):
            axis = "" if panel[t] == 0 else str(panel[t] + 1)
            picked = rows[cells]
            traces.append(
                trace(
                    x=time_h[picked],
                    y=share[picked],
                    hovertemplate=f"miner={miner}<br>t_decay_h={t}<br>time (h)=%{{x}}<br>incentive share=%{{y}}<extra></extra>",
                    legendgroup=miner,
                    line={"color": qualitative.D3[j % len(qualitative.D3)], "dash": "solid", "shape": "hv"},
                    marker={"symbol": "circle"},
                    mode="lines",
                    name=miner,
                    showlegend=panel[t] == 0,
                    xaxis=f"x{axis}",
                    yaxis=f"y{axis}",
                )
            )
    fig.add_traces(traces)
    for i in range(len(t_decays)):
        axis = "" if i == 0 else str(i + 1)
        fig.layout[f"xaxis{axis}"].title = {"text": "time (h)"}
    fig.layout.yaxis.title = {"text": "incentive share"}
    for i in range(1, len(t_decays)):
        fig.layout[f"yaxis{i + 1}"].showticklabels = False
    fig.update_layout(
        legend={"title": {"text": "miner"}, "tracegroupgap": 0},
        title={"text": "Incentive share over time, one panel per t_decay"},
    )
    return fig


# --------------------------------------------------------------------------------------------------------
# Subnet 13 · data universe


@dataclass(frozen=True)
class Score:
    """A miner's bucket scores: the model's result, the scaled score and the per-bucket table."""

    scored: sn13.BucketScores
    scaled: float
    table: pd.DataFrame


def sn13_score(
    labels: pd.DataFrame,
    buckets: pd.DataFrame,
    weights: dict[str, float],
    default_lsf: float,
    credibility: float,
) -> Score:
    listed = sn13.listed_label_factors(
        texts(labels["source"]), texts(labels["label"]), numbers(labels["scale_factor"])
    )
    sources, bucket_labels = texts(buckets["source"]), texts(buckets["label"])
    lsf = sn13.label_scale_factors([s or "" for s in sources], bucket_labels, listed, default_lsf)
    sb = sn13.scorable_bytes(numbers(buckets["bytes"]), numbers(buckets["bytes_all_miners"]))
    scored = sn13.score_buckets(sources, lsf, numbers(buckets["age_days"]) * 24.0, sb, weights)
    scaled = sn13.scaled_score(scored.raw_score, credibility)
    table = pd.DataFrame(
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
    return Score(scored, float(scaled), table)


def bucket_bars(score: Score) -> go.Figure:
    df = score.table
    hover = ["label", "age_days", "DSW", "LSF", "ASF", "scorable_bytes"]
    x = df["bucket"].astype(str).to_numpy()
    y = df["score"].to_numpy()
    custom = df[hover].to_numpy(dtype=object)
    extra = "".join(f"<br>{c}=%{{customdata[{i}]}}" for i, c in enumerate(hover))
    return _bar_figure(
        x,
        y,
        df["source"],
        lambda source: f"source={source}<br>bucket (row)=%{{x}}<br>score=%{{y}}{extra}<extra></extra>",
        axes=("bucket (row)", "score"),
        legend="source",
        title="Score per bucket",
        customdata=custom,
    )


def age_curve(score: Score) -> go.Figure:
    df = score.table
    days = np.linspace(0, 35, 351)
    curve = go.Figure(go.Scatter(x=days, y=sn13.age_scale_factor(days * 24.0), name="ASF", mode="lines"))
    curve.add_scatter(x=df["age_days"], y=df["ASF"], mode="markers", name="buckets", text=df["label"])
    curve.update_layout(title="Age scale factor", xaxis_title="age (days)", yaxis_title="ASF")
    return curve


def sn13_credibility(
    history: pd.DataFrame, alpha: float, start: float, raw_score: float | None
) -> pd.DataFrame:
    """Credibility before and after each evaluation, its score multiplier, and the scaled score when known."""
    shares = sn13.validation_shares(numbers(history["valid_bytes"]), numbers(history["validated_bytes"]))
    path = sn13.credibility_path(shares, alpha, start)
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
    return df


def credibility_chart(df: pd.DataFrame) -> go.Figure:
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
    return fig


@dataclass(frozen=True)
class Recovery:
    """Recovering from one failed evaluation: clean validations needed, credibility and score lost, the curve."""

    needed: int | None
    before: float
    after: float
    lost: float  # share of the score lost right after the failure
    curve: pd.DataFrame  # credibility_before, clean_validations


def sn13_recovery(before: float, alpha: float, failure_share: float) -> Recovery:
    needed = sn13.recovery_validations(before, alpha, failure_share)
    after = sn13.credibility_update(before, failure_share, alpha)
    exponent = sn13.CREDIBILITY_EXPONENT
    lost = 1 - (after / before) ** exponent if before > 0 else 0.0
    levels, counts = sn13.recovery_curve(alpha, failure_share)
    curve = pd.DataFrame({"credibility_before": levels, "clean_validations": counts})
    return Recovery(needed, before, after, lost, curve)


def recovery_chart(recovery: Recovery, alpha: float) -> go.Figure:
    curve = recovery.curve
    before, clean = "credibility before the failure", "clean validations"
    fig = go.Figure(
        data=[
            _hv_line(
                curve["credibility_before"].to_numpy(),
                curve["clean_validations"].to_numpy(),
                f"{before}=%{{x}}<br>{clean}=%{{y}}<extra></extra>",
            )
        ],
        layout=single_panel_axes(
            before,
            clean,
            legend={"tracegroupgap": 0},
            title={"text": f"Clean validations to recover from one failure (α = {alpha:g})"},
        ),
    )
    fig.add_vline(x=recovery.before, line_dash="dash")
    return fig
