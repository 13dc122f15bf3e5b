"""Edits that read history: quantity limits across fills and DUR (reject 88)."""

from __future__ import annotations

import datetime as dt

from pbm_engine.accumulators import Fill, StaticHistory
from pbm_engine.engine import Engine
from tests.conftest import claim

GENERIC_A = Fill("F1-001", dt.date(2026, 2, 20), "00000000001", "TE:A",
                 frozenset({"CLASS:A", "CLASS:A-GENERIC"}), 100_000, 30, "77", 0, "1111111111")


def limited(day: str, qty: int) -> Fill:
    return Fill("F1-001", dt.date.fromisoformat(day), "00000000006", "00000000006", frozenset(),
                qty * 1000, 10, "88", 0, "1111111111")


def test_quantity_limit_counts_earlier_fills_in_the_window(engine: Engine) -> None:
    history = StaticHistory((limited("2026-02-10", 20),))
    r = engine.adjudicate(claim(ndc="00000000006", quantity="15", days_supply=10),
                          history=history)
    assert r.reject_codes == ("76",)
    assert "already filled" in r.rejects[0].message
    ok = engine.adjudicate(claim(ndc="00000000006", quantity="10", days_supply=10,
                                 clarification_codes=[3]), history=history)
    assert ok.paid
    later = StaticHistory((limited("2026-01-30", 20),))  # outside the 30-day window
    assert engine.adjudicate(claim(ndc="00000000006", quantity="15", days_supply=10),
                             history=later).paid


def test_therapeutic_duplication_rejects_88_with_dur_fields(engine: Engine) -> None:
    r = engine.adjudicate(claim(ndc="00000000005", quantity="30"),
                          history=StaticHistory((GENERIC_A,)))
    assert "88" in r.reject_codes
    assert r.dur[0].reason == "TD" and r.dur[0].previous_fill_date == dt.date(2026, 2, 20)
    assert r.to_dict()["dur"][0]["previous_quantity"] == "100.000"


def test_dur_override_with_result_code(engine: Engine) -> None:
    request = claim(ndc="00000000005", quantity="30",
                    dur_overrides=[{"reason": "TD", "professional": "M0", "result": "1G"}])
    r = engine.adjudicate(request, history=StaticHistory((GENERIC_A,)))
    assert r.paid, r.rejects
    wrong = claim(ndc="00000000005", quantity="30",
                  dur_overrides=[{"reason": "DD", "professional": "M0", "result": "1G"}])
    assert "88" in engine.adjudicate(wrong, history=StaticHistory((GENERIC_A,))).reject_codes


def test_drug_drug_interaction(engine: Engine) -> None:
    r = engine.adjudicate(claim(ndc="00000000006", quantity="10", days_supply=10),
                          history=StaticHistory((GENERIC_A,)))
    assert r.reject_codes == ("88",)
    assert r.dur[0].reason == "DD" and r.dur[0].clinical_significance == "1"
    assert "serotonin" in r.rejects[0].message


def test_supply_no_longer_on_hand_is_no_conflict(engine: Engine) -> None:
    r = engine.adjudicate(claim(ndc="00000000006", quantity="10", days_supply=10,
                                date_of_service="2026-03-25"),
                          history=StaticHistory((GENERIC_A,)))
    assert r.paid
