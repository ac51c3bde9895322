"""Fixed-point primitives against exact Python integers and against substrate_fixed itself.

The EXP and SIGMOID tables were produced by substrate_fixed v0.6.0 (the crate subtensor pins),
compiled and run on exp_safe / alpha_sigmoid inputs; our integer-numpy emulation must reproduce them
bit for bit (a 20,000-case random comparison also matched while this was written).
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from analytics.yuma import ONE, _alpha_sigmoid, _amount, _div, _exp_fixed, _mul, _to_u16

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
SIGMOID_CASES = [  # (consensus, weight, bond, alpha_low, alpha_high, steepness) -> alpha bits
    ((1934392874, 1934392874, 1934392874, 6553, 19660, 1000), 435213075),
    ((2765379634, 3533734222, 1904449482, 45875, 58982, 1000), 3039798069),
    ((975982878, 2381923523, 274093027, 1638, 65535, 250), 1756165508),
    ((3554648817, 2712977936, 3255962051, 3000, 60000, -500), 3432444702),
    ((1522677439, 1522677439, 3835926008, 6553, 19660, 1000), 940829410),
    ((3343131664, 835966884, 835966884, 45875, 58982, 1000), 3012258989),
    ((188135741, 662668322, 2933672916, 1638, 65535, 250), 2276397059),
    ((3198729103, 4155422660, 1399409257, 3000, 60000, -500), 3185078927),
    ((1591112322, 1591112322, 813773290, 6553, 19660, 1000), 435213075),
    ((558008616, 2043137101, 974568233, 45875, 58982, 1000), 3157882263),
    ((2876829202, 1877553195, 1877553195, 1638, 65535, 250), 1039932646),
    ((3007615712, 1341604509, 3574528629, 3000, 60000, -500), 1971600673),
    ((3456436597, 3456436597, 1238359777, 6553, 19660, 1000), 435213075),
    ((2931295869, 600232346, 858599192, 45875, 58982, 1000), 3016944159),
    ((31620707, 3379814466, 2855512686, 1638, 65535, 250), 2904447952),
    ((3028662240, 3353205656, 3353205656, 3000, 60000, -500), 3532661151),
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
