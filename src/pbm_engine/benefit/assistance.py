"""Copay assistance: how a manufacturer coupon (431-DV) meets the member's cost share and what of
it counts toward the deductible and out-of-pocket maximum (standard, accumulator, maximizer)."""

from __future__ import annotations

from dataclasses import dataclass

from pbm_engine.benefit.costshare import CostShare
from pbm_engine.benefit.plan import AssistancePolicy, CopayAssistance
from pbm_engine.money import Cents, fmt
from pbm_engine.trace import Trace

__all__ = ["Assisted", "apply_assistance"]


@dataclass(frozen=True, slots=True)
class Assisted:
    """The cost share after copay assistance: the copay (a maximizer raises it), the patient
    pay, and the deductible and OOP credits that still count."""

    copay: Cents
    patient_pay: Cents
    deductible_credit: Cents
    oop_credit: Cents


def apply_assistance(assistance: CopayAssistance, tier: int, coupon: Cents, allowed: Cents,
                     share: CostShare, t: Trace) -> Assisted:
    """Apply the plan's copay-assistance policy to a claim's cost share.

    Standard: the coupon counts like member money.  Accumulator: only the member's own money
    counts.  Maximizer: the cost share is raised to absorb the coupon (up to the allowed
    amount) and nothing counts.
    """
    deductible, copay, coins, penalty = (share.deductible, share.copay, share.coinsurance,
                                         share.penalty)
    ded_credit, oop_credit = share.deductible_credit, share.oop_credit
    policy = assistance.policy if assistance.applies(tier) else AssistancePolicy.STANDARD
    if coupon and policy is AssistancePolicy.MAXIMIZER:
        target = min(allowed, max(coupon, deductible + copay + coins + penalty))
        copay += target - (deductible + copay + coins + penalty)
        ded_credit = oop_credit = 0
        if t:
            t(f"maximizer: cost share set to {fmt(target)}; nothing accumulates")
    patient_pay = deductible + copay + coins + penalty
    coupon_paid = min(coupon, patient_pay)
    if coupon_paid and policy is AssistancePolicy.ACCUMULATOR:
        own = patient_pay - coupon_paid
        ded_credit = min(ded_credit, own)
        oop_credit = min(oop_credit, own)
        if t:
            t(f"accumulator: only the member's own {fmt(own)} counts")
    return Assisted(copay, patient_pay, ded_credit, oop_credit)
