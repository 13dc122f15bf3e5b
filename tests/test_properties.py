"""Hypothesis property tests for the invariants every result must keep."""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from pbm_engine.benefit.costshare import remaining
from pbm_engine.book import Book
from pbm_engine.claim import FIELDS
from pbm_engine.engine import Engine
from pbm_engine.processor import Processor
from pbm_engine.result import ClaimResult
from pbm_engine.store.memory import MemoryStore
from tests.strategies import claims, junk

FAST = settings(max_examples=150, deadline=None)


def check_balance(r: ClaimResult) -> None:
    assert r.member_paid + r.other_payer_paid + r.plan_pay == r.total_price
    assert r.patient_pay == (r.deductible_applied + r.copay_amount + r.coinsurance_amount
                             + r.product_selection_amount + r.exceeding_benefit_max)
    assert 0 <= r.patient_pay <= r.total_price
    assert 0 <= r.other_payer_paid <= r.patient_pay
    assert r.plan_pay >= 0
    assert r.total_price == r.ingredient_cost_paid + r.dispensing_fee_paid


@FAST
@given(claims())
def test_every_paid_result_balances(engine: Engine, request: dict[str, Any]) -> None:
    r = engine.adjudicate(request)
    if r.paid:
        check_balance(r)


@FAST
@given(st.lists(claims(), min_size=1, max_size=25))
def test_caps_never_exceeded_over_any_sequence(small_book: Book, batch: list[dict]) -> None:
    engine = Engine(small_book)
    store = MemoryStore()
    processor = Processor(engine, store)
    for i, request in enumerate(sorted(batch, key=lambda c: c["date_of_service"])):
        request = {**request, "rx_number": str(i)}
        member = small_book.registry.get(request["cardholder_id"], request["person_code"])
        assert member is not None
        plan = small_book.plans[member.plan_id]
        before = store.state(plan.plan_id, plan.year_of(_date(request)), member.member_id,
                             member.family_id)
        family = small_book.registry.family_coverage(member)
        ded_left = remaining(plan.deductible, before.member.deductible,
                             before.family.deductible, family)
        r = processor.submit(request)
        if r.paid:
            check_balance(r)
            assert ded_left is None or r.deductible_applied <= ded_left
    for (plan_id, _year, kind, _owner), totals in store.totals().items():
        plan = small_book.plans[plan_id]
        for limit, met in ((plan.deductible, totals.deductible), (plan.oop_max, totals.oop)):
            if limit is None:
                continue
            if kind == "F":
                assert met <= (limit.family or limit.individual)
            else:
                assert met <= max(limit.individual, limit.per_person_cap or 0, limit.family or 0)
                if limit.embedded or limit.family is None:
                    assert met <= limit.individual


def _date(request: dict[str, Any]):
    import datetime as dt

    return dt.date.fromisoformat(request["date_of_service"])


@FAST
@given(claims())
def test_same_inputs_same_output(small_book: Book, request: dict[str, Any]) -> None:
    a = Engine(small_book, trace=True).adjudicate(request)
    b = Engine(small_book, trace=True).adjudicate(dict(request))
    assert orjson.dumps(a.to_dict()) == orjson.dumps(b.to_dict())


@settings(max_examples=300, deadline=None)
@given(st.one_of(junk(), st.dictionaries(st.sampled_from(sorted(FIELDS)), junk(), max_size=12)))
def test_bad_input_never_raises(engine: Engine, request: Any) -> None:
    r = engine.adjudicate(request)
    assert r.status.value in ("P", "R")
    if r.status.value == "R":
        assert r.rejects


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=200))
def test_bytes_never_raise(engine: Engine, data: bytes) -> None:
    assert engine.adjudicate(data).status.value in ("P", "R")
