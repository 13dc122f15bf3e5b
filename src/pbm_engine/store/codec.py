"""Exact JSON for stored results: :func:`result_to_dict` and :func:`result_from_dict`.

The stored form is :meth:`ClaimResult.to_dict` (money as strings) completed with what that
response view leaves out: the member and family ids, the pricing block for statuses other than
P/D, and the previous quantity of DUR entries.  ``result_from_dict(result_to_dict(r)) == r`` for
every result whose ``part_d`` is None; a ``part_d`` record comes back as its opaque dict.  Keys
that are not part of the response are returned in ``extra`` (None when there are none; they
must not collide with response keys).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import orjson

from pbm_engine.accumulators import Totals
from pbm_engine.codes import Status, Transaction
from pbm_engine.eligibility.members import CoveragePeriod
from pbm_engine.errors import StoreError
from pbm_engine.money import QTY_SCALE, Cents, fmt, fmt_scaled, to_cents, to_qty
from pbm_engine.result import Alternative, ClaimResult, DurResponse, RejectInfo

__all__ = [
    "dumps",
    "loads",
    "result_from_dict",
    "result_to_dict",
    "totals_from_dict",
    "totals_to_dict",
]

MONEY_FIELDS = (
    "ingredient_cost_paid", "dispensing_fee_paid", "total_price", "patient_pay", "plan_pay",
    "other_payer_paid", "member_paid", "deductible_applied", "copay_amount",
    "coinsurance_amount", "product_selection_amount", "exceeding_benefit_max",
)
OPTIONAL_MONEY_FIELDS = (
    "accumulated_deductible", "remaining_deductible", "remaining_oop", "remaining_benefit",
)
TOTALS_FIELDS = ("deductible", "oop", "plan_paid", "troop", "gross_drug_cost")
_TEXT_FIELDS = ("pharmacy_id", "rx_number", "cardholder_id", "person_code", "member_id",
                "family_id", "plan_id", "ndc", "drug_name")
_KNOWN = frozenset({
    "status", "transaction_code", "fill_number", "date_of_service", "tier", "rejects",
    "messages", "basis_of_reimbursement", "plan_year", "accumulator_delta", "next_fill_date",
    "alternatives", "dur", "part_d", "trace", *_TEXT_FIELDS, *MONEY_FIELDS,
    *OPTIONAL_MONEY_FIELDS,
})


def result_to_dict(result: ClaimResult) -> dict[str, Any]:
    """The complete, JSON-ready form of a result (a superset of ``to_dict``)."""
    out = result.to_dict()
    out["member_id"] = result.member_id
    out["family_id"] = result.family_id
    for name in MONEY_FIELDS:
        out.setdefault(name, fmt(getattr(result, name)))
    for name in OPTIONAL_MONEY_FIELDS:
        out.setdefault(name, _opt_money(getattr(result, name)))
    out.setdefault("basis_of_reimbursement", result.basis)
    out.setdefault("plan_year", _iso(result.plan_year))
    out.setdefault("accumulator_delta", totals_to_dict(result.delta))
    if result.dur:
        out["dur"] = [{"reason": d.reason, "previous_fill_date": _iso(d.previous_fill_date),
                       "previous_quantity": None if d.previous_quantity is None
                       else fmt_scaled(d.previous_quantity, QTY_SCALE),
                       "clinical_significance": d.clinical_significance,
                       "message": d.message} for d in result.dur]
    return out


def result_from_dict(data: Mapping[str, Any]) -> ClaimResult:
    """Rebuild a :class:`ClaimResult` from :func:`result_to_dict` (or plain ``to_dict``) data."""
    get = data.get
    money: dict[str, Any] = {name: to_cents(get(name) or "0") for name in MONEY_FIELDS}
    for name in OPTIONAL_MONEY_FIELDS:
        money[name] = _cents_or_none(get(name))
    delta = get("accumulator_delta")
    text: dict[str, Any] = {name: get(name) or "" for name in _TEXT_FIELDS}
    return ClaimResult(
        status=Status(data["status"]),
        transaction=Transaction(data["transaction_code"]),
        **text,
        fill_number=int(get("fill_number") or 0),
        date_of_service=_date(get("date_of_service")),
        tier=get("tier"),
        rejects=tuple(RejectInfo(r["code"], r["message"]) for r in get("rejects") or ()),
        messages=tuple(get("messages") or ()),
        **money,
        basis=get("basis_of_reimbursement") or "",
        next_fill_date=_date(get("next_fill_date")),
        alternatives=tuple(Alternative(a["ndc"], a["name"], a["tier"])
                           for a in get("alternatives") or ()),
        dur=tuple(DurResponse(
            d["reason"], _date(d.get("previous_fill_date")),
            None if d.get("previous_quantity") is None else to_qty(d["previous_quantity"]),
            d.get("message") or "", d.get("clinical_significance") or "")
            for d in get("dur") or ()),
        plan_year=_date(get("plan_year")),
        delta=totals_from_dict(delta) if delta else Totals(),
        trace=tuple(get("trace") or ()),
        part_d=get("part_d"),
        extra={k: v for k, v in data.items() if k not in _KNOWN} or None,
    )


def dumps(result: ClaimResult) -> bytes:
    """The stored JSON text of a result."""
    return orjson.dumps(result_to_dict(result))


def loads(text: str | bytes) -> ClaimResult:
    """A result from its stored JSON text; a damaged text raises :class:`StoreError`."""
    try:
        return result_from_dict(orjson.loads(text))
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise StoreError(f"a stored claim result is damaged: {exc}") from None


def totals_to_dict(totals: Totals) -> dict[str, str]:
    """Accumulator totals as dollar strings by field name."""
    return {name: fmt(getattr(totals, name)) for name in TOTALS_FIELDS}


def totals_from_dict(data: Mapping[str, Any]) -> Totals:
    """Accumulator totals from :func:`totals_to_dict` data (missing fields are 0)."""
    return Totals(*(to_cents(data.get(name) or "0") for name in TOTALS_FIELDS))


def _opt_money(cents: Cents | None) -> str | None:
    return None if cents is None else fmt(cents)


def _cents_or_none(value: Any) -> Cents | None:
    return None if value is None else to_cents(value)


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


def _date(value: Any) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


# -- members ----------------------------------------------------------------------------------

def coverage_dumps(periods: tuple[CoveragePeriod, ...]) -> str:
    """The stored text of a member's coverage periods: a JSON list of
    ``[start, end or null, terminated 0/1, plan id]``."""
    return orjson.dumps([[p.start.isoformat(), _iso(p.end), int(p.terminated), p.plan_id]
                         for p in periods]).decode()


def coverage_loads(text: str | bytes) -> tuple[CoveragePeriod, ...]:
    """Coverage periods from :func:`coverage_dumps` text; damage raises :class:`StoreError`."""
    try:
        return tuple(CoveragePeriod(dt.date.fromisoformat(s), _date(e), bool(t), plan)
                     for s, e, t, plan in orjson.loads(text))
    except (orjson.JSONDecodeError, TypeError, ValueError) as exc:
        raise StoreError(f"stored coverage periods are damaged: {exc}") from None
