"""In-memory store: for tests, portal what-ifs and single-process batch runs.

Member and prior-authorization writes inside a transaction are undone if the transaction
fails (so an eligibility import is never half-applied); claim writes need no undo because the
processor computes everything before it writes.
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager

from pbm_engine.accumulators import ZERO, Fill, MemberState, Totals
from pbm_engine.claim import ClaimKey
from pbm_engine.eligibility.members import Member, PriorAuth
from pbm_engine.formulary.model import Drug
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
        self._by_family: dict[str, list[int]] = {}
        self._members: dict[tuple[str, str], Member] = {}
        self._member_ids: dict[str, tuple[str, str]] = {}
        self._families: dict[str, set[tuple[str, str]]] = {}
        self._cardholders: dict[str, set[str]] = {}
        self._pas: dict[str, dict[str, PriorAuth]] = {}
        self._undo: list[Callable[[], None]] | None = None
        self._lock = threading.RLock()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self._lock:
            if self._undo is not None:  # nested: the outer block owns the undo log
                yield
                return
            self._undo = []
            try:
                yield
            except BaseException:
                log, self._undo = self._undo, None
                for undo in reversed(log):
                    undo()
                raise
            finally:
                self._undo = None

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
        self._by_family.setdefault(entry.family_id, []).append(entry.entry_id - 1)
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

    def family_activity_after(self, plan_id: str, year_start: dt.date, family_id: str,
                              after: dt.date) -> dict[str, Totals]:
        out: dict[str, Totals] = {}
        for i in self._by_family.get(family_id, ()):
            e = self._entries[i]
            if (e.reversed_on is None and e.plan_id == plan_id and e.year_start == year_start
                    and e.key.date_of_service > after):
                out[e.member_id] = out.get(e.member_id, ZERO).plus(e.delta)
        return out

    # members (the store's eligibility)
    def get(self, cardholder_id: str, person_code: str) -> Member | None:
        return self._members.get((cardholder_id, person_code))

    def has_cardholder(self, cardholder_id: str) -> bool:
        return cardholder_id in self._cardholders

    def member_by_id(self, member_id: str) -> Member | None:
        key = self._member_ids.get(member_id)
        return None if key is None else self._members[key]

    def family(self, family_id: str) -> list[Member]:
        return sorted((self._members[k] for k in self._families.get(family_id, ())),
                      key=lambda m: m.person_code)

    def members_of_cardholder(self, cardholder_id: str) -> list[Member]:
        return [self._members[(cardholder_id, p)]
                for p in sorted(self._cardholders.get(cardholder_id, ()))]

    def family_coverage(self, member: Member) -> bool:
        return len(self._families.get(member.family_id, ())) > 1

    def find_prior_auth(self, member: Member, drug: Drug, day: dt.date,
                        number: str | None = None) -> PriorAuth | None:
        for pa in self._pas.get(member.member_id, {}).values():
            if pa.covers(drug, day) and (number is None or pa.number == number):
                return pa
        return None

    def has_members(self) -> bool:
        return bool(self._members)

    def member_count(self) -> int:
        return len(self._members)

    def members_by_key(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Member]:
        return {k: self._members[k] for k in keys if k in self._members}

    def member_id_owners(self, member_ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        return {i: self._member_ids[i] for i in member_ids if i in self._member_ids}

    def put_members(self, members: Iterable[Member]) -> None:
        with self._lock:
            for member in members:
                self._put_member(member)

    def _put_member(self, member: Member | None, key: tuple[str, str] | None = None) -> None:
        """Set (or with ``member`` None, remove) the member at a key; logs the undo."""
        if key is None:
            assert member is not None
            key = (member.cardholder_id, member.person_code)
        old = self._members.get(key)
        if old is not None:
            del self._member_ids[old.member_id]
            self._families[old.family_id].discard(key)
            if not self._families[old.family_id]:
                del self._families[old.family_id]
            self._cardholders[key[0]].discard(key[1])
            if not self._cardholders[key[0]]:
                del self._cardholders[key[0]]
            del self._members[key]
        if member is not None:
            self._members[key] = member
            self._member_ids[member.member_id] = key
            self._families.setdefault(member.family_id, set()).add(key)
            self._cardholders.setdefault(key[0], set()).add(key[1])
        if self._undo is not None:
            self._undo.append(lambda: self._put_member(old, key))

    def clear_members(self) -> None:
        with self._lock:
            for key in list(self._members):
                self._put_member(None, key)

    def put_prior_auths(self, pas: Iterable[PriorAuth]) -> None:
        with self._lock:
            for pa in pas:
                self._put_pa(pa.member_id, pa.number, pa)

    def _put_pa(self, member_id: str, number: str, pa: PriorAuth | None) -> bool:
        mine = self._pas.setdefault(member_id, {})
        old = mine.pop(number, None)
        if pa is not None:
            mine[number] = pa
        if self._undo is not None:
            self._undo.append(lambda: self._restore_pa(member_id, number, old))
        return old is not None

    def _restore_pa(self, member_id: str, number: str, pa: PriorAuth | None) -> None:
        self._put_pa(member_id, number, pa)

    def delete_prior_auths(self, keys: Iterable[tuple[str, str]]) -> int:
        with self._lock:
            return sum(self._put_pa(member_id, number, None) for member_id, number in keys)

    def prior_auths_of(self, member_id: str) -> list[PriorAuth]:
        return list(self._pas.get(member_id, {}).values())
