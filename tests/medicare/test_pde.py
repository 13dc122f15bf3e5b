"""PDE records: field mapping, string money and the identity check."""

from __future__ import annotations

import dataclasses

import pytest

from pbm_engine.medicare import (
    BeneficiaryState,
    BenefitDesign,
    ClaimFacts,
    build_pde,
    parameters_for,
    split_claim,
)

DS = BenefitDesign.defined_standard()


def test_2019_straddle_record() -> None:
    r = split_claim(
        parameters_for(2019),
        DS,
        BeneficiaryState(),
        ClaimFacts(ingredient_cost=1_000_000, applicable_drug=True),
    )
    pde = build_pde(r)
    pde.check()
    d = pde.to_dict()
    assert d["gross_drug_cost"] == "10000.00"
    assert (d["gdcb"], d["gdca"]) == ("7855.53", "2144.47")
    assert d["reported_gap_discount"] == "2824.87"
    assert d["manufacturer_discount"] == "0.00"
    assert d["patient_pay"] == "2382.36"  # 2,382.3552.. half up
    assert (d["catastrophic_coverage_code"], d["brand_generic_code"]) == ("A", "B")
    assert (d["beginning_benefit_phase"], d["ending_benefit_phase"]) == ("D", "C")
    assert d["troop_accumulator_before"] == "0.00"
    assert d["troop_accumulator_after"] == "5100.00"  # exactly the threshold
    assert d["plan_year"] == 2019


def test_2025_record_uses_manufacturer_discount() -> None:
    r = split_claim(
        parameters_for(2025),
        DS,
        BeneficiaryState(troop=200_000, gross=700_000),
        ClaimFacts(ingredient_cost=10_000, dispensing_fee=150),
    )
    d = build_pde(r).to_dict()
    assert (d["catastrophic_coverage_code"], d["gdcb"], d["gdca"]) == ("C", "0.00", "101.50")
    assert (d["patient_pay"], d["covered_plan_paid"], d["brand_generic_code"]) == (
        "0.00",
        "101.50",
        "G",
    )


def test_check_rejects_broken_record() -> None:
    r = split_claim(parameters_for(2020), DS, BeneficiaryState(), ClaimFacts(ingredient_cost=500))
    pde = build_pde(r)
    with pytest.raises(AssertionError):
        dataclasses.replace(pde, covered_plan_paid=pde.covered_plan_paid + 1).check()
    with pytest.raises(AssertionError):
        dataclasses.replace(pde, gdca=1).check()
    with pytest.raises(AssertionError):
        dataclasses.replace(r, lics=1).check()
