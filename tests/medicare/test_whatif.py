"""``price_fill``: one what-if Part D fill from Python."""

from __future__ import annotations

from decimal import Decimal

import pytest

from pbm_engine import price_fill
from pbm_engine.errors import UsageError
from pbm_engine.medicare import LisLevel


def test_year_and_cost_in_dollars_or_cents_agree() -> None:
    dollars = price_fill(2021, ndc="59467067901", cost="10000.00")
    cents = price_fill("DS-2021", ndc="59467067901", cost=1_000_000, in_cents=True)
    decimal = price_fill(2021, ndc="59467067901", cost=Decimal("10000"))
    assert dollars.split == cents.split == decimal.split
    assert (dollars.patient_pay, dollars.deductible_applied, dollars.price_won) == (
        275_107, 44_500, "submitted")
    dollars.pde.check()
    assert dollars.to_dict()["pde"]["troop_accumulator_after"] == "6550.00"


def test_contract_price_wins_when_lower_and_both_are_reported() -> None:
    fill = price_fill(2026, ndc="00002751001", quantity="10", cost="10000")
    assert fill.price_won == "contract"
    assert (fill.contract_price, fill.submitted_price) == (23_033, 1_000_000)
    assert fill.split.gross_drug_cost == 23_033
    assert any("contract wins" in line for line in fill.trace)
    low = price_fill(2026, ndc="00002751001", quantity="10", cost="100.00")
    assert (low.price_won, low.split.gross_drug_cost) == ("submitted", 10_000)


def test_accumulators_and_lis() -> None:
    fill = price_fill(2026, ndc="00002751001", quantity="10", troop="100", gross="400",
                      lis="full")
    assert fill.lis is LisLevel.FULL and fill.deductible_applied == 0
    assert fill.split.troop_before == 10_000 and fill.split.gross_before == 40_000
    assert fill.patient_pay <= 3_500  # the insulin cap and the LIS copay


@pytest.mark.parametrize("kwargs, message", [
    ({"plan": "XYZ", "ndc": "00002751001", "quantity": "10"}, "unknown Part D plan"),
    ({"plan": 2026, "ndc": "99999999999", "quantity": "10"}, "not on the formulary"),
    ({"plan": 2021, "ndc": "59467067901", "quantity": "2"}, "no price"),
    ({"plan": 2026, "ndc": "00002751001", "cost": 12.5, "in_cents": True}, "whole number"),
    ({"plan": 2026, "ndc": "00002751001", "cost": "-1"}, "negative"),
    ({"plan": 2026, "ndc": "00002751001", "cost": "1", "lis": "gold"}, "not recognised"),
    ({"plan": 2026, "ndc": "00002751001", "cost": "1", "channel": "drone"}, "channel"),
])
def test_bad_input_is_a_usage_error_naming_it(kwargs: dict, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(UsageError, match=message):
        price_fill(**kwargs)
