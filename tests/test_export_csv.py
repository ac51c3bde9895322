"""The CSV writer: deterministic bytes, spreadsheet-formula neutralisation, numbers untouched."""

from __future__ import annotations

import csv
import io

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from analytics.views.export import csv_bytes, csv_filename, neutralise


def parse(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


@pytest.mark.parametrize(
    ("prefix", "shown"), [("=", "'="), ("+", "'+"), ("-", "'-"), ("@", "'@"), ("\t", "'\t"), ("\r", "\\x0d")]
)
def test_text_that_could_start_a_formula_gets_a_quote(prefix: str, shown: str) -> None:
    """A carriage return is a control character: it is written as its escape, which starts no formula."""
    df = pd.DataFrame({"name": [f'{prefix}HYPERLINK("http://x")', "plain"]})
    rows = parse(csv_bytes(df))
    assert rows[1][0] == shown + 'HYPERLINK("http://x")'
    assert rows[2][0] == "plain"


def test_numbers_are_not_touched_even_when_negative() -> None:
    df = pd.DataFrame({"i": [-5, 7], "f": [-0.25, 1e-9], "u": np.array([65535, 0], dtype=np.uint16)})
    assert csv_bytes(df) == b"i,f,u\n-5,-0.25,65535\n7,1e-09,0\n"


def test_numeric_looking_text_is_still_text() -> None:
    # A string column is untrusted text: "-5" could be "-5+cmd|..." in disguise; only real numbers pass.
    df = pd.DataFrame({"s": ["-5", "5"]})
    assert csv_bytes(df) == b"s\n'-5\n5\n"


def test_missing_values_booleans_and_quoting() -> None:
    df = pd.DataFrame(
        {
            "b": [True, False, None],
            "f": [float("nan"), 0.5, 2.0],
            "s": ["a,b", 'say "hi"', None],
            "n": pd.array([1, None, 3], dtype="Int64"),
        }
    )
    assert csv_bytes(df) == b'b,f,s,n\ntrue,,"a,b",1\nfalse,0.5,"say ""hi""",\n,2.0,,3\n'


def test_bytes_are_identical_across_calls_and_copies() -> None:
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"uid": np.arange(50), "x": rng.random(50), "hk": [f"5F{i:04d}" for i in range(50)]})
    assert csv_bytes(df) == csv_bytes(df.copy()) == csv_bytes(df.iloc[:, :])


def test_timestamps_are_iso() -> None:
    df = pd.DataFrame({"t": [pd.Timestamp("2026-01-05 12:00:00")]})
    assert csv_bytes(df) == b"t\n2026-01-05T12:00:00\n"


@given(st.lists(st.text(max_size=12), min_size=1, max_size=8))
def test_round_trip_text_is_preserved_up_to_the_quote(cells: list[str]) -> None:
    df = pd.DataFrame({"c": cells})
    back = [r[0] if r else "" for r in parse(csv_bytes(df))[1:]]
    # csv.reader translates a lone \r inside a quoted cell faithfully; compare against the neutralised input
    assert back == [neutralise(c) for c in cells]


def test_filename_names_table_subnet_mechanism_and_snapshot() -> None:
    assert csv_filename("validators", 3, 0, 12) == "validators_sn3_m0_snap12.csv"
    assert csv_filename("weights", 3, 1, 12, miner=7) == "weights_sn3_m1_snap12_miner7.csv"
