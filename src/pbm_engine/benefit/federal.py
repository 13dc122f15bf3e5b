"""Federal limits on commercial plan designs (ACA maximum out-of-pocket, HSA-qualified HDHP), as
dated data with sources (``data/commercial/federal_limits.yaml``), and the checks that use them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from pbm_engine.benefit.plan import Plan
from pbm_engine.errors import ConfigError
from pbm_engine.money import Cents, fmt, to_cents


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    year: int
    source: str
    confidence: Literal["S", "C", "C-3p", "D", "M"]


class _Moop(_Row):
    self_only: str
    other_than_self_only: str


class _Hdhp(_Row):
    min_deductible_self: str
    min_deductible_family: str
    max_oop_self: str
    max_oop_family: str


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    aca_moop: list[_Moop]
    hdhp: list[_Hdhp]


@dataclass(frozen=True, slots=True)
class FederalLimits:
    """One plan year's limits (None where the year is not in the data)."""

    year: int
    moop_self: Cents | None = None
    moop_other: Cents | None = None
    hdhp_min_deductible_self: Cents | None = None
    hdhp_min_deductible_family: Cents | None = None
    hdhp_max_oop_self: Cents | None = None
    hdhp_max_oop_family: Cents | None = None


@cache
def _table() -> _Table:
    path = resources.files("pbm_engine") / "data" / "commercial" / "federal_limits.yaml"
    try:
        return _Table.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except ValidationError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def limits_for(year: int) -> FederalLimits:
    """The federal limits of a plan year (fields are None for years the data does not cover)."""
    table = _table()
    moop = next((r for r in table.aca_moop if r.year == year), None)
    hdhp = next((r for r in table.hdhp if r.year == year), None)
    return FederalLimits(
        year=year,
        moop_self=to_cents(moop.self_only) if moop else None,
        moop_other=to_cents(moop.other_than_self_only) if moop else None,
        hdhp_min_deductible_self=to_cents(hdhp.min_deductible_self) if hdhp else None,
        hdhp_min_deductible_family=to_cents(hdhp.min_deductible_family) if hdhp else None,
        hdhp_max_oop_self=to_cents(hdhp.max_oop_self) if hdhp else None,
        hdhp_max_oop_family=to_cents(hdhp.max_oop_family) if hdhp else None,
    )


def plan_warnings(plan: Plan) -> list[str]:
    """Where a plan's design breaks the federal limits of its year (needs ``plan.year``)."""
    if plan.year is None:
        return []
    limits = limits_for(plan.year)
    out: list[str] = []
    name = f"plan {plan.plan_id} ({plan.year})"

    def over(what: str, amount: Cents | None, limit: Cents | None, rule: str) -> None:
        if amount is not None and limit is not None and amount > limit:
            out.append(f"{name}: {what} {fmt(amount)} is above the {rule} {fmt(limit)}")

    def under(what: str, amount: Cents | None, limit: Cents | None, rule: str) -> None:
        if amount is not None and limit is not None and amount < limit:
            out.append(f"{name}: {what} {fmt(amount)} is below the {rule} {fmt(limit)}")

    oop, ded = plan.oop_max, plan.deductible
    if oop is not None:
        over("individual out-of-pocket maximum", oop.individual, limits.moop_self,
             "ACA self-only maximum")
        over("family out-of-pocket maximum", oop.family, limits.moop_other,
             "ACA other-than-self-only maximum")
        if not oop.embedded:
            cap = oop.per_person_cap if oop.per_person_cap is not None else oop.family
            over("per-person cost sharing on family coverage", cap, limits.moop_self,
                 "ACA self-only maximum (embedded self-only cap)")
    if plan.hdhp:
        if ded is None:
            out.append(f"{name}: an HDHP needs a deductible")
        else:
            under("individual deductible", ded.individual, limits.hdhp_min_deductible_self,
                  "HDHP minimum")
            under("family deductible", ded.family, limits.hdhp_min_deductible_family,
                  "HDHP minimum")
            if ded.embedded and ded.family is not None:
                under("embedded individual deductible on family coverage", ded.individual,
                      limits.hdhp_min_deductible_family, "HDHP minimum family deductible")
        if oop is not None:
            over("individual out-of-pocket maximum", oop.individual, limits.hdhp_max_oop_self,
                 "HDHP maximum")
            over("family out-of-pocket maximum", oop.family, limits.hdhp_max_oop_family,
                 "HDHP maximum")
    return out
