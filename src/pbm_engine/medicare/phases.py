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


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
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
    if fast and cap_left is None and gross > 0:
        piece = _single_phase(params, design, state, claim, steps, exempt, copay_factor,
                              mdp_rates)
        if piece is not None:
            return _result(params, design, state, claim, policy, lis, [piece])

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


def _single_phase(
    params: PartDParameters,
    design: BenefitDesign,
    state: BeneficiaryState,
    claim: ClaimFacts,
    steps: list[_Step],
    exempt: bool,
    copay_factor: Fraction,
    mdp_rates: tuple[Fraction, Fraction],
) -> _Piece | None:
    """The whole claim as one piece when it stays inside one deductible, initial-coverage or
    catastrophic step with uniform rates (most claims); None sends it to the general walk.

    Gives exactly what the walk gives for such a claim: the walk's pieces would all carry the
    same phase and rates, and ``_result`` merges them into this one piece.
    """
    gdc, troop = state.gross, state.troop
    step = steps[-1]
    for candidate in steps:
        if candidate.phase is BenefitPhase.CATASTROPHIC or not (
            (candidate.gross_limit is not None and gdc >= candidate.gross_limit)
            or (candidate.troop_limit is not None and troop >= candidate.troop_limit)
        ):
            step = candidate
            break
    if step.phase is BenefitPhase.GAP:
        return None
    gross = Fraction(claim.gross)
    rates = _phase_rates(params, design, claim, step, state.lis is not None, exempt,
                         copay_factor, mdp_rates, gross, None)
    if rates.bene[0] != rates.bene[1] or rates.disc[0] != rates.disc[1]:
        return None
    bene = rates.bene[0] * gross
    disc = rates.disc[0] * gross
    if step.gross_limit is not None and gdc + gross > step.gross_limit:
        return None
    if step.troop_limit is not None and troop + bene + (
            _ZERO if params.has_mdp else disc) > step.troop_limit:
        return None
    return _Piece(step.phase, gross, bene, disc)


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
    gdca = gross - gdcb
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
    lics = plan_cost_share - lis_share
    other = min(claim.other_troop_amount, lis_share)
    patient_pay = lis_share - other
    troop_delta = plan_cost_share + (discount if counts else 0)
    covered_plan_paid = gross - patient_pay - other - lics - discount

    start = phase_of(params, design, state.troop, state.gross)
    beginning = merged[0].phase if merged else start
    ending = merged[-1].phase if merged else start
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
        covered_plan_paid=covered_plan_paid,
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
    gross_below: Fraction,
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
