"""Fixed-point primitives against exact Python integers and against substrate_fixed itself.

The EXP and SIGMOID tables were produced by substrate_fixed v0.6.0 (the crate subtensor pins),
compiled and run on exp_safe / alpha_sigmoid inputs; our integer-numpy emulation must reproduce them
bit for bit (a 20,000-case random comparison also matched while this was written).
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from analytics.model.yuma import (
    _SCALAR_ALPHA,
    ONE,
    _alpha_of_diff,
    _alpha_sigmoid,
    _amount,
    _div,
    _div_cols,
    _div_scalar,
    _div_u16_sum,
    _exp_fixed,
    _mul,
    _to_u16,
    _transposed,
    weighted_median,
)

EXP_CASES = [
    (0, 4294967296),
    (4294967296, 11674931200),
    (-4294967296, 1580030169),
    (85899345920, 2066907302758576256),
    (-85899345920, 8),
    (107374182400, 2066907302758576256),
    (-107374182400, 8),
    (2147483648, 7081203935),
    (-2147483648, 2605029348),
    (21474836480, 637429664624),
    (-21474836480, 28939262),
    (1, 4294967297),
    (-1, 4294967295),
    (12884914233, 86266972150),
    (-30064772071, 3916502),
    (47065290763, 246640156997020),
    (-10500604094, 372537167),
    (61606653537, 7284945349266157),
    (33907569203, 11523746554760),
    (-69719800752, 383),
    (81711297821, 782697312580986174),
    (44863459189, 147713808691737),
    (49145473428, 400318472199905),
    (-63889591420, 1488),
]
# The sigmoid cases cycle through four (alpha_low, alpha_high, steepness) settings.
SIGMOID_SETTINGS = [(6553, 19660, 1000), (45875, 58982, 1000), (1638, 65535, 250), (3000, 60000, -500)]
SIGMOID_ROWS = [  # (consensus, weight, bond, alpha bits expected), settings k % 4
    (1934392874, 1934392874, 1934392874, 435213075), (2765379634, 3533734222, 1904449482, 3039798069),
    (975982878, 2381923523, 274093027, 1756165508), (3554648817, 2712977936, 3255962051, 3432444702),
    (1522677439, 1522677439, 3835926008, 940829410), (3343131664, 835966884, 835966884, 3012258989),
    (188135741, 662668322, 2933672916, 2276397059), (3198729103, 4155422660, 1399409257, 3185078927),
    (1591112322, 1591112322, 813773290, 435213075), (558008616, 2043137101, 974568233, 3157882263),
    (2876829202, 1877553195, 1877553195, 1039932646), (3007615712, 1341604509, 3574528629, 1971600673),
    (3456436597, 3456436597, 1238359777, 435213075), (2931295869, 600232346, 858599192, 3016944159),
    (31620707, 3379814466, 2855512686, 2904447952), (3028662240, 3353205656, 3353205656, 3532661151),
]  # fmt: skip
SIGMOID_CASES = [  # (consensus, weight, bond, alpha_low, alpha_high, steepness) -> alpha bits
    ((c, w, b, *SIGMOID_SETTINGS[k % 4]), expected) for k, (c, w, b, expected) in enumerate(SIGMOID_ROWS)
]


def test_exp_matches_substrate_fixed() -> None:
    x = np.array([c[0] for c in EXP_CASES], dtype=np.int64)
    assert _exp_fixed(x).tolist() == [c[1] for c in EXP_CASES]


def test_alpha_sigmoid_matches_substrate_fixed() -> None:
    for (c, w, b, low, high, steep), expected in SIGMOID_CASES:
        inp = SimpleNamespace(alpha_low=low, alpha_high=high, alpha_sigmoid_steepness=steep)
        got = _alpha_sigmoid(np.array([w]), np.array([b]), np.array([c]), inp)
        assert int(got[0]) == expected, (c, w, b, low, high, steep)


def test_mul_and_div_are_exact_floors() -> None:
    rng = np.random.default_rng(1)
    a = rng.integers(-(2**40), 2**40, 5000)
    b = rng.integers(0, 2**34, 5000)
    assert _mul(a, b).tolist() == [(int(x) * int(y)) >> 32 for x, y in zip(a, b, strict=True)]
    edge = np.array([ONE, ONE - 1, 2**33, 0])
    assert _mul(edge, edge).tolist() == [(int(x) * int(x)) >> 32 for x in edge]
    num = rng.integers(0, 2**40, 5000)
    den = rng.integers(0, 2**45, 5000)
    den[:10] = 0
    expect = [0 if int(d) == 0 else (int(x) << 32) // int(d) for x, d in zip(num, den, strict=True)]
    assert _div(num, den).tolist() == expect
    # numerators up to 2^33 (1.0 and a little more) take the half-step path
    num = rng.integers(0, 2**33, 5000)
    num[:5] = ONE
    den = rng.integers(1, 2**40, 5000)
    expect = [(int(x) << 32) // int(d) for x, d in zip(num, den, strict=True)]
    assert _div(num, den).tolist() == expect
    # column normalisation shapes: a (k, n) matrix over a per-column divisor with zero columns
    mat = rng.integers(0, ONE + 1, size=(6, 9))
    mat[:, 3] = 0
    col = mat.sum(axis=0)
    got = _div(mat, col)
    assert got.tolist() == [
        [0 if c == 0 else (int(v) << 32) // int(c) for v, c in zip(r, col, strict=True)] for r in mat
    ]


def test_amounts_and_u16_quantisation() -> None:
    rng = np.random.default_rng(2)
    shares = rng.integers(0, ONE + 1, 2000)
    for rao in (1, 10**9, 21 * 10**15, 2**63 - 1):
        assert _amount(shares, rao).astype(object).tolist() == [(int(s) * rao) >> 32 for s in shares]
    assert _to_u16(np.array([ONE, ONE - 1, ONE // 2, 0, 2 * ONE])).tolist() == [65535, 65534, 32767, 0, 65535]


def test_fast_divisions_match_exact_integers() -> None:
    """The epoch's shortcuts (float through the bits of 2^52, divisor-bounded uint64) are exact."""
    rng = np.random.default_rng(3)
    # u16 normalisation: 0 <= u <= S, u < 2^21, S < 2^36, including u == S and S == 1
    for bits in (1, 8, 17, 24, 30, 36):
        total = rng.integers(1, 2**bits, 4000)
        u = np.minimum((rng.random(4000) * np.minimum(total + 1, 2**21)).astype(np.int64), total)
        u[:50] = np.minimum(total[:50], 2**21 - 1)
        u[50:60] = 0
        expect = [(int(a) << 32) // int(t) for a, t in zip(u, total, strict=True)]
        assert _div_u16_sum(u, total).tolist() == expect
    # column division by column sums, with a zero column and sums at and beyond 2^32 (general path)
    for top in (2**20, ONE // 64, ONE):
        mat = rng.integers(0, top + 1, size=(64, 40))
        mat[:, 7] = 0
        mat[:, 8] = 0
        mat[0, 8] = top  # a column holding one entry: quotient exactly 1.0
        col = mat.sum(axis=0)
        expect = [
            [0 if c == 0 else (int(v) << 32) // int(c) for v, c in zip(r, col, strict=True)] for r in mat
        ]
        assert _div_cols(mat, col).tolist() == expect
        colmax = mat.max(axis=0)
        expect = [
            [0 if c == 0 else (int(v) << 32) // int(c) for v, c in zip(r, colmax, strict=True)] for r in mat
        ]
        assert _div_cols(mat, colmax).tolist() == expect
    shares = rng.integers(0, ONE + 1, size=(3, 300))
    for total in (1, ONE, int(shares.sum()), 2**62):
        sub = np.minimum(shares, total)
        assert _div_scalar(sub, total).tolist() == [[(int(v) << 32) // total for v in r] for r in sub]


def test_banded_transpose_is_a_transpose() -> None:
    rng = np.random.default_rng(4)
    for m, k in (
        (64, 256),
        (20, 512),
        (33, 1024),
        (16, 256),
        (17, 128),
        (1, 128),
        (0, 256),
        (5, 0),
        (100, 384),
    ):
        a = rng.integers(-(2**62), 2**62, size=(m, k))
        t = _transposed(a)
        assert t.flags.c_contiguous and t.tolist() == a.T.tolist()


def _median_by_definition(stake: list[int], scores: list[int], minority: int) -> int:
    """The score v with cumulative stake below v <= minority < cumulative stake at or below v."""
    if not stake:
        return 0
    for v in sorted(set(scores)):
        if sum(s for s, x in zip(stake, scores, strict=True) if x <= v) > minority:
            return v
    return max(scores)


def test_weighted_median_matches_its_definition_column_by_column() -> None:
    rng = np.random.default_rng(5)
    for case in range(400):
        m, k = int(rng.integers(1, 14)), int(rng.integers(1, 7))
        if case % 4 == 0:
            stake = rng.integers(0, 4, m)  # ties and zero stakes
        elif case % 4 == 1:
            stake = rng.integers(0, 2**59, m)  # sums past 2^62 take the per-column path
        else:
            stake = rng.integers(0, 2**32, m)
        if case % 2:
            scores = rng.choice([0, 1, 7, ONE], size=(m, k))
        else:
            scores = rng.integers(0, ONE + 1, size=(m, k))
        scores[:, 0] = 0 if case % 3 == 0 else scores[:, 0]
        total = int(sum(int(s) for s in stake))
        for minority in (-1, 0, total // 2, total - 1, total, total + 5):
            got = weighted_median(stake, scores, minority).tolist()
            col = [_median_by_definition(stake.tolist(), scores[:, j].tolist(), minority) for j in range(k)]
            assert got == col, (stake, scores, minority)


def test_alpha_sigmoid_shares_one_value_for_resting_entries_exactly() -> None:
    """Entries with nothing to buy or sell get one shared alpha; the result equals entry-by-entry."""
    rng = np.random.default_rng(6)
    inp = SimpleNamespace(alpha_low=45875, alpha_high=58982, alpha_sigmoid_steepness=1000)
    count = 600
    consensus = rng.integers(0, ONE + 1, count)
    weight = np.minimum(rng.integers(0, ONE + 1, count), consensus)  # clipped: nothing to buy
    bond = rng.integers(0, ONE + 1, count)
    bond[: count // 2] = weight[: count // 2] - rng.integers(0, 3, count // 2).clip(0, weight[: count // 2])
    for k in (1000, -300, 0):
        inp.alpha_sigmoid_steepness = k
        together = _alpha_sigmoid(weight, bond, consensus, inp)
        one_by_one = [
            int(_alpha_sigmoid(weight[i : i + 1], bond[i : i + 1], consensus[i : i + 1], inp)[0])
            for i in range(count)
        ]
        assert together.tolist() == one_by_one
        assert len(set(together[: count // 2].tolist())) == 1  # all resting


def test_small_alpha_requests_on_python_ints_equal_the_numpy_series() -> None:
    """An epoch's small liquid-alpha request runs the exp series on Python ints; entry by entry it is
    the numpy series a large (epoch_many) request runs, over distances in [0, 1.0], i16 and u16
    steepness extremes and any alpha bounds (low above high included)."""
    rng = np.random.default_rng(16)
    edges = np.array([0, 1, ONE // 2 - 1, ONE // 2, ONE // 2 + 1, ONE // 100, ONE - 1, ONE], dtype=np.int64)
    for k in (1000, -1000, 1, 0, -1, 100, 32767, -32768, 65535, 1 << 16, -(1 << 16), 4321):
        low, high = (int(v) for v in rng.integers(0, ONE + 1, 2))
        for bounds in ((45875 << 32) // 65535, (58982 << 32) // 65535), (low, high), (high, low):
            diff = np.concatenate([edges, rng.integers(0, ONE + 1, 4 * _SCALAR_ALPHA)])
            assert len(diff) >= _SCALAR_ALPHA  # the numpy series
            whole = _alpha_of_diff(diff, *bounds, k)
            small = [_alpha_of_diff(diff[i : i + 7], *bounds, k) for i in range(0, len(diff), 7)]
            assert whole.tolist() == np.concatenate(small).tolist(), (k, bounds)
