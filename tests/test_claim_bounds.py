"""NCPDP D.0 field bounds, enforced by the parser before any arithmetic: one test per bound.

Each out-of-range value is the field's M/I reject; nothing overflows, nothing takes long, and the
rejected result always serializes.
"""

from __future__ import annotations

import time

import orjson
import pytest

from pbm_engine.claim import MAX_MONEY, MAX_QUANTITY, echo_text, parse_claim
from pbm_engine.engine import Engine
from pbm_engine.money import fixed_point, to_cents
from tests.conftest import claim

MONEY_FIELDS = {"ingredient_cost": "23", "dispensing_fee": "DC", "usual_and_customary": "DQ",
                "gross_amount_due": "DU", "other_payer_amount": "DV"}


def codes(**fields: object) -> set[str]:
    return {i.code for i in parse_claim(claim(**fields)).issues}


@pytest.mark.parametrize(("field", "code"), MONEY_FIELDS.items())
def test_amounts_are_s9_6_v99(field: str, code: str) -> None:
    """409-D9, 412-DC, 426-DQ, 430-DU, 431-DV: at most 999,999.99."""
    assert codes(**{field: "999999.99"}) == set()
    assert codes(**{field: 99_999_999 // 100}) == set()
    for bad in ("1000000.00", "1000000", 1_000_000, "1e30", "1E5", "1e999999", "-1.00",
                "9" * 5000, "٣٠", "$12.34", "1,234.00", "0x10", "1_000", "nan", "12.345",
                "Infinity", True, [1], {"a": 1}, 1e17):
        assert codes(**{field: bad}) == {code}, bad
    assert MAX_MONEY == 99_999_999


def test_quantity_is_9_7_v999() -> None:
    """442-E7: more than zero, at most 9,999,999.999, three decimals."""
    assert codes(quantity="9999999.999") == set()
    assert parse_claim(claim(quantity="9999999.999")).claim.quantity == MAX_QUANTITY
    for bad in ("10000000", "0", "0.000", "-1", "1e999990", "1e999999", "0.0001", "３０", ""):
        assert codes(quantity=bad) == {"E7"}, bad


def test_days_supply_is_9_3() -> None:
    """405-D5: 1-999 days."""
    assert codes(days_supply=999) == set()
    for bad in (0, 1000, -1, 10**20, "1e3", "٣٠", "30.0", 30.5):
        assert codes(days_supply=bad) == {"19"}, bad


def test_fill_number_is_0_to_99() -> None:
    """403-D3."""
    assert codes(fill_number=99) == set()
    for bad in (100, -1, 10**20, "1" * 5000, "٣"):
        assert codes(fill_number=bad) == {"17"}, bad


def test_daw_is_one_digit() -> None:
    """408-D8."""
    for bad in (10, -1, 10**30, "x"):
        assert codes(daw=bad) == {"22"}, bad


@pytest.mark.parametrize(("field", "width", "code"), [
    ("cardholder_id", 20, "07"), ("rx_number", 12, "16"), ("pharmacy_id", 15, "05"),
    ("prescriber_id", 15, "25"), ("pa_number", 11, "EV"), ("person_code", 3, "08"),
])
def test_ids_and_text_at_their_field_widths(field: str, width: int, code: str) -> None:
    assert codes(**{field: "1" * width}) == set()
    assert codes(**{field: "1" * (width + 1)}) == {code}
    assert codes(**{field: 10 ** (width + 5)}) == {code}
    for bad in ("\ud800", "a\x00b", "\x1b[31m", "é"):
        assert codes(**{field: bad}) == {code}, bad


def test_dates_in_a_sane_range() -> None:
    """401-D1 / 304-C4: a date that cannot be a date of service is an M/I reject."""
    assert codes(date_of_service="1980-01-01") == set()
    assert codes(date_of_service="2099-12-31") == set()
    for bad in ("0001-01-01", "9999-12-31", "1979-12-31", "2100-01-01", "2026-02-30",
                "2026-W01-1", "+2026-01-01", "٢٠٢٦-٠١-٠١", 20260230, 10**30):
        assert codes(date_of_service=bad) == {"15"}, bad
    assert codes(date_of_birth="1849-12-31") == {"09"}
    assert codes(date_of_birth="0001-01-01") == {"09"}


def test_list_fields_are_bounded() -> None:
    """420-DK: at most three codes 0-99; 473-7E: at most nine DUR triples of 2-char codes."""
    assert codes(clarification_codes=[1, 2, 3, 4]) == {"34"}
    assert codes(clarification_codes=["1" * 5000]) == {"34"}
    triple = {"reason": "DD", "professional": "M0", "result": "1G"}
    assert codes(dur_overrides=[triple] * 10) == {"88"}
    assert codes(dur_overrides=[{**triple, "reason": "\ud800"}]) == {"88"}


def test_hostile_numbers_are_refused_before_conversion() -> None:
    """The issue's 38-61 s claims: exponent notation costs nothing now."""
    start = time.perf_counter()
    for field in ("quantity", "ingredient_cost"):
        for bad in ("1e999990", "1e999999", "9" * 60_000, "1" + "0" * 4400):
            assert parse_claim(claim(**{field: bad})).claim is None
    assert time.perf_counter() - start < 5  # generous: it takes microseconds


def test_money_module_refuses_huge_exponents() -> None:
    for bad in ("1e999999", "1e999990", "-1e999999", "1e-999999", "9" * 100):
        with pytest.raises(ValueError):
            to_cents(bad)
    with pytest.raises(ValueError):
        fixed_point("1e5", 2)
    assert fixed_point(" -12.340 ", 2) == -1234
    assert fixed_point(".5", 2) == 50


def test_rejected_results_always_serialize(engine: Engine) -> None:
    for value in ("\ud800", "\x00" * 50, "x" * 70_000, 10**20, {"a": [1]}):
        result = engine.adjudicate(claim(ndc=value, cardholder_id=value, rx_number=value,
                                         fill_number=value, pharmacy_id=value))
        assert result.status.value == "R"
        data = orjson.loads(orjson.dumps(result.to_dict()))
        assert len(data["cardholder_id"]) <= 20 and data["fill_number"] == 0


def test_echo_text_makes_anything_printable_ascii() -> None:
    assert echo_text("\ud800x") == "\\ud800x"
    assert echo_text("a\x00b") == "a\\x00b"
    assert echo_text("x" * 100, 20) == "x" * 20
    assert echo_text(10**100, 20) == "?"
    assert echo_text([1]) == ""
