"""Member portal queries: what is met and what is left, and claim history.  Read-only.

Works on any :class:`~pbm_engine.store.base.Store` (memory, SQLite, PostgreSQL).  "Met as of a
date" is what the accumulator rows hold less the family's surviving entries of that plan year
dated after it (one indexed query, never a scan of other years), i.e. the sum of the surviving
ledger entries of the plan year with a date of service on or before that date (a carry-in
counts from the first day of the plan year); with no date given it is what the accumulator rows
hold now.  What is left follows the plan's rules through
:func:`pbm_engine.costshare.remaining`: embedded limits stop at the individual or the family
amount, whichever comes first; aggregate limits at the family amount (and any per-person cap).
"""

from __future__ import annotations

import datetime as dt
from contextlib import AbstractContextManager
from dataclasses import dataclass

from pbm_engine.accumulators import Totals
from pbm_engine.benefit.costshare import remaining
from pbm_engine.benefit.plan import Limit, Plan
from pbm_engine.book import Book
from pbm_engine.eligibility.members import Eligibility, Member
from pbm_engine.errors import UsageError
from pbm_engine.money import Cents
from pbm_engine.processor import is_carry_in
from pbm_engine.store.base import Store


@dataclass(frozen=True, slots=True)
class LimitStatus:
    """One deductible or OOP maximum for one member.

    ``member_remaining`` is what this member can still be charged toward the limit (the plan's
    embedded/aggregate rule applied); ``family_remaining`` is what is left of the family
    amount (None on self-only coverage or without a family amount).
    """

    individual_limit: Cents
    family_limit: Cents | None
    embedded: bool
    member_met: Cents
    family_met: Cents
    member_remaining: Cents
    family_remaining: Cents | None

    @property
    def met(self) -> bool:
        return self.member_remaining == 0


@dataclass(frozen=True, slots=True)
class AccumulatorSummary:
    """A member's accumulators for the plan year containing ``as_of``."""

    member_id: str
    family_id: str
    plan_id: str
    plan_year: dt.date
    as_of: dt.date | None
    family_coverage: bool
    member: Totals
    family: Totals
    deductible: LimitStatus | None
    oop: LimitStatus | None


@dataclass(frozen=True, slots=True)
class HistoryItem:
    """One ledger entry as a member sees it (``kind``: ``claim`` or ``carry-in``)."""

    entry_id: int
    kind: str
    member_id: str
    date_of_service: dt.date
    pharmacy_id: str
    rx_number: str
    fill_number: int
    ndc: str
    drug_name: str
    patient_pay: Cents
    plan_pay: Cents
    delta: Totals
    reversed_on: dt.date | None

    @property
    def status(self) -> str:
        return "reversed" if self.reversed_on else "paid"


class Portal:
    """Read-only member queries over a book and a store.  Members come from the store when it
    holds any (an imported eligibility file), else from the book; every lookup is by index."""

    def __init__(self, book: Book, store: Store) -> None:
        self.book = book
        self.store = store
        self.members: Eligibility = store if store.has_members() else book.registry

    def member(self, member_id: str | None = None, *, cardholder_id: str | None = None,
               person_code: str = "001") -> Member:
        """Find a member by member id (``PPO1001-002``) or cardholder id and person code."""
        registry = self.members
        if member_id is not None:
            found = registry.member_by_id(member_id)
        elif cardholder_id is not None:
            found = registry.get(cardholder_id, person_code.zfill(3))
        else:
            raise UsageError("give a member id or a cardholder id")
        if found is None:
            raise UsageError(f"member {member_id or f'{cardholder_id}-{person_code}'} "
                             "is not on file")
        return found

    def family(self, member: Member) -> list[Member]:
        """Everyone in the member's family, by person code."""
        return self.members.family(member.family_id)

    def accumulators(self, member: Member, as_of: dt.date | None = None,
                     plan_year_of: dt.date | None = None) -> AccumulatorSummary:
        """Met and left of the deductible and OOP maximum, individual and family.

        ``as_of`` picks the plan year and counts entries dated on or before it;
        ``plan_year_of`` (without ``as_of``) picks the plan year and counts everything posted.
        """
        plan = self._plan(member)
        day = as_of or plan_year_of
        if day is None:
            raise UsageError("give a date (as_of or plan_year_of)")
        year = plan.year_of(day)
        store = self.store
        with _snapshot(store):
            state = store.state(plan.plan_id, year, member.member_id, member.family_id)
            mine, family = state.member, state.family
            if as_of is not None:
                later = store.family_activity_after(plan.plan_id, year, member.family_id, as_of)
                for member_id, delta in later.items():
                    family = family.plus(delta.negated())
                    if member_id == member.member_id:
                        mine = mine.plus(delta.negated())
        covered = self.members.family_coverage(member)
        return AccumulatorSummary(
            member_id=member.member_id, family_id=member.family_id, plan_id=plan.plan_id,
            plan_year=year, as_of=as_of, family_coverage=covered, member=mine, family=family,
            deductible=_status(plan.deductible, mine.deductible, family.deductible, covered),
            oop=_status(plan.oop_max, mine.oop, family.oop, covered),
        )

    def history(self, member: Member, start: dt.date | None = None,
                end: dt.date | None = None) -> list[HistoryItem]:
        """The member's ledger entries (paid, reversed and carry-ins), oldest first."""
        out = []
        for e in self.store.entries(member.member_id):
            day = e.key.date_of_service
            if (start and day < start) or (end and day > end):
                continue
            r = e.result
            out.append(HistoryItem(
                entry_id=e.entry_id, kind="carry-in" if is_carry_in(e) else "claim",
                member_id=e.member_id, date_of_service=day, pharmacy_id=e.key.pharmacy_id,
                rx_number=e.key.rx_number, fill_number=e.key.fill_number, ndc=r.ndc,
                drug_name=r.drug_name, patient_pay=r.patient_pay, plan_pay=r.plan_pay,
                delta=e.delta, reversed_on=e.reversed_on))
        return out

    def _plan(self, member: Member) -> Plan:
        plan = self.book.plans.get(member.plan_id)
        if plan is None:
            raise UsageError(f"member {member.member_id}: plan {member.plan_id} is not a "
                             "commercial plan")
        return plan


def _snapshot(store: Store) -> AbstractContextManager[None]:
    """A consistent read: a read-only snapshot where the store offers one, else its lock."""
    snapshot = getattr(store, "snapshot", None)
    return snapshot() if snapshot is not None else store.transaction()


def _status(limit: Limit | None, member_met: Cents, family_met: Cents, family_coverage: bool
            ) -> LimitStatus | None:
    if limit is None:
        return None
    family_left = None
    if family_coverage and limit.family is not None:
        family_left = max(0, limit.family - family_met)
    left = remaining(limit, member_met, family_met, family_coverage)
    assert left is not None
    return LimitStatus(
        individual_limit=limit.individual, family_limit=limit.family, embedded=limit.embedded,
        member_met=member_met, family_met=family_met, member_remaining=left,
        family_remaining=family_left)


__all__ = ["AccumulatorSummary", "HistoryItem", "LimitStatus", "Portal"]
