"""Pydantic models of the ruleset file: what a ruleset may say, checked structurally.

These models check shape, types, ranges and cross-references that need no expression
compiler (level ids, weights summing to one, band coverage). Expressions are only strings
here; :mod:`tierpay.ruleset.compiler` type-checks them against the declared symbols.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from itertools import pairwise
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

Identifier = Annotated[
    str,
    Field(
        pattern=r"^[a-z_][a-z0-9_]*$",
        max_length=64,
        description="An ASCII name: lower-case letters, digits and underscores.",
    ),
]
LevelId = Annotated[
    str,
    Field(
        pattern=r"^[A-Za-z][A-Za-z0-9_-]*$",
        max_length=32,
        description="An ASCII level id such as `L1` or `star-3`.",
    ),
]
Number = Annotated[Decimal, Field(allow_inf_nan=False)]

# --- bounds that keep every computation exact ----------------------------------------------
#
# Money is computed in Decimal with 28 significant digits (tierpay.engine.pay.MONEY). The worst
# case a ruleset that validates can reach: an amount of 10^12 with 4 places, times a coefficient
# of 10 with 4 places, is 10^13 with 8 places, 21 digits, exact; times a proration factor it is
# rounded to 28 digits and then to the finest quantum, 0.0001: 10^13 / 10^-4 = 10^17, 18 digits.
# A statement's total over the most lines a ruleset can hold (100,000 values make at most 20,000
# lines) stays below 10^18 with the floors, 22 digits and 4 places: quantize never needs more
# than 28 digits, so it never fails.

MAX_AMOUNT = Decimal(10) ** 12
"""The largest amount of money a ruleset may state, either way (a trillion in its currency)."""
MONEY_PLACES = 4
"""The most decimal places of an amount: the finest quantum is 0.0001."""
MAX_COEFFICIENT = Decimal(10)
"""The largest performance coefficient."""
COEFFICIENT_PLACES = 4
"""The most decimal places of a coefficient (a curve's coefficients are rounded to 0.0001 too)."""
MAX_NUMBER = Decimal(10) ** 15
"""The largest other number a ruleset may give, either way (bars, edges, targets, expectations)."""
NUMBER_PLACES = 10
"""The most decimal places of any other number."""
MAX_SCALE = Decimal(1000)
"""The largest scorecard scale: a score is at most 10 (a ratio's cap) times it."""


def decimal_places(value: Decimal) -> int:
    """How many digits ``value`` has after the point, trailing zeros not counted (exactly, in any context)."""
    _, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int), "only finite numbers reach here"
    text = "".join(map(str, digits)).rstrip("0")
    if not text or exponent >= 0:
        return 0
    return max(0, -exponent - (len(digits) - len(text)))


def power_of_ten(value: Decimal) -> int | None:
    """``k`` when ``value`` is exactly 10^k, else None."""
    sign, digits, exponent = value.as_tuple()
    text = "".join(map(str, digits)).rstrip("0")
    if sign or text != "1" or not isinstance(exponent, int):
        return None
    return exponent + len(digits) - 1


def _bounded(limit: Decimal, places: int, what: str) -> AfterValidator:
    def check(value: Decimal) -> Decimal:
        if abs(value) > limit:
            raise ValueError(f"{value} is too large: {what} lie between -{limit:,} and {limit:,}")
        found = decimal_places(value)
        if found > places:
            raise ValueError(f"{value} has {found} decimal places: {what} have at most {places}")
        return value

    return AfterValidator(check)


Amount = Annotated[Number, _bounded(MAX_AMOUNT, MONEY_PLACES, "amounts")]
"""Money a ruleset states: at most 10^12 either way, at most 4 decimal places."""
CoefficientValue = Annotated[
    Number, Field(ge=0, le=MAX_COEFFICIENT), _bounded(MAX_COEFFICIENT, COEFFICIENT_PLACES, "coefficients")
]
"""A performance coefficient: 0 to 10, at most 4 decimal places."""
Bounded = Annotated[Number, _bounded(MAX_NUMBER, NUMBER_PLACES, "numbers")]
"""Any other number: at most 10^15 either way, at most 10 decimal places."""
Expression = Annotated[
    str,
    Field(
        min_length=1,
        max_length=4000,
        description="A rule-engine expression over the declared metrics, attributes and derived values.",
    ),
]
Label = str | dict[str, str]
"""Display text: one string, or one string per language code (``{en: ..., zh: ...}``)."""

#: Symbols every expression can use besides the declared ones; they come from carried state.
BUILTIN_SYMBOLS: dict[str, str] = {
    "level": "string",
    "level_rank": "number",
    "periods_in_level": "number",
    "on_probation": "boolean",
    "probation_periods": "number",
}


def label_text(label: Label | None, lang: str, fallback: str) -> str:
    """Pick the text of ``label`` for ``lang``, falling back to any text, then ``fallback``."""
    if label is None:
        return fallback
    if isinstance(label, str):
        return label
    return label.get(lang) or next(iter(label.values()), fallback)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


# --- what a record carries ---------------------------------------------------------------


class Metric(_Strict):
    """A measured KPI that every agent-period record carries."""

    type: Literal["integer", "number"] = "number"
    """`integer` values must be whole numbers; `number` allows decimals."""
    min: Bounded | None = None
    """The lowest valid value; a record below it is rejected."""
    max: Bounded | None = None
    """The highest valid value; a record above it is rejected."""
    better: Literal["higher", "lower", "band"] = Field(
        "higher", description="Which way is good; `band` means a target range is best."
    )
    unit: str | None = None
    """Shown after values in explanations (`s`, `%`, `CNY`)."""
    label: Label | None = None
    """Display name, one text or `{en: ..., zh: ...}`."""
    default: Bounded | None = Field(
        None,
        description="Used when a record leaves the metric out; without it the metric is required.",
    )
    optional: bool = Field(
        False,
        description=(
            "A blank cell is allowed and means unknown, never zero; only a rule that needs the value "
            "rejects a record without it (the probation floor's contract wage). Expressions cannot read it."
        ),
    )
    description: str | None = None
    """What the metric measures and how it is counted."""

    @model_validator(mode="after")
    def _range(self) -> Metric:
        if self.optional and self.default is not None:
            raise ValueError("an optional metric has no default: a blank cell means unknown")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is above max {self.max}")
        if self.default is not None:
            if self.min is not None and self.default < self.min:
                raise ValueError(f"default {self.default} is below min {self.min}")
            if self.max is not None and self.default > self.max:
                raise ValueError(f"default {self.default} is above max {self.max}")
            if self.type == "integer" and self.default != self.default.to_integral_value():
                raise ValueError(f"default {self.default} is not a whole number")
        return self


class Attribute(_Strict):
    """Who the agent is (team, region, status...): used for cohorts, tables and conditions."""

    type: Literal["string", "boolean", "date", "term"] = Field(
        "string",
        description=(
            "`string`; `boolean` (true/false, yes/no, 1/0, 是/否 in records); `date` (`2026-01-05`, "
            "also `2026/1/5`); or `term`, a contract term (`36m`, `3y`, `open` for open-ended 无固定期限, "
            "`task` for a contract tied to a task; also `36个月`, `3年`, `无固定期限`). A `date` or `term` "
            "may be blank (unknown): the rule that needs it rejects a record without it. Expressions "
            "cannot read them."
        ),
    )
    values: list[str] | None = Field(None, description="The allowed values, when the set is closed.")
    default: str | bool | None = None
    label: Label | None = None
    """Display name, one text or `{en: ..., zh: ...}`."""
    description: str | None = None
    """What the attribute says about the agent."""

    @field_validator("values")
    @classmethod
    def _unique(cls, values: list[str] | None) -> list[str] | None:
        if values is not None and len(set(values)) != len(values):
            raise ValueError("values are listed twice")
        return values

    @model_validator(mode="after")
    def _typed(self) -> Attribute:
        if self.type in ("date", "term") and (self.values is not None or self.default is not None):
            raise ValueError(f"a {self.type} attribute has no values or default: a blank cell means unknown")
        return self


class Derived(_Strict):
    """A value computed from a record's metrics and attributes, usable everywhere below."""

    expr: Expression
    """The expression; it may use metrics, attributes, built-ins and other derived values."""
    label: Label | None = None
    """Display name."""

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, data: Any) -> Any:
        return {"expr": data} if isinstance(data, str) else data


# --- scorecard -----------------------------------------------------------------------------


class LinearNorm(_Strict):
    """Clamped linear (min-max, 线性计分): 0 at ``worst``, 1 at ``best``."""

    method: Literal["linear"]
    """`linear`."""
    worst: Bounded
    """The value that scores 0."""
    best: Bounded
    """The value that scores 1 (below `worst` when lower is better)."""

    @model_validator(mode="after")
    def _distinct(self) -> LinearNorm:
        if self.worst == self.best:
            raise ValueError("worst and best must differ")
        return self


class RatioNorm(_Strict):
    """Ratio to target (actual/target, or target/actual when lower is better), capped."""

    method: Literal["ratio"]
    """`ratio`."""
    target: Bounded = Field(gt=0)
    """The target value (above zero)."""
    cap: Bounded = Field(Decimal(1), gt=0, le=10)
    """The most a ratio can score (1 = no credit beyond target), at most 10."""


class BandNorm(_Strict):
    """Target band: 1 inside [low, high], falling linearly to 0 at ``worst_low``/``worst_high``."""

    method: Literal["band"]
    """`band`."""
    low: Bounded
    """Lower end of the best range."""
    high: Bounded
    """Upper end of the best range."""
    worst_low: Bounded
    """Scores 0 at or below this value."""
    worst_high: Bounded
    """Scores 0 at or above this value."""

    @model_validator(mode="after")
    def _ordered(self) -> BandNorm:
        if not (self.worst_low < self.low <= self.high < self.worst_high):
            raise ValueError("need worst_low < low <= high < worst_high")
        return self


class PercentileNorm(_Strict):
    """Percentile rank within the scorecard cohort: best gets 1, worst 0, ties share."""

    method: Literal["percentile"]
    """`percentile`."""


class ZScoreNorm(_Strict):
    """Standard score within the cohort, clipped to ±``clip`` and rescaled to [0, 1]."""

    method: Literal["zscore"]
    """`zscore`."""
    clip: Bounded = Field(Decimal(3), gt=0, le=10)
    """Standard scores beyond ±clip count as ±clip (at most 10)."""


Normalisation = Annotated[
    LinearNorm | RatioNorm | BandNorm | PercentileNorm | ZScoreNorm,
    Field(discriminator="method"),
]


class ScorePart(_Strict):
    """One weighted metric of the composite score."""

    metric: Identifier = Field(description="A metric or derived value.")
    weight: Bounded = Field(gt=0, le=1)
    """The part's share of the score, above 0 and at most 1; all weights sum to 1."""
    normalise: Normalisation
    """How the value becomes a 0-1 score: `linear`, `ratio`, `band`, `percentile` or `zscore`."""
    rate: bool = Field(False, description="A rate metric: left out (weights re-spread) under the minimum volume.")


class MinVolume(_Strict):
    """Agents below this volume are not graded on rate metrics."""

    metric: Identifier
    """The volume metric (for example `calls_handled`)."""
    at_least: Bounded
    """The minimum volume for rate metrics to be graded."""


class ScoreVeto(_Strict):
    """A veto item (一票否决): when it holds, the score is set to ``score``."""

    code: Identifier
    """A short reason code shown in outputs."""
    when: Expression
    """The condition that triggers the veto."""
    score: Bounded = Field(ge=0)
    """The score the veto sets, from 0 to the scorecard's scale."""
    reason: Label | None = None
    """The reason in words."""


class Scorecard(_Strict):
    """A weighted composite score; its value is available to expressions as ``name``."""

    name: Identifier = "score"
    """The name under which expressions see the score."""
    label: Label | None = None
    """Display name."""
    scale: Bounded = Field(Decimal(100), gt=0, le=MAX_SCALE)
    """The score of a perfect agent, at most 1000."""
    decimals: int = Field(2, ge=0, le=6, description="The score is rounded half-up to this many places.")
    cohort_by: list[Identifier] = Field(
        default_factory=list,
        description="Attributes that form the cohort for percentile and z-score.",
    )
    min_cohort_size: int | None = Field(
        None,
        ge=1,
        le=1_000_000,
        description="Percentile and z-score parts in a smaller cohort are neutral (half their weight); none when left out.",
    )
    parts: list[ScorePart] = Field(min_length=1)
    """The weighted metrics."""
    min_volume: MinVolume | None = None
    """Below this volume rate metrics are not graded."""
    vetoes: list[ScoreVeto] = Field(default_factory=list)
    """Veto items (一票否决), first match wins."""

    @model_validator(mode="after")
    def _weights(self) -> Scorecard:
        total = sum((p.weight for p in self.parts), Decimal(0))
        if total != 1:
            raise ValueError(f"weights must sum to 1, they sum to {total}")
        seen: set[str] = set()
        for p in self.parts:
            if p.metric in seen:
                raise ValueError(f"metric {p.metric!r} appears twice in parts")
            seen.add(p.metric)
        if self.min_volume and not any(p.rate for p in self.parts):
            raise ValueError("min_volume is set but no part is marked rate: true")
        if self.min_volume and all(p.rate for p in self.parts):
            raise ValueError("min_volume needs at least one part that is not a rate")
        for i, veto in enumerate(self.vetoes):
            if veto.score > self.scale:
                raise ValueError(f"vetoes[{i}] sets the score {veto.score}, above the scale {self.scale}")
        return self


class Grade(_Strict):
    """A performance grade; the first whose ``when`` holds is the record's grade."""

    grade: str = Field(min_length=1, max_length=16)
    """The grade's name (`S`, `A`, ...)."""
    when: Expression | None = Field(None, description="Leave out on the last grade: it catches the rest.")
    coefficient: CoefficientValue | None = None
    """The performance coefficient (绩效系数) of the grade, 0 to 10."""
    label: Label | None = None
    """Display name."""


# --- levels --------------------------------------------------------------------------------


class Level(_Strict):
    """A rung of the ladder, lowest first."""

    id: LevelId
    """The level's ASCII id (`L1`)."""
    name: Label
    """The level's name, one text or `{en: ..., zh: ...}` (一星坐席)."""
    entry: Expression | None = Field(None, description="What it takes to enter (promotion target).")
    maintain: Expression | None = Field(None, description="What it takes to keep the level (保级).")
    min_periods: int | None = Field(
        None, ge=0, le=120, description="Periods in this level before promotion out; overrides promotion."
    )


class Veto(_Strict):
    """A named condition that blocks a promotion or forces a demotion."""

    code: Identifier
    """A short reason code shown in outputs."""
    when: Expression
    """The condition."""
    reason: Label | None = None
    """The reason in words."""


def _check_months(months: list[int] | None) -> list[int] | None:
    if months is not None:
        if not months or any(m < 1 or m > 12 for m in months):
            raise ValueError("review_months lists months from 1 to 12")
        if len(set(months)) != len(months):
            raise ValueError("review_months lists a month twice")
    return months


class Promotion(_Strict):
    """How and when an agent moves up."""

    consecutive_periods: int = Field(1, ge=1, le=24)
    """Consecutive periods meeting the next level's entry criteria before a promotion."""
    min_periods_in_level: int = Field(0, ge=0, le=120)
    """Periods completed in the current level before a promotion."""
    max_steps: int = Field(1, ge=1, le=10)
    """The most levels one promotion may climb."""
    blocked_if: list[Veto] = Field(default_factory=list)
    """Vetoes: while one holds, no promotion and the streak restarts."""
    review_months: list[int] | None = Field(
        None,
        description="Months (1-12) in which promotions are decided; every period when left out.",
    )
    pay_effective: Literal["this_period", "next_period"] = "this_period"
    """Whether a promotion's pay starts this period or the next (a trial month)."""

    @field_validator("review_months")
    @classmethod
    def _months(cls, months: list[int] | None) -> list[int] | None:
        return _check_months(months)


class Demotion(_Strict):
    """How an agent loses a level: sustained failure of maintenance, or a veto."""

    consecutive_periods: int = Field(2, ge=1, le=24)
    """Consecutive periods failing the level's maintenance criteria before a demotion by one level."""
    immediate_if: list[Veto] = Field(default_factory=list)
    """Conditions that demote one level at once (a major complaint)."""
    review_months: list[int] | None = None
    """Months (1-12) in which demotions are decided; every period when left out."""

    @field_validator("review_months")
    @classmethod
    def _months(cls, months: list[int] | None) -> list[int] | None:
        return _check_months(months)


class Probation(_Strict):
    """Probation (试用期) and conversion to regular staff (转正), in calendar months from the start date.

    The cap follows the contract term (PRC Labor Contract Law art. 19): none for a term under
    3 months or tied to a task, 1 month under 1 year, 2 months under 3 years, 6 months for 3
    years or more or open-ended. At the cap the agent is regular by law.
    """

    attribute: Identifier = Field("status", description="The attribute that marks a new probationer.")
    value: str = "probation"
    """The attribute value that marks a probationer."""
    start_date: Identifier = Field(
        "start_date", description="The `date` attribute holding the start date; probation runs from it."
    )
    contract_term: Identifier = Field(
        "contract_term", description="The `term` attribute holding the contract term, which sets the cap."
    )
    level: LevelId | None = Field(None, description="The level held during probation; the lowest by default.")
    min_periods: int = Field(1, ge=1, le=6)
    """Calendar months of probation before conversion by the criteria is possible."""
    max_periods: int = Field(
        6,
        ge=1,
        description=(
            "Calendar months at most: shortens the cap the contract term allows, never lengthens it "
            "(PRC Labor Contract Law art. 19: at most 6 months)."
        ),
    )
    convert_if: Expression
    """The conversion criteria (转正), checked each period from `min_periods`."""

    @model_validator(mode="after")
    def _lengths(self) -> Probation:
        if self.max_periods > 6:
            raise ValueError(
                f"max_periods {self.max_periods} is over the legal cap: probation may last at most 6 months "
                "(PRC Labor Contract Law art. 19)"
            )
        if self.min_periods > self.max_periods:
            raise ValueError(f"min_periods {self.min_periods} exceeds max_periods {self.max_periods}")
        return self


class Protection(_Strict):
    """A statutory protected period (medical treatment, pregnancy and maternity, work injury).

    While ``when`` holds the agent is not demoted, the level streaks and the review's
    escalation pause, the review exempts the agent, and no pay line falls because of it:
    prorated lines are paid in full and the performance coefficient is at least
    ``coefficient`` (Labor Contract Law art. 42; 女职工劳动保护特别规定 art. 5).
    """

    when: Expression
    """The condition of a protected month, on record values (`protected_leave`)."""
    reason: Label | None = None
    """The protection in words."""
    coefficient: CoefficientValue = Decimal(1)
    """The least performance coefficient of a protected month (the standard 1 by default)."""


class NewAgents(_Strict):
    """Where an agent with no level in the record and no carried state starts."""

    level: LevelId
    """The starting level; without `new_agents` such a record is rejected rather than guessed."""


# --- review --------------------------------------------------------------------------------


class Exemption(_Strict):
    """Agents for whom ``when`` holds are not ranked; ``code`` and ``reason`` say why."""

    code: Identifier
    """A short reason code shown in outputs."""
    when: Expression
    """The condition."""
    reason: Label | None = None
    """The reason in words."""


class Stage(_Strict):
    """An escalation stage reached after ``after`` consecutive flagged periods."""

    code: Identifier
    """A short code shown in outputs (`coaching`)."""
    after: int = Field(ge=1, le=24)
    """Consecutive flagged periods to reach the stage."""
    label: Label | None = None
    """Display name."""


class Escalation(_Strict):
    """Stages for repeated flags; the library flags and explains, it never dismisses."""

    stages: list[Stage] = Field(min_length=1)
    """Stages in increasing order of `after`."""
    on_clear: Literal["reset", "step_down"] = "reset"
    """After a period out of the bottom: `reset` the streak to 0, or `step_down` by one."""

    @model_validator(mode="after")
    def _ordered(self) -> Escalation:
        afters = [s.after for s in self.stages]
        if afters != sorted(set(afters)):
            raise ValueError("stages must have strictly increasing `after`")
        codes = [s.code for s in self.stages]
        if len(set(codes)) != len(codes):
            raise ValueError("stage codes must be unique")
        return self


class Fairness(_Strict):
    """The fairness screen of flag rates across the groups of one attribute (four fifths, ratio, Fisher)."""

    group_by: Identifier
    """The attribute whose groups are compared (for example gender)."""


class Review(_Strict):
    """Bottom-ranking review (末位复核): flag the bottom of each cohort for a human to review."""

    rank_by: Identifier = "score"
    """The number agents are ranked by (the score, a metric or a derived value)."""
    better: Literal["higher", "lower"] | None = Field(
        None, description="Direction of rank_by; taken from the metric when left out."
    )
    cohort_by: list[Identifier] = Field(default_factory=list)
    """Attributes that form the cohorts (team, site, role); one cohort when empty."""
    bottom_percent: Bounded | None = Field(None, gt=0, le=50)
    """The bottom share to flag, in percent (at most 50)."""
    bottom_count: int | None = Field(None, ge=1, le=1_000_000)
    """The bottom count to flag; with a percent, the smaller applies."""
    count_rounding: Literal["floor", "ceil", "round"] = "floor"
    """How percent × cohort size becomes a count: `floor`, `ceil` or `round` (half-up)."""
    min_cohort_size: int = Field(1, ge=1, le=1_000_000)
    """Cohorts with fewer eligible agents are not ranked."""
    only_if: Expression | None = Field(
        None, description="An absolute floor: only agents for whom this holds can be flagged."
    )
    ties: Literal["favour_employee", "include_all_tied"] = Field(
        "favour_employee",
        description="Agents tied across the cut-off are left unflagged by default.",
    )
    exempt: list[Exemption] = Field(default_factory=list)
    """Exemptions, first match wins."""
    escalation: Escalation | None = None
    """Stages for consecutive flags."""
    fairness: Fairness | None = None
    """The four-fifths screen of flag rates by group."""

    @model_validator(mode="after")
    def _share(self) -> Review:
        if self.bottom_percent is None and self.bottom_count is None:
            raise ValueError("declare bottom_percent, bottom_count or both")
        return self


# --- pay -----------------------------------------------------------------------------------


class Rounding(_Strict):
    """How money is rounded: the quantum, the mode, and whether each line or only the total."""

    quantum: Number = Field(Decimal("0.01"), gt=0)
    """The smallest unit, a power of ten from `0.0001` to `1000` (`0.01` for fen, `1` for whole yuan)."""
    mode: Literal["half_up", "half_even", "up", "down"] = "half_up"
    """`half_up`, `half_even`, `up` (away from zero) or `down` (toward zero)."""
    stage: Literal["line", "total"] = "line"
    """`line`: round each line; `total`: round only the total and show a rounding line."""

    @field_validator("quantum")
    @classmethod
    def _power_of_ten(cls, quantum: Decimal) -> Decimal:
        """A power of ten from 0.0001 to 1000, written so that rounding uses it as given (100 rounds to hundreds)."""
        k = power_of_ten(quantum)
        if k is None:
            raise ValueError(
                f"{quantum} is not a power of ten: give 0.0001, 0.001, 0.01, 0.1, 1, 10, 100 or 1000 "
                "(rounding to 0.05 or 5 is not supported)"
            )
        if not -4 <= k <= 3:
            raise ValueError(f"{quantum} is out of range: the quantum lies from 0.0001 to 1000")
        return Decimal(1).scaleb(k)


class Proration(_Strict):
    """Prorate lines marked ``prorate`` by worked over scheduled days."""

    worked: Identifier
    """The metric of days worked."""
    scheduled: Identifier
    """The metric of days scheduled."""


class Band(_Strict):
    """One value range of a band lookup, with explicit edges."""

    above: Bounded | None = Field(None, description="Lower edge; none means unbounded.")
    above_inclusive: bool = True
    """Whether the band includes `above`."""
    below: Bounded | None = Field(None, description="Upper edge; none means unbounded.")
    below_inclusive: bool = False
    """Whether the band includes `below`."""
    coefficient: CoefficientValue
    """The band's coefficient, 0 to 10."""


class BandLookup(_Strict):
    """A coefficient from the band that holds ``of``; bands must not overlap or leave gaps."""

    of: Identifier
    """The value looked up (for example `score`)."""
    bands: list[Band] = Field(min_length=1)
    """Bands from lowest to highest, touching without gaps or overlaps."""

    @model_validator(mode="after")
    def _coverage(self) -> BandLookup:
        bands = self.bands
        if bands[0].above is not None:
            raise ValueError("the first band must be open below (no `above`)")
        if bands[-1].below is not None:
            raise ValueError("the last band must be open above (no `below`)")
        for i, (lo, hi) in enumerate(pairwise(bands)):
            if lo.below is None or hi.above is None:
                raise ValueError(f"bands[{i}] and bands[{i + 1}] overlap: an inner edge is open")
            if lo.below < hi.above:
                raise ValueError(f"gap between bands[{i}] (below {lo.below}) and bands[{i + 1}] (above {hi.above})")
            if lo.below > hi.above:
                raise ValueError(f"bands[{i}] and bands[{i + 1}] overlap between {hi.above} and {lo.below}")
            if lo.below_inclusive and hi.above_inclusive:
                raise ValueError(f"bands[{i}] and bands[{i + 1}] both include {lo.below}")
            if not lo.below_inclusive and not hi.above_inclusive:
                raise ValueError(f"gap at {lo.below}: neither bands[{i}] nor bands[{i + 1}] includes it")
        return self


class Curve(_Strict):
    """A linear pay curve through points, clamped at both ends."""

    of: Identifier
    """The value on the x axis (for example `score`)."""
    points: list[tuple[Bounded, CoefficientValue]] = Field(min_length=2)
    """`[x, coefficient]` pairs with increasing x; coefficients from 0 to 10."""

    @field_validator("points")
    @classmethod
    def _increasing(cls, points: list[tuple[Decimal, Decimal]]) -> list[tuple[Decimal, Decimal]]:
        xs = [x for x, _ in points]
        if any(b <= a for a, b in pairwise(xs)):
            raise ValueError("curve points must have strictly increasing x")
        return points


class Coefficient(_Strict):
    """Where the performance coefficient comes from: the grade table, a band lookup or a curve."""

    source: Literal["grade", "band", "curve"] = "grade"
    """`grade` (the grade's coefficient), `band` or `curve`."""
    band: BandLookup | None = None
    """The band lookup, for `source: band`."""
    curve: Curve | None = None
    """The curve, for `source: curve`."""

    @model_validator(mode="after")
    def _one(self) -> Coefficient:
        if self.source == "band" and self.band is None:
            raise ValueError("source band needs `band`")
        if self.source == "curve" and self.curve is None:
            raise ValueError("source curve needs `curve`")
        return self


AmountTable = dict[str, Amount | dict[str, Amount]]


class PayLine(_Strict):
    """A named line of the pay statement.

    The amount is one of ``amount`` (fixed), ``by_level`` (a table by level, optionally by a
    second attribute such as region) or ``formula``; it may be multiplied by the performance
    coefficient, applied only ``when`` a condition holds, and prorated.
    """

    id: Identifier
    """The line's ASCII id, also its payroll-export column."""
    label: Label | None = None
    """Display name (基本工资)."""
    amount: Amount | None = None
    """A fixed amount."""
    by_level: AmountTable | None = None
    """An amount per level id, or per level and `by` value."""
    by: Identifier | None = Field(None, description="The attribute of the second table key (region).")
    formula: Expression | None = None
    """A numeric expression for the amount."""
    times_coefficient: bool = False
    """Multiply by the performance coefficient."""
    when: Expression | None = None
    """Pay the line only when this holds."""
    when_label: Label | None = None
    """The condition ``when`` in words (无缺勤，或处于法定保护期): a pay slip says it, never the expression (explain shows that)."""
    prorate: bool = False
    """Multiply by worked / scheduled days."""
    counts_for_minimum_wage: bool = True
    """Whether the line counts toward the minimum-wage comparison (night-shift pay often does not)."""

    @model_validator(mode="after")
    def _one_source(self) -> PayLine:
        given = [k for k in ("amount", "by_level", "formula") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of amount, by_level, formula (got {given or 'none'})")
        if self.by is not None and self.by_level is None:
            raise ValueError("`by` only goes with by_level")
        if self.by_level is not None:
            nested = [isinstance(v, dict) for v in self.by_level.values()]
            if self.by is None and any(nested):
                raise ValueError("by_level has nested values: name the attribute in `by`")
            if self.by is not None and not all(nested):
                raise ValueError(f"by_level must give a value per `{self.by}` for every level")
        if self.when_label is not None and self.when is None:
            raise ValueError("when_label says a condition in words, but the line has no `when`")
        return self


class MinimumWageFigure(_Strict):
    """One dated monthly minimum wage of an area, as the local government published it."""

    monthly: Amount = Field(ge=0)
    """The monthly minimum wage for full-time work, in the ruleset's currency."""
    effective_from: dt.date
    """The day the figure takes effect; it holds until the area's next figure takes effect."""
    source: str = Field(min_length=1)
    """Where the figure comes from: the notice that set it, or the page that reports it."""
    source_zh: str | None = Field(None, min_length=1)
    """The same in Chinese, for Chinese pay slips (上海市人力资源和社会保障局 2025 年调整); without it they cite ``source``."""
    excludes_contributions: bool = False
    """Whether the figure excludes the employee's own social insurance and housing fund contributions
    (Shanghai and Beijing, for example): then the pay compared with it is net of them."""
    hourly: Amount | None = Field(None, ge=0)
    """The hourly minimum wage for part-time work (非全日制用工, Labor Contract Law art. 68-72) set with the
    monthly figure; part-time agents paid by the hour are held to it (`calendar.part_time.hourly`)."""


class MinimumWageArea(_Strict):
    """A city or district with its own minimum wage, and its figures over time."""

    name: Label
    """The area's name, shown in statements and errors (`Shanghai`, `{en: Shanghai, zh: 上海市}`)."""
    figures: list[MinimumWageFigure] = Field(min_length=1)
    """The area's figures, oldest first, each from its own date."""

    @field_validator("figures")
    @classmethod
    def _dated_in_order(cls, figures: list[MinimumWageFigure]) -> list[MinimumWageFigure]:
        for a, b in pairwise(figures):
            if b.effective_from <= a.effective_from:
                raise ValueError(
                    f"figures are listed oldest first, each from a later date: {b.effective_from} follows {a.effective_from}"
                )
        return figures


class MinimumWage(_Strict):
    """The local monthly minimum wage: dated figures per city or district, and which area an agent is in."""

    by: Identifier = Field("region", description="The attribute that says which area an agent works in.")
    areas: dict[str, str] | None = Field(
        None,
        description="The area of `table` each value of `by` stands for (`tier1: shanghai`); "
        "when left out, each value of `by` is an area of the table.",
    )
    contributions: Identifier | None = Field(
        None,
        description="The metric holding the employee's own social insurance and housing fund contributions "
        "for the month; needed when a figure excludes them.",
    )
    table: dict[str, MinimumWageArea] | None = None
    """The areas and their dated figures, by area id."""
    table_file: str | None = Field(
        None,
        description="A YAML file holding `minimum_wage_table:` (the areas), relative to the ruleset; in its folder "
        "or below unless outside files are allowed ([files a ruleset names](#files-a-ruleset-names)).",
    )

    @model_validator(mode="after")
    def _one_table(self) -> MinimumWage:
        if (self.table is None) == (self.table_file is None):
            raise ValueError("give the areas in `table` or name a file in `table_file`, one of the two")
        return self


class MinimumWageTable(_Strict):
    """A minimum-wage file: the areas and their dated figures, kept apart from any one ruleset."""

    minimum_wage_table: dict[str, MinimumWageArea]
    """The areas by id (`shanghai`), each with its name and dated figures."""


class Floors(_Strict):
    """Legal floors and caps; each change to a figure is shown as its own statement line."""

    minimum_wage: MinimumWage | None = None
    """The local minimum wage (Labour Law art. 48), by area and date."""
    probation_ratio: Bounded | None = Field(
        None,
        gt=0,
        le=1,
        description="Probation pay not below this share of the contract wage (art. 20: at least 0.8).",
    )
    contract_wage: Identifier | None = Field(
        None, description="The metric holding the contract wage, for the probation floor."
    )
    post_lowest_wage: AmountTable | None = Field(
        None,
        description="The employer's lowest wage of each level's post (by level, or level and `post_by`): "
        "probation pay is at least `probation_ratio` of it too (Implementing Regulations art. 15).",
    )
    post_by: Identifier | None = Field(None, description="The attribute of `post_lowest_wage`'s second key (region).")
    deduction_cap_percent: Bounded = Field(Decimal(20), ge=0, le=100)
    """Deductions for losses take at most this share of the month's pay (工资支付暂行规定 art. 16: 20%)."""
    deduction_cap_rule: str | None = Field(
        None,
        min_length=1,
        description="The local regulation (name and article) that allows a deduction cap above 20%.",
    )

    @model_validator(mode="after")
    def _pairs(self) -> Floors:
        if (self.probation_ratio is None) != (self.contract_wage is None):
            raise ValueError("probation_ratio and contract_wage go together")
        if self.post_lowest_wage is not None and self.probation_ratio is None:
            raise ValueError("post_lowest_wage goes with probation_ratio and contract_wage")
        if self.post_by is not None and self.post_lowest_wage is None:
            raise ValueError("`post_by` only goes with post_lowest_wage")
        if self.post_lowest_wage is not None:
            nested = [isinstance(v, dict) for v in self.post_lowest_wage.values()]
            if self.post_by is None and any(nested):
                raise ValueError("post_lowest_wage has nested values: name the attribute in `post_by`")
            if self.post_by is not None and not all(nested):
                raise ValueError(f"post_lowest_wage must give a value per `{self.post_by}` for every level")
        return self


class Deduction(_Strict):
    """A deduction for losses (赔偿扣款), read from a metric, capped by the floors."""

    id: Identifier
    """The line's ASCII id."""
    metric: Identifier
    """The metric holding the amount asked for."""
    label: Label | None = None
    """Display name."""


class Pay(_Strict):
    """The monthly pay: named lines, a coefficient source, rounding, proration, floors."""

    rounding: Rounding = Field(default_factory=Rounding)
    """How money is rounded."""
    proration: Proration | None = None
    """The metrics that prorate lines marked `prorate`."""
    coefficient: Coefficient = Field(default_factory=Coefficient)
    """Where the performance coefficient comes from."""
    lines: list[PayLine] = Field(min_length=1)
    """The pay lines, in statement order."""
    deductions: list[Deduction] = Field(default_factory=list)
    """Deductions for losses, capped by the floors."""
    floors: Floors | None = None
    """Legal floors and caps."""

    @model_validator(mode="after")
    def _unique(self) -> Pay:
        ids = [line.id for line in self.lines] + [d.id for d in self.deductions]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"line ids used twice: {', '.join(dupes)}")
        if any(line.prorate for line in self.lines) and self.proration is None:
            raise ValueError("a line has prorate: true but pay.proration is not declared")
        return self


# --- tests inside a ruleset ----------------------------------------------------------------


class Expectation(_Strict):
    """What a ruleset test expects of one agent-period."""

    agent_id: str
    """The agent the expectation is about."""
    period: str | None = None
    """The period; the agent's latest when left out."""
    rejected: bool | None = None
    """Whether the record should be rejected."""
    qualified_level: str | None = None
    """Expected highest qualifying level."""
    level: str | None = None
    """Expected level after the decision."""
    action: str | None = None
    """Expected action (`promote`, `hold`, ...)."""
    grade: str | None = None
    """Expected grade."""
    score: Bounded | None = None
    """Expected composite score."""
    flagged: bool | None = None
    """Expected review flag."""
    stage: str | None = None
    """Expected escalation stage."""
    total: Bounded | None = None
    """Expected pay total."""
    lines: dict[str, Bounded] | None = None
    """Expected amounts of named pay lines."""
    reason: str | None = None
    """Expected reason code of the level decision (`converted`, `probation_cap_reached`, ...)."""
    on_probation: bool | None = None
    """Expected probation status after the decision."""
    rejection: str | None = None
    """A text one of the record's rejection reasons must contain."""
    ladder: str | None = None
    """Expected ladder the record is decided on (a ruleset with `ladders`)."""
    nominated: list[str] | None = None
    """Expected ladders the agent is eligible to be nominated for (`[]`: none)."""


class RulesetTest(_Strict):
    """A case the ruleset must satisfy, run by ``tierpay test``."""

    name: str
    """What the case shows."""
    state: list[dict[str, Any]] | None = None
    """Carried state before the records (agent states)."""
    records: list[dict[str, Any]] = Field(min_length=1)
    """Records, as in a JSON records file."""
    expect: list[Expectation] = Field(min_length=1)
    """What must come out."""


# --- the employment calendar -----------------------------------------------------------------


class Leave(_Strict):
    """How the days of one kind of leave count, for the metric that holds them in a month's record."""

    paid: Literal["full", "sick", "none"] = "none"
    """`full`: paid as days worked (paid annual leave, 职工带薪年休假条例 art. 2; statutory leave);
    `sick`: paid as sick pay (`calendar.sick_pay`); `none`: unpaid."""
    attendance: bool = False
    """Whether the days count as attended: they are in `attended_days`, which attendance bonuses read."""
    volume: bool = False
    """Whether the days are excused from volume: they leave `available_days`, and each `calendar.volume`
    value is the volume scaled to the days available."""
    protected: bool = False
    """Whether the days are a statutory protected period (medical treatment, maternity, work injury): a
    month with any of them sets `on_protected_leave`, which `protection.when` must read."""


class SickPay(_Strict):
    """Sick pay for the days of leave paid as `sick`, and its legal floor."""

    percent: Bounded = Field(gt=0, le=100)
    """Sick pay per sick day, in percent of the day's share of the lines in `of`."""
    of: list[Identifier] = Field(min_length=1)
    """The pay lines sick pay is a share of (`[base, star_allowance]`); each is prorated by days."""
    floor_percent: Bounded = Field(Decimal(80), gt=0, le=100)
    """The least share of the minimum wage a sick day is held to: 80, as the Ministry of Labour's opinion on
    the Labour Law (劳部发〔1995〕309号 art. 59) allows; never lower."""


class HourlyPay(_Strict):
    """Which agents work part time by the hour (非全日制), held to the hourly minimum wage."""

    attribute: Identifier = Field(description="The attribute that marks them (`employment`).")
    value: str = "part_time"
    """Its value for them."""


class PartTime(_Strict):
    """Part-time work: a share of full time, hours worked, and who is paid by the hour."""

    fte: Identifier | None = None
    """The metric of the share of full time (full-time equivalent, above 0 up to 1): prorated lines and the
    monthly minimum wage are multiplied by it."""
    hours: Identifier | None = None
    """The metric of hours worked in the month, which the hourly minimum wage multiplies."""
    hourly: HourlyPay | None = None
    """Agents paid by the hour: their minimum wage is the hourly figure times `hours`, not the monthly one."""


class Segments(_Strict):
    """Changes within a month: several records for one agent-month, each for the days from `start` to `end`."""

    start: Identifier = Field("from", description="The date attribute of a segment's first day.")
    end: Identifier = Field("to", description="The date attribute of a segment's last day.")
    decide_by: Literal["last", "longest"] = "last"
    """The segment whose metrics and attributes the scorecard, grades, levels and review read: the `last`, or
    the `longest` (the later of two as long)."""
    sum: list[Identifier] = Field(default_factory=list)
    """Metrics added up over the segments (calls handled, night shifts). Days worked and scheduled, every leave
    metric, hours and deductions are always added up."""


class Calendar(_Strict):
    """The employment calendar: leave by type, part time, and changes within a month."""

    worked: Identifier | None = None
    """The metric of days worked (without leave); needed with leave or volume."""
    scheduled: Identifier | None = None
    """The metric of days scheduled; needed with leave or volume."""
    leave: dict[Identifier, Leave] = Field(default_factory=dict)
    """Kinds of leave by the metric holding their days, each with how it counts."""
    sick_pay: SickPay | None = None
    """Sick pay, for leave paid as `sick`."""
    part_time: PartTime | None = None
    """Part-time work."""
    segments: Segments | None = None
    """Several records for one agent-month, each with its own dates, team, city tier, level or FTE."""
    volume: dict[Identifier, Identifier] = Field(default_factory=dict)
    """Volume metrics, each with the name of a value that holds it scaled to the days available and to full
    time (`calls_handled: calls_full_time`), for volume gates and scores that must not fall for leave."""


# --- the ruleset ---------------------------------------------------------------------------


class Ruleset(_Strict):
    """A whole ruleset file, structurally valid; compile it to evaluate."""

    tierpay: Literal[1] = Field(description="The ruleset format version.")
    extends: str | None = Field(
        None,
        description="A base ruleset file, relative to this one, that this ruleset changes; merged when loading. "
        "It must lie in the ruleset's folder or below unless outside files are allowed "
        "([files a ruleset names](#files-a-ruleset-names)).",
    )
    name: str = Field(min_length=1, max_length=100)
    """The ruleset's name, stamped on every result."""
    version: str = Field(min_length=1, max_length=40)
    """The ruleset's version, stamped on every result."""
    description: str | None = None
    """What the ruleset is for."""
    effective_from: dt.date
    """The first day the ruleset is in force."""
    effective_to: dt.date | None = None
    """The last day the ruleset is in force; open-ended when left out."""
    published_on: dt.date | None = None
    """When the rules were published to staff (Labor Contract Law art. 4)."""
    currency: str = Field("CNY", pattern=r"^[A-Z]{3}$")
    """The ISO currency code of every amount."""
    period: Literal["month"] = "month"
    """The evaluation period; `month`."""
    missing_period: Literal["pause", "reset"] = Field(
        "pause", description="What a missing period does to streaks: pause them or reset them."
    )
    metrics: dict[Identifier, Metric] = Field(min_length=1)
    """The KPIs each record carries, by ASCII name."""
    attributes: dict[Identifier, Attribute] = Field(default_factory=dict)
    """Who the agent is, by ASCII name."""
    derived: dict[Identifier, Derived] = Field(default_factory=dict)
    """Values computed per record, by ASCII name (an expression, or `{expr, label}`)."""
    scorecard: Scorecard | None = None
    """The weighted composite score."""
    grades: list[Grade] = Field(default_factory=list)
    """Performance grades, first match wins; the last has no `when`."""
    ladder_by: Identifier | None = Field(
        None, description="The attribute whose value says which of `ladders` a record is decided on (`role`)."
    )
    ladders: dict[Identifier, Ladder] | None = Field(
        None,
        description="Several ladders by name, each with its own levels and any parts of its own "
        "([several ladders](#several-ladders)).",
    )
    levels: list[Level] = Field(default_factory=list, validate_default=True)
    """The ladder, lowest first; required unless the ruleset declares `ladders` (each with its own)."""
    promotion: Promotion = Field(default_factory=Promotion)
    """Promotion rules."""
    demotion: Demotion = Field(default_factory=Demotion)
    """Maintenance and demotion rules."""
    probation: Probation | None = None
    """Probation and conversion (转正)."""
    protection: Protection | None = None
    """Statutory protected periods: no demotion, streaks paused, no pay cut because of them."""
    new_agents: NewAgents | None = None
    """Where agents with no stated level and no carried state start; rejected when left out."""
    review: Review | None = None
    """Bottom-ranking review (末位复核): flags, never dismissals."""
    pay: Pay | None = None
    """The monthly pay."""
    calendar: Calendar | None = None
    """The employment calendar: leave by type, part time, changes within a month."""
    columns: dict[str, str] = Field(default_factory=dict)
    """Input headers as exports have them, mapped to fields (`{工号: agent_id, 月份: period, 级别: level}`).

    A header equal to a metric's or attribute's `label` (zh or en) is that field without being listed."""
    keep: list[str] = Field(default_factory=list)
    """Extra input columns (`[姓名, 部门]`) carried as text to every output beside each decision; the rules never read them."""
    tests: list[RulesetTest] = Field(default_factory=list)
    """Cases the ruleset must pass, run by `tierpay test`."""

    @field_validator("levels")
    @classmethod
    def _levels_or_ladders(cls, levels: list[Level], info: ValidationInfo) -> list[Level]:
        """Levels are required, unless the ruleset declares `ladders` (each with its own)."""
        if not levels and "ladders" in info.data and info.data["ladders"] is None:
            raise PydanticCustomError("missing", "Field required")
        return levels

    @model_validator(mode="after")
    def _protected_are_exempt(self) -> Ruleset:
        """A protected month is exempt from the review even where `review.exempt` does not say so."""
        shield, review = self.protection, self.review
        if shield is not None and review is not None and all(e.when != shield.when for e in review.exempt):
            review.exempt.append(Exemption(code="protected_period", when=shield.when, reason=shield.reason))
        return self


from tierpay.ruleset.ladders import Ladder  # noqa: E402  (a ladder holds the parts above)

Ruleset.model_rebuild()
