"""The money path of one subnet epoch, exact to the rao, and what it means for a staker.

Pure: integers and numpy arrays in, integers and numpy arrays out (no I/O). Written from a reading of
subtensor's coinbase (RaoFoundation/subtensor, ``pallets/subtensor/src/coinbase/run_coinbase/``:
``emission_injection.rs`` ``emit_to_subnets``, ``drain_pending_emissions.rs``,
``dividend_distribution.rs`` ``distribute_emission`` and the functions it calls), runtime spec ~459.

From E to the hotkeys (:func:`distribute`), in the chain's order and fixed-point type (U96F32: an
unsigned integer of 2^-32 units; multiply and divide floor, amounts are floored to u64 rao):

1. Per block the coinbase splits the subnet's alpha emission: the owner cut
   (``SubnetOwnerCut`` / 65535) goes to ``PendingOwnerCut``; of the rest half is the miners'
   (``PendingServerEmission``), half the validators', of which the root proportion goes to root
   stakers (``PendingRootAlphaDivs``) and the remainder to alpha stakers
   (``PendingValidatorEmission``). :func:`block_split` is that split for one block.
2. At the epoch the four pending amounts are drained; E = server + validator + root runs the Yuma
   epoch (``analytics.model.yuma``), which returns per uid a server (incentive) and a validator
   (dividend) amount. The owner cut is staked to the owner hotkey.
3. Miners: each hotkey's incentive is staked to it, except for the subnet owner's hotkeys, whose
   incentive is burned or recycled (``owner_immune`` here).
4. Validators: the epoch's validator amounts are shares. Each is first split among the hotkey and its
   parents (``get_parent_child_dividends_distribution``): by contribution = own alpha stake + own root
   stake x TaoWeight, scaled by the parent's proportion; a parent of another coldkey pays the child
   its childkey take and ``CKBurn`` (recycled) out of its share.
5. Each recipient's dividend is divided into an alpha part and a root part in proportion alpha stake :
   root stake x TaoWeight; the alpha parts share the pending validator alpha (the validator and server
   alpha when no miner earned), the root parts the pending root alpha.
6. The delegate take (``Delegates`` / 65535) is taken from each part; the rest is the nominators'. The
   chain records exactly these nominator amounts, floored, as ``AlphaDividendsPerSubnet`` and
   ``RootAlphaDividendsPerSubnet`` (cleared at each epoch of the subnet): :func:`distribute`
   reproduces them to the rao from the stored epoch outputs, takes, stakes and relations.

What the model does NOT reproduce (the chain records no per-epoch amount for it, or needs state we do
not store): miner collateral locks (``settle_miner_collateral`` may capture part of a miner's incentive
and of a validator's take: the take amounts here are before capture), the owner-cut auto-lock, lease
dividends, the childkey-threshold suspension of relations (stored relations are taken as active), and
the root-dividend payout after the epoch (credited to root claimable or a basket; we stop at the
amount credited). Stake changes between snapshots therefore do not equal these amounts.

For a staker (:func:`staker_returns`): a hotkey's nominator alpha is added to its stake pool, so each
unit of alpha staked to it earns nominator_alpha / pool per epoch, where pool = the hotkey's own alpha
stake on the subnet (``TotalHotkeyAlpha``, not the inherited stake). 1000 TAO staked today buys
1000 / price alpha at the spot price (no slippage or fee); per day = per epoch x epochs per day. The
TAO figure values that alpha at the same spot price.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from analytics.model.units import U16_MAX

FRAC = 32  # U96F32 fractional bits
ONE = 1 << FRAC
U64_MAX = (1 << 64) - 1


# --------------------------------------------------------------------------------------------------
# U96F32 arithmetic on Python ints (bits = value * 2^32)


def fx(n: int) -> int:
    """An integer as U96F32 bits (``saturating_from_num`` of an integer: exact)."""
    return max(int(n), 0) << FRAC


def fmul(a: int, b: int) -> int:
    """U96F32 multiply: floor(a * b / 2^32)."""
    return (a * b) >> FRAC


def fdiv(a: int, b: int) -> int:
    """U96F32 ``checked_div`` / ``safe_div``: floor(a * 2^32 / b), 0 when b is 0."""
    return 0 if b == 0 else (a << FRAC) // b


def fsub(a: int, b: int) -> int:
    """U96F32 ``saturating_sub``: never below 0."""
    return a - b if a > b else 0


def to_rao(a: int) -> int:
    """``saturating_to_num::<u64>()``: floor, capped at u64::MAX."""
    return min(a >> FRAC, U64_MAX)


def ratio(raw: int, denominator: int) -> int:
    """``U96F32::from(raw).safe_div(U96F32::from(denominator))``: a stored take or weight as a fraction."""
    return fdiv(fx(raw), fx(denominator))


# --------------------------------------------------------------------------------------------------
# One block's split of the subnet's alpha emission


@dataclass(frozen=True)
class BlockSplit:
    """What one block adds to each pending amount (rao)."""

    owner_cut: int
    server: int
    validator: int
    root: int


def block_split(
    alpha_out: int,
    *,
    owner_cut_u16: int,
    owner_cut_enabled: bool = True,
    root_proportion_bits: int = 0,
    root_sell: bool = True,
) -> BlockSplit:
    """The coinbase's per-block split of ``alpha_out`` rao (``emit_to_subnets``).

    root_proportion_bits is the U96F32 root proportion (TaoWeight x root TAO / (that + alpha
    issuance)). Without root selling the root part is recycled, not accumulated (root = 0 here).
    """
    rest = fx(alpha_out)
    cut = 0
    if owner_cut_enabled:
        cut_bits = fmul(rest, ratio(owner_cut_u16, U16_MAX))
        rest = fsub(rest, cut_bits)
        cut = to_rao(cut_bits)
    root_bits = fmul(fmul(root_proportion_bits, rest), ONE // 2)
    server_bits = fmul(rest, ONE // 2)
    validator_bits = fsub(fsub(rest, server_bits), root_bits)
    return BlockSplit(
        owner_cut=cut,
        server=to_rao(server_bits),
        validator=to_rao(validator_bits),
        root=to_rao(root_bits) if root_sell else 0,
    )


# --------------------------------------------------------------------------------------------------
# The epoch's payout


@dataclass(frozen=True)
class Keys:
    """The hotkeys that can receive money on the subnet (registered ones, then parents), as arrays.

    owner: an integer per hotkey naming its coldkey (equal integers = same coldkey; the childkey take
    is only paid between different coldkeys). Takes are raw u16; stakes are rao (own, not inherited).
    """

    alpha_stake: np.ndarray  # TotalHotkeyAlpha on the subnet
    root_stake: np.ndarray  # TotalHotkeyAlpha on root (TAO)
    delegate_take: np.ndarray  # u16
    childkey_take: np.ndarray  # u16, effective
    owner: np.ndarray  # coldkey id

    @property
    def size(self) -> int:
        return len(self.alpha_stake)


@dataclass(frozen=True)
class Payout:
    """Where E (and the owner cut) went, per hotkey index of :class:`Keys` (rao, int64 arrays)."""

    incentive: np.ndarray  # miner incentive staked to the hotkey
    incentive_burned: np.ndarray  # owner hotkeys' incentive, burned or recycled
    dividend: np.ndarray  # after the parent/child split (incl. childkey take), before alpha/root split
    alpha_take: np.ndarray  # delegate take on the alpha part (before any collateral capture)
    alpha_nominators: np.ndarray  # = AlphaDividendsPerSubnet
    root_take: np.ndarray
    root_nominators: np.ndarray  # = RootAlphaDividendsPerSubnet
    ck_burn: np.ndarray  # CKBurn recycled per child: computed on parents' shares, NOT taken out of E
    owner_cut: int
    epoch_emission: int  # E
    unpaid: int  # rao of E + owner cut left by the floors, or by a pot no recipient could share
    alpha_pot: int = 0  # the pending validator alpha the alpha parts shared
    root_pot: int = 0
    detail: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    @property
    def paid(self) -> int:
        """Everything E and the owner cut paid out (credited, or burned for owner hotkeys), rao.

        The CKBurn is not part of it: the dividend amounts only set proportions, the validators
        share all of the pending alpha, and the burn is recycled on top (chain_now.md)."""
        parts = (
            self.incentive,
            self.incentive_burned,
            self.alpha_take,
            self.alpha_nominators,
            self.root_take,
            self.root_nominators,
        )
        return int(sum(int(p.sum()) for p in parts)) + self.owner_cut


def parent_child_split(
    child: int,
    amount: int,
    keys: Keys,
    parents: Sequence[tuple[int, int]],
    children_of: dict[int, list[tuple[int, int]]],
    tao_weight_bits: int,
    ck_burn_bits: int,
) -> tuple[list[tuple[int, int]], int]:
    """``get_parent_child_dividends_distribution``: (recipient, rao) pairs, parents first then the
    child itself, and the rao recycled as CKBurn (floored per parent)."""
    validating = fx(amount)
    remaining = validating
    take_bits = ratio(int(keys.childkey_take[child]), U16_MAX)

    def contribution(key: int, proportion_bits: int) -> int:
        alpha = fx(int(keys.alpha_stake[key]))
        root = fx(int(keys.root_stake[key]))
        return fmul(alpha, proportion_bits) + fmul(fmul(root, proportion_bits), tao_weight_bits)

    left = ONE  # get_self_contribution: the part of its own stake the child did not give away
    for proportion, _ in children_of.get(child, []):
        left = fsub(left, ratio(proportion, U64_MAX))
    total = fx(to_rao(contribution(child, left)))
    shares = []
    for proportion, parent in parents:
        c = contribution(parent, ratio(proportion, U64_MAX))
        total += c
        shares.append((parent, c))
    out: list[tuple[int, int]] = []
    child_take = 0
    burned = 0
    for parent, c in shares:
        emission = fmul(validating, fdiv(c, total))
        remaining = fsub(remaining, emission)
        if int(keys.owner[parent]) != int(keys.owner[child]):
            burn = fmul(ck_burn_bits, emission)
            take = fmul(take_bits, emission)
            emission = fsub(fsub(emission, burn), take)
            child_take += take
            burned += to_rao(burn)
        out.append((parent, to_rao(emission)))
    out.append((child, to_rao(remaining + child_take)))
    return out, burned


def distribute(
    uid_key: np.ndarray,
    server_emission: np.ndarray,
    validator_emission: np.ndarray,
    keys: Keys,
    *,
    pending_server: int,
    pending_validator: int,
    pending_root: int,
    owner_cut: int = 0,
    tao_weight: int,
    ck_burn: int = 0,
    parents: dict[int, list[tuple[int, int]]] | None = None,
    owner_immune: np.ndarray | None = None,
) -> Payout:
    """Pay one epoch as ``distribute_emission`` does (see the module docstring, steps 2-6).

    uid_key maps each uid to its index in ``keys``; server_emission / validator_emission are the
    epoch's per-uid amounts (rao, summed over mechanisms). parents maps a child key index to its
    (proportion u64, parent key index) list in storage order. owner_immune marks the key indices whose
    incentive is burned (the subnet owner's hotkeys). tao_weight and ck_burn are the raw u64 values.
    """
    parents = parents or {}
    k = keys.size
    tw = ratio(int(tao_weight), U64_MAX)
    burn_bits = ratio(int(ck_burn), U64_MAX)
    children_of: dict[int, list[tuple[int, int]]] = {}
    for c, plist in parents.items():
        for proportion, p in plist:
            children_of.setdefault(p, []).append((proportion, c))

    incentive = np.zeros(k, dtype=np.int64)
    burned_inc = np.zeros(k, dtype=np.int64)
    ck_burned = np.zeros(k, dtype=np.int64)
    immune = np.zeros(k, dtype=bool) if owner_immune is None else np.asarray(owner_immune, dtype=bool)
    server = np.asarray(server_emission, dtype=np.int64)
    validator = np.asarray(validator_emission, dtype=np.int64)
    uid_keys = np.asarray(uid_key, dtype=np.int64)
    # uid i is key i (check's case): each key is one uid's, so an indexed += adds what np.add.at adds
    one_each = len(uid_keys) <= k and bool((uid_keys == np.arange(len(uid_keys))).all())
    add = _add_unique if one_each else np.add.at
    burned_uid = immune[uid_keys]
    add(burned_inc, uid_keys[burned_uid], server[burned_uid])
    add(incentive, uid_keys[~burned_uid], server[~burned_uid])
    # Keys without parents keep their whole amount (what parent_child_split returns then, without
    # its U96F32 round trip, exact for any u64 amount; negative amounts pay nothing): summed at once.
    # Python ints from here on: U96F32 values overflow int64.
    has_parents = np.zeros(k, dtype=bool)
    has_parents[[key for key, plist in parents.items() if plist and 0 <= key < k]] = True
    own = ~has_parents[uid_keys]
    summed = np.zeros(k, dtype=np.int64)
    add(summed, uid_keys[own], np.maximum(validator[own], 0))
    earning = np.flatnonzero(summed)
    dividend = dict(zip(earning.tolist(), summed[earning].tolist(), strict=True))
    for uid in np.flatnonzero(~own).tolist():
        key = int(uid_keys[uid])
        pairs, burned = parent_child_split(
            key, int(validator[uid]), keys, parents[key], children_of, tw, burn_bits
        )
        ck_burned[key] += burned
        for recipient, paid in pairs:
            dividend[recipient] = dividend.get(recipient, 0) + paid

    # Only keys with a dividend have parts, takes or nominator amounts (a zero dividend's are zero).
    paying = [key for key, amount in dividend.items() if amount != 0]
    alpha_stake = keys.alpha_stake[paying].tolist()
    root_stake = keys.root_stake[paying].tolist()
    alpha_parts: list[int] = []
    root_parts: list[int] = []
    for key, alpha_rao, root_rao in zip(paying, alpha_stake, root_stake, strict=True):
        # The chain's U96F32 steps (fx, fmul, fdiv, fsub) inlined and simplified where exact: a
        # value of fx() has 32 zero low bits, so fmul(fx(a), b) = a * b; the root share is at most
        # ONE, so root_divs <= div and fsub is a plain difference.
        amount = dividend[key]  # > 0
        root_alpha = max(root_rao, 0) * tw
        whole = (max(alpha_rao, 0) << FRAC) + root_alpha
        root_divs = 0 if whole == 0 else amount * ((root_alpha << FRAC) // whole)
        alpha_parts.append((amount << FRAC) - root_divs)
        root_parts.append(root_divs)
    total_alpha = sum(alpha_parts)
    total_root = sum(root_parts)

    div_out = np.zeros(k, dtype=np.int64)
    div_out[list(dividend)] = list(dividend.values())
    a_take, a_nom, r_take, r_nom = (np.zeros(k, dtype=np.int64) for _ in range(4))
    alpha_pot = pending_validator if int(server.sum()) > 0 else pending_validator + pending_server
    pot_alpha, pot_root = max(int(alpha_pot), 0), max(int(pending_root), 0)  # as fx() takes them
    take_of: dict[int, int] = {}  # ratio(take, U16_MAX) per distinct take (most keys share one)
    out_a_take, out_a_nom, out_r_take, out_r_nom = [], [], [], []
    for take_raw, alpha_part, root_part in zip(
        keys.delegate_take[paying].tolist(), alpha_parts, root_parts, strict=True
    ):
        take_bits = take_of.get(take_raw)
        if take_bits is None:
            take_bits = take_of[take_raw] = ratio(take_raw, U16_MAX)
        # fmul(fx(pot), share) = pot * share: fx() leaves 32 zero low bits
        prop_alpha = 0 if total_alpha == 0 else pot_alpha * ((alpha_part << FRAC) // total_alpha)
        take = take_bits * prop_alpha >> FRAC
        out_a_take.append(min(take >> FRAC, U64_MAX))
        out_a_nom.append(min((prop_alpha - take if prop_alpha > take else 0) >> FRAC, U64_MAX))
        root_alpha = 0 if total_root == 0 else pot_root * ((root_part << FRAC) // total_root)
        take = take_bits * root_alpha >> FRAC
        out_r_take.append(min(take >> FRAC, U64_MAX))
        out_r_nom.append(min((root_alpha - take if root_alpha > take else 0) >> FRAC, U64_MAX))
    if paying:
        a_take[paying], a_nom[paying] = out_a_take, out_a_nom
        r_take[paying], r_nom[paying] = out_r_take, out_r_nom

    epoch_emission = int(pending_server) + int(pending_validator) + int(pending_root)
    payout = Payout(
        incentive=incentive,
        incentive_burned=burned_inc,
        dividend=div_out,
        alpha_take=a_take,
        alpha_nominators=a_nom,
        root_take=r_take,
        root_nominators=r_nom,
        ck_burn=ck_burned,
        owner_cut=int(owner_cut),
        epoch_emission=epoch_emission,
        unpaid=0,  # set below from Payout.paid
        alpha_pot=int(alpha_pot),
        root_pot=int(pending_root),
        detail={  # U96F32 totals of the parts; a zero total leaves its pot unpaid, as on chain
            "alpha_parts_total": np.array([total_alpha], dtype=object),
            "root_parts_total": np.array([total_root], dtype=object),
        },
    )
    return replace(payout, unpaid=epoch_emission + int(owner_cut) - payout.paid)


def _add_unique(target: np.ndarray, at: np.ndarray, values: np.ndarray) -> None:
    """np.add.at for indices known to be distinct: one indexed +=, several times cheaper."""
    target[at] += values


# --------------------------------------------------------------------------------------------------
# What a staker earns


def staker_rate(nominator_alpha_rao: np.ndarray, pool_alpha_rao: np.ndarray) -> np.ndarray:
    """Alpha earned per alpha staked in one epoch: nominator alpha / the hotkey's own alpha pool.
    NaN where the pool is empty or the amount unknown (NaN in)."""
    amount = np.asarray(nominator_alpha_rao, dtype=np.float64)
    pool = np.asarray(pool_alpha_rao, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = amount / pool
    return np.where(pool > 0, rate, np.nan)


def staker_returns(
    rate_per_epoch: np.ndarray,
    epochs_per_day: np.ndarray,
    price_tao_per_alpha: np.ndarray,
    stake_tao: float = 1000.0,
) -> tuple[np.ndarray, np.ndarray]:
    """(alpha, TAO) earned per day by ``stake_tao`` TAO staked at the spot price, after every take.

    alpha = stake_tao / price x rate x epochs per day; TAO = that alpha x price (same spot price, no
    slippage). NaN where the price is missing or not positive.
    """
    rate = np.asarray(rate_per_epoch, dtype=np.float64)
    epd = np.asarray(epochs_per_day, dtype=np.float64)
    price = np.asarray(price_tao_per_alpha, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha = np.where(price > 0, stake_tao / price * rate * epd, np.nan)
    return alpha, alpha * price


def inherited_stake(
    own: np.ndarray, parents: dict[int, list[tuple[int, int]]], *, size: int | None = None
) -> np.ndarray:
    """Each key's stake after parent/child inheritance (yuma.md §4.2): own - given to children +
    received from parents, each term own x proportion / u64::MAX in U96F32, floored to rao.

    own is indexed by key; parents maps a child to its (proportion u64, parent) list. ``size`` limits
    the output to the first keys (the registered uids)."""
    own = np.asarray(own, dtype=np.int64)
    given = [0] * len(own)
    received = [0] * len(own)
    for child, plist in parents.items():
        for proportion, parent in plist:
            share = ratio(int(proportion), U64_MAX)
            given[parent] += fmul(fx(int(own[parent])), share)
            received[child] += fmul(fx(int(own[parent])), share)
    out = np.array(
        [to_rao(fsub(fx(int(o)) + received[k], given[k])) for k, o in enumerate(own)], dtype=np.int64
    )
    return out if size is None else out[:size]
