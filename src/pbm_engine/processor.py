"""The claim lifecycle on a store: B1 billing, B2 reversal, B3 rebill, duplicates.

* **B1**: a claim whose key (pharmacy, Rx number, fill number, date of service) is already paid
  gets the original response back with status ``D`` and counts nothing twice.  Otherwise it is
  adjudicated against the store's accumulators and history; a paid claim is recorded and its
  delta applied in the same transaction.
* **B2**: matched by key; the stored delta is subtracted exactly (never recomputed from current
  rules) and the entry marked reversed.  An unknown claim is rejected ``84``; repeating a
  reversal answers ``S`` (duplicate of approved) and changes nothing.
* **B3**: reversal and billing in one transaction.  The new claim is adjudicated against the
  state as it would be without the original; if it rejects, nothing changes and the original
  stays paid.
* **Carry-in** (:meth:`Processor.carry_in`): accumulators brought from a prior plan (a mid-year
  transfer) are posted as their own ledger entry, keyed by a reference, so they are audited,
  counted once and reversible (:meth:`Processor.reverse_carry_in`) like a claim.

:func:`recompute_totals` rebuilds every accumulator row from the surviving ledger entries (the
audit the tests run: it must equal what the store holds).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from pbm_engine.accumulators import ZERO, Fill, MemberState, Totals
from pbm_engine.claim import Claim, ClaimKey, echo_text
from pbm_engine.codes import Reject, Status, Transaction
from pbm_engine.engine import Engine
from pbm_engine.errors import StoreError, UsageError
from pbm_engine.result import ClaimResult, RejectInfo
from pbm_engine.store.base import LedgerEntry, Store

__all__ = ["CARRY_IN_PHARMACY", "Processor", "carry_in_key", "is_carry_in", "recompute_totals"]

CARRY_IN_PHARMACY = "~accumulator-carry-in"
"""The pharmacy id of carry-in ledger entries: longer than 201-B1 allows, so no claim has it."""


class _Without:
    """A view of the store as if one ledger entry had never been billed (for B3)."""

    def __init__(self, store: Store, entry: LedgerEntry) -> None:
        self.store = store
        self.entry = entry

    def state(self, plan_id: str, year_start: dt.date, member_id: str, family_id: str
              ) -> MemberState:
        s = self.store.state(plan_id, year_start, member_id, family_id)
        e = self.entry
        if (plan_id, year_start) != (e.plan_id, e.year_start):
            return s
        minus = e.delta.negated()
        member = s.member.plus(minus) if member_id == e.member_id else s.member
        family = s.family.plus(minus) if family_id == e.family_id else s.family
        return MemberState(member, family)

    def fills(self, member_id: str, start: dt.date, end: dt.date) -> Iterable[Fill]:
        return [f for f in self.store.fills(member_id, start, end) if f != self.entry.fill]


class Processor:
    """Runs transactions through an :class:`Engine` against a :class:`Store`.

    When the store holds members (an imported eligibility file) the engine reads members and
    prior authorizations from the store; otherwise from its book.  That is decided when the
    processor is made.
    """

    def __init__(self, engine: Engine, store: Store) -> None:
        self.engine = engine.with_members(store) if store.has_members() else engine
        self.store = store

    def submit(self, request: Claim | Mapping[str, Any] | str | bytes, *,
               as_of: dt.date | None = None, trace: bool | None = None) -> ClaimResult:
        """Process one B1, B2 or B3 transaction; never raises for bad input.

        An unexpected error inside one claim (a bug, not bad input) does not stop a run: the
        claim's transaction is rolled back (nothing of it is stored) and the answer is a reject
        ``99`` (host processing error) naming the claim's key and the error type, never member
        data.  A :class:`~pbm_engine.errors.StoreError` (the store itself failing) and
        :class:`~pbm_engine.errors.UsageError` still raise: no later claim could succeed.
        """
        try:
            return self._submit(request, as_of, trace)
        except (StoreError, UsageError):
            raise
        except Exception as exc:  # one claim's failure must not stop a run
            return internal_error(request, exc)

    def _submit(self, request: Claim | Mapping[str, Any] | str | bytes,
                as_of: dt.date | None, trace: bool | None) -> ClaimResult:
        if isinstance(request, Claim):
            claim = request
        else:
            parsed = self.engine.parse(request)
            if isinstance(parsed, ClaimResult):
                return parsed
            claim = parsed
        if claim.transaction is Transaction.REVERSAL:
            return self._reverse(claim, as_of)
        if claim.transaction is Transaction.REBILL:
            return self._rebill(claim, as_of, trace)
        return self._bill(claim, as_of, trace)

    def submit_many(self, requests: Iterable[Claim | Mapping[str, Any] | str | bytes], *,
                    as_of: dt.date | None = None, trace: bool | None = None,
                    commit_every: int = 1) -> Iterator[ClaimResult]:
        """Process a stream of transactions in order, yielding each result.

        ``commit_every`` > 1 groups that many claims into one store transaction (group commit):
        each claim stays all-or-nothing (a savepoint), but durability is paid once per group, so
        a crash loses at most the claims of the open group, none of them half-applied.  Use it
        for batch runs; leave it at 1 at the point of sale.
        """
        if commit_every <= 1:
            for request in requests:
                yield self.submit(request, as_of=as_of, trace=trace)
            return
        batch: list[Claim | Mapping[str, Any] | str | bytes] = []
        for request in requests:
            batch.append(request)
            if len(batch) >= commit_every:
                yield from self._group(batch, as_of, trace)
                batch = []
        if batch:
            yield from self._group(batch, as_of, trace)

    def _group(self, batch: list[Claim | Mapping[str, Any] | str | bytes],
               as_of: dt.date | None, trace: bool | None) -> list[ClaimResult]:
        with self.store.transaction():
            return [self.submit(request, as_of=as_of, trace=trace) for request in batch]

    def _bill(self, claim: Claim, as_of: dt.date | None, trace: bool | None) -> ClaimResult:
        store = self.store
        with store.transaction():
            existing = store.active(claim.key)
            if existing is not None:
                return dataclasses.replace(
                    existing.result, status=Status.DUPLICATE_OF_PAID,
                    messages=(*existing.result.messages, "duplicate of a paid claim"),
                    delta=Totals())
            result = self.engine.adjudicate(claim, accumulators=store, history=store,
                                            as_of=as_of, trace=trace)
            if result.paid:
                self._post(claim, result)
            return result

    def _reverse(self, claim: Claim, as_of: dt.date | None) -> ClaimResult:
        store = self.store
        with store.transaction():
            entry = store.active(claim.key)
            if entry is None:
                if store.latest(claim.key) is not None:
                    return _answer(claim, Status.DUPLICATE_OF_APPROVED,
                                   "the claim was already reversed")
                return _answer(claim, Status.REJECTED, "", (RejectInfo(
                    Reject.CLAIM_NOT_PAID, "no paid claim matches pharmacy, Rx number, fill "
                    "number and date of service"),))
            store.apply(entry.plan_id, entry.year_start, entry.member_id, entry.family_id,
                        entry.delta.negated())
            store.mark_reversed(entry.entry_id, as_of or claim.date_of_service)
            result = _answer(claim, Status.APPROVED, "reversal accepted")
            return dataclasses.replace(result, member_id=entry.member_id,
                                       plan_id=entry.plan_id, ndc=entry.result.ndc,
                                       delta=entry.delta.negated())

    def _rebill(self, claim: Claim, as_of: dt.date | None, trace: bool | None) -> ClaimResult:
        store = self.store
        with store.transaction():
            entry = store.active(claim.key)
            if entry is None:
                return _answer(claim, Status.REJECTED, "", (RejectInfo(
                    Reject.CLAIM_NOT_PAID, "a rebill needs a paid claim with the same key"),))
            view = _Without(store, entry)
            result = self.engine.adjudicate(claim, accumulators=view, history=view,
                                            as_of=as_of, trace=trace)
            if not result.paid:
                return result
            store.apply(entry.plan_id, entry.year_start, entry.member_id, entry.family_id,
                        entry.delta.negated())
            store.mark_reversed(entry.entry_id, as_of or claim.date_of_service)
            self._post(claim, result)
            return result

    def carry_in(self, member_id: str, family_id: str, plan_id: str, year_start: dt.date,
                 amounts: Totals, reference: str) -> ClaimResult:
        """Post accumulators carried in from a prior plan for the plan year ``year_start``.

        One ledger entry keyed by ``reference`` (and the plan year), applied to the member's
        and the family's rows in one transaction.  Answers ``A``; repeating an active
        reference answers ``S`` and changes nothing (reverse it first to correct it).  Raises
        :class:`UsageError` for an unknown member, a member/family/plan mismatch, a date that
        is not a plan-year start, a negative amount or an empty reference.
        """
        member = self.engine.members.member_by_id(member_id)
        if member is None:
            raise UsageError(f"carry-in: member {member_id} is not on file")
        if (member.family_id, member.plan_id) != (family_id, plan_id):
            raise UsageError(f"carry-in: member {member_id} is in family {member.family_id} on "
                             f"plan {member.plan_id}, not {family_id} on {plan_id}")
        plan = self.engine.book.plans.get(plan_id)
        if plan is None:
            raise UsageError(f"carry-in: {plan_id} is not a commercial plan")
        if plan.year_of(year_start) != year_start:
            raise UsageError(f"carry-in: {year_start} is not a plan-year start of {plan_id}")
        if min(amounts.deductible, amounts.oop, amounts.plan_paid, amounts.troop,
               amounts.gross_drug_cost) < 0:
            raise UsageError("carry-in: amounts must not be negative")
        if not reference.strip():
            raise UsageError("carry-in: a reference is required")
        key = carry_in_key(reference, year_start)
        store = self.store
        with store.transaction():
            existing = store.active(key)
            if existing is not None:
                return dataclasses.replace(
                    existing.result, status=Status.DUPLICATE_OF_APPROVED, delta=ZERO,
                    messages=(*existing.result.messages, "carry-in already posted"))
            result = ClaimResult(
                status=Status.APPROVED, transaction=Transaction.BILLING,
                pharmacy_id=key.pharmacy_id, rx_number=reference, date_of_service=year_start,
                cardholder_id=member.cardholder_id, person_code=member.person_code,
                member_id=member_id, family_id=family_id, plan_id=plan_id,
                messages=("accumulators carried in from a prior plan",), plan_year=year_start,
                delta=amounts)
            store.apply(plan_id, year_start, member_id, family_id, amounts)
            store.record(LedgerEntry(
                entry_id=0, key=key, plan_id=plan_id, year_start=year_start,
                member_id=member_id, family_id=family_id, delta=amounts,
                fill=Fill(member_id, year_start, "", "", frozenset(), 0, 0, reference, 0,
                          key.pharmacy_id),
                result=result))
            return result

    def reverse_carry_in(self, reference: str, year_start: dt.date,
                         on: dt.date | None = None) -> ClaimResult:
        """Undo a carry-in exactly: ``A``; already reversed ``S``; never posted ``R``/84."""
        key = carry_in_key(reference, year_start)
        store = self.store
        with store.transaction():
            entry = store.active(key)
            answer = ClaimResult(status=Status.APPROVED, transaction=Transaction.REVERSAL,
                                 pharmacy_id=key.pharmacy_id, rx_number=reference,
                                 date_of_service=year_start)
            if entry is None:
                if store.latest(key) is not None:
                    return dataclasses.replace(answer, status=Status.DUPLICATE_OF_APPROVED,
                                               messages=("the carry-in was already reversed",))
                return dataclasses.replace(answer, status=Status.REJECTED, rejects=(RejectInfo(
                    Reject.CLAIM_NOT_PAID, f"no carry-in {reference!r} for {year_start}"),))
            store.apply(entry.plan_id, entry.year_start, entry.member_id, entry.family_id,
                        entry.delta.negated())
            store.mark_reversed(entry.entry_id, on or year_start)
            return dataclasses.replace(
                answer, member_id=entry.member_id, family_id=entry.family_id,
                plan_id=entry.plan_id, delta=entry.delta.negated(),
                messages=("carry-in reversed",))

    def _post(self, claim: Claim, result: ClaimResult) -> None:
        assert result.plan_year is not None
        store = self.store
        store.apply(result.plan_id, result.plan_year, result.member_id, result.family_id,
                    result.delta)
        store.record(LedgerEntry(
            entry_id=0, key=claim.key, plan_id=result.plan_id, year_start=result.plan_year,
            member_id=result.member_id, family_id=result.family_id, delta=result.delta,
            fill=self.engine.fill_for(claim, result), result=result))


def _answer(claim: Claim, status: Status, message: str,
            rejects: tuple[RejectInfo, ...] = ()) -> ClaimResult:
    return ClaimResult(
        status=status, transaction=claim.transaction, pharmacy_id=claim.pharmacy_id,
        rx_number=claim.rx_number, fill_number=claim.fill_number,
        date_of_service=claim.date_of_service, cardholder_id=claim.cardholder_id,
        person_code=claim.person_code, ndc=claim.ndc, rejects=rejects,
        messages=(message,) if message else ())


def internal_error(request: object, exc: BaseException) -> ClaimResult:
    """The reject ``99`` answer for a claim the engine failed on unexpectedly.

    It echoes the claim's key (pharmacy, Rx number, fill number, date of service) when the
    request was readable, and the error's type only: messages can hold member data.
    """
    claim = request if isinstance(request, Claim) else None
    message = f"internal error ({type(exc).__name__}); nothing was recorded for this claim"
    rejects = (RejectInfo(Reject.HOST_PROCESSING_ERROR, message),)
    if claim is not None:
        return _answer(claim, Status.REJECTED, "", rejects)
    raw = request if isinstance(request, Mapping) else {}
    key = {k: echo_text(raw.get(k), w) for k, w in (("pharmacy_id", 15), ("rx_number", 12))}
    fill = raw.get("fill_number")
    return ClaimResult(status=Status.REJECTED, transaction=Transaction.BILLING,
                       pharmacy_id=key["pharmacy_id"], rx_number=key["rx_number"],
                       fill_number=fill if type(fill) is int and 0 <= fill <= 99 else 0,
                       rejects=rejects)


def carry_in_key(reference: str, year_start: dt.date) -> ClaimKey:
    """The ledger key of a carry-in."""
    return ClaimKey(CARRY_IN_PHARMACY, reference, 0, year_start)


def is_carry_in(entry: LedgerEntry) -> bool:
    """Whether a ledger entry is a carried-in accumulator record rather than a claim."""
    return entry.key.pharmacy_id == CARRY_IN_PHARMACY


def recompute_totals(entries: Iterable[LedgerEntry]
                     ) -> dict[tuple[str, dt.date, str, str], Totals]:
    """Accumulator rows rebuilt from the surviving (not reversed) entries; zero rows dropped.

    Keys are ``(plan_id, year_start, "M" or "F", member or family id)`` as in
    ``MemoryStore.totals``.
    """
    out: dict[tuple[str, dt.date, str, str], Totals] = {}
    for e in entries:
        if e.reversed_on is None:
            for key in ((e.plan_id, e.year_start, "M", e.member_id),
                        (e.plan_id, e.year_start, "F", e.family_id)):
                out[key] = out.get(key, ZERO).plus(e.delta)
    return {k: v for k, v in out.items() if not v.is_zero()}
