"""Alerts: a TOML watchlist of hotkeys, coldkeys and subnets, rules over two snapshots, Apprise delivery.

* `config`   — the watchlist file: parse and check (ConfigError names the file's line).
* `rules`    — pure rules over two snapshots' frames -> findings (out_of_consensus, tv_below, ...).
* `evaluate` — load the frames from the store, run the rules, decide what is new against the
  remembered alerts (once per episode for states, once per snapshot for events).
* `deliver`  — Apprise, one notification per alert and destination; secrets never printed.
* `run`      — one run: evaluate, remember, (re)send; what `python -m analytics alerts` calls.
"""
