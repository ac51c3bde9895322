"""URL fuzz of every page (issue 12): 200 seeded hostile parameter sets per page never raise.

Two layers, so the suite stays fast:

* The parsing layer, 200 sets per page: every query parameter a page reads goes through the same pure
  function the page calls (``ui.link_value`` for the pickers, ``ui.validator_from_link``,
  ``simulate.parse_epochs`` / ``parse_scenario`` / ``validate`` on What-if, ``emission.parse_split`` on
  Emission split). Each must return a usable value or raise its documented user error; nothing else.
* The pages themselves in Streamlit's AppTest, once per page with the most hostile set (every parameter
  at once: overflow, NaN, NUL, bidi override, megabyte-long digits...): no uncaught exception.
  The Mechanism lab's parameters are bound widgets parsed by Streamlit itself, so it gets a few runs.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from analytics.app import ui
from analytics.cli.simulate import mechanism_inputs
from analytics.data import store
from analytics.data.snapshot import load_subnet
from analytics.model import emission
from analytics.model import simulate as sm

ROOT = Path(__file__).resolve().parent.parent
SETS_PER_PAGE = 200
PICKERS = ("snapshot", "netuid", "mechid", "miner", "validator")
PAGES: dict[str, tuple[str, ...]] = {  # the page file and the parameters it reads
    "app.py": ("snapshot",),
    "pages/1_Validators.py": ("snapshot", "netuid", "mechid"),
    "pages/2_Miner.py": ("snapshot", "netuid", "mechid", "miner"),
    "pages/3_Validator_detail.py": ("snapshot", "netuid", "mechid", "validator"),
    "pages/4_Weight_matrix.py": ("snapshot", "netuid", "mechid"),
    "pages/5_History.py": ("snapshot", "netuid"),
    "pages/6_Emission_split.py": ("snapshot", "netuid", "split"),
    "pages/7_What_if.py": ("snapshot", "netuid", "mechid", "epochs", "scenario"),
    "pages/8_Mechanism_lab.py": (
        "tab", "sn9_rule", "sn9_tdecay", "sn9_base", "sn9_at", "sn9_bmin", "sn9_frac", "lsf_default",
        "sn13_cred", "sn13_alpha", "sn13_start", "sn13_before", "sn13_fail",
    ),
}  # fmt: skip

# Values a hostile or broken link may hold: overflow, NaN, negative zero, huge digit strings, control and
# bidi characters, other scripts' digits (int() accepts "٣"), markup, paths, separators.
ATOMS = [
    "",
    " ",
    "0",
    "-0",
    "+1",
    "1",
    "3",
    "-1",
    "255",
    "65535",
    "65536",
    "2147483648",
    "9223372036854775808",
    "1e400",
    "-1e400",
    "1e-400",
    "inf",
    "-inf",
    "nan",
    "NaN",
    "Infinity",
    "1.5",
    "0x10",
    "1_000",
    "٣",
    "²",
    "\x00",
    "\x1b[2J",
    "\u202e1",
    "1\u2066",
    "\ufeff1",
    "😀",
    "<b>x</b>",
    "javascript:alert(1)",
    "../../etc/passwd",
    "1;DROP TABLE snapshots",
    "%00",
    "%",
    "1,2,3",
    "[1, 2]",
    "{}",
    "null",
    "None",
    "true",
    "on",
    "\n",
    "9" * 5000,
    "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY",
    "a" * 300,
]
SCENARIO_HEADS = ["consensus:", "lagcopy:", "copy:", "weights:", "zero:", "stop:", "late:", "stake:", "miner:",
                  "kappa=", "bma=", "penalty=", "yuma3=", "liquid=", "alpha=", "maxval=", "", "x:"]  # fmt: skip


def hostile(rng: random.Random) -> str:
    """One hostile value: an atom, two atoms glued, or an atom with a separator and another."""
    a = rng.choice(ATOMS)
    kind = rng.random()
    if kind < 0.6:
        return a
    if kind < 0.8:
        return a + rng.choice(ATOMS)
    return a + rng.choice([",", ":", "=", "*", " ", "&", "#"]) + rng.choice(ATOMS)


def hostile_scenario(rng: random.Random) -> str:
    head = rng.choice(SCENARIO_HEADS)
    return (
        head
        + hostile(rng)
        + (rng.choice(["", "*", "=", ":", ","]) + hostile(rng) if rng.random() < 0.5 else "")
    )


def param_sets(page: str, count: int = SETS_PER_PAGE, seed: int = 12) -> list[dict[str, str | list[str]]]:
    """``count`` hostile query-parameter sets for ``page`` (seeded: the same sets every run)."""
    rng = random.Random(f"{seed}:{page}")
    out: list[dict[str, str | list[str]]] = []
    for _ in range(count):
        params: dict[str, str | list[str]] = {}
        for name in PAGES[page]:
            if rng.random() < 0.3:
                continue  # absent
            if name == "scenario":
                params[name] = [hostile_scenario(rng) for _ in range(rng.randint(1, 4))]
            else:
                params[name] = hostile(rng)
        out.append(params)
    return out


@pytest.fixture(scope="module")
def options(demo_db: Path) -> dict[str, object]:
    """What the demo database offers each picker, as the pages compute it."""
    snapshot_id = store.latest_snapshot_id(demo_db)
    snap = load_subnet(demo_db, snapshot_id, 1)
    return {
        "snapshot": [int(s) for s in store.list_snapshots(demo_db)["snapshot_id"]],
        "netuid": [int(n) for n in store.subnets(demo_db, snapshot_id)["netuid"]],
        "mechid": [0, 1],
        "miner": list(range(snap.n)),
        "hotkeys": {uid: str(hk) for uid, hk in enumerate(snap.hotkeys)},
        "inputs": mechanism_inputs(snap, 0),
    }


def parse_like_the_page(name: str, raw: str | list[str], options: dict[str, object]) -> None:
    """Run one parameter through the parsing function its page uses; only documented errors may escape."""
    if name in ("snapshot", "netuid", "mechid", "miner"):
        value = ui.link_value(raw, options[name])  # type: ignore[arg-type]
        assert value is None or value in options[name]  # type: ignore[operator]
    elif name == "validator":
        hotkeys = options["hotkeys"]
        value = ui.link_value(raw, list(hotkeys.values()), lambda r: ui.validator_from_link(r, hotkeys))  # type: ignore[union-attr, arg-type]
        assert value is None or value in hotkeys.values()  # type: ignore[union-attr]
    elif name == "epochs":
        try:
            epochs = sm.parse_epochs(raw)  # type: ignore[arg-type]
        except sm.ScenarioError as exc:
            assert len(str(exc)) < 200
        else:
            assert 1 <= epochs <= sm.MAX_EPOCHS
    elif name == "scenario":
        kept: list[sm.Scenario] = []
        for token in raw:
            try:
                scenario = sm.parse_scenario(token)
                sm.validate([*kept, scenario], options["inputs"])  # type: ignore[arg-type]
                kept.append(scenario)
            except sm.ScenarioError as exc:
                assert "\n" not in str(exc) and len(str(exc)) < 400, str(exc)
    elif name == "split":
        for count in (1, 2, 3):
            try:
                emission.parse_split(raw, count)  # type: ignore[arg-type]
            except emission.SplitError as exc:
                assert exc.suggestion is None or sum(exc.suggestion) == emission.U16_MAX


@pytest.mark.parametrize("page", [p for p in PAGES if p != "pages/8_Mechanism_lab.py"])
def test_the_parsing_layer_takes_200_hostile_links(page: str, options: dict[str, object]) -> None:
    sets = param_sets(page)
    assert len(sets) == SETS_PER_PAGE
    for params in sets:
        for name, raw in params.items():
            parse_like_the_page(name, raw, options)


def most_hostile(page: str) -> dict[str, str | list[str]]:
    """Every parameter the page reads at once, each at its nastiest."""
    nasty = {
        "scenario": [
            "stake:0*1e300",
            "weights:0=1:1e400",
            "consensus:" + "9" * 5000,
            "\u202ekappa=0.5",
            "maxval=-0",
        ]
    }
    values = ["1e400", "9" * 5000, "\x00\u202e", "-0", "nan"]
    return {name: nasty.get(name, values[i % len(values)]) for i, name in enumerate(PAGES[page])}


def lab_sets() -> list[dict[str, str | list[str]]]:
    """A few Mechanism lab links: each hostile value in every bound setting, on each tab."""
    sets = []
    for tab in ("Subnet 9 (IOTA)", "Subnet 13 (data universe)"):
        for value in ("1e400", "9" * 400 + "\x00\u202e-0nan"):
            sets.append(
                {name: (tab if name == "tab" else value) for name in PAGES["pages/8_Mechanism_lab.py"]}
            )
    return sets


@pytest.mark.parametrize(
    ("page", "params"),
    [(p, most_hostile(p)) for p in PAGES if p != "pages/8_Mechanism_lab.py"]
    + [("pages/8_Mechanism_lab.py", s) for s in lab_sets()],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_every_page_survives_its_most_hostile_link(
    page: str, params: dict[str, str | list[str]], demo_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("METAGRAPH_LENS_DB", str(demo_db))
    at = AppTest.from_file(str(ROOT / page), default_timeout=60)
    for name, value in params.items():
        at.query_params[name] = value
    at.run()
    assert not at.exception, [e.message for e in at.exception]
