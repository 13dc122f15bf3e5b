"""The Medicare Part D benefit: the phase split, LIS, the manufacturer discount and the PDE.

:class:`PartDBenefit` is the benefit the engine applies for a member whose plan is a
:class:`~pbm_engine.medicare.plans.PartDPlan`.  The engine orders the steps (eligibility,
formulary, utilization management, pricing) as for every claim; the Part D policies plug in:
the plan year must match the date of service (65), the member's LIS level must be known (85),
statutory exclusions reject A5, the plan's edit policies are ``PartDPlan.edits``, and a data
problem met while pricing rejects 85.  The share is
:func:`~pbm_engine.medicare.phases.split_claim` against the member's TrOOP and gross
accumulators, and the paid result carries the PDE record.

How the PDE amounts map onto the result (integer cents):

* ``total_price`` = gross drug cost; ``patient_pay`` (505-F5) = PPA + OTA, the enrollee's cost
  sharing; ``member_paid`` = PPA; ``other_payer_paid`` = OTA (431-DV on the claim is taken as a
  qualified, TrOOP-eligible other payer such as an SPAP or ADAP);
* ``plan_pay`` = covered plan paid + non-covered plan paid + PLRO (the plan's own money);
* the low-income cost-sharing subsidy and the manufacturer discount are in ``extra``
  (``lics``, ``manufacturer_discount``), so for every paid Part D claim::

      member_paid + other_payer_paid + plan_pay + lics + manufacturer_discount == total_price

  (the commercial identity ``member_paid + other_payer_paid + plan_pay == total_price`` holds
  when LICS and the discount are 0).  ``extra["amount_paid_to_pharmacy"]`` is
  ``total_price - patient_pay`` (the plan fronts LICS and the discount at the counter);
* ``deductible_applied`` = the enrollee's share of the deductible-phase portion (0 for drugs
  that skip the deductible and for full-subsidy LIS enrollees, who pay a copay); the rest of
  ``patient_pay`` is ``copay_amount`` when the cost sharing is a copay (an LIS copay, or a
  copay cell of the plan's design), else ``coinsurance_amount``;
* ``delta`` = ``Totals(troop=TrOOP delta, gross_drug_cost=gross, plan_paid=plan_pay,
  oop=patient_pay)``: TrOOP stops at the OOP threshold, ``oop`` is the enrollee's whole
  out-of-pocket for the year (catastrophic cost sharing included).

LIS levels (``Member.lis_level``, case-insensitive; ``-`` and spaces read as ``_``): empty,
``none``, ``no``, ``0`` -> no subsidy; ``institutional``, ``hcbs`` or CMS copay level ``3``;
``fbde``, ``dual`` or ``2`` (full-benefit dual eligible at or below 100% FPL); ``full``,
``full_subsidy`` or ``1``; ``partial`` or ``4`` (before 2024; from 2024 the partial group
receives the full subsidy, so it is read as ``full``).  Anything else rejects 85.

Never raises for bad input: a data problem found while pricing (a design without a cell for
the drug's tier, an LIS level absent in the year) rejects the claim 85 with the reason.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from functools import cache
from typing import Any

from pbm_engine.accumulators import AccumulatorView, Totals
from pbm_engine.claim import Claim
from pbm_engine.codes import Reject
from pbm_engine.eligibility.members import Member
from pbm_engine.formulary.model import Coverage, Drug, Formulary
from pbm_engine.medicare.design import BenefitDesign, Channel, CoverageLevel, DesignLookupError
from pbm_engine.medicare.parameters import LisLevel
from pbm_engine.medicare.pde import build_pde
from pbm_engine.medicare.phases import (
    BeneficiaryState,
    BenefitPhase,
    ClaimFacts,
    PhaseResult,
    split_claim,
)
from pbm_engine.medicare.plans import PartDPlan
from pbm_engine.money import fmt
from pbm_engine.pricing.claim_price import PricedClaim
from pbm_engine.result import Share
from pbm_engine.trace import Trace

__all__ = ["LIS_ALIASES", "PartDBenefit", "lis_level_of"]

LIS_ALIASES: dict[str, LisLevel | None] = {
    "": None, "none": None, "no": None, "0": None,
    "institutional": LisLevel.INSTITUTIONAL, "hcbs": LisLevel.INSTITUTIONAL,
    "3": LisLevel.INSTITUTIONAL,
    "fbde": LisLevel.FBDE, "dual": LisLevel.FBDE, "2": LisLevel.FBDE,
    "full": LisLevel.FULL, "full_subsidy": LisLevel.FULL, "1": LisLevel.FULL,
    "partial": LisLevel.PARTIAL, "4": LisLevel.PARTIAL,
}
"""Accepted ``Member.lis_level`` strings (normalized) and the level each means."""


@cache  # one lookup per claim, a handful of distinct arguments
def lis_level_of(text: str | None, year: int) -> LisLevel | None:
    """The LIS level of a member's ``lis_level`` string in a plan year; ValueError if unknown."""
    if text is None:
        return None
    key = str(text).strip().lower().replace("-", "_").replace(" ", "_")
    if key not in LIS_ALIASES:
        raise ValueError(f"LIS level {text!r} is not recognised (use institutional, fbde, full, "
                         "partial or none)")
    level = LIS_ALIASES[key]
    if level is LisLevel.PARTIAL and year >= 2024:
        return LisLevel.FULL
    return level


class PartDBenefit:
    """A Part D plan's benefit, for the engine's pipeline (see ``engine.Benefit``)."""

    __slots__ = ("_copay", "edits", "formulary", "network_id", "plan", "plan_id", "year")

    data_errors: tuple[type[Exception], ...] = (ValueError, LookupError)

    def __init__(self, plan: PartDPlan) -> None:
        self.plan = plan
        self.edits = plan.edits
        self.plan_id = plan.edits.plan_id
        self.formulary: Formulary = plan.formulary
        self.network_id = plan.network_id
        self.year: int | None = plan.year
        # (design tier, design channel, days supply) -> whether the cell is a copay
        self._copay: dict[tuple[int, Channel, int], bool] = {}

    def data_reject(self, exc: Exception) -> tuple[str, str]:
        """A data problem (a design without a cell for the drug, an LIS level absent in the
        year) rejects the claim 85 with the reason."""
        return Reject.CLAIM_NOT_PROCESSED, f"Part D: {exc}"

    def describe_member(self, member: Member) -> str:
        """The trace line naming the member and plan."""
        plan = self.plan
        return f"member {member.member_id} Part D plan {plan.plan_id} ({plan.name}, {plan.year})"

    def member_rejects(self, member: Member, rejects: list[tuple[str, str]]) -> None:
        """The member's LIS level must be one we know (85)."""
        try:
            lis_level_of(member.lis_level, self.plan.year)
        except ValueError as exc:
            rejects.append((Reject.CLAIM_NOT_PROCESSED, str(exc)))

    def unlisted(self, ndc: str, priced: bool, listed: bool) -> tuple[str, str]:
        """The reject for an NDC not on the Part D formulary (MR if known at all, else 54)."""
        if priced or listed:
            return (Reject.NOT_ON_FORMULARY,
                    f"NDC {ndc} is not on the Part D formulary of {self.plan.plan_id}")
        return Reject.NON_MATCHED_PRODUCT, f"NDC {ndc} is not known"

    def describe_drug(self, drug: Drug) -> str:
        """The trace line naming the drug."""
        return (f"drug {drug.ndc} {drug.name}: tier {drug.tier}, "
                f"{'brand' if drug.brand else 'generic'}"
                f"{', insulin' if drug.insulin else ''}{', vaccine' if drug.vaccine else ''}")

    def cover(self, claim: Claim, drug: Drug, rejects: list[tuple[str, str]]) -> None:
        """Part D cost sharing is the design's (checked when the claim is split)."""

    def map_rejects(self, drug: Drug, rejects: list[tuple[str, str]]) -> None:
        """Part D wording of the shared edits: statutory exclusions reject A5."""
        rejects[:] = [_part_d_reject(code, message, drug) for code, message in rejects]

    def share(self, priced: PricedClaim, member: Member, terms: None,
              accumulators: AccumulatorView, t: Trace) -> Share:
        """The phase split of the claim against the member's TrOOP and gross accumulators."""
        plan = self.plan
        claim, drug, paid = priced.claim, priced.drug, priced.paid
        lis = lis_level_of(member.lis_level, plan.year)
        year_start = dt.date(plan.year, 1, 1)
        before = accumulators.state(plan.plan_id, year_start, member.member_id,
                                    member.family_id).member
        state = BeneficiaryState(troop=before.troop, gross=before.gross_drug_cost, lis=lis)
        tier = plan.design_tier(drug)
        channel = plan.design_channel(claim.channel, tier)
        facts = ClaimFacts(
            ingredient_cost=paid.ingredient, dispensing_fee=paid.fee, tier=tier,
            channel=channel, days_supply=claim.days_supply, applicable_drug=drug.brand,
            generic_or_preferred_multisource=not drug.brand, insulin=drug.insulin,
            vaccine=drug.vaccine, selected_drug=drug.ndc in plan.selected_ndcs,
            other_troop_amount=claim.other_payer_amount,
        )
        split = split_claim(plan.parameters, plan.design, state, facts, plan.policy)
        if t:
            t(f"TrOOP {fmt(state.troop)}, gross {fmt(state.gross)} before; LIS "
              f"{lis.value if lis else 'none'}; tier {tier} at {channel.value}")
            for portion in split.portions:
                t(f"phase {portion.phase.value}: gross {fmt(portion.gross)}, cost share "
                  f"{fmt(portion.cost_share)}, discount {fmt(portion.discount)}")
        return _share(plan, drug, split, lis, self._is_copay(drug, claim, lis), t, year_start)

    def _is_copay(self, drug: Drug, claim: Claim, lis: LisLevel | None) -> bool:
        """Whether the enrollee's cost sharing is a copay (LIS, or a copay cell)."""
        if lis is not None and lis is not LisLevel.PARTIAL:
            return True
        plan = self.plan
        if plan.design.standard:
            return False
        tier = plan.design_tier(drug)
        key = (tier, plan.design_channel(claim.channel, tier), claim.days_supply)
        found = self._copay.get(key)
        if found is None:
            found = self._copay[key] = _copay_cell(plan.design, *key)
        return found


def _part_d_reject(code: str, message: str, drug: Drug) -> tuple[str, str]:
    """Part D wording of the commercial edits: statutory exclusions reject A5."""
    if code == Reject.NOT_COVERED and drug.coverage is Coverage.EXCLUDED and drug.otc:
        return Reject.NOT_COVERED_PART_D, f"{drug.name} is excluded from Part D (OTC drug)"
    if code == Reject.STEP_THERAPY and drug.step_therapy and \
            not drug.step_therapy.prerequisites:
        return code, "step therapy: a prior fill of this therapy or an exception is required"
    return code, message


def _copay_cell(design: BenefitDesign, tier: int, channel: Channel, days_supply: int) -> bool:
    """Whether the initial-coverage cell of a fill is a copay (False when it has none)."""
    try:
        cell = design.lookup(tier, CoverageLevel.INITIAL, channel, days_supply)
    except DesignLookupError:
        return False
    return cell is not None and cell.copay is not None


def _share(plan: PartDPlan, drug: Drug, split: PhaseResult, lis: LisLevel | None,
           is_copay: bool, t: Trace, year_start: dt.date) -> Share:
    params, design = plan.parameters, plan.design
    pde = build_pde(split)
    tier = plan.design_tier(drug)
    exempt = ((drug.insulin and params.insulin_cap is not None)
              or (drug.vaccine and params.vaccine_zero_cost_sharing)
              or tier in design.deductible_exempt_tiers)
    enrollee = split.patient_pay + split.other_troop_amount
    full_lis = lis is not None and lis is not LisLevel.PARTIAL  # an LIS copay, no deductible
    in_deductible = 0 if exempt or full_lis else sum(p.cost_share for p in split.portions
                                         if p.phase is BenefitPhase.DEDUCTIBLE)
    deductible = min(in_deductible, enrollee)
    rest = enrollee - deductible
    copay, coins = (rest, 0) if is_copay else (0, rest)
    plan_pay = split.covered_plan_paid + split.non_covered_plan_paid + split.plro

    plan_deductible = params.deductible if design.deductible is None else design.deductible
    met = split.gross_after if params.has_gap else split.troop_after
    remaining_deductible = max(0, plan_deductible - met)
    if t:
        t(f"enrollee pays {fmt(enrollee)} (OTA {fmt(split.other_troop_amount)}), LICS "
          f"{fmt(split.lics)}, discount {fmt(split.manufacturer_discount)}, plan pays "
          f"{fmt(plan_pay)}; TrOOP {fmt(split.troop_before)} -> {fmt(split.troop_after)}")
    return Share(
        total_price=split.gross_drug_cost,
        patient_pay=enrollee,
        plan_pay=plan_pay,
        other_payer_paid=split.other_troop_amount,
        member_paid=split.patient_pay,
        deductible_applied=deductible,
        copay_amount=copay,
        coinsurance_amount=coins,
        accumulated_deductible=min(met, plan_deductible) if plan_deductible else None,
        remaining_deductible=remaining_deductible,
        remaining_oop=max(0, params.oop_threshold - split.troop_after),
        plan_year=year_start,
        delta=Totals(oop=enrollee, plan_paid=plan_pay, troop=split.troop_delta,
                     gross_drug_cost=split.gross_drug_cost),
        part_d=pde,
        extra=_PartDExtra(plan.year, split, lis, enrollee),
    )


class _PartDExtra(Mapping[str, Any]):
    """``ClaimResult.extra`` of a paid Part D claim, formatted when first read.

    A mapping with the keys, order and values (dollar strings, phase letters) of the plain dict
    it stands for -- ``to_dict`` copies it into the response unchanged -- built from the phase
    result on first access, so a result that is never rendered costs no formatting.
    """

    __slots__ = ("_data", "_enrollee", "_lis", "_split", "_year")

    def __init__(self, year: int, split: PhaseResult, lis: LisLevel | None,
                 enrollee: int) -> None:
        self._year = year
        self._split = split
        self._lis = lis
        self._enrollee = enrollee
        self._data: dict[str, Any] | None = None

    def _dict(self) -> dict[str, Any]:
        data = self._data
        if data is None:
            split, lis = self._split, self._lis
            data = {
                "part_d_plan_year": self._year,
                "benefit_phase_before": split.beginning_phase.value,
                "benefit_phase_after": split.ending_phase.value,
                "phase_portions": [{"phase": p.phase.value, "gross": fmt(p.gross),
                                    "cost_share": fmt(p.cost_share),
                                    "discount": fmt(p.discount)}
                                   for p in split.portions],
                "troop_before": fmt(split.troop_before),
                "troop_after": fmt(split.troop_after),
                "gross_drug_cost_before": fmt(split.gross_before),
                "gross_drug_cost_after": fmt(split.gross_after),
                "lis_level": lis.value if lis else None,
                "lics": fmt(split.lics),
                "manufacturer_discount": fmt(split.manufacturer_discount),
                "covered_plan_paid": fmt(split.covered_plan_paid),
                "amount_paid_to_pharmacy": fmt(split.gross_drug_cost - self._enrollee),
                "catastrophic_coverage_code": split.catastrophic_code.value,
            }
            self._data = data
        return data

    def __getitem__(self, key: str) -> Any:
        return self._dict()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._dict())

    def __len__(self) -> int:
        return len(self._dict())

    def __repr__(self) -> str:
        return repr(self._dict())
