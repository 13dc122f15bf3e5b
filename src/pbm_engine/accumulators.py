"""Accumulator amounts, the member state a claim is adjudicated against, and fill history.

Every amount is integer cents.  A claim's effect on accumulators is one :class:`Totals` delta,
applied to the member's row and to the family's row for the plan year; a reversal applies the
negated delta, so reversals restore state exactly.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from pbm_engine.money import Cents

__all__ = [
    "EMPTY",
    "ZERO",
    "AccumulatorView",
    "Fill",
    "HistoryView",
    "MemberState",
    "StaticHistory",
    "Totals",
]


@dataclass(frozen=True, slots=True)
class Totals:
    """Year-to-date amounts: deductible met, out-of-pocket met, plan paid (benefit maximum),
    and for Medicare Part D the TrOOP and gross covered drug cost accumulators."""

    deductible: Cents = 0
    oop: Cents = 0
    plan_paid: Cents = 0
    troop: Cents = 0
    gross_drug_cost: Cents = 0

    def plus(self, other: Totals) -> Totals:
        return Totals(
            self.deductible + other.deductible,
            self.oop + other.oop,
            self.plan_paid + other.plan_paid,
            self.troop + other.troop,
            self.gross_drug_cost + other.gross_drug_cost,
        )

    def negated(self) -> Totals:
        return Totals(-self.deductible, -self.oop, -self.plan_paid, -self.troop,
                      -self.gross_drug_cost)

    def is_zero(self) -> bool:
        return not (self.deductible or self.oop or self.plan_paid or self.troop
                    or self.gross_drug_cost)


ZERO = Totals()
"""No amounts: the delta of a claim that accumulates nothing."""


@dataclass(frozen=True, slots=True)
class MemberState:
    """What the member and the whole family have accumulated in the plan year before a claim."""

    member: Totals = ZERO
    family: Totals = ZERO


@dataclass(frozen=True, slots=True)
class Fill:
    """A paid fill, as edits that read history (refill too soon, step therapy, DUR) see it."""

    member_id: str
    date_of_service: dt.date
    ndc: str
    therapy_key: str
    groups: frozenset[str]
    quantity: int
    days_supply: int
    rx_number: str = ""
    fill_number: int = 0
    pharmacy_id: str = ""


class AccumulatorView(Protocol):
    """Read side of an accumulator store: the state a claim is adjudicated against."""

    def state(self, plan_id: str, year_start: dt.date, member_id: str, family_id: str
              ) -> MemberState: ...


class HistoryView(Protocol):
    """Read side of a claim ledger: the member's paid fills in a date window (inclusive)."""

    def fills(self, member_id: str, start: dt.date, end: dt.date) -> Iterable[Fill]: ...


class HistoryWindow:
    """A member's fills in one date window, read once from a :class:`HistoryView` on first use
    and shared by every edit of a claim.  A read outside the window (another member, other
    dates) goes to the underlying view."""

    __slots__ = ("_fills", "end", "member_id", "start", "view")

    def __init__(self, view: HistoryView, member_id: str, start: dt.date, end: dt.date) -> None:
        self.view = view
        self.member_id = member_id
        self.start = start
        self.end = end
        self._fills: tuple[Fill, ...] | None = None

    def fills(self, member_id: str, start: dt.date, end: dt.date) -> Iterable[Fill]:
        if member_id != self.member_id or start < self.start or end > self.end:
            return self.view.fills(member_id, start, end)
        got = self._fills
        if got is None:
            got = self._fills = tuple(self.view.fills(member_id, self.start, self.end))
        if start == self.start and end == self.end:
            return got
        return [f for f in got if start <= f.date_of_service <= end]


class _Empty:
    def state(self, plan_id: str, year_start: dt.date, member_id: str, family_id: str
              ) -> MemberState:
        return MemberState()

    def fills(self, member_id: str, start: dt.date, end: dt.date) -> Iterable[Fill]:
        return ()


EMPTY = _Empty()
"""No accumulators and no history: a fresh member (also right for a what-if estimate)."""


@dataclass(frozen=True, slots=True)
class StaticHistory:
    """History supplied by the caller as a list of fills (tests, portal what-ifs)."""

    items: tuple[Fill, ...]

    def fills(self, member_id: str, start: dt.date, end: dt.date) -> Iterable[Fill]:
        return [f for f in self.items
                if f.member_id == member_id and start <= f.date_of_service <= end]
