"""The adjudication pipeline: the one place that orders the steps.

``Engine.adjudicate`` is a pure function of the request, the reference book, the member's
accumulators and fill history (read through small views) and an optional processing date.  It
never reads the clock, never draws a random number and never writes: it returns a
:class:`ClaimResult` whose ``delta`` says what the accumulators should become.  Stores apply
that delta (see :mod:`pbm_engine.processor`).

Steps, the same for every claim: parse -> eligibility -> product and formulary -> utilization
management edits (all rejects collected) -> pricing (lesser of) -> generic substitution and brand
penalty -> the plan's benefit -> result.

The benefit is the one step that differs by kind of plan.  A plan's :class:`Benefit` (the
commercial waterfall, :class:`~pbm_engine.benefit.commercial.CommercialBenefit`, or Medicare
Part D, :class:`~pbm_engine.medicare.adjudicate.PartDBenefit`) computes the share of a priced
claim and supplies the policies where its kind differs: an extra eligibility check, the reject
for an unlisted drug, the coverage check of the fill, the wording of rejects and which data
errors become a reject 85.  A new kind of benefit is a new implementation, not a new pipeline.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, NamedTuple, Protocol, TypeVar

import orjson

from pbm_engine.accumulators import EMPTY, AccumulatorView, Fill, HistoryView, HistoryWindow
from pbm_engine.benefit.commercial import CommercialBenefit
from pbm_engine.book import Book
from pbm_engine.claim import Claim, Issue, parse_claim
from pbm_engine.codes import Reject, Status, Transaction
from pbm_engine.edits.utilization import lookback_days, prior_auth, um_edits
from pbm_engine.eligibility.members import Eligibility, Member, coverage_reject
from pbm_engine.formulary.model import Drug, Formulary
from pbm_engine.medicare.adjudicate import PartDBenefit
from pbm_engine.policy import EditPolicy
from pbm_engine.pricing.claim_price import PricedClaim, price_claim
from pbm_engine.pricing.substitution import brand_penalty
from pbm_engine.result import (
    Alternative,
    ClaimResult,
    DurResponse,
    RejectInfo,
    Share,
    dedupe_rejects,
    paid_result,
    rejected,
)
from pbm_engine.trace import Trace

__all__ = ["Benefit", "Engine"]

T = TypeVar("T")

_ALTERNATIVES_FOR = (Reject.STEP_THERAPY, Reject.NOT_ON_FORMULARY)


class Benefit(Protocol[T]):
    """The plan's benefit as the pipeline sees it: its policies and the share of a priced claim.

    ``T`` is what :meth:`cover` finds about the fill (the commercial cost-share tier and rule)
    and hands to :meth:`share`.  Implementations: the commercial waterfall
    (:class:`~pbm_engine.benefit.commercial.CommercialBenefit`) and Medicare Part D
    (:class:`~pbm_engine.medicare.adjudicate.PartDBenefit`).
    """

    @property
    def plan_id(self) -> str: ...
    @property
    def year(self) -> int | None: ...  # a plan year the date of service must fall in (65)
    @property
    def edits(self) -> EditPolicy: ...
    @property
    def formulary(self) -> Formulary: ...
    @property
    def network_id(self) -> str: ...
    @property
    def data_errors(self) -> tuple[type[Exception], ...]: ...  # see data_reject

    def data_reject(self, exc: Exception) -> tuple[str, str]:
        """The reject for a data problem (one of ``data_errors``) met while adjudicating."""
        ...

    def describe_member(self, member: Member) -> str:
        """The trace line naming the member and plan."""
        ...

    def member_rejects(self, member: Member, rejects: list[tuple[str, str]]) -> None:
        """Eligibility edits of this kind of benefit, after the shared ones."""
        ...

    def unlisted(self, ndc: str, priced: bool, listed: bool) -> tuple[str, str]:
        """The reject for an NDC not on the formulary (``priced``: the NDC has a price;
        ``listed``: some formulary of the book lists it)."""
        ...

    def describe_drug(self, drug: Drug) -> str:
        """The trace line naming the drug."""
        ...

    def cover(self, claim: Claim, drug: Drug, rejects: list[tuple[str, str]]) -> T:
        """Whether the benefit covers the fill (may add rejects); what :meth:`share` needs."""
        ...

    def map_rejects(self, drug: Drug, rejects: list[tuple[str, str]]) -> None:
        """Rewrite the rejects found in this kind's terms (in place)."""
        ...

    def share(self, priced: PricedClaim, member: Member, terms: T,
              accumulators: AccumulatorView, t: Trace) -> Share:
        """Who pays what of the priced claim, and the accumulator delta."""
        ...


class Engine:
    """Adjudicates claims against a :class:`Book`.  Thread-safe: it holds no mutable state.

    Members come from ``members`` (any :class:`Eligibility`, e.g. a claim store holding an
    imported eligibility file), by default from the book's registry.
    """

    def __init__(self, book: Book, *, trace: bool = False,
                 members: Eligibility | None = None) -> None:
        self.book = book
        self.trace_default = trace
        self._members = members
        # plan id -> (what its benefit was built from, the benefit); see benefit_for.  Filling
        # it is idempotent, so sharing an engine across threads is safe.
        self._benefits: dict[str, tuple[tuple[object, ...], Benefit[Any]]] = {}

    @property
    def members(self) -> Eligibility:
        """Where members are looked up: the ``members`` given, else the book's registry."""
        return self.book.registry if self._members is None else self._members

    def with_members(self, members: Eligibility) -> Engine:
        """The same engine reading members from ``members``."""
        return Engine(self.book, trace=self.trace_default, members=members)

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
            return rejected(claim, [(Reject.REVERSAL_NOT_PROCESSED,
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
        benefit = self.benefit_for(plan_id)
        return benefit.formulary.get(ndc) if benefit is not None else None

    def benefit_for(self, plan_id: str) -> Benefit[Any] | None:
        """The benefit of a plan of the book (commercial or Part D); None if not loaded."""
        book = self.book
        commercial = book.plans.get(plan_id)
        # What the benefit was built from: rebuilt when the book's plan, formulary or registry
        # is replaced.
        basis: tuple[object, ...]
        if commercial is not None:
            basis = (commercial, book.formularies.get(commercial.formulary_id), self.members)
        else:
            part_d = book.part_d_plans.get(plan_id)
            if part_d is None:
                return None
            basis = (part_d,)
        cached = self._benefits.get(plan_id)
        if cached is not None and len(cached[0]) == len(basis) and \
                all(a is b for a, b in zip(cached[0], basis, strict=True)):
            return cached[1]
        benefit: Benefit[Any]
        if commercial is not None:
            benefit = CommercialBenefit(commercial, book.formularies[commercial.formulary_id],
                                        self.members)
        else:
            benefit = PartDBenefit(book.part_d_plans[plan_id])
        self._benefits[plan_id] = (basis, benefit)
        return benefit

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

    # -- the pipeline ------------------------------------------------------------------------

    def _billing(self, claim: Claim, accumulators: AccumulatorView, history: HistoryView,
                 as_of: dt.date | None, t: Trace) -> ClaimResult:
        found = self.members.get(claim.cardholder_id, claim.person_code)
        if found is None:
            if self.members.has_cardholder(claim.cardholder_id):
                return rejected(claim, [(Reject.NON_MATCHED_PERSON_CODE,
                                         f"person code {claim.person_code} is not on cardholder "
                                         f"{claim.cardholder_id}")])
            return rejected(claim, [(Reject.NON_MATCHED_CARDHOLDER,
                                     f"cardholder {claim.cardholder_id} is not on file")])
        member = found.on(claim.date_of_service)  # the plan of the period of the service date
        benefit = self.benefit_for(member.plan_id)
        if benefit is None:
            return rejected(claim, [(Reject.PATIENT_NOT_COVERED,
                                     f"plan {member.plan_id} is not loaded")],
                            member_id=member.member_id, family_id=member.family_id,
                            plan_id=member.plan_id)
        try:
            return self._steps(benefit, claim, member, accumulators, history, as_of, t)
        except benefit.data_errors as exc:
            return rejected(claim, [benefit.data_reject(exc)],
                            member_id=member.member_id, family_id=member.family_id,
                            plan_id=benefit.plan_id)

    def _steps(self, benefit: Benefit[Any], claim: Claim, member: Member,
               accumulators: AccumulatorView, history: HistoryView, as_of: dt.date | None,
               t: Trace) -> ClaimResult:
        book = self.book
        edits = benefit.edits
        dos = claim.date_of_service
        rejects: list[tuple[str, str]] = []
        who = _Who(member.member_id, member.family_id, benefit.plan_id)
        if t:
            t(benefit.describe_member(member))

        # Eligibility.
        if benefit.year is not None and dos.year != benefit.year:
            return who.reject(claim, [(Reject.PATIENT_NOT_COVERED,
                                       f"date of service {dos} is outside plan "
                                       f"{benefit.plan_id}'s plan year {benefit.year}")])
        if as_of is not None:
            if dos > as_of:
                rejects.append((Reject.CLAIM_POST_DATED,
                                f"date of service {dos} is after {as_of}"))
            elif edits.timely_filing_days is not None and (as_of - dos).days > \
                    edits.timely_filing_days:
                rejects.append((Reject.CLAIM_TOO_OLD,
                                f"older than the {edits.timely_filing_days}-day filing limit"))
        if claim.date_of_birth and member.date_of_birth and \
                claim.date_of_birth != member.date_of_birth:
            rejects.append((Reject.MI_DATE_OF_BIRTH, "date of birth does not match the member"))
        if claim.gender and member.gender and claim.gender != member.gender:
            rejects.append((Reject.MI_GENDER, "gender does not match the member"))
        problem = coverage_reject(member, dos)
        if problem:
            rejects.append(problem)
        benefit.member_rejects(member, rejects)

        # Product and formulary.
        formulary = benefit.formulary
        drug = formulary.get(claim.ndc)
        if drug is None:
            rejects.append(benefit.unlisted(claim.ndc, book.prices.known(claim.ndc),
                                            claim.ndc in book.known_ndcs))
            return who.reject(claim, rejects)
        if t:
            t(benefit.describe_drug(drug))

        # Utilization management, and whether the benefit covers the fill.
        pa = prior_auth(self.members, claim, member, drug, rejects, t)
        # the member's fills are read once, for the widest window an edit of this claim needs
        history = HistoryWindow(history, member.member_id,
                                dos - dt.timedelta(days=lookback_days(claim, drug)), dos)
        next_fill, dur = um_edits(claim, member, edits, formulary, drug, pa, history, rejects, t)
        terms = benefit.cover(claim, drug, rejects)
        if rejects:
            benefit.map_rejects(drug, rejects)
            alternatives: tuple[Alternative, ...] = ()
            if any(code in _ALTERNATIVES_FOR for code, _ in rejects):
                alternatives = _alternatives(formulary, drug)
            return who.reject(claim, rejects, drug, alternatives=alternatives,
                              next_fill=next_fill, dur=dur)

        # Pricing, then generic substitution (the brand penalty).
        network = book.networks[benefit.network_id]
        paid, generic, price_rejects = price_claim(book.prices, claim, network, formulary, drug,
                                                   edits.daw, edits.max_claim_cost, t)
        if price_rejects or paid is None:
            return who.reject(claim, price_rejects, drug)
        penalty = brand_penalty(book.prices, network, formulary, drug, claim, edits.daw, paid,
                                generic, t)

        # The plan's benefit.
        share = benefit.share(PricedClaim(claim, drug, paid, penalty), member, terms,
                              accumulators, t)
        return paid_result(claim, share, member_id=member.member_id,
                           family_id=member.family_id, plan_id=benefit.plan_id, ndc=drug.ndc,
                           drug_name=drug.name, tier=drug.tier,
                           ingredient_cost_paid=paid.ingredient, dispensing_fee_paid=paid.fee,
                           basis=paid.basis.value, trace=t.done())


class _Who(NamedTuple):
    """The member and plan a rejected result names."""

    member_id: str
    family_id: str
    plan_id: str

    def reject(self, claim: Claim, rejects: list[tuple[str, str]], drug: Drug | None = None,
               *, alternatives: tuple[Alternative, ...] = (), next_fill: dt.date | None = None,
               dur: tuple[DurResponse, ...] = ()) -> ClaimResult:
        return rejected(claim, rejects, member_id=self.member_id, family_id=self.family_id,
                        plan_id=self.plan_id, drug_name=drug.name if drug else "",
                        tier=drug.tier if drug else None, alternatives=alternatives,
                        next_fill=next_fill, dur=dur)


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
        rejects=dedupe_rejects([(i.code, i.message) for i in issues]),
    )


def _alternatives(formulary: Formulary, drug: Drug) -> tuple[Alternative, ...]:
    """Related products to name with a 608/MR reject, one per product name (see
    :meth:`Formulary.alternatives`)."""
    return tuple(Alternative(d.ndc, d.name, d.tier) for d in formulary.alternatives(drug))
