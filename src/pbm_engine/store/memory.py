"""In-memory store: for tests, portal what-ifs and single-process batch runs."""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from pbm_engine.accumulators import ZERO, Fill, MemberState, Totals
from pbm_engine.claim import ClaimKey
from pbm_engine.store.base import LedgerEntry

__all__ = ["MemoryStore"]


class MemoryStore:
    """Accumulators and ledger in dictionaries.  ``transaction`` serializes writers with a lock
    (re-entrant, so a processor may nest reads inside its transaction)."""

    def __init__(self) -> None:
        self._totals: dict[tuple[str, dt.date, str, str], Totals] = {}
        self._entries: list[LedgerEntry] = []
        self._by_key: dict[ClaimKey, list[int]] = {}
        self._by_member: dict[str, list[int]] = {}
        self._by_date: dict[str, list[tuple[dt.date, int]]] = {}  # per member, sorted
        self._lock = threading.RLock()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self._lock:
            yield

    def close(self) -> None:
        """Nothing to release."""

    # accumulators
    def state(self, plan_id: str, year_start: dt.date, member_id: str, family_id: str
              ) -> MemberState:
        return MemberState(
            self._totals.get((plan_id, year_start, "M", member_id), ZERO),
            self._totals.get((plan_id, year_start, "F", family_id), ZERO),
        )

    def apply(self, plan_id: str, year_start: dt.date, member_id: str, family_id: str,
              delta: Totals) -> None:
        for key in ((plan_id, year_start, "M", member_id), (plan_id, year_start, "F", family_id)):
            self._totals[key] = self._totals.get(key, ZERO).plus(delta)

    def totals(self) -> dict[tuple[str, dt.date, str, str], Totals]:
        """A copy of every accumulator row (for tests and reports)."""
        return dict(self._totals)

    # ledger
    def fills(self, member_id: str, start: dt.date, end: dt.date) -> Iterable[Fill]:
        """Active dispensing events in the window (accumulator carry-ins are not fills)."""
        dated = self._by_date.get(member_id)
        if not dated:
            return []
        lo = bisect.bisect_left(dated, (start, -1))
        hi = bisect.bisect_right(dated, (end, len(self._entries)))
        out = []
        for _, i in sorted(dated[lo:hi], key=lambda pair: pair[1]):  # ledger order, as SQLite
            e = self._entries[i]
            if e.reversed_on is None and e.fill.ndc:
                out.append(e.fill)
        return out

    def active(self, key: ClaimKey) -> LedgerEntry | None:
        for i in reversed(self._by_key.get(key, ())):
            if self._entries[i].reversed_on is None:
                return self._entries[i]
        return None

    def latest(self, key: ClaimKey) -> LedgerEntry | None:
        ids = self._by_key.get(key)
        return self._entries[ids[-1]] if ids else None

    def record(self, entry: LedgerEntry) -> LedgerEntry:
        entry = LedgerEntry(len(self._entries) + 1, entry.key, entry.plan_id, entry.year_start,
                            entry.member_id, entry.family_id, entry.delta, entry.fill,
                            entry.result, entry.reversed_on)
        self._entries.append(entry)
        self._by_key.setdefault(entry.key, []).append(entry.entry_id - 1)
        self._by_member.setdefault(entry.member_id, []).append(entry.entry_id - 1)
        bisect.insort(self._by_date.setdefault(entry.member_id, []),
                      (entry.fill.date_of_service, entry.entry_id - 1))
        return entry

    def mark_reversed(self, entry_id: int, on: dt.date) -> None:
        e = self._entries[entry_id - 1]
        self._entries[entry_id - 1] = dataclasses.replace(e, reversed_on=on)

    def entries(self, member_id: str | None = None) -> Iterator[LedgerEntry]:
        if member_id is None:
            yield from self._entries
        else:
            yield from (self._entries[i] for i in self._by_member.get(member_id, ()))
