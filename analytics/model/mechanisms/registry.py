"""The mechanisms the lab offers, as a registry: each entry carries its labels, rules, settings (form fields
with their defaults, and the parser of a typed one) and its editable tables with their example rows.

The Mechanism lab page lays these out; the scoring itself stays in :mod:`iota_sn9` and
:mod:`data_universe_sn13`. Pure data: no Streamlit, no pandas (an example is columns of plain values).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from analytics.model.mechanisms import data_universe_sn13 as sn13
from analytics.model.mechanisms import iota_sn9 as sn9


@dataclass(frozen=True)
class Field:
    """One setting as a form field, bound to the URL by ``key``; a whole-number default makes a whole-number
    field. ``parse`` turns a text field's value into what the mechanism takes (MechanismInputError if it cannot)."""

    key: str
    label: str
    default: float | int | str
    kind: Literal["number", "text", "choice"] = "number"
    step: float | int | None = None
    format: str | None = None
    help: str | None = None
    choices: Mapping[str, str] | None = None  # value -> label, for kind "choice"
    parse: Callable[[str], Any] | None = None


@dataclass(frozen=True)
class Column:
    """How an editable table shows one column: its label, and for numbers the step and display format."""

    name: str
    label: str
    kind: Literal["number", "text"] = "number"
    step: float | int | None = None
    format: str | None = None
    help: str | None = None


@dataclass(frozen=True)
class Table:
    """An editable input table: ``name`` keys its state and file name; ``example`` is the starting table."""

    name: str
    example: Callable[[], dict[str, list[Any]]]
    columns: tuple[Column, ...] = ()


@dataclass(frozen=True)
class Mechanism:
    """One subnet's mechanism in the lab: its tab label, its rules in words, its settings and tables."""

    netuid: int
    label: str
    rules: str  # Markdown
    fields: Mapping[str, Field] = field(default_factory=dict)
    tables: Mapping[str, Table] = field(default_factory=dict)


def _by_key(*items: Field) -> dict[str, Field]:
    return {item.key: item for item in items}


# --------------------------------------------------------------------------------------------------------
# Subnet 9 · IOTA


def sn9_batches_example() -> dict[str, list[Any]]:
    return {
        "miner": ["miner-A", "miner-B", "miner-C", "miner-D", "miner-E"],
        "backward_passes": [14, 10, 25, 9, 12],
    }


def sn9_timeline_example() -> dict[str, list[Any]]:
    """Four miners over eight syncs two hours apart: steady, an early burst, a late joiner, one below B_min."""
    passes = {
        "steady": [12] * 8,
        "early burst": [30, 30, 30, 0, 0, 0, 0, 0],
        "late joiner": [0, 0, 0, 0, 20, 20, 20, 20],
        "below B_min": [8] * 8,
    }
    rows = [
        (epoch + 1, 2.0 * epoch, miner, counts[epoch])
        for epoch in range(8)
        for miner, counts in passes.items()
    ]
    return {
        name: [row[k] for row in rows]
        for k, name in enumerate(["epoch", "time_h", "miner", "backward_passes"])
    }


SN9 = Mechanism(
    netuid=9,
    label="Subnet 9 (IOTA)",
    rules=(
        "- **B_eff** = Σ B_m over miners with B_m ≥ B_min; a merge starts once at least "
        "⌈fraction × miners⌉ miners reach B_min and averages weights with weight 1 + B_m.\n"
        "- **Step decay**: a score assigned at t0 counts fully while t − t0 ≤ t_decay, then 0; "
        "I_m = Σ_n S_m^n · w(t).\n"
        "- Defaults from the public IOTA code, github.com/macrocosm-os/iota at commit 56aee24 (2025-07-04): "
        "B_min = 10 (`GLOBAL_OPTIMIZER_STEPS`), fraction 0.8 (`MINERS_REQUIRED_FOR_WEIGHT_UPLOADING`), "
        "scores kept 10 h (`SCORE_VALIDITY_PERIOD`), merge weight 1 + backward passes, +1 per passing sync, "
        "base score 1 per registered miner. Details in `analytics/mechanisms/iota_sn9.py`."
    ),
    fields=_by_key(
        Field("sn9_bmin", "B_min (backward passes)", sn9.DEFAULT_B_MIN, step=1),
        Field(
            "sn9_frac",
            "Merge fraction (share of miners at B_min)",
            sn9.DEFAULT_MERGE_FRACTION,
            step=0.05,
            format="%.2f",
        ),
        Field("sn9_rule", "Score per epoch", "backward_passes", kind="choice", choices=sn9.SCORE_RULE_LABELS),
        Field(
            "sn9_tdecay",
            "t_decay values (hours, comma-separated)",
            "2, 6, 10",
            kind="text",
            parse=sn9.parse_hours,
        ),
        Field(
            "sn9_base",
            "Base score per miner",
            0.0,
            step=1.0,
            help="The public orchestrator gives every registered miner 1; the issue's formula has none.",
        ),
        Field(
            "sn9_at", "Read the incentive at time (h)", 0.0, step=1.0
        ),  # the page starts it at the last sync
    ),
    tables={
        "batches": Table(
            "sn9_batches",
            sn9_batches_example,
            (
                Column("miner", "miner", kind="text"),
                Column("backward_passes", "backward passes since merge", step=1),
            ),
        ),
        "timeline": Table(
            "sn9_timeline",
            sn9_timeline_example,
            (
                Column("epoch", "epoch", step=1),
                Column("time_h", "sync time (h)"),
                Column("miner", "miner", kind="text"),
                Column("backward_passes", "backward passes", step=1),
            ),
        ),
    },
)


# --------------------------------------------------------------------------------------------------------
# Subnet 13 · data universe


def sn13_labels_example() -> dict[str, list[Any]]:
    return {
        "source": ["reddit", "x", "x"],
        "label": ["r/Bitcoin", "#bittensor", "#tao"],
        "scale_factor": [1.0, 1.0, 1.0],
    }


def sn13_buckets_example() -> dict[str, list[Any]]:
    return {
        "source": ["reddit", "reddit", "x", "x", "youtube", "x"],
        "label": ["r/Bitcoin", "r/gardening", "#bittensor", "#tao", "channel-42", "#tao"],
        "age_days": [0.5, 2.0, 3.0, 12.0, 20.0, 35.0],
        "bytes": [50e6, 80e6, 20e6, 30e6, 60e6, 90e6],
        "bytes_all_miners": [50e6, 80e6, 40e6, 30e6, 60e6, 90e6],
    }


def sn13_history_example() -> dict[str, list[Any]]:
    """24 evaluations of 4 MB each, all valid but the fifteenth."""
    valid = [1.0] * 14 + [0.0] + [1.0] * 9
    return {"valid_bytes": [v * 4e6 for v in valid], "validated_bytes": [4e6] * len(valid)}


SN13 = Mechanism(
    netuid=13,
    label="Subnet 13 (data universe)",
    rules=(
        "- **Scaled score** = Σ over buckets DSW · LSF · ASF · SB × credibility^2.5.\n"
        "- **Credibility** after each evaluation: C = α · V + (1 − α) · C_old, α = 0.15, V the share of "
        "validated bytes that were valid.\n"
        "- Defaults from the public data-universe code, github.com/macrocosm-os/data-universe at commit "
        "e5ddd00 (2025-09-29): DSW reddit 0.58, x 0.37, youtube 0.05; default LSF 0.3, listed labels up to 5; "
        "ASF 1 → 0.5 linearly over 30 days, 0 after; SB = bytes² / bytes all miners hold in the bucket; "
        "credibility starts at 0. Not modelled: the S3 boost and the credibility cut when a raw score grows. "
        "Details in `analytics/mechanisms/data_universe_sn13.py`."
    ),
    fields=_by_key(
        *(
            Field(f"dsw_{source}", source, weight, step=0.01, format="%.2f")
            for source, weight in sn13.DEFAULT_SOURCE_WEIGHTS.items()
        ),
        Field(
            "lsf_default",
            "Default label scale factor",
            sn13.DEFAULT_LABEL_SCALE_FACTOR,
            step=0.05,
            format="%.2f",
        ),
        Field("sn13_cred", "Credibility for the scaled score", 0.9, step=0.05, format="%.3f"),
        Field("sn13_alpha", "α", sn13.CREDIBILITY_ALPHA, step=0.01, format="%.2f"),
        Field("sn13_start", "Starting credibility", sn13.STARTING_CREDIBILITY, step=0.05, format="%.2f"),
        Field("sn13_before", "Credibility before the failure", 0.9, step=0.01, format="%.3f"),
        Field("sn13_fail", "Share validated in the failed evaluation", 0.0, step=0.1, format="%.2f"),
    ),
    tables={
        "labels": Table(
            "sn13_labels", sn13_labels_example, (Column("scale_factor", "scale factor", step=0.1),)
        ),
        "buckets": Table(
            "sn13_buckets",
            sn13_buckets_example,
            (
                Column("age_days", "age (days)"),
                Column("bytes", "bytes", format="%.0f"),
                Column(
                    "bytes_all_miners",
                    "bytes all miners hold",
                    format="%.0f",
                    help="This miner included; equal to bytes when unique.",
                ),
            ),
        ),
        "history": Table(
            "sn13_history",
            sn13_history_example,
            (
                Column("valid_bytes", "valid bytes", format="%.0f"),
                Column("validated_bytes", "validated bytes", format="%.0f"),
            ),
        ),
    },
)

MECHANISMS: dict[int, Mechanism] = {m.netuid: m for m in (SN9, SN13)}
