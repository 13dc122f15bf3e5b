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

One exact algorithm.  Money inside the walk is an integer number of *units*, 1/M of a cent
with ``M = RATE_SCALE x month_days`` (so coinsurance in ppm, copays prorated by days / month
and the insulin cap are all whole units).  Inside a phase every amount is linear in the gross
dollars consumed; only where a phase ends inside the claim (``x = room / accrual rate``) or the
insulin cap runs out does an amount become a :class:`~fractions.Fraction`, and the walk goes on
with it unchanged.  Copays and min/max coinsurance cells are made linear by spreading the cell's
amount for the rest of the claim evenly over that rest [M].

The insulin cap is a ceiling on the cumulative cost sharing of the claim, applied in claim order
after the ordinary rules: the first gross dollars carry the ordinary cost sharing until it
reaches the cap, the rest carries none (so the cap changes nothing where it does not bind).

Rounding (docs/medicare-part-d.md, "Rounding"): each amount someone sees -- the enrollee's cost
sharing, LICS, the manufacturer discount -- is rounded once, half up, from its exact value; plan
pay and the TrOOP increment follow from the rounded parts; a claim that reaches the OOP
threshold lands TrOOP exactly on it.  TrOOP counts cost sharing only until the threshold:
cost sharing above it is ``cost_share_above``.

Policy points without a confirmed answer are switches of :class:`PartDPolicy`.
"""

from __future__ import annotations

from fractions import Fraction

from pbm_engine.medicare.design import BenefitDesign, Channel, CostShare, CoverageLevel
from pbm_engine.medicare.model import (
    BeneficiaryState,
    BenefitPhase,
    CatastrophicCode,
    ClaimFacts,
    FeeAllocation,
    InsulinScaling,
    LisCopayBasis,
    PartDPolicy,
    PhasePortion,
    PhaseResult,
)
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
    "lookup_cell",
    "phase_of",
    "split_claim",
]

Exact = int | Fraction
"""An exact amount: an int until a phase boundary or the insulin cap divides it."""

_ZERO = Fraction(0)
_ONE = Fraction(1)


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


_CELLS: dict[tuple[int, int, int, str, int], tuple[BenefitDesign, CostShare | None]] = {}


def lookup_cell(
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


# --------------------------------------------------------------------------------------------
# The walk

_DED = BenefitPhase.DEDUCTIBLE
_INI = BenefitPhase.INITIAL
_GAP = BenefitPhase.GAP
_CAT = BenefitPhase.CATASTROPHIC
_NONE: tuple[Exact, Exact] = (0, 1)
_DEFAULT_POLICY = PartDPolicy()

_Step = tuple[BenefitPhase, int | None, int | None, bool]
"""(phase, gross limit in cents, TrOOP limit in units, manufacturer discount applies)."""
_STEPS: dict[tuple[int, int], tuple[PartDParameters, BenefitDesign, tuple[_Step, ...]]] = {}


def _steps(params: PartDParameters, design: BenefitDesign) -> tuple[_Step, ...]:
    """The year's phase steps for a design (cached per parameter set and design object)."""
    key = (id(params), id(design))
    hit = _STEPS.get(key)
    if hit is not None and hit[0] is params and hit[1] is design:
        return hit[2]
    unit = RATE_SCALE * design.month_days
    plan_deductible = params.deductible if design.deductible is None else design.deductible
    oop, icl = params.oop_threshold * unit, params.initial_coverage_limit
    steps: tuple[_Step, ...]
    if icl is not None:
        steps = ((_DED, plan_deductible, oop, False), (_INI, icl, oop, False),
                 (_GAP, None, oop, True), (_CAT, None, None, False))
    else:
        steps = ((_DED, None, min(plan_deductible * unit, oop), False),
                 (_INI, None, min(params.deductible * unit, oop), False),
                 (_INI, None, oop, True), (_CAT, None, None, True))
    if len(_STEPS) > 4096:
        _STEPS.clear()
    _STEPS[key] = (params, design, steps)
    return steps


def _div(numerator: Exact, denominator: Exact) -> Exact:
    """``numerator / denominator`` exactly: an int when it divides."""
    if type(numerator) is int and type(denominator) is int:
        if numerator % denominator == 0:
            return numerator // denominator
        return Fraction(numerator, denominator)
    return Fraction(numerator) / denominator


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
    policy = policy or _DEFAULT_POLICY
    lis = lis_for(params.year, state.lis) if state.lis is not None else None
    md = design.month_days
    unit = RATE_SCALE * md  # walk money: 1/unit of a cent
    gross = claim.gross
    has_mdp = params.mdp_initial_discount is not None
    vaccine_zero = claim.vaccine and params.vaccine_zero_cost_sharing
    insulin = claim.insulin and params.insulin_cap is not None
    exempt = insulin or vaccine_zero or claim.tier in design.deductible_exempt_tiers
    cap: Exact | None = None
    if vaccine_zero:
        cap = 0
    elif insulin:
        cap = _insulin_cap(params, design, claim, policy)
    mdp_initial = mdp_catastrophic = 0
    if has_mdp and claim.applicable_drug and not claim.selected_drug:
        mdp_initial, mdp_catastrophic = _mdp_rates(params, claim, lis is not None)
    ingredient = claim.ingredient_cost
    split_at = None  # fee first (2011-2024): gross cents before the ingredient starts
    if policy.fee_allocation is FeeAllocation.EARLIER_PHASE and 0 < ingredient < gross:
        split_at = gross - ingredient

    pieces: list[list[Exact | BenefitPhase]] = []  # [phase, gross, cost share, discount]
    gdc: Exact = state.gross
    troop: Exact = state.troop * unit
    remaining: Exact = gross
    priced_as: BenefitPhase | None = None
    bene = disc = _NONE  # per-cent rates as (units, per cents)
    for phase, gross_limit, troop_limit, discount_on in _steps(params, design):
        if not remaining:
            break
        if phase is not _CAT and (
            (gross_limit is not None and gdc >= gross_limit)
            or (troop_limit is not None and troop >= troop_limit)
        ):
            continue
        priced = _INI if phase is _DED and exempt else phase
        if phase is not _GAP and priced is not priced_as:
            bene = _rate(params, design, claim, policy, priced, remaining)
        priced_as = priced
        disc = _NONE
        if discount_on and has_mdp:
            disc = ((mdp_catastrophic if phase is _CAT else mdp_initial) * md, 1)
        while remaining:
            take = remaining
            if phase is _GAP:  # rates differ between the fee and the ingredient
                consumed = gross - remaining
                if split_at is not None and consumed < split_at:
                    take = split_at - consumed
                    bene, disc = _gap_rates(params, claim, lis, vaccine_zero, md, split_at, 0)
                else:
                    whole = gross if split_at is None else ingredient
                    share = ingredient if split_at is None else whole
                    bene, disc = _gap_rates(params, claim, lis, vaccine_zero, md, whole, share)
            rate = bene if cap is None or cap else _NONE
            if gross_limit is not None and gross_limit - gdc < take:
                take = gross_limit - gdc
            if troop_limit is not None:
                an, ad = rate
                if disc[0] and not has_mdp:  # the gap discount accrues to TrOOP
                    an, ad = an * disc[1] + disc[0] * ad, ad * disc[1]
                room = troop_limit - troop
                if an and take * an > room * ad:  # the step ends inside: x = room / rate
                    take = _div(room * ad, an)
            if cap is not None and rate[0] and rate[0] * take > cap * rate[1]:
                take = _div(cap * rate[1], rate[0])  # the cap runs out inside
            b = (rate[0] * take if rate[1] == 1 else _div(rate[0] * take, rate[1])) \
                if rate[0] else 0
            d = (disc[0] * take if disc[1] == 1 else _div(disc[0] * take, disc[1])) \
                if disc[0] else 0
            if pieces and pieces[-1][0] is phase:
                last = pieces[-1]
                last[1] += take  # type: ignore[operator]
                last[2] += b  # type: ignore[operator]
                last[3] += d  # type: ignore[operator]
            else:
                pieces.append([phase, take, b, d])
            gdc += take
            troop += b if has_mdp else b + d
            remaining -= take
            if cap is not None:
                cap -= b
            if (gross_limit is not None and gdc >= gross_limit) or (
                troop_limit is not None and troop >= troop_limit
            ):
                break
    reached = troop >= params.oop_threshold * unit
    return _result(params, design, state, claim, gross, policy, lis, insulin, pieces, reached)


def _rate(
    params: PartDParameters,
    design: BenefitDesign,
    claim: ClaimFacts,
    policy: PartDPolicy,
    phase: BenefitPhase,
    remaining: Exact,
) -> tuple[Exact, Exact]:
    """The cost-share rate of a deductible, initial or catastrophic step over the rest of the
    claim, as (units, per cents): a coinsurance rate, or a cell's amount spread evenly."""
    md = design.month_days
    unit = RATE_SCALE * md
    if phase is _CAT:
        coinsurance = params.catastrophic_coinsurance
        if coinsurance is None:  # $0 catastrophic cost sharing
            return _NONE
        copay = (
            params.catastrophic_copay_generic
            if claim.generic_or_preferred_multisource
            else params.catastrophic_copay_other
        )
        if remaining * coinsurance >= copay * RATE_SCALE:
            return coinsurance * md, 1
        return min(copay * unit, remaining * unit), remaining
    level = CoverageLevel.INITIAL if phase is _INI else CoverageLevel.PRE_DEDUCTIBLE
    cell = lookup_cell(design, claim.tier, level, claim.channel, claim.days_supply)
    if cell is None:  # DS rules: 100% in the deductible, the DS coinsurance after it
        if level is CoverageLevel.PRE_DEDUCTIBLE:
            return unit, 1
        return params.initial_coverage_coinsurance * md, 1
    amount: Exact
    if cell.copay is not None:
        days = claim.days_supply
        if policy.prorate_short_fill_copays and days < md:  # daily cost-sharing rate
            amount = cell.copay * days * RATE_SCALE
        else:
            amount = cell.copay * unit
    else:
        coinsurance = cell.coinsurance or 0
        amount = remaining * coinsurance * md
        low, high = cell.min_amount, cell.max_amount
        if low is not None and amount < low * unit:
            amount = low * unit
        elif high is not None and amount > high * unit:
            amount = high * unit
        elif coinsurance <= RATE_SCALE:
            return coinsurance * md, 1
    return min(amount, remaining * unit), remaining


def _gap_rates(
    params: PartDParameters,
    claim: ClaimFacts,
    lis: LisCostShare | None,
    vaccine_zero: bool,
    md: int,
    whole: Exact,
    discountable: Exact,
) -> tuple[tuple[Exact, Exact], tuple[Exact, Exact]]:
    """Cost-share and gap-discount rates (units per cent) in the coverage gap for a run of
    ``whole`` gross cents of which ``discountable`` are ingredient cost (fees get no discount)."""
    if params.gap_discount is None or lis is not None:  # 2006-2010, or an LIS enrollee
        return (RATE_SCALE * md, 1), _NONE
    if not claim.applicable_drug:
        return ((params.gap_generic_coinsurance or 0) * md, 1), _NONE
    fee_rate = (params.gap_brand_fee_coinsurance or 0) * md
    ingredient_rate = (params.gap_brand_coinsurance or 0) * md
    discount = 0 if vaccine_zero else params.gap_discount * md  # $0 vaccine: no discount [M]
    if discountable == whole:
        return (ingredient_rate, 1), (discount, 1)
    if not discountable:
        return (fee_rate, 1), _NONE
    bene = fee_rate * (whole - discountable) + ingredient_rate * discountable
    return (bene, whole), (discount * discountable, whole)


def _insulin_cap(
    params: PartDParameters, design: BenefitDesign, claim: ClaimFacts, policy: PartDPolicy
) -> Exact:
    """The insulin applicable copayment amount of the fill, in units."""
    md, days = design.month_days, claim.days_supply
    cap = params.insulin_cap or 0
    if policy.insulin_scaling is InsulinScaling.NEXT_WHOLE_MONTH:
        units = cap * -(-days // md) * RATE_SCALE * md
    else:  # pro rata: cap x days / month
        units = cap * days * RATE_SCALE
    if params.insulin_cap_rule is InsulinCapRule.LESSER_OF:
        share = params.insulin_price_share or 0
        units = min(units, share * claim.gross * md)
        if claim.selected_drug and claim.maximum_fair_price is not None:
            units = min(units, share * claim.maximum_fair_price * md)
    return units


def _mdp_rates(params: PartDParameters, claim: ClaimFacts, is_lis: bool) -> tuple[int, int]:
    """MDP discount (ppm) below / at-or-above the threshold for this claim (0 if none)."""
    if params.mdp_initial_discount is None or not claim.applicable_drug or claim.selected_drug:
        return 0, 0
    if claim.specified_small_manufacturer or (claim.specified_manufacturer and is_lis):
        return (
            params.mdp_phase_in_initial_discount or 0,
            params.mdp_phase_in_catastrophic_discount or 0,
        )
    return params.mdp_initial_discount, params.mdp_catastrophic_discount or 0


# --------------------------------------------------------------------------------------------
# Rounding, LIS and the PDE amounts


def _cents(value: Exact, unit: int) -> Cents:
    """Units to cents, half up (money.div_round)."""
    if type(value) is int:
        return div_round(value, unit)
    return div_round(value.numerator, value.denominator * unit)


def _ceil_cents(value: Exact, unit: int) -> Cents:
    if type(value) is int:
        return -(-value // unit)
    return -(-value.numerator // (value.denominator * unit))


def _cumulative(values: list[Exact], unit: int) -> list[Cents]:
    """Each value rounded so that every running total is the rounded exact running total."""
    out: list[Cents] = []
    total: Exact = 0
    previous = 0
    for value in values:
        total += value
        rounded = _cents(total, unit)
        out.append(rounded - previous)
        previous = rounded
    return out


def _settle(parts: list[Cents], delta: int) -> None:
    """Put ``delta`` cents on the last part that stays non-negative."""
    if not delta:
        return
    for index in range(len(parts) - 1, -1, -1):
        if parts[index] + delta >= 0:
            parts[index] += delta
            return
    raise AssertionError("cannot place a rounding difference")  # unreachable


def _result(
    params: PartDParameters,
    design: BenefitDesign,
    state: BeneficiaryState,
    claim: ClaimFacts,
    gross: Cents,
    policy: PartDPolicy,
    lis: LisCostShare | None,
    insulin: bool,
    pieces: list[list[Exact | BenefitPhase]],
    reached: bool,
) -> PhaseResult:
    """Round the exact split once (see the module docstring) and build the PDE amounts."""
    unit = RATE_SCALE * design.month_days
    counts = params.mdp_initial_discount is None  # the gap discount counts toward TrOOP
    below: Exact = 0
    above_exact: Exact = 0
    discount_exact: Exact = 0
    gross_below: Exact = 0
    for phase, g, b, d in pieces:
        if phase is _CAT:
            above_exact += b  # type: ignore[operator]
        else:
            below += b  # type: ignore[operator]
            gross_below += g  # type: ignore[operator]
        discount_exact += d  # type: ignore[operator]
    if lis is None:
        enrollee = _cents(below + above_exact, unit)
        lics = 0
    else:
        share = _lis_share(lis, state, claim, design, policy, insulin, gross_below, below,
                           above_exact)  # fmt: skip
        enrollee = _cents(share, unit)
        lics = min(_cents(below + above_exact - share, unit), gross - enrollee)
    discount = min(_cents(discount_exact, unit), gross - enrollee - lics) if discount_exact else 0
    if reached:  # TrOOP lands exactly on the threshold
        troop_delta = max(0, params.oop_threshold - state.troop)
        counted = discount if counts else 0
        above = enrollee + lics + counted - troop_delta
        excess = above - _ceil_cents(above_exact, unit)
        if excess > 0:  # two half-cent ties rounded up: the last payer amount gives way
            if counts and discount >= excess:
                discount -= excess
            else:
                lics -= excess
            above -= excess
    else:
        above = 0
        troop_delta = enrollee + lics + (discount if counts else 0)
    cost_share = enrollee + lics

    portions = _portions(pieces, unit, discount, cost_share - above, above)
    gdcb = 0
    initial = 0
    for portion in portions:
        if portion.phase is not _CAT:
            gdcb += portion.gross
            if portion.phase is _INI:
                initial += portion.gross
    gdca = gross - gdcb
    if gdca == 0:
        code = CatastrophicCode.NONE
    elif state.troop >= params.oop_threshold:
        code = CatastrophicCode.ABOVE
    else:
        code = CatastrophicCode.ATTACHMENT
    subsidy = 0
    if claim.selected_drug and params.selected_drug_subsidy:
        subsidy = apply_rate(initial, params.selected_drug_subsidy)
    if portions:
        beginning, ending = portions[0].phase, portions[-1].phase
    else:
        beginning = ending = phase_of(params, design, state.troop, state.gross)
    other = min(claim.other_troop_amount, enrollee)
    return PhaseResult(
        year=params.year,
        portions=portions,
        gross_drug_cost=gross,
        gdcb=gdcb,
        gdca=gdca,
        plan_cost_share=cost_share,
        patient_pay=enrollee - other,
        other_troop_amount=other,
        lics=lics,
        plro=0,
        covered_plan_paid=gross - cost_share - discount,
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
        cost_share_above=above,
    )


def _portions(
    pieces: list[list[Exact | BenefitPhase]], unit: int, discount: Cents, below: Cents,
    above: Cents,
) -> tuple[PhasePortion, ...]:
    """Per-phase figures rounded cumulatively, settled on the totals: the discount, the cost
    sharing below the threshold (its adjustment on the portion that crossed) and above it."""
    if not pieces:
        return ()
    if len(pieces) == 1:  # one phase: the totals themselves
        phase = pieces[0][0]
        cost = above if phase is _CAT else below
        return (PhasePortion(phase, int(pieces[0][1]), cost, discount),)  # type: ignore[arg-type]
    gross_parts = _cumulative([p[1] for p in pieces], 1)  # type: ignore[misc]
    discount_parts = _cumulative([p[3] for p in pieces], unit)  # type: ignore[misc]
    _settle(discount_parts, discount - sum(discount_parts))
    cost_parts = _cumulative([p[2] for p in pieces if p[0] is not _CAT], unit)  # type: ignore[misc]
    _settle(cost_parts, below - sum(cost_parts))
    if pieces[-1][0] is _CAT:
        cost_parts.append(above)
    return tuple(
        PhasePortion(p[0], g, c, d)  # type: ignore[arg-type]
        for p, g, c, d in zip(pieces, gross_parts, cost_parts, discount_parts, strict=True)
    )


def _lis_share(
    lis: LisCostShare,
    state: BeneficiaryState,
    claim: ClaimFacts,
    design: BenefitDesign,
    policy: PartDPolicy,
    insulin: bool,
    gross_below: Exact,
    below: Exact,
    above: Exact,
) -> Exact:
    """The LIS enrollee's exact cost sharing (units): the lesser of the LIS amount and the
    plan's, below and above the threshold.  Covered insulin skips the partial-LIS deductible
    (42 USC 1395w-114(a)(2)(B), 2023+)."""
    md = design.month_days
    unit = RATE_SCALE * md
    generic = claim.generic_or_preferred_multisource
    if lis.level is LisLevel.PARTIAL:
        room = 0 if insulin else max(0, lis.deductible - state.gross)
        deductible_part = min(gross_below, room)
        amount = deductible_part * unit + (gross_below - deductible_part) * (
            lis.coinsurance or 0
        ) * md
        copay = lis.catastrophic_copay_generic if generic else lis.catastrophic_copay_other
        return min(amount, below) + min((copay or 0) * unit, above)
    copay = (lis.copay_generic if generic else lis.copay_other) or 0
    days = claim.days_supply
    if policy.lis_copay_basis is LisCopayBasis.PER_MONTH_SUPPLY:
        amount = copay * -(-days // md) * unit
    elif policy.prorate_short_fill_copays and days < md:
        amount = copay * days * RATE_SCALE
    else:
        amount = copay * unit
    return min(amount, below)  # full subsidy: $0 above the threshold in every year
