"""Pricing one claim: the lesser of the contract price, the submitted amount and U&C."""

from __future__ import annotations

from dataclasses import dataclass

from pbm_engine.claim import Claim
from pbm_engine.codes import Basis, Reject
from pbm_engine.formulary.model import Drug, Formulary
from pbm_engine.money import Cents, fmt
from pbm_engine.policy import DawPolicy
from pbm_engine.pricing.contract import Arm, Network, cheapest, contract_arms, describe, lesser_of
from pbm_engine.pricing.prices import PriceIndex
from pbm_engine.pricing.substitution import generic_arm
from pbm_engine.trace import Trace

__all__ = ["PricedClaim", "price_claim"]


@dataclass(slots=True)
class PricedClaim:
    """A claim after pricing and substitution: what the plan's benefit shares out.

    ``paid`` is the winning price arm (ingredient + fee = the allowed amount); ``penalty`` the
    brand penalty (134-UK) on top of it, 0 when none.
    """

    claim: Claim
    drug: Drug
    paid: Arm
    penalty: Cents = 0


def price_claim(
    prices: PriceIndex,
    claim: Claim,
    network: Network,
    formulary: Formulary,
    drug: Drug,
    daw: DawPolicy,
    max_claim_cost: Cents | None,
    t: Trace | None = None,
) -> tuple[Arm | None, tuple[Arm, Drug] | None, list[tuple[str, str]]]:
    """Price a claim: the lesser of contract price, submitted amount and U&C.

    Returns the paid arm, the generic equivalent's arm when one was priced (for the brand
    penalty), and any pricing rejects (R9, 23, 78).
    """
    t = t or Trace(False)
    dos = claim.date_of_service
    rejects: list[tuple[str, str]] = []
    contract: Arm | None = None
    generic = None
    if drug.multi_source_brand and claim.daw in daw.generic_price_codes:
        generic = generic_arm(prices, network, formulary, drug, claim)
        if generic is not None:
            contract = generic[0]
            if t:
                t(f"DAW {claim.daw}: priced as generic {generic[1].ndc}: {describe(contract)}")
    if contract is None:
        terms = network.terms_for(claim.channel, drug.brand, dos)
        if terms is not None:
            arms = contract_arms(
                terms, prices.price(drug.ndc, dos), prices.nadac(drug.ndc, dos), claim.quantity
            )
            if t:
                for arm in arms:
                    if t:
                        t(f"price arm {describe(arm)}")
            contract = cheapest(arms)
    submitted = None
    if claim.gross_amount_due is not None:
        if (
            claim.ingredient_cost is not None
            and claim.gross_amount_due != claim.ingredient_cost + claim.dispensing_fee
        ):
            rejects.append(
                (
                    Reject.GROSS_AMOUNT_DUE_FORMULA,
                    f"gross amount due {fmt(claim.gross_amount_due)} is not "
                    f"ingredient {fmt(claim.ingredient_cost)} + fee "
                    f"{fmt(claim.dispensing_fee)}",
                )
            )
        fee = min(claim.dispensing_fee, claim.gross_amount_due)
        submitted = Arm(Basis.INGREDIENT_AS_SUBMITTED, claim.gross_amount_due - fee, fee)
    elif claim.ingredient_cost is not None:
        submitted = Arm(Basis.INGREDIENT_AS_SUBMITTED, claim.ingredient_cost, claim.dispensing_fee)
    paid = lesser_of(contract, submitted, claim.usual_and_customary)
    if paid is None:
        rejects.append(
            (Reject.MI_INGREDIENT_COST, "no contract price on file and no submitted cost or U&C")
        )
    elif max_claim_cost is not None and paid.total > max_claim_cost:
        rejects.append(
            (
                Reject.COST_EXCEEDS_MAXIMUM,
                f"{fmt(paid.total)} exceeds the {fmt(max_claim_cost)} review threshold",
            )
        )
    elif t:
        t(f"paid on {paid.label} (basis {paid.basis.value}): {fmt(paid.total)}")
    return paid, generic, rejects
