"""B1/B2/B3, duplicates, carry-in, plan-year reset and portal queries on both stores."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest

from pbm_engine.accumulators import Totals
from pbm_engine.codes import Status
from pbm_engine.errors import UsageError
from pbm_engine.portal.views import Portal
from pbm_engine.processor import Processor
from pbm_engine.store.base import Store

from .claims import assert_consistent, claim, nonzero

D = dt.date
YEAR = D(2026, 1, 1)


def snapshot(store: Store) -> tuple[Any, ...]:
    return (nonzero(store.totals()),  # type: ignore[attr-defined]
            [(e.entry_id, e.key, e.reversed_on, e.delta, e.result) for e in store.entries()])


def test_b1_posts_member_and_family(processor: Processor, store: Store) -> None:
    r = processor.submit(claim(person="002", drug=1))
    assert r.status is Status.PAID and r.delta.deductible > 0
    state = store.state("SAMPLE-PPO-2026", YEAR, "PPO1001-002", "PPO1001")
    assert state.member == r.delta and state.family == r.delta
    [entry] = store.entries()
    assert entry.result == r and entry.active
    assert_consistent(store)


def test_duplicate_returns_original_and_counts_nothing(processor: Processor,
                                                       store: Store) -> None:
    first = processor.submit(claim(drug=1))
    before = snapshot(store)
    dup = processor.submit(claim(drug=1))
    assert dup.status is Status.DUPLICATE_OF_PAID and dup.delta.is_zero()
    assert dataclasses.replace(dup, status=first.status, messages=first.messages,
                               delta=first.delta) == first
    assert snapshot(store) == before


def test_reversal_restores_exactly(processor: Processor, store: Store) -> None:
    processor.submit(claim(drug=1))
    r = processor.submit(claim(tx="B2"))
    assert r.status is Status.APPROVED
    assert nonzero(store.totals()) == {}  # type: ignore[attr-defined]
    assert [e.reversed_on for e in store.entries()] == [D(2026, 2, 2)]
    assert list(store.fills("PPO1001-001", YEAR, D(2026, 12, 31))) == []
    assert_consistent(store)


def test_unknown_and_repeated_reversals_change_nothing(processor: Processor,
                                                       store: Store) -> None:
    processor.submit(claim(drug=1))
    before = snapshot(store)
    unknown = processor.submit(claim(tx="B2", rx="9999999"))
    assert unknown.status is Status.REJECTED and unknown.reject_codes == ("84",)
    assert snapshot(store) == before
    processor.submit(claim(tx="B2"))
    after_reversal = snapshot(store)
    again = processor.submit(claim(tx="B2"))
    assert again.status is Status.DUPLICATE_OF_APPROVED
    assert snapshot(store) == after_reversal


def test_rebill_replaces_the_original(processor: Processor, store: Store) -> None:
    processor.submit(claim(drug=1))
    new = processor.submit(claim(tx="B3", drug=1, quantity="30"))
    assert new.status is Status.PAID
    entries = list(store.entries())
    assert [e.active for e in entries] == [False, True]
    assert nonzero(store.totals()) == nonzero({  # type: ignore[attr-defined]
        ("SAMPLE-PPO-2026", YEAR, "M", "PPO1001-001"): new.delta,
        ("SAMPLE-PPO-2026", YEAR, "F", "PPO1001"): new.delta})
    assert_consistent(store)


def test_rejected_rebill_leaves_the_original_paid(processor: Processor, store: Store) -> None:
    processor.submit(claim(drug=1))
    before = snapshot(store)
    r = processor.submit(claim(tx="B3", ndc="99999999999"))
    assert r.status is Status.REJECTED and "54" in r.reject_codes
    assert snapshot(store) == before
    missing = processor.submit(claim(tx="B3", rx="8888888"))
    assert missing.reject_codes == ("84",)
    assert snapshot(store) == before


def test_rebilling_after_a_reversal_pays_again(processor: Processor, store: Store) -> None:
    processor.submit(claim(drug=1))
    processor.submit(claim(tx="B2"))
    again = processor.submit(claim(drug=1))
    assert again.status is Status.PAID
    assert [e.active for e in store.entries()] == [False, True]
    assert_consistent(store)


def test_bad_input_is_rejected_and_changes_nothing(processor: Processor, store: Store) -> None:
    processor.submit(claim(drug=1))
    before = snapshot(store)
    no_rx = claim(tx="B2")
    del no_rx["rx_number"]
    assert processor.submit(no_rx).reject_codes == ("16",)
    no_keys = {"transaction_code": "B2", "cardholder_id": "PPO1001"}
    codes = set(processor.submit(no_keys).reject_codes)
    assert {"05", "15", "16"} <= codes
    assert processor.submit(claim("NOBODY", rx="5")).reject_codes == ("52",)
    assert processor.submit(claim(person="009", rx="5")).reject_codes == ("53",)
    assert processor.submit(b"{not json").status is Status.REJECTED
    assert snapshot(store) == before


def test_plan_year_resets(processor: Processor, store: Store) -> None:
    december = processor.submit(claim(drug=1, day="2026-12-15", rx="1"))
    january = processor.submit(claim(drug=1, day="2027-01-05", rx="2"))
    assert december.plan_year == YEAR and january.plan_year == D(2027, 1, 1)
    assert january.deductible_applied == december.deductible_applied > 0
    assert store.state("SAMPLE-PPO-2026", D(2027, 1, 1), "PPO1001-001",
                       "PPO1001").member == january.delta
    processor.submit(claim(tx="B2", day="2026-12-15", rx="1"))
    assert nonzero(store.totals()) == {  # type: ignore[attr-defined]
        ("SAMPLE-PPO-2026", D(2027, 1, 1), "M", "PPO1001-001"): january.delta,
        ("SAMPLE-PPO-2026", D(2027, 1, 1), "F", "PPO1001"): january.delta}


def test_carry_in(processor: Processor, store: Store) -> None:
    amounts = Totals(deductible=25_000, oop=40_000)
    r = processor.carry_in("PPO1001-002", "PPO1001", "SAMPLE-PPO-2026", YEAR, amounts, "XFER-1")
    assert r.status is Status.APPROVED
    assert store.state("SAMPLE-PPO-2026", YEAR, "PPO1001-002", "PPO1001").member == amounts
    again = processor.carry_in("PPO1001-002", "PPO1001", "SAMPLE-PPO-2026", YEAR, amounts,
                               "XFER-1")
    assert again.status is Status.DUPLICATE_OF_APPROVED
    paid = processor.submit(claim(person="002", drug=1))
    assert paid.deductible_applied == 0  # the carried-in deductible is met
    assert_consistent(store)
    assert processor.reverse_carry_in("XFER-1", YEAR).status is Status.APPROVED
    assert processor.reverse_carry_in("XFER-1", YEAR).status is Status.DUPLICATE_OF_APPROVED
    assert processor.reverse_carry_in("NOPE", YEAR).reject_codes == ("84",)
    assert store.state("SAMPLE-PPO-2026", YEAR, "PPO1001-002", "PPO1001").member == paid.delta
    assert_consistent(store)
    # the carry-in is not a fill the edits could mistake for a drug
    assert all(f.therapy_key == "" or f.ndc for f in store.fills("PPO1001-002", YEAR, YEAR))


@pytest.mark.parametrize("args", [
    ("NOBODY-001", "NOBODY", "SAMPLE-PPO-2026", YEAR, Totals(1), "r"),
    ("PPO1001-002", "HSA2001", "SAMPLE-PPO-2026", YEAR, Totals(1), "r"),
    ("PPO1001-002", "PPO1001", "SAMPLE-PPO-2026", D(2026, 3, 1), Totals(1), "r"),
    ("PPO1001-002", "PPO1001", "SAMPLE-PPO-2026", YEAR, Totals(-1), "r"),
    ("PPO1001-002", "PPO1001", "SAMPLE-PPO-2026", YEAR, Totals(1), " "),
])
def test_carry_in_misuse(processor: Processor, store: Store, args: Any) -> None:
    with pytest.raises(UsageError):
        processor.carry_in(*args)
    assert list(store.entries()) == []


def test_portal_embedded_and_aggregate(processor: Processor, store: Store,
                                       sample_book: Any) -> None:
    portal = Portal(sample_book, store)
    ppo = processor.submit(claim(person="002", drug=1, day="2026-02-02"))
    hsa = processor.submit(claim("HSA2001", "001", drug=1, day="2026-02-03"))
    luis = portal.member("PPO1001-002")
    ana = portal.member(cardholder_id="PPO1001", person_code="1")
    s = portal.accumulators(luis, as_of=D(2026, 6, 30))
    assert s.deductible is not None and s.oop is not None
    assert s.deductible.member_met == ppo.delta.deductible
    assert s.deductible.member_remaining == 25_000 - ppo.delta.deductible
    assert s.deductible.family_remaining == 50_000 - ppo.delta.deductible
    assert s.oop.member_met == ppo.delta.oop
    # embedded: Ana's individual deductible is untouched by Luis's claim
    assert portal.accumulators(ana, as_of=D(2026, 6, 30)).deductible.member_remaining == 25_000
    # aggregate (HDHP): Mei's deductible shrinks by what Wei paid
    mei = portal.accumulators(portal.member("HSA2001-002"), as_of=D(2026, 6, 30))
    assert mei.deductible is not None
    assert mei.deductible.member_remaining == 340_000 - hsa.delta.deductible
    # as of a date before the claim: nothing met yet
    early = portal.accumulators(luis, as_of=D(2026, 2, 1))
    assert early.member.is_zero() and early.deductible.member_remaining == 25_000
    # history: the paid claim, then its reversal shows as reversed
    processor.submit(claim(tx="B2", person="002"))
    [item] = portal.history(luis)
    assert item.status == "reversed" and item.patient_pay == ppo.patient_pay
    assert portal.accumulators(luis, as_of=D(2026, 6, 30)).member.is_zero()
    with pytest.raises(UsageError):
        portal.member("NOBODY-001")


def test_group_commit_keeps_claims_atomic(processor: Processor, store: Store) -> None:
    with store.transaction():
        for i in range(5):
            assert processor.submit(claim(rx=str(100 + i), drug=i % 4)).paid
    assert len(list(store.entries())) == 5
    assert_consistent(store)
