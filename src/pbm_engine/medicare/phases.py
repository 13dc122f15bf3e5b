"""The Part D phase engine: split one claim across benefit phases (reference section 5).

:func:`split_claim` is a pure function of the year's :class:`PartDParameters`, a
:class:`BenefitDesign`, the beneficiary's :class:`BeneficiaryState` before the claim and the
:class:`ClaimFacts`.  It fills the phases in order, each consuming part of the gross cost:

* before 2025: deductible (ends when the gross accumulator reaches the plan deductible),
  initial coverage (ends at the ICL, gross), coverage gap (ends when TrOOP reaches the OOP
  threshold), catastrophic;
* from 2025: deductible (ends when TrOOP reaches the plan deductible), initial coverage (no
  manufacturer discount until TrOOP passes the *DS* deductible), catastrophic (TrOOP at the
  threshold).

Inside a phase every amount is linear in the gross dollars consumed, so the phase end is found
exactly: ``x = room / rate`` with :class:`fractions.Fraction`.  Copays and min/max coinsurance
cells are made linear by spreading the cell's amount for the rest of the claim evenly over that
rest (a copay charged in a phase that the claim leaves early is prorated by gross dollars) [M].
Only output fields are rounded, half-up, with cumulative rounding so that per-phase figures add
up to the totals and GDCB + GDCA equals the gross cost exactly.

Policy points without a confirmed answer are switches of :class:`PartDPolicy`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, StrEnum
from fractions import Fraction
from typing import Any

from pbm_engine.medicare.design import BenefitDesign, Channel, CostShare, CoverageLevel
from pbm_engine.medicare.parameters import (
    InsulinCapRule,
    LisCostShare,
    LisLevel,
    PartDParameters,
    lis_for,
)
from pbm_engine.money import RATE_SCALE, Cents, apply_rate, div_round

__all__ = [
    "BeneficiaryState",
    "BenefitPhase",
    "CatastrophicCode",
    "ClaimFacts",
    "FeeAllocation",
    "InsulinScaling",
    "LisCopayBasis",
    "PartDPolicy",
    "PhasePortion",
    "PhaseResult",
    "phase_of",
    "split_claim",
]

_ZERO = Fraction(0)
_ONE = Fraction(1)


class BenefitPhase(StrEnum):
    """PDE beginning/ending benefit phase codes."""

    DEDUCTIBLE = "D"
    INITIAL = "N"
    GAP = "G"
    CATASTROPHIC = "C"


_INITIAL = BenefitPhase.INITIAL
_GAP = BenefitPhase.GAP
_CAT = BenefitPhase.CATASTROPHIC


class CatastrophicCode(StrEnum):
    """PDE Catastrophic Coverage Code: blank, A (attachment met on this event), C (above)."""

    NONE = ""
    ATTACHMENT = "A"
    ABOVE = "C"


class FeeAllocation(Enum):
    """Open policy point: the dispensing fee in a claim that straddles a CGDP boundary."""

    EARLIER_PHASE = "earlier_phase"
    """The non-discounted components (fee, tax, admin fee) fill the earlier phase first."""
    PRO_RATA = "pro_rata"
    """Every phase portion carries the claim's mix of ingredient cost and fees."""


class InsulinScaling(Enum):
    """Open policy point: insulin cap for fills between whole months."""

    PRO_RATA = "pro_rata"
    """cap x days / days-in-month (so 30/60/90 days give 1x/2x/3x)."""
    NEXT_WHOLE_MONTH = "next_whole_month"
    """cap x ceil(days / days-in-month)."""


class LisCopayBasis(Enum):
    """How an LIS copay relates to the days supply."""

    PER_PRESCRIPTION = "per_prescription"
    """One LIS copay per fill whatever the supply [M]."""
    PER_MONTH_SUPPLY = "per_month_supply"
    """One LIS copay per started month of supply."""


@dataclass(frozen=True, slots=True)
class PartDPolicy:
    """Configuration for the open policy points (defaults in brackets).

    * ``fee_allocation`` [EARLIER_PHASE]: fee placement in CGDP straddles, 2011-2024.
    * ``insulin_scaling`` [PRO_RATA]: insulin cap for part months.
    * ``lis_copay_basis`` [PER_PRESCRIPTION]: LIS copay per fill or per month's supply.
    * ``prorate_short_fill_copays`` [True]: daily cost-sharing rate -- copays (plan and LIS)
      for fills shorter than the plan's month are scaled by days / month-days.
    """

    fee_allocation: FeeAllocation = FeeAllocation.EARLIER_PHASE
    insulin_scaling: InsulinScaling = InsulinScaling.PRO_RATA
    lis_copay_basis: LisCopayBasis = LisCopayBasis.PER_PRESCRIPTION
    prorate_short_fill_copays: bool = True


@dataclass(frozen=True, slots=True)
class BeneficiaryState:
    """Accumulators before the claim (year to date) and the LIS level, if any."""

    troop: Cents = 0
    gross: Cents = 0
    lis: LisLevel | None = None

    def __post_init__(self) -> None:
        if self.troop < 0 or self.gross < 0:
            raise ValueError("accumulators must be non-negative")


@dataclass(slots=True)  # per-claim: not frozen, see docs/performance.md
class ClaimFacts:
    """What the phase engine needs to know about one covered Part D fill.

    * ``applicable_drug``: NDA/BLA (discount programs); a selected drug is excluded from the
      MDP by ``selected_drug``.
    * ``generic_or_preferred_multisource``: gets the lower catastrophic and LIS copay.
    * ``insulin`` / ``vaccine``: covered insulin product / ACIP-recommended adult vaccine.
    * ``maximum_fair_price``: MFP of the fill, for the 2026+ insulin lesser-of rule.
    * ``specified_manufacturer`` / ``specified_small_manufacturer``: MDP phase-in flags.
    * ``other_troop_amount``: qualified other-payer payment available (SPAP, ADAP, charity...).
    """

    ingredient_cost: Cents
    dispensing_fee: Cents = 0
    vaccine_admin_fee: Cents = 0
    sales_tax: Cents = 0
    tier: int = 1
    channel: Channel = Channel.RETAIL_PREF
    days_supply: int = 30
    applicable_drug: bool = False
    generic_or_preferred_multisource: bool = False
    insulin: bool = False
    vaccine: bool = False
    selected_drug: bool = False
    maximum_fair_price: Cents | None = None
    specified_manufacturer: bool = False
    specified_small_manufacturer: bool = False
    other_troop_amount: Cents = 0

    def __post_init__(self) -> None:
        try:  # the common case in one expression; the checks below name the bad field
            valid = (
                self.ingredient_cost >= 0
                and self.dispensing_fee >= 0
                and self.vaccine_admin_fee >= 0
                and self.sales_tax >= 0
                and self.other_troop_amount >= 0
                and self.days_supply > 0
            )
        except TypeError:
            valid = False
        if valid:
            return
        for name in (
            "ingredient_cost",
            "dispensing_fee",
            "vaccine_admin_fee",
            "sales_tax",
            "other_troop_amount",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be non-negative")
        if self.days_supply <= 0:
            raise ValueError("days_supply must be positive")

    @property
    def gross(self) -> Cents:
        """Gross drug cost: ingredient + dispensing fee + vaccine admin fee + sales tax."""
        return self.ingredient_cost + self.dispensing_fee + self.vaccine_admin_fee + self.sales_tax


@dataclass(frozen=True, slots=True)
class PhasePortion:
    """The part of a claim that fell in one phase (cents, rounded cumulatively)."""

    phase: BenefitPhase
    gross: Cents
    cost_share: Cents
    """Plan (DS) cost sharing before LIS and other payers."""
    discount: Cents


@dataclass(slots=True)  # per-claim: not frozen, see docs/performance.md
class PhaseResult:
    """The phase split of one claim and every PDE amount (integer cents).

    Identity: ``gross_drug_cost == patient_pay + other_troop_amount + lics + plro +
    covered_plan_paid + non_covered_plan_paid + manufacturer_discount``.
    """

    year: int
    portions: tuple[PhasePortion, ...]
    gross_drug_cost: Cents
    gdcb: Cents
    gdca: Cents
    plan_cost_share: Cents
    patient_pay: Cents
    other_troop_amount: Cents
    lics: Cents
    plro: Cents
    covered_plan_paid: Cents
    non_covered_plan_paid: Cents
    manufacturer_discount: Cents
    discount_counts_toward_troop: bool
    reinsurance_eligible: Cents
    selected_drug_subsidy: Cents
    troop_delta: Cents
    gross_delta: Cents
    catastrophic_code: CatastrophicCode
    beginning_phase: BenefitPhase
    ending_phase: BenefitPhase
    troop_before: Cents
    troop_after: Cents
    gross_before: Cents
    gross_after: Cents
    applicable_drug: bool

    def check(self) -> None:
        """Raise :class:`AssertionError` unless every accounting identity holds exactly."""
        parts = (
            self.patient_pay
            + self.other_troop_amount
            + self.lics
            + self.plro
            + self.covered_plan_paid
            + self.non_covered_plan_paid
            + self.manufacturer_discount
        )
        _ensure(parts == self.gross_drug_cost, "gross != sum of payer amounts")
        _ensure(self.gdcb + self.gdca == self.gross_drug_cost, "GDCB + GDCA != gross")
        _ensure(sum(p.gross for p in self.portions) == self.gross_drug_cost, "portions != gross")
        _ensure(
            sum(p.cost_share for p in self.portions) == self.plan_cost_share,
            "portion cost shares != plan cost share",
        )
        _ensure(
            sum(p.discount for p in self.portions) == self.manufacturer_discount,
            "portion discounts != discount",
        )
        _ensure(
            self.plan_cost_share == self.patient_pay + self.other_troop_amount + self.lics,
            "plan cost share != patient pay + OTA + LICS",
        )
        troop = self.plan_cost_share + (
            self.manufacturer_discount if self.discount_counts_toward_troop else 0
        )
        _ensure(self.troop_delta == troop, "TrOOP delta mismatch")
        _ensure(self.troop_after == self.troop_before + self.troop_delta, "TrOOP accumulator")
        _ensure(self.gross_delta == self.gross_drug_cost, "gross delta mismatch")
        _ensure(self.gross_after == self.gross_before + self.gross_delta, "gross accumulator")
        amounts = (
            self.patient_pay,
            self.other_troop_amount,
            self.lics,
            self.covered_plan_paid,
            self.manufacturer_discount,
            self.gdcb,
            self.gdca,
        )
        _ensure(min(amounts) >= 0, "negative amount")


def _ensure(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)


# --------------------------------------------------------------------------------------------
# Phase placement


def phase_of(
    params: PartDParameters, design: BenefitDesign, troop: Cents, gross: Cents
) -> BenefitPhase:
    """The benefit phase a beneficiary is in, from the accumulators alone."""
    deductible = params.deductible if design.deductible is None else design.deductible
    if troop >= params.oop_threshold:
        return BenefitPhase.CATASTROPHIC
    if params.initial_coverage_limit is None:
        return BenefitPhase.DEDUCTIBLE if troop < deductible else BenefitPhase.INITIAL
    if gross < deductible:
        return BenefitPhase.DEDUCTIBLE
    if gross < params.initial_coverage_limit:
        return BenefitPhase.INITIAL
    return BenefitPhase.GAP


@dataclass(frozen=True, slots=True)
class _Step:
    phase: BenefitPhase
    gross_limit: Fraction | None
    troop_limit: Fraction | None
    discount_on: bool


@dataclass(frozen=True, slots=True)
class _Segment:
    amount: Fraction
    discountable: Fraction
    """Share of the segment that is discountable (ingredient before 2025; all from 2025)."""


@dataclass(slots=True)
class _Piece:
    phase: BenefitPhase
    gross: Fraction
    bene: Fraction
    disc: Fraction


@dataclass(frozen=True, slots=True)
class _Rates:
    """Per-gross-dollar rates of a phase: (non-discountable, discountable) components."""

    bene: tuple[Fraction, Fraction]
    disc: tuple[Fraction, Fraction]


def _ppm(rate: int | None) -> Fraction:
    return Fraction(rate or 0, RATE_SCALE)


def _round(value: Fraction) -> int:
    return div_round(value.numerator, value.denominator)


def _cumulative(values: list[Fraction]) -> list[int]:
    out: list[int] = []
    total, previous = _ZERO, 0
    for value in values:
        total += value
        rounded = _round(total)
        out.append(rounded - previous)
        previous = rounded
    return out


_STEPS: dict[tuple[int, int], tuple[PartDParameters, BenefitDesign, list[_Step]]] = {}


def _steps(params: PartDParameters, design: BenefitDesign) -> list[_Step]:
    """The year's phase steps for a design (cached per parameter set and design object)."""
    key = (id(params), id(design))
    hit = _STEPS.get(key)
    if hit is not None and hit[0] is params and hit[1] is design:
        return hit[2]
    steps = _build_steps(params, design)
    if len(_STEPS) > 4096:
        _STEPS.clear()
    _STEPS[key] = (params, design, steps)
    return steps


def _build_steps(params: PartDParameters, design: BenefitDesign) -> list[_Step]:
    plan_deductible = Fraction(
        params.deductible if design.deductible is None else design.deductible
    )
    oop = Fraction(params.oop_threshold)
    if params.initial_coverage_limit is not None:
        icl = Fraction(params.initial_coverage_limit)
        return [
            _Step(BenefitPhase.DEDUCTIBLE, plan_deductible, oop, False),
            _Step(BenefitPhase.INITIAL, icl, oop, False),
            _Step(BenefitPhase.GAP, None, oop, True),
            _Step(BenefitPhase.CATASTROPHIC, None, None, False),
        ]
    ds_deductible = Fraction(params.deductible)
    return [
        _Step(BenefitPhase.DEDUCTIBLE, None, min(plan_deductible, oop), False),
        _Step(BenefitPhase.INITIAL, None, min(ds_deductible, oop), False),
        _Step(BenefitPhase.INITIAL, None, oop, True),
        _Step(BenefitPhase.CATASTROPHIC, None, None, True),
    ]


def _segments(params: PartDParameters, claim: ClaimFacts, policy: PartDPolicy) -> list[_Segment]:
    gross = Fraction(claim.gross)
    if params.has_mdp:
        return [_Segment(gross, _ONE)]
    ingredient = Fraction(claim.ingredient_cost)
    other = gross - ingredient
    if policy.fee_allocation is FeeAllocation.PRO_RATA:
        return [_Segment(gross, ingredient / gross)]
    return [s for s in (_Segment(other, _ZERO), _Segment(ingredient, _ONE)) if s.amount > 0]


def _months(days: int, month_days: int, scaling: InsulinScaling) -> Fraction:
    if scaling is InsulinScaling.NEXT_WHOLE_MONTH:
        return Fraction(-(-days // month_days))
    return Fraction(days, month_days)


def _insulin_cap(
    params: PartDParameters, claim: ClaimFacts, design: BenefitDesign, policy: PartDPolicy
) -> Fraction | None:
    if not claim.insulin or params.insulin_cap is None:
        return None
    cap = params.insulin_cap * _months(claim.days_supply, design.month_days, policy.insulin_scaling)
    if params.insulin_cap_rule is InsulinCapRule.LESSER_OF:
        share = _ppm(params.insulin_price_share)
        cap = min(cap, share * claim.gross)
        if claim.selected_drug and claim.maximum_fair_price is not None:
            cap = min(cap, share * claim.maximum_fair_price)
    return cap


# --------------------------------------------------------------------------------------------
# The split


def split_claim(
    params: PartDParameters,
    design: BenefitDesign,
    state: BeneficiaryState,
    claim: ClaimFacts,
    policy: PartDPolicy | None = None,
) -> PhaseResult:
    """Split one claim across the Part D phases and compute every PDE amount.

    Pure: the same inputs always give the same result.  Raises
    :class:`~pbm_engine.medicare.design.DesignLookupError` when a tiered design lacks a cell,
    and :class:`~pbm_engine.medicare.parameters.PlanYearError` for an LIS level that does not
    exist in the year.
    """
    return _split(params, design, state, claim, policy or PartDPolicy(), fast=True)


def _split(
    params: PartDParameters,
    design: BenefitDesign,
    state: BeneficiaryState,
    claim: ClaimFacts,
    policy: PartDPolicy,
    *,
    fast: bool,
) -> PhaseResult:
    """``split_claim``; ``fast=False`` forces the general walk (tests compare the two)."""
    if fast:
        result = _single_step(params, design, state, claim, policy)
        if result is None:
            result = _multi_step(params, design, state, claim, policy)
        if result is not None:
            return result
    lis = lis_for(params.year, state.lis) if state.lis is not None else None
    gross = claim.gross
    vaccine_zero = claim.vaccine and params.vaccine_zero_cost_sharing
    exempt = (
        (claim.insulin and params.insulin_cap is not None)
        or vaccine_zero
        or claim.tier in design.deductible_exempt_tiers
    )
    cap_left = _insulin_cap(params, claim, design, policy)
    if vaccine_zero:
        cap_left = _ZERO
    copay_factor = _ONE
    if policy.prorate_short_fill_copays and claim.days_supply < design.month_days:
        copay_factor = Fraction(claim.days_supply, design.month_days)
    mdp_rates = _mdp_rates(params, claim, lis is not None)
    steps = _steps(params, design)

    gdc, troop = Fraction(state.gross), Fraction(state.troop)
    pieces: list[_Piece] = []
    segments = _segments(params, claim, policy) if gross else []
    seg_index = 0
    seg_left = segments[0].amount if segments else _ZERO
    remaining = Fraction(gross)
    previous: tuple[str, _Rates] | None = None
    for step in steps:
        if remaining == 0:
            break
        if step.phase is not BenefitPhase.CATASTROPHIC and (
            (step.gross_limit is not None and gdc >= step.gross_limit)
            or (step.troop_limit is not None and troop >= step.troop_limit)
        ):
            continue
        rates = _phase_rates(
            params, design, claim, step, lis is not None, exempt, copay_factor, mdp_rates,
            remaining, cap_left,
        )  # fmt: skip
        key = _pricing_key(step.phase, exempt)
        if previous is not None and previous[0] == key:
            # Same cost-share cell as the step before (e.g. initial coverage before and after
            # the DS deductible): keep its rates so a copay is not charged twice.
            rates = _Rates(previous[1].bene, rates.disc)
        else:
            rates = _capped(rates, segments[seg_index:], seg_left, cap_left)
        previous = (key, rates)
        step_bene = _ZERO
        while remaining > 0:
            segment = segments[seg_index]
            share = segment.discountable
            bene = rates.bene[0] * (1 - share) + rates.bene[1] * share
            disc = rates.disc[0] * (1 - share) + rates.disc[1] * share
            accrual = bene + (disc if not params.has_mdp else _ZERO)
            take = seg_left
            if step.gross_limit is not None:
                take = min(take, step.gross_limit - gdc)
            if step.troop_limit is not None and accrual > 0:
                take = min(take, (step.troop_limit - troop) / accrual)
            pieces.append(_Piece(step.phase, take, take * bene, take * disc))
            step_bene += take * bene
            gdc += take
            troop += take * accrual
            seg_left -= take
            remaining -= take
            if seg_left == 0 and seg_index + 1 < len(segments):
                seg_index += 1
                seg_left = segments[seg_index].amount
            if (step.gross_limit is not None and gdc >= step.gross_limit) or (
                step.troop_limit is not None and troop >= step.troop_limit
            ):
                break
        if cap_left is not None:
            cap_left = max(_ZERO, cap_left - step_bene)
    return _result(params, design, state, claim, policy, lis, pieces)


# --------------------------------------------------------------------------------------------
# The integer fast path: a claim that stays inside one step


_IntStep = tuple[BenefitPhase, int | None, int | None, bool]
_CAT_STEP: _IntStep = (_CAT, None, None, False)
_INT_STEPS: dict[tuple[int, int], tuple[PartDParameters, BenefitDesign, tuple[_IntStep, ...]]] = {}


def _int_steps(params: PartDParameters, design: BenefitDesign) -> tuple[_IntStep, ...]:
    """:func:`_steps` with integer limits (cents), cached the same way."""
    key = (id(params), id(design))
    hit = _INT_STEPS.get(key)
    if hit is not None and hit[0] is params and hit[1] is design:
        return hit[2]
    steps = tuple(
        (
            s.phase,
            None if s.gross_limit is None else int(s.gross_limit),
            None if s.troop_limit is None else int(s.troop_limit),
            s.discount_on,
        )
        for s in _steps(params, design)
    )  # every limit is a whole number of cents
    if len(_INT_STEPS) > 4096:
        _INT_STEPS.clear()
    _INT_STEPS[key] = (params, design, steps)
    return steps


_CELLS: dict[tuple[int, int, int, str, int], tuple[BenefitDesign, CostShare | None]] = {}


def _lookup(
    design: BenefitDesign, tier: int, level: CoverageLevel, channel: Channel, days_supply: int
) -> CostShare | None:
    """``design.lookup``, cached per design object (designs are immutable); errors are not
    cached, so a missing cell raises every time."""
    if design.standard:
        return None
    key = (id(design), tier, level, channel, days_supply)
    hit = _CELLS.get(key)
    if hit is not None and hit[0] is design:
        return hit[1]
    cell = design.lookup(tier, level, channel, days_supply)
    if len(_CELLS) > 65536:
        _CELLS.clear()
    _CELLS[key] = (design, cell)
    return cell


def _assemble(
    params: PartDParameters,
    state: BeneficiaryState,
    claim: ClaimFacts,
    portions: tuple[PhasePortion, ...],
    gdcb: Cents,
    plan_cost_share: Cents,
    discount: Cents,
    counts: bool,
    lis_share: Cents,
    beginning: BenefitPhase,
    ending: BenefitPhase,
) -> PhaseResult:
    """The PDE amounts of a split once its rounded portions and LIS share are known (shared by
    the exact walk and the integer fast paths, so all three finish the same way)."""
    gross = claim.gross
    gdca = gross - gdcb
    lics = plan_cost_share - lis_share
    other = min(claim.other_troop_amount, lis_share)
    patient_pay = lis_share - other
    troop_delta = plan_cost_share + (discount if counts else 0)
    if gdca == 0:
        code = CatastrophicCode.NONE
    elif state.troop >= params.oop_threshold:
        code = CatastrophicCode.ABOVE
    else:
        code = CatastrophicCode.ATTACHMENT
    subsidy = 0
    if claim.selected_drug and params.selected_drug_subsidy:
        initial = sum(p.gross for p in portions if p.phase is BenefitPhase.INITIAL)
        subsidy = apply_rate(initial, params.selected_drug_subsidy)
    return PhaseResult(
        year=params.year,
        portions=portions,
        gross_drug_cost=gross,
        gdcb=gdcb,
        gdca=gdca,
        plan_cost_share=plan_cost_share,
        patient_pay=patient_pay,
        other_troop_amount=other,
        lics=lics,
        plro=0,
        covered_plan_paid=gross - patient_pay - other - lics - discount,
        non_covered_plan_paid=0,
        manufacturer_discount=discount,
        discount_counts_toward_troop=counts,
        reinsurance_eligible=gdca,
        selected_drug_subsidy=subsidy,
        troop_delta=troop_delta,
        gross_delta=gross,
        catastrophic_code=code,
        beginning_phase=beginning,
        ending_phase=ending,
        troop_before=state.troop,
        troop_after=state.troop + troop_delta,
        gross_before=state.gross,
        gross_after=state.gross + gross,
        applicable_drug=claim.applicable_drug,
    )


def _single_step(
    params: PartDParameters,
    design: BenefitDesign,
    state: BeneficiaryState,
    claim: ClaimFacts,
    policy: PartDPolicy,
) -> PhaseResult | None:
    """The result of a claim that stays inside one deductible, initial-coverage or
    catastrophic step (most claims), in integers only; None sends it to the general walk.

    Inside such a step every rate is uniform over the claim's segments, so the walk's pieces
    merge into one whose exact amounts are: gross; the cell's (or catastrophic) amount for the
    whole claim, lowered to the insulin / vaccine cap; the discount rate times gross.  Each is a
    ratio of integers carried as (numerator, denominator) and rounded once with
    :func:`div_round`, exactly as ``_result`` rounds the same values as ``Fraction``.  The tests
    check it against the general walk field for field.
    """
    gross = claim.gross
    if gross <= 0:
        return None
    lis = lis_for(params.year, state.lis) if state.lis is not None else None
    gdc, troop = state.gross, state.troop
    step = _CAT_STEP
    for step in _int_steps(params, design):  # the first step the accumulators have not passed
        if step[0] is _CAT or not (
            (step[1] is not None and gdc >= step[1]) or (step[2] is not None and troop >= step[2])
        ):
            break
    phase, gross_limit, troop_limit, discount_on = step
    if phase is _GAP or (gross_limit is not None and gdc + gross > gross_limit):
        return None
    has_mdp = params.mdp_initial_discount is not None
    scale = RATE_SCALE

    # Beneficiary amount bn / bd (the cost share of the whole claim in this step).
    bn: int
    bd: int
    if phase is _CAT:
        coinsurance = params.catastrophic_coinsurance
        if coinsurance is None:  # $0 catastrophic cost sharing
            bn, bd = 0, 1
        else:
            copay = (
                params.catastrophic_copay_generic
                if claim.generic_or_preferred_multisource
                else params.catastrophic_copay_other
            )
            bn, bd = gross * coinsurance, scale
            if bn < copay * scale:
                bn, bd = copay, 1
    else:
        vaccine_zero = claim.vaccine and params.vaccine_zero_cost_sharing
        exempt = (
            (claim.insulin and params.insulin_cap is not None)
            or vaccine_zero
            or claim.tier in design.deductible_exempt_tiers
        )
        level = (
            CoverageLevel.INITIAL
            if phase is _INITIAL or exempt
            else CoverageLevel.PRE_DEDUCTIBLE
        )
        cell = _lookup(design, claim.tier, level, claim.channel, claim.days_supply)
        if cell is None:
            rate = (
                scale
                if level is CoverageLevel.PRE_DEDUCTIBLE
                else params.initial_coverage_coinsurance
            )
            bn, bd = gross * rate, scale
        elif cell.copay is not None:
            days, month = claim.days_supply, design.month_days
            if policy.prorate_short_fill_copays and days < month:
                bn, bd = cell.copay * days, month
            else:
                bn, bd = cell.copay, 1
        else:
            bn, bd = gross * (cell.coinsurance or 0), scale
            low, high = cell.min_amount, cell.max_amount
            if low is not None and bn < low * bd:
                bn, bd = low, 1
            if high is not None and bn > high * bd:
                bn, bd = high, 1
    if bn > gross * bd:
        bn, bd = gross, 1

    # Insulin cap / $0 vaccine: the rest of the claim costs at most the cap.
    if claim.vaccine and params.vaccine_zero_cost_sharing:
        bn, bd = 0, 1
    elif claim.insulin and params.insulin_cap is not None:
        days, month = claim.days_supply, design.month_days
        if policy.insulin_scaling is InsulinScaling.NEXT_WHOLE_MONTH:
            cn, cd = params.insulin_cap * -(-days // month), 1
        else:
            cn, cd = params.insulin_cap * days, month
        if params.insulin_cap_rule is InsulinCapRule.LESSER_OF:
            share = params.insulin_price_share or 0
            if share * gross * cd < cn * scale:
                cn, cd = share * gross, scale
            mfp = claim.maximum_fair_price
            if claim.selected_drug and mfp is not None and share * mfp * cd < cn * scale:
                cn, cd = share * mfp, scale
        if bn * cd > cn * bd:
            bn, bd = cn, cd

    # Discount dn / RATE_SCALE.
    dn = 0
    if discount_on and has_mdp and claim.applicable_drug and not claim.selected_drug:
        if claim.specified_small_manufacturer or (claim.specified_manufacturer and lis is not None):
            discount_rate = (
                params.mdp_phase_in_catastrophic_discount
                if phase is _CAT
                else params.mdp_phase_in_initial_discount
            )
        else:
            discount_rate = (
                params.mdp_catastrophic_discount if phase is _CAT else params.mdp_initial_discount
            )
        dn = gross * (discount_rate or 0)

    # The claim must end inside the step (TrOOP accrues the discount only before 2025).
    if troop_limit is not None:
        if has_mdp:
            if troop * bd + bn > troop_limit * bd:
                return None
        elif (troop * bd + bn) * scale + dn * bd > troop_limit * bd * scale:
            return None

    # Rounding, as in _result for one piece.
    discount = div_round(dn, scale)
    if has_mdp:
        cost_share = div_round(bn, bd)
    else:
        cost_share = div_round(bn * scale + dn * bd, bd * scale) - discount
    if cost_share < 0:
        return None
    if cost_share + discount > gross:
        discount = gross - cost_share
        if discount < 0:
            return None
    counts = not has_mdp
    if phase is _CAT:
        gdcb, cost_below, cost_above = 0, 0, cost_share
    else:
        gdcb, cost_below, cost_above = gross, cost_share, 0
    if lis is None:
        lis_share = cost_share
    else:
        lis_share = _lis_share(lis, state, claim, design, policy, gdcb, cost_below, cost_above)
    return _assemble(params, state, claim, (PhasePortion(phase, gross, cost_share, discount),),
                     gdcb, cost_share, discount, counts, lis_share, phase, phase)


# Exact ratios as (numerator, denominator) pairs of ints, denominator > 0, never reduced: the
# multi-step fast path only adds, multiplies, compares and finally rounds them with div_round.
_Q = tuple[int, int]


def _q_add(a: _Q, b: _Q) -> _Q:
    return a[0] * b[1] + b[0] * a[1], a[1] * b[1]


def _q_sub(a: _Q, b: _Q) -> _Q:
    return a[0] * b[1] - b[0] * a[1], a[1] * b[1]


def _q_mul(a: _Q, b: _Q) -> _Q:
    return a[0] * b[0], a[1] * b[1]


def _q_div(a: _Q, b: _Q) -> _Q:
    """``a / b`` for ``b > 0``."""
    return a[0] * b[1], a[1] * b[0]


def _q_lt(a: _Q, b: _Q) -> bool:
    return a[0] * b[1] < b[0] * a[1]


def _q_min(a: _Q, b: _Q) -> _Q:
    return b if _q_lt(b, a) else a


def _q_max(a: _Q, b: _Q) -> _Q:
    return b if _q_lt(a, b) else a


def _q_amount(
    params: PartDParameters,
    design: BenefitDesign,
    claim: ClaimFacts,
    policy: PartDPolicy,
    phase: BenefitPhase,
    exempt: bool,
    remaining: _Q,
) -> _Q:
    """The cost share of the rest of the claim at one step's rule (``_phase_rates`` times
    ``remaining``; not for the gap)."""
    scale = RATE_SCALE
    if phase is _CAT:
        coinsurance = params.catastrophic_coinsurance
        if coinsurance is None:
            return 0, 1
        copay = (
            params.catastrophic_copay_generic
            if claim.generic_or_preferred_multisource
            else params.catastrophic_copay_other
        )
        amount = _q_max((remaining[0] * coinsurance, remaining[1] * scale), (copay, 1))
        return _q_min(amount, remaining)
    level = CoverageLevel.INITIAL if phase is _INITIAL or exempt else CoverageLevel.PRE_DEDUCTIBLE
    cell = _lookup(design, claim.tier, level, claim.channel, claim.days_supply)
    if cell is None:
        rate = (
            scale if level is CoverageLevel.PRE_DEDUCTIBLE else params.initial_coverage_coinsurance
        )
        amount = (remaining[0] * rate, remaining[1] * scale)
    elif cell.copay is not None:
        days, month = claim.days_supply, design.month_days
        if policy.prorate_short_fill_copays and days < month:
            amount = (cell.copay * days, month)
        else:
            amount = (cell.copay, 1)
    else:
        amount = (remaining[0] * (cell.coinsurance or 0), remaining[1] * scale)
        if cell.min_amount is not None:
            amount = _q_max(amount, (cell.min_amount, 1))
        if cell.max_amount is not None:
            amount = _q_min(amount, (cell.max_amount, 1))
    return _q_min(amount, remaining)


def _q_cap(
    params: PartDParameters, design: BenefitDesign, claim: ClaimFacts, policy: PartDPolicy
) -> _Q | None:
    """``_insulin_cap`` (with the $0 vaccine cap) as a ratio."""
    if claim.vaccine and params.vaccine_zero_cost_sharing:
        return 0, 1
    if not claim.insulin or params.insulin_cap is None:
        return None
    days, month = claim.days_supply, design.month_days
    cap: _Q
    if policy.insulin_scaling is InsulinScaling.NEXT_WHOLE_MONTH:
        cap = (params.insulin_cap * -(-days // month), 1)
    else:
        cap = (params.insulin_cap * days, month)
    if params.insulin_cap_rule is InsulinCapRule.LESSER_OF:
        share = params.insulin_price_share or 0
        cap = _q_min(cap, (share * claim.gross, RATE_SCALE))
        if claim.selected_drug and claim.maximum_fair_price is not None:
            cap = _q_min(cap, (share * claim.maximum_fair_price, RATE_SCALE))
    return cap


def _q_cumulative(values: list[_Q]) -> list[int]:
    out: list[int] = []
    total: _Q = (0, 1)
    previous = 0
    for value in values:
        total = _q_add(total, value)
        rounded = div_round(total[0], total[1])
        out.append(rounded - previous)
        previous = rounded
    return out


def _multi_step(
    params: PartDParameters,
    design: BenefitDesign,
    state: BeneficiaryState,
    claim: ClaimFacts,
    policy: PartDPolicy,
) -> PhaseResult | None:
    """The general walk in integer ratios for a claim that never enters the coverage gap
    (e.g. deductible -> initial coverage -> catastrophic); None sends it to the general walk.

    Outside the gap every rate is uniform over the claim's segments, so each step is one piece
    whatever the fee allocation.  Step for step this is ``_split``'s walk (same limits, the
    cost-share rule of a step reused when the step before had the same rule, the insulin /
    vaccine cap applied when a rule is first used and reduced by each step's cost share) and
    ``_result``'s rounding, with (numerator, denominator) ints in place of ``Fraction``.  The
    tests check it against the general walk field for field.
    """
    gross = claim.gross
    if gross <= 0:
        return None
    lis = lis_for(params.year, state.lis) if state.lis is not None else None
    has_mdp = params.mdp_initial_discount is not None
    vaccine_zero = claim.vaccine and params.vaccine_zero_cost_sharing
    exempt = (
        (claim.insulin and params.insulin_cap is not None)
        or vaccine_zero
        or claim.tier in design.deductible_exempt_tiers
    )
    cap = _q_cap(params, design, claim, policy)
    mdp_initial = mdp_catastrophic = 0
    if has_mdp and claim.applicable_drug and not claim.selected_drug:
        if claim.specified_small_manufacturer or (
            claim.specified_manufacturer and lis is not None
        ):
            mdp_initial = params.mdp_phase_in_initial_discount or 0
            mdp_catastrophic = params.mdp_phase_in_catastrophic_discount or 0
        else:
            mdp_initial = params.mdp_initial_discount or 0
            mdp_catastrophic = params.mdp_catastrophic_discount or 0

    gdc: _Q = (state.gross, 1)
    troop: _Q = (state.troop, 1)
    remaining: _Q = (gross, 1)
    pieces: list[list[Any]] = []  # merged by phase: [phase, gross, bene, disc]
    previous_key: str | None = None
    bene_rate: _Q = (0, 1)
    for phase, gross_limit, troop_limit, discount_on in _int_steps(params, design):
        if remaining[0] == 0:
            break
        if phase is not _CAT and (
            (gross_limit is not None and gdc[0] >= gross_limit * gdc[1])
            or (troop_limit is not None and troop[0] >= troop_limit * troop[1])
        ):
            continue
        if phase is _GAP:
            return None
        amount = _q_amount(params, design, claim, policy, phase, exempt, remaining)
        key = _pricing_key(phase, exempt)
        if key != previous_key:
            bene_rate = _q_div(amount, remaining)
            if cap is not None and _q_lt(cap, amount):
                bene_rate = _q_div(cap, remaining)  # the rate that costs exactly the cap
        previous_key = key
        ppm = (mdp_catastrophic if phase is _CAT else mdp_initial) if discount_on else 0
        disc_rate: _Q = (ppm, RATE_SCALE)
        accrual = bene_rate if has_mdp else _q_add(bene_rate, disc_rate)
        take = remaining
        if gross_limit is not None:
            take = _q_min(take, _q_sub((gross_limit, 1), gdc))
        if troop_limit is not None and accrual[0] > 0:
            take = _q_min(take, _q_div(_q_sub((troop_limit, 1), troop), accrual))
        bene = _q_mul(take, bene_rate)
        disc = _q_mul(take, disc_rate)
        if take[0] != 0:
            if pieces and pieces[-1][0] is phase:
                last = pieces[-1]
                last[1] = _q_add(last[1], take)
                last[2] = _q_add(last[2], bene)
                last[3] = _q_add(last[3], disc)
            else:
                pieces.append([phase, take, bene, disc])
        gdc = _q_add(gdc, take)
        troop = _q_add(troop, _q_mul(take, accrual))
        remaining = _q_sub(remaining, take)
        if cap is not None:
            cap = _q_max((0, 1), _q_sub(cap, bene))
    return _q_result(params, state, claim, design, policy, lis, pieces)


def _q_result(
    params: PartDParameters,
    state: BeneficiaryState,
    claim: ClaimFacts,
    design: BenefitDesign,
    policy: PartDPolicy,
    lis: LisCostShare | None,
    merged: list[list[Any]],
) -> PhaseResult | None:
    """``_result`` for ratio pieces (already merged by phase); None where it would raise."""
    gross = claim.gross
    counts = params.mdp_initial_discount is None
    gross_parts = _q_cumulative([p[1] for p in merged])
    bene_parts = _q_cumulative([p[2] for p in merged])
    disc_parts = _q_cumulative([p[3] for p in merged])
    bene_exact: _Q = (0, 1)
    disc_exact: _Q = (0, 1)
    for p in merged:
        bene_exact = _q_add(bene_exact, p[2])
        disc_exact = _q_add(disc_exact, p[3])
    discount = sum(disc_parts)
    troop_exact = _q_add(bene_exact, disc_exact) if counts else bene_exact
    plan_cost_share = div_round(troop_exact[0], troop_exact[1]) - (discount if counts else 0)
    positive = [p[1][0] > 0 for p in merged]
    if not _q_adjust(bene_parts, plan_cost_share - sum(bene_parts), positive):
        return None
    if plan_cost_share + discount > gross:
        surplus = plan_cost_share + discount - gross
        discount -= surplus
        if not _q_adjust(disc_parts, -surplus, positive):
            return None
    portions = tuple(
        PhasePortion(p[0], g, b, d)
        for p, g, b, d in zip(merged, gross_parts, bene_parts, disc_parts, strict=True)
    )
    gdcb = cost_below = 0
    for portion in portions:
        if portion.phase is not _CAT:
            gdcb += portion.gross
            cost_below += portion.cost_share
    cost_above = plan_cost_share - cost_below
    if lis is None:
        lis_share = plan_cost_share
    else:
        gross_below = _ZERO  # read by the partial level only
        if lis.level is LisLevel.PARTIAL:
            below: _Q = (0, 1)
            for p in merged:
                if p[0] is not _CAT:
                    below = _q_add(below, p[1])
            gross_below = Fraction(*below)
        lis_share = _lis_share(
            lis, state, claim, design, policy, gross_below, cost_below, cost_above
        )
    return _assemble(params, state, claim, portions, gdcb, plan_cost_share, discount, counts,
                     lis_share, merged[0][0], merged[-1][0])


def _q_adjust(parts: list[int], delta: int, positive: list[bool]) -> bool:
    """``_adjust`` (``positive``: which pieces have a gross above 0); False where it raises."""
    if delta == 0:
        return True
    for index in range(len(parts) - 1, -1, -1):
        if parts[index] + delta >= 0 and (delta < 0 or positive[index]):
            parts[index] += delta
            return True
    return False


def _mdp_rates(
    params: PartDParameters, claim: ClaimFacts, is_lis: bool
) -> tuple[Fraction, Fraction]:
    """MDP discount below / at-or-above the threshold for this claim (0 if not applicable)."""
    if not params.has_mdp or not claim.applicable_drug or claim.selected_drug:
        return _ZERO, _ZERO
    if claim.specified_small_manufacturer or (claim.specified_manufacturer and is_lis):
        return (
            _ppm(params.mdp_phase_in_initial_discount),
            _ppm(params.mdp_phase_in_catastrophic_discount),
        )
    return _ppm(params.mdp_initial_discount), _ppm(params.mdp_catastrophic_discount)


def _phase_rates(
    params: PartDParameters,
    design: BenefitDesign,
    claim: ClaimFacts,
    step: _Step,
    is_lis: bool,
    exempt: bool,
    copay_factor: Fraction,
    mdp_rates: tuple[Fraction, Fraction],
    remaining: Fraction,
    cap_left: Fraction | None,
) -> _Rates:
    """Per-gross-dollar beneficiary and discount rates for one step over the rest of the claim."""
    no_disc = (_ZERO, _ZERO)
    phase = step.phase
    if phase is BenefitPhase.CATASTROPHIC:
        if params.catastrophic_zero:
            bene = (_ZERO, _ZERO)
        else:
            copay = (
                params.catastrophic_copay_generic
                if claim.generic_or_preferred_multisource
                else params.catastrophic_copay_other
            )
            amount = min(
                max(remaining * _ppm(params.catastrophic_coinsurance), Fraction(copay)),
                remaining,
            )
            rate = amount / remaining
            bene = (rate, rate)
        disc = (mdp_rates[1], mdp_rates[1]) if step.discount_on else no_disc
        return _Rates(bene, disc)
    if phase is BenefitPhase.GAP:
        if not params.has_cgdp or is_lis:
            return _Rates((_ONE, _ONE), no_disc)
        if claim.applicable_drug:
            bene = (_ppm(params.gap_brand_fee_coinsurance), _ppm(params.gap_brand_coinsurance))
            disc = (_ZERO, _ppm(params.gap_discount))
            if cap_left == 0 and claim.vaccine:
                disc = no_disc  # $0 vaccine cost sharing: no gap discount [M]
            return _Rates(bene, disc)
        rate = _ppm(params.gap_generic_coinsurance)
        return _Rates((rate, rate), no_disc)
    # Deductible or initial coverage: plan design cells (DS: 100% / 25%).
    level = CoverageLevel.PRE_DEDUCTIBLE
    if phase is BenefitPhase.INITIAL or exempt:
        level = CoverageLevel.INITIAL
    cell = design.lookup(claim.tier, level, claim.channel, claim.days_supply)
    if cell is None:
        cell = (
            CostShare.of_coinsurance(RATE_SCALE)
            if level is CoverageLevel.PRE_DEDUCTIBLE
            else CostShare.of_coinsurance(params.initial_coverage_coinsurance)
        )
    amount = cell.amount(remaining, copay_factor)
    rate = amount / remaining
    disc = (mdp_rates[0], mdp_rates[0]) if step.discount_on else no_disc
    return _Rates((rate, rate), disc)


def _pricing_key(phase: BenefitPhase, exempt: bool) -> str:
    """Which cost-share rule prices a step: the phase, with exempt deductibles as initial."""
    if phase is BenefitPhase.DEDUCTIBLE and exempt:
        return BenefitPhase.INITIAL.value
    return phase.value


def _capped(
    rates: _Rates, segments: list[_Segment], seg_left: Fraction, cap_left: Fraction | None
) -> _Rates:
    """Scale beneficiary rates so the rest of the claim costs at most ``cap_left`` (insulin)."""
    if cap_left is None:
        return rates
    uncapped = _ZERO
    for index, segment in enumerate(segments):
        amount = seg_left if index == 0 else segment.amount
        share = segment.discountable
        uncapped += amount * (rates.bene[0] * (1 - share) + rates.bene[1] * share)
    if uncapped <= cap_left:
        return rates
    scale = cap_left / uncapped
    return _Rates((rates.bene[0] * scale, rates.bene[1] * scale), rates.disc)


# --------------------------------------------------------------------------------------------
# Rounding, LIS and the PDE amounts


def _result(
    params: PartDParameters,
    design: BenefitDesign,
    state: BeneficiaryState,
    claim: ClaimFacts,
    policy: PartDPolicy,
    lis: LisCostShare | None,
    pieces: list[_Piece],
) -> PhaseResult:
    gross = claim.gross
    merged: list[_Piece] = []
    for piece in pieces:
        if piece.gross == 0:
            continue
        if merged and merged[-1].phase is piece.phase:
            last = merged[-1]
            last.gross += piece.gross
            last.bene += piece.bene
            last.disc += piece.disc
        else:
            merged.append(_Piece(piece.phase, piece.gross, piece.bene, piece.disc))
    counts = not params.has_mdp
    gross_parts = _cumulative([p.gross for p in merged])
    bene_parts = _cumulative([p.bene for p in merged])
    disc_parts = _cumulative([p.disc for p in merged])
    bene_exact = sum((p.bene for p in merged), _ZERO)
    disc_exact = sum((p.disc for p in merged), _ZERO)
    discount = sum(disc_parts)
    # Where the discount counts toward TrOOP, TrOOP is rounded as a whole so that it lands
    # exactly on the threshold at the gap end; the cost share is TrOOP minus the discount.
    troop_exact = bene_exact + disc_exact if counts else bene_exact
    plan_cost_share = _round(troop_exact) - (discount if counts else 0)
    _adjust(bene_parts, plan_cost_share - sum(bene_parts), merged)
    if plan_cost_share + discount > gross:
        surplus = plan_cost_share + discount - gross
        discount -= surplus
        _adjust(disc_parts, -surplus, merged)
    portions = tuple(
        PhasePortion(p.phase, g, b, d)
        for p, g, b, d in zip(merged, gross_parts, bene_parts, disc_parts, strict=True)
    )
    below = [p for p in portions if p.phase is not BenefitPhase.CATASTROPHIC]
    gdcb = sum(p.gross for p in below)
    cost_below = sum(p.cost_share for p in below)
    cost_above = plan_cost_share - cost_below

    if lis is None:
        lis_share = plan_cost_share
    else:
        gross_below = sum((p.gross for p in merged if p.phase is not BenefitPhase.CATASTROPHIC),
                          _ZERO)  # fmt: skip
        lis_share = _lis_share(
            lis, state, claim, design, policy, gross_below, cost_below, cost_above
        )
    start = phase_of(params, design, state.troop, state.gross)
    beginning = merged[0].phase if merged else start
    ending = merged[-1].phase if merged else start
    return _assemble(params, state, claim, portions, gdcb, plan_cost_share, discount, counts,
                     lis_share, beginning, ending)


def _adjust(parts: list[int], delta: int, merged: list[_Piece]) -> None:
    """Move a +-1 cent rounding difference onto the last portion that can take it."""
    if delta == 0:
        return
    for index in range(len(parts) - 1, -1, -1):
        if parts[index] + delta >= 0 and (delta < 0 or merged[index].gross > 0):
            parts[index] += delta
            return
    raise AssertionError("cannot place rounding difference")  # unreachable for |delta| <= 1


def _lis_share(
    lis: LisCostShare,
    state: BeneficiaryState,
    claim: ClaimFacts,
    design: BenefitDesign,
    policy: PartDPolicy,
    gross_below: Fraction | int,
    cost_below: Cents,
    cost_above: Cents,
) -> Cents:
    """The LIS enrollee's cost sharing: the lesser of the LIS amount and the plan's."""
    generic = claim.generic_or_preferred_multisource
    if lis.level is LisLevel.PARTIAL:
        room = max(_ZERO, Fraction(lis.deductible - state.gross))
        deductible_part = min(gross_below, room)
        amount = deductible_part + (gross_below - deductible_part) * _ppm(lis.coinsurance)
        below = min(_round(amount), cost_below)
        cat_copay = lis.catastrophic_copay_generic if generic else lis.catastrophic_copay_other
        above = min(cat_copay or 0, cost_above)
        return below + above
    copay = (lis.copay_generic if generic else lis.copay_other) or 0
    days, month = claim.days_supply, design.month_days
    if policy.lis_copay_basis is LisCopayBasis.PER_MONTH_SUPPLY:
        copay *= -(-days // month)
    elif policy.prorate_short_fill_copays and days < month:
        copay = div_round(copay * days, month)
    return min(copay, cost_below)  # full subsidy: $0 above the threshold in every year
