"""Commercial plan designs from the CMS Exchange (ACA QHP) public use files.

Two PUF tables describe a Marketplace plan's drug benefit:

* **Benefits and Cost Sharing**: one row per plan and benefit.  The four drug benefits
  (``Generic Drugs``, ``Preferred Brand Drugs``, ``Non-Preferred Brand Drugs``, ``Specialty
  Drugs``) give a copay and a coinsurance string per network tier: in network (``InnTier1``), a
  second in-network tier (``InnTier2``) and out of network (``OutofNet``).
* **Plan Attributes**: one row per plan variant with the deductibles (``TEHB...`` when medical and
  drug deductibles are integrated, ``DEHB...`` for a separate drug deductible) and the maximum
  out-of-pocket amounts, individual and family, per network tier; ``IsHSAEligible``.

:func:`read_puf` reads both (the national files or a state slice, found by name in a folder);
:func:`convert` turns one plan into this project's plan design (a dict shaped like a plan file,
checked by the plan loader), or raises :class:`NotConvertible` with the reason.

How the strings map (every pattern the 2026 Alaska files use, and a few CMS documents):

====================================  =============================================
cost-sharing string                   meaning
====================================  =============================================
``$10.00``                            copay, not subject to the deductible
``$10.00 Copay after deductible``     copay once the deductible is met
``$10.00 Copay before deductible``    copay, deductible does not apply
``$10.00 Copay with deductible``      deductible first, then the copay
``20.00%``                            coinsurance, not subject to the deductible
``20.00% Coinsurance after deductible``  coinsurance once the deductible is met
``No Charge``, ``$0.00``, ``0.00%``    nothing
``No Charge after deductible``        the deductible, then nothing
``Not Applicable``, empty             this half (copay or coinsurance) does not apply
====================================  =============================================

A tier with both a copay and a coinsurance above zero, a tier with neither half given, or a
string outside these patterns is reported, never guessed.  The PUF gives the cost share of a
30-day retail fill; the days-supply bands of the converted plan are an assumption stated in its
description: 1-34 days one copay, 35-60 two, 61-90 three (coinsurance the same rate), specialty
drugs 1-30 days.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from pbm_engine.errors import ConfigError

__all__ = [
    "DRUG_BENEFITS",
    "NETWORKS",
    "AcaPlan",
    "CostShare",
    "NotConvertible",
    "Puf",
    "bundled_puf_dir",
    "convert",
    "parse_cost_share",
    "read_puf",
]

DRUG_BENEFITS = {
    "Generic Drugs": 1,
    "Preferred Brand Drugs": 2,
    "Non-Preferred Brand Drugs": 3,
    "Specialty Drugs": 4,
}
"""PUF drug benefit -> the tier of this project's plan design."""

NETWORKS = {
    "in": ("InnTier1", "InnTier1"),
    "in2": ("InnTier2", "InnTier2"),
    "out": ("OutofNet", "OutOfNet"),
}
"""Network choice -> (benefits column suffix, plan attributes column infix)."""

_MONEY = r"\$\s?([\d,]+(?:\.\d+)?)"
_PCT = r"([\d.]+)\s?%"
_PATTERNS: tuple[tuple[re.Pattern[str], str, str], ...] = (
    (re.compile(rf"^{_MONEY}$"), "copay", "none"),
    (re.compile(rf"^{_MONEY} Copay after deductible$", re.I), "copay", "after"),
    (re.compile(rf"^{_MONEY} Copay before deductible$", re.I), "copay", "none"),
    (re.compile(rf"^{_MONEY} Copay with deductible$", re.I), "copay", "after"),
    (re.compile(rf"^{_PCT}$"), "coinsurance", "none"),
    (re.compile(rf"^{_PCT} Coinsurance after deductible$", re.I), "coinsurance", "after"),
    (re.compile(rf"^{_PCT} Coinsurance before deductible$", re.I), "coinsurance", "none"),
    (re.compile(r"^No Charge$", re.I), "free", "none"),
    (re.compile(r"^No Charge after deductible$", re.I), "free", "after"),
)
_NOT_APPLICABLE = {"", "not applicable"}


class NotConvertible(Exception):
    """A plan this converter cannot express, with the reason."""


@dataclass(frozen=True, slots=True)
class CostShare:
    """One half of a cost-sharing cell: ``kind`` copay / coinsurance / free; an amount as text
    (dollars or percent); whether the deductible applies first."""

    kind: str
    amount: str
    after_deductible: bool

    @property
    def is_zero(self) -> bool:
        return self.kind == "free" or Decimal(self.amount) == 0


def parse_cost_share(text: str) -> CostShare | None:
    """A PUF cost-sharing string; None for ``Not Applicable``/empty; ValueError if unknown."""
    clean = " ".join(text.replace("\u00a0", " ").split())
    if clean.lower() in _NOT_APPLICABLE:
        return None
    for pattern, kind, deductible in _PATTERNS:
        m = pattern.match(clean)
        if m:
            amount = m.group(1).replace(",", "") if m.groups() else "0"
            return CostShare(kind, str(Decimal(amount)), deductible == "after")
    raise ValueError(f"cost-sharing string {text!r} is not a known pattern")


def _dollars(text: str) -> str | None:
    """``$1,500 `` / ``$3000 per group`` -> ``1500``; None for not applicable / empty."""
    clean = text.strip().lower()
    if not clean or "not applicable" in clean:
        return None
    m = re.match(r"^\$\s?([\d,]+(?:\.\d+)?)", clean)
    if not m:
        raise ValueError(f"amount {text!r} is not a dollar amount")
    return str(Decimal(m.group(1).replace(",", "")))


@dataclass(frozen=True, slots=True)
class AcaPlan:
    """One plan variant: its attributes row and its drug benefit rows by benefit name."""

    plan_id: str
    attributes: dict[str, str]
    benefits: dict[str, dict[str, str]]

    @property
    def name(self) -> str:
        return self.attributes.get("PlanVariantMarketingName") or \
            self.attributes.get("PlanMarketingName", "")


@dataclass(frozen=True, slots=True)
class Puf:
    """The plans of a PUF folder, by plan id (``StandardComponentId-variant``)."""

    folder: Path
    plans: dict[str, AcaPlan]
    year: int | None


def _find(folder: Path, pattern: str) -> Path:
    found = sorted(p for p in folder.iterdir()
                   if re.fullmatch(pattern, p.name, re.I) and p.is_file())
    if not found:
        raise ConfigError(f"{folder}: no file like {pattern!r} (the CMS Exchange PUF "
                          "'Benefits_Cost_Sharing_PUF.csv' and 'Plan_Attributes_PUF.csv')")
    return found[0]


def _rows(path: Path) -> Iterator[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        yield from csv.DictReader(handle)


def read_puf(folder: str | Path) -> Puf:
    """Read the plan attributes and the drug rows of the benefits file in ``folder``."""
    base = Path(folder)
    if not base.is_dir():
        raise ConfigError(f"{base}: not a folder")
    attrs_path = _find(base, r"plan[_-]?attributes.*\.csv")
    benefits_path = _find(base, r"benefits[_-]?(and[_-]?)?cost[_-]?sharing.*\.csv")
    plans: dict[str, AcaPlan] = {}
    years = set()
    for row in _rows(attrs_path):
        if "PlanId" not in row:
            raise ConfigError(f"{attrs_path}: no PlanId column")
        plans[row["PlanId"]] = AcaPlan(row["PlanId"], row, {})
        if row.get("BusinessYear", "").isdigit():
            years.add(int(row["BusinessYear"]))
    for row in _rows(benefits_path):
        if row.get("BenefitName") in DRUG_BENEFITS and row.get("PlanId") in plans:
            plans[row["PlanId"]].benefits[row["BenefitName"]] = row
    return Puf(base, plans, max(years) if years else None)


def bundled_puf_dir() -> Path:
    """The bundled Alaska 2026 slice (trimmed; see its README)."""
    from importlib import resources

    return Path(str(resources.files("pbm_engine") / "data" / "aca_qhp_2026_ak"))


# -- conversion --------------------------------------------------------------------------------

def _limit(attrs: dict[str, str], prefix: str, infix: str, kind: str) -> dict[str, Any] | None:
    """Deductible (``kind`` 'Ded') or MOOP of the network tier, as a plan-file limit."""
    if kind == "Ded":
        names = (f"{prefix}Ded{infix}Individual", f"{prefix}Ded{infix}FamilyPerPerson",
                 f"{prefix}Ded{infix}FamilyPerGroup")
    else:
        names = (f"{prefix}{infix}IndividualMOOP", f"{prefix}{infix}FamilyPerPersonMOOP",
                 f"{prefix}{infix}FamilyPerGroupMOOP")
    try:
        individual, per_person, family = (_dollars(attrs.get(n, "")) for n in names)
    except ValueError as exc:
        raise NotConvertible(f"{names[0]}: {exc}") from None
    if individual is None:
        return None
    out: dict[str, Any] = {"individual": individual}
    if family is not None:
        out["family"] = family
    # the family's per-person amount equal to the individual amount is an embedded limit
    out["embedded"] = per_person is None or Decimal(per_person) <= Decimal(individual)
    if per_person is not None and Decimal(per_person) < Decimal(individual):
        out["per_person_cap"] = per_person
    return out


def _cell(plan: AcaPlan, benefit: str, suffix: str) -> tuple[CostShare, list[str]]:
    """The tier's cost share in the chosen network, and notes on what was read."""
    row = plan.benefits.get(benefit)
    if row is None:
        raise NotConvertible(f"no {benefit!r} row in the benefits file")
    if row.get("IsCovered", "Covered").strip().lower() not in ("covered", ""):
        raise NotConvertible(f"{benefit} is {row.get('IsCovered')!r}")
    copay_text, coins_text = row.get(f"Copay{suffix}", ""), row.get(f"Coins{suffix}", "")
    try:
        copay, coins = parse_cost_share(copay_text), parse_cost_share(coins_text)
    except ValueError as exc:
        raise NotConvertible(f"{benefit}: {exc}") from None
    given = [c for c in (copay, coins) if c is not None]
    if not given:
        raise NotConvertible(f"{benefit}: no cost sharing given for this network "
                             f"(copay {copay_text!r}, coinsurance {coins_text!r})")
    nonzero = [c for c in given if not c.is_zero]
    if len(nonzero) > 1:
        raise NotConvertible(f"{benefit}: both a copay ({copay_text!r}) and a coinsurance "
                             f"({coins_text!r}); a band takes one")
    chosen = nonzero[0] if nonzero else next((c for c in given if c.after_deductible),
                                              given[0])
    return chosen, [f"{benefit}: copay {copay_text or '-'!r}, coinsurance "
                    f"{coins_text or '-'!r}"]


def _bands(share: CostShare, tier: int) -> list[dict[str, str]]:
    spans = [("1-30", 1)] if tier == 4 else [("1-34", 1), ("35-60", 2), ("61-90", 3)]
    out = []
    for days, times in spans:
        if share.kind == "coinsurance":
            out.append({"days": days, "coinsurance": share.amount})
        else:
            amount = Decimal(share.amount if share.kind == "copay" else "0") * times
            out.append({"days": days, "copay": f"{amount:.2f}"})
    return out


def convert(plan: AcaPlan, *, network: str = "in", formulary: str = "SAMPLE-COMMERCIAL-2026",
            pharmacy_network: str = "SAMPLE-NETWORK-2026", year: int | None = None
            ) -> dict[str, Any]:
    """The plan design (plan-file data) of one PUF plan; raise :class:`NotConvertible`."""
    attrs = plan.attributes
    if attrs.get("DentalOnlyPlan", "No").strip().lower() == "yes":
        raise NotConvertible("dental-only plan: no drug benefit")
    if network not in NETWORKS:
        raise NotConvertible(f"network {network!r}: use one of {', '.join(NETWORKS)}")
    suffix, infix = NETWORKS[network]
    if network == "in2" and attrs.get("MultipleInNetworkTiers", "No").lower() != "yes":
        raise NotConvertible("the plan has one in-network tier (no InnTier2)")
    integrated = attrs.get("MedicalDrugDeductiblesIntegrated", "Yes").lower() == "yes"
    moop_integrated = attrs.get("MedicalDrugMaximumOutofPocketIntegrated", "Yes").lower() == "yes"
    deductible = _limit(attrs, "TEHB" if integrated else "DEHB", infix, "Ded")
    oop = _limit(attrs, "TEHB" if moop_integrated else "DEHB", infix, "MOOP")
    # tier 0: preventive drugs, $0 under the ACA preventive-services rule, as in the sample plans
    cells: list[dict[str, Any]] = [{"tier": 0, "channel": ["retail", "mail", "specialty"],
                                    "bands": [{"days": "1-90", "copay": "0.00"}]}]
    exempt, notes = [0], []
    for benefit, tier in DRUG_BENEFITS.items():
        share, read = _cell(plan, benefit, suffix)
        notes.extend(read)
        if not share.after_deductible:
            exempt.append(tier)
        channels = ["retail", "mail", "specialty"]
        cells.append({"tier": tier, "channel": channels, "bands": _bands(share, tier)})
    cap = attrs.get("SpecialtyDrugMaximumCoinsurance", "").strip()
    if cap:
        try:
            top = _dollars(cap)
        except ValueError as exc:
            raise NotConvertible(f"SpecialtyDrugMaximumCoinsurance: {exc}") from None
        if top is not None and "coinsurance" in cells[4]["bands"][0]:
            cells[4]["bands"][0]["max"] = top
    if deductible is None or Decimal(deductible["individual"]) == 0:
        deductible = None
    plan_year = year or (int(attrs["BusinessYear"]) if attrs.get("BusinessYear", "").isdigit()
                         else None)
    design: dict[str, Any] = {
        "plan_id": plan.plan_id,
        "name": plan.name,
        "description": (
            f"From the CMS Exchange PUF {plan_year or ''} ({attrs.get('StateCode', '')}, "
            f"issuer {attrs.get('IssuerId', '')}, {attrs.get('MetalLevel', '')}, "
            f"{attrs.get('CSRVariationType', '')}), {network}-network cost sharing. "
            "Days-supply bands assumed: 1-34 one copay, 35-60 two, 61-90 three; specialty 1-30. "
            + "; ".join(notes) + ".").strip(),
        "formulary": formulary,
        "network": pharmacy_network,
    }
    if plan_year:
        design["year"] = plan_year
    if deductible is not None:
        design["deductible"] = deductible
        if exempt:
            design["deductible_exempt_tiers"] = sorted(exempt)
    if oop is not None:
        design["oop_max"] = oop
    design["cost_share"] = cells
    design["max_days_supply"] = {"retail": 90, "mail": 90, "specialty": 30}
    if attrs.get("IsHSAEligible", "No").strip().lower() == "yes":
        # not marked hdhp: 2026 HSA eligibility of Exchange bronze plans does not follow the
        # HDHP deductible/out-of-pocket limits the hdhp flag checks
        design["description"] += " HSA-eligible per the PUF."
    design_warnings(design)
    return design


def design_warnings(design: dict[str, Any]) -> list[str]:
    """Load a converted design as the plan loader would; its federal-limit warnings."""
    from pbm_engine.benefit.federal import plan_warnings
    from pbm_engine.sources.federal import limits_for
    from pbm_engine.sources.loader import PlanModel

    try:
        plan = PlanModel.model_validate(design).to_plan()
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        raise NotConvertible(f"the converted design does not load: {exc}") from None
    return plan_warnings(plan, limits_for)
