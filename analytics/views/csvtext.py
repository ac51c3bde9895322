"""The one CSV writer behind every download button and `python -m analytics export`.

:func:`csv_bytes` turns a DataFrame into deterministic UTF-8 CSV bytes (``\\n`` line ends, no index,
floats in Python's shortest round-trip form, empty cells for missing values). Text cells that a
spreadsheet would run as a formula (they begin with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return) get a leading ``'``; numbers are written as numbers, untouched. Chain strings (names,
hotkeys) are untrusted, so this matters. :func:`csv_filename` names the files.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pandas as pd

from analytics.textsafe import safe_text

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: str) -> str:
    """A text cell made safe for spreadsheets and readers: control and bidi characters shown as escapes
    (:func:`analytics.textsafe.safe_text`), and a leading ``'`` when it could start a formula."""
    cell = safe_text(cell) or ""
    return "'" + cell if cell.startswith(FORMULA_PREFIXES) else cell


def _format_cell(value: Any) -> str:
    """One cell as CSV text: numbers as numbers, text neutralised, missing as empty."""
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        f = float(value)
        if math.isnan(f):
            return ""
        if math.isinf(f):
            return "inf" if f > 0 else "-inf"
        return repr(f)
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, bytes):
        value = value.hex()
    if isinstance(value, list | tuple | np.ndarray):
        value = " ".join(_format_cell(v) for v in value)
        return neutralise(value)
    return neutralise(str(value))


_NEEDS_QUOTES = re.compile('[,"\r\n]')


def _quote(cell: str) -> str:
    """RFC 4180 quoting: a cell holding a comma, a quote, CR or LF is quoted, inner quotes doubled."""
    if _NEEDS_QUOTES.search(cell):
        return '"' + cell.replace('"', '""') + '"'
    return cell


def _format_column(series: pd.Series) -> list[str]:
    """Every cell of one column as quoted CSV text; vectorised for the common numeric dtypes."""
    if not isinstance(series.dtype, np.dtype):  # strings (pandas' str dtype), nullable ints...
        return _format_objects(series.tolist())
    values = series.to_numpy()
    if values.dtype.kind == "b":
        return np.where(values, "true", "false").tolist()
    if values.dtype.kind in "iu":
        return [str(v) for v in values.tolist()]
    if values.dtype.kind == "f":
        finite = np.isfinite(values)
        if finite.all():
            return list(map(repr, values.tolist()))
        return [
            repr(v) if ok else _format_cell(v) for v, ok in zip(values.tolist(), finite.tolist(), strict=True)
        ]
    return _format_objects(series.tolist())


def _format_objects(cells: list[Any]) -> list[str]:
    if all(type(v) is str for v in cells):  # the common text column: no per-cell type dispatch
        return [_quote(neutralise(v)) for v in cells]
    return [_quote(_format_cell(v)) for v in cells]


def csv_bytes(df: pd.DataFrame) -> bytes:
    """Deterministic CSV of ``df`` (header + rows, no index, ``\\n`` line ends), safe in a spreadsheet."""
    header = ",".join(_quote(neutralise(str(c))) for c in df.columns)
    columns = [_format_column(df[c]) for c in df.columns]
    lines = [header, *(",".join(row) for row in zip(*columns, strict=True))] if columns else [header]
    return ("\n".join(lines) + "\n").encode("utf-8")


def csv_filename(
    table: str, netuid: int | None, mechid: int | None, snapshot_id: int | None, **extra: Any
) -> str:
    """The file name every download button offers, e.g. ``validators_sn3_m0_snap12.csv``; a part that
    is None is left out (``history_sn3.csv`` spans snapshots), ``extra`` adds ``key<value>`` parts."""
    parts = [table]
    if netuid is not None:
        parts.append(f"sn{netuid}")
    if mechid is not None:
        parts.append(f"m{mechid}")
    if snapshot_id is not None:
        parts.append(f"snap{snapshot_id}")
    parts += [f"{k}{v}" for k, v in sorted(extra.items()) if v is not None]
    return "_".join(parts) + ".csv"
