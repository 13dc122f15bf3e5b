"""Claims over the bundled sample book that pay (shared by the store tests and their workers)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pbm_engine.accumulators import Totals
from pbm_engine.processor import recompute_totals
from pbm_engine.store.base import Store

PHARMACY = "1234567893"
# (ndc, quantity, days supply, usual and customary): each pays for the sample members below.
DRUGS = (
    ("00378410591", "30", 30, "200.00"),   # abacavir, generic
    ("61269060510", "60", 30, "400.00"),   # Klonopin, brand: into the deductible
    ("00245531801", "30", 30, None),       # Klor-Con, tier 2 (no quantity limit)
    ("00088222033", "10", 30, None),       # Lantus, insulin
)
PPO_FAMILY = ("001", "002", "003", "004")
MEMBERS = (("PPO1001", "001"), ("PPO1001", "002"), ("HSA2001", "001"), ("HSA2001", "002"),
           ("PPO1004", "001"), ("HSA2002", "001"))


def claim(cardholder: str = "PPO1001", person: str = "001", *, rx: str = "9000001",
          fill: int = 0, day: str | dt.date = "2026-02-02", drug: int = 0,
          tx: str = "B1", **overrides: Any) -> dict[str, Any]:
    """A billing (or rebill/reversal) request for one of :data:`DRUGS`; SCC 3 (vacation supply)
    bypasses refill-too-soon so any number of fills pay."""
    ndc, qty, days, uc = DRUGS[drug]
    out: dict[str, Any] = {
        "transaction_code": tx, "cardholder_id": cardholder, "person_code": person,
        "date_of_service": day if isinstance(day, str) else day.isoformat(),
        "rx_number": rx, "fill_number": fill, "pharmacy_id": PHARMACY,
    }
    if tx != "B2":
        out.update({"ndc": ndc, "quantity": qty, "days_supply": days, "daw": 0,
                    "channel": "retail", "clarification_codes": [3]})
        if uc is not None:
            out["usual_and_customary"] = uc
    out.update(overrides)
    return out


def nonzero(totals: dict[Any, Totals]) -> dict[Any, Totals]:
    return {k: v for k, v in totals.items() if not v.is_zero()}


def assert_consistent(store: Store) -> None:
    """Accumulators equal a recomputation from the surviving ledger entries."""
    held = nonzero(store.totals())  # type: ignore[attr-defined]
    assert held == recompute_totals(store.entries())
