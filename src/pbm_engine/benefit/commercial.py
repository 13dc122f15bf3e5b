"""The commercial benefit: the plan's cost-share tier and rule, the waterfall (deductible,
copay or coinsurance, caps), copay assistance and the annual benefit maximum.

:class:`CommercialBenefit` is the benefit the engine applies for a member of a commercial
:class:`~pbm_engine.benefit.plan.Plan`; Medicare Part D plans have their own
(:class:`pbm_engine.medicare.adjudicate.PartDBenefit`).
"""

from __future__ import annotations

from pbm_engine.accumulators import AccumulatorView, MemberState, Totals
from pbm_engine.benefit.assistance import apply_assistance
from pbm_engine.benefit.costshare import compute, remaining
from pbm_engine.benefit.plan import CostShareRule, Plan
from pbm_engine.claim import Claim
from pbm_engine.codes import Reject
from pbm_engine.eligibility.members import Eligibility, Member
from pbm_engine.formulary.model import Drug, Formulary
from pbm_engine.money import Cents, fmt
from pbm_engine.pricing.claim_price import PricedClaim
from pbm_engine.pricing.substitution import penalty_applies
from pbm_engine.result import Share
from pbm_engine.trace import Trace

__all__ = ["CommercialBenefit", "cost_share_tier"]

_ZERO_RULE = CostShareRule(copay=0)
_EXPLAINED = frozenset({Reject.DAYS_SUPPLY_EXCEEDS_LIMIT, Reject.SPECIALTY_PHARMACY_REQUIRED})


def cost_share_tier(plan: Plan, formulary: Formulary, drug: Drug, daw: int) -> int:
    """The tier whose cost share applies: the generic tier for DAW codes the plan treats
    as generic, and under a brand penalty charged on top of the generic cost share."""
    if not drug.multi_source_brand:
        return drug.tier
    policy = plan.daw
    if daw in policy.generic_cost_share_codes:
        return plan.generic_tier
    if (
        penalty_applies(policy, drug, daw)
        and policy.penalty_base == "generic"
        and formulary.generic_equivalents(drug)
    ):
        return plan.generic_tier
    return drug.tier


class CommercialBenefit:
    """A commercial plan's benefit, for the engine's pipeline (see ``engine.Benefit``)."""

    __slots__ = ("edits", "formulary", "network_id", "plan", "plan_id", "registry")

    data_errors: tuple[type[Exception], ...] = ()
    year: int | None = None

    def __init__(self, plan: Plan, formulary: Formulary, registry: Eligibility) -> None:
        self.plan = plan
        self.plan_id = plan.plan_id
        self.edits = plan
        self.formulary = formulary
        self.network_id = plan.network_id
        self.registry = registry

    def data_reject(self, exc: Exception) -> tuple[str, str]:
        """Not used: a commercial plan's data problems are configuration errors that raise."""
        return Reject.CLAIM_NOT_PROCESSED, str(exc)

    def describe_member(self, member: Member) -> str:
        """The trace line naming the member and plan."""
        return f"member {member.member_id} family {member.family_id} plan {self.plan_id}"

    def member_rejects(self, member: Member, rejects: list[tuple[str, str]]) -> None:
        """Nothing beyond the shared eligibility edits."""

    def unlisted(self, ndc: str, priced: bool, listed: bool) -> tuple[str, str]:
        """The reject for an NDC not on the plan's formulary (MR if it has a price, else 54)."""
        if priced:
            return (Reject.NOT_ON_FORMULARY,
                    f"NDC {ndc} is not on formulary {self.formulary.formulary_id}")
        return Reject.NON_MATCHED_PRODUCT, f"NDC {ndc} is not known"

    def describe_drug(self, drug: Drug) -> str:
        """The trace line naming the drug."""
        kind = "brand" if drug.brand else "generic"
        return (f"drug {drug.ndc} {drug.name}: tier {drug.tier}, {kind}"
                f"{', multi-source' if drug.multi_source else ''}")

    def cover(self, claim: Claim, drug: Drug, rejects: list[tuple[str, str]]
              ) -> tuple[int, CostShareRule | None]:
        """The cost-share tier and rule of the fill; no rule for the tier, channel and days
        supply rejects 70 (unless an edit already explains it)."""
        plan = self.plan
        tier = cost_share_tier(plan, self.formulary, drug, claim.daw)
        rule = plan.schedule.rule(tier, claim.channel, claim.days_supply)
        if rule is None:
            if drug.preventive and plan.preventive_zero:
                return tier, _ZERO_RULE
            if not _EXPLAINED.intersection(code for code, _ in rejects):
                rejects.append((Reject.NOT_COVERED,
                                f"no benefit for tier {tier} at {claim.channel.value} for "
                                f"{claim.days_supply} days"))
        return tier, rule

    def map_rejects(self, drug: Drug, rejects: list[tuple[str, str]]) -> None:
        """Commercial rejects keep their codes and wording."""

    def share(self, priced: PricedClaim, member: Member,
              terms: tuple[int, CostShareRule | None], accumulators: AccumulatorView,
              t: Trace) -> Share:
        """Deductible, copay/coinsurance, caps, copay assistance and the benefit maximum."""
        plan = self.plan
        claim, drug, paid, penalty = priced.claim, priced.drug, priced.paid, priced.penalty
        tier, rule = terms
        assert rule is not None
        allowed = paid.total
        year = plan.year_of(claim.date_of_service)
        state: MemberState = accumulators.state(plan.plan_id, year, member.member_id,
                                                member.family_id)
        family = self.registry.family_coverage(member)
        ded_left = remaining(plan.deductible, state.member.deductible, state.family.deductible,
                             family)
        oop_left = remaining(plan.oop_max, state.member.oop, state.family.oop, family)
        exempt = (tier in plan.deductible_exempt_tiers
                  or (drug.insulin and plan.insulin_deductible_exempt))
        zero = drug.preventive and plan.preventive_zero
        cap = None
        if drug.insulin and plan.insulin_cap_30 is not None:
            cap = plan.insulin_cap_30 * max(1, -(-claim.days_supply // 30))
        if t:
            t(f"cost share rule {rule.describe()}; deductible left "
              f"{_opt_fmt(ded_left)}, OOP left {_opt_fmt(oop_left)}"
              f"{'; preventive $0' if zero else ''}{'; deductible exempt' if exempt else ''}")
        share = compute(
            allowed=allowed, penalty=penalty, rule=rule, deductible_left=ded_left,
            oop_left=oop_left, deductible_applies=not exempt, zero_cost_share=zero, cap=cap,
            penalty_counts_toward_deductible=plan.daw.penalty_counts_toward_deductible,
            penalty_counts_toward_oop=plan.daw.penalty_counts_toward_oop,
        )
        if share.capped_by and t:
            t(f"cost share capped by the {share.capped_by}")

        # Copay assistance (the coupon in 431-DV).
        coupon = claim.other_payer_amount
        assisted = apply_assistance(plan.copay_assistance, drug.tier, coupon, allowed, share, t)
        patient_pay = assisted.patient_pay

        # Annual benefit maximum: what the plan would pay past it moves to the member (520-FK).
        plan_pay = allowed - patient_pay
        exceeding = 0
        remaining_benefit = None
        if plan.annual_benefit_max is not None:
            left = max(0, plan.annual_benefit_max - state.member.plan_paid)
            if plan_pay > left:
                exceeding = plan_pay - left
                plan_pay = left
                patient_pay += exceeding
                if t:
                    t(f"benefit maximum: {fmt(exceeding)} exceeds it")
            remaining_benefit = left - plan_pay
        coupon_paid = min(coupon, patient_pay)
        member_paid = patient_pay - coupon_paid
        if t:
            t(f"patient pays {fmt(patient_pay)} (coupon {fmt(coupon_paid)}, member "
              f"{fmt(member_paid)}); plan pays {fmt(plan_pay)}")

        delta = Totals(deductible=assisted.deductible_credit, oop=assisted.oop_credit,
                       plan_paid=plan_pay)
        after_member = state.member.plus(delta)
        after_family = state.family.plus(delta)
        return Share(
            total_price=allowed,
            patient_pay=patient_pay,
            plan_pay=plan_pay,
            other_payer_paid=coupon_paid,
            member_paid=member_paid,
            deductible_applied=share.deductible,
            copay_amount=assisted.copay,
            coinsurance_amount=share.coinsurance,
            product_selection_amount=share.penalty,
            exceeding_benefit_max=exceeding,
            accumulated_deductible=after_member.deductible if plan.deductible else None,
            remaining_deductible=remaining(plan.deductible, after_member.deductible,
                                           after_family.deductible, family),
            remaining_oop=remaining(plan.oop_max, after_member.oop, after_family.oop, family),
            remaining_benefit=remaining_benefit,
            plan_year=year,
            delta=delta,
        )


def _opt_fmt(cents: Cents | None) -> str:
    return "none" if cents is None else fmt(cents)
