"""Hand-computed phase splits for every era, LIS, insulin and vaccines (reference 1-5).

Amounts are cents.  Each expected figure is worked out in the comment above it.
"""

from __future__ import annotations

import pytest

from pbm_engine.medicare import (
    BeneficiaryState,
    BenefitDesign,
    BenefitPhase,
    CatastrophicCode,
    Channel,
    ClaimFacts,
    CostShare,
    CoverageLevel,
    DaysSupplyBand,
    DesignLookupError,
    FeeAllocation,
    InsulinScaling,
    LisCopayBasis,
    LisLevel,
    PartDPolicy,
    PhaseResult,
    PlanYearError,
    build_pde,
    parameters_for,
    phase_of,
    split_claim,
)

DS = BenefitDesign.defined_standard()
D, N, G, C = (
    BenefitPhase.DEDUCTIBLE,
    BenefitPhase.INITIAL,
    BenefitPhase.GAP,
    BenefitPhase.CATASTROPHIC,
)


def run(
    year: int,
    troop: int = 0,
    gross: int = 0,
    lis: LisLevel | None = None,
    design: BenefitDesign = DS,
    policy: PartDPolicy | None = None,
    **claim: object,
) -> PhaseResult:
    result = split_claim(
        parameters_for(year),
        design,
        BeneficiaryState(troop=troop, gross=gross, lis=lis),
        ClaimFacts(**claim),  # type: ignore[arg-type]
        policy,
    )
    result.check()
    build_pde(result).check()
    return result


def split(result: PhaseResult) -> list[tuple[BenefitPhase, int, int, int]]:
    return [(p.phase, p.gross, p.cost_share, p.discount) for p in result.portions]


# --- 2006-2010 ------------------------------------------------------------------------------


def test_2006_all_phases_in_one_claim() -> None:
    # D 250, ICL 2250, OOP 3600.  $6,000 from zero: deductible 250 (bene 250); initial 2,000
    # (bene 500); TrOOP 750, gap at 100% until 3,600 -> 2,850; catastrophic 900: bene
    # max(5% = 45, 5.00) = 45.
    r = run(2006, ingredient_cost=600_000)
    assert split(r) == [
        (D, 25_000, 25_000, 0),
        (N, 200_000, 50_000, 0),
        (G, 285_000, 285_000, 0),
        (C, 90_000, 4_500, 0),
    ]
    assert (r.patient_pay, r.covered_plan_paid, r.manufacturer_discount) == (364_500, 235_500, 0)
    assert (r.gdcb, r.gdca, r.catastrophic_code) == (510_000, 90_000, CatastrophicCode.ATTACHMENT)
    assert (r.beginning_phase, r.ending_phase) == (D, C)
    # TrOOP counts incurred costs only until the threshold (42 USC 1395w-102(b)(4)(C)(i)): the
    # catastrophic 45.00 is kept apart.
    assert (r.troop_after, r.gross_after, r.cost_share_above) == (360_000, 600_000, 4_500)
    assert r.reinsurance_eligible == 90_000


def test_2008_catastrophic_minimum_copay_and_cap_at_cost() -> None:
    # Above the threshold (code C): 5% of $20 = $1 < $2.25 generic minimum -> $2.25; a $1.50
    # drug costs at most $1.50.
    r = run(2008, troop=500_000, gross=700_000, ingredient_cost=2_000,
            generic_or_preferred_multisource=True)  # fmt: skip
    assert (r.patient_pay, r.gdcb, r.gdca, r.catastrophic_code) == (
        225, 0, 2_000, CatastrophicCode.ABOVE,
    )  # fmt: skip
    assert run(2008, troop=500_000, gross=700_000, ingredient_cost=150).patient_pay == 150


# --- 2011-2012 ------------------------------------------------------------------------------


def test_2011_brand_wholly_in_gap() -> None:
    # 50% of ingredient + 100% of fee: bene 50 + 2 = 52; discount 50; plan 0; TrOOP 102.
    r = run(2011, troop=100_000, gross=300_000, ingredient_cost=10_000, dispensing_fee=200,
            applicable_drug=True)  # fmt: skip
    assert (r.patient_pay, r.manufacturer_discount, r.covered_plan_paid) == (5_200, 5_000, 0)
    assert r.troop_delta == 10_200 and r.discount_counts_toward_troop


def test_2011_initial_to_gap_straddle() -> None:
    # ICL 2,840, gross 2,800: 40 in initial (bene 10), 60 in the gap (bene 30, discount 30).
    r = run(2011, troop=93_250, gross=280_000, ingredient_cost=10_000, applicable_drug=True)
    assert split(r) == [(N, 4_000, 1_000, 0), (G, 6_000, 3_000, 3_000)]
    assert (r.patient_pay, r.manufacturer_discount, r.covered_plan_paid) == (4_000, 3_000, 3_000)
    assert (r.beginning_phase, r.ending_phase, r.troop_delta) == (N, G, 7_000)


def test_2011_fee_allocation_policy() -> None:
    # Same straddle with a $10 fee.  Earlier phase: the fee fills the initial portion first
    # (40 = fee 10 + ingredient 30, bene 10); gap = ingredient 70: bene 35, discount 35.
    args = {"troop": 93_250, "gross": 280_000, "ingredient_cost": 10_000,
            "dispensing_fee": 1_000, "applicable_drug": True}  # fmt: skip
    early = run(2011, **args)  # type: ignore[arg-type]
    assert split(early) == [(N, 4_000, 1_000, 0), (G, 7_000, 3_500, 3_500)]
    assert early.covered_plan_paid == 3_000
    # Pro rata: the gap's 70 holds 70*10/110 of fee (bene 100%) and 70*100/110 ingredient (bene
    # and discount 50% each): discount 31.8181.. -> 31.82; TrOOP 10 + 70 = 80 exactly, so bene
    # = 80 - 31.82 = 48.18.
    prorata = run(2011, policy=PartDPolicy(fee_allocation=FeeAllocation.PRO_RATA), **args)  # type: ignore[arg-type]
    assert prorata.manufacturer_discount == 3_182
    assert prorata.patient_pay == 4_818
    assert prorata.covered_plan_paid == 3_000
    assert prorata.troop_delta == 8_000


# --- 2013-2018 ------------------------------------------------------------------------------


def test_2016_brand_gap_to_catastrophic() -> None:
    # OOP 4,850, TrOOP 4,800: 50 of room at 45% + 50% = 95% -> 52.631578.. gross in the gap
    # (GDCB 52.63), bene 23.684.., discount 26.315.. -> 26.32.  Catastrophic 147.368..: bene
    # max(5% = 7.37, 7.40) = 7.40.  Enrollee 31.0842.. -> 31.08; TrOOP lands on 4,850 (the gap
    # portion 23.68 + 26.32), the catastrophic 7.40 does not count.
    r = run(2016, troop=480_000, gross=600_000, ingredient_cost=20_000, applicable_drug=True)
    assert (r.gdcb, r.gdca, r.catastrophic_code) == (5_263, 14_737, CatastrophicCode.ATTACHMENT)
    assert (r.manufacturer_discount, r.patient_pay, r.covered_plan_paid) == (2_632, 3_108, 14_260)
    assert (r.troop_after, r.cost_share_above) == (485_000, 740)
    assert (r.beginning_phase, r.ending_phase) == (G, C)


def test_2014_brand_gap_fee_shared_by_brand_coinsurance() -> None:
    # 2014: bene 47.5% of (c + f) = 47.5% of 102 = 48.45; discount 50% of 100 = 50.
    r = run(2014, troop=200_000, gross=400_000, ingredient_cost=10_000, dispensing_fee=200,
            applicable_drug=True)  # fmt: skip
    assert (r.patient_pay, r.manufacturer_discount, r.covered_plan_paid) == (4_845, 5_000, 355)
    assert r.troop_delta == 9_845


# --- 2019-2023 ------------------------------------------------------------------------------


def test_2020_deductible_to_initial() -> None:
    # D 435: 435 at 100%, then 65 at 25% = 16.25 -> bene 451.25, plan 48.75.
    r = run(2020, ingredient_cost=50_000, generic_or_preferred_multisource=True)
    assert split(r) == [(D, 43_500, 43_500, 0), (N, 6_500, 1_625, 0)]
    assert (r.patient_pay, r.covered_plan_paid, r.troop_after) == (45_125, 4_875, 45_125)
    assert (r.beginning_phase, r.ending_phase, r.catastrophic_code) == (D, N, CatastrophicCode.NONE)


def test_2020_generic_gap_to_catastrophic() -> None:
    # Generic gap 25%: 10 of room -> 40 in the gap (bene 10); catastrophic 60: max(3.00, 3.60).
    r = run(2020, troop=634_000, gross=900_000, ingredient_cost=10_000,
            generic_or_preferred_multisource=True)  # fmt: skip
    assert split(r) == [(G, 4_000, 1_000, 0), (C, 6_000, 360, 0)]
    assert (r.patient_pay, r.covered_plan_paid, r.troop_after) == (1_360, 8_640, 635_000)


def test_2019_all_phases_brand() -> None:
    # D 415, ICL 3,820, OOP 5,100.  TrOOP at ICL 415 + 851.25 = 1,266.25; room 3,833.75 at 95%
    # -> 4,035.5263.. in the gap: bene 1,008.88, discount 2,824.87; catastrophic 2,144.47:
    # 5% = 107.2236...  Enrollee 2,382.3552.. -> 2,382.36; TrOOP lands on 5,100 (below-threshold
    # cost sharing 5,100 - 2,824.87 = 2,275.13), so the catastrophic portion is 107.23.
    r = run(2019, ingredient_cost=1_000_000, applicable_drug=True)
    assert split(r) == [
        (D, 41_500, 41_500, 0),
        (N, 340_500, 85_125, 0),
        (G, 403_553, 100_888, 282_487),
        (C, 214_447, 10_723, 0),
    ]
    assert (r.patient_pay, r.troop_after, r.cost_share_above) == (238_236, 510_000, 10_723)


# --- 2024 -----------------------------------------------------------------------------------


def test_2024_gap_to_catastrophic_zero_cost_sharing() -> None:
    # Room 95 at 95% -> 100 in the gap (bene 25, discount 70, plan 5); catastrophic 200 at $0.
    r = run(2024, troop=790_500, gross=1_000_000, ingredient_cost=30_000, applicable_drug=True)
    assert split(r) == [(G, 10_000, 2_500, 7_000), (C, 20_000, 0, 0)]
    assert (r.patient_pay, r.covered_plan_paid, r.troop_after) == (2_500, 20_500, 800_000)
    assert build_pde(r).reported_gap_discount == 7_000


# --- 2025+ ----------------------------------------------------------------------------------


def test_2025_deductible_to_catastrophic_applicable() -> None:
    # D 590 (no discount); initial (2,000 - 590) / 0.25 = 5,640: bene 1,410, MDP 10% 564;
    # catastrophic 3,770: MDP 20% 754, bene 0.  Bene = exactly the 2,000 threshold.
    r = run(2025, ingredient_cost=1_000_000, applicable_drug=True)
    assert split(r) == [(D, 59_000, 59_000, 0), (N, 564_000, 141_000, 56_400),
                        (C, 377_000, 0, 75_400)]  # fmt: skip
    assert (r.patient_pay, r.manufacturer_discount, r.covered_plan_paid) == (
        200_000, 131_800, 668_200,
    )  # fmt: skip
    assert r.troop_after == 200_000 and not r.discount_counts_toward_troop
    pde = build_pde(r)
    assert (pde.manufacturer_discount, pde.reported_gap_discount) == (131_800, 0)


def test_2025_generic_and_selected_drug_get_no_discount() -> None:
    r = run(2025, ingredient_cost=1_000_000)
    assert (r.manufacturer_discount, r.covered_plan_paid) == (0, 800_000)
    s = run(2026, troop=100_000, ingredient_cost=10_000, applicable_drug=True, selected_drug=True)
    # Initial coverage: bene 25, no MDP; CMS selected drug subsidy 10% reported separately.
    assert (s.manufacturer_discount, s.patient_pay, s.selected_drug_subsidy) == (0, 2_500, 1_000)


def test_2026_copay_design_lower_deductible_and_mdp_start() -> None:
    # Plan deductible $0, $10 copay.  TrOOP 610 < DS deductible 615: the copay spreads over
    # the claim at 10/100, so 50 of gross brings TrOOP to 615 (no discount), the other 50 gets
    # the 10% MDP: discount 5.  Bene 10, plan 85.
    design = BenefitDesign.from_rows(
        "copay plan",
        [(1, CoverageLevel.INITIAL, Channel.RETAIL_PREF, DaysSupplyBand.DAYS_30,
          CostShare.of_copay(1_000))],
        deductible=0,
    )  # fmt: skip
    r = run(2026, troop=61_000, design=design, ingredient_cost=10_000, applicable_drug=True)
    assert (r.patient_pay, r.manufacturer_discount, r.covered_plan_paid) == (1_000, 500, 8_500)
    assert split(r) == [(N, 10_000, 1_000, 500)]


def test_2025_copay_straddling_threshold_pays_only_the_room() -> None:
    # min(copay 47, drug cost, OOP - TrOOP = 20).
    design = BenefitDesign.from_rows(
        "copay plan",
        [(2, 1, "retail_pref", 1, CostShare.of_copay(4_700))],
        deductible=0,
    )
    r = run(2025, troop=198_000, design=design, tier=2, ingredient_cost=30_000)
    assert r.patient_pay == 2_000 and r.troop_after == 200_000
    assert r.catastrophic_code is CatastrophicCode.ATTACHMENT


def test_phase_in_specified_manufacturer() -> None:
    # 2025, initial coverage, $100 brand: full MDP 10%; specified manufacturer + LIS: 1%;
    # specified small manufacturer: 1% for everyone.
    base = {"troop": 100_000, "ingredient_cost": 10_000, "applicable_drug": True}
    assert run(2025, **base).manufacturer_discount == 1_000  # type: ignore[arg-type]
    assert run(2025, specified_manufacturer=True, **base).manufacturer_discount == 1_000  # type: ignore[arg-type]
    lis = run(2025, lis=LisLevel.FULL, specified_manufacturer=True, **base)  # type: ignore[arg-type]
    assert (lis.manufacturer_discount, lis.covered_plan_paid) == (100, 7_400)
    assert (lis.patient_pay, lis.lics) == (1_215, 1_285)
    small = run(2025, specified_small_manufacturer=True, **base)  # type: ignore[arg-type]
    assert small.manufacturer_discount == 100
    assert run(2026, specified_small_manufacturer=True, **base).manufacturer_discount == 200  # type: ignore[arg-type]


# --- LIS ------------------------------------------------------------------------------------


def test_lis_full_subsidy_in_deductible() -> None:
    # DS share 100 (deductible), LIS generic copay 3.60: patient 3.60, LICS 96.40, TrOOP 100.
    r = run(2020, lis=LisLevel.FULL, ingredient_cost=10_000, generic_or_preferred_multisource=True)
    assert (r.patient_pay, r.lics, r.troop_delta, r.covered_plan_paid) == (360, 9_640, 10_000, 0)


def test_lis_partial_subsidy_deductible_and_coinsurance() -> None:
    # 2010 partial LIS deductible 63 then 15%: 63 + 15% x 37 = 68.55 of a $100 claim.
    r = run(2010, lis=LisLevel.PARTIAL, ingredient_cost=10_000)
    assert (r.patient_pay, r.lics, r.troop_delta) == (6_855, 3_145, 10_000)


def test_lis_in_gap_is_not_applicable_beneficiary() -> None:
    # 2019 FBDE, brand in the gap: DS share 100%, no discount, copay 3.80.
    r = run(2019, troop=200_000, gross=500_000, lis=LisLevel.FBDE, ingredient_cost=20_000,
            applicable_drug=True)  # fmt: skip
    assert (r.patient_pay, r.lics, r.manufacturer_discount, r.covered_plan_paid) == (
        380, 19_620, 0, 0,
    )  # fmt: skip
    assert r.troop_delta == 20_000


def test_lis_full_subsidy_catastrophic_is_zero() -> None:
    # 2022: 10 of room at 100% then 90 catastrophic (DS max(4.50, 3.95) = 4.50); LIS pays
    # min(3.95, 10) below the threshold and $0 above.
    r = run(2022, troop=704_000, gross=900_000, lis=LisLevel.FULL, ingredient_cost=10_000,
            generic_or_preferred_multisource=True)  # fmt: skip
    assert (r.plan_cost_share, r.patient_pay, r.lics) == (1_450, 395, 1_055)
    partial = run(2022, troop=704_000, gross=900_000, lis=LisLevel.PARTIAL,
                  ingredient_cost=10_000, generic_or_preferred_multisource=True)  # fmt: skip
    # Partial: 15% of 10 = 1.50 below, then min(3.95 copay, 4.50) above.
    assert partial.patient_pay == 150 + 395


def test_lis_institutional_and_lesser_of() -> None:
    assert run(2021, lis=LisLevel.INSTITUTIONAL, ingredient_cost=5_000).patient_pay == 0
    # Plan share below the LIS copay: the lesser applies (2021 initial, 25% of $4 = $1).
    r = run(2021, troop=50_000, gross=50_000, lis=LisLevel.FULL, ingredient_cost=400)
    assert (r.patient_pay, r.lics) == (100, 0)


def test_lis_copay_basis_and_short_fill() -> None:
    args = {"troop": 50_000, "gross": 50_000, "lis": LisLevel.FBDE, "ingredient_cost": 20_000}
    assert run(2021, days_supply=90, **args).patient_pay == 400  # type: ignore[arg-type]
    per_month = PartDPolicy(lis_copay_basis=LisCopayBasis.PER_MONTH_SUPPLY)
    assert run(2021, days_supply=90, policy=per_month, **args).patient_pay == 1_200  # type: ignore[arg-type]
    # 15 days of a 30-day month: $4.00 x 15/30.
    assert run(2021, days_supply=15, **args).patient_pay == 200  # type: ignore[arg-type]


def test_lis_partial_does_not_exist_from_2024() -> None:
    with pytest.raises(PlanYearError):
        run(2024, lis=LisLevel.PARTIAL, ingredient_cost=100)


def test_other_troop_amount_reduces_patient_pay_not_troop() -> None:
    r = run(2025, troop=100_000, ingredient_cost=10_000, other_troop_amount=1_000)
    assert (r.patient_pay, r.other_troop_amount, r.troop_delta) == (1_500, 1_000, 2_500)
    big = run(2025, troop=100_000, ingredient_cost=10_000, other_troop_amount=9_999)
    assert (big.patient_pay, big.other_troop_amount) == (0, 2_500)


# --- Insulin and vaccines -------------------------------------------------------------------


def test_2023_insulin_no_deductible_and_cap() -> None:
    # In the deductible: priced at 25% (= 75) and capped at $35; phase label stays D.
    r = run(2023, ingredient_cost=30_000, insulin=True, applicable_drug=True)
    assert (r.patient_pay, r.beginning_phase, r.ending_phase) == (3_500, D, D)
    assert run(2023, ingredient_cost=60_000, insulin=True, days_supply=90).patient_pay == 10_500


def test_insulin_scaling_policy() -> None:
    # 45 days: pro rata $52.50; next whole month $70 (25% of $600 = $150 uncapped).
    args = {"troop": 100_000, "gross": 100_000, "ingredient_cost": 60_000, "insulin": True,
            "days_supply": 45}  # fmt: skip
    assert run(2023, **args).patient_pay == 5_250  # type: ignore[arg-type]
    whole = PartDPolicy(insulin_scaling=InsulinScaling.NEXT_WHOLE_MONTH)
    assert run(2023, policy=whole, **args).patient_pay == 7_000  # type: ignore[arg-type]


def test_2023_insulin_cap_applies_in_gap_and_catastrophic() -> None:
    # Gap, applicable beneficiary, brand insulin $400: bene 25% = 100 -> 35; discount 70% = 280.
    g = run(2023, troop=300_000, gross=600_000, ingredient_cost=40_000, insulin=True,
            applicable_drug=True)  # fmt: skip
    assert (g.patient_pay, g.manufacturer_discount, g.troop_delta) == (3_500, 28_000, 31_500)
    # Catastrophic: max(5% of 1,000, 10.35) = 50 -> 35.
    c = run(2023, troop=800_000, gross=1_200_000, ingredient_cost=100_000, insulin=True)
    assert c.patient_pay == 3_500


def test_2026_insulin_lesser_of() -> None:
    # 25% of a $100 negotiated price = $25 < $35.
    assert run(2026, ingredient_cost=10_000, insulin=True).patient_pay == 2_500
    # Selected insulin, MFP $80: 25% x 80 = $20.
    r = run(2026, ingredient_cost=10_000, insulin=True, selected_drug=True,
            maximum_fair_price=8_000)  # fmt: skip
    assert r.patient_pay == 2_000


def test_vaccines_zero_from_2023() -> None:
    r = run(2023, ingredient_cost=20_000, vaccine_admin_fee=2_500, vaccine=True,
            applicable_drug=True)  # fmt: skip
    assert (r.patient_pay, r.troop_delta, r.covered_plan_paid) == (0, 0, 22_500)
    lis = run(2024, lis=LisLevel.FULL, ingredient_cost=20_000, vaccine=True)
    assert (lis.patient_pay, lis.lics) == (0, 0)
    gap = run(2024, troop=300_000, gross=600_000, ingredient_cost=20_000, vaccine=True,
              applicable_drug=True)  # fmt: skip
    assert (gap.patient_pay, gap.manufacturer_discount) == (0, 0)
    # Before 2023 a vaccine goes through the deductible like any drug.
    assert run(2022, ingredient_cost=20_000, vaccine=True).patient_pay == 20_000


# --- Tiered designs -------------------------------------------------------------------------


def tiered() -> BenefitDesign:
    rows = [
        (1, CoverageLevel.INITIAL, Channel.RETAIL_PREF, DaysSupplyBand.DAYS_30,
         CostShare.of_copay(500)),
        (1, CoverageLevel.INITIAL, Channel.RETAIL_PREF, DaysSupplyBand.DAYS_90,
         CostShare.of_copay(1_000)),
        (3, CoverageLevel.INITIAL, Channel.RETAIL_PREF, DaysSupplyBand.DAYS_30,
         CostShare.of_coinsurance(400_000, min_amount=2_000, max_amount=10_000)),
    ]  # fmt: skip
    return BenefitDesign.from_rows("tiered", rows, deductible=20_000, deductible_exempt_tiers={1})


def test_tiered_copay_exempt_tier_and_bands() -> None:
    design = tiered()
    # Tier 1 is exempt from the $200 deductible: $5 copay even at zero accumulators.
    assert run(2025, design=design, ingredient_cost=5_000).patient_pay == 500
    assert run(2025, design=design, ingredient_cost=5_000, days_supply=90).patient_pay == 1_000
    # 60 days has no cell: falls back to the 30-day band.
    assert run(2025, design=design, ingredient_cost=5_000, days_supply=60).patient_pay == 500
    # Short fill: $5 x 10/30 = 1.666.. -> 1.67.
    assert run(2025, design=design, ingredient_cost=5_000, days_supply=10).patient_pay == 167


def test_tiered_deductible_then_coinsurance_with_bounds() -> None:
    design = tiered()
    # Tier 3, 2025: $150 claim, TrOOP 0: 200 deductible not met -> pays 150 in full.
    assert run(2025, design=design, tier=3, ingredient_cost=15_000).patient_pay == 15_000
    # TrOOP 100: 100 at 100%, then the remaining 400 at 40% = 160 (within 20..100 -> 100).
    r = run(2025, troop=10_000, design=design, tier=3, ingredient_cost=50_000)
    assert r.patient_pay == 10_000 + 10_000
    # Minimum $20 on a $10 drug is capped at the drug cost.
    tiny = run(2025, troop=50_000, design=design, tier=3, ingredient_cost=1_000)
    assert tiny.patient_pay == 1_000


def test_tiered_missing_cell_raises() -> None:
    with pytest.raises(DesignLookupError):
        run(2025, troop=50_000, design=tiered(), tier=2, ingredient_cost=1_000)


def test_phase_of() -> None:
    p = parameters_for(2019)
    assert phase_of(p, DS, 0, 0) is D
    assert phase_of(p, DS, 41_500, 41_500) is N
    assert phase_of(p, DS, 126_625, 382_000) is G
    assert phase_of(p, DS, 510_000, 700_000) is C
    q = parameters_for(2025)
    assert phase_of(q, DS, 58_999, 58_999) is D
    assert phase_of(q, DS, 59_000, 59_000) is N
    assert phase_of(q, DS, 200_000, 0) is C


def test_zero_gross_claim() -> None:
    r = run(2019, troop=100, gross=100, ingredient_cost=0)
    assert r.portions == () and r.patient_pay == 0 and r.beginning_phase is D
