"""The Mechanism lab's logic without Streamlit: the registry's examples through analytics.views.mechanisms, checked
by hand (what the page shows is these tables; tests/test_mechanisms_page.py checks the page around them)."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from analytics.model.mechanisms import MechanismInputError
from analytics.model.mechanisms import data_universe_sn13 as sn13
from analytics.model.mechanisms.registry import MECHANISMS, SN9, SN13
from analytics.views import mechanisms as views


def example(mechanism, table: str) -> pd.DataFrame:
    return views.example_frame(mechanism.tables[table])


def default(mechanism, key: str):
    return mechanism.fields[key].default


def decay(rule: str = "backward_passes", decay_text: str | None = None, timeline=None) -> views.Decay:
    return views.sn9_decay(
        example(SN9, "timeline") if timeline is None else timeline,
        default(SN9, "sn9_bmin"),
        rule,
        default(SN9, "sn9_tdecay") if decay_text is None else decay_text,
        default(SN9, "sn9_base"),
    )


def score(labels=None, buckets=None, weights=None) -> views.Score:
    return views.sn13_score(
        example(SN13, "labels") if labels is None else labels,
        example(SN13, "buckets") if buckets is None else buckets,
        dict(sn13.DEFAULT_SOURCE_WEIGHTS) if weights is None else weights,
        default(SN13, "lsf_default"),
        default(SN13, "sn13_cred"),
    )


def test_the_registry_names_every_field_once_and_each_table_by_its_state_key() -> None:
    keys = [key for m in MECHANISMS.values() for key in m.fields]
    assert len(keys) == len(set(keys))
    assert {t.name for t in SN9.tables.values()} == {"sn9_batches", "sn9_timeline"}
    for mechanism in MECHANISMS.values():
        for table in mechanism.tables.values():
            frame = views.example_frame(table)
            assert {c.name for c in table.columns} <= set(frame.columns)


def at_last_sync(rule: str, t_decay: float) -> pd.DataFrame:
    """Raw incentive and share per miner at the last sync (14 h) of the example timeline, under one t_decay."""
    d = decay(rule)
    at = d.at(float(d.epoch_times.max()))
    return at[at["t_decay_h"] == t_decay].set_index("miner")


# At t = 14 h with t_decay = 2 h the syncs at 12 h and 14 h count; below B_min (8 < 10) and the early burst
# (nothing after 4 h) earn nothing.
AT_LAST_SYNC = {
    # backward passes: steady 12 + 12, late joiner 20 + 20
    "backward_passes": (
        {"steady": 24, "early burst": 0, "late joiner": 40, "below B_min": 0},
        "late joiner",
        40 / 64,
    ),
    # one per qualifying sync: steady and late joiner reach B_min in both, so they split it evenly
    "per_sync": ({"steady": 2, "early burst": 0, "late joiner": 2, "below B_min": 0}, "steady", 0.5),
}


@pytest.mark.parametrize("rule", list(AT_LAST_SYNC))
def test_incentive_at_the_last_sync_by_hand(rule: str) -> None:
    raw, miner, share = AT_LAST_SYNC[rule]
    short = at_last_sync(rule, 2)
    assert short["raw_incentive"].to_dict() == raw
    assert short.loc[miner, "share"] == pytest.approx(share)


def test_a_longer_window_keeps_more_syncs() -> None:
    long = at_last_sync("backward_passes", 10)
    # t_decay = 10 h keeps the epochs at 4..14 h: steady 6 * 12, early burst only its 4 h epoch (30),
    # late joiner 4 * 20.
    assert long.loc["steady", "raw_incentive"] == 72
    assert long.loc["early burst", "raw_incentive"] == 30
    assert long.loc["late joiner", "raw_incentive"] == 80


def test_every_step_of_the_curve_sits_where_a_score_starts_or_stops_counting() -> None:
    over = decay().over_time
    steady = over[(over["t_decay_h"] == 2) & (over["miner"] == "steady")].set_index("time_h")
    # the 0 h sync counts until 2 h inclusive, the 2 h one from 2 h: 24 at 2 h, then 24 until 14 + 2 h
    assert steady.loc[2.0, "raw_incentive"] == 24
    assert steady.loc[16.0, "raw_incentive"] == 12  # only the 14 h sync is left at 16 h
    assert steady["raw_incentive"].iloc[-1] == 0


def test_changing_b_min_changes_who_qualifies() -> None:
    merge = views.sn9_merge(example(SN9, "batches"), 13, default(SN9, "sn9_frac"))
    assert f"{merge.result.effective_batch_count:g}" == "39"  # only 14 and 25 reach 13
    assert not merge.result.merge_triggered
    default_merge = views.sn9_merge(
        example(SN9, "batches"), default(SN9, "sn9_bmin"), default(SN9, "sn9_frac")
    )
    assert f"{default_merge.result.effective_batch_count:g}" == "61"  # 14 + 10 + 25 + 12
    assert default_merge.result.merge_triggered  # 4 of 5 >= 0.8 * 5


def test_source_weights_not_summing_to_one_are_refused() -> None:
    with pytest.raises(MechanismInputError, match="sum to 1.02"):
        score(weights={**sn13.DEFAULT_SOURCE_WEIGHTS, "reddit": 0.6})


def test_the_example_buckets_score_by_hand() -> None:
    # 0.58*1*(1-12/1440)*50e6 + 0.58*0.3*(1-48/1440)*80e6 + 0.37*1*0.95*(20e6**2/40e6)
    # + 0.37*1*0.8*30e6 + 0.05*0.3*(1-480/1440)*60e6 + 0 (35 days old) = 55 209 333
    s = score()
    assert f"{s.scored.raw_score:,.0f}" == "55,209,333"
    assert f"{s.scaled:,.0f}" == "42,424,700"  # at the default credibility 0.9


def test_negative_bytes_in_the_bucket_table_are_refused() -> None:
    buckets = pd.DataFrame(
        {
            "source": ["reddit"],
            "label": ["r/x"],
            "age_days": [1.0],
            "bytes": [-5.0],
            "bytes_all_miners": [10.0],
        }
    )
    with pytest.raises(MechanismInputError, match="cannot be negative"):
        score(buckets=buckets)


def test_all_data_older_than_thirty_days_scores_zero() -> None:
    buckets = pd.DataFrame(
        {
            "source": ["reddit", "x"],
            "label": ["a", "b"],
            "age_days": [31.0, 90.0],
            "bytes": [1e6, 1e6],
            "bytes_all_miners": [1e6, 1e6],
        }
    )
    assert f"{score(buckets=buckets).scored.raw_score:,.0f}" == "0"


def test_a_label_listed_twice_is_refused() -> None:
    labels = pd.DataFrame({"source": ["x", "X"], "label": ["#tao", "#TAO"], "scale_factor": [1.0, 2.0]})
    with pytest.raises(MechanismInputError, match="lists X #TAO again"):
        score(labels=labels)


def test_bad_timeline_and_t_decay_are_refused() -> None:
    timeline = pd.DataFrame(
        {"epoch": [1, 1], "time_h": [0.0, 0.0], "miner": ["a", "a"], "backward_passes": [10, 12]}
    )
    with pytest.raises(MechanismInputError, match="repeats miner"):
        decay(timeline=timeline)
    with pytest.raises(MechanismInputError, match="not a number of hours"):
        decay(decay_text="2, soon")


def test_failure_share_changes_the_recovery_count() -> None:
    alpha = default(SN13, "sn13_alpha")
    assert views.sn13_recovery(0.9, alpha, 0.0).needed == 6
    # 0.9 -> 0.15*0.5 + 0.85*0.9 = 0.84; clean: 0.864, 0.8844, 0.90174 -> 3
    recovery = views.sn13_recovery(0.9, alpha, 0.5)
    assert recovery.needed == 3
    assert recovery.after == pytest.approx(0.84)
    assert recovery.curve.set_index("credibility_before").loc[0.9, "clean_validations"] == 3


def test_a_bucket_csv_is_read_as_the_table_shape_and_scores_by_hand() -> None:
    csv = b"Source,Label,age_days,bytes,bytes_all_miners,notes\nreddit,r/Bitcoin,0,1000,1000,a\nx,#other,15,2000,4000,b\n"
    buckets = views.read_table_csv(io.BytesIO(csv), example(SN13, "buckets"))
    assert list(buckets.columns) == list(example(SN13, "buckets").columns)
    # reddit r/Bitcoin listed 1.0: 0.58*1*1*1000 = 580; x unlisted 0.3, 15 days ASF 0.75,
    # SB 2000**2/4000 = 1000: 0.37*0.3*0.75*1000 = 83.25; total 663.25
    assert f"{score(buckets=buckets).scored.raw_score:,.0f}" == "663"


def test_a_csv_without_the_needed_columns_is_refused_with_what_it_needs() -> None:
    with pytest.raises(MechanismInputError, match=r"lacks column\(s\) valid_bytes, validated_bytes"):
        views.read_table_csv(io.BytesIO(b"valid,total\n1,2\n"), example(SN13, "history"))


def test_the_decay_chart_draws_each_miners_curve_in_a_panel_per_t_decay() -> None:
    """One panel per t_decay (sharing axes), each miner's step curve in each, its colour and legend entry
    once; the curves are the series of ``over_time`` (the CSV behind the chart)."""
    d = decay(decay_text="2, 6, 10")
    fig = views.decay_chart(d)
    over = d.over_time
    miners = list(dict.fromkeys(over["miner"]))
    assert len(fig.data) == 3 * len(miners)
    assert [a.text for a in fig.layout.annotations] == [
        "t_decay = 2.0 h",
        "t_decay = 6.0 h",
        "t_decay = 10.0 h",
    ]
    for trace in fig.data:
        panel = {"x": 2.0, "x2": 6.0, "x3": 10.0}[trace.xaxis]
        rows = over[(over["miner"] == trace.name) & (over["t_decay_h"] == panel)]
        assert trace.x.tolist() == rows["time_h"].tolist() and trace.y.tolist() == rows["share"].tolist()
        assert trace.line.shape == "hv" and trace.showlegend == (panel == 2.0)
    assert len({t.line.color for t in fig.data}) == len(miners)


def test_the_bucket_bars_group_buckets_by_source_with_their_factors_in_the_hover() -> None:
    s = score()
    fig = views.bucket_bars(s)
    assert [t.name for t in fig.data] == list(dict.fromkeys(s.table["source"]))
    for trace in fig.data:
        rows = s.table[s.table["source"] == trace.name]
        assert trace.x.tolist() == rows["bucket"].astype(str).tolist()
        assert trace.y.tolist() == rows["score"].tolist()
        assert [c[0] for c in trace.customdata] == rows["label"].tolist()
