"""CSV export shared by the pages' download buttons and `python -m analytics export`: the table registry.

:data:`TABLES` names the tables the CLI's ``--table`` offers and :func:`build_table` builds one. A page and
the CLI call the same builder and the same writer (:func:`csv_bytes`), so the file from a download button
and the file from the CLI are the same bytes. The pieces live by job in this package: the CSV writer in
:mod:`~analytics.views.csvtext`, the memoised recomputation in :mod:`~analytics.views.analysis`, the
per-subnet tables in :mod:`~analytics.views.subnet_tables` and the snapshot-wide ones in
:mod:`~analytics.views.snapshot_tables`; their names stay importable from here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from analytics.model.units import RAO_PER_UNIT, U16_MAX  # noqa: F401  (re-exported as export.*)
from analytics.views.analysis import (  # noqa: F401  (re-exported: callers use these as export.*)
    BLOCKS_PER_DAY,
    PROVENANCE_COLUMNS,
    SubnetAnalysis,
    _analysis,
    _file_token,
    earnings_per_1000_per_day,
    epochs_per_day,
    subnet_analysis,
)
from analytics.views.csvtext import FORMULA_PREFIXES, csv_bytes, csv_filename, neutralise  # noqa: F401
from analytics.views.snapshot_tables import (  # noqa: F401
    OUT_OF_CONSENSUS_TV,
    TV_BAND_COLOURS,
    TV_BANDS,
    band_label,
    health_bars,
    history_table,
    history_tables,
    reason_summary,
    severity_rules,
    split_text,
    subnets_table,
    tv_band_bars,
)
from analytics.views.subnet_tables import (  # noqa: F401
    OUT_OF_CONSENSUS,
    SEVERITY_ORDER,
    VALIDATOR_COLUMNS,
    consensus_table,
    neurons_table,
    validators_figure,
    validators_table,
    weights_table,
)

# The CLI's --table choices, in the order --help lists them. Every builder takes
# (db_path, snapshot_id, netuid, mechid, **filters); SNAPSHOT_TABLES ignore the subnet.
TABLES: dict[str, Callable[..., pd.DataFrame]] = {
    "neurons": neurons_table,
    "weights": weights_table,
    "validators": validators_table,
    "consensus": consensus_table,
    "subnets": lambda db_path, snapshot_id, netuid=None, mechid=0: subnets_table(db_path, snapshot_id),
    "history": history_table,
}
SNAPSHOT_TABLES = frozenset({"subnets"})


def build_table(
    db_path: str, name: str, snapshot_id: int, netuid: int | None, mechid: int = 0, **filters: Any
) -> pd.DataFrame:
    """The table ``name`` (a key of TABLES) for one snapshot, subnet and mechanism.

    ``filters`` (miner=, validator=) apply to the weights table only.
    """
    if name not in TABLES:
        raise ValueError(f"unknown table {name!r}; choose one of {', '.join(TABLES)}")
    builder = TABLES[name]
    return builder(db_path, snapshot_id, netuid, mechid, **filters)
