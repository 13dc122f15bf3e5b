"""Generic substitution in pricing: the price of the cheapest generic equivalent, and the brand
penalty (134-UK) a plan's DAW policy charges for a multi-source brand."""

from __future__ import annotations

from pbm_engine.claim import Claim
from pbm_engine.formulary.model import Drug, Formulary
from pbm_engine.money import Cents, fmt
from pbm_engine.policy import Daw0Policy, DawPolicy
from pbm_engine.pricing.contract import Arm, Network, cheapest, contract_arms
from pbm_engine.pricing.prices import PriceIndex
from pbm_engine.trace import Trace

__all__ = ["brand_penalty", "generic_arm", "penalty_applies"]


def penalty_applies(policy: DawPolicy, drug: Drug, daw: int) -> bool:
    """Whether the DAW policy charges the brand-generic difference for this DAW code."""
    if not drug.multi_source_brand:
        return False
    if daw in policy.penalty_codes:
        return True
    return daw == 0 and policy.daw0_multisource_brand is Daw0Policy.PENALTY


def generic_arm(
    prices: PriceIndex, network: Network, formulary: Formulary, drug: Drug, claim: Claim
) -> tuple[Arm, Drug] | None:
    """The cheapest contract price of a generic equivalent for the same quantity."""
    terms = network.terms_for(claim.channel, False, claim.date_of_service)
    if terms is None:
        return None
    best: tuple[Arm, Drug] | None = None
    for generic in formulary.generic_equivalents(drug):
        arm = cheapest(
            contract_arms(
                terms,
                prices.price(generic.ndc, claim.date_of_service),
                prices.nadac(generic.ndc, claim.date_of_service),
                claim.quantity,
            )
        )
        if arm is not None and (best is None or arm.total < best[0].total):
            best = (arm, generic)
    return best


def brand_penalty(prices: PriceIndex, network: Network, formulary: Formulary, drug: Drug,
                  claim: Claim, policy: DawPolicy, paid: Arm, generic: tuple[Arm, Drug] | None,
                  t: Trace) -> Cents:
    """The brand penalty of a paid claim: brand ingredient minus the cheapest generic's.

    ``generic`` is the generic arm pricing already computed, if any.  0 when the policy charges
    no penalty for the claim's DAW code or no generic equivalent is priced.
    """
    if not penalty_applies(policy, drug, claim.daw):
        return 0
    generic = generic or generic_arm(prices, network, formulary, drug, claim)
    if generic is None:
        if t:
            t("brand penalty: no priced generic equivalent, no penalty")
        return 0
    penalty = max(0, paid.ingredient - generic[0].ingredient)
    if t:
        t(f"brand penalty: brand ingredient {fmt(paid.ingredient)} - generic "
          f"{generic[1].ndc} ingredient {fmt(generic[0].ingredient)} "
          f"({generic[0].label}) = {fmt(penalty)}")
    return penalty
