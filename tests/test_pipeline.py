"""The one pipeline: the plan's benefit is looked up per claim, rejects are built in one place."""

from __future__ import annotations

import dataclasses

from pbm_engine.benefit.commercial import CommercialBenefit
from pbm_engine.benefit.plan import CostShareRule
from pbm_engine.claim import parse_claim
from pbm_engine.codes import Reject, Status
from pbm_engine.engine import Engine
from pbm_engine.medicare.adjudicate import PartDBenefit
from pbm_engine.result import rejected
from pbm_engine.sources.loader import load_sample_book

CLAIM = {
    "cardholder_id": "PPO1001", "person_code": "001", "date_of_service": "2026-02-02",
    "rx_number": "7000101", "ndc": "00378410591", "quantity": "30", "days_supply": 30,
    "pharmacy_id": "1234567893",
}


def test_a_plan_replaced_in_the_book_is_used_by_the_next_claim() -> None:
    book = load_sample_book()
    engine = Engine(book)
    before = engine.adjudicate(CLAIM)
    assert before.paid and isinstance(engine.benefit_for("SAMPLE-PPO-2026"), CommercialBenefit)
    plan = book.plans["SAMPLE-PPO-2026"]
    cells = {key: tuple(dataclasses.replace(b, rule=CostShareRule(copay=123)) for b in bands)
             for key, bands in plan.schedule.cells.items()}
    book.plans[plan.plan_id] = dataclasses.replace(
        plan, schedule=dataclasses.replace(plan.schedule, cells=cells), deductible=None)
    after = engine.adjudicate(CLAIM)
    assert after.paid and after.patient_pay == min(123, after.total_price)
    assert before.patient_pay != after.patient_pay


def test_every_kind_of_plan_has_a_benefit() -> None:
    from pbm_engine.cli.partd import sample_partd_book_path
    from pbm_engine.sources.loader import load_book

    book = load_book(sample_partd_book_path())
    engine = Engine(book)
    assert all(isinstance(engine.benefit_for(p), CommercialBenefit) for p in book.plans)
    assert all(isinstance(engine.benefit_for(p), PartDBenefit) for p in book.part_d_plans)
    assert engine.benefit_for("NO-SUCH-PLAN") is None


def test_rejected_keeps_one_entry_per_code_in_order() -> None:
    claim = parse_claim(CLAIM).claim
    assert claim is not None
    result = rejected(claim, [(Reject.STEP_THERAPY, "a"), (Reject.REFILL_TOO_SOON, "b"),
                              (Reject.STEP_THERAPY, "c")], plan_id="P", tier=2)
    assert result.status is Status.REJECTED
    assert [(r.code, r.message) for r in result.rejects] == [
        (Reject.STEP_THERAPY, "a; c"), (Reject.REFILL_TOO_SOON, "b")]
    assert (result.plan_id, result.tier, result.ndc) == ("P", 2, claim.ndc)
