"""Member views beyond accumulators: refills due and statements (JSON and printable HTML).

* :func:`refills_due` -- each prescription's last fill and its next eligible fill date (the
  plan's refill threshold applied to the days supply, the rule the refill-too-soon edit uses).
* :func:`part_d_eob` -- the monthly Medicare Part D Explanation of Benefits with the content of
  the CMS model EOB: the month's claims, month and year-to-date totals (total drug cost, what
  the member paid, what the plan paid, other payments and manufacturer discounts), the payment
  stage at month end and how far it is to the next, TrOOP and total drug cost year to date.
* :func:`claim_statement` -- a commercial member's claims in a period with what each cost, what
  the plan paid and what the member paid (deductible, copay, coinsurance, brand penalty), and
  the deductible and out-of-pocket maximum met and left.

Read-only over any store; every value in the HTML is escaped.
"""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass
from typing import Any

from pbm_engine.book import Book
from pbm_engine.eligibility.members import Member
from pbm_engine.errors import UsageError
from pbm_engine.money import RATE_SCALE, Cents, fmt, to_cents
from pbm_engine.portal.estimate import PHASE_NAMES
from pbm_engine.portal.views import Portal
from pbm_engine.processor import is_carry_in
from pbm_engine.store.base import LedgerEntry, Store

RECENT_DAYS = 120
"""A prescription counts as active while its last fill ran out at most this many days ago."""


@dataclass(frozen=True, slots=True)
class RefillDue:
    """One prescription: its last fill and when the next one may be filled."""

    rx_number: str
    pharmacy_id: str
    ndc: str
    drug_name: str
    last_fill: dt.date
    fill_number: int
    days_supply: int
    next_eligible: dt.date
    runs_out: dt.date
    status: str  # "not yet", "due", "overdue"

    def to_dict(self) -> dict[str, Any]:
        return {"rx_number": self.rx_number, "pharmacy_id": self.pharmacy_id, "ndc": self.ndc,
                "drug_name": self.drug_name, "last_fill": self.last_fill.isoformat(),
                "fill_number": self.fill_number, "days_supply": self.days_supply,
                "next_eligible": self.next_eligible.isoformat(),
                "runs_out": self.runs_out.isoformat(), "status": self.status}


def refills_due(book: Book, store: Store, member: Member, as_of: dt.date) -> list[RefillDue]:
    """Active prescriptions of the member, soonest eligible first."""
    threshold = _refill_threshold(book, member)
    plan = book.plans.get(member.plan_id)
    part_d = book.part_d_plans.get(member.plan_id)
    formulary = book.formularies[plan.formulary_id] if plan else (
        part_d.formulary if part_d else None)
    latest: dict[tuple[str, str], LedgerEntry] = {}
    for e in store.entries(member.member_id):
        if not e.active or is_carry_in(e) or not e.fill.ndc:
            continue
        drug = formulary.get(e.fill.ndc) if formulary else None
        if drug is not None and drug.vaccine:
            continue  # a one-time dose, not a prescription to refill
        if e.key.date_of_service > as_of:
            continue
        key = (e.key.pharmacy_id, e.key.rx_number)
        old = latest.get(key)
        if old is None or (e.key.date_of_service, e.key.fill_number) > \
                (old.key.date_of_service, old.key.fill_number):
            latest[key] = e
    out = []
    for e in latest.values():
        days = e.fill.days_supply
        wait = -(-days * threshold // RATE_SCALE)
        start = e.key.date_of_service
        eligible = start + dt.timedelta(days=wait)
        runs_out = start + dt.timedelta(days=days)
        if (as_of - runs_out).days > RECENT_DAYS:
            continue
        status = "not yet" if as_of < eligible else ("due" if as_of <= runs_out else "overdue")
        out.append(RefillDue(e.key.rx_number, e.key.pharmacy_id, e.fill.ndc,
                             e.result.drug_name, start, e.key.fill_number, days, eligible,
                             runs_out, status))
    out.sort(key=lambda r: (r.next_eligible, r.drug_name))
    return out


def _refill_threshold(book: Book, member: Member) -> int:
    plan = book.plans.get(member.plan_id)
    if plan is None:
        part_d = book.part_d_plans.get(member.plan_id)
        if part_d is None:
            raise UsageError(f"plan {member.plan_id} is not loaded")
        plan = part_d.edits
    return plan.refill_threshold


# -- statements ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StatementLine:
    """One claim on a statement."""

    date_of_service: dt.date
    rx_number: str
    pharmacy_id: str
    drug_name: str
    ndc: str
    total_cost: Cents
    plan_paid: Cents
    member_paid: Cents
    other_paid: Cents
    deductible: Cents
    copay: Cents
    coinsurance: Cents
    brand_penalty: Cents
    status: str

    def to_dict(self) -> dict[str, Any]:
        return {"date_of_service": self.date_of_service.isoformat(),
                "rx_number": self.rx_number, "pharmacy_id": self.pharmacy_id,
                "drug_name": self.drug_name, "ndc": self.ndc,
                "total_cost": fmt(self.total_cost), "plan_paid": fmt(self.plan_paid),
                "member_paid": fmt(self.member_paid), "other_paid": fmt(self.other_paid),
                "deductible": fmt(self.deductible), "copay": fmt(self.copay),
                "coinsurance": fmt(self.coinsurance), "brand_penalty": fmt(self.brand_penalty),
                "status": self.status}


@dataclass(frozen=True, slots=True)
class Totals:
    """Sums of statement lines."""

    total_cost: Cents = 0
    plan_paid: Cents = 0
    member_paid: Cents = 0
    other_paid: Cents = 0
    manufacturer_discount: Cents = 0

    def to_dict(self) -> dict[str, str]:
        return {"total_drug_cost": fmt(self.total_cost), "plan_paid": fmt(self.plan_paid),
                "member_paid": fmt(self.member_paid), "other_paid": fmt(self.other_paid),
                "manufacturer_discount": fmt(self.manufacturer_discount)}


@dataclass(frozen=True, slots=True)
class Statement:
    """A member statement (``kind``: ``part_d_eob`` or ``claims``) for a period."""

    kind: str
    title: str
    member_id: str
    member_name: str
    plan_id: str
    plan_name: str
    start: dt.date
    end: dt.date
    lines: tuple[StatementLine, ...]
    period: Totals
    year_to_date: Totals
    summary: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "title": self.title, "member_id": self.member_id,
                "member_name": self.member_name, "plan_id": self.plan_id,
                "plan_name": self.plan_name, "start": self.start.isoformat(),
                "end": self.end.isoformat(), "claims": [x.to_dict() for x in self.lines],
                "period_totals": self.period.to_dict(),
                "year_to_date_totals": self.year_to_date.to_dict(), "summary": self.summary}

    def to_html(self) -> str:
        """A printable page; every value escaped."""
        e = html.escape
        rows = "".join(
            "<tr>" + "".join(f"<td>{e(str(v))}</td>" for v in (
                x.date_of_service.isoformat(), x.drug_name, x.rx_number, x.pharmacy_id,
                "$" + fmt(x.total_cost), "$" + fmt(x.plan_paid), "$" + fmt(x.member_paid),
                "$" + fmt(x.other_paid), x.status)) + "</tr>"
            for x in self.lines) or '<tr><td colspan="9">No claims in this period.</td></tr>'

        def totals(label: str, t: Totals) -> str:
            return (f"<tr><th>{e(label)}</th><td>${e(fmt(t.total_cost))}</td>"
                    f"<td>${e(fmt(t.plan_paid))}</td><td>${e(fmt(t.member_paid))}</td>"
                    f"<td>${e(fmt(t.other_paid))}</td>"
                    f"<td>${e(fmt(t.manufacturer_discount))}</td></tr>")

        summary = "".join(f"<tr><th>{e(k.replace('_', ' ').capitalize())}</th>"
                          f"<td>{e('' if v is None else str(v))}</td></tr>"
                          for k, v in self.summary.items())
        return (
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{e(self.title)}</title><style>"
            "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;"
            "margin:1em 0}td,th{border:1px solid #999;padding:.3em .6em;text-align:left}"
            "@media print{body{margin:0}}</style></head><body>"
            f"<h1>{e(self.title)}</h1>"
            f"<p>{e(self.member_name)} (member {e(self.member_id)}), plan {e(self.plan_name)} "
            f"({e(self.plan_id)}); {e(self.start.isoformat())} to {e(self.end.isoformat())}</p>"
            "<h2>Totals</h2><table><tr><th></th><th>Total drug cost</th><th>Plan paid</th>"
            "<th>You paid</th><th>Others paid</th><th>Manufacturer discount</th></tr>"
            f"{totals('This period', self.period)}{totals('Year to date', self.year_to_date)}"
            f"</table><h2>Summary</h2><table>{summary}</table>"
            "<h2>Claims</h2><table><tr><th>Date</th><th>Drug</th><th>Rx</th><th>Pharmacy</th>"
            "<th>Total cost</th><th>Plan paid</th><th>You paid</th><th>Others paid</th>"
            f"<th>Status</th></tr>{rows}</table></body></html>\n")


def part_d_eob(book: Book, store: Store, member: Member, year: int, month: int) -> Statement:
    """The monthly Part D Explanation of Benefits (CMS model EOB content)."""
    plan = book.part_d_plans.get(member.plan_id)
    if plan is None:
        raise UsageError(f"member {member.member_id} is not on a Part D plan")
    start = dt.date(year, month, 1)
    end = (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
    year_start = dt.date(year, 1, 1)
    lines: list[StatementLine] = []
    period = ytd = Totals()
    troop = gross = 0
    phase = "D" if _deductible(plan) else "N"
    for e in _claims(store, member, year_start, end):
        pde = _pde(e)
        discount = to_cents(pde.get("manufacturer_discount", "0")) + \
            to_cents(pde.get("reported_gap_discount", "0"))
        line = _line(e, other=to_cents(pde.get("lics", "0"))
                     + to_cents(pde.get("other_troop_amount", "0")))
        add = Totals(line.total_cost, line.plan_paid, line.member_paid, line.other_paid,
                     discount)
        if e.active:
            ytd = _plus(ytd, add)
            troop = to_cents(pde.get("troop_accumulator_after", fmt(troop)))
            gross = to_cents(pde.get("gross_accumulator_after", fmt(gross)))
            phase = str(pde.get("ending_benefit_phase", phase))
        if start <= e.key.date_of_service:
            lines.append(line)
            if e.active:
                period = _plus(period, add)
    params = plan.parameters
    if phase == "D":
        next_phase, to_next = "N", max(0, _deductible(plan) - troop)
    elif phase == "N" and params.initial_coverage_limit is not None:
        next_phase, to_next = "G", max(0, params.initial_coverage_limit - gross)
    elif phase in ("N", "G"):
        next_phase, to_next = "C", max(0, params.oop_threshold - troop)
    else:
        next_phase, to_next = None, None
    summary = {
        "payment_stage": PHASE_NAMES.get(phase, phase),
        "next_stage": PHASE_NAMES.get(next_phase) if next_phase else None,
        "amount_to_next_stage": None if to_next is None else fmt(to_next),
        "troop_year_to_date": fmt(troop),
        "total_drug_cost_year_to_date": fmt(gross),
        "out_of_pocket_threshold": fmt(params.oop_threshold),
        "deductible": fmt(_deductible(plan)),
    }
    return Statement("part_d_eob", f"Part D Explanation of Benefits, {start:%B %Y}",
                     member.member_id, _name(member), plan.plan_id, plan.name, start, end,
                     tuple(lines), period, ytd, summary)


def claim_statement(book: Book, store: Store, member: Member, start: dt.date,
                    end: dt.date) -> Statement:
    """A commercial member's claim statement for ``start``..``end``."""
    plan = book.plans.get(member.plan_id)
    if plan is None:
        raise UsageError(f"member {member.member_id} is not on a commercial plan")
    if end < start:
        raise UsageError(f"statement period ends ({end}) before it starts ({start})")
    year_start = plan.year_of(end)
    lines = []
    period = ytd = Totals()
    for e in _claims(store, member, min(year_start, start), end):
        line = _line(e, other=e.result.other_payer_paid)
        add = Totals(line.total_cost, line.plan_paid, line.member_paid, line.other_paid)
        if e.active and e.key.date_of_service >= year_start:
            ytd = _plus(ytd, add)
        if e.key.date_of_service >= start:
            lines.append(line)
            if e.active:
                period = _plus(period, add)
    acc = Portal(book, store).accumulators(member, as_of=end)
    summary: dict[str, Any] = {"plan_year_start": year_start.isoformat()}
    for label, status in (("deductible", acc.deductible), ("out_of_pocket", acc.oop)):
        if status is not None:
            summary[f"{label}_met"] = fmt(status.member_met)
            summary[f"{label}_left"] = fmt(status.member_remaining)
            if status.family_remaining is not None:
                summary[f"family_{label}_left"] = fmt(status.family_remaining)
    return Statement("claims", f"Pharmacy claim statement, {start.isoformat()} to "
                     f"{end.isoformat()}", member.member_id, _name(member), plan.plan_id,
                     plan.name, start, end, tuple(lines), period, ytd, summary)


def _claims(store: Store, member: Member, start: dt.date, end: dt.date) -> list[LedgerEntry]:
    found = [e for e in store.entries(member.member_id)
             if not is_carry_in(e) and start <= e.key.date_of_service <= end]
    found.sort(key=lambda e: (e.key.date_of_service, e.entry_id))
    return found


def _line(e: LedgerEntry, other: Cents) -> StatementLine:
    r = e.result
    member_paid = r.patient_pay - r.other_payer_paid if r.other_payer_paid else r.patient_pay
    if r.part_d is not None:
        member_paid = r.patient_pay
    return StatementLine(
        e.key.date_of_service, e.key.rx_number, e.key.pharmacy_id, r.drug_name, r.ndc,
        r.total_price, r.plan_pay, member_paid, other, r.deductible_applied, r.copay_amount,
        r.coinsurance_amount, r.product_selection_amount,
        "paid" if e.active else f"reversed {e.reversed_on.isoformat() if e.reversed_on else ''}")


def _pde(e: LedgerEntry) -> dict[str, Any]:
    pde = e.result.part_d
    if pde is None:
        return {}
    if isinstance(pde, dict):
        return pde
    return dict(pde.to_dict())


def _plus(a: Totals, b: Totals) -> Totals:
    return Totals(a.total_cost + b.total_cost, a.plan_paid + b.plan_paid,
                  a.member_paid + b.member_paid, a.other_paid + b.other_paid,
                  a.manufacturer_discount + b.manufacturer_discount)


def _deductible(plan: Any) -> Cents:
    d = plan.design.deductible
    return int(plan.parameters.deductible if d is None else d)


def _name(member: Member) -> str:
    return f"{member.first_name} {member.last_name}".strip() or member.member_id


__all__ = ["RefillDue", "Statement", "StatementLine", "claim_statement", "part_d_eob",
           "refills_due"]
