""""What will this drug cost me?": a cost estimate for the member portal and the IVR.

An estimate is the engine's own adjudication of claims that are never posted: for each channel
the plan offers (retail 30 days, mail 90 days, specialty where the drug requires it) the portal
builds the claim a pharmacy would send (a synthetic Rx number and pharmacy, the member's own
accumulators and fill history read through read-only views) and reads the answer.  Cheaper
options are priced the same way: the generic equivalent (same TE group), preferred drugs of the
same therapeutic class in a lower tier (and the drugs a step-therapy edit asks for first), and
the mail-order supply, each ranked by what the member would pay.

Nothing is written: :class:`Estimator` only calls ``state`` and ``fills`` on its views, and
reads each member's accumulators and history once per estimate (a per-request cache), so one
estimate with five alternatives costs two store reads.  Thread-safe: an estimator holds only
the immutable book, the engine and the views.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from contextlib import nullcontext
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pbm_engine.accumulators import EMPTY, AccumulatorView, Fill, HistoryView, MemberState
from pbm_engine.book import Book
from pbm_engine.claim import Claim
from pbm_engine.codes import Channel, Reject, Transaction, reject_description
from pbm_engine.edits.utilization import LOOKBACK_DAYS
from pbm_engine.eligibility.members import Eligibility, Member
from pbm_engine.engine import Engine
from pbm_engine.errors import UsageError
from pbm_engine.formulary.model import Drug, Formulary, route_of
from pbm_engine.money import QTY_SCALE, Cents, div_round, fmt, fmt_scaled, to_qty
from pbm_engine.portal.search import Candidate, DrugIndex
from pbm_engine.result import ClaimResult

ESTIMATE_RX_NUMBER = "ESTIMATE"
"""The Rx number (402-D2) of every estimate claim: never a real prescription's."""
DEFAULT_DAYS = {Channel.RETAIL: 30, Channel.MAIL: 90, Channel.SPECIALTY: 30}
PHASE_NAMES = {"D": "deductible", "N": "initial coverage", "G": "coverage gap",
               "C": "catastrophic coverage"}


class EstimateError(UsageError):
    """The question cannot be answered: unknown member or drug, or a bad argument.

    ``reject_code`` is the NCPDP reject code a claim would get for the same problem (52 unknown
    cardholder, 53 person code, 54 unknown product, E7 quantity, 19 days supply ...), and
    ``status`` the HTTP status a service answers with.
    """

    def __init__(self, message: str, reject_code: str | None = None, status: int = 400,
                 candidates: tuple[Candidate, ...] = ()) -> None:
        super().__init__(message)
        self.reject_code = reject_code
        self.status = status
        self.candidates = candidates


@dataclass(frozen=True, slots=True)
class Condition:
    """A coverage condition in plain terms (``kind``: prior_authorization, step_therapy,
    quantity_limit, refill_too_soon, specialty_pharmacy, days_supply, not_on_formulary,
    not_covered, age, gender, eligibility, dispense_as_written, other)."""

    kind: str
    text: str
    blocking: bool
    reject_code: str | None = None
    earliest_date: dt.date | None = None
    drugs_first: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "text": self.text, "blocking": self.blocking,
                               "reject_code": self.reject_code}
        if self.earliest_date:
            out["earliest_date"] = self.earliest_date.isoformat()
        if self.drugs_first:
            out["drugs_first"] = list(self.drugs_first)
        return out


@dataclass(frozen=True, slots=True)
class PhaseInfo:
    """Part D: the benefit phase before and after the fill and the distance to the next."""

    before: str
    after: str
    next_phase: str | None
    to_next: Cents | None  # TrOOP (or gross drug cost before 2025's gap) still to go
    troop_after: Cents
    gross_drug_cost_after: Cents

    def to_dict(self) -> dict[str, Any]:
        return {"before": self.before, "before_name": PHASE_NAMES.get(self.before, self.before),
                "after": self.after, "after_name": PHASE_NAMES.get(self.after, self.after),
                "next_phase": self.next_phase,
                "next_phase_name": PHASE_NAMES.get(self.next_phase or ""),
                "to_next_phase": None if self.to_next is None else fmt(self.to_next),
                "troop_after": fmt(self.troop_after),
                "total_drug_cost_after": fmt(self.gross_drug_cost_after)}


@dataclass(frozen=True, slots=True)
class ChannelEstimate:
    """The answer for one channel: covered or not, who pays what, and the conditions."""

    channel: Channel
    days_supply: int
    quantity: int  # thousandths of a unit
    pharmacy_id: str
    ndc: str
    drug_name: str
    covered: bool
    member_pays: Cents
    plan_pays: Cents
    total_cost: Cents
    deductible_applied: Cents
    copay: Cents
    coinsurance: Cents
    brand_penalty: Cents
    deductible_left: Cents | None
    oop_left: Cents | None
    phase: PhaseInfo | None
    conditions: tuple[Condition, ...]
    result: ClaimResult = field(repr=False, compare=False)

    @property
    def per_30_days(self) -> Cents:
        """What the member pays, scaled to 30 days (to compare channels)."""
        return div_round(self.member_pays * 30, self.days_supply)

    def to_dict(self) -> dict[str, Any]:
        money = (lambda c: fmt(c)) if self.covered else (lambda c: None)
        return {
            "channel": self.channel.value, "days_supply": self.days_supply,
            "quantity": fmt_scaled(self.quantity, QTY_SCALE), "pharmacy_id": self.pharmacy_id,
            "ndc": self.ndc, "drug_name": self.drug_name, "covered": self.covered,
            "member_pays": money(self.member_pays), "plan_pays": money(self.plan_pays),
            "total_cost": money(self.total_cost),
            "deductible_applied": money(self.deductible_applied), "copay": money(self.copay),
            "coinsurance": money(self.coinsurance), "brand_penalty": money(self.brand_penalty),
            "deductible_left": _opt(self.deductible_left), "oop_left": _opt(self.oop_left),
            "phase": self.phase.to_dict() if self.phase else None,
            "conditions": [c.to_dict() for c in self.conditions],
        }


@dataclass(frozen=True, slots=True)
class AlternativeEstimate:
    """A cheaper option priced for this member (``kind``: generic, therapeutic, mail)."""

    kind: str
    estimate: ChannelEstimate
    tier: int | None
    saving_per_fill: Cents | None
    saving_per_year: Cents | None

    def to_dict(self) -> dict[str, Any]:
        e = self.estimate
        return {"kind": self.kind, "ndc": e.ndc, "drug_name": e.drug_name, "tier": self.tier,
                "channel": e.channel.value, "days_supply": e.days_supply,
                "quantity": fmt_scaled(e.quantity, QTY_SCALE),
                "member_pays": fmt(e.member_pays), "plan_pays": fmt(e.plan_pays),
                "saving_per_fill": _opt(self.saving_per_fill),
                "saving_per_year": _opt(self.saving_per_year),
                "conditions": [c.to_dict() for c in e.conditions]}


@dataclass(frozen=True, slots=True)
class CostEstimate:
    """Everything the portal or the IVR says about one drug for one member on one day."""

    member_id: str
    plan_id: str
    as_of: dt.date
    ndc: str
    drug_name: str
    tier: int | None
    channels: tuple[ChannelEstimate, ...]
    alternatives: tuple[AlternativeEstimate, ...]

    @property
    def covered(self) -> bool:
        return any(c.covered for c in self.channels)

    def to_dict(self) -> dict[str, Any]:
        return {"member_id": self.member_id, "plan_id": self.plan_id,
                "as_of": self.as_of.isoformat(), "ndc": self.ndc, "drug_name": self.drug_name,
                "tier": self.tier, "covered": self.covered,
                "channels": [c.to_dict() for c in self.channels],
                "alternatives": [a.to_dict() for a in self.alternatives]}


class _RequestView:
    """The member's accumulators and fills, each read once per estimate (read-only)."""

    __slots__ = ("_accumulators", "_fills", "_history", "_start", "_states", "_windows")

    def __init__(self, accumulators: AccumulatorView, history: HistoryView,
                 as_of: dt.date) -> None:
        self._accumulators = accumulators
        self._history = history
        self._states: dict[tuple[str, dt.date, str, str], MemberState] = {}
        self._fills: dict[str, list[Fill]] = {}
        self._windows: dict[tuple[str, dt.date, dt.date], tuple[Fill, ...]] = {}
        self._start = as_of - dt.timedelta(days=LOOKBACK_DAYS)

    def state(self, plan_id: str, year_start: dt.date, member_id: str, family_id: str
              ) -> MemberState:
        key = (plan_id, year_start, member_id, family_id)
        hit = self._states.get(key)
        if hit is None:
            hit = self._states[key] = self._accumulators.state(*key)
        return hit

    def fills(self, member_id: str, start: dt.date, end: dt.date) -> Iterable[Fill]:
        if start < self._start:
            return self._history.fills(member_id, start, end)
        key = (member_id, start, end)
        hit = self._windows.get(key)
        if hit is None:
            cached = self._fills.get(member_id)
            if cached is None:
                cached = self._fills[member_id] = list(
                    self._history.fills(member_id, self._start, dt.date.max))
            hit = self._windows[key] = tuple(f for f in cached
                                             if start <= f.date_of_service <= end)
        return hit


class Estimator:
    """Cost estimates over a book and read-only accumulator/history views (a store).

    ``accumulators`` and ``history`` default to nothing accumulated and no history (a what-if
    for a fresh member).  ``max_alternatives`` bounds the priced alternatives per estimate.
    """

    def __init__(self, book: Book, accumulators: AccumulatorView = EMPTY,
                 history: HistoryView | None = None, *, engine: Engine | None = None,
                 max_alternatives: int = 5) -> None:
        self.book = book
        # Members come from the store when it holds any (an imported eligibility file), else
        # from the book: the same rule as Processor and Portal.
        has_members = getattr(accumulators, "has_members", None)
        self.members: Eligibility = (
            accumulators if callable(has_members) and has_members()  # type: ignore[assignment]
            else book.registry)
        engine = engine or Engine(book)
        self.engine = engine if self.members is engine.members else engine.with_members(
            self.members)
        self.accumulators = accumulators
        self.history: HistoryView = history if history is not None else (
            accumulators if hasattr(accumulators, "fills") else EMPTY)  # type: ignore[assignment]
        self.max_alternatives = max_alternatives
        self._candidates: dict[tuple[str, str], tuple[tuple[str, Drug], ...]] = {}

    # -- lookups -----------------------------------------------------------------------------

    def member(self, member_id: str | None = None, *, cardholder_id: str | None = None,
               person_code: str = "001") -> Member:
        """A member by member id (``PPO1001-002``) or cardholder id and person code."""
        registry = self.members
        if member_id is not None:
            card, _, person = member_id.rpartition("-")
            found = registry.member_by_id(member_id) or (
                registry.get(card, person) if card else None)
            if found is None:
                raise EstimateError(f"member {member_id} is not on file",
                                    Reject.NON_MATCHED_CARDHOLDER, 404)
            return found
        if cardholder_id is None:
            raise EstimateError("give a member id or a cardholder id",
                                Reject.MI_CARDHOLDER_ID)
        person_code = person_code.zfill(3)
        found = registry.get(cardholder_id, person_code)
        if found is None:
            if registry.has_cardholder(cardholder_id):
                raise EstimateError(f"person code {person_code} is not on cardholder "
                                    f"{cardholder_id}", Reject.NON_MATCHED_PERSON_CODE, 404)
            raise EstimateError(f"cardholder {cardholder_id} is not on file",
                                Reject.NON_MATCHED_CARDHOLDER, 404)
        return found

    def formulary_of(self, member: Member) -> Formulary:
        """The formulary the member's plan uses."""
        plan = self.book.plans.get(member.plan_id)
        if plan is not None:
            return self.book.formularies[plan.formulary_id]
        part_d = self.book.part_d_plans.get(member.plan_id)
        if part_d is None:
            raise EstimateError(f"plan {member.plan_id} is not loaded",
                                Reject.PATIENT_NOT_COVERED, 404)
        return part_d.formulary

    def search(self, member: Member, query: str, limit: int = 20) -> list[Candidate]:
        """Drug search on the member's formulary (see :class:`DrugIndex`)."""
        return DrugIndex.for_formulary(self.formulary_of(member)).search(query, limit)

    def resolve(self, formulary: Formulary, ndc: str | None, query: str | None) -> Drug:
        """The formulary entry for an NDC, or the one product a name query matches."""
        if ndc:
            digits = ndc.replace("-", "")
            drug = formulary.get(digits)
            if drug is None:
                raise EstimateError(f"NDC {ndc} is not on formulary {formulary.formulary_id}",
                                    Reject.NON_MATCHED_PRODUCT, 404)
            return drug
        if not query:
            raise EstimateError("give an NDC or a drug name", Reject.MI_PRODUCT_ID)
        found = DrugIndex.for_formulary(formulary).search(query, limit=50)
        if not found:
            raise EstimateError(f"no drug matches {query!r}", Reject.NON_MATCHED_PRODUCT, 404)
        exact = [c for c in found if c.name.upper() == query.strip().upper()]
        if len(found) > 1 and not exact:
            names = ", ".join(c.name for c in found[:5])
            raise EstimateError(f"{query!r} matches {len(found)} products ({names}"
                                f"{' ...' if len(found) > 5 else ''}); add strength and form",
                                Reject.NON_MATCHED_PRODUCT, 409, tuple(found))
        return formulary.drugs[(exact or found)[0].ndc]

    # -- the estimate ------------------------------------------------------------------------

    def estimate(self, *, as_of: dt.date, member_id: str | None = None,
                 cardholder_id: str | None = None, person_code: str = "001",
                 ndc: str | None = None, drug: str | None = None,
                 quantity: int | str | Decimal | None = None, days_supply: int | None = None,
                 channel: Channel | str | None = None, pharmacy_id: str | None = None,
                 daw: int = 0, alternatives: bool = True) -> CostEstimate:
        """Estimate what the member pays for a drug on ``as_of`` at each channel.

        ``quantity`` is in units (``"30"``, ``"2.5"``); with it, ``days_supply`` is required
        and applies to the requested (or first) channel, other channels scale it to their
        usual supply.  Without it each channel uses the drug's usual supply (see
        :func:`usual_quantity`).  Raises :class:`EstimateError` for unknown members or drugs.
        """
        member = self.member(member_id, cardholder_id=cardholder_id, person_code=person_code)
        formulary = self.formulary_of(member)
        product = self.resolve(formulary, ndc, drug)
        qty = _quantity(quantity)
        if days_supply is not None and not 1 <= days_supply <= 365:
            raise EstimateError(f"days supply {days_supply} is not 1-365",
                                Reject.MI_DAYS_SUPPLY)
        if qty is not None and days_supply is None:
            raise EstimateError("a quantity needs its days supply", Reject.MI_DAYS_SUPPLY)
        if daw not in range(10):
            raise EstimateError(f"DAW code {daw} is not 0-9", Reject.MI_DAW)
        wanted = _channel(channel) if channel is not None else None
        snapshot = getattr(self.accumulators, "snapshot", None)
        with snapshot() if snapshot is not None else nullcontext():
            return self._estimate(member, formulary, product, qty, days_supply, wanted,
                                  pharmacy_id, daw, as_of, alternatives)

    def _estimate(self, member: Member, formulary: Formulary, product: Drug, qty: int | None,
                  days_supply: int | None, wanted: Channel | None, pharmacy_id: str | None,
                  daw: int, as_of: dt.date, alternatives: bool) -> CostEstimate:
        """One consistent read of the member's state (a snapshot where the store has one)."""
        plan = (wanted,) if wanted else _channels_for(product)
        view = _RequestView(self.accumulators, self.history, as_of)
        channels = []
        for i, ch in enumerate(plan):
            days = days_supply if days_supply is not None and (i == 0 or wanted) \
                else DEFAULT_DAYS[ch]
            if qty is not None and days_supply is not None:
                q = qty if days == days_supply else max(1, div_round(qty * days, days_supply))
            else:
                q = usual_quantity(product, days)
            channels.append(self._price(member, formulary, product, ch, days, q,
                                        pharmacy_id if i == 0 or wanted else None, daw,
                                        as_of, view))
        found: tuple[AlternativeEstimate, ...] = ()
        if alternatives and self.max_alternatives > 0:
            found = self._alternatives(member, formulary, product, channels, daw, as_of, view)
        return CostEstimate(member_id=member.member_id, plan_id=member.plan_id, as_of=as_of,
                            ndc=product.ndc, drug_name=product.name, tier=product.tier,
                            channels=tuple(channels), alternatives=found)

    def _price(self, member: Member, formulary: Formulary, drug: Drug, channel: Channel,
               days: int, quantity: int, pharmacy_id: str | None, daw: int, as_of: dt.date,
               view: _RequestView) -> ChannelEstimate:
        claim = Claim(
            transaction=Transaction.BILLING, cardholder_id=member.cardholder_id,
            person_code=member.person_code, date_of_birth=member.date_of_birth,
            gender=member.gender, date_of_service=as_of, rx_number=ESTIMATE_RX_NUMBER,
            fill_number=0, ndc=drug.ndc, quantity=quantity, days_supply=days, daw=daw,
            ingredient_cost=None, dispensing_fee=0, usual_and_customary=None,
            gross_amount_due=None, pharmacy_id=pharmacy_id or f"ESTIMATE-{channel.value}",
            channel=channel)
        result = self.engine.adjudicate(claim, accumulators=view, history=view)
        return _channel_estimate(self.book, formulary, drug, claim, result)

    def candidates(self, formulary: Formulary, drug: Drug) -> tuple[tuple[str, Drug], ...]:
        """The related products to price instead of ``drug``, one NDC per product name:
        generic equivalents, then step-therapy prerequisites and lower-tier drugs of the same
        therapeutic class (kind ``generic`` or ``therapeutic``).  Cached per formulary entry."""
        key = (formulary.formulary_id, drug.ndc)
        hit = self._candidates.get(key)
        if hit is not None:
            return hit
        kinds: dict[str, tuple[str, Drug]] = {}
        for kind, found in (("generic", formulary.generic_equivalents(drug)),
                            ("therapeutic", formulary.step_alternatives(drug)),
                            ("therapeutic", formulary.class_alternatives(drug))):
            for d in sorted(found, key=lambda d: (d.tier, d.name, d.ndc)):
                if d.name != drug.name and d.name not in kinds:
                    kinds[d.name] = (kind, d)
        hit = self._candidates[key] = tuple(kinds.values())
        return hit

    def _alternatives(self, member: Member, formulary: Formulary, drug: Drug,
                      channels: list[ChannelEstimate], daw: int, as_of: dt.date,
                      view: _RequestView) -> tuple[AlternativeEstimate, ...]:
        base = channels[0]
        out: list[AlternativeEstimate] = []
        budget = self.max_alternatives + 2
        for kind, alt in self.candidates(formulary, drug):
            if budget == 0:
                break
            budget -= 1
            q = usual_quantity(alt, base.days_supply)
            channel = base.channel
            if channel is Channel.SPECIALTY and not alt.specialty:
                channel = Channel.RETAIL
            est = self._price(member, formulary, alt, channel, base.days_supply, q, None, 0,
                              as_of, view)
            if not est.covered or (base.covered and est.member_pays >= base.member_pays):
                continue
            saving = base.member_pays - est.member_pays if base.covered else None
            out.append(AlternativeEstimate(
                kind, est, alt.tier, saving,
                None if saving is None else div_round(saving * 365, base.days_supply)))
        mail = next((c for c in channels[1:] if c.channel is Channel.MAIL), None)
        if mail is not None and mail.covered and base.channel is Channel.RETAIL and (
                not base.covered or mail.per_30_days < base.per_30_days):
            per_fill = None
            per_year = None
            if base.covered:
                per_fill = div_round(base.member_pays * mail.days_supply,
                                     base.days_supply) - mail.member_pays
                per_year = div_round(per_fill * 365, mail.days_supply)
            out.append(AlternativeEstimate("mail", mail, drug.tier, per_fill, per_year))
        rank = {"generic": 0, "therapeutic": 1, "mail": 2}
        out.sort(key=lambda a: (a.estimate.per_30_days, rank[a.kind], a.estimate.drug_name))
        return tuple(out[:self.max_alternatives])


def estimate_cost(book: Book, store: AccumulatorView | None = None, *, as_of: dt.date,
                  **question: Any) -> CostEstimate:
    """One estimate (see :meth:`Estimator.estimate`); for many, keep an :class:`Estimator`.

    ``store`` is any object with ``state`` and ``fills`` (a memory or SQLite store, a read-only
    replica); nothing is written to it.
    """
    return Estimator(book, store if store is not None else EMPTY).estimate(as_of=as_of,
                                                                           **question)


def usual_quantity(drug: Drug, days: int) -> int:
    """The usual quantity (thousandths) for ``days``: the quantity limit prorated when the
    formulary sets one, else one a day for a drug taken by mouth and one package (unit) per
    30 days for others (injections, creams, drops).  Callers who know the prescription pass
    its quantity instead."""
    ql = drug.quantity_limit
    if ql is not None:
        return max(QTY_SCALE, ql.quantity * days // ql.days)
    if route_of(drug.name) != "oral":
        return max(1, -(-days // 30)) * QTY_SCALE
    return days * QTY_SCALE


def _channels_for(drug: Drug) -> tuple[Channel, ...]:
    if drug.specialty:
        return (Channel.SPECIALTY, Channel.RETAIL)
    return (Channel.RETAIL, Channel.MAIL)


def _channel(value: Channel | str) -> Channel:
    if isinstance(value, Channel):
        return value
    try:
        return Channel(value.lower())
    except ValueError:
        raise EstimateError(f"channel {value!r} is not retail, mail or specialty",
                            Reject.SYNTAX_ERROR) from None


def _quantity(value: int | str | Decimal | None) -> int | None:
    if value is None:
        return None
    try:
        qty = to_qty(value)
    except (ValueError, ArithmeticError, TypeError):
        raise EstimateError(f"quantity {value!r} is not a number of units",
                            Reject.MI_QUANTITY) from None
    if qty <= 0:
        raise EstimateError(f"quantity {value!r} must be positive", Reject.MI_QUANTITY)
    return qty


def _channel_estimate(book: Book, formulary: Formulary, drug: Drug, claim: Claim,
                      result: ClaimResult) -> ChannelEstimate:
    return ChannelEstimate(
        channel=claim.channel, days_supply=claim.days_supply, quantity=claim.quantity,
        pharmacy_id=claim.pharmacy_id, ndc=drug.ndc, drug_name=drug.name, covered=result.paid,
        member_pays=result.patient_pay, plan_pays=result.plan_pay,
        total_cost=result.total_price, deductible_applied=result.deductible_applied,
        copay=result.copay_amount, coinsurance=result.coinsurance_amount,
        brand_penalty=result.product_selection_amount,
        deductible_left=result.remaining_deductible if result.paid else None,
        oop_left=result.remaining_oop if result.paid else None,
        phase=_phase(book, result), conditions=conditions(formulary, drug, result),
        result=result)


def _phase(book: Book, result: ClaimResult) -> PhaseInfo | None:
    pde = result.part_d
    if pde is None:
        return None
    plan = book.part_d_plans[result.plan_id]
    params = plan.parameters
    after = pde.ending_benefit_phase.value
    troop, gross = pde.troop_accumulator_after, pde.gross_accumulator_after
    deductible = plan.design.deductible
    if deductible is None:
        deductible = params.deductible
    next_phase: str | None
    to_next: Cents | None
    if after == "D":
        next_phase, to_next = "N", max(0, deductible - troop)
    elif after == "N" and params.initial_coverage_limit is not None:
        next_phase, to_next = "G", max(0, params.initial_coverage_limit - gross)
    elif after in ("N", "G"):
        next_phase, to_next = "C", max(0, params.oop_threshold - troop)
    else:
        next_phase, to_next = None, None
    return PhaseInfo(pde.beginning_benefit_phase.value, after, next_phase, to_next, troop,
                     gross)


def conditions(formulary: Formulary, drug: Drug, result: ClaimResult) -> tuple[Condition, ...]:
    """The coverage conditions of an answer in plain terms: every reject, plus the standing
    limits of a paid drug (a quantity limit, a PA on file)."""
    out: list[Condition] = []
    seen: set[str] = set()
    for r in result.rejects:
        c = _from_reject(formulary, drug, r.code, r.message, result)
        out.append(c)
        seen.add(c.kind)
    if result.paid:
        if drug.quantity_limit and "quantity_limit" not in seen:
            out.append(Condition("quantity_limit", _ql_text(drug), False))
        if drug.pa_required:
            out.append(Condition("prior_authorization",
                                 "Covered with the prior authorization on file.", False))
        if result.product_selection_amount:
            out.append(Condition(
                "dispense_as_written",
                f"Includes a ${fmt(result.product_selection_amount)} brand penalty: the plan "
                "pays the generic price for a brand when a generic is available.", False))
    return tuple(out)


def _from_reject(formulary: Formulary, drug: Drug, code: str, message: str,
                 result: ClaimResult) -> Condition:
    if code == Reject.PRIOR_AUTH_REQUIRED:
        return Condition("prior_authorization", "Needs prior authorization: your doctor must "
                         "ask the plan to approve it first.", True, code)
    if code == Reject.STEP_THERAPY:
        first = tuple(dict.fromkeys(d.name for d in formulary.step_alternatives(drug)))
        if first:
            text = ("Step therapy: the plan covers this after you have tried "
                    f"{_or_list(first)}.")
        elif drug.step_therapy and drug.step_therapy.prerequisites:
            groups = [formulary.group_names.get(g) or g
                      for g in sorted(drug.step_therapy.prerequisites)]
            text = f"Step therapy: the plan covers this after you have tried {_or_list(groups)}."
        else:
            text = "Step therapy: you must have tried another drug first, or ask for an exception."
        return Condition("step_therapy", text, True, code, drugs_first=first)
    if code == Reject.PLAN_LIMITATIONS_EXCEEDED:
        return Condition("quantity_limit", _ql_text(drug) + " This amount is over the limit.",
                         True, code)
    if code == Reject.REFILL_TOO_SOON:
        day = result.next_fill_date
        text = ("Too soon to refill" + (f": the earliest fill date is {_day(day)}." if day
                                        else "."))
        return Condition("refill_too_soon", text, True, code, earliest_date=day)
    if code == Reject.SPECIALTY_PHARMACY_REQUIRED:
        return Condition("specialty_pharmacy", "Must be filled by the plan's specialty "
                         "pharmacy.", True, code)
    if code == Reject.DAYS_SUPPLY_EXCEEDS_LIMIT:
        return Condition("days_supply", f"The days supply is over the plan's limit ({message}).",
                         True, code)
    if code == Reject.NOT_ON_FORMULARY:
        return Condition("not_on_formulary", "Not on your plan's drug list; your doctor can ask "
                         "for an exception.", True, code)
    if code in (Reject.NOT_COVERED, Reject.NOT_COVERED_PART_D):
        return Condition("not_covered", f"Not covered: {message}.", True, code)
    if code in (Reject.NOT_COVERED_AGE, Reject.NOT_COVERED_GENDER):
        kind = "age" if code == Reject.NOT_COVERED_AGE else "gender"
        return Condition(kind, f"Not covered for this member: {message}.", True, code)
    if code in (Reject.PATIENT_NOT_COVERED, Reject.BEFORE_COVERAGE_EFFECTIVE,
                Reject.AFTER_COVERAGE_EXPIRED, Reject.AFTER_COVERAGE_TERMINATED):
        return Condition("eligibility", "Your coverage is not active on that date.", True, code)
    if code == Reject.DAW0_MULTISOURCE:
        return Condition("dispense_as_written", "The plan pays for the generic; the brand needs "
                         "a reason from your doctor.", True, code)
    return Condition("other", f"{reject_description(code)}: {message}.", True, code)


def _ql_text(drug: Drug) -> str:
    ql = drug.quantity_limit
    assert ql is not None
    return f"Quantity limit: up to {units(ql.quantity)} per {ql.days} days."


def units(quantity: int) -> str:
    """A quantity (thousandths) as people say it: ``9``, ``2.5``."""
    whole, part = divmod(quantity, QTY_SCALE)
    return str(whole) if not part else fmt_scaled(quantity, QTY_SCALE).rstrip("0")


def _or_list(items: Iterable[str]) -> str:
    items = list(items)
    if len(items) <= 2:
        return " or ".join(items)
    return ", ".join(items[:-1]) + ", or " + items[-1]


def _day(day: dt.date) -> str:
    return f"{day:%B} {day.day}, {day.year}"


def _opt(cents: Cents | None) -> str | None:
    return None if cents is None else fmt(cents)


__all__ = ["AlternativeEstimate", "ChannelEstimate", "Condition", "CostEstimate",
           "EstimateError", "Estimator", "PhaseInfo", "estimate_cost", "usual_quantity"]
