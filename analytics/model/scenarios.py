"""What-if scenarios: the changes :mod:`analytics.model.simulate` can replay, and their registry.

Scenarios are small frozen dataclasses; each has a one-token text form (its ``spec``) used by the CLI and by
the What-if page's URL. :data:`KINDS` describes each kind once: the token's head and pattern, how a match
becomes a scenario (validation happens in the dataclass), its usage and grammar line, the page's label, the
builder's form fields, how the form's values make a token, and an example. :func:`parse_scenario`,
:data:`USAGE` and :data:`SCENARIO_GRAMMAR` are made from it, and so is the page's builder.

Pure: stdlib only.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from analytics.errors import InputError
from analytics.model.units import U16_MAX

U64_LIMIT = 2**63 - 1  # stake stays within the signed 64-bit range numpy holds
# Scale factors and relative weights: 0 or within these bounds. u16 weights times 1e18 and rao stakes
# times 1e-18 stay finite, normal floats; beyond them a product overflows to inf or underflows.
MIN_FACTOR, MAX_FACTOR = 1e-18, 1e18
MAX_DIGITS = 30  # an integer in a scenario longer than this is out of every range (and slow to convert)


class ScenarioError(InputError):
    """A scenario that cannot be applied; the message is one line meant for the user."""


def _num(value: float) -> str:
    """Shortest text for a number that parses back to the same float (2.0 -> '2')."""
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else repr(float(value))


def _unit(name: str, value: float) -> None:
    if not (math.isfinite(value) and 0.0 <= value <= 1.0):
        raise ScenarioError(f"{name} must be between 0 and 1, got {_num(value)}")


def _factor(spec: str, value: float) -> None:
    """A scale factor: 0, or between MIN_FACTOR and MAX_FACTOR (beyond them u16 weights and rao stakes
    overflow or vanish into float noise)."""
    if not (math.isfinite(value) and (value == 0.0 or MIN_FACTOR <= value <= MAX_FACTOR)):
        raise ScenarioError(
            f"scenario {spec!r}: the factor must be 0 or between {MIN_FACTOR:g} and {MAX_FACTOR:g}"
        )


def _stake(spec: str, rao: int) -> None:
    if not 0 <= rao <= U64_LIMIT:
        raise ScenarioError(f"scenario {spec!r}: stake must be between 0 and {U64_LIMIT} rao")


def _uid(value: int) -> None:
    if value < 0:
        raise ScenarioError(f"uid {value} is not a uid (uids start at 0)")


# --------------------------------------------------------------------------------------------------------
# Scenario kinds


class _Spelled:
    """A scenario kind whose subclasses spell their token as class keywords (``head=``, and ``field=`` and
    ``scale=`` for a hyperparameter), kept upper-case on the class: ``class Kappa(_Fraction, head="kappa", ...)``."""

    HEAD: ClassVar[str]

    def __init_subclass__(cls, **spelling: Any) -> None:
        super().__init_subclass__()
        for name, value in spelling.items():
            setattr(cls, name.upper(), value)


@dataclass(frozen=True)
class _OneUid(_Spelled):
    """A scenario about one uid, written ``HEAD:uid`` and then its ``_tail`` (a figure of its own, if any)."""

    uid: int

    def __post_init__(self) -> None:
        _uid(self.uid)
        self._check()

    def _check(self) -> None:
        """Raise ScenarioError when a figure of the subclass's is out of range (the uid is checked already)."""

    def _tail(self) -> str:
        return ""

    @property
    def spec(self) -> str:
        return f"{self.HEAD}:{self.uid}{self._tail()}"


class FollowConsensus(_OneUid, head="consensus"):
    """``uid`` sets its weights to this epoch's consensus, as if it knew everybody else's weights."""


class LagConsensus(_OneUid, head="lagcopy"):
    """``uid`` copies the previous epoch's consensus, which the chain shows until the next epoch."""


class ZeroWeights(_OneUid, head="zero"):
    """``uid`` stops: its weight row is emptied from the first epoch (Tv 0 at once)."""


class StopSettingWeights(_OneUid, head="stop"):
    """``uid`` stops re-setting weights: its row stays, its last_update freezes, it goes inactive."""


class LateWeights(_OneUid, head="late"):
    """``uid``'s weights arrive one epoch late: each epoch it uses the row it would have set the epoch before."""


@dataclass(frozen=True)
class CopyValidator(_OneUid, head="copy"):
    """``uid`` copies validator ``source``'s weight row (as it stands on chain that epoch)."""

    source: int

    def _check(self) -> None:
        _uid(self.source)
        if self.uid == self.source:
            raise ScenarioError(f"scenario {self.spec!r}: a validator cannot copy itself")

    def _tail(self) -> str:
        return f"={self.source}"


@dataclass(frozen=True)
class SetStake(_OneUid, head="stake"):
    """``uid``'s stake set to ``rao`` of alpha (and no root stake)."""

    rao: int

    def _check(self) -> None:
        _stake(self.spec, self.rao)

    def _tail(self) -> str:
        return f"={self.rao}"


@dataclass(frozen=True)
class EditWeights(_OneUid, head="weights"):
    """``uid`` sets an edited weight vector: ``weights`` = ((miner, relative weight), ...)."""

    weights: tuple[tuple[int, float], ...]

    def _check(self) -> None:
        miners = [j for j, _ in self.weights]
        values = [w for _, w in self.weights]
        if (
            not self.weights
            or not all(math.isfinite(w) and (w == 0 or MIN_FACTOR <= w <= MAX_FACTOR) for w in values)
            or max(values) <= 0
        ):
            raise ScenarioError(
                f"scenario {self.spec!r}: not a weight vector (weights must be 0 or between "
                f"{MIN_FACTOR:g} and {MAX_FACTOR:g}, one of them > 0)"
            )
        if len(set(miners)) != len(miners):
            raise ScenarioError(f"scenario {self.spec!r}: not a weight vector (a miner appears twice)")
        for j in miners:
            _uid(j)

    def _tail(self) -> str:
        return "=" + ",".join(f"{j}:{_num(w)}" for j, w in self.weights)


@dataclass(frozen=True)
class _Scaled(_OneUid):
    """A uid's figure multiplied by ``factor``, written ``HEAD:uid*factor``."""

    factor: float

    def _check(self) -> None:
        _factor(self.spec, self.factor)

    def _tail(self) -> str:
        return "*" + _num(self.factor)


class ScaleStake(_Scaled, head="stake"):
    """``uid``'s stake (alpha and root) multiplied by ``factor``."""


class ScaleMiner(_Scaled, head="miner"):
    """Every validator's weight on miner ``uid`` multiplied by ``factor`` (rows re-upscaled as the chain stores them)."""


@dataclass(frozen=True)
class _Fraction(_Spelled):
    """A hyperparameter in [0, 1], written ``HEAD=value``, stored as round(value * SCALE) in ``FIELD``."""

    FIELD: ClassVar[str]
    SCALE: ClassVar[int] = U16_MAX
    value: float

    def __post_init__(self) -> None:
        _unit(self.HEAD, self.value)

    @property
    def spec(self) -> str:
        return f"{self.HEAD}={_num(self.value)}"

    def params(self) -> dict[str, object]:
        return {self.FIELD: round(self.value * self.SCALE)}


class Kappa(_Fraction, head="kappa", field="kappa"):
    """Consensus quantile kappa in [0, 1]; stored as round(value * 65535)."""


class BondsMovingAverage(_Fraction, head="bma", field="bonds_moving_average", scale=1_000_000):
    """Bonds moving average in [0, 1] (0.9 = the chain's 900_000: bonds move 10 % per epoch)."""


class BondsPenalty(_Fraction, head="penalty", field="bonds_penalty"):
    """Bonds penalty in [0, 1]: 1 builds bonds on clipped weights, 0 on raw weights."""


@dataclass(frozen=True)
class _Switch(_Spelled):
    """A hyperparameter switched on or off, written ``HEAD=on|off``."""

    FIELD: ClassVar[str]
    on: bool

    @property
    def spec(self) -> str:
        return f"{self.HEAD}={'on' if self.on else 'off'}"

    def params(self) -> dict[str, object]:
        return {self.FIELD: self.on}


class Yuma3(_Switch, head="yuma3", field="yuma3"):
    """Yuma3 bonds on or off (off = the original Yuma)."""


class LiquidAlpha(_Switch, head="liquid", field="liquid_alpha"):
    """Liquid alpha on or off (the chain uses it with Yuma3 only)."""


@dataclass(frozen=True)
class AlphaRange:
    """Liquid alpha bounds (alpha low, alpha high) in [0, 1], low <= high."""

    low: float
    high: float

    def __post_init__(self) -> None:
        _unit("alpha low", self.low)
        _unit("alpha high", self.high)
        if self.low > self.high:
            raise ScenarioError(f"scenario {self.spec!r}: alpha low must not exceed alpha high")

    @property
    def spec(self) -> str:
        return f"alpha={_num(self.low)},{_num(self.high)}"

    def params(self) -> dict[str, object]:
        return {"alpha_low": round(self.low * U16_MAX), "alpha_high": round(self.high * U16_MAX)}


@dataclass(frozen=True)
class MaxValidators:
    """Maximum number of validator permits (top-K stake)."""

    count: int

    def __post_init__(self) -> None:
        if not 1 <= self.count <= U16_MAX:
            raise ScenarioError(f"maxval must be between 1 and {U16_MAX}, got {self.count}")

    @property
    def spec(self) -> str:
        return f"maxval={self.count}"

    def params(self) -> dict[str, object]:
        return {"max_allowed_validators": self.count}


WeightScenario = FollowConsensus | LagConsensus | CopyValidator | EditWeights | ZeroWeights
ParamScenario = Kappa | BondsMovingAverage | BondsPenalty | Yuma3 | LiquidAlpha | AlphaRange | MaxValidators
Scenario = (
    WeightScenario | StopSettingWeights | LateWeights | ScaleStake | SetStake | ScaleMiner | ParamScenario
)

WEIGHT_SCENARIOS = (FollowConsensus, LagConsensus, CopyValidator, EditWeights, ZeroWeights)
PARAM_SCENARIOS = (Kappa, BondsMovingAverage, BondsPenalty, Yuma3, LiquidAlpha, AlphaRange, MaxValidators)


# --------------------------------------------------------------------------------------------------------
# The registry

_INT = rf"(\d{{1,{MAX_DIGITS}}})"
_FLOAT = r"([0-9]*\.?[0-9]+(?:[eE][-+]?\d+)?)"
_SWITCH = {"on": True, "off": False, "true": True, "false": False, "1": True, "0": False}


def _switch(spec: str, text: str) -> bool:
    if text.lower() not in _SWITCH:
        raise ScenarioError(f"scenario {spec!r}: expected on or off")
    return _SWITCH[text.lower()]


def _parse_edit(spec: str, uid: str, body: str) -> EditWeights:
    pairs: list[tuple[int, float]] = []
    for item in body.split(","):
        m = re.fullmatch(rf"\s*{_INT}\s*:\s*{_FLOAT}\s*", item)
        if not m:
            raise ScenarioError(
                f"scenario {spec!r}: not a weight vector (expected MINER:WEIGHT,... e.g. 17:1,18:0.5)"
            )
        pairs.append((int(m[1]), float(m[2])))
    return EditWeights(int(uid), tuple(pairs))


FieldKind = Literal["validator", "source", "miner", "text", "number", "fraction", "switch", "range", "count"]


@dataclass(frozen=True)
class FormField:
    """One input of the page's scenario builder; its value reaches :attr:`ScenarioKind.form` as ``values[name]``.

    ``current`` names the subnet's stored hyperparameter (and its scale) that the field starts from."""

    name: str
    label: str
    kind: FieldKind
    key: str  # the widget's key
    default: Any = None
    low: float | None = None
    high: float | None = None
    step: float | None = None
    current: tuple[str, float] | None = None


@dataclass(frozen=True)
class ScenarioKind:
    """One kind of scenario, described once: the CLI grammar, the parser, the page's label and form."""

    key: str  # the builder's choice (``stake*`` and ``stake=`` share the head ``stake``)
    head: str  # the token's first word
    label: str  # the What-if page's name for it
    usage: str  # the expected form, for the message about a malformed token
    grammar: str  # its lines of SCENARIO_GRAMMAR ("" where another kind's line covers it)
    pattern: str  # the whole token, a regular expression
    build: Callable[[str, re.Match[str]], Scenario]  # spec, match -> scenario (its dataclass validates)
    fields: tuple[FormField, ...]
    form: Callable[[Mapping[str, Any]], str]  # the builder's values -> the token
    example: str


def _uid_kind(
    cls: type[FollowConsensus | LagConsensus | ZeroWeights | StopSettingWeights | LateWeights],
    label: str,
    grammar: str,
) -> ScenarioKind:
    head = cls.HEAD
    return ScenarioKind(
        head,
        head,
        label,
        f"{head}:U",
        f"  {head}:U".ljust(21) + grammar,
        rf"{head}:{_INT}",
        lambda s, m: cls(int(m[1])),
        (VALIDATOR,),
        lambda v: f"{head}:{v['uid']}",
        f"{head}:5",
    )


def _fraction_kind(
    cls: type[Kappa | BondsMovingAverage | BondsPenalty], label: str, grammar: str, column: str, scale: float
) -> ScenarioKind:
    head = cls.HEAD
    return ScenarioKind(
        head,
        head,
        label,
        f"{head}=X with X between 0 and 1",
        f"  {head}=X".ljust(21) + grammar,
        rf"{head}=(-?{_FLOAT})",
        lambda s, m: cls(float(m[1])),
        (
            FormField(
                "value",
                label,
                "fraction",
                f"whatif_{head}",
                low=0.0,
                high=1.0,
                step=0.01,
                current=(column, scale),
            ),
        ),
        lambda v: f"{head}={v['value']:g}",
        f"{head}=0.5",
    )


def _switch_kind(cls: type[Yuma3 | LiquidAlpha], label: str, grammar: str, column: str) -> ScenarioKind:
    head = cls.HEAD
    return ScenarioKind(
        head,
        head,
        label,
        f"{head}=on or {head}=off",
        f"  {head}=on|off".ljust(21) + grammar,
        rf"{head}=(\w+)",
        lambda s, m: cls(_switch(s, m[1])),
        (FormField("on", "on", "switch", f"whatif_{head}_on", current=(column, 1)),),
        lambda v: f"{head}={'on' if v['on'] else 'off'}",
        f"{head}=on",
    )


VALIDATOR = FormField("uid", "Validator", "validator", "whatif_uid")

KINDS: tuple[ScenarioKind, ...] = (
    _uid_kind(
        FollowConsensus,
        "Validator follows consensus",
        "U sets its weights to this epoch's consensus (knowing the others' weights)",
    ),
    ScenarioKind(
        "copy",
        "copy",
        "Validator copies another validator",
        "copy:U=V",
        "  copy:U=V           U copies validator V's weight row every epoch",
        rf"copy:{_INT}={_INT}",
        lambda s, m: CopyValidator(int(m[1]), int(m[2])),
        (VALIDATOR, FormField("source", "copies", "source", "whatif_src")),
        lambda v: f"copy:{v['uid']}={v['source']}",
        "copy:5=12",
    ),
    _uid_kind(
        LagConsensus,
        "Validator copies last epoch's consensus",
        "U copies the previous epoch's consensus (a weight copier that lags one epoch)",
    ),
    ScenarioKind(
        "weights",
        "weights",
        "Validator sets its own weights",
        "weights:U=J:x,J:x,... (e.g. weights:5=17:1,18:0.5)",
        "  weights:U=J:x,...  U sets an edited vector, e.g. weights:5=17:1,18:0.5 (relative, >= 0)",
        rf"weights:{_INT}=(.+)",
        lambda s, m: _parse_edit(s, m[1], m[2]),
        (VALIDATOR, FormField("vector", "Weights (miner:weight, …)", "text", "whatif_vector", default="1:1")),
        lambda v: f"weights:{v['uid']}={v['vector']}",
        "weights:5=17:1,18:0.5",
    ),
    _uid_kind(
        LateWeights,
        "Validator's weights arrive one epoch late",
        "U's weights arrive one epoch late (it uses what it set the epoch before)",
    ),
    _uid_kind(
        ZeroWeights,
        "Validator stops (weights emptied)",
        "U stops: its weight row is emptied from the first epoch",
    ),
    _uid_kind(
        StopSettingWeights,
        "Validator stops re-setting weights (goes stale)",
        "U stops re-setting weights: they go stale after the activity cutoff",
    ),
    ScenarioKind(
        "stake*",
        "stake",
        "Scale a validator's stake",
        "stake:U*F or stake:U=RAO",
        "  stake:U*F          scale U's stake by F          stake:U=RAO   set U's stake in rao",
        rf"stake:{_INT}\*{_FLOAT}",
        lambda s, m: ScaleStake(int(m[1]), float(m[2])),
        (VALIDATOR, FormField("factor", "× factor", "number", "whatif_factor", 2.0, 0.0, 1000.0, 0.5)),
        lambda v: ScaleStake(v["uid"], v["factor"]).spec,
        "stake:5*2",
    ),
    ScenarioKind(
        "stake=",
        "stake",
        "Set a validator's stake",
        "stake:U*F or stake:U=RAO",
        "",
        rf"stake:{_INT}={_INT}",
        lambda s, m: SetStake(int(m[1]), int(m[2])),
        (VALIDATOR, FormField("alpha", "stake (alpha)", "number", "whatif_alpha", 1000.0, 0.0, 1e10)),
        lambda v: f"stake:{v['uid']}={round(v['alpha'] * 1e9)}",
        "stake:5=1000000000",
    ),
    ScenarioKind(
        "miner",
        "miner",
        "Miner gets better or worse",
        "miner:J*F",
        "  miner:J*F          scale every validator's weight on miner J by F (a better or worse miner)",
        rf"miner:{_INT}\*{_FLOAT}",
        lambda s, m: ScaleMiner(int(m[1]), float(m[2])),
        (
            FormField("uid", "Miner", "miner", "whatif_miner"),
            FormField("factor", "× weight", "number", "whatif_mfactor", 0.5, 0.0, 100.0, 0.1),
        ),
        lambda v: ScaleMiner(v["uid"], v["factor"]).spec,
        "miner:13*0.5",
    ),
    _fraction_kind(
        Kappa, "Kappa (consensus quantile)", "consensus quantile, 0..1 (chain default 0.5)", "kappa", U16_MAX
    ),
    _fraction_kind(
        BondsMovingAverage,
        "Bonds moving average",
        "bonds moving average, 0..1 (chain default 0.9)",
        "bonds_moving_avg",
        1e6,
    ),
    _fraction_kind(
        BondsPenalty, "Bonds penalty", "bonds penalty, 0..1 (chain default 1)", "bonds_penalty", U16_MAX
    ),
    _switch_kind(Yuma3, "Yuma version", "Yuma3 bonds instead of the original Yuma", "yuma3"),
    _switch_kind(LiquidAlpha, "Liquid alpha", "liquid alpha (used with Yuma3 only)", "liquid_alpha"),
    ScenarioKind(
        "alpha",
        "alpha",
        "Liquid alpha bounds",
        "alpha=LOW,HIGH (e.g. alpha=0.7,0.9)",
        "  alpha=LOW,HIGH     liquid alpha bounds, 0..1 (chain default 0.7,0.9)",
        rf"alpha=(-?{_FLOAT}),(-?{_FLOAT})",
        lambda s, m: AlphaRange(float(m[1]), float(m[3])),
        (FormField("range", "alpha low, high", "range", "whatif_alpha_range", (0.7, 0.9), 0.0, 1.0, 0.01),),
        lambda v: f"alpha={v['range'][0]:g},{v['range'][1]:g}",
        "alpha=0.7,0.9",
    ),
    ScenarioKind(
        "maxval",
        "maxval",
        "Maximum validators",
        "maxval=K",
        "  maxval=K           maximum number of validator permits",
        rf"maxval=(-?\d{{1,{MAX_DIGITS}}})",
        lambda s, m: MaxValidators(int(m[1])),
        (
            FormField(
                "count",
                "permits",
                "count",
                "whatif_maxval",
                low=1,
                high=U16_MAX,
                current=("max_validators", 1),
            ),
        ),
        lambda v: f"maxval={int(v['count'])}",
        "maxval=32",
    ),
)

# The order SCENARIO_GRAMMAR lists the kinds in (the page lists them by KINDS' order).
_GRAMMAR_ORDER = (
    "consensus",
    "lagcopy",
    "copy",
    "weights",
    "zero",
    "stop",
    "late",
    "stake*",
    "stake=",
    "miner",
)
KIND_BY_KEY: dict[str, ScenarioKind] = {k.key: k for k in KINDS}
_GRAMMAR_KINDS = [KIND_BY_KEY[k] for k in _GRAMMAR_ORDER] + [k for k in KINDS if k.key not in _GRAMMAR_ORDER]

SCENARIO_GRAMMAR = "\n".join(
    ["Scenarios (repeat --scenario; they combine; U = validator uid, J = miner uid):"]
    + [k.grammar for k in _GRAMMAR_KINDS if k.grammar]
)
# The form of each scenario, for the message about a malformed one (same words as SCENARIO_GRAMMAR).
USAGE: dict[str, str] = {k.head: k.usage for k in _GRAMMAR_KINDS}
_PARSERS = [(re.compile(k.pattern), k.build) for k in _GRAMMAR_KINDS]


def parse_scenario(text: str) -> Scenario:
    """Parse one scenario token (see ``SCENARIO_GRAMMAR``); raise :class:`ScenarioError` with a user message."""
    spec = text.strip().replace(" ", "")
    for pattern, build in _PARSERS:
        m = pattern.fullmatch(spec)
        if m:
            try:
                return build(spec, m)
            except ScenarioError as exc:
                msg = str(exc).replace(repr(spec), repr(shorten(spec)))  # a pasted megabyte stays short
                raise ScenarioError(
                    msg if msg.startswith("scenario ") else f"scenario {shorten(spec)!r}: {msg}"
                ) from None
    head = re.split(r"[:=]", spec, maxsplit=1)[0]
    shown = shorten(text.strip())
    if head in USAGE:
        raise ScenarioError(f"scenario {shown!r} is malformed; expected {USAGE[head]}")
    raise ScenarioError(f"unknown scenario {shown!r}; expected one of: {', '.join(sorted(USAGE))}")


def shorten(text: str, limit: int = 60) -> str:
    """A token as echoed in a message: at most ``limit`` characters (a pasted megabyte stays one short line)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def parse_scenarios(texts: Iterable[str]) -> tuple[Scenario, ...]:
    """Parse several tokens and check they combine (see :func:`check_combination`)."""
    scenarios = tuple(parse_scenario(t) for t in texts if t.strip())
    check_combination(scenarios)
    return scenarios


def scenario_uids(scenario: Scenario) -> tuple[int, ...]:
    """The uids a scenario names (target first, then a copied source)."""
    if isinstance(scenario, CopyValidator):
        return (scenario.uid, scenario.source)
    if isinstance(scenario, EditWeights):
        return (scenario.uid, *(j for j, _ in scenario.weights))
    uid = getattr(scenario, "uid", None)
    return () if uid is None else (uid,)


def check_combination(scenarios: Sequence[Scenario]) -> None:
    """Reject combinations that contradict each other: two rows for one uid, one setting given twice, copy cycles."""
    seen_rows: dict[int, str] = {}
    seen_kind: dict[tuple[type, int | None], str] = {}
    for s in scenarios:
        if isinstance(s, WEIGHT_SCENARIOS):
            if s.uid in seen_rows:
                raise ScenarioError(
                    f"scenarios {seen_rows[s.uid]!r} and {s.spec!r} both set uid {s.uid}'s weights; keep one"
                )
            seen_rows[s.uid] = s.spec
        key_uid = None if isinstance(s, PARAM_SCENARIOS) else getattr(s, "uid", None)
        kind = SetStake if isinstance(s, ScaleStake) else type(s)
        key = (kind, key_uid)
        if key in seen_kind:
            raise ScenarioError(f"scenarios {seen_kind[key]!r} and {s.spec!r} set the same thing; keep one")
        seen_kind[key] = s.spec
        if (
            isinstance(s, StopSettingWeights)
            and s.uid in seen_rows
            or (isinstance(s, WEIGHT_SCENARIOS) and (StopSettingWeights, s.uid) in seen_kind)
        ):
            raise ScenarioError(f"uid {s.uid} cannot both stop setting weights and set new ones; keep one")
    copies = {s.uid: s.source for s in scenarios if isinstance(s, CopyValidator)}
    for start in copies:
        uid, path = start, [start]
        while uid in copies:
            uid = copies[uid]
            if uid == start:
                chain = " -> ".join(str(u) for u in path + [uid])
                raise ScenarioError(f"copy scenarios form a cycle ({chain}); nobody would set weights")
            path.append(uid)
