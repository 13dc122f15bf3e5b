"""The small store interfaces the claim lifecycle needs.

:class:`AccumulatorStore` keeps year-to-date totals per member and per family; :class:`ClaimLedger`
keeps every billed claim with its accumulator delta; :class:`MemberStore` keeps members, their
coverage and prior authorizations (an :class:`~pbm_engine.eligibility.members.Eligibility`) as
imported from eligibility files.  A :class:`Store` is all three, plus ``transaction()``:
everything done inside one ``with store.transaction():`` block is atomic and isolated from other
writers (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: a transaction with row-level advisory locks;
memory: a lock).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

from pbm_engine.accumulators import Fill, MemberState, Totals
from pbm_engine.claim import ClaimKey
from pbm_engine.eligibility.members import Eligibility, Member, PriorAuth
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

    def family_activity_after(self, plan_id: str, year_start: dt.date, family_id: str,
                              after: dt.date) -> dict[str, Totals]:
        """Per member, the sum of the deltas of the family's active entries of a plan year
        dated after ``after`` (what "as of" a date leaves out); members without any omitted."""
        ...


class MemberStore(Eligibility, Protocol):
    """Members (with their coverage periods) and prior authorizations held by a store.

    Writes are upserts keyed by (cardholder ID, person code) and (member id, PA number); the
    importers in :mod:`pbm_engine.store.eligibility` run them inside one transaction per file.
    """

    def has_members(self) -> bool:
        """Whether the store holds any member (then it, not the book, is the eligibility)."""
        ...

    def member_count(self) -> int: ...

    def members_of_cardholder(self, cardholder_id: str) -> list[Member]:
        """Every member with this cardholder ID, by person code."""
        ...

    def members_by_key(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Member]:
        """The stored members among ``(cardholder ID, person code)`` keys."""
        ...

    def member_id_owners(self, member_ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        """For member ids in use, the (cardholder ID, person code) that has each."""
        ...

    def put_members(self, members: Iterable[Member]) -> None:
        """Insert or replace members (coverage periods included) by key."""
        ...

    def clear_members(self) -> None:
        """Remove every member (prior authorizations stay)."""
        ...

    def put_prior_auths(self, pas: Iterable[PriorAuth]) -> None:
        """Insert or replace prior authorizations by (member id, PA number)."""
        ...

    def delete_prior_auths(self, keys: Iterable[tuple[str, str]]) -> int:
        """Remove prior authorizations by (member id, PA number); how many were removed."""
        ...

    def prior_auths_of(self, member_id: str) -> list[PriorAuth]: ...


class Store(AccumulatorStore, ClaimLedger, MemberStore, Protocol):
    """Accumulators, ledger and members with atomic transactions."""

    def transaction(self) -> AbstractContextManager[None]: ...

    def close(self) -> None: ...
