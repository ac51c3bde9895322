"""The money path end to end on real DuckDB files: schema 2 (and the upgrade of a version-1 file in
place), the demo's money, the returns tables, `check` to the rao and the `returns` CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from analytics import ss58
from analytics.cli import main
from analytics.data import demo, snapshot, store
from analytics.model import returns as model
from analytics.textsafe import is_safe, safe_text
from analytics.views import returns
from tests.test_store import tiny_snapshot

# -- schema 2 and the upgrade in place ----------------------------------------------------------


@pytest.fixture
def version1_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A database written by the code before the money path: schema version 1, one snapshot."""
    db = tmp_path / "lens.duckdb"
    with monkeypatch.context() as m:
        m.setattr(store, "MIGRATIONS", store.MIGRATIONS[:1])
        m.setattr(store, "SCHEMA_VERSION", 1)
        m.setattr(store, "TABLES", store.TABLES[:6])
        assert store.ingest_snapshot(db, tiny_snapshot(100)) == 1
        assert store.schema_version(db) == 1
    return db


def test_a_version_1_database_upgrades_in_place_keeping_its_data(version1_db: Path, tmp_path: Path) -> None:
    before = {t: store.table_contents(version1_db, t) for t in ("snapshots", "subnets", "neurons", "weights")}
    store.initialise(version1_db)  # what any write (collect, ingest) does first
    assert store.schema_version(version1_db) == store.SCHEMA_VERSION  # 2 (money), 3 (summary) and on
    for table, frame in before.items():
        after = store.table_contents(version1_db, table)
        pd.testing.assert_frame_equal(after[frame.columns], frame, check_dtype=False)
    # The old snapshot's money is unknown (NULL), not zero.
    sub = store.table_contents(version1_db, "subnets")
    assert sub["price_rao"].isna().all() and sub["epoch_emission_source"].isna().all()
    # Same columns as a database created at version 2.
    fresh = tmp_path / "fresh.duckdb"
    store.initialise(fresh)
    for table in store.TABLES:
        assert list(store.table_contents(version1_db, table).columns) == list(
            store.table_contents(fresh, table).columns
        ), table
    # New snapshots with money land next to the old one.
    assert store.ingest_snapshot(version1_db, tiny_snapshot(200)) == 2
    assert len(store.list_snapshots(version1_db)) == 2


def test_returns_on_a_version_1_database_say_how_to_upgrade(version1_db: Path, capsys) -> None:
    assert main(["returns", "--db", str(version1_db)]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert "schema version 1" in line and "upgrade it in place" in line


def test_an_upgraded_database_without_money_says_the_window_has_no_data(version1_db: Path, capsys) -> None:
    store.initialise(version1_db)
    table = returns.returns_table(version1_db)
    assert len(table) and (table["window_epochs"] == 0).all()
    assert table["return_tao_per_1000_per_day"].isna().all()
    assert main(["returns", "--db", str(version1_db)]) == 2
    assert "no recorded dividends" in one_error_line(capsys.readouterr().err)


# -- the demo's money ---------------------------------------------------------------------------------


def test_demo_keys_are_valid_ss58_and_takes_span_zero_to_the_maximum(demo_db: Path) -> None:
    last = store.latest_snapshot_id(demo_db)
    hot = store.money_hotkeys(demo_db, [last])
    assert all(ss58.is_valid(k) for k in hot["hotkey"]) and all(ss58.is_valid(k) for k in hot["coldkey"])
    owners = store.subnets(demo_db, last)
    assert all(ss58.is_valid(k) for k in owners["owner_hotkey"])
    for _, rows in hot[hot["validator_permit"]].groupby("netuid"):
        takes = set(rows["delegate_take"].astype(int))
        assert {0, demo.MAX_TAKE} <= takes and len(takes) >= 3
    assert hot["childkey_take"].astype(int).max() == demo.MAX_TAKE


def test_demo_pools_have_distinct_prices_and_one_hostile_identity(demo_db: Path) -> None:
    last = store.latest_snapshot_id(demo_db)
    money = store.money_subnets(demo_db, [last])
    assert money["price_rao"].nunique() == len(money) and (money["price_rao"] > 0).all()
    for row in money.itertuples():  # the spot price of the pool's reserves, in rao per alpha
        assert int(row.price_rao) == int(row.tao_reserve) * 10**9 // int(row.alpha_reserve)
    assert money["emission_share"].sum() == pytest.approx(1.0)
    names = store.money_hotkeys(demo_db, [last])["identity_name"].dropna()
    # Reads leave the store through analytics.textsafe: the bidi controls come back made visible.
    shown = safe_text(demo.HOSTILE_NAME)
    assert shown != demo.HOSTILE_NAME and is_safe(str(shown))
    assert (names == shown).sum() >= 1 and names.nunique() > 10
    con = duckdb.connect(str(demo_db), read_only=True)  # the file keeps the chain's raw string
    try:
        raw = con.execute(
            "SELECT count(*) FROM hotkeys WHERE identity_name = ?", [demo.HOSTILE_NAME]
        ).fetchone()
    finally:
        con.close()
    assert raw is not None and raw[0] >= 1


def test_demo_child_hotkeys_and_their_unregistered_parent(demo_db: Path) -> None:
    last = store.latest_snapshot_id(demo_db)
    edges = store.child_keys(demo_db, [last])
    assert set(edges["netuid"]) == {3} and len(edges) == 3
    hot = store.money_hotkeys(demo_db, [last], [3])
    outside = hot[hot["uid"].isna()]
    assert len(outside) == 1 and outside["alpha_dividends"].iloc[0] > 0  # it earns through its child
    table = returns.returns_table(demo_db, netuids=[3])
    parent_row = table[table["hotkey"] == outside["hotkey"].iloc[0]]
    assert len(parent_row) == 1 and pd.isna(parent_row["uid"].iloc[0]) and parent_row["children"].iloc[0] == 1


def test_demo_recorded_dividends_are_the_models_payout(demo_db: Path) -> None:
    """Recorded dividends are what analytics.model.returns pays (not copied from anywhere else):
    recomputing from the stored inputs reproduces every hotkey to the rao, and a changed take changes
    them, so the comparison can fail."""
    last = store.latest_snapshot_id(demo_db)
    sub = snapshot.load_subnet(demo_db, last, 3)
    result = sub.recompute()
    diff = snapshot.compare_payout(demo_db, sub, result)
    assert diff is not None and int(diff["mismatches"].sum()) == 0
    assert int(diff[diff["field"] == "alpha_dividends"]["compared"].iloc[0]) > 64
    args = snapshot.payout_inputs(demo_db, sub)
    recorded = args.pop("recorded")["alpha_dividends"]
    for key in ("hotkeys", "epoch_emission", "source"):
        args.pop(key)
    keys = args["keys"]
    args["keys"] = model.Keys(
        keys.alpha_stake, keys.root_stake, np.zeros_like(keys.delegate_take), keys.childkey_take, keys.owner
    )
    paid = model.distribute(np.arange(sub.n), result.server_emission, result.validator_emission, **args)
    changed = [k for k, v in recorded.items() if paid.alpha_nominators[k] != v]
    assert changed  # zero takes pay the nominators more than the stored (taken) amounts


# -- the tables ---------------------------------------------------------------------------------------


def test_returns_table_contract_and_order(demo_db: Path) -> None:
    table = returns.returns_table(demo_db)
    for column in returns.RETURNS_COLUMNS:
        assert column in table.columns
    assert len(table) and table["netuid"].nunique() == 8
    tao = table["return_tao_per_1000_per_day"].to_numpy()
    assert (np.diff(tao[~np.isnan(tao)]) <= 0).all()  # best first
    assert ((table["delegate_take"] >= 0) & (table["delegate_take"] <= 0.18 + 1e-9)).all()
    row = table.iloc[0]
    # The figure by hand: nominators' dividend / pool x epochs per day x 1000 TAO (price cancels in TAO).
    tempo = int(
        store.subnets(demo_db, int(row["snapshot_id"])).set_index("netuid").loc[row["netuid"], "tempo"]
    )
    expected = row["alpha_dividends_rao"] / row["stake_alpha_rao"] * 7200 / tempo * 1000
    assert row["return_tao_per_1000_per_day"] == pytest.approx(expected)
    assert row["return_alpha_per_1000_per_day"] == pytest.approx(expected / row["alpha_price_tao"])


def test_a_window_averages_the_snapshots_in_it(demo_db: Path) -> None:
    one = returns.returns_table(demo_db, netuids=[1]).set_index("hotkey")
    month = returns.returns_table(demo_db, netuids=[1], window_days=30).set_index("hotkey")
    assert (one["window_epochs"] == 1).all() and month["window_epochs"].max() == 5  # weekly snapshots
    hotkey = month[month["window_epochs"] == 5].index[0]
    history = returns.returns_history(demo_db, 1, hotkey).tail(5)
    rate = (history["return_tao_per_1000_per_day"]).mean()
    assert month.loc[hotkey, "return_tao_per_1000_per_day"] == pytest.approx(rate, rel=1e-9)


def test_returns_history_follows_one_hotkey(demo_db: Path) -> None:
    table = returns.returns_table(demo_db, netuids=[2])
    hotkey = table["hotkey"].iloc[0]
    history = returns.returns_history(demo_db, 2, hotkey)
    assert list(history.columns) == list(returns.HISTORY_COLUMNS)
    assert len(history) == demo.WEEKS and history["taken_at"].is_monotonic_increasing
    assert history["return_tao_per_1000_per_day"].iloc[-1] == pytest.approx(
        table["return_tao_per_1000_per_day"].iloc[0]
    )
    assert returns.returns_history(demo_db, 2, ss58.derive("nobody")).empty


@pytest.fixture(scope="module")
def unregistered_parents(demo_db: Path) -> pd.DataFrame:
    """The demo's hotkeys rows of parents not registered on the subnet (uid NULL): read once per module."""
    return store.table_contents(demo_db, "hotkeys").query("uid.isna()")


@pytest.mark.parametrize("netuid", [spec.netuid for spec in demo.SUBNETS])  # a share per worker
def test_the_narrow_return_read_gives_the_full_money_reads_history(
    demo_db: Path, monkeypatch: pytest.MonkeyPatch, netuid: int, unregistered_parents: pd.DataFrame
) -> None:
    """store.hotkey_return_history (five columns, one pass: what keeps Validator detail fast at years of
    snapshots) yields the same history as the full money reads, for every registered validator of the
    subnet, its parents that are not registered (uid NULL) and a hotkey never seen. Read as the app
    reads: cursors on the store's shared connection (the autouse fixture turns it off after).

    The full side is the subnet's whole money read (money_hotkeys validators-only and money_subnets of
    every snapshot, one read each), cut per hotkey: the rows hotkey_money_history reads key by key
    (about 350 reads of `neurons` and `hotkeys`, most of this test's CPU), the same history per key."""
    store.keep_reader_open(True)
    latest = store.latest_snapshot_id(demo_db)
    money = store.money_hotkeys(demo_db, [int(latest)], [netuid], validators_only=True)
    keys = [(int(n), str(h)) for n, h in zip(money["netuid"], money["hotkey"], strict=True)]
    parents = unregistered_parents
    assert len(parents), "the demo should hold a parent that is not registered"
    parents = parents[parents["netuid"] == netuid].drop_duplicates("hotkey")
    keys += [(netuid, str(hotkey)) for hotkey in parents["hotkey"]] + [(netuid, ss58.derive("nobody"))]
    narrow = {key: returns.returns_history(demo_db, *key) for key in keys}

    every = [int(i) for i in store.list_snapshots(demo_db)["snapshot_id"]]
    full_rows = store.money_hotkeys(demo_db, every, [netuid], validators_only=True)
    full_subnets = store.money_subnets(demo_db, every, [netuid])
    by_hotkey = dict(tuple(full_rows.groupby("hotkey", sort=False)))

    def full_read(db: object, key_netuid: int, hotkey: str) -> dict[str, pd.DataFrame]:
        rows = by_hotkey.get(hotkey, full_rows.iloc[:0])
        assert key_netuid == netuid and (rows["netuid"] == netuid).all()
        held = full_subnets["snapshot_id"].isin(rows["snapshot_id"])
        return {"hotkeys": rows.reset_index(drop=True), "subnets": full_subnets[held].reset_index(drop=True)}

    monkeypatch.setattr(store, "hotkey_return_history", full_read)
    for key in keys:
        pd.testing.assert_frame_equal(narrow[key], returns.returns_history(demo_db, *key))
    assert sum(len(h) for h in narrow.values()) > len(keys)  # real histories compared, not empty frames
    assert narrow[keys[-1]].empty


# -- check --------------------------------------------------------------------------------------------


def test_check_verifies_the_money_to_the_rao_and_names_what_differs(
    demo_db: Path, tmp_path: Path, capsys
) -> None:
    assert main(["check", "--db", str(demo_db), "--netuid", "3"]) == 0
    out = capsys.readouterr().out
    assert "money: verified to the rao" in out
    tampered = tmp_path / "tampered.duckdb"
    shutil.copy(demo_db, tampered)
    last = store.latest_snapshot_id(tampered)
    hot = store.money_hotkeys(tampered, [last], [3])
    victim = hot.sort_values("alpha_dividends").iloc[-1]
    _rewrite_dividend(tampered, last, victim["hotkey"], int(victim["alpha_dividends"]) + 7)
    assert main(["check", "--db", str(tampered), "--netuid", "3"]) == 1
    out = capsys.readouterr().out
    assert "money: DIFFERS - alpha dividends 1/" in out and "(max |Δ| 7 rao)" in out


def _rewrite_dividend(db: Path, snapshot_id: int, hotkey: str, value: int) -> None:
    """Replace one snapshot's hotkeys rows through the store (a fresh snapshot with the edit)."""
    tables = store.snapshot_tables(db, snapshot_id)
    hot = store.table_contents(db, "hotkeys")
    hot = hot[hot["snapshot_id"] == snapshot_id].drop(columns=["snapshot_id"])
    hot.loc[hot["hotkey"] == hotkey, "alpha_dividends"] = value
    meta = store.snapshot_meta(db, snapshot_id)
    meta = {k: meta[k] for k in store.SNAPSHOT_META_COLUMNS}
    meta["block"] += 1  # a new (network, block): the edited copy becomes the latest snapshot
    meta["taken_at"] = pd.Timestamp(meta["taken_at"]) + pd.Timedelta(hours=1)
    names = {"subnet": "subnets"}
    data = {}
    for key, frame in tables.items():
        data[names.get(key, key)] = pa.Table.from_pandas(
            frame.drop(columns=["snapshot_id"]), preserve_index=False
        )
    data["hotkeys"] = pa.Table.from_pandas(hot, preserve_index=False)
    data["child_keys"] = pa.Table.from_pandas(
        store.child_keys(db, [snapshot_id]).drop(columns=["snapshot_id"]), preserve_index=False
    )
    assert store.ingest_snapshot(db, store.SnapshotData(meta=meta, tables=data)) is not None


# -- the CLI ------------------------------------------------------------------------------------------


def one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    return lines[0]


def test_returns_cli_prints_the_table_and_json(demo_db: Path, capsys) -> None:
    assert main(["returns", "--db", str(demo_db), "--netuid", "3", "--window", "7"]) == 0
    out = capsys.readouterr().out
    assert "spot price" in out and "return_tao_per_1000_per_day" in out and "Unregistered Parent" in out
    assert main(["returns", "--db", str(demo_db), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == len(returns.returns_table(demo_db))
    assert rows[0]["return_tao_per_1000_per_day"] >= rows[-1]["return_tao_per_1000_per_day"]
    assert {"netuid", "uid", "hotkey", "name", "window_epochs", "block", "age"} <= set(rows[0])
    hotkey = rows[0]["hotkey"]
    assert main(["returns", "--db", str(demo_db), "--hotkey", hotkey, "--json"]) == 0
    mine = json.loads(capsys.readouterr().out)
    assert {r["hotkey"] for r in mine} == {hotkey}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--netuid", "99"], "netuid 99 is not in snapshot"),
        (["--netuid", "1;3"], "malformed --netuid"),
        (["--hotkey", "5notanaddress"], "malformed --hotkey"),
        (["--hotkey", "5C4hrfjw9DjXZTzV3MwzrrAr9P1MJhSrvWGWqi1eSuyUpnhN"], "malformed --hotkey"),  # checksum
        (["--hotkey", ss58.derive("stranger")], "is not a validator"),
        (["--window", "14"], "--window must be one of 1, 7, 30"),
        (["--window", "nan"], "--window must be one of 1, 7, 30"),
        (["--snapshot", "999"], "no snapshot 999"),
    ],
)
def test_returns_cli_bad_input_is_one_error_line(
    demo_db: Path, capsys, args: list[str], message: str
) -> None:
    assert main(["returns", "--db", str(demo_db), *args]) == 2
    assert message in one_error_line(capsys.readouterr().err)


def test_returns_cli_on_a_missing_or_empty_database(tmp_path: Path, capsys) -> None:
    assert main(["returns", "--db", str(tmp_path / "none.duckdb")]) == 2
    assert "does not exist" in one_error_line(capsys.readouterr().err)
    empty = tmp_path / "empty.duckdb"
    empty.write_bytes(b"")
    assert main(["returns", "--db", str(empty)]) == 2
    assert "empty" in one_error_line(capsys.readouterr().err)


def test_returns_of_a_collected_chain_snapshot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The tables work on what the collector stores from the real SDK (not only on the demo): the
    recorded dividends over the own stake read at e - 1, the price read at e, the unregistered parent."""
    import bittensor as bt

    from analytics.data import collector
    from tests.fakechain import account, sample_network

    monkeypatch.setenv("BTCLI_TOKEN_SYMBOLS_CACHE", str(tmp_path / "symbols.json"))
    chain, epochs = sample_network()
    db = tmp_path / "lens.duckdb"
    policy = collector.RetryPolicy(tries=1, timeout=10, backoff=0.01)
    assert collector.collect(bt.Subtensor("local", substrate=chain), db, netuids=[1], policy=policy).ok
    table = returns.returns_table(db)
    before, at_e = epochs[1].before.money, epochs[1].at_e.money
    outside = table[table["hotkey"] == account("outside-parent-1")]
    assert len(outside) == 1 and pd.isna(outside["uid"].iloc[0]) and outside["children"].iloc[0] == 1
    row = table[table["uid"] == 0].iloc[0]
    hotkey = epochs[1].before.hotkeys[0]
    rate = at_e.alpha_dividends[hotkey] / before.alpha_stake[hotkey]
    assert row["alpha_price_tao"] == at_e.price_rao / 1e9
    assert row["return_tao_per_1000_per_day"] == pytest.approx(rate * 7200 / 360 * 1000)
    assert row["epoch_block"] == epochs[1].e


def test_a_window_and_the_last_epoch_from_one_read_equal_two_reads(demo_db: Path) -> None:
    """returns_tables (the Stake page's table and its trend's end, one read) gives each window's
    returns_table; it refuses what one read cannot answer."""
    snapshots = store.list_snapshots(demo_db)["snapshot_id"].tolist()
    for sid in (snapshots[0], snapshots[len(snapshots) // 2]):
        for window in returns.WINDOWS:
            both = returns.returns_tables(demo_db, sid, windows=(window, 1))
            assert set(both) == {window, 1}
            for days, table in both.items():
                assert len(table) > 0
                pd.testing.assert_frame_equal(table, returns.returns_table(demo_db, sid, window_days=days))
    with pytest.raises(ValueError):
        returns.returns_tables(demo_db, windows=(7, 30))
    with pytest.raises(returns.ReturnsError):
        returns.returns_tables(demo_db, windows=(0,))


def test_the_trends_start_from_the_windows_read_equals_the_starts_own_table(demo_db: Path) -> None:
    """returns_tables(start_id=) (the Stake page's trend start from the window's rows) gives, for the
    snapshot's validators, the positive returns returns_table of the start snapshot gives (a trend
    needs a positive start), and nothing for a start outside the window."""
    snapshots = store.list_snapshots(demo_db)["snapshot_id"].tolist()  # newest first
    sid, start = snapshots[0], snapshots[1]
    tables = returns.returns_tables(demo_db, sid, windows=(30, 1), start_id=start)
    key, value = ["netuid", "hotkey"], "return_tao_per_1000_per_day"
    keys = tables[1][key]
    got = keys.merge(tables[returns.START], on=key, how="left")[value].to_numpy()
    want = keys.merge(returns.returns_table(demo_db, start)[[*key, value]], on=key, how="left")[
        value
    ].to_numpy()
    assert (want > 0).sum() > 10
    np.testing.assert_array_equal(np.where(got > 0, got, np.nan), np.where(want > 0, want, np.nan))
    assert returns.START not in returns.returns_tables(demo_db, start, windows=(7, 1), start_id=sid)


def test_the_trend_start_found_in_the_same_read_is_the_windows_oldest_or_the_previous(demo_db: Path) -> None:
    """returns_tables(trend_start=True) (the Stake page, one read): the start is the window's oldest
    snapshot taken before this one, or for 1 day the one just before; the windows' tables are unchanged
    by the start's rows read besides, and its START rows are those of start_id= within the window."""
    snaps = store.list_snapshots(demo_db)  # newest first
    for sid in (int(snaps["snapshot_id"].iloc[0]), int(snaps["snapshot_id"].iloc[-1])):
        taken = snaps.loc[snaps["snapshot_id"] == sid, "taken_at"].iloc[0]
        older = snaps[snaps["taken_at"] < taken]
        for window in returns.WINDOWS:
            frames = store.returns_frames(demo_db, sid, window_days=window, trend_start=True)
            inside = older[older["taken_at"] >= taken - pd.Timedelta(days=window)] if window > 1 else older
            want = None if inside.empty else int(inside["snapshot_id"].iloc[-1 if window > 1 else 0])
            assert frames["start_id"] == want, (sid, window)
            tables = returns.returns_tables(demo_db, sid, windows=(window, 1), trend_start=True)
            for days in {window, 1}:
                pd.testing.assert_frame_equal(
                    tables[days], returns.returns_table(demo_db, sid, window_days=days)
                )
            assert (returns.START in tables) == (want is not None)
            if want is not None and window > 1:
                plain = returns.returns_tables(demo_db, sid, windows=(window, 1), start_id=want)
                pd.testing.assert_frame_equal(tables[returns.START], plain[returns.START])


def test_key_rows_finds_each_rows_key_as_a_left_merge_would() -> None:
    """returns.key_rows (the joins of the returns and Stake tables): the position of each row's key in
    the table, -1 where it has none, for numeric keys (a MultiIndex lookup) and text ones (a merge)."""
    table = pd.DataFrame({"netuid": [3, 1, 2], "hotkey": ["c", "a", "b"], "value": [30.0, 10.0, 20.0]})
    rows = pd.DataFrame({"netuid": [1, 2, 9, 3, 1], "hotkey": ["a", "x", "a", "c", "a"]})
    text = returns.key_rows(rows, table, ["netuid", "hotkey"])
    assert text.tolist() == [1, -1, -1, 0, 1]
    merged = rows.merge(table.assign(at=range(3)), on=["netuid", "hotkey"], how="left")["at"]
    assert text.tolist() == merged.fillna(-1).astype(int).tolist()
    numbers = returns.key_rows({"netuid": np.array([2, 5, 3])}, table, ["netuid"])
    assert numbers.tolist() == [2, -1, 0]
    assert returns.key_rows(rows, table.iloc[0:0], ["netuid"]).tolist() == [-1] * 5


def test_subnet_list_is_the_subnets_pickers_columns_with_names_made_visible(demo_db: Path) -> None:
    """store.subnet_list (the pickers' narrow read) holds what store.subnets holds in those columns."""
    sid = store.latest_snapshot_id(demo_db)
    assert sid is not None
    narrow, full = store.subnet_list(demo_db, sid), store.subnets(demo_db, sid)
    assert list(narrow.columns) == ["netuid", "name", "mechanism_count"]
    pd.testing.assert_frame_equal(narrow, full[["netuid", "name", "mechanism_count"]])
