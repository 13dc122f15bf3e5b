"""The two small store interfaces the claim lifecycle needs.

:class:`AccumulatorStore` keeps year-to-date totals per member and per family; :class:`ClaimLedger`
keeps every billed claim with its accumulator delta.  A :class:`Store` is both, plus
``transaction()``: everything done inside one ``with store.transaction():`` block is atomic and
isolated from other writers (SQLite: ``BEGIN IMMEDIATE``; memory: a lock).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

from pbm_engine.accumulators import Fill, MemberState, Totals
from pbm_engine.claim import ClaimKey
from pbm_engine.result import ClaimResult

__all__ = ["AccumulatorStore", "ClaimLedger", "LedgerEntry", "Store"]


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One billed claim in the ledger.  ``reversed_on`` is set once it has been reversed."""

    entry_id: int
    key: ClaimKey
    plan_id: str
    year_start: dt.date
    member_id: str
    family_id: str
    delta: Totals
    fill: Fill
    result: ClaimResult
    reversed_on: dt.date | None = None

    @property
    def active(self) -> bool:
        return self.reversed_on is None


class AccumulatorStore(Protocol):
    """Year-to-date accumulators per member and family."""

    def state(self, plan_id: str, year_start: dt.date, member_id: str, family_id: str
              ) -> MemberState: ...

    def apply(self, plan_id: str, year_start: dt.date, member_id: str, family_id: str,
              delta: Totals) -> None: ...


class ClaimLedger(Protocol):
    """Billed claims, their deltas, and the fill history edits read."""

    def fills(self, member_id: str, start: dt.date, end: dt.date) -> Iterable[Fill]: ...

    def active(self, key: ClaimKey) -> LedgerEntry | None: ...

    def latest(self, key: ClaimKey) -> LedgerEntry | None: ...

    def record(self, entry: LedgerEntry) -> LedgerEntry: ...

    def mark_reversed(self, entry_id: int, on: dt.date) -> None: ...

    def entries(self, member_id: str | None = None) -> Iterator[LedgerEntry]: ...


class Store(AccumulatorStore, ClaimLedger, Protocol):
    """Accumulators and ledger with atomic transactions."""

    def transaction(self) -> AbstractContextManager[None]: ...

    def close(self) -> None: ...
