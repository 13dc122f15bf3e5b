"""Money, NDC normalization and claim parsing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pbm_engine.claim import parse_claim
from pbm_engine.money import (
    apply_rate,
    div_round,
    extend_price,
    fmt,
    fmt_rate,
    to_cents,
    to_decimal,
    to_price,
    to_qty,
    to_rate,
)
from pbm_engine.ndc import NdcError, candidates, hyphenate, normalize
from tests.conftest import claim
from tests.strategies import claims as claims_strategy


def test_div_round_is_half_up_away_from_zero() -> None:
    assert [div_round(n, 2) for n in (1, 3, 5, -1, -3)] == [1, 2, 3, -1, -2]
    assert div_round(149, 100) == 1 and div_round(150, 100) == 2


@given(st.integers(-10**12, 10**12), st.integers(1, 10**6))
def test_div_round_matches_decimal_half_up(n: int, d: int) -> None:
    expected = (Decimal(n) / Decimal(d)).quantize(Decimal(1), rounding="ROUND_HALF_UP")
    assert div_round(n, d) == int(expected)


def test_parsing_money_is_exact_and_refuses_floats() -> None:
    assert to_cents("12.34") == 1234 and to_cents("$1,234.5") == 123450 and to_cents(7) == 700
    assert to_cents(Decimal("0.10")) == 10
    with pytest.raises(ValueError):
        to_cents("12.345")
    with pytest.raises(TypeError):
        to_cents(12.34)  # type: ignore[arg-type]
    assert to_price("0.02600") == 2600 and to_qty("2.5") == 2500 and to_rate("17.5") == 175000


@given(st.integers(-10**9, 10**9))
def test_fmt_round_trips(cents: int) -> None:
    assert to_cents(fmt(cents)) == cents
    assert to_decimal(cents) == Decimal(fmt(cents))


def test_price_extension_and_rates() -> None:
    assert extend_price(65861, 30_000) == 1976  # NADAC 0.65861 x 30 = 19.7583
    assert apply_rate(14100, 300_000) == 4230
    assert fmt_rate(175_000) == "17.5" and fmt_rate(250_000) == "25"


@pytest.mark.parametrize(("text", "ndc11"), [
    ("1234-5678-90", "01234567890"),
    ("12345-678-90", "12345067890"),
    ("12345-6789-0", "12345678900"),
    ("12345-6789-01", "12345678901"),
    ("00378410591", "00378410591"),
])
def test_ndc_forms(text: str, ndc11: str) -> None:
    assert normalize(text) == ndc11
    assert hyphenate(ndc11).replace("-", "") == ndc11


def test_bare_ten_digit_ndc_needs_a_known_list() -> None:
    assert len(candidates("0037841059")) == 3
    with pytest.raises(NdcError):
        normalize("0037841059")
    assert normalize("0037841059", {"00378041059"}) == "00378041059"
    for bad in ("12-34-56", "abc", "123", "1234-567-8901"):
        with pytest.raises(NdcError):
            normalize(bad)


def test_claim_parse_collects_every_problem() -> None:
    parsed = parse_claim(claim(quantity="0", days_supply="x", daw=15, ndc="12",
                               date_of_service="2026-13-01", usual_and_customary="-1"))
    codes = {i.code for i in parsed.issues}
    assert {"E7", "19", "22", "21", "15", "DQ"} <= codes
    assert parsed.claim is None


def test_claim_parse_accepts_d0_field_ids_and_formats() -> None:
    parsed = parse_claim({"302-C2": "F1", "C3": "1", "401-D1": "20260302", "D2": "55",
                          "407-D7": "00000-0000-01", "E7": "1.5", "D5": "30",
                          "B1": "1111111111", "DQ": 12})
    assert parsed.issues == []
    c = parsed.claim
    assert c is not None
    assert (c.person_code, c.quantity, c.usual_and_customary, str(c.date_of_service)) == (
        "001", 1500, 1200, "2026-03-02")


def test_reversal_needs_only_the_key() -> None:
    parsed = parse_claim({"transaction_code": "B2", "cardholder_id": "F1", "rx_number": "1",
                          "date_of_service": "2026-03-02", "pharmacy_id": "1"})
    assert parsed.issues == [] and parsed.claim is not None and parsed.claim.ndc == ""
    missing = parse_claim({"transaction_code": "B2", "cardholder_id": "F1"})
    assert {"16", "15", "05"} <= {i.code for i in missing.issues}


@given(st.fixed_dictionaries({}, optional={
    "transaction_code": st.sampled_from(["B1", "B3", "b1", "", "B2"]),
    "cardholder_id": st.sampled_from(["F1", " F1", "", "X" * 21, 7]),
    "person_code": st.sampled_from(["001", "1", "01", "1a", "٣", 2]),
    "gender": st.sampled_from(["M", "F", "U", "m", "", 1, "X"]),
    "date_of_service": st.sampled_from(["2026-03-02", "20260302", "2026-02-30", "", 5]),
    "rx_number": st.sampled_from(["1000001", "", "1" * 13]),
    "fill_number": st.sampled_from([0, 1, 99, 100, "1", -1, True]),
    "ndc": st.sampled_from(["00000000001", "0000000001", "00000-0000-01", "x"]),
    "quantity": st.sampled_from(["100", "1.5", "0", "-1", " 3", "1.2345", 30, 1.5]),
    "days_supply": st.sampled_from([30, 0, 999, 1000, "30", True]),
    "daw": st.sampled_from([0, 2, 9, 10, "1"]),
    "ingredient_cost": st.sampled_from(["2.00", "2", "2.001", "-1.00", "$2.00", 2]),
    "dispensing_fee": st.sampled_from(["0.50", "", "abc"]),
    "usual_and_customary": st.sampled_from(["3.00", "3.5", " 3.00", None]),
    "gross_amount_due": st.sampled_from(["2.50", "1,234.00"]),
    "pharmacy_id": st.sampled_from(["1111111111", "", "1" * 16]),
    "channel": st.sampled_from(["retail", "mail", "specialty", "Retail", "05", "x", ["x"]]),
    "prescriber_id": st.sampled_from(["1003000126", " 1", 5]),
    "pa_number": st.sampled_from(["PA1", "P" * 12]),
    "other_payer_amount": st.sampled_from(["25.00", "-1"]),
    "clarification_codes": st.sampled_from([[3], ["x"]]),
    "note": st.text(max_size=5),
}))
def test_fast_parse_agrees_with_the_full_reader(data: dict) -> None:
    """Whenever the straight-line fast path accepts a request, the full reader gives the same
    claim (and the full reader's answer is what parse_claim returns otherwise)."""
    from pbm_engine.claim import _fast_claim, _parse_fields

    fast = _fast_claim(data, None)
    slow = _parse_fields(data, None)
    if fast is not None:
        assert slow.issues == [] and slow.claim == fast
    assert parse_claim(data).claim == slow.claim


@given(claims_strategy())
def test_fast_parse_takes_clean_claims(data: dict) -> None:
    from pbm_engine.claim import _fast_claim, _parse_fields

    data = {k: v for k, v in data.items() if k != "clarification_codes"}
    fast = _fast_claim(data, None)
    assert fast is not None
    assert fast == _parse_fields(data, None).claim
