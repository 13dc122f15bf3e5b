"""Network contracts and the "lesser of" price.

A contract row gives, for one channel and drug type (brand or generic) and a period, the arms
the pharmacy can be paid on: AWP minus x%, WAC plus x%, NADAC plus x%, MAC, each plus the
contract's dispensing fee.  The allowed amount is the lesser of the cheapest contract arm, the
submitted amount (430-DU, or 409-D9 + 412-DC) and the pharmacy's usual and customary charge
(426-DQ).  Every ingredient arm is computed with one rounding, half-up to the cent.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pbm_engine.codes import Basis, Channel
from pbm_engine.money import QTY_SCALE, RATE_SCALE, Cents, div_round, fmt, fmt_rate
from pbm_engine.pricing.prices import PricePoint

__all__ = ["Arm", "ContractTerms", "Network", "cheapest", "contract_arms", "describe", "lesser_of"]

_PRICE_TO_CENTS = 1000 * QTY_SCALE  # unit price (1e-5 $) x qty (1e-3) -> cents


@dataclass(frozen=True, slots=True)
class ContractTerms:
    """Reimbursement terms for one channel, drug type and period."""

    start: dt.date
    end: dt.date | None
    dispensing_fee: Cents
    awp_discount: int | None = None  # ppm: 17% -> 170_000
    wac_markup: int | None = None
    nadac_markup: int | None = None
    use_mac: bool = False

    def in_force(self, day: dt.date) -> bool:
        return self.start <= day and (self.end is None or day <= self.end)


@dataclass(frozen=True, slots=True)
class Network:
    """A pharmacy network: contract terms by (channel, brand?)."""

    network_id: str
    name: str
    terms: dict[tuple[Channel, bool], tuple[ContractTerms, ...]]

    def terms_for(self, channel: Channel, brand: bool, day: dt.date) -> ContractTerms | None:
        for t in self.terms.get((channel, brand), ()):
            if t.in_force(day):
                return t
        return None


@dataclass(frozen=True, slots=True)
class Arm:
    """One candidate price: its basis, ingredient cost and fee (cents), and the contract rate
    (discount or markup, ppm) it was computed with."""

    basis: Basis
    ingredient: Cents
    fee: Cents
    rate: int = 0

    @property
    def total(self) -> Cents:
        return self.ingredient + self.fee

    @property
    def label(self) -> str:
        """A readable name of the arm, e.g. ``AWP - 17%``."""
        return _LABELS[self.basis].format(fmt_rate(self.rate))


_LABELS = {
    Basis.AWP_LESS_PERCENT: "AWP - {}%",
    Basis.WAC: "WAC + {}%",
    Basis.NADAC: "NADAC + {}%",
    Basis.MAC: "MAC",
    Basis.USUAL_AND_CUSTOMARY: "U&C",
    Basis.INGREDIENT_AS_SUBMITTED: "submitted",
}


def contract_arms(
    terms: ContractTerms, point: PricePoint | None, nadac_unit: int | None, quantity: int
) -> list[Arm]:
    """The contract arms available for a product on a day (may be empty)."""
    arms: list[Arm] = []
    fee = terms.dispensing_fee
    if point is not None:
        if terms.awp_discount is not None and point.awp is not None:
            ing = div_round(point.awp * quantity * (RATE_SCALE - terms.awp_discount),
                            _PRICE_TO_CENTS * RATE_SCALE)
            arms.append(Arm(Basis.AWP_LESS_PERCENT, ing, fee, terms.awp_discount))
        if terms.wac_markup is not None and point.wac is not None:
            ing = div_round(point.wac * quantity * (RATE_SCALE + terms.wac_markup),
                            _PRICE_TO_CENTS * RATE_SCALE)
            arms.append(Arm(Basis.WAC, ing, fee, terms.wac_markup))
        if terms.use_mac and point.mac is not None:
            arms.append(Arm(Basis.MAC, div_round(point.mac * quantity, _PRICE_TO_CENTS), fee))
    if terms.nadac_markup is not None and nadac_unit is not None:
        ing = div_round(nadac_unit * quantity * (RATE_SCALE + terms.nadac_markup),
                        _PRICE_TO_CENTS * RATE_SCALE)
        arms.append(Arm(Basis.NADAC, ing, fee, terms.nadac_markup))
    return arms


def cheapest(arms: list[Arm]) -> Arm | None:
    """The arm with the lowest total; ties go to the earlier arm (stable, deterministic)."""
    best: Arm | None = None
    for arm in arms:
        if best is None or arm.total < best.total:
            best = arm
    return best


def lesser_of(
    contract: Arm | None,
    submitted: Arm | None,
    usual_and_customary: Cents | None,
) -> Arm | None:
    """The paid arm: lesser of contract price, submitted amount and U&C (in that tie order)."""
    candidates = [a for a in (contract, submitted) if a is not None]
    if usual_and_customary is not None:
        candidates.append(Arm(Basis.USUAL_AND_CUSTOMARY, usual_and_customary, 0))
    return cheapest(candidates)


def describe(arm: Arm) -> str:
    """One line for a trace: the arm's label, ingredient, fee and total."""
    return f"{arm.label}: {fmt(arm.ingredient)} + fee {fmt(arm.fee)} = {fmt(arm.total)}"
