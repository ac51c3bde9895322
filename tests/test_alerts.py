"""The watchlist over the demo database: rules, episodes, bad config, and the database upgrade."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from analytics import ss58
from analytics.alerts import config, rules
from analytics.alerts.evaluate import Evaluation, plan
from analytics.cli import main
from analytics.data import store
from analytics.views import export
from tests.test_collector_cli import one_error_line
from tests.test_store import tiny_snapshot

ALICE = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"  # Substrate's well-known dev account


@pytest.fixture(scope="module")
def demo_validators(demo_db: Path) -> pd.DataFrame:
    """Subnet 1's validators in the newest demo snapshot (severity, reason...)."""
    sid = store.latest_snapshot_id(demo_db)
    return export.validators_table(str(demo_db), sid, 1, 0)


def write(tmp_path: Path, text: str, name: str = "alerts.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def dry_run(capsys: pytest.CaptureFixture[str], db: Path, cfg: Path) -> list[dict]:
    code = main(["alerts", "--db", str(db), "--config", str(cfg), "--dry-run", "--json"])
    out = capsys.readouterr().out
    assert code == 0
    return json.loads(out)


def test_a_mistyped_or_foreign_key_is_refused_with_the_reason(tmp_path: Path) -> None:
    typo = ALICE[:-1] + ("Z" if ALICE[-1] != "Z" else "Y")
    polkadot = ss58.encode(ss58.decode(ALICE), prefix=0)  # the same account in Polkadot's format
    for key, why in [(typo, "checksum"), (ALICE[:-1] + "0", "base58"), (polkadot, "prefix")]:
        cfg = write(tmp_path, f'[[watch]]\nhotkey = "{key}"\nrules = ["deregistered"]\n')
        with pytest.raises(config.ConfigError, match=f"line 2: hotkey .* not a valid SS58 address: .*{why}"):
            config.load(cfg)


def test_an_out_of_consensus_demo_validator_is_reported_with_its_reason(
    demo_db: Path, demo_validators: pd.DataFrame, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = demo_validators[demo_validators["severity"].isin(export.OUT_OF_CONSENSUS)].iloc[0]
    cfg = write(tmp_path, f'[[watch]]\nhotkey = "{out.hotkey}"\nrules = ["out_of_consensus"]\n')
    alerts = dry_run(capsys, demo_db, cfg)
    assert len(alerts) == 1
    alert = alerts[0]
    assert {"rule", "hotkey", "netuid", "snapshot_id", "message"} <= set(alert)
    assert (alert["rule"], alert["hotkey"], alert["netuid"]) == ("out_of_consensus", out.hotkey, 1)
    assert alert["snapshot_id"] == store.latest_snapshot_id(demo_db)
    assert out.reason in alert["message"] and alert["reason"] == out.reason
    assert out.severity in alert["message"]


def test_a_healthy_demo_validator_produces_no_alert(
    demo_db: Path, demo_validators: pd.DataFrame, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    healthy = demo_validators[(demo_validators["severity"] == "ok") & ~demo_validators["likely_copier"]]
    hotkey = healthy.iloc[0]["hotkey"]
    rules_text = (
        '["out_of_consensus", "tv_below:0.5", "stale_weights:5000", "copier", "deregistered", "uid_changed"]'
    )
    cfg = write(tmp_path, f'[[watch]]\nhotkey = "{hotkey}"\nrules = {rules_text}\n')
    assert dry_run(capsys, demo_db, cfg) == []


def test_thresholds_and_subnet_rules_follow_the_stored_values(
    demo_db: Path, demo_validators: pd.DataFrame, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sid = store.latest_snapshot_id(demo_db)
    row = demo_validators[demo_validators["severity"] == "ok"].iloc[0]
    tv = float(row["validator_trust_stored"])
    subnet_tv = float(export.subnets_table(str(demo_db), sid).set_index("netuid").at[1, "stake_weighted_tv"])
    cfg = write(
        tmp_path,
        f'[[watch]]\nhotkey = "{row.hotkey}"\nrules = ["tv_below:{min(tv + 0.001, 1):.4f}", "tv_below:{tv - 0.001:.4f}"]\n'
        f'[[watch]]\nnetuid = 1\nrules = ["subnet_tv_below:{subnet_tv + 0.0001:.5f}", "subnet_tv_below:{subnet_tv - 0.0001:.5f}"]\n',
    )
    alerts = dry_run(capsys, demo_db, cfg)
    assert [(a["rule"].split(":")[0], a["netuid"]) for a in alerts] == [
        ("tv_below", 1),
        ("subnet_tv_below", 1),
    ]
    assert alerts[0]["details"]["validator_trust"] == pytest.approx(tv, abs=1e-6)
    assert alerts[1]["hotkey"] is None and alerts[1]["details"]["stake_weighted_tv"] == pytest.approx(
        subnet_tv, abs=1e-6
    )


def test_deregistered_and_uid_changed_compare_with_the_previous_snapshot(
    demo_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sid = store.latest_snapshot_id(demo_db)
    prev = store.previous_snapshot_id(demo_db, sid)
    assert prev is not None
    now, before = store.snapshot_neurons(demo_db, sid), store.snapshot_neurons(demo_db, prev)
    pairs = before.merge(now, on=["netuid", "hotkey"], how="left", suffixes=("_b", "_n"))
    gone = pairs[pairs["uid_n"].isna()].iloc[0]  # the demo recycles weak miners every week
    cfg = write(tmp_path, f'[[watch]]\nhotkey = "{gone.hotkey}"\nrules = ["deregistered", "uid_changed"]\n')
    alerts = dry_run(capsys, demo_db, cfg)
    assert [(a["rule"], a["netuid"]) for a in alerts] == [("deregistered", int(gone.netuid))]
    assert f"uid {int(gone.uid_b)}" in alerts[0]["message"]


def test_a_coldkey_watch_covers_every_hotkey_it_owns(
    demo_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sid = store.latest_snapshot_id(demo_db)
    now = store.snapshot_neurons(demo_db, sid)
    validators = now[now["validator_permit"]]
    coldkey = validators["coldkey"].value_counts().index[0]  # demo operators share coldkeys
    owned = validators[validators["coldkey"] == coldkey]
    assert len(owned) > 1
    cfg = write(tmp_path, f'[[watch]]\ncoldkey = "{coldkey}"\nrules = ["tv_below:1"]\n')
    alerts = dry_run(capsys, demo_db, cfg)
    below = owned[owned["validator_trust"] < 65535]
    assert sorted((a["netuid"], a["hotkey"]) for a in alerts) == sorted(
        zip(below["netuid"], below["hotkey"], strict=True)
    )


def finding(rule: str, key: str, event: bool = False) -> rules.Finding:
    return rules.Finding(rule, 1, key, key, f"{rule} {key}", event)


def remembered(rows: list[tuple[int, str, str, bool]]) -> pd.DataFrame:
    return pd.DataFrame(
        [{"alert_id": a, "rule": r, "netuid": 1, "key": k, "event": e} for a, r, k, e in rows],
        columns=["alert_id", "rule", "netuid", "key", "event"],
    )


def test_a_state_alert_fires_once_per_episode() -> None:
    out = finding("out_of_consensus", "A")
    looked_at = {("out_of_consensus", 1, "A")}
    first = plan(Evaluation(5, [out], looked_at), remembered([]), remembered([]))
    assert first.new == [out] and first.resolve == []  # already out on the first run: reported
    still = plan(
        Evaluation(6, [out], looked_at), remembered([(1, "out_of_consensus", "A", False)]), remembered([])
    )
    assert still.new == [] and still.resolve == []  # the open alert prevents a repeat
    back = plan(
        Evaluation(7, [], looked_at), remembered([(1, "out_of_consensus", "A", False)]), remembered([])
    )
    assert back.new == [] and back.resolve == [1]  # the episode is over
    again = plan(Evaluation(8, [out], looked_at), remembered([]), remembered([]))
    assert again.new == [out]  # a new episode alerts again
    unwatched = plan(
        Evaluation(7, [], set()), remembered([(1, "out_of_consensus", "A", False)]), remembered([])
    )
    assert unwatched.resolve == []  # not looked at (watch removed): the episode is left as it was


def test_an_event_fires_once_per_snapshot() -> None:
    gone = finding("deregistered", "A", event=True)
    assert plan(Evaluation(5, [gone], set()), remembered([]), remembered([])).new == [gone]
    assert (
        plan(Evaluation(5, [gone], set()), remembered([]), remembered([(3, "deregistered", "A", True)])).new
        == []
    )


@pytest.mark.parametrize(
    ("body", "line", "words"),
    [
        (
            '[[watch]]\nhotkey = "{hk}"\nrules = [\n  "out_of_consensus",\n  "tv_bellow:0.8",\n]\n',
            5,
            "unknown rule 'tv_bellow:0.8'",
        ),
        ('\n[[watch]]\nhotkey = "{bad}"\nrules = ["deregistered"]\n', 3, "not a valid SS58 address"),
        ('[[watch]]\nhotkey = "{hk}"\nrules = ["tv_below:1.5"]\n', 3, "threshold out of range"),
        ('[[watch]]\nhotkey = "{hk}"\nrules = ["stale_weights:0"]\n', 3, "threshold out of range"),
        ('[[watch]]\nhotkey = "{hk}"\nrules = ["stale_weights:soon"]\n', 3, "whole number of blocks"),
        ('[[watch]]\nhotkey = "{hk}"\nrules = ["out_of_consensus:2"]\n', 3, "takes no threshold"),
        ('[[watch]]\nhotkey = "{hk}"\nrules = ["return_drop:150%"]\n', 3, "threshold out of range"),
        ('[[watch]]\nnetuid = 70000\nrules = ["deregistered"]\n', 2, "netuid must be"),
        ('[[watch]]\nhotky = "{hk}"\nrules = ["deregistered"]\n', 2, "unknown key 'hotky'"),
        ('[[watch]]\nrules = ["deregistered"]\n', 1, "needs hotkey"),
        (
            '[[watch]]\nhotkey = "{hk}"\nrules = ["deregistered"]\n\n[[notify]]\nurl = "nosuch://tok3nSECRET@host/x"\n',
            6,
            "Apprise cannot parse",
        ),
        ('[[watch]]\nhotkey = "{hk}"\nrules = ["deregistered" "uid_changed"]\n\n', 3, "not valid TOML"),
        ('[[watch]]\nhotkey = "{hk}"\nrules = ["deregistered"\n', 3, "not valid TOML"),
    ],
)
def test_a_bad_watchlist_is_one_error_line_naming_the_line(
    demo_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], body: str, line: int, words: str
) -> None:
    cfg = write(tmp_path, body.format(hk=ALICE, bad=ALICE[:-1] + "x"))
    assert main(["alerts", "--db", str(demo_db), "--config", str(cfg), "--dry-run"]) == 2
    captured = capsys.readouterr()
    err = one_error_line(captured.err)
    assert f"{cfg} line {line}:" in err and words in err, err
    assert captured.out == ""
    assert "tok3nSECRET" not in captured.err


def test_the_demo_keys_are_real_ss58_addresses(demo_db: Path) -> None:
    keys = store.snapshot_neurons(demo_db, store.latest_snapshot_id(demo_db))
    assert all(ss58.is_valid(k) for k in [*keys["hotkey"], *keys["coldkey"]])  # watchable as on the chain


def test_an_older_database_upgrades_in_place_to_remember_alerts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = tmp_path / "v1.duckdb"
    meta = {"network": "test", "block": 1000, "taken_at": pd.Timestamp("2026-01-01"), "source": "chain"}
    with monkeypatch.context() as m:  # a database written by the code before migration 4
        m.setattr(store, "MIGRATIONS", store.MIGRATIONS[:1])
        m.setattr(store, "SCHEMA_VERSION", 1)
        assert store.ingest_snapshot(old, store.SnapshotData(meta=meta)) == 1
        assert store.schema_version(old) == 1
    assert store.open_alerts(old).empty  # readable before the upgrade: nothing remembered yet
    assert store.alert_history(old).empty
    before = store.table_contents(old, "snapshots")
    ids = store.record_alerts(
        old, 1, [{"rule": "deregistered", "key": "5Hot0", "netuid": 1, "hotkey": "5Hot0", "event": True,
                  "message": "m", "details": {}}], ["dest"], []
    )  # fmt: skip
    assert store.schema_version(old) == store.SCHEMA_VERSION >= 4  # alerts are migration 4; later ones too
    pd.testing.assert_frame_equal(store.table_contents(old, "snapshots"), before)
    assert store.pending_deliveries(old, ["dest"])["alert_id"].tolist() == ids
    assert store.table_contents(old, "alerts")["resolved_snapshot_id"].tolist() == [1]  # an event: closed


def test_the_readme_example_is_a_valid_watchlist(tmp_path: Path) -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    example = readme.split("## Alerts: a watchlist", 1)[1].split("```toml\n", 1)[1].split("```", 1)[0]
    parsed = config.load(write(tmp_path, example))
    assert [w.hotkey or w.coldkey or w.netuid for w in parsed.watches][2] == 1
    assert {r.spec.name for w in parsed.watches for r in w.rules} == set(rules.RULES)  # every rule shown
    assert [d.scheme for d in parsed.destinations] == ["json"]


def test_return_drop_follows_the_returns_model_between_two_snapshots(demo_db: Path) -> None:
    from analytics.alerts.evaluate import findings, load_frames
    from analytics.views.returns import returns_table

    def drops(sid: int) -> pd.Series:
        prev = store.previous_snapshot_id(demo_db, sid)
        now, before = returns_table(demo_db, sid, netuids=[1]), returns_table(demo_db, prev, netuids=[1])
        both = now.merge(before, on=["netuid", "hotkey"], suffixes=("", "_before"))
        base = both["return_tao_per_1000_per_day_before"]
        return (
            ((base - both["return_tao_per_1000_per_day"]) / base * 100)
            .where(base > 0)
            .set_axis(both["hotkey"])
        )

    snapshots = [int(s) for s in store.list_snapshots(demo_db)["snapshot_id"]][:-1]
    sid, dropped = next((s, d) for s in snapshots if ((d := drops(s)) > 5).any())  # a week whose returns fell
    watch = config.Watchlist(
        Path("x.toml"), (config.Watch(None, None, 1, (rules.parse_rule("return_drop:5%"),)),), ()
    )
    found = findings(watch, load_frames(demo_db, watch, sid)).findings
    assert sorted(f.hotkey for f in found) == sorted(dropped[dropped > 5].index)
    first = found[0]
    assert first.rule == "return_drop:5%" and first.event
    assert first.details["drop_percent"] == pytest.approx(dropped[first.hotkey], abs=1e-3)


def test_take_raised_compares_the_delegate_take_with_the_previous_snapshot() -> None:
    empty = pd.DataFrame(
        columns=["netuid", "uid", "hotkey", "coldkey", "validator_permit", "validator_trust"]
    )

    def returns(takes: list[float]) -> pd.DataFrame:
        return pd.DataFrame(
            {"netuid": 1, "hotkey": ["A", "B", "C"], "uid": [0, 1, 2], "delegate_take": takes,
             "return_tao_per_1000_per_day": [1.0, 1.0, 1.0]}
        )  # fmt: skip

    frames = rules.Frames(
        2, 1, empty, empty, empty, pd.DataFrame(), returns([0.18, 0.09, 0.05]), returns([0.09, 0.09, 0.10])
    )
    targets = pd.DataFrame({"netuid": [1, 1, 1], "hotkey": ["A", "B", "C"]})
    found = rules.evaluate(rules.parse_rule("take_raised"), frames, targets)
    assert [(f.hotkey, f.details["delegate_take_before"], f.details["delegate_take"]) for f in found] == [
        ("A", 0.09, 0.18)
    ]
    assert "from 9.00% to 18.00%" in found[0].message
    no_previous = rules.Frames(
        2, None, empty, empty, empty, pd.DataFrame(), returns([0.18] * 3), pd.DataFrame()
    )
    assert rules.evaluate(rules.parse_rule("take_raised"), no_previous, targets) == []


def test_remembered_episodes_close_and_deliveries_count_attempts(tmp_path: Path) -> None:
    db = tmp_path / "lens.duckdb"
    meta = {"network": "test", "block": 1000, "taken_at": pd.Timestamp("2026-01-01"), "source": "chain"}
    assert store.ingest_snapshot(db, store.SnapshotData(meta=meta)) == 1
    state = {"rule": "tv_below:0.8", "key": "K", "netuid": 1, "hotkey": "K", "event": False, "message": "m"}
    [alert_id] = store.record_alerts(db, 1, [state], ["d1", "d2"], [])
    assert store.open_alerts(db)["alert_id"].tolist() == [alert_id]
    store.record_delivery(db, alert_id, "d1", ok=False, error="refused")
    store.record_delivery(db, alert_id, "d1", ok=True)
    assert store.pending_deliveries(db, ["d1", "d2"])["destination"].tolist() == ["d2"]
    [row] = store.alert_history(db, ["K"]).to_dict("records")
    assert (row["destinations"], row["delivered"], row["attempts"]) == (2, 1, 2)
    store.record_alerts(db, 2, [], ["d1"], [alert_id])
    assert store.open_alerts(db).empty
    assert store.table_contents(db, "alerts")["resolved_snapshot_id"].tolist() == [2]


def test_a_run_upgrades_an_older_database_before_reading_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "old.duckdb"
    with monkeypatch.context() as m:  # two snapshots written by the code of schema version 1
        m.setattr(store, "MIGRATIONS", store.MIGRATIONS[:1])
        m.setattr(store, "SCHEMA_VERSION", 1)
        for block in (1000, 2000):
            assert store.ingest_snapshot(db, tiny_snapshot(block)) is not None
    cfg = write(tmp_path, '[[watch]]\nnetuid = 1\nrules = ["take_raised", "return_drop:10%", "tv_below:1"]\n')
    assert main(["alerts", "--db", str(db), "--config", str(cfg), "--dry-run", "--json"]) == 0  # read-only
    captured = capsys.readouterr()
    assert [a["rule"] for a in json.loads(captured.out)] == ["tv_below:1"]  # the rules it can check
    assert "return_drop and take_raised skipped: no returns in this database" in captured.err
    assert store.schema_version(db) == 1
    assert main(["alerts", "--db", str(db), "--config", str(cfg), "--json"]) == 0
    assert [a["rule"] for a in json.loads(capsys.readouterr().out)] == ["tv_below:1"]
    assert store.schema_version(db) == store.SCHEMA_VERSION


def test_the_watched_neurons_are_the_snapshots_rows_any_watch_covers(demo_db: Path) -> None:
    sid = store.latest_snapshot_id(demo_db)
    assert sid is not None
    every = store.snapshot_neurons(demo_db, sid)
    hotkey, coldkey = str(every["hotkey"].iloc[3]), str(every[every["netuid"] == 2]["coldkey"].iloc[0])
    some = store.snapshot_neurons_of(demo_db, sid, hotkeys=[hotkey], coldkeys=[coldkey], netuids=[1])
    keep = (every["hotkey"] == hotkey) | (every["coldkey"] == coldkey) | (every["netuid"] == 1)
    assert 0 < len(some) < len(every)
    pd.testing.assert_frame_equal(some, every[keep].reset_index(drop=True))
    assert store.snapshot_neurons_of(demo_db, sid).empty  # nothing watched: nothing read
