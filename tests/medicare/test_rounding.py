"""Rounding and TrOOP by the rules: published and hand-computed cases (docs/medicare-part-d.md,
"Rounding")."""

from __future__ import annotations

from pbm_engine.medicare import (
    BeneficiaryState,
    BenefitDesign,
    BenefitPhase,
    ClaimFacts,
    LisLevel,
    PhaseResult,
    build_pde,
    parameters_for,
    split_claim,
)

DS = BenefitDesign.defined_standard()
G, C = BenefitPhase.GAP, BenefitPhase.CATASTROPHIC


def run(year: int, state: BeneficiaryState, **claim: object) -> PhaseResult:
    result = split_claim(parameters_for(year), DS, state, ClaimFacts(**claim))  # type: ignore[arg-type]
    result.check()
    build_pde(result).check()
    return result


def in_gap(year: int) -> BeneficiaryState:
    p = parameters_for(year)
    return BeneficiaryState(troop=p.deductible + 50_000, gross=p.initial_coverage_limit or 0)


def test_2021_brand_first_fill_published() -> None:
    # $10,000 brand first fill, 2021 Defined Standard: published patient pay $2,751.07 (exact
    # 445 + 921.25 + 1,364.1447.. + 20.6710.. = 2,751.0657..); TrOOP stops at the threshold.
    r = run(2021, BeneficiaryState(), ingredient_cost=1_000_000, applicable_drug=True)
    assert r.patient_pay == 275_107
    assert r.troop_after == parameters_for(2021).oop_threshold == 655_000
    assert r.manufacturer_discount == 381_961  # 3,819.6052.. half up
    assert r.cost_share_above == 2_068  # below the threshold: 6,550 - 3,819.61 = 2,730.39


def test_2015_claim_entirely_in_catastrophic_leaves_troop_unchanged() -> None:
    p = parameters_for(2015)
    state = BeneficiaryState(troop=p.oop_threshold, gross=900_000)
    r = run(2015, state, ingredient_cost=50_000, applicable_drug=True)
    assert [x.phase for x in r.portions] == [C]
    assert (r.troop_delta, r.troop_after) == (0, p.oop_threshold)
    assert r.patient_pay == r.cost_share_above == 2_500  # 5% of $500


def test_2017_gap_patient_pay_rounds_from_its_exact_value() -> None:
    # Ingredient 0.79 at 40% + fee 1.95 at 40%... exact 1.096 -> 1.10 (not 1.09).
    r = run(2017, in_gap(2017), ingredient_cost=79, dispensing_fee=195, applicable_drug=True)
    assert r.patient_pay == 110


def test_2020_gap_half_cent_rounds_up() -> None:
    # 25% of 3.06 = 0.765 -> 0.77 (half up), discount 70% of 1.28 = 0.896 -> 0.90.
    r = run(2020, in_gap(2020), ingredient_cost=128, dispensing_fee=178, applicable_drug=True)
    assert (r.patient_pay, r.manufacturer_discount) == (77, 90)


def test_2011_threshold_crossing_keeps_every_portion_at_or_below_it() -> None:
    # $2.01 brand with $1.01 of room: gap 1.01 gross, cost 0.505 + discount 0.505; then 1.00 in
    # catastrophic (min copay capped at the cost).  Patient pay 1.505 -> 1.51; the gap portion
    # lands TrOOP exactly on the threshold (0.51 + 0.50), and the discount gives up the tie cent
    # (0.505 + 1.505 cannot both round up within 2.01).
    p = parameters_for(2011)
    state = BeneficiaryState(troop=p.oop_threshold - 101, gross=(p.initial_coverage_limit or 0)
                             + 1_000)
    r = run(2011, state, ingredient_cost=201, applicable_drug=True)
    assert [(x.phase, x.gross, x.cost_share, x.discount) for x in r.portions] == [
        (G, 101, 51, 50), (C, 100, 100, 0)]
    assert (r.patient_pay, r.troop_after) == (151, p.oop_threshold)


def test_2023_partial_lis_insulin_skips_the_lis_deductible() -> None:
    # 42 USC 1395w-114(a)(2)(B): covered insulin is not subject to the partial-LIS deductible;
    # 15% of 12.51 = 1.8765 -> 1.88 (the $35 x 14/30 cap does not bind).
    r = run(2023, BeneficiaryState(lis=LisLevel.PARTIAL), ingredient_cost=1_102,
            dispensing_fee=149, days_supply=14, insulin=True, applicable_drug=True)
    assert r.patient_pay == 188
    assert r.lics == 313 - 188  # the plan's 25% = 3.1275 -> 3.13


def test_insulin_cap_that_does_not_bind_changes_nothing() -> None:
    # Issue cases: the cap spread as a flat rate used to change the split where it did not bind.
    p24 = parameters_for(2024)
    r = run(2024, BeneficiaryState(troop=799_768, gross=1_200_000), ingredient_cost=105_369,
            dispensing_fee=256, days_supply=100, insulin=True, applicable_drug=True)
    plain = run(2024, BeneficiaryState(troop=799_768, gross=1_200_000),
                ingredient_cost=105_369, dispensing_fee=256, days_supply=100,
                applicable_drug=True)
    assert r.patient_pay == plain.patient_pay == 108  # ordinary cost sharing, under the cap
    assert r.troop_after == p24.oop_threshold
    r25 = run(2025, BeneficiaryState(troop=198_594, gross=700_000), ingredient_cost=95_251,
              dispensing_fee=119, days_supply=31, insulin=True, applicable_drug=True)
    # 25% of the gross until TrOOP reaches 2,000: room 14.06 -> gross 56.24 below.
    assert r25.patient_pay == 1_406 and r25.gdcb == 5_624


def test_insulin_cap_binding_front_loads_the_cost_sharing() -> None:
    # 2025, TrOOP 0, a $400 insulin fill skips the deductible: 25% of 400 = 100 > the $35 cap.
    # The first 140.00 of gross carry the 35.00 at the ordinary 25%, the remaining 260.00 carry
    # nothing, and TrOOP advances by 35.00.
    r = run(2025, BeneficiaryState(), ingredient_cost=40_000, insulin=True,
            applicable_drug=True)
    assert r.patient_pay == 3_500 and r.troop_delta == 3_500
    assert [(x.phase, x.gross, x.cost_share) for x in r.portions] == [
        (BenefitPhase.DEDUCTIBLE, 40_000, 3_500)]


def test_insulin_cap_binding_on_a_claim_that_crosses_the_threshold() -> None:
    # 2025, TrOOP 1,990.00 (threshold 2,000): 25% of the first 40.00 of gross is 10.00 and
    # reaches the threshold; the cap (35.00) has not bound yet, so the rest is catastrophic at
    # $0.  With TrOOP 1,970.00 the first 120.00 carry 30.00 ... still under the cap: the claim
    # is priced exactly as without the cap.
    p = parameters_for(2025)
    r = run(2025, BeneficiaryState(troop=p.oop_threshold - 1_000, gross=800_000),
            ingredient_cost=40_000, insulin=True, applicable_drug=True)
    assert [(x.phase, x.gross, x.cost_share) for x in r.portions] == [
        (BenefitPhase.INITIAL, 4_000, 1_000), (C, 36_000, 0)]
    assert r.troop_after == p.oop_threshold
    # 2023 (catastrophic 5% still applies and the cap covers every phase): TrOOP 50.00 short of
    # the threshold, a $2,000 insulin fill in the gap: 25% + the 70% discount accrue, so the
    # threshold comes after 52.63.. of gross with 13.16 of cost sharing; the catastrophic 5% of
    # the other 1,947.37 (97.37) is cut to what is left of the cap, 21.84 (not TrOOP).
    p23 = parameters_for(2023)
    r23 = run(2023, BeneficiaryState(troop=p23.oop_threshold - 5_000, gross=1_000_000),
              ingredient_cost=200_000, insulin=True, applicable_drug=True)
    assert [(x.phase, x.gross, x.cost_share) for x in r23.portions] == [
        (G, 5_263, 1_316), (C, 194_737, 2_184)]
    assert (r23.patient_pay, r23.troop_after) == (3_500, p23.oop_threshold)
