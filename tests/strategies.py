"""Hypothesis strategies for claims on the small test book."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

MEMBERS = [("F1", "001"), ("F1", "002"), ("F1", "003"), ("G1", "001"), ("G1", "002"),
           ("G2", "001")]
NDCS = ["00000000001", "00000000002", "00000000003", "00000000004", "00000000005",
        "00000000006", "00000000008", "00000000011", "00000000012"]


@st.composite
def claims(draw: st.DrawFn, rx: int | None = None) -> dict[str, Any]:
    """A plausible claim: any member, drug, quantity, days supply, DAW, channel, coupon."""
    cardholder, person = draw(st.sampled_from(MEMBERS))
    channel = draw(st.sampled_from(["retail", "retail", "mail", "specialty"]))
    out: dict[str, Any] = {
        "cardholder_id": cardholder,
        "person_code": person,
        "date_of_service": f"2026-{draw(st.integers(1, 12)):02d}-{draw(st.integers(1, 28)):02d}",
        "rx_number": str(rx if rx is not None else draw(st.integers(1, 10**6))),
        "fill_number": draw(st.integers(0, 3)),
        "ndc": draw(st.sampled_from(NDCS)),
        "quantity": str(draw(st.integers(1, 400))),
        "days_supply": draw(st.sampled_from([7, 28, 30, 60, 90])),
        "daw": draw(st.sampled_from([0, 0, 0, 1, 2, 5, 9])),
        "pharmacy_id": "1111111111",
        "channel": channel,
        "clarification_codes": [3],  # keep refill-too-soon out of the way of the money checks
    }
    if draw(st.booleans()):
        out["other_payer_amount"] = f"{draw(st.integers(0, 60000)) / 100:.2f}"
    if draw(st.booleans()):
        out["usual_and_customary"] = f"{draw(st.integers(100, 500000)) / 100:.2f}"
    return out


def junk() -> st.SearchStrategy[Any]:
    """Arbitrary JSON-like values, for requests that must never raise."""
    leaves = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(
        max_size=20)
    return st.recursive(leaves, lambda inner: st.lists(inner, max_size=4)
                        | st.dictionaries(st.text(max_size=12), inner, max_size=6),
                        max_leaves=20)
