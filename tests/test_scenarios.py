"""The scenario registry and the What-if page's logic without Streamlit: every kind's form makes a token the
parser reads back, the grammar and usage come from the registry, and the replay's own helpers pick what the
page headlines and charts."""

from __future__ import annotations

import numpy as np
import pytest

from analytics.model import scenarios as sc
from analytics.model import simulate as sm
from analytics.views import whatif
from tests.test_simulate import N_VAL, network

# A value per form field kind, as the page's widgets would give it.
FORM_VALUES = {"uid": 4, "source": 1, "vector": "13:1,14:0.5", "factor": 2.0, "alpha": 1.5, "value": 0.6}
FORM_VALUES |= {"on": True, "range": (0.1, 0.3), "count": 32}


@pytest.mark.parametrize("kind", sc.KINDS, ids=lambda k: k.key)
def test_every_kinds_form_and_example_make_tokens_the_parser_reads_back(kind: sc.ScenarioKind) -> None:
    values = {field.name: FORM_VALUES[field.name] for field in kind.fields}
    for token in (kind.form(values), kind.example):
        scenario = sc.parse_scenario(token)
        assert scenario.spec == token and scenario.spec.startswith(kind.head)
        assert kind.head in sc.USAGE and kind.label
    assert len({f.key for f in kind.fields}) == len(kind.fields)


def test_the_form_turns_alpha_into_rao_and_a_factor_into_the_shortest_token() -> None:
    by_key = sc.KIND_BY_KEY
    assert by_key["stake="].form({"uid": 3, "alpha": 1.5}) == "stake:3=1500000000"
    assert by_key["stake*"].form({"uid": 3, "factor": 2.0}) == "stake:3*2"
    assert by_key["alpha"].form({"range": (0.7, 0.9)}) == "alpha=0.7,0.9"
    assert by_key["yuma3"].form({"on": False}) == "yuma3=off"


def test_the_grammar_has_one_line_per_head_from_the_registry() -> None:
    lines = sc.SCENARIO_GRAMMAR.splitlines()[1:]
    heads = [line.split()[0].split(":")[0].split("=")[0] for line in lines]
    assert heads == list(dict.fromkeys(k.head for k in sc._GRAMMAR_KINDS))
    assert all(line.startswith("  ") and line[21] != " " for line in lines)  # descriptions in one column


def test_page_helpers_pick_what_moved_most_among_the_validators_and_the_miners() -> None:
    sim = sm.simulate(network(), [sm.FollowConsensus(4)], 3)
    validators = sim.was_validator
    assert validators[:N_VAL].all() and not validators[N_VAL:].any()
    moved_validators = sim.affected_uids(5, "dividends", validators)
    assert moved_validators[0] == 4 and all(validators[u] for u in moved_validators)
    moved = np.abs(sim.delta("incentive")).sum(axis=0) * ~validators
    miners = sim.affected_uids(5, "incentive", ~validators)
    assert miners == [int(u) for u in np.argsort(-moved, kind="stable")[:5] if moved[u] > 0]
    base, scen = sim.paid()
    assert (base == sim.baseline.server_emission.sum(0) + sim.baseline.validator_emission.sum(0)).all()
    winner, loser = sim.biggest_winner_loser()
    change = scen.astype(np.int64) - base.astype(np.int64)
    assert change[winner] == change.max() > 0 > change.min() == change[loser]


def test_a_replay_without_change_has_no_winner_and_the_changed_hyperparameters_are_listed() -> None:
    inputs = network()
    assert sm.simulate(inputs, [], 2).biggest_winner_loser() is None
    sim = sm.simulate(inputs, sm.parse_scenarios(["kappa=0.6", "yuma3=on"]), 1)
    table = whatif.changed_hyperparameters(inputs, sim.inputs)
    assert table.to_dict("records") == [
        {
            "hyperparameter": "kappa",
            "snapshot": f"{inputs.kappa / 65535:.4f} ({inputs.kappa})",
            "what-if": "0.6000 (39321)",
        },
        {"hyperparameter": "Yuma3", "snapshot": "off", "what-if": "on"},
    ]
    assert whatif.changed_hyperparameters(inputs, None).empty


def test_a_validators_bonds_table_holds_every_epoch_and_miner_it_bonds() -> None:
    sim = sm.simulate(network(), [sm.ZeroWeights(4)], 3)
    bonds = whatif.bonds_long(sim, 0)
    held = np.flatnonzero((sim.baseline.bonds[:, 0, :] > 0).any(0) | (sim.scenario.bonds[:, 0, :] > 0).any(0))
    assert len(bonds) == 3 * len(held) and set(bonds["miner_uid"]) == set(held.tolist())
    assert (bonds["bond_delta"] == bonds["bond"] - bonds["bond_baseline"]).all()
