"""The integer fast paths of the phase split against the general ``Fraction`` walk.

``_split(..., fast=False)`` is the reference.  ``_single_step`` (a claim inside one step) and
``_multi_step`` (a claim that crosses steps but never enters the gap) must give the same
:class:`PhaseResult`, field for field, whenever they answer, and ``_split(..., fast=True)`` must
equal the reference on every input (including the error it raises).
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from pbm_engine.medicare import (
    BeneficiaryState,
    BenefitDesign,
    BenefitPhase,
    ClaimFacts,
    PartDPolicy,
    parameters_for,
)
from pbm_engine.medicare.phases import _multi_step, _single_step, _split

from .strategies import MONEY, YEARS, claims, designs, policies, scenarios, states


@st.composite
def near_a_boundary(draw: st.DrawFn):  # type: ignore[no-untyped-def]
    """A scenario whose accumulators sit just below (or on) a phase boundary, so that the
    claim often crosses one or more steps: the deductible, the DS deductible, the ICL or the
    OOP threshold, less up to the claim's own gross."""
    year = draw(YEARS)
    params = parameters_for(year)
    design = draw(designs())
    claim = draw(claims())
    base = draw(states(year))
    deductible = params.deductible if design.deductible is None else design.deductible
    limits = [deductible, params.deductible, params.oop_threshold]
    if params.initial_coverage_limit is not None:
        limits.append(params.initial_coverage_limit)
    limit = draw(st.sampled_from(limits))
    below = draw(st.one_of(st.just(0), st.integers(0, claim.gross), MONEY))
    point = max(0, limit - below)
    if params.has_gap:  # the deductible and ICL are gross limits; TrOOP follows behind
        gross = point
        troop = min(gross, draw(st.integers(0, params.oop_threshold)))
        if limit == params.oop_threshold:
            troop, gross = point, max(point, base.gross)
    else:  # from 2025 every limit is a TrOOP limit
        troop = point
        gross = max(point, base.gross)
    state = BeneficiaryState(troop=troop, gross=gross, lis=base.lis)
    return params, design, state, claim, draw(policies)


def _reference(case: Any) -> Any:
    params, design, state, claim, policy = case
    try:
        return _split(params, design, state, claim, policy, fast=False)
    except Exception as exc:  # compared by type below
        return exc


def _check_fast(case: Any) -> None:
    params, design, state, claim, policy = case
    slow = _reference(case)
    if isinstance(slow, Exception):
        try:
            _split(params, design, state, claim, policy, fast=True)
        except type(slow):
            return
        raise AssertionError(f"fast path did not raise {slow!r}")
    assert _split(params, design, state, claim, policy, fast=True) == slow


def _check_path(case: Any, path: Any) -> None:
    params, design, state, claim, policy = case
    slow = _reference(case)
    try:
        fast = path(params, design, state, claim, policy)
    except Exception as exc:
        assert isinstance(slow, type(exc)), f"{path.__name__} raised {exc!r}, walk gave {slow!r}"
        return
    if fast is not None:
        assert not isinstance(slow, Exception), f"{path.__name__} answered, walk raised {slow!r}"
        assert fast == slow


@settings(max_examples=1000, deadline=None)
@given(scenarios())
def test_split_fast_equals_the_general_walk_anywhere(case) -> None:  # type: ignore[no-untyped-def]
    _check_fast(case)


@settings(max_examples=1000, deadline=None)
@given(near_a_boundary())
def test_split_fast_equals_the_general_walk_near_boundaries(case) -> None:  # type: ignore[no-untyped-def]
    _check_fast(case)


@settings(max_examples=800, deadline=None)
@given(st.one_of(scenarios(), near_a_boundary()))
def test_single_step_equals_the_general_walk(case) -> None:  # type: ignore[no-untyped-def]
    _check_path(case, _single_step)


@settings(max_examples=800, deadline=None)
@given(st.one_of(scenarios(), near_a_boundary()))
def test_multi_step_equals_the_general_walk(case) -> None:  # type: ignore[no-untyped-def]
    _check_path(case, _multi_step)


# --- the fast paths are really taken for the common claims ----------------------------------

DS = BenefitDesign.defined_standard()
POLICY = PartDPolicy()


def test_common_claims_take_the_integer_paths() -> None:
    p26, p19 = parameters_for(2026), parameters_for(2019)
    brand = ClaimFacts(ingredient_cost=24_000, dispensing_fee=150, applicable_drug=True)
    insulin = ClaimFacts(ingredient_cost=23_000, insulin=True, applicable_drug=True)
    # Inside one step: initial coverage, insulin capped, catastrophic, 2019 with a fee.
    cases = [
        (p26, BeneficiaryState(troop=70_000, gross=90_000), brand),
        (p26, BeneficiaryState(troop=10_000, gross=10_000), insulin),
        (p26, BeneficiaryState(troop=p26.oop_threshold, gross=900_000), brand),
        (p19, BeneficiaryState(troop=20_000, gross=60_000), brand),
    ]
    for params, state, claim in cases:
        fast = _single_step(params, DS, state, claim, POLICY)
        assert fast is not None
        assert fast == _split(params, DS, state, claim, POLICY, fast=False)
    # Deductible -> initial coverage, and initial coverage -> catastrophic, in 2026.
    crossing = [
        BeneficiaryState(troop=p26.deductible - 5_000, gross=p26.deductible - 5_000),
        BeneficiaryState(troop=p26.oop_threshold - 1_000, gross=800_000),
    ]
    for state in crossing:
        assert _single_step(p26, DS, state, brand, POLICY) is None
        fast = _multi_step(p26, DS, state, brand, POLICY)
        assert fast is not None and len(fast.portions) == 2
        assert fast == _split(p26, DS, state, brand, POLICY, fast=False)
    # A claim that reaches the coverage gap goes to the general walk.
    gap = BeneficiaryState(troop=80_000, gross=p19.initial_coverage_limit - 1_000)
    assert _multi_step(p19, DS, gap, brand, POLICY) is None
    result = _split(p19, DS, gap, brand, POLICY, fast=True)
    assert [p.phase for p in result.portions] == [BenefitPhase.INITIAL, BenefitPhase.GAP]
