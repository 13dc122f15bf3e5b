"""Hypothesis properties of the phase engine and PDE records."""

from __future__ import annotations

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from pbm_engine.medicare import (
    BeneficiaryState,
    BenefitDesign,
    ClaimFacts,
    LisLevel,
    PartDPolicy,
    build_pde,
    parameters_for,
    split_claim,
)

from .strategies import YEARS, claims, designs, lis_levels, policies, scenarios, states

DS = BenefitDesign.defined_standard()


@settings(max_examples=400, deadline=None)
@given(scenarios())
def test_every_result_balances(case) -> None:  # type: ignore[no-untyped-def]
    """PDE identity, GDCB + GDCA == gross and the accumulator postings, on every result."""
    params, design, state, claim, policy = case
    result = split_claim(params, design, state, claim, policy)
    result.check()
    assert result.gdcb + result.gdca == result.gross_drug_cost == claim.gross
    pde = build_pde(result)
    pde.check()
    assert (
        pde.patient_pay + pde.other_troop_amount + pde.lics + pde.plro + pde.covered_plan_paid
        + pde.non_covered_plan_paid + pde.reported_gap_discount + pde.manufacturer_discount
        == pde.gross_drug_cost
    )  # fmt: skip
    assert result.patient_pay <= claim.gross
    # TrOOP counts incurred costs only until the threshold, in every year.
    assert result.troop_after <= max(state.troop, params.oop_threshold)


@st.composite
def year_sequence(draw: st.DrawFn, years: st.SearchStrategy[int] = YEARS):  # type: ignore[no-untyped-def]
    year = draw(years)
    lis = draw(lis_levels(year))
    return (
        parameters_for(year),
        draw(designs()),
        lis,
        draw(st.lists(claims(), min_size=1, max_size=12)),
        draw(policies),
    )


@settings(max_examples=150, deadline=None)
@given(year_sequence())
def test_accumulators_never_decrease(case) -> None:  # type: ignore[no-untyped-def]
    params, design, lis, claim_list, policy = case
    state = BeneficiaryState(lis=lis)
    for claim in claim_list:
        result = split_claim(params, design, state, claim, policy)
        result.check()
        assert result.troop_after >= state.troop and result.gross_after >= state.gross
        state = BeneficiaryState(result.troop_after, result.gross_after, lis)


@settings(max_examples=200, deadline=None)
@given(year_sequence(st.integers(2025, 2026)))
def test_2025_cost_sharing_never_exceeds_threshold(case) -> None:  # type: ignore[no-untyped-def]
    """From 2025 the year's beneficiary cost sharing (PPA + OTA + LICS) stays <= the threshold,
    over any sequence of claims, for any design, LIS level and policy."""
    params, design, lis, claim_list, policy = case
    state = BeneficiaryState(lis=lis)
    total = 0
    for claim in claim_list:
        result = split_claim(params, design, state, claim, policy)
        total += result.patient_pay + result.other_troop_amount + result.lics
        state = BeneficiaryState(result.troop_after, result.gross_after, lis)
    assert total <= params.oop_threshold
    assert state.troop <= params.oop_threshold


@settings(max_examples=300, deadline=None)
@given(
    year=YEARS,
    amounts=st.lists(st.integers(1, 150).map(lambda d: d * 1_000), min_size=1, max_size=15),
    applicable=st.booleans(),
    generic=st.booleans(),
)
def test_ds_total_depends_only_on_total_gross(
    year: int, amounts: list[int], applicable: bool, generic: bool
) -> None:
    """DS coinsurance benefit: the year's beneficiary total depends only on the total gross.

    Conditions: Defined Standard design, accumulators start at zero, no LIS, no other payer,
    no dispensing fee, tax or admin fee (fees accrue TrOOP at a different rate in the gap),
    one drug type throughout (same applicable/generic flags; no insulin or vaccine), every
    claim a multiple of $10 (so each phase piece between the $5/$10-rounded boundaries is
    exact to the cent), and before 2024 the beneficiary stays below the OOP threshold (the
    catastrophic minimum copay is charged per claim, so it depends on the claim count).
    """
    params = parameters_for(year)

    def facts(cents: int) -> ClaimFacts:
        return ClaimFacts(
            ingredient_cost=cents,
            applicable_drug=applicable,
            generic_or_preferred_multisource=generic,
        )

    single = split_claim(params, DS, BeneficiaryState(), facts(sum(amounts)))
    if year < 2024:
        assume(single.troop_after < params.oop_threshold)
    state = BeneficiaryState()
    total = 0
    for amount in amounts:
        result = split_claim(params, DS, state, facts(amount), PartDPolicy())
        total += result.patient_pay
        state = BeneficiaryState(result.troop_after, result.gross_after)
    assert total == single.patient_pay
    assert state.troop == single.troop_after


@settings(max_examples=150, deadline=None)
@given(year=YEARS, data=st.data())
def test_lis_pays_the_lesser_and_troop_gets_the_full_share(year: int, data: st.DataObject) -> None:
    """LIS: patient pay + OTA <= the plan's cost sharing; LICS >= 0; TrOOP advances by the full
    DS cost sharing below the threshold (LIS enrollees get no gap discount, so before 2025 that
    is all of TrOOP).  Outside the gap the plan's cost sharing is the one a non-LIS enrollee
    would have, to the cent (patient pay and LICS are each rounded from their exact values)."""
    level = data.draw(lis_levels(year).filter(lambda x: x is not None))
    assert isinstance(level, LisLevel)
    state = data.draw(states(year))
    claim = data.draw(claims())
    params = parameters_for(year)
    plain = split_claim(params, DS, BeneficiaryState(state.troop, state.gross), claim)
    lis = split_claim(params, DS, BeneficiaryState(state.troop, state.gross, level), claim)
    lis.check()
    assert lis.lics >= 0
    assert lis.patient_pay + lis.other_troop_amount <= lis.plan_cost_share
    if not params.has_mdp:
        assert lis.manufacturer_discount == 0
        assert lis.troop_delta == lis.plan_cost_share - lis.cost_share_above
    if all(p.phase.value != "G" for p in plain.portions + lis.portions):
        assert abs(lis.plan_cost_share - plain.plan_cost_share) <= 1
