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

from .accumulators import EMPTY, AccumulatorView, Fill, HistoryView, MemberState, Totals
from .book import Book
from .claim import Claim, Issue, parse_claim
from .codes import Basis, Reject, Status, Transaction
from .costshare import CostShare, compute, remaining
from .edits.history import dur_findings, quantity_in_window, quantity_window
from .eligibility import Member, PriorAuth, age_on, coverage_reject
from .formulary.model import Coverage, Drug, Formulary
from .money import RATE_SCALE, Cents, fmt
from .plan import AssistancePolicy, CostShareRule, Daw0Policy, DawPolicy, Plan
from .pricing.contract import Arm, Network, cheapest, contract_arms, describe, lesser_of
from .result import Alternative, ClaimResult, DurResponse, RejectInfo

_ZERO_RULE = CostShareRule(copay=0)
_LOOKBACK_RTS = 400  # days of history read for refill-too-soon


class Trace:
    """Collects explanation lines when tracing is on; free when it is off."""

    __slots__ = ("lines",)

    def __init__(self, on: bool) -> None:
        self.lines: list[str] | None = [] if on else None

    def __bool__(self) -> bool:
        return self.lines is not None

    def __call__(self, text: str) -> None:
        if self.lines is not None:
            self.lines.append(text)

    def done(self) -> tuple[str, ...]:
        return tuple(self.lines) if self.lines else ()


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
        rule = self._cost_share_rule(claim, plan, formulary, drug, rejects)
        alternatives: tuple[Alternative, ...] = ()
        if any(code in (Reject.STEP_THERAPY, Reject.NOT_ON_FORMULARY) for code, _ in rejects):
            alternatives = _alternatives(formulary, drug)
        if rejects:
            return self._reject_claim(claim, rejects, member=member, plan=plan, drug=drug,
                                      alternatives=alternatives, next_fill=next_fill, dur=dur)
        assert rule is not None
        return self._price_and_share(claim, member, plan, formulary, drug, rule, accumulators, t)

    # -- edits -------------------------------------------------------------------------------

    def prior_auth(self, claim: Claim, member: Member, drug: Drug,
                    rejects: list[tuple[str, str]], t: Trace) -> PriorAuth | None:
        registry = self.book.registry
        if claim.pa_number:
            pa = registry.find_prior_auth(member, drug, claim.date_of_service, claim.pa_number)
            if pa is None and drug.pa_required:
                rejects.append((Reject.PRIOR_AUTH_REQUIRED,
                                f"PA number {claim.pa_number} is not on file for this drug"))
                return None
            if pa is not None:
                if t:
                    t(f"PA {pa.number} on file {pa.start}..{pa.end}")
                return pa
        pa = registry.find_prior_auth(member, drug, claim.date_of_service)
        if pa is not None:
            if t:
                t(f"PA {pa.number} on file {pa.start}..{pa.end}")
        elif drug.pa_required:
            rejects.append((Reject.PRIOR_AUTH_REQUIRED, "prior authorization required"))
        return pa

    def um_edits(self, claim: Claim, member: Member, plan: Plan, formulary: Formulary,
                 drug: Drug, pa: PriorAuth | None, history: HistoryView,
                 rejects: list[tuple[str, str]], t: Trace
                 ) -> tuple[dt.date | None, tuple[DurResponse, ...]]:
        """Formulary status and utilization-management edits; rejects go into ``rejects``.

        ``plan`` supplies the edit policies (days-supply limits, refill threshold and override
        codes, specialty channel, DAW 0 policy).  Returns, for a refill too soon, the next fill
        date and the DUR response.
        """
        bypass = pa.bypasses if pa else frozenset()
        dos = claim.date_of_service
        if drug.coverage is Coverage.EXCLUDED:
            rejects.append((Reject.NOT_COVERED, f"{drug.name} is a plan exclusion"))
        elif drug.coverage is Coverage.NON_FORMULARY and pa is None:
            rejects.append((Reject.NOT_ON_FORMULARY, f"{drug.name} is non-formulary"))

        if drug.step_therapy and "step_therapy" not in bypass:
            self._step_therapy(member, drug, dos, history, rejects, t)
        if drug.quantity_limit and "quantity_limit" not in bypass:
            window, allowed = quantity_window(drug.quantity_limit, claim.days_supply)
            earlier = [f for f in history.fills(member.member_id,
                                                dos - dt.timedelta(days=window - 1), dos)
                       if not _same_claim(f, claim)]
            used = quantity_in_window(earlier, drug.therapy_key)
            if used + claim.quantity > allowed:
                before = f" (with {used / 1000:g} already filled)" if used else ""
                rejects.append((Reject.PLAN_LIMITATIONS_EXCEEDED,
                                f"quantity {claim.quantity / 1000:g}{before} exceeds the limit "
                                f"of {allowed / 1000:g} per {window} days"))
        max_days = plan.max_days_supply.get(claim.channel)
        if drug.max_days_supply is not None:
            max_days = min(max_days or drug.max_days_supply, drug.max_days_supply)
        if max_days is not None and claim.days_supply > max_days and "days_supply" not in bypass:
            rejects.append((Reject.DAYS_SUPPLY_EXCEEDS_LIMIT,
                            f"{claim.days_supply} days exceeds the {max_days}-day limit "
                            f"for {claim.channel.value}"))
        if (drug.min_age is not None or drug.max_age is not None) and "age" not in bypass:
            dob = member.date_of_birth or claim.date_of_birth
            if dob is None:
                rejects.append((Reject.MI_DATE_OF_BIRTH, "date of birth needed for an age edit"))
            else:
                age = age_on(dob, dos)
                if (drug.min_age is not None and age < drug.min_age) or (
                        drug.max_age is not None and age > drug.max_age):
                    rejects.append((Reject.NOT_COVERED_AGE,
                                    f"age {age} is outside {drug.min_age or 0}.."
                                    f"{drug.max_age if drug.max_age is not None else 'any'}"))
        if drug.gender and "gender" not in bypass:
            gender = member.gender or claim.gender
            if gender != drug.gender:
                rejects.append((Reject.NOT_COVERED_GENDER,
                                f"covered for {'male' if drug.gender == 1 else 'female'} "
                                "patients only"))
        if drug.specialty and plan.specialty_channel_required and \
                claim.channel.value != "specialty":
            rejects.append((Reject.SPECIALTY_PHARMACY_REQUIRED,
                            f"{drug.name} must be filled by a specialty pharmacy"))
        next_fill: dt.date | None = None
        dur: tuple[DurResponse, ...] = ()
        if "refill_too_soon" not in bypass and not (
                plan.refill_override_codes.intersection(claim.clarification_codes)):
            next_fill, dur = self._refill_too_soon(claim, member, plan, drug, history, rejects,
                                                   t)
        if plan.dur.active:
            dur = dur + self._dur(claim, member, plan, drug, history, rejects, t)
        if drug.multi_source_brand and claim.daw == 0 and \
                plan.daw.daw0_multisource_brand is Daw0Policy.REJECT and \
                formulary.generic_equivalents(drug):
            rejects.append((Reject.DAW0_MULTISOURCE,
                            "dispense the generic or resubmit with a DAW code"))

        return next_fill, dur

    def _dur(self, claim: Claim, member: Member, plan: Plan, drug: Drug, history: HistoryView,
             rejects: list[tuple[str, str]], t: Trace) -> tuple[DurResponse, ...]:
        """Therapeutic duplication and drug-drug interactions (reject 88 unless overridden by
        a submitted DUR/PPS triple with the same reason and a "filled" result code)."""
        dos = claim.date_of_service
        fills = [f for f in history.fills(member.member_id, dos - dt.timedelta(days=_LOOKBACK_RTS),
                                          dos) if not _same_claim(f, claim)]
        out = []
        for finding in dur_findings(plan.dur, drug, dos, fills):
            overridden = any(o.reason == finding.reason and o.result in plan.dur.override_results
                             for o in claim.dur_overrides)
            if overridden:
                if t:
                    t(f"DUR {finding.reason} overridden: {finding.message}")
                continue
            rejects.append((Reject.DUR_REJECT, f"DUR {finding.reason}: {finding.message}"))
            out.append(DurResponse(finding.reason, finding.fill.date_of_service,
                                   finding.fill.quantity, finding.message, finding.severity))
        return tuple(out)

    def _cost_share_rule(self, claim: Claim, plan: Plan, formulary: Formulary, drug: Drug,
                         rejects: list[tuple[str, str]]) -> CostShareRule | None:
        tier = self._cost_share_tier(plan, formulary, drug, claim.daw)
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

    def _step_therapy(self, member: Member, drug: Drug, dos: dt.date, history: HistoryView,
                      rejects: list[tuple[str, str]], t: Trace) -> None:
        step = drug.step_therapy
        assert step is not None
        start = dos - dt.timedelta(days=step.lookback_days)
        for fill in history.fills(member.member_id, start, dos):
            if fill.groups & step.prerequisites:
                if t:
                    t(f"step therapy met by {fill.ndc} filled {fill.date_of_service}")
                return
            if fill.therapy_key == drug.therapy_key:
                if t:
                    t(f"step therapy: continuing therapy since {fill.date_of_service}")
                return
        names = ", ".join(sorted(step.prerequisites))
        rejects.append((Reject.STEP_THERAPY,
                        f"requires a fill of {names} in the last {step.lookback_days} days"))

    def _refill_too_soon(self, claim: Claim, member: Member, plan: Plan, drug: Drug,
                         history: HistoryView, rejects: list[tuple[str, str]],
                         t: Trace) -> tuple[dt.date | None, tuple[DurResponse, ...]]:
        dos = claim.date_of_service
        latest: dt.date | None = None
        previous: Fill | None = None
        start = dos - dt.timedelta(days=_LOOKBACK_RTS)
        for fill in history.fills(member.member_id, start, dos):
            if fill.therapy_key != drug.therapy_key:
                continue
            if _same_claim(fill, claim):
                continue  # the claim itself (a rebill or duplicate), not an earlier fill
            wait = -(-fill.days_supply * plan.refill_threshold // RATE_SCALE)
            next_date = fill.date_of_service + dt.timedelta(days=wait)
            if latest is None or next_date > latest:
                latest, previous = next_date, fill
        if latest is not None and dos < latest and previous is not None:
            rejects.append((Reject.REFILL_TOO_SOON,
                            f"previous fill {previous.date_of_service} for "
                            f"{previous.days_supply} days; next fill {latest.isoformat()}"))
            return latest, (DurResponse("ER", previous.date_of_service, previous.quantity,
                                        "early refill"),)
        if previous is not None and t:
            t(f"refill too soon: previous fill {previous.date_of_service}, eligible {latest}")
        return None, ()

    def _cost_share_tier(self, plan: Plan, formulary: Formulary, drug: Drug, daw: int) -> int:
        """The tier whose cost share applies: the generic tier for DAW codes the plan treats
        as generic, and under a brand penalty charged on top of the generic cost share."""
        if not drug.multi_source_brand:
            return drug.tier
        policy = plan.daw
        if daw in policy.generic_cost_share_codes:
            return plan.generic_tier
        if (self._penalty_applies(plan, drug, daw) and policy.penalty_base == "generic"
                and formulary.generic_equivalents(drug)):
            return plan.generic_tier
        return drug.tier

    @staticmethod
    def _penalty_applies(plan: Plan, drug: Drug, daw: int) -> bool:
        if not drug.multi_source_brand:
            return False
        if daw in plan.daw.penalty_codes:
            return True
        return daw == 0 and plan.daw.daw0_multisource_brand is Daw0Policy.PENALTY

    # -- pricing and cost share --------------------------------------------------------------

    def _generic_arm(self, network: Network, formulary: Formulary, drug: Drug, claim: Claim
                     ) -> tuple[Arm, Drug] | None:
        """The cheapest contract price of a generic equivalent for the same quantity."""
        terms = network.terms_for(claim.channel, False, claim.date_of_service)
        if terms is None:
            return None
        best: tuple[Arm, Drug] | None = None
        prices = self.book.prices
        for generic in formulary.generic_equivalents(drug):
            arm = cheapest(contract_arms(terms, prices.price(generic.ndc, claim.date_of_service),
                                         prices.nadac(generic.ndc, claim.date_of_service),
                                         claim.quantity))
            if arm is not None and (best is None or arm.total < best[0].total):
                best = (arm, generic)
        return best

    def price_claim(self, claim: Claim, network: Network, formulary: Formulary, drug: Drug,
                    daw: DawPolicy, max_claim_cost: Cents | None, t: Trace | None = None
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
            generic = self._generic_arm(network, formulary, drug, claim)
            if generic is not None:
                contract = generic[0]
                if t:
                    t(f"DAW {claim.daw}: priced as generic {generic[1].ndc}: {describe(contract)}")
        if contract is None:
            terms = network.terms_for(claim.channel, drug.brand, dos)
            if terms is not None:
                arms = contract_arms(terms, self.book.prices.price(drug.ndc, dos),
                                     self.book.prices.nadac(drug.ndc, dos), claim.quantity)
                if t:
                    for arm in arms:
                        if t:
                            t(f"price arm {describe(arm)}")
                contract = cheapest(arms)
        submitted = None
        if claim.gross_amount_due is not None:
            if claim.ingredient_cost is not None and \
                    claim.gross_amount_due != claim.ingredient_cost + claim.dispensing_fee:
                rejects.append((Reject.GROSS_AMOUNT_DUE_FORMULA,
                                f"gross amount due {fmt(claim.gross_amount_due)} is not "
                                f"ingredient {fmt(claim.ingredient_cost)} + fee "
                                f"{fmt(claim.dispensing_fee)}"))
            fee = min(claim.dispensing_fee, claim.gross_amount_due)
            submitted = Arm(Basis.INGREDIENT_AS_SUBMITTED, claim.gross_amount_due - fee, fee)
        elif claim.ingredient_cost is not None:
            submitted = Arm(Basis.INGREDIENT_AS_SUBMITTED, claim.ingredient_cost,
                            claim.dispensing_fee)
        paid = lesser_of(contract, submitted, claim.usual_and_customary)
        if paid is None:
            rejects.append((Reject.MI_INGREDIENT_COST,
                            "no contract price on file and no submitted cost or U&C"))
        elif max_claim_cost is not None and paid.total > max_claim_cost:
            rejects.append((Reject.COST_EXCEEDS_MAXIMUM,
                            f"{fmt(paid.total)} exceeds the {fmt(max_claim_cost)} review "
                            "threshold"))
        elif t:
            t(f"paid on {paid.label} (basis {paid.basis.value}): {fmt(paid.total)}")
        return paid, generic, rejects

    def _price_and_share(self, claim: Claim, member: Member, plan: Plan, formulary: Formulary,
                         drug: Drug, rule: CostShareRule, accumulators: AccumulatorView,
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
        if self._penalty_applies(plan, drug, claim.daw):
            generic = generic or self._generic_arm(network, formulary, drug, claim)
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
        tier = self._cost_share_tier(plan, formulary, drug, claim.daw)
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
        from .medicare.adjudicate import adjudicate_part_d

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


def _same_claim(fill: Fill, claim: Claim) -> bool:
    return (fill.rx_number, fill.fill_number, fill.pharmacy_id, fill.date_of_service) == (
        claim.rx_number, claim.fill_number, claim.pharmacy_id, claim.date_of_service)


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
    groups = set(drug.groups)
    if drug.step_therapy:
        groups |= drug.step_therapy.prerequisites
    found = formulary.alternatives(frozenset(groups))
    return tuple(Alternative(d.ndc, d.name, d.tier) for d in found if d.ndc != drug.ndc)


def _opt_fmt(cents: Cents | None) -> str:
    return "none" if cents is None else fmt(cents)
