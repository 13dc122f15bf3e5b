"""A reference model of the Part D split for the property tests: the same rules in plain
:class:`~fractions.Fraction` cents, one phase at a time, with no caching and no integer scaling.

It states the rules of docs/medicare-part-d.md directly; ``split_claim`` must agree with it on
every claim.  Amounts are exact cents (``Fraction``); :func:`exact_split` gives the exact
per-phase figures and :func:`expected` the rounded totals the engine must report.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction as F

from pbm_engine.medicare import (
    BeneficiaryState,
    BenefitDesign,
    BenefitPhase,
    ClaimFacts,
    CostShare,
    CoverageLevel,
    FeeAllocation,
    InsulinCapRule,
    InsulinScaling,
    LisCopayBasis,
    LisLevel,
    PartDParameters,
    PartDPolicy,
    lis_for,
)
from pbm_engine.money import RATE_SCALE

D, N, G, C = (BenefitPhase.DEDUCTIBLE, BenefitPhase.INITIAL, BenefitPhase.GAP,
              BenefitPhase.CATASTROPHIC)


def pct(ppm: int | None) -> F:
    return F(ppm or 0, RATE_SCALE)


def half_up(value: F) -> int:
    """Nearest cent, halves up (all values here are non-negative)."""
    return math.floor(value + F(1, 2))


@dataclass
class Exact:
    """Exact figures of one claim."""

    portions: list[list]  # [phase, gross, cost share, discount], merged by phase
    enrollee: F  # the enrollee's cost sharing (patient pay + OTA)
    plan_share: F  # the plan's (DS) cost sharing, before LIS
    discount: F
    troop_after: F
    reached: bool

    @property
    def above(self) -> F:
        return sum((p[2] for p in self.portions if p[0] is C), F(0))


def insulin_cap(params: PartDParameters, design: BenefitDesign, claim: ClaimFacts,
                policy: PartDPolicy) -> F:
    """The insulin applicable copayment amount of a fill (cents)."""
    months = F(claim.days_supply, design.month_days)
    if policy.insulin_scaling is InsulinScaling.NEXT_WHOLE_MONTH:
        months = F(math.ceil(months))
    cap = (params.insulin_cap or 0) * months
    if params.insulin_cap_rule is InsulinCapRule.LESSER_OF:
        cap = min(cap, pct(params.insulin_price_share) * claim.gross)
        if claim.selected_drug and claim.maximum_fair_price is not None:
            cap = min(cap, pct(params.insulin_price_share) * claim.maximum_fair_price)
    return cap


def exact_split(params: PartDParameters, design: BenefitDesign, state: BeneficiaryState,
                claim: ClaimFacts, policy: PartDPolicy) -> Exact:
    lis = lis_for(params.year, state.lis) if state.lis is not None else None
    md, days = design.month_days, claim.days_supply
    insulin = claim.insulin and params.insulin_cap is not None
    vaccine_zero = claim.vaccine and params.vaccine_zero_cost_sharing
    skip_deductible = insulin or vaccine_zero or claim.tier in design.deductible_exempt_tiers
    copay_factor = F(days, md) if policy.prorate_short_fill_copays and days < md else F(1)

    cap: F | None = None  # what the rest of the claim may still cost the enrollee
    if vaccine_zero:
        cap = F(0)
    elif insulin:
        cap = insulin_cap(params, design, claim, policy)

    mdp = (F(0), F(0))
    if params.has_mdp and claim.applicable_drug and not claim.selected_drug:
        phase_in = claim.specified_small_manufacturer or (
            claim.specified_manufacturer and lis is not None)
        if phase_in:
            mdp = (pct(params.mdp_phase_in_initial_discount),
                   pct(params.mdp_phase_in_catastrophic_discount))
        else:
            mdp = (pct(params.mdp_initial_discount), pct(params.mdp_catastrophic_discount))

    plan_deductible = params.deductible if design.deductible is None else design.deductible
    oop = params.oop_threshold
    if params.has_gap:  # (phase, gross limit, TrOOP limit, discount)
        steps = [(D, plan_deductible, oop, False), (N, params.initial_coverage_limit, oop, False),
                 (G, None, oop, True), (C, None, None, False)]
    else:
        steps = [(D, None, min(plan_deductible, oop), False),
                 (N, None, min(params.deductible, oop), False), (N, None, oop, True),
                 (C, None, None, True)]

    def amount(phase: BenefitPhase, rest: F) -> F:
        """The ordinary cost sharing of ``rest`` gross cents in a non-gap phase."""
        if phase is C:
            if params.catastrophic_coinsurance is None:
                return F(0)
            copay = (params.catastrophic_copay_generic if claim.generic_or_preferred_multisource
                     else params.catastrophic_copay_other)
            return min(max(rest * pct(params.catastrophic_coinsurance), F(copay)), rest)
        level = CoverageLevel.INITIAL if phase is N else CoverageLevel.PRE_DEDUCTIBLE
        cell = design.lookup(claim.tier, level, claim.channel, claim.days_supply)
        if cell is None:
            cell = CostShare.of_coinsurance(RATE_SCALE if phase is D
                                            else params.initial_coverage_coinsurance)
        if cell.copay is not None:
            value = cell.copay * copay_factor
        else:
            value = rest * pct(cell.coinsurance)
            if cell.min_amount is not None:
                value = max(value, F(cell.min_amount))
            if cell.max_amount is not None:
                value = min(value, F(cell.max_amount))
        return min(value, rest)

    # The claim's gross in order: fee first (2011-2024, earlier-phase rule) or one mixed run.
    ingredient = F(claim.ingredient_cost)
    fees = claim.gross - ingredient
    pro_rata = policy.fee_allocation is FeeAllocation.PRO_RATA
    if params.has_mdp or pro_rata or not fees or not ingredient:
        runs = [[F(claim.gross), ingredient / claim.gross if claim.gross else F(0)]]
    else:
        runs = [[fees, F(0)], [ingredient, F(1)]]  # [gross left, ingredient share]

    portions: list[list] = []
    gdc, troop = F(state.gross), F(state.troop)
    rest = F(claim.gross)
    priced_as, bene_rate = None, F(0)
    for phase, gross_limit, troop_limit, discount_on in steps:
        if rest == 0:
            break
        if phase is not C and ((gross_limit is not None and gdc >= gross_limit)
                               or (troop_limit is not None and troop >= troop_limit)):
            continue
        priced = N if phase is D and skip_deductible else phase
        if phase is not G and priced is not priced_as:  # the same rule keeps its rate
            bene_rate = amount(priced, rest) / rest
        priced_as = priced
        while rest > 0:
            run = next(r for r in runs if r[0] > 0)
            share = run[1]
            if phase is G:
                if not params.has_cgdp or lis is not None:
                    bene_rate, disc_rate = F(1), F(0)
                elif claim.applicable_drug:
                    bene_rate = (pct(params.gap_brand_fee_coinsurance) * (1 - share)
                                 + pct(params.gap_brand_coinsurance) * share)
                    disc_rate = F(0) if vaccine_zero else pct(params.gap_discount) * share
                else:
                    bene_rate, disc_rate = pct(params.gap_generic_coinsurance), F(0)
            else:
                disc_rate = (mdp[1] if phase is C else mdp[0]) if discount_on else F(0)
            rate = F(0) if cap == 0 else bene_rate
            accrual = rate + (disc_rate if not params.has_mdp else 0)
            x = run[0] if phase is G else rest
            if gross_limit is not None:
                x = min(x, gross_limit - gdc)
            if troop_limit is not None and accrual > 0:
                x = min(x, (troop_limit - troop) / accrual)
            if cap is not None and rate > 0:
                x = min(x, cap / rate)
            if portions and portions[-1][0] is phase:
                portions[-1][1:] = [portions[-1][1] + x, portions[-1][2] + x * rate,
                                    portions[-1][3] + x * disc_rate]
            else:
                portions.append([phase, x, x * rate, x * disc_rate])
            gdc, troop, rest = gdc + x, troop + x * accrual, rest - x
            if cap is not None:
                cap -= x * rate
            left = x
            for r in runs:  # consume the runs in order
                used = min(r[0], left)
                r[0] -= used
                left -= used
            if (gross_limit is not None and gdc >= gross_limit) or (
                    troop_limit is not None and troop >= troop_limit):
                break

    below = sum((p[2] for p in portions if p[0] is not C), F(0))
    above = sum((p[2] for p in portions if p[0] is C), F(0))
    gross_below = sum((p[1] for p in portions if p[0] is not C), F(0))
    enrollee = below + above
    if lis is not None:
        generic = claim.generic_or_preferred_multisource
        if lis.level is LisLevel.PARTIAL:
            room = F(0) if insulin else max(F(0), F(lis.deductible - state.gross))
            first = min(gross_below, room)
            lis_below = first + (gross_below - first) * pct(lis.coinsurance)
            cat = lis.catastrophic_copay_generic if generic else lis.catastrophic_copay_other
            enrollee = min(lis_below, below) + min(F(cat or 0), above)
        else:
            copay = F((lis.copay_generic if generic else lis.copay_other) or 0)
            if policy.lis_copay_basis is LisCopayBasis.PER_MONTH_SUPPLY:
                copay *= math.ceil(F(days, md))
            else:
                copay *= copay_factor
            enrollee = min(copay, below)
    discount = sum((p[3] for p in portions), F(0))
    return Exact(portions, enrollee, below + above, discount, troop,
                 troop >= params.oop_threshold)


@dataclass
class Expected:
    enrollee: int
    lics: int
    discount: int
    troop_after: int
    above: int


def expected(params: PartDParameters, state: BeneficiaryState, claim: ClaimFacts,
             exact: Exact) -> Expected:
    """The rounding policy of docs/medicare-part-d.md, stated directly."""
    gross = claim.gross
    enrollee = half_up(exact.enrollee)
    lics = min(half_up(exact.plan_share - exact.enrollee), gross - enrollee)
    discount = min(half_up(exact.discount), gross - enrollee - lics)
    counts = not params.has_mdp
    if not exact.reached:
        return Expected(enrollee, lics, discount,
                        state.troop + enrollee + lics + (discount if counts else 0), 0)
    room = max(0, params.oop_threshold - state.troop)
    above = enrollee + lics + (discount if counts else 0) - room
    excess = above - math.ceil(exact.above)
    if excess > 0:
        if counts and discount >= excess:
            discount -= excess
        else:
            lics -= excess
        above -= excess
    return Expected(enrollee, lics, discount, state.troop + room, above)
