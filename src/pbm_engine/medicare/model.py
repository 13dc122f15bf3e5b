"""Inputs and outputs of the Part D phase split (:mod:`pbm_engine.medicare.phases`).

* :class:`ClaimFacts` -- one covered fill; :class:`BeneficiaryState` -- the accumulators and
  LIS level before it; :class:`PartDPolicy` -- the switches for the open policy points.
* :class:`PhaseResult` -- the split and every PDE amount, with :meth:`PhaseResult.check`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, StrEnum

from pbm_engine.medicare.design import Channel
from pbm_engine.medicare.parameters import LisLevel
from pbm_engine.money import Cents

__all__ = [
    "BeneficiaryState",
    "BenefitPhase",
    "CatastrophicCode",
    "ClaimFacts",
    "FeeAllocation",
    "InsulinScaling",
    "LisCopayBasis",
    "PartDPolicy",
    "PhasePortion",
    "PhaseResult",
]


class BenefitPhase(StrEnum):
    """PDE beginning/ending benefit phase codes."""

    DEDUCTIBLE = "D"
    INITIAL = "N"
    GAP = "G"
    CATASTROPHIC = "C"


_INITIAL = BenefitPhase.INITIAL
_GAP = BenefitPhase.GAP
_CAT = BenefitPhase.CATASTROPHIC


class CatastrophicCode(StrEnum):
    """PDE Catastrophic Coverage Code: blank, A (attachment met on this event), C (above)."""

    NONE = ""
    ATTACHMENT = "A"
    ABOVE = "C"


class FeeAllocation(Enum):
    """Open policy point: the dispensing fee in a claim that straddles a CGDP boundary."""

    EARLIER_PHASE = "earlier_phase"
    """The non-discounted components (fee, tax, admin fee) fill the earlier phase first."""
    PRO_RATA = "pro_rata"
    """Every phase portion carries the claim's mix of ingredient cost and fees."""


class InsulinScaling(Enum):
    """Open policy point: insulin cap for fills between whole months."""

    PRO_RATA = "pro_rata"
    """cap x days / days-in-month (so 30/60/90 days give 1x/2x/3x)."""
    NEXT_WHOLE_MONTH = "next_whole_month"
    """cap x ceil(days / days-in-month)."""


class LisCopayBasis(Enum):
    """How an LIS copay relates to the days supply."""

    PER_PRESCRIPTION = "per_prescription"
    """One LIS copay per fill whatever the supply [M]."""
    PER_MONTH_SUPPLY = "per_month_supply"
    """One LIS copay per started month of supply."""


@dataclass(frozen=True, slots=True)
class PartDPolicy:
    """Configuration for the open policy points (defaults in brackets).

    * ``fee_allocation`` [EARLIER_PHASE]: fee placement in CGDP straddles, 2011-2024.
    * ``insulin_scaling`` [PRO_RATA]: insulin cap for part months.
    * ``lis_copay_basis`` [PER_PRESCRIPTION]: LIS copay per fill or per month's supply.
    * ``prorate_short_fill_copays`` [True]: daily cost-sharing rate -- copays (plan and LIS)
      for fills shorter than the plan's month are scaled by days / month-days.
    """

    fee_allocation: FeeAllocation = FeeAllocation.EARLIER_PHASE
    insulin_scaling: InsulinScaling = InsulinScaling.PRO_RATA
    lis_copay_basis: LisCopayBasis = LisCopayBasis.PER_PRESCRIPTION
    prorate_short_fill_copays: bool = True


@dataclass(frozen=True, slots=True)
class BeneficiaryState:
    """Accumulators before the claim (year to date) and the LIS level, if any."""

    troop: Cents = 0
    gross: Cents = 0
    lis: LisLevel | None = None

    def __post_init__(self) -> None:
        if self.troop < 0 or self.gross < 0:
            raise ValueError("accumulators must be non-negative")


@dataclass(slots=True)  # per-claim: not frozen, see docs/performance.md
class ClaimFacts:
    """What the phase engine needs to know about one covered Part D fill.

    * ``applicable_drug``: NDA/BLA (discount programs); a selected drug is excluded from the
      MDP by ``selected_drug``.
    * ``generic_or_preferred_multisource``: gets the lower catastrophic and LIS copay.
    * ``insulin`` / ``vaccine``: covered insulin product / ACIP-recommended adult vaccine.
    * ``maximum_fair_price``: MFP of the fill, for the 2026+ insulin lesser-of rule.
    * ``specified_manufacturer`` / ``specified_small_manufacturer``: MDP phase-in flags.
    * ``other_troop_amount``: qualified other-payer payment available (SPAP, ADAP, charity...).
    """

    ingredient_cost: Cents
    dispensing_fee: Cents = 0
    vaccine_admin_fee: Cents = 0
    sales_tax: Cents = 0
    tier: int = 1
    channel: Channel = Channel.RETAIL_PREF
    days_supply: int = 30
    applicable_drug: bool = False
    generic_or_preferred_multisource: bool = False
    insulin: bool = False
    vaccine: bool = False
    selected_drug: bool = False
    maximum_fair_price: Cents | None = None
    specified_manufacturer: bool = False
    specified_small_manufacturer: bool = False
    other_troop_amount: Cents = 0

    def __post_init__(self) -> None:
        try:  # the common case in one expression; the checks below name the bad field
            valid = (
                self.ingredient_cost >= 0
                and self.dispensing_fee >= 0
                and self.vaccine_admin_fee >= 0
                and self.sales_tax >= 0
                and self.other_troop_amount >= 0
                and self.days_supply > 0
            )
        except TypeError:
            valid = False
        if valid:
            return
        for name in (
            "ingredient_cost",
            "dispensing_fee",
            "vaccine_admin_fee",
            "sales_tax",
            "other_troop_amount",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be non-negative")
        if self.days_supply <= 0:
            raise ValueError("days_supply must be positive")

    @property
    def gross(self) -> Cents:
        """Gross drug cost: ingredient + dispensing fee + vaccine admin fee + sales tax."""
        return self.ingredient_cost + self.dispensing_fee + self.vaccine_admin_fee + self.sales_tax


@dataclass(frozen=True, slots=True)
class PhasePortion:
    """The part of a claim that fell in one phase (cents, rounded cumulatively)."""

    phase: BenefitPhase
    gross: Cents
    cost_share: Cents
    """Plan (DS) cost sharing before LIS and other payers."""
    discount: Cents


@dataclass(slots=True)  # per-claim: not frozen, see docs/performance.md
class PhaseResult:
    """The phase split of one claim and every PDE amount (integer cents).

    Identity: ``gross_drug_cost == patient_pay + other_troop_amount + lics + plro +
    covered_plan_paid + non_covered_plan_paid + manufacturer_discount``.  ``plan_cost_share``
    (= patient pay + OTA + LICS) splits into the part below the OOP threshold, which counts
    toward TrOOP, and ``cost_share_above``, which does not.
    """

    year: int
    portions: tuple[PhasePortion, ...]
    gross_drug_cost: Cents
    gdcb: Cents
    gdca: Cents
    plan_cost_share: Cents
    patient_pay: Cents
    other_troop_amount: Cents
    lics: Cents
    plro: Cents
    covered_plan_paid: Cents
    non_covered_plan_paid: Cents
    manufacturer_discount: Cents
    discount_counts_toward_troop: bool
    reinsurance_eligible: Cents
    selected_drug_subsidy: Cents
    troop_delta: Cents
    gross_delta: Cents
    catastrophic_code: CatastrophicCode
    beginning_phase: BenefitPhase
    ending_phase: BenefitPhase
    troop_before: Cents
    troop_after: Cents
    gross_before: Cents
    gross_after: Cents
    applicable_drug: bool
    cost_share_above: Cents = 0
    """Plan cost sharing above the OOP threshold (catastrophic, 2006-2023): not TrOOP."""

    def check(self) -> None:
        """Raise :class:`AssertionError` unless every accounting identity holds exactly."""
        parts = (
            self.patient_pay
            + self.other_troop_amount
            + self.lics
            + self.plro
            + self.covered_plan_paid
            + self.non_covered_plan_paid
            + self.manufacturer_discount
        )
        portions = self.portions
        _ensure(parts == self.gross_drug_cost, "gross != sum of payer amounts")
        _ensure(self.gdcb + self.gdca == self.gross_drug_cost, "GDCB + GDCA != gross")
        _ensure(sum(p.gross for p in portions) == self.gross_drug_cost, "portions != gross")
        _ensure(
            sum(p.cost_share for p in portions) == self.plan_cost_share,
            "portion cost shares != plan cost share",
        )
        _ensure(
            sum(p.discount for p in portions) == self.manufacturer_discount,
            "portion discounts != discount",
        )
        _ensure(
            self.plan_cost_share == self.patient_pay + self.other_troop_amount + self.lics,
            "plan cost share != patient pay + OTA + LICS",
        )
        above = sum(p.cost_share for p in portions if p.phase is BenefitPhase.CATASTROPHIC)
        _ensure(above == self.cost_share_above, "catastrophic portion != cost share above")
        troop = self.plan_cost_share - self.cost_share_above + (
            self.manufacturer_discount if self.discount_counts_toward_troop else 0
        )
        _ensure(self.troop_delta == troop, "TrOOP delta mismatch")
        _ensure(self.troop_after == self.troop_before + self.troop_delta, "TrOOP accumulator")
        _ensure(self.gross_delta == self.gross_drug_cost, "gross delta mismatch")
        _ensure(self.gross_after == self.gross_before + self.gross_delta, "gross accumulator")
        amounts = (
            self.patient_pay,
            self.other_troop_amount,
            self.lics,
            self.covered_plan_paid,
            self.manufacturer_discount,
            self.gdcb,
            self.gdca,
            self.cost_share_above,
            *(p.cost_share for p in portions),
            *(p.discount for p in portions),
        )
        _ensure(min(amounts) >= 0, "negative amount")


def _ensure(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)
