"""PDE-style records built from a phase result (reference section 4.2).

:func:`build_pde` turns a :class:`~pbm_engine.medicare.phases.PhaseResult` into a
:class:`PdeRecord`; :meth:`PdeRecord.to_dict` gives money as strings (``"12.34"``) and
:meth:`PdeRecord.check` verifies the balancing identities.  Through 2024 the discount is the
Reported Gap Discount; from 2025 the Manufacturer Discount (CMS's 2025 field name is not
verified [M], so the dictionary key is ``manufacturer_discount_amount``).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from pbm_engine.medicare.phases import BenefitPhase, CatastrophicCode, PhaseResult
from pbm_engine.money import Cents, fmt

__all__ = ["PdeRecord", "build_pde"]

_MONEY = (
    "gross_drug_cost",
    "gdcb",
    "gdca",
    "patient_pay",
    "other_troop_amount",
    "lics",
    "plro",
    "covered_plan_paid",
    "non_covered_plan_paid",
    "reported_gap_discount",
    "manufacturer_discount",
    "troop_accumulator_before",
    "troop_accumulator_after",
    "gross_accumulator_before",
    "gross_accumulator_after",
)


@dataclass(slots=True)  # per-claim: not frozen, see docs/performance.md
class PdeRecord:
    """The phase-related fields of a Prescription Drug Event, in integer cents."""

    plan_year: int
    gross_drug_cost: Cents
    gdcb: Cents
    gdca: Cents
    patient_pay: Cents
    other_troop_amount: Cents
    lics: Cents
    plro: Cents
    covered_plan_paid: Cents
    non_covered_plan_paid: Cents
    reported_gap_discount: Cents
    """Manufacturer gap discount, 2011-2024 (0 otherwise)."""
    manufacturer_discount: Cents
    """Manufacturer Discount Program amount, 2025+ (0 otherwise)."""
    catastrophic_coverage_code: CatastrophicCode
    beginning_benefit_phase: BenefitPhase
    ending_benefit_phase: BenefitPhase
    troop_accumulator_before: Cents
    troop_accumulator_after: Cents
    gross_accumulator_before: Cents
    gross_accumulator_after: Cents
    brand_generic_code: str
    """``B`` for an applicable (NDA/BLA) drug, ``G`` otherwise."""

    @property
    def discount(self) -> Cents:
        """The discount field of the record's era."""
        return self.reported_gap_discount + self.manufacturer_discount

    def to_dict(self) -> dict[str, str | int]:
        """Field name to value; money as dollar strings, codes as their letters."""
        out: dict[str, str | int] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in _MONEY:
                out[f.name] = fmt(value)
            elif isinstance(value, (BenefitPhase, CatastrophicCode)):
                out[f.name] = value.value
            else:
                out[f.name] = value
        return out

    def check(self) -> None:
        """Raise :class:`AssertionError` unless the PDE identities hold exactly.

        gross = GDCB + GDCA = PPA + OTA + LICS + PLRO + CPP + NPP + discount; accumulators
        after = before + this claim; at most one discount field is used; GDCB is 0 under code
        C and the whole gross under a blank code.
        """
        total = (
            self.patient_pay
            + self.other_troop_amount
            + self.lics
            + self.plro
            + self.covered_plan_paid
            + self.non_covered_plan_paid
            + self.discount
        )
        checks = {
            "GDCB + GDCA == gross": self.gdcb + self.gdca == self.gross_drug_cost,
            "payer amounts == gross": total == self.gross_drug_cost,
            "gross accumulator": self.gross_accumulator_after
            == self.gross_accumulator_before + self.gross_drug_cost,
            "TrOOP accumulator never decreases": self.troop_accumulator_after
            >= self.troop_accumulator_before,
            "one discount field": self.reported_gap_discount == 0
            or self.manufacturer_discount == 0,
            "code C means GDCB 0": self.catastrophic_coverage_code is not CatastrophicCode.ABOVE
            or self.gdcb == 0,
            "blank code means GDCA 0": self.catastrophic_coverage_code is not CatastrophicCode.NONE
            or self.gdca == 0,
        }
        failed = [name for name, ok in checks.items() if not ok]
        if failed:
            raise AssertionError("PDE identity failed: " + ", ".join(failed))


def build_pde(result: PhaseResult) -> PdeRecord:
    """The PDE record of a phase result."""
    gap = result.manufacturer_discount if result.year <= 2024 else 0
    mdp = result.manufacturer_discount if result.year >= 2025 else 0
    return PdeRecord(
        plan_year=result.year,
        gross_drug_cost=result.gross_drug_cost,
        gdcb=result.gdcb,
        gdca=result.gdca,
        patient_pay=result.patient_pay,
        other_troop_amount=result.other_troop_amount,
        lics=result.lics,
        plro=result.plro,
        covered_plan_paid=result.covered_plan_paid,
        non_covered_plan_paid=result.non_covered_plan_paid,
        reported_gap_discount=gap,
        manufacturer_discount=mdp,
        catastrophic_coverage_code=result.catastrophic_code,
        beginning_benefit_phase=result.beginning_phase,
        ending_benefit_phase=result.ending_phase,
        troop_accumulator_before=result.troop_before,
        troop_accumulator_after=result.troop_after,
        gross_accumulator_before=result.gross_before,
        gross_accumulator_after=result.gross_after,
        brand_generic_code="B" if result.applicable_drug else "G",
    )
