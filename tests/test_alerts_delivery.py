"""Delivery through Apprise's JSON webhook to a local HTTP receiver: once per alert, retried when down,
and the URL's secrets never printed, logged or stored."""

from __future__ import annotations

import json
import logging
import shutil
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pandas as pd
import pytest

from analytics.cli import main
from analytics.data import store
from analytics.views import export

SECRET_PASSWORD = "Pa55wordNeverShown"
SECRET_TOKEN = "t0kenNeverShown"


class Receiver:
    """A webhook receiver on 127.0.0.1: records every POST body; `stop()` takes it down, `start()`
    brings it back on the same port."""

    def __init__(self) -> None:
        self.posts: list[dict] = []
        self.port = self._free_port()
        self.server: ThreadingHTTPServer | None = None

    @staticmethod
    def _free_port() -> int:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return int(s.getsockname()[1])

    def start(self) -> None:
        posts = self.posts

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                posts.append(
                    {"path": self.path, "auth": self.headers.get("Authorization"), **json.loads(body)}
                )
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.stop()


@pytest.fixture
def db(demo_db: Path, tmp_path: Path) -> Path:
    """A private copy of the demo database (alert runs write into it)."""
    copy = tmp_path / "demo.duckdb"
    shutil.copy(demo_db, copy)
    return copy


def out_of_consensus_hotkeys(db: Path, count: int) -> list[str]:
    sid = store.latest_snapshot_id(db)
    table = export.validators_table(str(db), sid, 1, 0)
    return table[table["severity"].isin(export.OUT_OF_CONSENSUS)]["hotkey"].head(count).tolist()


def watchlist(tmp_path: Path, hotkeys: list[str], port: int) -> Path:
    watches = "".join(f'[[watch]]\nhotkey = "{h}"\nrules = ["out_of_consensus"]\n\n' for h in hotkeys)
    url = f"json://alice:{SECRET_PASSWORD}@127.0.0.1:{port}/hook/{SECRET_TOKEN}"
    path = tmp_path / "alerts.toml"
    path.write_text(watches + f'[[notify]]\nurl = "{url}"\n')
    return path


def alerts(db: Path, cfg: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[dict], str]:
    code = main(["alerts", "--db", str(db), "--config", str(cfg), "--json"])
    captured = capsys.readouterr()
    for text in (captured.out, captured.err):
        assert SECRET_PASSWORD not in text and SECRET_TOKEN not in text, text
    return code, json.loads(captured.out), captured.err


def test_one_post_per_new_alert_and_none_on_a_rerun(
    db: Path, tmp_path: Path, receiver: Receiver, capsys: pytest.CaptureFixture[str]
) -> None:
    hotkeys = out_of_consensus_hotkeys(db, 2)
    assert len(hotkeys) == 2
    receiver.start()
    cfg = watchlist(tmp_path, hotkeys, receiver.port)

    code, sent, _ = alerts(db, cfg, capsys)
    assert code == 0
    assert sorted(a["hotkey"] for a in sent) == sorted(hotkeys) and all(a["delivered"] for a in sent)
    assert len(receiver.posts) == 2
    assert sorted(p["message"].split(" (uid")[0] for p in receiver.posts) == sorted(
        f"hotkey {h}" for h in hotkeys
    )
    assert all(p["path"] == f"/hook/{SECRET_TOKEN}" and p["auth"] for p in receiver.posts)  # the URL was used

    code, sent, _ = alerts(db, cfg, capsys)
    assert (code, sent, len(receiver.posts)) == (0, [], 2)  # remembered: nothing twice
    history = store.alert_history(db)
    assert history["delivered"].tolist() == [1, 1] and history["rule"].tolist() == ["out_of_consensus"] * 2


def test_a_receiver_down_exits_1_and_the_next_run_delivers(
    db: Path,
    tmp_path: Path,
    receiver: Receiver,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    [hotkey] = out_of_consensus_hotkeys(db, 1)
    cfg = watchlist(tmp_path, [hotkey], receiver.port)  # the receiver is not started: down

    code, sent, err = alerts(db, cfg, capsys)
    assert code == 1
    assert [a["delivered"] for a in sent] == [False]
    assert "not delivered to notify #1 (json, line 6)" in err and "retried on the next run" in err

    receiver.start()
    code, sent, _ = alerts(db, cfg, capsys)
    assert code == 0
    assert [(a["hotkey"], a["delivered"], a["retry"]) for a in sent] == [(hotkey, True, True)]
    assert len(receiver.posts) == 1

    code, sent, _ = alerts(db, cfg, capsys)
    assert (code, sent, len(receiver.posts)) == (0, [], 1)

    logged = "\n".join(r.getMessage() for r in caplog.records)
    stored = pd.concat(
        [store.table_contents(db, "alerts"), store.table_contents(db, "alert_deliveries")]
    ).to_csv()
    for text in (logged, stored):
        assert SECRET_PASSWORD not in text and SECRET_TOKEN not in text


def test_a_bad_config_sends_nothing(
    db: Path, tmp_path: Path, receiver: Receiver, capsys: pytest.CaptureFixture[str]
) -> None:
    receiver.start()
    [hotkey] = out_of_consensus_hotkeys(db, 1)
    cfg = watchlist(tmp_path, [hotkey], receiver.port)
    cfg.write_text(
        cfg.read_text().replace('rules = ["out_of_consensus"]', 'rules = ["out_of_consensus", "nope"]')
    )
    assert main(["alerts", "--db", str(db), "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "line 3: unknown rule 'nope'" in err
    assert receiver.posts == [] and store.alert_history(db).empty


@pytest.mark.parametrize(
    ("url", "secrets"),
    [
        ("discord://4174216298/JHMHI8qBe7bk2ZwO5U711o3dV_js", ["JHMHI8qBe7bk2ZwO5U711o3dV_js", "4174216298"]),
        ("tgram://123456789:AABBccDDeeFF/-100222333", ["123456789:AABBccDDeeFF"]),
        ("mailtos://bob:hunter2pw@mail.example.org?to=ops@example.org", ["hunter2pw"]),
        ("json://127.0.0.1:8080/hook?token=abcdEFGH1234", ["abcdEFGH1234"]),
    ],
)
def test_redact_masks_every_secret_part_of_a_url(url: str, secrets: list[str]) -> None:
    from analytics.alerts.secrets import redact

    text = f"failed to send to {url} (token {secrets[0]}); //bob:{secrets[0]}@host"
    masked = redact(text, url)
    assert all(secret not in masked for secret in secrets), masked
    assert "failed to send to" in masked


def test_collect_with_alerts_runs_the_watchlist_after_a_successful_collect(
    tmp_path: Path, receiver: Receiver, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import bittensor as bt

    from analytics.data import collector
    from tests.fakechain import sample_network

    monkeypatch.setenv("BTCLI_TOKEN_SYMBOLS_CACHE", str(tmp_path / "token_symbols.json"))
    chain, _ = sample_network()
    monkeypatch.setattr(collector, "subtensor_for", lambda network: bt.Subtensor("local", substrate=chain))
    lens = tmp_path / "lens.duckdb"
    fast = ["--netuid", "1", "--timeout", "5", "--tries", "1"]

    bad = tmp_path / "bad.toml"
    bad.write_text('[[watch]]\nnetuid = 1\nrules = ["tv_below:2"]\n')
    assert main(["collect", "--db", str(lens), *fast, "--alerts", str(bad)]) == 2
    assert "line 3: tv_below:2: threshold out of range" in capsys.readouterr().err
    assert not lens.exists()  # refused before collecting

    receiver.start()
    cfg = tmp_path / "alerts.toml"
    cfg.write_text(
        f'[[watch]]\nnetuid = 1\nrules = ["subnet_tv_below:1"]\n\n[[notify]]\nurl = "json://127.0.0.1:{receiver.port}/x"\n'
    )
    assert main(["collect", "--db", str(lens), *fast, "--alerts", str(cfg)]) == 0
    captured = capsys.readouterr()
    assert "running the watchlist" in captured.err
    history = store.alert_history(lens)
    tv = float(export.subnets_table(str(lens), 1).set_index("netuid").at[1, "stake_weighted_tv"])
    assert tv < 1, "the fake chain's subnet 1 has validators out of full trust"
    assert history["rule"].tolist() == ["subnet_tv_below:1"]
    assert len(receiver.posts) == len(history)
