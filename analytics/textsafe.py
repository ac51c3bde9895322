"""One sanitiser for untrusted chain strings (subnet names, identities, any text a chain account chose).

Chain strings may hold characters that change how the text *around* them looks or that tools choke on:
C0/C1 control characters (NUL truncates strings in C tools and some CSV readers; ESC starts terminal
escape sequences; CR/LF split a table row) and the Unicode bidirectional controls (U+202E RIGHT-TO-LEFT
OVERRIDE visually reverses the text after it, so ``evil\\u202egnp.exe`` reads as ``evilexe.png``).

:func:`safe_text` makes each of them *visible* instead of removing it: it becomes its escape, e.g.
``\\x00``, ``\\u202e``, so a reader sees that the name holds something odd, and two names that differ only
by a hidden character still look different. Everything else (accents, CJK, emoji, a plain ``\\``) is kept
as typed. The raw value stays in the database; this is applied where text leaves the program: the
store's reads (every page table, chart, picker and CLI line), the CSV writer and terminal output.

Pure: the standard library only (pandas is imported lazily by the frame helpers).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

# C0 controls (but not the tab, which tables and CSV show as a space), DEL and C1 controls; the bidi
# embeddings, overrides and isolates, the implicit marks; line/paragraph separators; zero-width
# characters that hide inside names; the BOM; the interlinear annotation characters; the Unicode tag
# block (invisible "ASCII smuggling"). Each is shown as its Python escape. Code point ranges, from
# which both patterns below are built (so they cannot disagree).
_UNSAFE_RANGES: tuple[tuple[int, int], ...] = (
    (0x00, 0x08),  # C0 (tab kept)
    (0x0A, 0x1F),
    (0x7F, 0x9F),  # DEL, C1
    (0x061C, 0x061C),  # Arabic letter mark
    (0x200E, 0x200F),  # LRM, RLM
    (0x202A, 0x202E),  # LRE, RLE, PDF, LRO, RLO
    (0x2066, 0x2069),  # LRI, RLI, FSI, PDI
    (0x2028, 0x2029),  # line and paragraph separators
    (0x200B, 0x200D),  # zero-width space, non-joiner, joiner
    (0x2060, 0x2060),  # word joiner
    (0xFEFF, 0xFEFF),  # BOM
    (0xFFF9, 0xFFFB),  # interlinear annotation
    (0xE0000, 0xE007F),  # tags
)
_UNSAFE = re.compile(
    "[" + "".join(f"\\U{lo:08x}" + (f"-\\U{hi:08x}" if hi > lo else "") for lo, hi in _UNSAFE_RANGES) + "]"
)
# The same class in RE2 syntax, for Arrow's vectorised regex over a whole column (pyarrow strings).
_UNSAFE_RE2 = (
    "["
    + "".join(f"\\x{{{lo:x}}}" + (f"-\\x{{{hi:x}}}" if hi > lo else "") for lo, hi in _UNSAFE_RANGES)
    + "]"
)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def safe_text(s: str | None) -> str | None:
    """``s`` with every control and bidi/invisible formatting character shown as its escape
    (``"a\\x00b"`` -> ``"a\\\\x00b"``); ``None`` stays ``None``. Cheap when there is nothing to change."""
    if s is None:
        return None
    if not isinstance(s, str):
        s = str(s)
    return _UNSAFE.sub(_escape, s) if _UNSAFE.search(s) else s


def is_safe(s: str) -> bool:
    """True when :func:`safe_text` would leave ``s`` unchanged."""
    if s.isascii() and s.isprintable():  # printable ASCII holds no unsafe character: a C-speed scan
        return True
    return _UNSAFE.search(s) is None


def _all_safe(values: Any) -> bool:
    """True when no text cell of ``values`` needs a change: one scan of the cells joined by spaces, not a
    Python call per cell (every unsafe character is one character, so none can come from the join)."""
    return is_safe(" ".join([v for v in values if isinstance(v, str)]))


def arrow_all_safe(column: Any) -> bool:
    """True when no cell of an Arrow string column (or anything ``pyarrow.array`` takes, such as
    pandas' pyarrow strings) needs a change; nulls ignored. Exact, at C speed: a printable-ASCII
    check first (the common case, the cheaper scan), RE2 with the unsafe class for the rest."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not isinstance(column, pa.Array | pa.ChunkedArray):
        column = pa.array(column)
    if pc.all(pc.ascii_is_printable(column)).as_py() is not False:
        return True
    return pc.any(pc.match_substring_regex(column, _UNSAFE_RE2)).as_py() is not True


def safe_values(values: Any) -> Any:
    """A numpy object array of text sanitised cell by cell (non-strings kept); the same array back
    when no cell needs a change (one scan of the cells joined by spaces)."""
    import numpy as np

    if _all_safe(values):
        return values
    return np.array([safe_text(v) if isinstance(v, str) else v for v in values], dtype=object)


def _holds_text(dtype: Any) -> bool:
    """Can a column of this dtype hold strings (object, numpy strings, pandas' string dtypes)?"""
    import pandas as pd

    return dtype.kind in "OSU" or isinstance(dtype, pd.StringDtype)


def safe_series(series: pd.Series) -> pd.Series:
    """A text column sanitised cell by cell (non-string cells, such as None or NaN, are kept); the
    same object back when no cell needs a change, so clean data costs one scan (vectorised in Arrow for
    pandas' pyarrow strings, what DuckDB reads give: a page's reads of thousands of keys stay cheap)."""
    import pandas as pd

    if not _holds_text(series.dtype):
        return series
    if isinstance(series.dtype, pd.StringDtype) and series.dtype.storage == "pyarrow":
        if arrow_all_safe(series.array):  # vectorised in Arrow
            return series
    elif _all_safe(series.to_numpy(dtype=object)):
        return series
    return series.map(lambda v: safe_text(v) if isinstance(v, str) else v)


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every text column sanitised by :func:`safe_series` (a copy only when one changes)."""

    changed: dict[Any, pd.Series] = {}
    for name, dtype in frame.dtypes.items():
        if not _holds_text(dtype):
            continue  # safe_series would keep it (no Series built for it here)
        column = frame[name]
        if not hasattr(column, "dtype"):  # duplicate column names give a frame: leave it
            continue
        cleaned = safe_series(column)
        if cleaned is not column:
            changed[name] = cleaned
    if not changed:
        return frame
    out = frame.copy()
    for name, cleaned in changed.items():
        out[name] = cleaned
    return out


# html.escape's replacements, in its order ("&" first, so no entity is escaped twice).
_HTML_ENTITIES = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;"), ("'", "&#x27;"))


def plot_text(values: Any) -> Any:
    """Chain strings made literal for Plotly, which renders a few HTML tags (<b>, <a href>...) in text
    and hover labels: :func:`safe_text`, then ``html.escape`` (``<``, ``>``, ``&`` and quotes become
    entities), so a name shows as typed. Accepts a string, a list or a pandas Series (a Series is
    escaped column-wise, not a Python call per cell: a chart of 8,000 validators stays cheap)."""
    import html

    import pandas as pd

    if isinstance(values, pd.Series):
        text = safe_series(values.astype(str).fillna("nan"))  # a missing cell reads as str(nan) did
        for char, entity in _HTML_ENTITIES:
            text = text.str.replace(char, entity, regex=False)
        return text
    if isinstance(values, list | tuple):
        return [html.escape(safe_text(str(v)) or "") for v in values]
    return html.escape(safe_text(str(values)) or "")
