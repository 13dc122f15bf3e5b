"""The impact of a plan change: the same claims through two books, side by side.

Each book gets its own claim store, so deductibles, out-of-pocket and history evolve under each
design exactly as they would in production; then every claim's two answers are compared.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pbm_engine.book import Book
from pbm_engine.engine import Engine
from pbm_engine.processor import Processor
from pbm_engine.result import ClaimResult
from pbm_engine.store.memory import MemoryStore

__all__ = ["ClaimChange", "Impact", "compare", "differences"]

_MONEY = ("total_price", "patient_pay", "plan_pay", "member_paid", "deductible_applied",
          "copay_amount", "coinsurance_amount", "product_selection_amount")


@dataclass(frozen=True, slots=True)
class ClaimChange:
    """One claim whose answer differs: both results and the names of what changed."""

    index: int
    before: ClaimResult
    after: ClaimResult
    changed: tuple[str, ...]

    @property
    def patient_pay_delta(self) -> int:
        return _paid_amount(self.after, "patient_pay") - _paid_amount(self.before, "patient_pay")


@dataclass(slots=True)
class Impact:
    """Totals under each book and the claims whose answers changed."""

    claims: int = 0
    status_before: Counter[str] = field(default_factory=Counter)
    status_after: Counter[str] = field(default_factory=Counter)
    totals_before: dict[str, int] = field(default_factory=lambda: dict.fromkeys(_MONEY, 0))
    totals_after: dict[str, int] = field(default_factory=lambda: dict.fromkeys(_MONEY, 0))
    changes: list[ClaimChange] = field(default_factory=list)

    @property
    def newly_rejected(self) -> int:
        return sum(1 for c in self.changes if c.before.paid and not c.after.paid)

    @property
    def newly_paid(self) -> int:
        return sum(1 for c in self.changes if c.after.paid and not c.before.paid)


def _paid_amount(result: ClaimResult, name: str) -> int:
    return int(getattr(result, name)) if result.paid else 0


def differences(before: ClaimResult, after: ClaimResult) -> tuple[str, ...]:
    """What differs between two answers to the same claim: status, rejects, money of paid
    claims."""
    out = []
    if before.status is not after.status:
        out.append("status")
    if before.reject_codes != after.reject_codes:
        out.append("rejects")
    out.extend(name for name in _MONEY
               if _paid_amount(before, name) != _paid_amount(after, name))
    return tuple(out)


def compare(before: Book, after: Book, requests: Iterable[Any], *,
            as_of: dt.date | None = None) -> Impact:
    """Run ``requests`` in order through both books (each with a fresh store) and compare."""
    first = Processor(Engine(before), MemoryStore())
    second = Processor(Engine(after), MemoryStore())
    impact = Impact()
    for index, request in enumerate(requests, start=1):
        a = first.submit(request, as_of=as_of)
        b = second.submit(request, as_of=as_of)
        impact.claims += 1
        impact.status_before[a.status.value] += 1
        impact.status_after[b.status.value] += 1
        for name in _MONEY:
            impact.totals_before[name] += _paid_amount(a, name)
            impact.totals_after[name] += _paid_amount(b, name)
        changed = differences(a, b)
        if changed:
            impact.changes.append(ClaimChange(index, a, b, changed))
    return impact
