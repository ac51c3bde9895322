"""The export tables (what the pages show) and `python -m analytics export` on the demo database."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analytics.cli import main as cli_main
from analytics.data import store
from analytics.views import export


def latest(db: Path) -> int:
    sid = store.latest_snapshot_id(db)
    assert sid is not None
    return sid


def test_neurons_table_is_the_stored_rows(demo_db: Path) -> None:
    table = export.neurons_table(str(demo_db), latest(demo_db), 1, 0)
    stored = store.neurons(demo_db, latest(demo_db), 1)
    assert list(table["hotkey"]) == list(stored["hotkey"])
    assert (table["validator_trust_u16"].to_numpy() == stored["validator_trust"].to_numpy()).all()
    assert (table["alpha_stake_rao"].to_numpy() == stored["alpha_stake"].to_numpy().astype(np.int64)).all()


def test_weights_split_into_kept_and_clipped_at_consensus(demo_db: Path) -> None:
    table = export.weights_table(str(demo_db), latest(demo_db), 1, 0)
    counted = table[table["row_counted"]]
    assert len(counted) and counted["weight"].gt(0).any()
    np.testing.assert_allclose(counted["kept"] + counted["clipped"], counted["weight"], atol=1e-9)
    assert (counted["kept"] <= counted["consensus"] + 1e-9).all()
    # each counted row is normalised: its weights sum to 1 (or 0 for a row with nothing left)
    sums = counted.groupby("validator_uid")["weight"].sum()
    assert np.all(np.isclose(sums, 1.0, atol=1e-6) | np.isclose(sums, 0.0))
    # rows are every setter x every uid
    n = int(store.subnets(demo_db, latest(demo_db)).set_index("netuid").loc[1, "n"])
    assert len(table) == table["validator_uid"].nunique() * n


def test_weights_filters_keep_one_column_or_one_row(demo_db: Path) -> None:
    full = export.weights_table(str(demo_db), latest(demo_db), 2, 0)
    miner = export.weights_table(str(demo_db), latest(demo_db), 2, 0, miner=9)
    assert miner.reset_index(drop=True).equals(full[full["miner_uid"] == 9].reset_index(drop=True))
    uid = int(full["validator_uid"].iloc[0])
    row = export.weights_table(str(demo_db), latest(demo_db), 2, 0, validator=uid)
    assert row.reset_index(drop=True).equals(full[full["validator_uid"] == uid].reset_index(drop=True))


def test_consensus_table_recomputes_the_chain_on_the_demo(demo_db: Path) -> None:
    table = export.consensus_table(str(demo_db), latest(demo_db), 1, 0)
    assert table["recomputed_equals_chain"].all()
    assert table["incentive"].sum() == pytest.approx(1.0, abs=1e-3)


def test_two_mechanisms_have_their_own_tables(demo_db: Path) -> None:
    m0 = export.consensus_table(str(demo_db), latest(demo_db), 4, 0)
    m1 = export.consensus_table(str(demo_db), latest(demo_db), 4, 1)
    assert not np.allclose(m0["incentive"], m1["incentive"])
    assert m0["recomputed_equals_chain"].all() and m1["recomputed_equals_chain"].all()


def test_validators_table_agrees_with_the_stored_trust(demo_db: Path) -> None:
    table = export.validators_table(str(demo_db), latest(demo_db), 2, 0)
    assert tuple(table.columns) == export.VALIDATOR_COLUMNS
    assert table["tv_matches_chain"].all()
    assert set(table["severity"]) <= set(export.SEVERITY_ORDER)


def test_validators_figure_draws_each_validator_once_by_health_with_escaped_hotkeys(demo_db: Path) -> None:
    """The Validators page's chart: one trace per health level present, worst first, in the health
    colours; every validator once, at its Tv and stake (log x); hotkeys escaped for Plotly's hover."""
    table = export.validators_table(str(demo_db), latest(demo_db), 2, 0)
    table = table.assign(hotkey=["<b>" + h for h in table["hotkey"]])  # markup must stay text
    fig = export.validators_figure(table)
    levels = [t.name for t in fig.data]
    assert levels == [lv for lv in export.SEVERITY_ORDER if lv in set(table["severity"])]
    assert sum(len(t.x) for t in fig.data) == len(table)
    assert fig.layout.xaxis.type == "log"
    for trace in fig.data:
        rows = table[table["severity"] == trace.name]
        assert trace.y.tolist() == rows["validator_trust"].tolist()
        assert [c[1] for c in trace.customdata] == ["&lt;b&gt;" + h[3:] for h in rows["hotkey"]]


def test_subnets_and_history_tables(demo_db: Path) -> None:
    subnets = export.subnets_table(str(demo_db), latest(demo_db))
    bands = [f"tv_{b}" for b, _, _ in export.TV_BANDS]
    assert (subnets[bands].sum(axis=1) == subnets["validators"]).all()
    assert (subnets["tv_critical"] + subnets["tv_major"] == subnets["out_of_consensus"]).all()
    summary, tv_rows = export.history_tables(str(demo_db), 1, "demo")
    assert len(summary) == len(store.list_snapshots(demo_db))
    assert summary["taken_at"].is_monotonic_increasing
    assert (summary[bands].sum(axis=1) == summary["validators"]).all()
    assert tv_rows["validator_trust"].between(0, 1).all()


# --------------------------------------------------------------------------------------------------
# The CLI


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli_main(["export", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_writes_the_csv_writer_bytes(
    demo_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "v.csv"
    code, _, err = run_cli(
        capsys, "--db", str(demo_db), "--table", "validators", "--netuid", "3", "--out", str(out)
    )
    assert code == 0 and "rows" in err
    expected = export.csv_bytes(export.validators_table(str(demo_db), latest(demo_db), 3, 0))
    assert out.read_bytes() == expected
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "no temporary file left behind"


def test_cli_defaults_to_the_newest_snapshot_and_takes_an_older_one(
    demo_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    oldest = int(store.list_snapshots(demo_db).iloc[-1]["snapshot_id"])
    args = ["--db", str(demo_db), "--table", "neurons", "--netuid", "1"]
    run_cli(capsys, *args, "--out", str(tmp_path / "new.csv"))
    run_cli(capsys, *args, "--snapshot", str(oldest), "--out", str(tmp_path / "old.csv"))
    assert (tmp_path / "new.csv").read_bytes() != (tmp_path / "old.csv").read_bytes()
    old = export.csv_bytes(export.neurons_table(str(demo_db), oldest, 1, 0))
    assert (tmp_path / "old.csv").read_bytes() == old


def test_cli_validator_by_hotkey_equals_by_uid(
    demo_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    neurons = store.neurons(demo_db, latest(demo_db), 1)
    uid = int(neurons[neurons["validator_permit"]].iloc[0]["uid"])
    hotkey = str(neurons.set_index("uid").loc[uid, "hotkey"])
    base = ["--db", str(demo_db), "--table", "weights", "--netuid", "1"]
    run_cli(capsys, *base, "--validator", hotkey, "--out", str(tmp_path / "hk.csv"))
    run_cli(capsys, *base, "--validator", str(uid), "--out", str(tmp_path / "uid.csv"))
    data = (tmp_path / "hk.csv").read_bytes()
    assert data == (tmp_path / "uid.csv").read_bytes()
    assert {line.split(",")[0] for line in data.decode().splitlines()[1:]} == {str(uid)}


def test_cli_stdout(demo_db: Path, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    assert (
        cli_main(["export", "--db", str(demo_db), "--table", "consensus", "--netuid", "5", "--out", "-"]) == 0
    )
    out = capsysbinary.readouterr().out
    assert out == export.csv_bytes(export.consensus_table(str(demo_db), latest(demo_db), 5, 0))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--netuid", "99"], "subnet 99 is not in snapshot"),
        ([], "--netuid is required"),
        (["--netuid", "1", "--snapshot", "9999"], "no snapshot 9999"),
        (["--netuid", "1", "--mechid", "3"], "no mechanism 3"),
        (["--netuid", "1", "--table", "neurons", "--miner", "3"], "--table weights only"),
        (["--netuid", "1", "--table", "weights", "--validator", "5NotAHotkey"], "not registered"),
        (["--netuid", "1", "--out", "/nonexistent-dir/x.csv"], "does not exist"),
    ],
)
def test_cli_user_errors_are_one_line_with_exit_2(
    demo_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    argv = ["--db", str(demo_db), "--table", "validators", "--out", str(tmp_path / "x.csv")]
    if "--table" in args:
        i = argv.index("--table")
        del argv[i : i + 2]
    if "--out" in args:
        i = argv.index("--out")
        del argv[i : i + 2]
    code, _, err = run_cli(capsys, *argv, *args)
    assert code == 2
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "x.csv").exists()


def test_cli_missing_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(
        capsys, "--db", str(tmp_path / "none.duckdb"), "--table", "neurons", "--netuid", "1", "--out", "-"
    )
    assert code == 2 and "does not exist" in err
    assert not (tmp_path / "none.duckdb").exists(), "a reader never creates a database"


def test_cli_subnets_needs_no_subnet(demo_db: Path, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    assert cli_main(["export", "--db", str(demo_db), "--table", "subnets", "--out", "-"]) == 0
    out = capsysbinary.readouterr().out
    assert out == export.csv_bytes(export.subnets_table(str(demo_db), latest(demo_db)))
    assert out.decode().splitlines()[0].startswith("netuid,name,validators,out_of_consensus")


def test_history_from_the_summary_table_equals_the_figures_from_every_neuron(demo_db: Path) -> None:
    """The History summary read from `subnet_summary` + permit holders equals the figures computed
    from every neuron row of the subnet (the reference below), for every demo subnet."""
    for netuid in (1, 2, 3):
        summary, tv_rows = export.history_tables(str(demo_db), netuid, "demo")
        hist = store.subnet_history(demo_db, netuid, "demo")
        c = hist["consensus"].astype(np.float64)
        share = c / c.groupby(hist["snapshot_id"]).transform("sum").replace(0, np.nan)
        top10 = share.groupby(hist["snapshot_id"]).apply(
            lambda s: s.sort_values(ascending=False).head(10).sum()
        )
        hhi = (share**2).groupby(hist["snapshot_id"]).sum()
        val = hist[hist["validator_permit"].astype(bool)]
        tv = val["validator_trust"].astype(np.float64) / export.U16_MAX
        stake = val["total_stake"].astype(np.float64)
        by = val["snapshot_id"]
        ref = pd.DataFrame(
            {
                "validators": by.value_counts().sort_index(),
                "tv_median": tv.groupby(by).median(),
                "tv_stake_weighted": (tv * stake).groupby(by).sum() / stake.groupby(by).sum(),
                "consensus_top10_share": top10,
                "effective_miners": 1.0 / hhi,
            }
        )
        got = summary.set_index("snapshot_id")
        assert list(got.index) == sorted(hist["snapshot_id"].unique())
        np.testing.assert_array_equal(got["validators"], ref["validators"])
        for column in ("tv_median", "tv_stake_weighted", "consensus_top10_share", "effective_miners"):
            np.testing.assert_allclose(got[column], ref[column], rtol=1e-12, err_msg=column)
        assert len(tv_rows) == len(val)
