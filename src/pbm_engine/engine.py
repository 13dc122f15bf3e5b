"""The adjudication pipeline: the one place that orders the steps.

``Engine.adjudicate`` is a pure function of the request, the reference book, the member's
accumulators and fill history (read through small views) and an optional processing date.  It
never reads the clock, never draws a random number and never writes: it returns a
:class:`ClaimResult` whose ``delta`` says what the accumulators should become.  Stores apply
that delta (see :mod:`pbm_engine.processor`).

Steps: parse -> eligibility -> product and formulary -> utilization management edits (all
rejects collected) -> pricing (lesser of) -> generic substitution and brand penalty ->
cost share (deductible, copay/coinsurance, caps) -> copay assistance -> result.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import orjson

from pbm_engine.accumulators import EMPTY, AccumulatorView, Fill, HistoryView, MemberState, Totals
from pbm_engine.benefit.costshare import CostShare, compute, remaining
from pbm_engine.benefit.plan import AssistancePolicy, CostShareRule, DawPolicy, Plan
from pbm_engine.book import Book
from pbm_engine.claim import Claim, Issue, parse_claim
from pbm_engine.codes import Reject, Status, Transaction
from pbm_engine.edits import utilization
from pbm_engine.eligibility.members import Member, PriorAuth, coverage_reject
from pbm_engine.formulary.model import Drug, Formulary
from pbm_engine.formulary.substitution import (
    alternatives_offered,
    cost_share_tier,
    generic_arm,
    penalty_applies,
)
from pbm_engine.money import Cents, fmt
from pbm_engine.pricing.claim_price import price_claim
from pbm_engine.pricing.contract import Arm, Network
from pbm_engine.result import Alternative, ClaimResult, DurResponse, RejectInfo
from pbm_engine.trace import Trace

_ZERO_RULE = CostShareRule(copay=0)


class Engine:
    """Adjudicates claims against a :class:`Book`.  Thread-safe: it holds no mutable state."""

    def __init__(self, book: Book, *, trace: bool = False) -> None:
        self.book = book
        self.trace_default = trace

    # -- entry point -------------------------------------------------------------------------

    def adjudicate(
        self,
        request: Claim | Mapping[str, Any] | str | bytes,
        *,
        accumulators: AccumulatorView = EMPTY,
        history: HistoryView = EMPTY,
        as_of: dt.date | None = None,
        trace: bool | None = None,
    ) -> ClaimResult:
        """Adjudicate one B1 (or the billing half of a B3) and return the result.

        ``as_of`` is the processing date for the post-dated (82) and timely-filing (81) edits;
        leave it None to skip them (batch reprocessing of history).  Never raises for bad input.
        """
        t = Trace(self.trace_default if trace is None else trace)
        if isinstance(request, Claim):
            claim = request
        else:
            parsed = self.parse(request)
            if isinstance(parsed, ClaimResult):
                return parsed
            claim = parsed
        if claim.transaction is Transaction.REVERSAL:
            return self._reject_claim(claim, [(Reject.REVERSAL_NOT_PROCESSED,
                                       "a reversal needs a claim store: use Processor")])
        return self._billing(claim, accumulators, history, as_of, t)

    def parse(self, request: Mapping[str, Any] | str | bytes) -> Claim | ClaimResult:
        """Parse a request into a claim, or a rejected result naming every bad field."""
        if isinstance(request, str | bytes):
            try:
                request = orjson.loads(request)
            except orjson.JSONDecodeError as exc:
                return ClaimResult(Status.REJECTED, Transaction.BILLING,
                                   rejects=(RejectInfo(Reject.SYNTAX_ERROR,
                                                       f"malformed JSON: {exc}"),))
        parsed = parse_claim(request, self.book.known_ndcs)  # type: ignore[arg-type]
        if parsed.claim is None:
            return _rejected_from_issues(parsed.issues, parsed.raw)
        return parsed.claim

    def drug_for(self, plan_id: str, ndc: str) -> Drug | None:
        """The formulary entry a plan uses for an NDC."""
        plan = self.book.plans.get(plan_id)
        if plan is not None:
            return self.book.formularies[plan.formulary_id].get(ndc)
        part_d = self.book.part_d_plans.get(plan_id)
        return part_d.formulary.get(ndc) if part_d is not None else None

    def fill_for(self, claim: Claim, result: ClaimResult) -> Fill:
        """The history record a paid claim leaves for later edits."""
        drug = self.drug_for(result.plan_id, claim.ndc)
        return Fill(
            member_id=result.member_id,
            date_of_service=claim.date_of_service,
            ndc=claim.ndc,
            therapy_key=drug.therapy_key if drug else claim.ndc,
            groups=drug.groups if drug else frozenset(),
            quantity=claim.quantity,
            days_supply=claim.days_supply,
            rx_number=claim.rx_number,
            fill_number=claim.fill_number,
            pharmacy_id=claim.pharmacy_id,
        )

    # -- billing -----------------------------------------------------------------------------

    def _billing(self, claim: Claim, accumulators: AccumulatorView, history: HistoryView,
                 as_of: dt.date | None, t: Trace) -> ClaimResult:
        book = self.book
        rejects: list[tuple[str, str]] = []
        dos = claim.date_of_service

        member = book.registry.get(claim.cardholder_id, claim.person_code)
        if member is None:
            if claim.cardholder_id in book.registry.cardholders:
                rejects.append((Reject.NON_MATCHED_PERSON_CODE,
                                f"person code {claim.person_code} is not on cardholder "
                                f"{claim.cardholder_id}"))
            else:
                rejects.append((Reject.NON_MATCHED_CARDHOLDER,
                                f"cardholder {claim.cardholder_id} is not on file"))
            return self._reject_claim(claim, rejects)
        plan = book.plans.get(member.plan_id)
        if plan is None:  # a Part D member: adjudicated by the Medicare engine
            return self._part_d(claim, member, accumulators, history, as_of, t)
        if t:
            t(f"member {member.member_id} family {member.family_id} plan {plan.plan_id}")

        if as_of is not None:
            if dos > as_of:
                rejects.append((Reject.CLAIM_POST_DATED,
                                f"date of service {dos} is after {as_of}"))
            elif plan.timely_filing_days is not None and (as_of - dos).days > \
                    plan.timely_filing_days:
                rejects.append((Reject.CLAIM_TOO_OLD,
                                f"older than the {plan.timely_filing_days}-day filing limit"))
        if claim.date_of_birth and member.date_of_birth and \
                claim.date_of_birth != member.date_of_birth:
            rejects.append((Reject.MI_DATE_OF_BIRTH, "date of birth does not match the member"))
        if claim.gender and member.gender and claim.gender != member.gender:
            rejects.append((Reject.MI_GENDER, "gender does not match the member"))
        problem = coverage_reject(member, dos)
        if problem:
            rejects.append(problem)

        formulary = book.formularies[plan.formulary_id]
        drug = formulary.get(claim.ndc)
        if drug is None:
            if book.prices.known(claim.ndc):
                rejects.append((Reject.NOT_ON_FORMULARY, f"NDC {claim.ndc} is not on formulary "
                                f"{formulary.formulary_id}"))
            else:
                rejects.append((Reject.NON_MATCHED_PRODUCT, f"NDC {claim.ndc} is not known"))
            return self._reject_claim(claim, rejects, member=member, plan=plan)
        if t:
            kind = "brand" if drug.brand else "generic"
            t(f"drug {drug.ndc} {drug.name}: tier {drug.tier}, {kind}"
              f"{', multi-source' if drug.multi_source else ''}")

        pa = self.prior_auth(claim, member, drug, rejects, t)
        next_fill, dur = self.um_edits(claim, member, plan, formulary, drug, pa, history,
                                       rejects, t)
        tier = cost_share_tier(plan, formulary, drug, claim.daw)
        rule = self._cost_share_rule(claim, plan, tier, drug, rejects)
        alternatives: tuple[Alternative, ...] = ()
        if any(code in (Reject.STEP_THERAPY, Reject.NOT_ON_FORMULARY) for code, _ in rejects):
            alternatives = _alternatives(formulary, drug)
        if rejects:
            return self._reject_claim(claim, rejects, member=member, plan=plan, drug=drug,
                                      alternatives=alternatives, next_fill=next_fill, dur=dur)
        assert rule is not None
        return self._price_and_share(claim, member, plan, formulary, drug, tier, rule,
                                     accumulators, t)

    # -- edits -------------------------------------------------------------------------------

    def prior_auth(self, claim: Claim, member: Member, drug: Drug,
                   rejects: list[tuple[str, str]], t: Trace) -> PriorAuth | None:
        """The PA on file that covers the claim (see :func:`edits.utilization.prior_auth`)."""
        return utilization.prior_auth(self.book.registry, claim, member, drug, rejects, t)

    def um_edits(self, claim: Claim, member: Member, plan: Plan, formulary: Formulary,
                 drug: Drug, pa: PriorAuth | None, history: HistoryView,
                 rejects: list[tuple[str, str]], t: Trace
                 ) -> tuple[dt.date | None, tuple[DurResponse, ...]]:
        """Formulary status and utilization-management edits (see
        :func:`edits.utilization.um_edits`)."""
        return utilization.um_edits(claim, member, plan, formulary, drug, pa, history, rejects,
                                    t)

    def _cost_share_rule(self, claim: Claim, plan: Plan, tier: int, drug: Drug,
                         rejects: list[tuple[str, str]]) -> CostShareRule | None:
        rule = plan.schedule.rule(tier, claim.channel, claim.days_supply)
        if rule is None:
            if drug.preventive and plan.preventive_zero:
                return _ZERO_RULE
            explained = {Reject.DAYS_SUPPLY_EXCEEDS_LIMIT, Reject.SPECIALTY_PHARMACY_REQUIRED}
            if not explained.intersection(code for code, _ in rejects):
                rejects.append((Reject.NOT_COVERED,
                                f"no benefit for tier {tier} at {claim.channel.value} for "
                                f"{claim.days_supply} days"))
        return rule

    # -- pricing and cost share --------------------------------------------------------------

    def price_claim(self, claim: Claim, network: Network, formulary: Formulary, drug: Drug,
                    daw: DawPolicy, max_claim_cost: Cents | None, t: Trace | None = None
                    ) -> tuple[Arm | None, tuple[Arm, Drug] | None, list[tuple[str, str]]]:
        """Price a claim (see :func:`pricing.claim_price.price_claim`)."""
        return price_claim(self.book.prices, claim, network, formulary, drug, daw,
                           max_claim_cost, t)

    def _price_and_share(self, claim: Claim, member: Member, plan: Plan, formulary: Formulary,
                         drug: Drug, tier: int, rule: CostShareRule,
                         accumulators: AccumulatorView,
                         t: Trace) -> ClaimResult:
        book = self.book
        dos = claim.date_of_service
        network = book.networks[plan.network_id]
        paid, generic, rejects = self.price_claim(claim, network, formulary, drug, plan.daw,
                                                  plan.max_claim_cost, t)
        if rejects or paid is None:
            return self._reject_claim(claim, rejects, member=member, plan=plan, drug=drug)
        allowed = paid.total

        # Generic substitution: the brand penalty.
        penalty = 0
        if penalty_applies(plan, drug, claim.daw):
            generic = generic or generic_arm(self.book.prices, network, formulary, drug, claim)
            if generic is not None:
                penalty = max(0, paid.ingredient - generic[0].ingredient)
                if t:
                    t(f"brand penalty: brand ingredient {fmt(paid.ingredient)} - generic "
                      f"{generic[1].ndc} ingredient {fmt(generic[0].ingredient)} "
                      f"({generic[0].label}) = {fmt(penalty)}")
            else:
                if t:
                    t("brand penalty: no priced generic equivalent, no penalty")

        # Accumulators as of the claim.
        year = plan.year_of(dos)
        state: MemberState = accumulators.state(plan.plan_id, year, member.member_id,
                                                member.family_id)
        family = book.registry.family_coverage(member)
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
        return self._finish(claim, member, plan, drug, paid, share, state, ded_left, oop_left,
                            family, year, t)

    def _finish(self, claim: Claim, member: Member, plan: Plan, drug: Drug, paid: Arm,
                share: CostShare, state: MemberState, ded_left: Cents | None,
                oop_left: Cents | None, family: bool, year: dt.date, t: Trace) -> ClaimResult:
        allowed = paid.total
        deductible, copay, coins, penalty = (share.deductible, share.copay, share.coinsurance,
                                             share.penalty)
        ded_credit, oop_credit = share.deductible_credit, share.oop_credit

        # Copay assistance (the coupon in 431-DV).
        coupon = claim.other_payer_amount
        assistance = plan.copay_assistance
        policy = assistance.policy if assistance.applies(drug.tier) else AssistancePolicy.STANDARD
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

        delta = Totals(deductible=ded_credit, oop=oop_credit, plan_paid=plan_pay)
        after_member = state.member.plus(delta)
        after_family = state.family.plus(delta)
        rem_ded = remaining(plan.deductible, after_member.deductible, after_family.deductible,
                            family)
        rem_oop = remaining(plan.oop_max, after_member.oop, after_family.oop, family)
        return ClaimResult(
            status=Status.PAID,
            transaction=claim.transaction,
            pharmacy_id=claim.pharmacy_id,
            rx_number=claim.rx_number,
            fill_number=claim.fill_number,
            date_of_service=claim.date_of_service,
            cardholder_id=claim.cardholder_id,
            person_code=claim.person_code,
            member_id=member.member_id,
            family_id=member.family_id,
            plan_id=plan.plan_id,
            ndc=drug.ndc,
            drug_name=drug.name,
            tier=drug.tier,
            ingredient_cost_paid=paid.ingredient,
            dispensing_fee_paid=paid.fee,
            total_price=allowed,
            patient_pay=patient_pay,
            plan_pay=plan_pay,
            other_payer_paid=coupon_paid,
            member_paid=member_paid,
            deductible_applied=deductible,
            copay_amount=copay,
            coinsurance_amount=coins,
            product_selection_amount=penalty,
            exceeding_benefit_max=exceeding,
            accumulated_deductible=after_member.deductible if plan.deductible else None,
            remaining_deductible=rem_ded,
            remaining_oop=rem_oop,
            remaining_benefit=remaining_benefit,
            basis=paid.basis.value,
            plan_year=year,
            delta=delta,
            trace=t.done(),
        )

    # -- Part D ------------------------------------------------------------------------------

    def _part_d(self, claim: Claim, member: Member, accumulators: AccumulatorView,
                history: HistoryView, as_of: dt.date | None, t: Trace) -> ClaimResult:
        """Medicare Part D members are adjudicated by :mod:`pbm_engine.medicare.adjudicate`."""
        plan = self.book.part_d_plans.get(member.plan_id)
        if plan is None:
            return self._reject_claim(claim, [(Reject.PATIENT_NOT_COVERED,
                                               f"plan {member.plan_id} is not loaded")],
                                      member=member)
        from pbm_engine.medicare.adjudicate import adjudicate_part_d

        return adjudicate_part_d(self, plan, claim, member, accumulators, history, as_of, t)

    # -- rejects -----------------------------------------------------------------------------

    def _reject_claim(self, claim: Claim, rejects: list[tuple[str, str]], *,
                      member: Member | None = None, plan: Plan | None = None,
                      drug: Drug | None = None, alternatives: tuple[Alternative, ...] = (),
                      next_fill: dt.date | None = None, dur: tuple[DurResponse, ...] = ()
                      ) -> ClaimResult:
        return ClaimResult(
            status=Status.REJECTED,
            transaction=claim.transaction,
            pharmacy_id=claim.pharmacy_id,
            rx_number=claim.rx_number,
            fill_number=claim.fill_number,
            date_of_service=claim.date_of_service,
            cardholder_id=claim.cardholder_id,
            person_code=claim.person_code,
            member_id=member.member_id if member else "",
            family_id=member.family_id if member else "",
            plan_id=plan.plan_id if plan else (member.plan_id if member else ""),
            ndc=claim.ndc,
            drug_name=drug.name if drug else "",
            tier=drug.tier if drug else None,
            rejects=_dedupe(rejects),
            alternatives=alternatives,
            next_fill_date=next_fill,
            dur=dur,
        )


def _dedupe(rejects: list[tuple[str, str]]) -> tuple[RejectInfo, ...]:
    seen: dict[str, RejectInfo] = {}
    for code, message in rejects:
        if code in seen:
            seen[code] = RejectInfo(code, f"{seen[code].message}; {message}")
        else:
            seen[code] = RejectInfo(str(code), message)
    return tuple(seen.values())


def _rejected_from_issues(issues: list[Issue], raw: dict[str, Any]) -> ClaimResult:
    fill = raw.get("fill_number")
    return ClaimResult(
        status=Status.REJECTED,
        transaction=Transaction.BILLING,
        pharmacy_id=str(raw.get("pharmacy_id") or ""),
        rx_number=str(raw.get("rx_number") or ""),
        fill_number=fill if isinstance(fill, int) and not isinstance(fill, bool) else 0,
        cardholder_id=str(raw.get("cardholder_id") or ""),
        person_code=str(raw.get("person_code") or ""),
        ndc=str(raw.get("ndc") or ""),
        rejects=_dedupe([(i.code, i.message) for i in issues]),
    )


def _alternatives(formulary: Formulary, drug: Drug) -> tuple[Alternative, ...]:
    return alternatives_offered(formulary, drug)


def _opt_fmt(cents: Cents | None) -> str:
    return "none" if cents is None else fmt(cents)
