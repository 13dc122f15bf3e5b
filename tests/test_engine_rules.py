"""Example tests for every commercial rule, on the small book (amounts computed by hand).

Prices in the small book (2026): GENERICA AWP $1.00 MAC $0.15; BRANDA AWP $10 WAC $8;
PREFERRED BRAND AWP $5; SPECIALTY AWP $1,000; INSULIN AWP $30.  Retail brand AWP-20% + $1,
retail generic AWP-80% or MAC + $1, mail brand AWP-25%, specialty brand AWP-15%.
"""

from __future__ import annotations

import datetime as dt

import pytest

from pbm_engine.accumulators import ZERO, Fill, MemberState, StaticHistory, Totals
from pbm_engine.codes import Status
from pbm_engine.engine import Engine
from tests.conftest import claim


class State:
    """A fixed accumulator view for tests."""

    def __init__(self, member: Totals = ZERO, family: Totals = ZERO) -> None:
        self.value = MemberState(member, family)

    def state(self, *args: object) -> MemberState:
        return self.value


def paid(engine: Engine, _state: State | None = None, **kw: object):
    r = engine.adjudicate(claim(**kw), accumulators=_state or State())
    assert r.status is Status.PAID, (r.rejects, r.trace)
    return r


def rejected(engine: Engine, *codes: str, **kw: object):
    r = engine.adjudicate(claim(**kw))
    assert r.status is Status.REJECTED
    assert set(codes) <= set(r.reject_codes), (r.reject_codes, r.rejects)
    return r


def cents(text: str) -> int:
    return int(text.replace(".", ""))


# -- pricing ---------------------------------------------------------------------------------

def test_generic_priced_at_mac_with_copay(engine: Engine) -> None:
    r = paid(engine)
    assert (r.ingredient_cost_paid, r.dispensing_fee_paid, r.total_price) == (1500, 100, 1600)
    assert r.basis == "07"
    assert (r.copay_amount, r.patient_pay, r.plan_pay) == (1000, 1000, 600)
    assert r.deductible_applied == 0  # tier 1 is exempt from the deductible


def test_brand_priced_at_awp_less_percent(engine: Engine) -> None:
    r = paid(engine, ndc="00000000002", quantity="30", daw=1)
    # AWP 300.00 - 20% = 240.00 + 1.00 (WAC 240 + 10% = 264 + 1 loses)
    assert (r.total_price, r.basis) == (24100, "03")
    # deductible 100, then 30% of 141.00 = 42.30 (between the 20 minimum and 100 maximum)
    assert (r.deductible_applied, r.coinsurance_amount, r.patient_pay) == (10000, 4230, 14230)
    assert r.plan_pay == 24100 - 14230


def test_usual_and_customary_wins(engine: Engine) -> None:
    r = paid(engine, usual_and_customary="3.00")
    assert (r.total_price, r.basis, r.patient_pay, r.plan_pay) == (300, "04", 300, 0)


def test_submitted_amount_wins_when_lower(engine: Engine) -> None:
    r = paid(engine, ingredient_cost="2.00", dispensing_fee="0.50", gross_amount_due="2.50")
    assert (r.total_price, r.basis, r.ingredient_cost_paid, r.dispensing_fee_paid) == (
        250, "01", 200, 50)


def test_gross_amount_due_must_follow_the_formula(engine: Engine) -> None:
    rejected(engine, "R9", ingredient_cost="2.00", dispensing_fee="0.50",
             gross_amount_due="9.99")


def test_price_tables_are_effective_dated(engine: Engine) -> None:
    r = paid(engine, date_of_service="2025-12-31", cardholder_id="S1")
    assert r.ingredient_cost_paid == 1000  # 2025 MAC $0.10 x 100


def test_unpriced_drug_uses_submitted_cost_or_rejects(engine: Engine) -> None:
    rejected(engine, "23", ndc="00000000013")
    r = paid(engine, ndc="00000000013", ingredient_cost="5.00", dispensing_fee="1.00")
    assert (r.total_price, r.basis) == (600, "01")


def test_high_dollar_claim_rejects_78(engine: Engine) -> None:
    rejected(engine, "78", ndc="00000000004", quantity="100", channel="specialty",
             days_supply=30)


def test_zero_balance_when_price_below_copay(engine: Engine) -> None:
    r = paid(engine, quantity="30")  # MAC 4.50 + 1.00 = 5.50 < $10 copay
    assert (r.patient_pay, r.plan_pay) == (550, 0)


# -- cost share ------------------------------------------------------------------------------

def test_days_supply_bands(engine: Engine) -> None:
    assert paid(engine, days_supply=60, quantity="200").copay_amount == 2000
    assert paid(engine, ndc="00000000003", quantity="90", days_supply=90, channel="mail",
                _state=State(Totals(deductible=10000))).copay_amount == 10000


def test_deductible_then_copay(engine: Engine) -> None:
    r = paid(engine, ndc="00000000003", quantity="30")  # 121.00
    assert (r.deductible_applied, r.copay_amount, r.patient_pay) == (10000, 2100, 12100)
    assert r.remaining_deductible == 0


def test_coinsurance_minimum_and_maximum(engine: Engine) -> None:
    met = State(Totals(deductible=10000))
    small = paid(engine, ndc="00000000002", quantity="3", daw=1, _state=met)  # 24 + 1 = 25.00
    assert small.coinsurance_amount == 2000  # 30% = 7.50, raised to the $20 minimum
    big = paid(engine, ndc="00000000002", quantity="34", daw=1, _state=met)  # 273.00
    assert big.coinsurance_amount == 8190
    bigger = paid(engine, ndc="00000000002", quantity="60", days_supply=30, daw=1, _state=met)
    assert bigger.coinsurance_amount == 10000  # capped at the $100 maximum


def test_embedded_family_deductible(engine: Engine) -> None:
    # The family has met 200 of its 200: nobody pays deductible any more.
    r = paid(engine, ndc="00000000003", quantity="30", person_code="003",
             _state=State(Totals(), Totals(deductible=20000)))
    assert r.deductible_applied == 0
    # The family has met 150: a member with nothing met pays at most the family's 50 left.
    r = paid(engine, ndc="00000000003", quantity="30", person_code="003",
             _state=State(Totals(), Totals(deductible=15000)))
    assert r.deductible_applied == 5000


def test_aggregate_family_deductible_ignores_individual_amount(engine: Engine) -> None:
    r = paid(engine, cardholder_id="G1", ndc="00000000003", quantity="200", days_supply=30,
             _state=State(Totals(deductible=60000), Totals(deductible=60000)))
    # 200 units: 1000 x 0.8 = 800 + 1 = 801.00; family left 400 (individual 500 ignored)
    assert r.deductible_applied == 40000
    assert r.coinsurance_amount == 8020  # 20% of 401.00


def test_single_coverage_uses_individual_amount(engine: Engine) -> None:
    r = paid(engine, cardholder_id="G2", ndc="00000000003", quantity="200")
    assert r.deductible_applied == 50000


def test_out_of_pocket_maximum_caps_inside_the_waterfall(engine: Engine) -> None:
    near = State(Totals(deductible=10000, oop=99000), Totals(deductible=10000, oop=99000))
    r = paid(engine, ndc="00000000003", quantity="30", _state=near)
    assert r.patient_pay == 1000 and r.remaining_oop == 0
    done = State(Totals(deductible=10000, oop=100000), Totals(deductible=10000, oop=100000))
    assert paid(engine, ndc="00000000003", quantity="30", _state=done).patient_pay == 0


def test_family_oop_cap(engine: Engine) -> None:
    fam = State(Totals(), Totals(deductible=20000, oop=199500))
    r = paid(engine, ndc="00000000003", quantity="30", person_code="002", _state=fam)
    assert r.patient_pay == 500


def test_non_embedded_oop_per_person_cap(engine: Engine) -> None:
    state = State(Totals(deductible=50000, oop=249000), Totals(deductible=100000, oop=249000))
    r = paid(engine, cardholder_id="G1", ndc="00000000003", quantity="200", _state=state)
    assert r.patient_pay == 1000  # the 2,500 per-person cap binds before the 3,000 family


def test_preventive_drug_costs_nothing(engine: Engine) -> None:
    r = paid(engine, ndc="00000000012", quantity="30")
    assert (r.patient_pay, r.deductible_applied) == (0, 0) and r.plan_pay == r.total_price


def test_insulin_cap_per_30_days(engine: Engine) -> None:
    r = paid(engine, ndc="00000000011", quantity="10", person_code="002")
    assert r.patient_pay == 2500  # deductible 100 + $40 copay, capped at $25
    assert r.deductible_applied == 2500
    r60 = paid(engine, ndc="00000000011", quantity="20", days_supply=60, person_code="002")
    assert r60.patient_pay == 5000


def test_hdhp_insulin_skips_the_deductible(engine: Engine) -> None:
    r = paid(engine, cardholder_id="G2", ndc="00000000011", quantity="10")
    assert (r.deductible_applied, r.coinsurance_amount) == (0, 4820)  # 20% of 241.00


def test_annual_benefit_maximum(engine: Engine) -> None:
    state = State(Totals(deductible=50000, plan_paid=499000), Totals(deductible=100000))
    r = paid(engine, cardholder_id="G2", ndc="00000000003", quantity="30", _state=state)
    # 121.00: 20% = 24.20, plan would pay 96.80 but only 10.00 of the maximum is left
    assert (r.plan_pay, r.exceeding_benefit_max, r.patient_pay) == (1000, 8680, 11100)
    assert r.remaining_benefit == 0


# -- generic substitution / DAW ----------------------------------------------------------------

def test_daw2_brand_penalty(engine: Engine) -> None:
    r = paid(engine, ndc="00000000002", quantity="30", daw=2)
    # brand ingredient 240.00 - generic ingredient (MAC 4.50) = 235.50 penalty;
    # the rest (5.50) is charged the generic copay, capped at the price
    assert r.product_selection_amount == 23550
    assert (r.copay_amount, r.deductible_applied, r.patient_pay, r.plan_pay) == (
        550, 0, 24100, 0)


def test_penalty_does_not_accumulate_by_default(engine: Engine) -> None:
    r = paid(engine, ndc="00000000002", quantity="30", daw=2)
    assert r.delta.oop == 550 and r.delta.deductible == 0


def test_daw1_has_no_penalty(engine: Engine) -> None:
    assert paid(engine, ndc="00000000002", quantity="30", daw=1).product_selection_amount == 0


def test_daw5_priced_and_shared_as_generic(engine: Engine) -> None:
    r = paid(engine, ndc="00000000002", quantity="100", daw=5)
    assert (r.total_price, r.basis, r.copay_amount, r.product_selection_amount) == (
        1600, "07", 1000, 0)


def test_daw9_plan_requests_brand_generic_copay(engine: Engine) -> None:
    r = paid(engine, ndc="00000000002", quantity="30", daw=9)
    assert (r.total_price, r.copay_amount, r.deductible_applied) == (24100, 1000, 0)


def test_daw0_multisource_brand_rejected_when_plan_says_so(engine: Engine) -> None:
    rejected(engine, "UU", cardholder_id="G2", ndc="00000000002", quantity="30", daw=0)


def test_invalid_daw_code(engine: Engine) -> None:
    rejected(engine, "22", daw=12)


# -- copay assistance --------------------------------------------------------------------------

def test_accumulator_program_counts_only_member_money(engine: Engine) -> None:
    r = paid(engine, ndc="00000000004", quantity="1", channel="specialty",
             other_payer_amount="100.00")
    # 850.00: deductible 100 + 20% of 750 = 150 -> 250 patient pay; coupon pays 100
    assert (r.patient_pay, r.other_payer_paid, r.member_paid, r.plan_pay) == (
        25000, 10000, 15000, 60000)
    assert (r.delta.deductible, r.delta.oop) == (10000, 15000)


def test_standard_policy_counts_the_coupon(engine: Engine) -> None:
    r = paid(engine, ndc="00000000003", quantity="30", other_payer_amount="50.00")
    assert (r.member_paid, r.other_payer_paid, r.delta.oop) == (7100, 5000, 12100)


def test_maximizer_absorbs_the_coupon_and_accumulates_nothing(engine: Engine) -> None:
    state = State(Totals(deductible=100000), Totals(deductible=100000))
    r = paid(engine, cardholder_id="G1", ndc="00000000004", quantity="1", channel="specialty",
             other_payer_amount="400.00", _state=state)
    # 850.00 at 20% = 170.00; the maximizer raises cost share to the 400 coupon
    assert (r.patient_pay, r.other_payer_paid, r.member_paid) == (40000, 40000, 0)
    assert (r.delta.deductible, r.delta.oop) == (0, 0)


# -- formulary and UM edits --------------------------------------------------------------------

def test_prior_authorization(engine: Engine) -> None:
    rejected(engine, "75", ndc="00000000004", quantity="1", channel="specialty",
             person_code="002")
    assert paid(engine, ndc="00000000004", quantity="1", channel="specialty").paid
    assert paid(engine, ndc="00000000004", quantity="1", channel="specialty",
                pa_number="PA1").paid
    rejected(engine, "75", ndc="00000000004", quantity="1", channel="specialty",
             pa_number="WRONG")


def test_step_therapy(engine: Engine) -> None:
    r = rejected(engine, "608", ndc="00000000005", quantity="30")
    assert r.alternatives and r.alternatives[0].ndc == "00000000001"
    history = StaticHistory((Fill("F1-001", dt.date(2026, 1, 10), "00000000001", "TE:A",
                                  frozenset({"CLASS:A", "CLASS:A-GENERIC"}), 30_000, 30),))
    ok = engine.adjudicate(claim(ndc="00000000005", quantity="30"), history=history)
    assert ok.paid
    old = StaticHistory((Fill("F1-001", dt.date(2025, 10, 1), "00000000001", "TE:A",
                              frozenset({"CLASS:A-GENERIC"}), 30_000, 30),))
    late = engine.adjudicate(claim(ndc="00000000005", quantity="30"), history=old)
    assert late.reject_codes == ("608",)  # outside the 90-day look-back


def test_step_therapy_bypassed_by_pa(engine: Engine) -> None:
    assert paid(engine, ndc="00000000005", quantity="30", person_code="002").paid


def test_quantity_limit(engine: Engine) -> None:
    rejected(engine, "76", ndc="00000000006", quantity="31")
    assert paid(engine, ndc="00000000006", quantity="60", days_supply=60).paid


def test_age_limits(engine: Engine) -> None:
    rejected(engine, "60", ndc="00000000007", person_code="003")
    rejected(engine, "60", ndc="00000000007", cardholder_id="S1", date_of_service="2026-03-02")
    assert paid(engine, ndc="00000000007").paid


def test_gender_limit_and_preventive(engine: Engine) -> None:
    rejected(engine, "61", ndc="00000000008", person_code="002")
    r = paid(engine, ndc="00000000008", quantity="28", days_supply=28)
    assert r.patient_pay == 0


def test_exclusion_and_non_formulary(engine: Engine) -> None:
    rejected(engine, "70", ndc="00000000009")
    rejected(engine, "MR", ndc="00000000010")
    rejected(engine, "MR", ndc="00000000099")  # priced, but not on the formulary
    rejected(engine, "54", ndc="12345678901")


def test_days_supply_limits(engine: Engine) -> None:
    rejected(engine, "7X", days_supply=91, quantity="300")
    rejected(engine, "7X", ndc="00000000014", days_supply=31)
    rejected(engine, "19", days_supply=0)


def test_specialty_pharmacy_required(engine: Engine) -> None:
    rejected(engine, "4W", ndc="00000000004", quantity="1")


def test_refill_too_soon(engine: Engine) -> None:
    history = StaticHistory((Fill("F1-001", dt.date(2026, 2, 1), "00000000001", "TE:A",
                                  frozenset(), 100_000, 30, "999", 0, "1111111111"),))
    early = engine.adjudicate(claim(date_of_service="2026-02-20"), history=history)
    assert early.reject_codes == ("79",)
    assert early.next_fill_date == dt.date(2026, 2, 25)  # 80% of 30 days = 24 days
    assert early.dur[0].reason == "ER" and early.dur[0].previous_fill_date == dt.date(2026, 2, 1)
    assert engine.adjudicate(claim(date_of_service="2026-02-25"), history=history).paid
    vacation = engine.adjudicate(claim(date_of_service="2026-02-20", clarification_codes=[3]),
                                 history=history)
    assert vacation.paid
    # the brand in the same equivalence group is the same therapy
    brand = engine.adjudicate(claim(date_of_service="2026-02-20", ndc="00000000002",
                                    quantity="30", daw=1), history=history)
    assert "79" in brand.reject_codes


def test_all_rejects_reported_together(engine: Engine) -> None:
    r = engine.adjudicate(claim(ndc="00000000006", quantity="400", days_supply=120,
                                person_code="003", cardholder_id="F1"))
    assert {"76", "7X"} <= set(r.reject_codes)


# -- eligibility -------------------------------------------------------------------------------

@pytest.mark.parametrize(("overrides", "code"), [
    ({"cardholder_id": "NOPE"}, "52"),
    ({"person_code": "009"}, "53"),
    ({"cardholder_id": "S1", "date_of_service": "2026-07-01"}, "68"),
    ({"cardholder_id": "T1", "date_of_service": "2026-04-01"}, "69"),
    ({"cardholder_id": "S1", "date_of_service": "2024-12-01"}, "67"),
    ({"date_of_birth": "1999-01-01"}, "09"),
    ({"gender": "M"}, "10"),
])
def test_eligibility_rejects(engine: Engine, overrides: dict[str, str], code: str) -> None:
    rejected(engine, code, **overrides)


def test_person_code_forms_are_equivalent(engine: Engine) -> None:
    assert paid(engine, person_code="1").member_id == "F1-001"


# -- dates -------------------------------------------------------------------------------------

def test_post_dated_and_too_old(engine: Engine) -> None:
    future = engine.adjudicate(claim(date_of_service="2026-03-10"), as_of=dt.date(2026, 3, 1))
    assert future.reject_codes == ("82",)
    old = engine.adjudicate(claim(date_of_service="2026-01-02"), as_of=dt.date(2026, 6, 1))
    assert old.reject_codes == ("81",)
    assert engine.adjudicate(claim(date_of_service="2026-01-02")).paid  # no as_of: batch


def test_plan_year(engine: Engine) -> None:
    assert paid(engine).plan_year == dt.date(2026, 1, 1)


def test_trace_explains_every_amount(engine: Engine) -> None:
    r = paid(engine, ndc="00000000002", quantity="30", daw=2)
    text = "\n".join(r.trace)
    for fragment in ("AWP - 20%", "MAC", "brand penalty", "patient pays 241.00"):
        assert fragment in text
    quiet = Engine(engine.book).adjudicate(claim())
    assert quiet.trace == ()
