"""Issue 12 item 1: overflowing, infinite, NaN and negative-zero numbers in scenarios, splits and lab inputs
give one clear error (CLI: one ``error:`` line, exit 2; page: a message), never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from analytics.cli import main
from analytics.cli.simulate import mechanism_inputs
from analytics.data.snapshot import load_subnet
from analytics.data.store import latest_snapshot_id
from analytics.model import emission
from analytics.model import simulate as sm
from tests.test_collector_cli import one_error_line

ROOT = Path(__file__).resolve().parent.parent
HOSTILE_FACTORS = ["1e300", "1e400", "1e19", "1e-320", "1e-30", "9" * 400]


@pytest.mark.parametrize("factor", HOSTILE_FACTORS)
@pytest.mark.parametrize("kind", ["stake:0*", "miner:3*", "weights:0=3:"])
def test_a_hostile_factor_is_a_scenario_error(kind: str, factor: str) -> None:
    with pytest.raises(sm.ScenarioError, match="factor|weight vector"):
        sm.parse_scenario(kind + factor)


@pytest.mark.parametrize(
    "token",
    ["consensus:" + "9" * 5000, "stake:1=" + "9" * 5000, "maxval=" + "9" * 5000, "copy:1=" + "9" * 99],
)
def test_a_huge_integer_is_a_short_scenario_error(token: str) -> None:
    """Python refuses int() of over 4300 digits with a ValueError: the grammar caps digits first."""
    with pytest.raises(sm.ScenarioError) as info:
        sm.parse_scenario(token)
    assert len(str(info.value)) < 200


def test_negative_zero_is_zero() -> None:
    assert sm.parse_scenario("kappa=-0").spec == "kappa=0"
    assert sm.parse_scenario("stake:1*0").spec == "stake:1*0"
    assert emission.parse_split("-0,65535", 2) == (0, 65535)


def test_a_scaled_stake_out_of_range_is_refused_when_validated(demo_db: Path) -> None:
    snap = load_subnet(demo_db, latest_snapshot_id(demo_db), 1)
    inputs = mechanism_inputs(snap, 0)
    uid = int(inputs.alpha_stake.argmax())
    with pytest.raises(sm.ScenarioError, match="exceeds"):
        sm.validate([sm.parse_scenario(f"stake:{uid}*1e18")], inputs)


@pytest.mark.parametrize("factor", ["1e300", "1e400", "1e18", "nan", "inf", "-0"])
def test_the_simulate_cli_gives_one_error_line(
    demo_db: Path, factor: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The issue's reproduction: `simulate --scenario stake:0*1e300` raised OverflowError (exit 1)."""
    args = ["simulate", "--db", str(demo_db), "--netuid", "1", "--epochs", "2", "--scenario"]
    assert main([*args, f"stake:0*{factor}"]) == 2
    one_error_line(capsys.readouterr().err)


@pytest.mark.parametrize(
    "text", ["1e400", "nan", "inf", "-inf", "1e400,1", "9" * 5000, "-0,-0", "1e-400,65535"]
)
def test_the_split_cli_gives_one_error_line(text: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["split", f"--split={text}"]) == 2
    one_error_line(capsys.readouterr().err)


@pytest.mark.parametrize("amount", ["1e400", "nan", "inf", "-0.0", "1e-400", "9" * 5000])
def test_the_split_cli_refuses_hostile_amounts(amount: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["split", "--percent", "50,50", f"--emission={amount}"])
    err = capsys.readouterr().err
    if amount == "-0.0":  # negative zero is zero alpha: a valid (empty) emission
        assert code == 0, err
    else:
        assert code == 2
        one_error_line(err)


def test_the_what_if_page_warns_instead_of_crashing(demo_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("METAGRAPH_LENS_DB", str(demo_db))
    at = AppTest.from_file(str(ROOT / "pages" / "7_What_if.py"), default_timeout=60)
    at.query_params["netuid"] = "1"
    at.query_params["epochs"] = "2"
    at.query_params["scenario"] = ["stake:0*1e300", "stake:1*1e17"]
    at.run()
    assert not at.exception
    shown = " ".join(e.value for e in at.error) + " ".join(w.value for w in at.warning)
    assert "stake:0*1e+300" in shown and "exceeds" in shown
