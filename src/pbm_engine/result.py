"""The adjudication result, modelled on the NCPDP D.0 response (status, pricing, rejects)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from pbm_engine.accumulators import ZERO, Totals
from pbm_engine.claim import Claim
from pbm_engine.codes import Status, Transaction, reject_description
from pbm_engine.money import QTY_SCALE, Cents, fmt, fmt_scaled

__all__ = [
    "Alternative",
    "ClaimResult",
    "DurResponse",
    "RejectInfo",
    "Share",
    "dedupe_rejects",
    "paid_result",
    "rejected",
]


@dataclass(frozen=True, slots=True)
class RejectInfo:
    """One reject: the 511-FB code and a readable message (526-FQ style)."""

    code: str
    message: str

    @property
    def description(self) -> str:
        """The code's standard description."""
        return reject_description(self.code)


@dataclass(frozen=True, slots=True)
class Alternative:
    """A preferred product offered with a reject (the 22 response segment)."""

    ndc: str
    name: str
    tier: int


@dataclass(frozen=True, slots=True)
class DurResponse:
    """A DUR/PPS response entry (24 segment): reason, previous fill date and quantity."""

    reason: str
    previous_fill_date: dt.date | None = None
    previous_quantity: int | None = None
    message: str = ""
    clinical_significance: str = ""


@dataclass(slots=True, eq=True)
class ClaimResult:
    """The answer to one transaction.  Money is integer cents; ``to_dict`` gives strings.

    Pricing fields (D.0 IDs): ``ingredient_cost_paid`` 506-F6, ``dispensing_fee_paid`` 507-F7,
    ``total_price`` F6 + F7 (the allowed amount), ``patient_pay`` 505-F5 (the member's whole
    responsibility, including any part the coupon covers), ``plan_pay`` 509-F9 (total amount
    paid), ``other_payer_paid`` the coupon applied to F5, ``member_paid`` F5 minus the coupon,
    ``deductible_applied`` 517-FH, ``copay_amount`` 518-FI, ``coinsurance_amount`` 572-4U,
    ``product_selection_amount`` 134-UK (brand penalty), ``exceeding_benefit_max`` 520-FK,
    ``accumulated_deductible`` 512-FC, ``remaining_deductible`` 513-FD,
    ``remaining_benefit`` 514-FE, ``remaining_oop``, ``basis`` 522-FM, ``next_fill_date`` BT.

    Balance, for every paid claim: ``member_paid + other_payer_paid + plan_pay == total_price``
    and ``patient_pay == deductible_applied + copay_amount + coinsurance_amount +
    product_selection_amount + exceeding_benefit_max``.

    Treat a result as immutable (derive changed copies with ``dataclasses.replace``).  It is the
    one value object not declared ``frozen``: a frozen dataclass sets each of its ~50 fields
    through ``object.__setattr__``, which cost 4 microseconds per claim, an eighth of the whole
    adjudication (measured in ``docs/performance.md``).
    """

    status: Status
    transaction: Transaction
    pharmacy_id: str = ""
    rx_number: str = ""
    fill_number: int = 0
    date_of_service: dt.date | None = None
    cardholder_id: str = ""
    person_code: str = ""
    member_id: str = ""
    family_id: str = ""
    plan_id: str = ""
    ndc: str = ""
    drug_name: str = ""
    tier: int | None = None
    rejects: tuple[RejectInfo, ...] = ()
    messages: tuple[str, ...] = ()
    ingredient_cost_paid: Cents = 0
    dispensing_fee_paid: Cents = 0
    total_price: Cents = 0
    patient_pay: Cents = 0
    plan_pay: Cents = 0
    other_payer_paid: Cents = 0
    member_paid: Cents = 0
    deductible_applied: Cents = 0
    copay_amount: Cents = 0
    coinsurance_amount: Cents = 0
    product_selection_amount: Cents = 0
    exceeding_benefit_max: Cents = 0
    accumulated_deductible: Cents | None = None
    remaining_deductible: Cents | None = None
    remaining_oop: Cents | None = None
    remaining_benefit: Cents | None = None
    basis: str = ""
    next_fill_date: dt.date | None = None
    alternatives: tuple[Alternative, ...] = ()
    dur: tuple[DurResponse, ...] = ()
    plan_year: dt.date | None = None
    delta: Totals = ZERO
    trace: tuple[str, ...] = ()
    part_d: Any = None  # the PDE record for Medicare Part D claims
    extra: Mapping[str, Any] | None = None

    @property
    def paid(self) -> bool:
        """Whether the claim was paid."""
        return self.status is Status.PAID

    @property
    def reject_codes(self) -> tuple[str, ...]:
        """The reject codes, in order."""
        return tuple(r.code for r in self.rejects)

    def with_status(self, status: Status) -> ClaimResult:
        """A copy with another status."""
        return replace(self, status=status)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data: money as strings ("12.34"), dates ISO, trace only when recorded."""
        out: dict[str, Any] = {
            "status": self.status.value,
            "transaction_code": self.transaction.value,
            "pharmacy_id": self.pharmacy_id,
            "rx_number": self.rx_number,
            "fill_number": self.fill_number,
            "date_of_service": _iso(self.date_of_service),
            "cardholder_id": self.cardholder_id,
            "person_code": self.person_code,
            "plan_id": self.plan_id,
            "ndc": self.ndc,
            "drug_name": self.drug_name,
            "tier": self.tier,
            "rejects": [{"code": r.code, "description": r.description, "message": r.message}
                        for r in self.rejects],
            "messages": list(self.messages),
        }
        if self.status in (Status.PAID, Status.DUPLICATE_OF_PAID):
            out.update({
                "ingredient_cost_paid": fmt(self.ingredient_cost_paid),
                "dispensing_fee_paid": fmt(self.dispensing_fee_paid),
                "total_price": fmt(self.total_price),
                "patient_pay": fmt(self.patient_pay),
                "plan_pay": fmt(self.plan_pay),
                "other_payer_paid": fmt(self.other_payer_paid),
                "member_paid": fmt(self.member_paid),
                "deductible_applied": fmt(self.deductible_applied),
                "copay_amount": fmt(self.copay_amount),
                "coinsurance_amount": fmt(self.coinsurance_amount),
                "product_selection_amount": fmt(self.product_selection_amount),
                "exceeding_benefit_max": fmt(self.exceeding_benefit_max),
                "accumulated_deductible": _opt(self.accumulated_deductible),
                "remaining_deductible": _opt(self.remaining_deductible),
                "remaining_oop": _opt(self.remaining_oop),
                "remaining_benefit": _opt(self.remaining_benefit),
                "basis_of_reimbursement": self.basis,
                "plan_year": _iso(self.plan_year),
                "accumulator_delta": {
                    "deductible": fmt(self.delta.deductible),
                    "oop": fmt(self.delta.oop),
                    "plan_paid": fmt(self.delta.plan_paid),
                    "troop": fmt(self.delta.troop),
                    "gross_drug_cost": fmt(self.delta.gross_drug_cost),
                },
            })
        if self.next_fill_date:
            out["next_fill_date"] = self.next_fill_date.isoformat()
        if self.alternatives:
            out["alternatives"] = [{"ndc": a.ndc, "name": a.name, "tier": a.tier}
                                   for a in self.alternatives]
        if self.dur:
            out["dur"] = [{"reason": d.reason, "previous_fill_date": _iso(d.previous_fill_date),
                           "previous_quantity": None if d.previous_quantity is None
                           else fmt_scaled(d.previous_quantity, QTY_SCALE),
                           "clinical_significance": d.clinical_significance,
                           "message": d.message} for d in self.dur]
        if self.part_d is not None:
            # a record read back from a store is already its dict (see store.codec)
            part_d = self.part_d
            out["part_d"] = part_d if isinstance(part_d, dict) else part_d.to_dict()
        if self.trace:
            out["trace"] = list(self.trace)
        if self.extra:
            out.update(self.extra)
        return out


@dataclass(slots=True)
class Share:
    """What a plan's benefit answers for a priced claim: the money fields of a paid result.

    Both benefit kinds (the commercial waterfall and Medicare Part D) return one; the engine
    turns it into a paid :class:`ClaimResult` with :func:`paid_result`.  Field meanings are those
    of :class:`ClaimResult`.
    """

    total_price: Cents
    patient_pay: Cents
    plan_pay: Cents
    other_payer_paid: Cents
    member_paid: Cents
    deductible_applied: Cents
    copay_amount: Cents
    coinsurance_amount: Cents
    plan_year: dt.date
    delta: Totals
    product_selection_amount: Cents = 0
    exceeding_benefit_max: Cents = 0
    accumulated_deductible: Cents | None = None
    remaining_deductible: Cents | None = None
    remaining_oop: Cents | None = None
    remaining_benefit: Cents | None = None
    part_d: Any = None
    extra: Mapping[str, Any] | None = None


def paid_result(claim: Claim, share: Share, *, member_id: str, family_id: str, plan_id: str,
                ndc: str, drug_name: str, tier: int, ingredient_cost_paid: Cents,
                dispensing_fee_paid: Cents, basis: str, trace: tuple[str, ...]) -> ClaimResult:
    """A paid result: the claim's identifying fields, the price paid and the benefit's share."""
    return ClaimResult(
        status=Status.PAID,
        transaction=claim.transaction,
        pharmacy_id=claim.pharmacy_id,
        rx_number=claim.rx_number,
        fill_number=claim.fill_number,
        date_of_service=claim.date_of_service,
        cardholder_id=claim.cardholder_id,
        person_code=claim.person_code,
        member_id=member_id,
        family_id=family_id,
        plan_id=plan_id,
        ndc=ndc,
        drug_name=drug_name,
        tier=tier,
        ingredient_cost_paid=ingredient_cost_paid,
        dispensing_fee_paid=dispensing_fee_paid,
        total_price=share.total_price,
        patient_pay=share.patient_pay,
        plan_pay=share.plan_pay,
        other_payer_paid=share.other_payer_paid,
        member_paid=share.member_paid,
        deductible_applied=share.deductible_applied,
        copay_amount=share.copay_amount,
        coinsurance_amount=share.coinsurance_amount,
        product_selection_amount=share.product_selection_amount,
        exceeding_benefit_max=share.exceeding_benefit_max,
        accumulated_deductible=share.accumulated_deductible,
        remaining_deductible=share.remaining_deductible,
        remaining_oop=share.remaining_oop,
        remaining_benefit=share.remaining_benefit,
        basis=basis,
        plan_year=share.plan_year,
        delta=share.delta,
        trace=trace,
        part_d=share.part_d,
        extra=share.extra,
    )


def rejected(claim: Claim, rejects: Sequence[tuple[str, str]], *, member_id: str = "",
             family_id: str = "", plan_id: str = "", drug_name: str = "",
             tier: int | None = None, alternatives: tuple[Alternative, ...] = (),
             next_fill: dt.date | None = None, dur: tuple[DurResponse, ...] = ()
             ) -> ClaimResult:
    """A rejected result for a parsed claim: every ``(code, message)`` found, one per code."""
    return ClaimResult(
        status=Status.REJECTED,
        transaction=claim.transaction,
        pharmacy_id=claim.pharmacy_id,
        rx_number=claim.rx_number,
        fill_number=claim.fill_number,
        date_of_service=claim.date_of_service,
        cardholder_id=claim.cardholder_id,
        person_code=claim.person_code,
        member_id=member_id,
        family_id=family_id,
        plan_id=plan_id,
        ndc=claim.ndc,
        drug_name=drug_name,
        tier=tier,
        rejects=dedupe_rejects(rejects),
        alternatives=alternatives,
        next_fill_date=next_fill,
        dur=dur,
    )


def dedupe_rejects(rejects: Sequence[tuple[str, str]]) -> tuple[RejectInfo, ...]:
    """One :class:`RejectInfo` per code, in first-seen order; repeated messages are joined."""
    seen: dict[str, RejectInfo] = {}
    for code, message in rejects:
        if code in seen:
            seen[code] = RejectInfo(code, f"{seen[code].message}; {message}")
        else:
            seen[code] = RejectInfo(str(code), message)
    return tuple(seen.values())


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


def _opt(cents: Cents | None) -> str | None:
    return None if cents is None else fmt(cents)
