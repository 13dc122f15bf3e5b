"""The federal limits file (``data/commercial/federal_limits.yaml``): ACA maximum out-of-pocket
and HSA-qualified HDHP limits by plan year, each with its source, validated with pydantic."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from pbm_engine.benefit.federal import FederalLimits
from pbm_engine.errors import ConfigError
from pbm_engine.money import to_cents

__all__ = ["limits_for"]


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


