"""`python -m analytics split`: output and exit codes (in-process, plus one real subprocess)."""

from __future__ import annotations

import json

import pytest

from analytics.cli import main
from tests.conftest import run_cli


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["split", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def rows(out: str) -> dict[str, list[str]]:
    """The mechanism table's rows keyed by their first cell."""
    table: dict[str, list[str]] = {}
    for line in out.splitlines():
        cells = line.split()
        if cells and (cells[0].isdigit() or cells[0] == "all") and len(cells) == 7:
            table[cells[0]] = cells
    return table


def test_worked_example_text(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "--split", "39321,19660,6554", "--emission", "100")
    assert code == 0 and err == ""
    table = rows(out)
    #             mech  u16      share     owner    miners   validators total
    assert table["0"] == ["0", "39321", "60.00%", "10.80", "24.60", "24.60", "60.00"]
    assert table["1"] == ["1", "19660", "30.00%", "5.40", "12.30", "12.30", "30.00"]
    assert table["2"] == ["2", "6554", "10.00%", "1.80", "4.10", "4.10", "10.00"]
    assert table["all"] == ["all", "65535", "100.00%", "18.00", "41.00", "41.00", "100.00"]
    assert "owner cut 18.00 α (11796/65535)" in out


def test_two_mechanism_example_and_percent_input_agree(capsys: pytest.CaptureFixture[str]) -> None:
    _, by_u16, _ = run(capsys, "--split", "13107,52428")
    _, by_percent, _ = run(capsys, "--percent", "20,80")
    assert by_u16 == by_percent
    assert rows(by_u16)["0"][1:3] == ["13107", "20.00%"]
    assert rows(by_u16)["1"][1:3] == ["52428", "80.00%"]


def test_json_has_exact_rao(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--split", "39321,19660,6554", "--emission", "100", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["split"] == [39321, 19660, 6554]
    assert data["emission_rao"] == 100 * 10**9
    assert data["owner_rao"] == 17_999_542_225
    mechs = data["mechanisms"]
    assert [m["emission_rao"] for m in mechs] == [49_200_274_666, 24_599_511_709, 8_200_671_400]
    assert sum(m["total_rao"] for m in mechs) == 100 * 10**9
    assert [round(m["miners_rao"] / 1e9, 1) for m in mechs] == [24.6, 12.3, 4.1]
    assert [m["u16"] for m in mechs] == [39321, 19660, 6554]


def test_even_split_and_parameters(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "--mechanisms", "4", "--emission", "0.00000001", "--owner-cut", "0", "--json"
    )  # 10 rao over 4 mechanisms: [4, 2, 2, 2] (V14)
    assert code == 0
    data = json.loads(out)
    assert data["split"] is None
    assert [m["emission_rao"] for m in data["mechanisms"]] == [4, 2, 2, 2]
    assert [m["u16"] for m in data["mechanisms"]] == [None] * 4
    code, out, _ = run(capsys, "--split", "65535", "--miner-fraction", "1/4", "--owner-cut", "0", "--json")
    assert json.loads(out)["mechanisms"][0]["miners_rao"] == 25 * 10**9


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--split", "39321,19660,6553"],
            "sum to 65534, must be exactly 65535 (off by -1); nearest valid split: ",
        ),
        (["--split", "60,30,10"], "nearest valid split: 39321,19660,6554"),
        (["--split", "1,2,65532", "--mechanisms", "2"], "3 values for 2 mechanisms"),
        (["--split", "70000"], "outside the u16 range"),
        (["--split", "a,b"], "not a whole number"),
        (["--percent", "0,0"], "all values are zero"),
        (["--percent", "50,-50"], "negative"),
        (["--emission", "-1"], "non-negative"),
        (["--emission", "1e-12"], "9 decimals"),
        (["--mechanisms", "0"], "--mechanisms"),
        (["--owner-cut", "70000"], "--owner-cut"),
        (["--miner-fraction", "2"], "between 0 and 1"),
        (["--miner-fraction", "x"], "not a number"),
        (["--snapshot", "3"], "--snapshot needs --netuid"),
    ],
)
def test_bad_input_is_one_clear_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], argv, message: str
) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("error: ")
    assert message in err


def test_split_and_percent_are_exclusive(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["split", "--split", "65535", "--percent", "100"]) == 2
    assert "not allowed with" in capsys.readouterr().err  # one `error:` line, not the usage block


def test_real_process_exit_codes() -> None:
    ok = run_cli("split", "--percent", "60,30,10", timeout=60)
    assert ok.returncode == 0, ok.stderr
    assert "39321,19660,6554" in ok.stdout
    bad = run_cli("split", "--split", "1,2", timeout=60)
    assert bad.returncode == 2
    assert bad.stdout == ""
    assert bad.stderr.strip().splitlines() == [bad.stderr.strip()]
    assert "nearest valid split" in bad.stderr
