"""Shared Hypothesis strategies for the Part D tests."""

from __future__ import annotations

from hypothesis import strategies as st

from pbm_engine.medicare import (
    BeneficiaryState,
    BenefitDesign,
    Channel,
    ClaimFacts,
    CostShare,
    CoverageLevel,
    DaysSupplyBand,
    FeeAllocation,
    InsulinScaling,
    LisCopayBasis,
    LisLevel,
    PartDPolicy,
    parameters_for,
)

YEARS = st.integers(min_value=2006, max_value=2026)
MONEY = st.integers(min_value=0, max_value=2_000_000)
"""Up to $20,000 in cents."""


def lis_levels(year: int) -> st.SearchStrategy[LisLevel | None]:
    """No LIS, or an LIS level that exists in ``year``."""
    levels = [LisLevel.INSTITUTIONAL, LisLevel.FBDE, LisLevel.FULL]
    if year < 2024:
        levels.append(LisLevel.PARTIAL)
    return st.one_of(st.none(), st.sampled_from(levels))


@st.composite
def states(draw: st.DrawFn, year: int) -> BeneficiaryState:
    """A plausible accumulator state for ``year`` (TrOOP never above gross)."""
    params = parameters_for(year)
    gross = draw(st.integers(0, params.oop_threshold * 3))
    troop = draw(st.integers(0, min(gross, params.oop_threshold + 50_000)))
    return BeneficiaryState(troop=troop, gross=gross, lis=draw(lis_levels(year)))


@st.composite
def claims(draw: st.DrawFn, *, fees: bool = True) -> ClaimFacts:
    """Any claim: components, channel, days supply and drug flags."""
    vaccine = draw(st.booleans())
    small = st.integers(0, 5_000) if fees else st.just(0)
    return ClaimFacts(
        ingredient_cost=draw(MONEY),
        dispensing_fee=draw(small),
        vaccine_admin_fee=draw(small) if vaccine else 0,
        sales_tax=draw(small),
        tier=draw(st.integers(1, 3)),
        channel=draw(st.sampled_from(list(Channel))),
        days_supply=draw(st.sampled_from([7, 15, 30, 34, 45, 60, 90, 100])),
        applicable_drug=draw(st.booleans()),
        generic_or_preferred_multisource=draw(st.booleans()),
        insulin=draw(st.booleans()) and not vaccine,
        vaccine=vaccine,
        selected_drug=draw(st.booleans()),
        maximum_fair_price=draw(st.one_of(st.none(), MONEY)),
        specified_manufacturer=draw(st.booleans()),
        specified_small_manufacturer=draw(st.booleans()),
        other_troop_amount=draw(st.integers(0, 20_000)),
    )


policies = st.builds(
    PartDPolicy,
    fee_allocation=st.sampled_from(list(FeeAllocation)),
    insulin_scaling=st.sampled_from(list(InsulinScaling)),
    lis_copay_basis=st.sampled_from(list(LisCopayBasis)),
    prorate_short_fill_copays=st.booleans(),
)

cost_shares = st.one_of(
    st.builds(CostShare.of_copay, st.integers(0, 15_000)),
    st.builds(
        CostShare.of_coinsurance,
        st.integers(0, 1_000_000),
        st.one_of(st.none(), st.integers(0, 1_000)),
        st.one_of(st.none(), st.integers(1_000, 20_000)),
    ),
)


@st.composite
def designs(draw: st.DrawFn) -> BenefitDesign:
    """The DS benefit or a small three-tier design with every cell filled."""
    if draw(st.booleans()):
        return BenefitDesign.defined_standard()
    rows = [
        (tier, level, channel, DaysSupplyBand.DAYS_30, draw(cost_shares))
        for tier in (1, 2, 3)
        for level in (CoverageLevel.PRE_DEDUCTIBLE, CoverageLevel.INITIAL)
        for channel in Channel
    ]
    return BenefitDesign.from_rows(
        "tiered",
        rows,
        deductible=draw(st.one_of(st.none(), st.integers(0, 40_000))),
        deductible_exempt_tiers=draw(st.sets(st.sampled_from([1, 2, 3]))),
    )


@st.composite
def scenarios(draw: st.DrawFn):  # type: ignore[no-untyped-def]
    """(parameters, design, state, claim, policy) for any supported year."""
    from pbm_engine.medicare import parameters_for

    year = draw(YEARS)
    return (
        parameters_for(year),
        draw(designs()),
        draw(states(year)),
        draw(claims()),
        draw(policies),
    )
