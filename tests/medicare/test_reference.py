"""The phase engine against the reference model (tests/medicare/reference.py): every year
2006-2026, every phase boundary, every LIS level, both fee-allocation rules."""

from __future__ import annotations

import dataclasses

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from pbm_engine.medicare import (
    BeneficiaryState,
    BenefitDesign,
    LisLevel,
    PartDParameters,
    build_pde,
    parameters_for,
    split_claim,
)

from .reference import C, exact_split, expected, half_up, insulin_cap
from .strategies import YEARS, claims, designs, lis_levels, policies


@st.composite
def boundary_states(draw: st.DrawFn, params: PartDParameters,
                    design: BenefitDesign) -> BeneficiaryState:
    """Accumulators just before (or at) a phase boundary, or anywhere."""
    deductible = params.deductible if design.deductible is None else design.deductible
    oop = params.oop_threshold
    offset = draw(st.integers(0, 30_000))
    kind = draw(st.sampled_from(["deductible", "ds_deductible", "icl", "threshold", "any"]))
    lis = draw(lis_levels(params.year))
    if kind == "any":
        gross = draw(st.integers(0, oop * 3))
        return BeneficiaryState(draw(st.integers(0, min(gross, oop + 50_000))), gross, lis)
    if params.has_gap:  # gross-based deductible and ICL, TrOOP-based threshold
        icl = params.initial_coverage_limit or 0
        if kind == "threshold":
            troop = max(0, oop - offset)
            return BeneficiaryState(troop, max(troop, icl) + draw(st.integers(0, 50_000)), lis)
        edge = icl if kind == "icl" else deductible
        gross = max(0, edge - offset)
        return BeneficiaryState(min(gross, oop - 1), gross, lis)
    edge = {"deductible": deductible, "ds_deductible": params.deductible}.get(kind, oop)
    troop = max(0, min(edge, oop) - offset)
    return BeneficiaryState(troop, troop * 4 + draw(st.integers(0, 10_000)), lis)


@st.composite
def cases(draw: st.DrawFn, years: st.SearchStrategy[int] = YEARS):  # type: ignore[no-untyped-def]
    params = parameters_for(draw(years))
    design = draw(designs())
    return params, design, draw(boundary_states(params, design)), draw(claims()), draw(policies)


def _agree(case) -> None:  # type: ignore[no-untyped-def]
    params, design, state, claim, policy = case
    result = split_claim(params, design, state, claim, policy)
    result.check()
    build_pde(result).check()
    exact = exact_split(params, design, state, claim, policy)
    want = expected(params, state, claim, exact)
    got = (result.patient_pay + result.other_troop_amount, result.lics,
           result.manufacturer_discount, result.troop_after, result.cost_share_above)
    assert got == (want.enrollee, want.lics, want.discount, want.troop_after, want.above)
    # The enrollee's cost sharing is always the nearest cent (half up) of its exact value.
    assert result.patient_pay + result.other_troop_amount == half_up(exact.enrollee)
    # TrOOP never passes the threshold, and lands on it when the claim reaches it.
    assert result.troop_after <= max(state.troop, params.oop_threshold)
    if exact.reached and state.troop <= params.oop_threshold:
        assert result.troop_after == params.oop_threshold
    # The same phases, gross split by cumulative rounding, GDCB from the portions below.
    assert [p.phase for p in result.portions] == [p[0] for p in exact.portions]
    running, previous = 0, 0
    for portion, piece in zip(result.portions, exact.portions, strict=True):
        running += piece[1]
        assert portion.gross == half_up(running) - previous
        previous = half_up(running)
    assert result.gdcb == sum(p.gross for p in result.portions if p.phase is not C)


@settings(max_examples=500, deadline=None)
@given(cases())
def test_split_equals_the_reference_model(case) -> None:  # type: ignore[no-untyped-def]
    _agree(case)


@settings(max_examples=150, deadline=None)
@given(cases(), st.sampled_from(list(LisLevel)))
def test_split_equals_the_reference_model_for_every_lis_level(case, level) -> None:  # type: ignore[no-untyped-def]
    params, design, state, claim, policy = case
    assume(level is not LisLevel.PARTIAL or params.year < 2024)
    _agree((params, design, dataclasses.replace(state, lis=level), claim, policy))


@settings(max_examples=300, deadline=None)
@given(cases(st.integers(2023, 2026)), st.integers(0, 30_000))
def test_insulin_cap_changes_nothing_where_it_does_not_bind(case, cost) -> None:  # type: ignore[no-untyped-def]
    """Covered insulin whose ordinary cost sharing is within the cap is priced exactly as the
    same drug, not insulin, that skips the deductible."""
    params, design, state, claim, policy = case
    if state.lis is LisLevel.PARTIAL:  # covered insulin also skips the partial-LIS deductible
        state = dataclasses.replace(state, lis=None)
    insulin = dataclasses.replace(claim, ingredient_cost=cost, insulin=True, vaccine=False,
                                  vaccine_admin_fee=0)
    plain = dataclasses.replace(insulin, insulin=False)
    skipping = dataclasses.replace(
        design, deductible_exempt_tiers=design.deductible_exempt_tiers | {claim.tier})
    ordinary = exact_split(params, skipping, state, plain, policy)
    assume(ordinary.plan_share <= insulin_cap(params, design, insulin, policy))
    assert split_claim(params, design, state, insulin, policy) == split_claim(
        params, skipping, state, plain, policy)
