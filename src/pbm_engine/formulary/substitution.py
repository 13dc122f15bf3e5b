"""Generic substitution: which tier's cost share applies under a DAW code, whether the brand
penalty applies, and the price of the cheapest generic equivalent."""

from __future__ import annotations

from pbm_engine.benefit.plan import Daw0Policy, Plan
from pbm_engine.claim import Claim
from pbm_engine.formulary.model import Drug, Formulary
from pbm_engine.pricing.contract import Arm, Network, cheapest, contract_arms
from pbm_engine.pricing.prices import PriceIndex
from pbm_engine.result import Alternative


def cost_share_tier(plan: Plan, formulary: Formulary, drug: Drug, daw: int) -> int:
    """The tier whose cost share applies: the generic tier for DAW codes the plan treats
    as generic, and under a brand penalty charged on top of the generic cost share."""
    if not drug.multi_source_brand:
        return drug.tier
    policy = plan.daw
    if daw in policy.generic_cost_share_codes:
        return plan.generic_tier
    if (
        penalty_applies(plan, drug, daw)
        and policy.penalty_base == "generic"
        and formulary.generic_equivalents(drug)
    ):
        return plan.generic_tier
    return drug.tier


def penalty_applies(plan: Plan, drug: Drug, daw: int) -> bool:
    """Whether the plan charges the brand-generic difference for this DAW code."""
    if not drug.multi_source_brand:
        return False
    if daw in plan.daw.penalty_codes:
        return True
    return daw == 0 and plan.daw.daw0_multisource_brand is Daw0Policy.PENALTY


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


def alternatives_offered(formulary: Formulary, drug: Drug) -> tuple[Alternative, ...]:
    """The preferred products a 608/MR reject names (see :meth:`Formulary.alternatives`):
    related to the drug, one per product name."""
    return tuple(Alternative(d.ndc, d.name, d.tier) for d in formulary.alternatives(drug))
