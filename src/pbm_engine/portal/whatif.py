"""Price one what-if Part D fill: :func:`price_fill`, the one call for "what would this cost?"
(also ``pbm_engine.price_fill`` and ``pbm partd claim``).

::

    from pbm_engine import price_fill

    fill = price_fill(2021, ndc="00002751001", quantity="10", cost="10000.00")
    fill.patient_pay, fill.price_won, fill.deductible_applied, fill.pde.to_dict()

The plan is a year (the Defined Standard benefit of that year, 2006-2026), ``"DS-YYYY"``, a
CMS plan of the bundled SPUF (``"CMS-S5743-001-000"``) or any Part D plan of the book.  The
drug is an NDC of the plan's formulary (its brand, insulin, vaccine and tier flags come from
the drug master).  The price is the lesser of the network contract price for the quantity and
the submitted cost, as at a pharmacy; :attr:`WhatIf.price_won` says which one won and both are
reported (a submitted cost above the contract price is *not* what the enrollee pays on).
Money is in dollars (``"12.34"``, ``Decimal``, ``int`` dollars) or, with ``in_cents=True``, in
integer cents.  Nothing is stored: the accumulators are the ones given.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from pbm_engine.book import Book
from pbm_engine.codes import Channel as ClaimChannel
from pbm_engine.errors import UsageError
from pbm_engine.medicare.adjudicate import lis_level_of
from pbm_engine.medicare.model import BeneficiaryState, BenefitPhase, ClaimFacts, PhaseResult
from pbm_engine.medicare.parameters import LisLevel
from pbm_engine.medicare.pde import PdeRecord, build_pde
from pbm_engine.medicare.phases import split_claim
from pbm_engine.medicare.plans import PartDPlan
from pbm_engine.money import Cents, fmt, to_cents, to_qty
from pbm_engine.pricing.contract import Arm, cheapest, contract_arms, describe

__all__ = ["WhatIf", "price_fill", "resolve_plan", "sample_partd_book_path"]

Money = str | int | Decimal
"""Dollars (``"12.34"``, ``Decimal``, ``int`` dollars), or integer cents with ``in_cents``."""


def sample_partd_book_path() -> Path:
    """The bundled Part D sample book (drug master, network, prices, plans)."""
    return Path(str(resources.files("pbm_engine") / "data" / "sample_partd" / "book.yaml"))


@cache
def _sample_book() -> Book:
    from pbm_engine.sources.loader import load_book

    return load_book(sample_partd_book_path())


def resolve_plan(book: Book, plan: str | int, base: Path | None = None) -> PartDPlan:
    """A Part D plan of the book, or one built on the fly: a year or ``DS-YYYY`` is the Defined
    Standard benefit of that year (2006-2026); ``CMS-CCCCC-PPP-SSS`` a plan of the bundled SPUF.
    Raises :class:`UsageError` for anything else."""
    plan_id = f"DS-{plan}" if isinstance(plan, int) else str(plan)
    found = book.part_d_plans.get(plan_id)
    if found is not None:
        return found
    formulary = next(iter(book.formularies))
    network = next(iter(book.networks))
    if plan_id.startswith("DS-") and plan_id[3:].isdigit():
        spec: dict[str, Any] = {"plan_id": plan_id, "defined_standard": int(plan_id[3:]),
                                "formulary": formulary, "network": network}
    elif plan_id.startswith("CMS-") and plan_id.count("-") == 3:
        contract, plan_no, segment = plan_id[4:].split("-")
        spec = {"plan_id": plan_id, "spuf": "pkg:cms_spuf_2026q2", "contract": contract,
                "plan": plan_no, "segment": segment, "network": network,
                "drug_master": formulary}
    else:
        raise UsageError(f"unknown Part D plan {plan_id!r}: use a year, DS-YYYY, "
                         "CMS-CONTRACT-PLAN-SEGMENT or a plan of the book")
    from pbm_engine.sources.part_d import load_part_d_plans

    try:
        plans = load_part_d_plans([spec], base or sample_partd_book_path().parent, book)
    except UsageError:
        raise
    except (ValueError, LookupError) as exc:
        raise UsageError(f"Part D plan {plan_id}: {exc}") from exc
    book.part_d_plans.update(plans)
    return plans[plan_id]


@dataclass(frozen=True, slots=True)
class WhatIf:
    """One priced what-if fill: the price that won, the phase split, the PDE and a trace."""

    plan_id: str
    plan_name: str
    year: int
    ndc: str
    drug_name: str
    tier: int
    days_supply: int
    lis: LisLevel | None
    price_won: str
    """``contract`` (the network price for the quantity) or ``submitted`` (the given cost)."""
    contract_price: Cents | None
    """Contract ingredient + fee for the quantity, when the network prices the drug."""
    submitted_price: Cents | None
    """The given cost + fee, when a cost was given."""
    split: PhaseResult
    pde: PdeRecord
    deductible_applied: Cents
    """The enrollee's share of the deductible-phase portion (0 when the drug skips it)."""
    trace: tuple[str, ...]

    @property
    def patient_pay(self) -> Cents:
        """What the enrollee pays at the counter (PDE patient pay + other TrOOP payer)."""
        return self.split.patient_pay + self.split.other_troop_amount

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view: money as dollar strings."""
        s = self.split
        return {
            "plan_id": self.plan_id, "plan_name": self.plan_name, "plan_year": self.year,
            "ndc": self.ndc, "drug_name": self.drug_name, "tier": self.tier,
            "days_supply": self.days_supply, "lis_level": self.lis.value if self.lis else None,
            "price_won": self.price_won,
            "contract_price": None if self.contract_price is None else fmt(self.contract_price),
            "submitted_price": None if self.submitted_price is None
            else fmt(self.submitted_price),
            "gross_drug_cost": fmt(s.gross_drug_cost), "patient_pay": fmt(self.patient_pay),
            "deductible_applied": fmt(self.deductible_applied), "lics": fmt(s.lics),
            "manufacturer_discount": fmt(s.manufacturer_discount),
            "plan_paid": fmt(s.covered_plan_paid),
            "troop_before": fmt(s.troop_before), "troop_after": fmt(s.troop_after),
            "gross_before": fmt(s.gross_before), "gross_after": fmt(s.gross_after),
            "cost_share_above_threshold": fmt(s.cost_share_above),
            "phase_portions": [{"phase": p.phase.value, "gross": fmt(p.gross),
                                "cost_share": fmt(p.cost_share), "discount": fmt(p.discount)}
                               for p in s.portions],
            "pde": self.pde.to_dict(),
            "trace": list(self.trace),
        }


def price_fill(
    plan: str | int | PartDPlan,
    *,
    ndc: str,
    quantity: Money | None = None,
    cost: Money | None = None,
    fee: Money = 0,
    days_supply: int = 30,
    channel: str = "retail",
    troop: Money = 0,
    gross: Money = 0,
    lis: str | LisLevel | None = None,
    date: dt.date | None = None,
    in_cents: bool = False,
    book: Book | None = None,
) -> WhatIf:
    """Price one Part D fill for a what-if enrollee (see the module docstring).

    ``quantity`` prices the drug at the network contract rate; ``cost`` (+ ``fee``) is a
    submitted ingredient cost; given both, the lesser wins, as at a pharmacy.  ``troop`` and
    ``gross`` are the accumulators before the fill; ``lis`` an LIS level (``institutional``,
    ``fbde``, ``full``, ``partial`` or a :class:`LisLevel`).  Raises :class:`UsageError` naming
    what is wrong (unknown plan or NDC, no price, a bad amount).
    """
    book = book or _sample_book()
    part_d = plan if isinstance(plan, PartDPlan) else resolve_plan(book, plan)
    year = part_d.year
    drug = part_d.formulary.get(ndc)
    if drug is None:
        raise UsageError(f"NDC {ndc} is not on the formulary of {part_d.plan_id}")
    if days_supply <= 0:
        raise UsageError("days supply must be positive")
    money = _money(in_cents)
    try:
        state = BeneficiaryState(money(troop, "troop"), money(gross, "gross"),
                                 lis if isinstance(lis, LisLevel | None)
                                 else lis_level_of(lis, year))
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    try:
        claim_channel = ClaimChannel(channel)
    except ValueError:
        raise UsageError(f"channel {channel!r} is not retail, mail or specialty") from None
    day = date or dt.date(year, 6, 1)
    trace: list[str] = [f"{part_d.name} ({part_d.plan_id}), {year}"]

    contract: Arm | None = None
    if quantity is not None:
        terms = book.networks[part_d.network_id].terms_for(claim_channel, drug.brand, day)
        if terms is not None:
            arms = contract_arms(terms, book.prices.price(ndc, day), book.prices.nadac(ndc, day),
                                 to_qty(quantity))
            trace.extend(f"contract arm {describe(a)}" for a in arms)
            contract = cheapest(arms)
        if contract is None:
            trace.append(f"no contract price for {ndc} on {day}")
    submitted = given = None
    if cost is not None:
        given = (money(cost, "cost"), money(fee, "fee"))
        submitted = sum(given)
    if contract is not None and (submitted is None or contract.total <= submitted):
        won, ingredient, dispensing = "contract", contract.ingredient, contract.fee
    elif given is not None:
        won, (ingredient, dispensing) = "submitted", given
    else:
        raise UsageError(f"no price for {ndc}: give a quantity the network prices, or a cost")
    trace.append(f"price: {won} wins ({fmt(ingredient)} + fee {fmt(dispensing)}); contract "
                 f"{'-' if contract is None else fmt(contract.total)}, submitted "
                 f"{'-' if submitted is None else fmt(submitted)}")

    tier = part_d.design_tier(drug)
    facts = ClaimFacts(
        ingredient_cost=ingredient, dispensing_fee=dispensing, tier=tier,
        channel=part_d.design_channel(claim_channel, tier), days_supply=days_supply,
        applicable_drug=drug.brand, generic_or_preferred_multisource=not drug.brand,
        insulin=drug.insulin, vaccine=drug.vaccine, selected_drug=ndc in part_d.selected_ndcs,
    )
    try:
        split = split_claim(part_d.parameters, part_d.design, state, facts, part_d.policy)
    except (ValueError, LookupError) as exc:
        raise UsageError(f"Part D: {exc}") from exc
    trace.append(f"TrOOP {fmt(state.troop)}, gross {fmt(state.gross)} before; LIS "
                 f"{state.lis.value if state.lis else 'none'}; tier {tier}")
    trace.extend(f"phase {p.phase.value}: gross {fmt(p.gross)}, cost share {fmt(p.cost_share)}, "
                 f"discount {fmt(p.discount)}" for p in split.portions)
    return WhatIf(
        plan_id=part_d.plan_id, plan_name=part_d.name, year=year, ndc=ndc, drug_name=drug.name,
        tier=drug.tier, days_supply=days_supply, lis=state.lis, price_won=won,
        contract_price=None if contract is None else contract.total,
        submitted_price=submitted, split=split, pde=build_pde(split),
        deductible_applied=deductible_applied(part_d, facts, split, state.lis),
        trace=tuple(trace),
    )


def deductible_applied(plan: PartDPlan, facts: ClaimFacts, split: PhaseResult,
                       lis: LisLevel | None) -> Cents:
    """The enrollee's share of the deductible-phase portion: 0 for a drug that skips the
    deductible (insulin, ACIP vaccines, exempt tiers) and for a full-subsidy LIS enrollee."""
    params, design = plan.parameters, plan.design
    exempt = ((facts.insulin and params.insulin_cap is not None)
              or (facts.vaccine and params.vaccine_zero_cost_sharing)
              or facts.tier in design.deductible_exempt_tiers)
    if exempt or (lis is not None and lis is not LisLevel.PARTIAL):
        return 0
    in_deductible = sum(p.cost_share for p in split.portions
                        if p.phase is BenefitPhase.DEDUCTIBLE)
    return min(in_deductible, split.patient_pay + split.other_troop_amount)


def _money(in_cents: bool) -> Callable[[Money, str], Cents]:
    def convert(value: Money, name: str) -> Cents:
        if in_cents:
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise UsageError(f"{name}: give a non-negative whole number of cents")
            return value
        try:
            cents = to_cents(value)
        except (ValueError, TypeError) as exc:
            raise UsageError(f"{name}: {exc}") from exc
        if cents < 0:
            raise UsageError(f"{name} must not be negative")
        return cents

    return convert
