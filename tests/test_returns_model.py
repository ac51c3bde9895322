"""The money path model (analytics.model.returns): properties of the payout and worked examples.

Properties over random epochs (hypothesis): E and the owner cut are conserved to the rao under the
chain's floor rule (what is paid plus what the floors leave equals E + cut, and the floors leave at
most a few rao per recipient); a zero take pays the nominators the whole dividend; a higher take never
pays them more; the parents' and child's shares of a child's dividend sum to it (less the CKBurn).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from analytics.model import returns as r

U64 = r.U64_MAX
TAO_WEIGHT = 3_320_413_933_267_719_290


@st.composite
def epochs(draw, *, with_parents: bool = True):
    """A random subnet epoch: per-uid server and validator amounts, keys with stakes and takes, and
    (optionally) parent relations, some to unregistered keys."""
    n = draw(st.integers(1, 12))
    extra = draw(st.integers(0, 3)) if with_parents else 0
    size = n + extra
    amounts = st.integers(0, 10**12)
    stakes = st.integers(0, 10**16)
    keys = r.Keys(
        alpha_stake=np.array(draw(st.lists(stakes, min_size=size, max_size=size)), dtype=np.int64),
        root_stake=np.array(draw(st.lists(stakes, min_size=size, max_size=size)), dtype=np.int64),
        delegate_take=np.array(
            draw(st.lists(st.integers(0, 11796), min_size=size, max_size=size)), dtype=np.int64
        ),
        childkey_take=np.array(
            draw(st.lists(st.integers(0, 11796), min_size=size, max_size=size)), dtype=np.int64
        ),
        owner=np.array(draw(st.lists(st.integers(0, 3), min_size=size, max_size=size)), dtype=np.int64),
    )
    parents: dict[int, list[tuple[int, int]]] = {}
    if with_parents:
        for child in range(n):
            if draw(st.booleans()):
                others = [k for k in range(size) if k != child]
                chosen = draw(st.lists(st.sampled_from(others), max_size=2, unique=True)) if others else []
                left = U64
                plist = []
                for parent in chosen:
                    share = draw(st.integers(0, left))
                    left -= share
                    plist.append((share, parent))
                if plist:
                    parents[child] = plist
    # The epoch hands out E = server + validator + root: the miners' half by incentive, the rest by
    # dividends (floored shares, as its u64 amounts are), so its amounts are consistent with E.
    server, validator, root = draw(amounts), draw(amounts), draw(amounts)
    incentive = np.array(draw(st.lists(st.integers(0, 1000), min_size=n, max_size=n)), dtype=object)
    dividends = np.array(draw(st.lists(st.integers(0, 1000), min_size=n, max_size=n)), dtype=object)

    def floored(total: int, weights: np.ndarray) -> np.ndarray:
        whole = int(weights.sum())
        return np.array([total * int(w) // whole if whole else 0 for w in weights], dtype=np.int64)

    return {
        "uid_key": np.arange(n),
        "server_emission": floored(server, incentive),
        "validator_emission": floored(validator + root, dividends),
        "keys": keys,
        "pending_server": server,
        "pending_validator": validator,
        "pending_root": root,
        "owner_cut": draw(st.integers(0, 10**11)),
        "tao_weight": draw(st.sampled_from([0, TAO_WEIGHT, U64])),
        "ck_burn": draw(st.sampled_from([0, U64 // 100, U64 // 3])),
        "parents": parents,
        "owner_immune": np.array(draw(st.lists(st.booleans(), min_size=size, max_size=size))),
    }


def pay(e: dict, **changes) -> r.Payout:
    args = {**e, **changes}
    return r.distribute(
        args.pop("uid_key"), args.pop("server_emission"), args.pop("validator_emission"), **args
    )


def with_takes(keys: r.Keys, takes: np.ndarray) -> r.Keys:
    return r.Keys(keys.alpha_stake, keys.root_stake, takes, keys.childkey_take, keys.owner)


@given(epochs())
def test_e_and_the_owner_cut_are_conserved_to_the_rao(e: dict) -> None:
    p = pay(e)
    assert p.epoch_emission == e["pending_server"] + e["pending_validator"] + e["pending_root"]
    assert p.paid + p.unpaid == p.epoch_emission + e["owner_cut"]
    # The floors only ever round down, by less than one rao per amount floored (take and
    # nominators' share per recipient and pot); what the epoch hands out as incentive is exact.
    # Every amount is floored: a share truncated to 2^-32 of its pot, then the take and the rest each
    # floored, so each recipient of a pot can lose up to pot / 2^32 + 2 rao. A pot whose parts sum to
    # zero (nobody holds that kind of stake) is not paid at all, on chain as here.
    recipients = len(p.dividend)
    incentive = int(p.incentive.sum() + p.incentive_burned.sum())
    bound = e["pending_server"] - incentive if incentive else 0  # the miners' floors (none: to the pot)
    assert 0 <= bound <= len(e["server_emission"])
    for pot, total in (
        (p.alpha_pot, p.detail["alpha_parts_total"][0]),
        (p.root_pot, p.detail["root_parts_total"][0]),
    ):
        bound += pot if total == 0 else recipients * (pot // 2**32 + 3)
    assert 0 <= p.unpaid <= bound


@given(epochs())
def test_the_validators_share_all_of_the_pending_alpha(e: dict) -> None:
    """Dividends set proportions only: alpha parts share the pending validator alpha (plus the
    server half when no miner earned), root parts the pending root alpha; the CKBurn is on top."""
    p = pay(e)
    expected = e["pending_validator"] + (0 if e["server_emission"].sum() > 0 else e["pending_server"])
    assert p.alpha_pot == expected
    alpha_shares = p.alpha_take + p.alpha_nominators
    assert alpha_shares.sum() <= p.alpha_pot


@given(epochs())
def test_a_zero_take_pays_the_nominators_the_whole_dividend(e: dict) -> None:
    keys = e["keys"]
    p = pay(e, keys=with_takes(keys, np.zeros(keys.size, dtype=np.int64)))
    assert not p.alpha_take.any() and not p.root_take.any()
    # With a take the same dividend is cut in two floored pieces: together at most one rao less.
    full = pay(e, keys=with_takes(keys, np.full(keys.size, 11796)))
    for part in ("alpha", "root"):
        whole = getattr(p, f"{part}_nominators")
        pieces = getattr(full, f"{part}_take") + getattr(full, f"{part}_nominators")
        assert ((whole - pieces >= 0) & (whole - pieces <= 1)).all()


@given(epochs(), st.data())
def test_a_higher_take_never_pays_the_nominators_more(e: dict, data) -> None:
    keys = e["keys"]
    low = np.array(data.draw(st.lists(st.integers(0, 11796), min_size=keys.size, max_size=keys.size)))
    high = np.minimum(
        low + np.array(data.draw(st.lists(st.integers(0, 20000), min_size=keys.size, max_size=keys.size))),
        65535,
    )
    a = pay(e, keys=with_takes(keys, low))
    b = pay(e, keys=with_takes(keys, high))
    assert (b.alpha_nominators <= a.alpha_nominators).all()
    assert (b.root_nominators <= a.root_nominators).all()
    assert (b.alpha_take >= a.alpha_take).all()


@given(epochs())
def test_childrens_shares_sum_to_the_parents_share(e: dict) -> None:
    """A child's dividend is split among its parents and itself: the pieces (and the CKBurn) add up to
    the dividend, less at most one rao per piece to the floors."""
    keys = e["keys"]
    tw = r.ratio(e["tao_weight"], U64)
    burn = r.ratio(e["ck_burn"], U64)
    children_of: dict[int, list[tuple[int, int]]] = {}
    for c, plist in e["parents"].items():
        for prop, p in plist:
            children_of.setdefault(p, []).append((prop, c))
    for child, plist in e["parents"].items():
        amount = int(e["validator_emission"][child])
        pieces, burned = r.parent_child_split(child, amount, keys, plist, children_of, tw, burn)
        total = sum(a for _, a in pieces) + burned
        assert amount - 2 * len(pieces) - 1 <= total <= amount
        assert [k for k, _ in pieces][-1] == child


def test_parent_child_split_by_hand() -> None:
    """A child with half its stake from a parent of another coldkey: the parent's share is the stake
    it contributes over the total, less the childkey take (kept by the child) and the CKBurn."""
    keys = r.Keys(
        alpha_stake=np.array([1000 * 10**9, 1000 * 10**9]),  # child 0, parent 1
        root_stake=np.zeros(2, dtype=np.int64),
        delegate_take=np.zeros(2, dtype=np.int64),
        childkey_take=np.array([6553, 0]),  # ~10 %
        owner=np.array([0, 1]),
    )
    half = U64 // 2
    pieces, burned = r.parent_child_split(0, 10**9, keys, [(half, 1)], {}, 0, r.ratio(U64 // 100, U64))
    (parent, to_parent), (child, to_child) = pieces
    assert (parent, child) == (1, 0)
    # The child keeps all of its own stake (it gave nothing to children): contributions 1000 : 500.
    share = Fraction(10**9) * Fraction(500, 1500)
    net = share * (1 - Fraction(6553, 65535) - Fraction(1, 100))
    assert abs(to_parent - net) <= 2
    assert abs(burned - share / 100) <= 2
    assert to_parent + to_child + burned in range(10**9 - 3, 10**9 + 1)
    same_owner = r.Keys(
        keys.alpha_stake, keys.root_stake, keys.delegate_take, keys.childkey_take, np.array([0, 0])
    )
    pieces, burned = r.parent_child_split(0, 10**9, same_owner, [(half, 1)], {}, 0, r.ratio(U64 // 100, U64))
    assert burned == 0 and abs(pieces[0][1] - share) <= 1  # no take, no burn between one operator's keys


def test_block_split_by_hand() -> None:
    """One block: 18 % owner cut, half the rest to miners, root proportion 1/4 of the validators' half."""
    s = r.block_split(10**9, owner_cut_u16=11796, root_proportion_bits=r.ONE // 4)
    cut = Fraction(10**9) * Fraction(11796, 65535)
    rest = 10**9 - cut
    assert abs(s.owner_cut - cut) <= 1
    assert abs(s.server - rest / 2) <= 1
    assert abs(s.root - rest / 8) <= 1
    assert abs(s.validator - rest * 3 / 8) <= 1
    assert s.owner_cut + s.server + s.validator + s.root in range(10**9 - 3, 10**9 + 1)
    assert (
        r.block_split(10**9, owner_cut_u16=11796, root_proportion_bits=r.ONE // 4, root_sell=False).root == 0
    )
    off = r.block_split(10**9, owner_cut_u16=11796, owner_cut_enabled=False)
    assert off.owner_cut == 0 and off.server == 5 * 10**8


def test_staker_returns_per_1000_tao() -> None:
    """10 alpha of nominators' dividend on a 10 000 alpha pool is 0.1 % per epoch; at 20 epochs a day
    and 0.05 TAO per alpha, 1000 TAO buys 20 000 alpha and earns 400 alpha (20 TAO) a day."""
    rate = r.staker_rate(np.array([10 * 10**9]), np.array([10_000 * 10**9]))
    alpha, tao = r.staker_returns(rate, np.array([20.0]), np.array([0.05]))
    assert np.allclose(alpha, [400.0]) and np.allclose(tao, [20.0])
    assert np.isnan(r.staker_rate(np.array([1]), np.array([0]))).all()
    assert np.isnan(r.staker_returns(rate, np.array([20.0]), np.array([0.0]))[0]).all()


def test_inherited_stake_moves_proportions_between_parent_and_child() -> None:
    own = np.array([100 * 10**9, 300 * 10**9, 50 * 10**9])
    got = r.inherited_stake(own, {0: [(U64 // 4, 1)], 2: [(U64 // 2, 1)]})
    # Proportions are U96F32 (2^-32 steps): u64::MAX / 4 is a hair under 1/4, off by own / 2^32 rao.
    slack = 300 * 10**9 // 2**32 + 2
    assert abs(got[0] - 175 * 10**9) <= slack and abs(got[2] - 200 * 10**9) <= slack
    assert abs(got[1] - 75 * 10**9) <= 2 * slack
    assert own.sum() - 2 * slack <= got.sum() <= own.sum() + 2 * slack


def scalar_payout(e: dict) -> tuple[np.ndarray, ...]:
    """distribute's dividends, takes and nominator amounts written key by key with the module's
    U96F32 helpers (fx, fmul, fdiv, fsub, to_rao, ratio), as the chain's loop reads: the reference
    that the vectorised distribute must equal to the rao."""
    keys, parents = e["keys"], e["parents"]
    tw, burn = r.ratio(e["tao_weight"], U64), r.ratio(e["ck_burn"], U64)
    children_of: dict[int, list[tuple[int, int]]] = {}
    for child, plist in parents.items():
        for proportion, parent in plist:
            children_of.setdefault(parent, []).append((proportion, child))
    dividend: dict[int, int] = {}
    for uid, key in enumerate(e["uid_key"].tolist()):
        amount = int(e["validator_emission"][uid])
        if not parents.get(key):
            dividend[key] = dividend.get(key, 0) + max(amount, 0)
            continue
        pairs, _ = r.parent_child_split(key, amount, keys, parents[key], children_of, tw, burn)
        for recipient, paid in pairs:
            dividend[recipient] = dividend.get(recipient, 0) + paid
    alpha_parts, root_parts = {}, {}
    for key, amount in dividend.items():
        div = r.fx(amount)
        alpha = r.fx(int(keys.alpha_stake[key]))
        root_alpha = r.fmul(r.fx(int(keys.root_stake[key])), tw)
        root_parts[key] = r.fmul(div, r.fdiv(root_alpha, alpha + root_alpha))
        alpha_parts[key] = r.fsub(div, root_parts[key])
    total_alpha, total_root = sum(alpha_parts.values()), sum(root_parts.values())
    pot = e["pending_validator"] + (0 if e["server_emission"].sum() > 0 else e["pending_server"])
    out = [np.zeros(keys.size, dtype=np.int64) for _ in range(5)]
    for key, amount in dividend.items():
        take = r.ratio(int(keys.delegate_take[key]), r.U16_MAX)
        out[0][key] = amount
        for k, (pot_rao, part, total) in enumerate(
            ((pot, alpha_parts[key], total_alpha), (e["pending_root"], root_parts[key], total_root))
        ):
            share = r.fmul(r.fx(pot_rao), r.fdiv(part, total))
            out[1 + 2 * k][key] = r.to_rao(r.fmul(take, share))
            out[2 + 2 * k][key] = r.to_rao(r.fsub(share, r.fmul(take, share)))
    return tuple(out)


@given(epochs())
def test_distribute_equals_the_scalar_reference_to_the_rao(e: dict) -> None:
    """The vectorised payout (keys without parents summed in numpy, U96F32 steps inlined over the
    paying keys only) pays every key exactly what the key-by-key reference pays."""
    p = pay(e)
    expected = scalar_payout(e)
    got = (p.dividend, p.alpha_take, p.alpha_nominators, p.root_take, p.root_nominators)
    for name, a, b in zip(
        ("dividend", "alpha take", "alpha nom", "root take", "root nom"), got, expected, strict=True
    ):
        np.testing.assert_array_equal(a, b, err_msg=name)
