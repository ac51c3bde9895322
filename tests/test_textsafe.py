"""Issue 12 item 5: untrusted chain strings (names, keys) have their control and bidi characters made visible
in one place, for every page, CSV and terminal line; the database keeps the raw value."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

from analytics.cli import main
from analytics.data import store
from analytics.textsafe import safe_frame, safe_series, safe_text, safe_values
from tests.test_store import tiny_snapshot

ROOT = Path(__file__).resolve().parent.parent
NAME = "evil\x00\u202egnp.exe"  # NUL, then RIGHT-TO-LEFT OVERRIDE: reads as "evilexe.png"
COLDKEY = "ck\x1b[31mred\u2066x\u2069"  # a terminal colour escape and a bidi isolate
HIDDEN = ["\x00", "\u202e", "\x1b", "\u2066", "\u2069"]


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("a\x00b", "a\\x00b"),
        ("evil\u202egnp.exe", "evil\\u202egnp.exe"),
        ("x\u2066y\u2069", "x\\u2066y\\u2069"),
        ("line\nbreak\r", "line\\x0abreak\\x0d"),
        ("\x1b[2J", "\\x1b[2J"),
        ("\x9b", "\\x9b"),
        ("zero\u200bwidth\ufeff", "zero\\u200bwidth\\ufeff"),
        ("tag\U000e0041", "tag\\U000e0041"),
        ("Ωmega café 子 😀\tand a \\ backslash", "Ωmega café 子 😀\tand a \\ backslash"),
        ("", ""),
    ],
)
def test_safe_text_shows_hidden_characters_and_keeps_the_rest(raw: str, shown: str) -> None:
    assert safe_text(raw) == shown
    assert safe_text(shown) == shown  # nothing left to escape: applying it twice changes nothing


def test_safe_text_keeps_none_and_frames_keep_types() -> None:
    assert safe_text(None) is None
    frame = pd.DataFrame({"name": ["ok", NAME, None], "n": [1, 2, 3], "x": [0.5, None, 1.0]})
    out = safe_frame(frame)
    assert out["name"].tolist()[:2] == ["ok", "evil\\x00\\u202egnp.exe"] and pd.isna(out["name"][2])
    assert out["n"].equals(frame["n"]) and out["x"].equals(frame["x"])
    assert frame["name"][1] == NAME  # the input is not modified
    clean = pd.Series(["a", "b"])
    assert safe_series(clean) is clean  # nothing to change: no copy


@pytest.mark.parametrize("dtype", ["str", object])
@pytest.mark.parametrize("bad", ["", "\t", *HIDDEN, "\u2028", "é\u200d"])
def test_a_whole_column_is_scanned_at_once_and_still_catches_one_cell(dtype: object, bad: str) -> None:
    """safe_series / safe_values test a column in one scan (Arrow, or the cells joined): one hidden
    character among thousands of clean cells is still escaped, and tabs and text stay as they are."""
    cells = [f"5Hot{k:05d}key" for k in range(3000)]
    cells[1234] = f"x{bad}y"
    series = pd.Series(cells, dtype=dtype)
    out = safe_series(series)
    assert out.tolist() == [safe_text(c) for c in cells]
    assert (out is series) == (safe_text(cells[1234]) == cells[1234])
    values = np.array([*cells, None], dtype=object)
    shown = safe_values(values)
    assert shown.tolist() == [*(safe_text(c) for c in cells), None]


def test_a_column_is_checked_in_arrow_exactly_as_cell_by_cell() -> None:
    """safe_series finds the unsafe cells of a pyarrow string column with one RE2 pass: it flags the
    same code points as safe_text's pattern, every one of them (the class as the sanitiser first wrote
    it), and the cells it changes are those safe_text changes, in any string storage."""
    import re

    import pyarrow.compute as pc

    from analytics import textsafe

    first = re.compile(
        "[\x00-\x08\x0a-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029"
        "\u200b-\u200d\u2060\ufeff\ufff9-\ufffb\U000e0000-\U000e007f]"
    )
    points = [*range(0x10000), *range(0xDFF00, 0xE0200), 0x10FFFF]  # the BMP, the tag block and around
    chars = [chr(c) for c in points if not 0xD800 <= c <= 0xDFFF]  # surrogates are not text
    expected = [first.search(c) is not None for c in chars]
    assert [textsafe._UNSAFE.search(c) is not None for c in chars] == expected
    in_arrow = pc.match_substring_regex(pa.array(chars), textsafe._UNSAFE_RE2).to_pylist()
    assert in_arrow == expected and sum(expected) > 200
    cells = ["ok", None, NAME, COLDKEY, "café 子", "tab\tkept"]
    for dtype in ("str", pd.StringDtype("python"), object):
        column = pd.Series(cells, dtype=dtype)
        out = safe_series(column)
        assert [None if pd.isna(v) else v for v in out] == [safe_text(v) for v in cells]
        clean = pd.Series(["a", None, "b"], dtype=dtype)
        assert safe_series(clean) is clean


@pytest.fixture
def hostile_db(tmp_path: Path) -> Path:
    snap = tiny_snapshot(100)
    subnet = snap.tables["subnets"]
    snap.tables["subnets"] = subnet.set_column(subnet.column_names.index("name"), "name", pa.array([NAME]))
    neurons = snap.tables["neurons"]
    coldkeys = [COLDKEY] + neurons.column("coldkey").to_pylist()[1:]
    snap.tables["neurons"] = neurons.set_column(
        neurons.column_names.index("coldkey"), "coldkey", pa.array(coldkeys)
    )
    db = tmp_path / "lens.duckdb"
    store.ingest_snapshot(db, snap)
    return db


def test_the_database_keeps_the_raw_value(hostile_db: Path) -> None:
    con = duckdb.connect(str(hostile_db), read_only=True)
    assert con.execute("SELECT name FROM subnets").fetchone()[0] == NAME
    assert con.execute("SELECT coldkey FROM neurons WHERE uid = 0").fetchone()[0] == COLDKEY
    con.close()


def test_every_store_read_shows_them(hostile_db: Path) -> None:
    assert store.subnets(hostile_db, 1)["name"].tolist() == ["evil\\x00\\u202egnp.exe"]
    assert store.neurons(hostile_db, 1, 1)["coldkey"][0] == "ck\\x1b[31mred\\u2066x\\u2069"
    tables = store.subnet_tables(hostile_db, 1, 1)
    assert tables["subnet"]["name"][0] == "evil\\x00\\u202egnp.exe"
    assert tables["neurons"]["coldkey"][0] == "ck\\x1b[31mred\\u2066x\\u2069"
    batch = next(store.snapshot_batches(hostile_db, [1], money=True))  # check's bulk read, via Arrow
    assert batch["subnet"]["name"][0] == "evil\\x00\\u202egnp.exe"
    assert batch["neurons"]["coldkey"][0] == "ck\\x1b[31mred\\u2066x\\u2069"
    assert batch["neurons"]["hotkey"][0] == "hk0"


def test_a_column_is_judged_in_arrow_exactly() -> None:
    from analytics.textsafe import arrow_all_safe, is_safe

    assert arrow_all_safe(pa.array(["5Hot key", None, "", "~!"]))
    assert arrow_all_safe(pa.array([], pa.string()))
    for other in ("a\x1b[31m", "tab\tkept", "café", "名前", NAME, COLDKEY):
        assert arrow_all_safe(pa.array(["ok", other])) == is_safe(other), repr(other)
    assert not arrow_all_safe(pa.array(["ok", NAME]))
    assert arrow_all_safe(pa.chunked_array([["ok"], [None, "café"]]))


@pytest.mark.parametrize(
    ("table", "shown"),
    [
        ("subnets", "evil\\x00\\u202egnp.exe"),
        ("neurons", "ck\\x1b[31mred\\u2066x\\u2069"),
        ("validators", "hk0"),
    ],
)
def test_csv_from_the_cli_holds_no_hidden_character(
    hostile_db: Path, table: str, shown: str, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    args = ["export", "--table", table, "--db", str(hostile_db), "--out", "-"]
    assert main(args if table == "subnets" else [*args, "--netuid", "1"]) == 0
    text = capsysbinary.readouterr().out.decode("utf-8")
    assert not any(ch in text for ch in HIDDEN), repr(text)
    assert shown in text


def test_the_csv_writer_shows_them_in_any_frame() -> None:
    from analytics.views.export import csv_bytes

    text = csv_bytes(pd.DataFrame({"name": [NAME, COLDKEY], "mixed": [NAME, 1]})).decode()
    assert not any(ch in text for ch in HIDDEN)
    assert text.count("evil\\x00\\u202egnp.exe") == 2


def test_an_error_line_stays_one_visible_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A message quoting user input (here a path holding a newline and a terminal escape) is one line."""
    db = tmp_path / "x\nfake: line\x1b[2J.duckdb"
    assert main(["simulate", "--netuid", "1", "--db", str(db)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "\x1b" not in err and "x\\x0afake: line\\x1b[2J" in err


def test_the_pages_show_them(hostile_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("METAGRAPH_LENS_DB", str(hostile_db))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert not at.exception
    cells = " ".join(str(v) for df in at.dataframe for v in df.value.astype(str).to_numpy().ravel())
    assert "evil\\x00\\u202egnp.exe" in cells
    assert not any(ch in cells for ch in HIDDEN)
    at = AppTest.from_file(str(ROOT / "pages" / "1_Validators.py"), default_timeout=60)
    at.query_params["netuid"] = "1"
    at.run()
    assert not at.exception
    cells = " ".join(str(v) for df in at.dataframe for v in df.value.astype(str).to_numpy().ravel())
    assert "ck\\x1b[31mred\\u2066x\\u2069" in cells and not any(ch in cells for ch in HIDDEN)
