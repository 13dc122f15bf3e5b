"""Dated Part D parameters (Defined Standard benefit and LIS), loaded from YAML data.

Every figure lives in ``data/medicare/parameters.yaml`` or ``data/medicare/lis.yaml`` with its
source key and confidence tag (see the domain reference); nothing here hard-codes a figure.
Money becomes integer cents, percentages parts per million (:mod:`pbm_engine.money`).

* :func:`parameters_for` -- the year's :class:`PartDParameters`.
* :func:`lis_for` -- the year's :class:`LisCostShare` for a :class:`LisLevel`.

Both raise :class:`PlanYearError` (a :class:`~pbm_engine.errors.UsageError` and a
:class:`ValueError`) for a plan year outside the data (2006-2026), and
:class:`~pbm_engine.errors.ConfigError` naming the file and field for a malformed data file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from pbm_engine.errors import ConfigError, UsageError
from pbm_engine.money import Cents, to_cents, to_rate

__all__ = [
    "DATA_DIR",
    "Confidence",
    "Era",
    "InsulinCapRule",
    "LisCostShare",
    "LisLevel",
    "PartDParameters",
    "PlanYearError",
    "Provenance",
    "lis_for",
    "load_lis_table",
    "load_parameter_table",
    "parameters_for",
    "supported_years",
]

DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "medicare"
"""Folder of the bundled ``parameters.yaml`` and ``lis.yaml``."""


class PlanYearError(UsageError, ValueError):
    """A plan year for which no Part D parameters exist in the data (outside 2006-2026)."""


class Confidence(StrEnum):
    """Confidence tag of a figure, as in the domain reference."""

    STATUTE = "S"
    CONFIRMED = "C"
    THIRD_PARTY = "C-3p"
    DERIVED = "D"
    UNVERIFIED = "M"


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where a figure comes from: a source key of the reference and its confidence tag."""

    source: str
    confidence: Confidence


class Era(Enum):
    """Benefit-structure eras of reference section 5."""

    Y2006_2010 = "2006-2010"
    Y2011_2012 = "2011-2012"
    Y2013_2018 = "2013-2018"
    Y2019_2023 = "2019-2023"
    Y2024 = "2024"
    Y2025_ON = "2025+"

    @classmethod
    def of(cls, year: int) -> Era:
        """The era of a plan year."""
        if year <= 2010:
            return cls.Y2006_2010
        if year <= 2012:
            return cls.Y2011_2012
        if year <= 2018:
            return cls.Y2013_2018
        if year <= 2023:
            return cls.Y2019_2023
        if year == 2024:
            return cls.Y2024
        return cls.Y2025_ON


class InsulinCapRule(StrEnum):
    """How the insulin applicable copayment amount is set."""

    FLAT = "flat"
    """The cap per month's supply (2023-2025)."""
    LESSER_OF = "lesser_of"
    """Lesser of the cap, a share of the maximum fair price and of the negotiated price (2026+)."""


class LisLevel(Enum):
    """Low-Income Subsidy levels (reference section 2.1)."""

    INSTITUTIONAL = "institutional"
    """Full-benefit dual eligible, institutionalized or receiving HCBS: $0."""
    FBDE = "fbde"
    """Full-benefit dual eligible with income at or below 100% FPL."""
    FULL = "full"
    """Other full-subsidy individuals."""
    PARTIAL = "partial"
    """Partial subsidy, 135-150% FPL, plan years before 2024 only."""


@dataclass(frozen=True, slots=True)
class PartDParameters:
    """One plan year's Defined Standard parameters; cents and parts per million.

    ``None`` marks a parameter that does not exist that year (e.g. the ICL from 2025).
    ``provenance`` maps each field name to its :class:`Provenance`.
    """

    year: int
    deductible: Cents
    initial_coverage_limit: Cents | None
    oop_threshold: Cents
    total_spend_at_oop_non_applicable: Cents
    total_spend_at_oop_applicable_estimate: Cents | None
    catastrophic_copay_generic: Cents
    catastrophic_copay_other: Cents
    catastrophic_coinsurance: int | None
    initial_coverage_coinsurance: int
    gap_generic_coinsurance: int | None
    gap_applicable_percentage: int | None
    gap_discount: int | None
    gap_brand_coinsurance: int | None
    gap_brand_fee_coinsurance: int | None
    catastrophic_plan_share: int
    reinsurance_applicable: int
    reinsurance_non_applicable: int
    initial_plan_share_applicable: int
    initial_plan_share_other: int
    mdp_initial_discount: int | None
    mdp_catastrophic_discount: int | None
    mdp_phase_in_initial_discount: int | None
    mdp_phase_in_catastrophic_discount: int | None
    selected_drug_subsidy: int | None
    insulin_cap: Cents | None
    insulin_cap_rule: InsulinCapRule | None
    insulin_price_share: int | None
    vaccine_zero_cost_sharing: bool
    provenance: Mapping[str, Provenance] = field(repr=False, compare=False)

    @property
    def era(self) -> Era:
        return Era.of(self.year)

    @property
    def has_gap(self) -> bool:
        """True before 2025: an initial coverage limit and a coverage gap exist."""
        return self.initial_coverage_limit is not None

    @property
    def has_cgdp(self) -> bool:
        """True 2011-2024: the Coverage Gap Discount Program operates."""
        return self.gap_discount is not None

    @property
    def has_mdp(self) -> bool:
        """True from 2025: the Manufacturer Discount Program operates."""
        return self.mdp_initial_discount is not None

    @property
    def catastrophic_zero(self) -> bool:
        """True from 2024: catastrophic cost sharing is $0 for every enrollee."""
        return self.catastrophic_coinsurance is None


@dataclass(frozen=True, slots=True)
class LisCostShare:
    """LIS cost sharing of one level in one year.

    Below the OOP threshold the enrollee pays the copay (generic/preferred multiple-source or
    other) -- or, at the partial level, ``deductible`` then ``coinsurance`` (ppm).  Above the
    threshold the enrollee pays the catastrophic copays, or $0 where they are ``None``.
    """

    year: int
    level: LisLevel
    deductible: Cents
    copay_generic: Cents | None
    copay_other: Cents | None
    coinsurance: int | None
    catastrophic_copay_generic: Cents | None
    catastrophic_copay_other: Cents | None
    provenance: Mapping[str, Provenance] = field(repr=False, compare=False)


# --------------------------------------------------------------------------------------------
# Reading the YAML tables

_RANGE = re.compile(r"^(\d{4})(?:-(\d{4}))?$")
_UNITS = ("dollars", "percent", "bool", "text")


@dataclass(frozen=True, slots=True)
class _Figure:
    value: Any
    provenance: Provenance


class _Tables:
    """Parsed tables of one YAML file: ``figure(name, year)``."""

    __slots__ = ("extra", "first_year", "last_year", "path", "tables")

    def __init__(self, path: Path) -> None:
        import yaml  # loaded on first use: importing the engine does not load the YAML parser

        self.path = path
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"{path}: cannot read: {exc}") from exc
        if not isinstance(raw, dict) or not isinstance(raw.get("tables"), dict):
            raise ConfigError(f"{path}: missing 'tables' mapping")
        self.first_year = self._int(raw, "first_year")
        self.last_year = self._int(raw, "last_year")
        self.extra = raw
        self.tables: dict[str, dict[int, _Figure]] = {}
        for name, table in raw["tables"].items():
            self.tables[str(name)] = self._table(str(name), table)

    def _int(self, raw: dict[str, Any], key: str) -> int:
        value = raw.get(key)
        if not isinstance(value, int):
            raise ConfigError(f"{self.path}: field {key!r} must be an integer year")
        return value

    def _table(self, name: str, table: Any) -> dict[int, _Figure]:
        where = f"{self.path}: table {name!r}"
        if not isinstance(table, dict) or not isinstance(table.get("values"), dict):
            raise ConfigError(f"{where}: needs 'values'")
        unit = table.get("unit")
        if unit not in _UNITS:
            raise ConfigError(f"{where}: unit must be one of {_UNITS}")
        default = _provenance(where, table)
        out: dict[int, _Figure] = {}
        for key, entry in table["values"].items():
            match = _RANGE.match(str(key))
            if not match:
                raise ConfigError(f"{where}: bad year key {key!r}")
            start = int(match.group(1))
            end = int(match.group(2) or start)
            if isinstance(entry, dict):
                prov = _provenance(f"{where} year {key}", {**_as_tags(default), **entry})
                raw_value = entry.get("value")
            else:
                prov, raw_value = default, entry
            value = _convert(f"{where} year {key}", unit, raw_value)
            for year in range(start, end + 1):
                if year in out:
                    raise ConfigError(f"{where}: year {year} given twice")
                out[year] = _Figure(value, prov)
        missing = [y for y in range(self.first_year, self.last_year + 1) if y not in out]
        if missing:
            raise ConfigError(f"{where}: no value for years {missing}")
        return out

    def figure(self, name: str, year: int) -> _Figure:
        try:
            return self.tables[name][year]
        except KeyError:
            raise ConfigError(f"{self.path}: no table {name!r} for year {year}") from None


def _as_tags(prov: Provenance) -> dict[str, str]:
    return {"source": prov.source, "confidence": prov.confidence.value}


def _provenance(where: str, mapping: Mapping[str, Any]) -> Provenance:
    source = mapping.get("source")
    if not isinstance(source, str) or not source:
        raise ConfigError(f"{where}: field 'source' is required")
    try:
        confidence = Confidence(str(mapping.get("confidence")))
    except ValueError:
        raise ConfigError(f"{where}: field 'confidence' must be S, C, C-3p, D or M") from None
    return Provenance(source, confidence)


def _convert(where: str, unit: str, value: Any) -> Any:
    if value is None:
        return None
    try:
        if unit == "dollars":
            return to_cents(str(value))
        if unit == "percent":
            return to_rate(str(value))
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {exc}") from exc
    if unit == "bool":
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true or false")
        return value
    return str(value)


# --------------------------------------------------------------------------------------------
# Public loaders

_PARAMETER_FIELDS = (
    "deductible",
    "initial_coverage_limit",
    "oop_threshold",
    "total_spend_at_oop_non_applicable",
    "total_spend_at_oop_applicable_estimate",
    "catastrophic_copay_generic",
    "catastrophic_copay_other",
    "catastrophic_coinsurance",
    "initial_coverage_coinsurance",
    "gap_generic_coinsurance",
    "gap_applicable_percentage",
    "gap_discount",
    "gap_brand_coinsurance",
    "gap_brand_fee_coinsurance",
    "catastrophic_plan_share",
    "reinsurance_applicable",
    "reinsurance_non_applicable",
    "initial_plan_share_applicable",
    "initial_plan_share_other",
    "mdp_initial_discount",
    "mdp_catastrophic_discount",
    "selected_drug_subsidy",
    "insulin_cap",
    "insulin_cap_rule",
    "insulin_price_share",
    "vaccine_zero_cost_sharing",
)
_REQUIRED = frozenset(
    {
        "deductible",
        "oop_threshold",
        "total_spend_at_oop_non_applicable",
        "catastrophic_copay_generic",
        "catastrophic_copay_other",
        "initial_coverage_coinsurance",
        "catastrophic_plan_share",
        "reinsurance_applicable",
        "reinsurance_non_applicable",
        "initial_plan_share_applicable",
        "initial_plan_share_other",
        "vaccine_zero_cost_sharing",
    }
)


@cache
def load_parameter_table(path: Path | None = None) -> Mapping[int, PartDParameters]:
    """Load a parameters YAML file (default: the bundled one) into ``{year: parameters}``."""
    path = path or DATA_DIR / "parameters.yaml"
    tables = _Tables(path)
    phase_in = _phase_in(tables)
    out: dict[int, PartDParameters] = {}
    for year in range(tables.first_year, tables.last_year + 1):
        values: dict[str, Any] = {}
        provenance: dict[str, Provenance] = {}
        for name in _PARAMETER_FIELDS:
            fig = tables.figure(name, year)
            if fig.value is None and name in _REQUIRED:
                raise ConfigError(f"{path}: table {name!r} year {year} may not be null")
            values[name] = fig.value
            provenance[name] = fig.provenance
        rule = values["insulin_cap_rule"]
        values["insulin_cap_rule"] = None if rule is None else InsulinCapRule(rule)
        below = above = prov = None
        if values["mdp_initial_discount"] is not None:
            below, above, prov = _phase_in_for(phase_in, year)
        values["mdp_phase_in_initial_discount"] = below
        values["mdp_phase_in_catastrophic_discount"] = above
        if prov is not None:
            provenance["mdp_phase_in_initial_discount"] = prov
            provenance["mdp_phase_in_catastrophic_discount"] = prov
        out[year] = PartDParameters(year=year, provenance=MappingProxyType(provenance), **values)
    return MappingProxyType(out)


def _phase_in(tables: _Tables) -> tuple[dict[int, tuple[int, int]], Provenance]:
    where = f"{tables.path}: mdp_phase_in"
    raw = tables.extra.get("mdp_phase_in")
    if not isinstance(raw, dict) or not isinstance(raw.get("rows"), dict):
        raise ConfigError(f"{where}: needs 'rows'")
    rows: dict[int, tuple[int, int]] = {}
    for year, row in raw["rows"].items():
        if not isinstance(row, dict):
            raise ConfigError(f"{where}: row {year} must be a mapping")
        rows[int(year)] = (
            _convert(f"{where} {year}", "percent", row.get("initial")),
            _convert(f"{where} {year}", "percent", row.get("catastrophic")),
        )
    return rows, _provenance(where, raw)


def _phase_in_for(
    phase_in: tuple[dict[int, tuple[int, int]], Provenance], year: int
) -> tuple[int, int, Provenance]:
    rows, prov = phase_in
    known = [y for y in rows if y <= year]
    if not known:
        raise ConfigError(f"mdp_phase_in: no row for {year}")
    below, above = rows[max(known)]
    return below, above, prov


def supported_years() -> range:
    """Plan years covered by the bundled data (2006-2026)."""
    table = load_parameter_table()
    return range(min(table), max(table) + 1)


def parameters_for(year: int) -> PartDParameters:
    """The Defined Standard parameters of a plan year; :class:`PlanYearError` if unknown."""
    table = load_parameter_table()
    try:
        return table[year]
    except KeyError:
        raise PlanYearError(
            f"no Part D parameters for plan year {year!r}; supported {min(table)}-{max(table)}"
        ) from None


@cache
def load_lis_table(path: Path | None = None) -> Mapping[tuple[int, LisLevel], LisCostShare]:
    """Load an LIS YAML file (default: the bundled one) into ``{(year, level): cost share}``.

    The partial level is absent for years in which it does not exist (from 2024).
    """
    path = path or DATA_DIR / "lis.yaml"
    tables = _Tables(path)
    out: dict[tuple[int, LisLevel], LisCostShare] = {}
    for year in range(tables.first_year, tables.last_year + 1):

        def fig(name: str, year: int = year) -> _Figure:
            return tables.figure(name, year)

        inst = fig("institutional_copay")
        out[(year, LisLevel.INSTITUTIONAL)] = LisCostShare(
            year, LisLevel.INSTITUTIONAL, 0, inst.value, inst.value, None, None, None,
            MappingProxyType({"copay": inst.provenance}),
        )  # fmt: skip
        for level, prefix in ((LisLevel.FBDE, "fbde"), (LisLevel.FULL, "full")):
            gen, oth = fig(f"{prefix}_copay_generic"), fig(f"{prefix}_copay_other")
            out[(year, level)] = LisCostShare(
                year, level, 0, gen.value, oth.value, None, None, None,
                MappingProxyType({"copay_generic": gen.provenance, "copay_other": oth.provenance}),
            )  # fmt: skip
        ded = fig("partial_deductible")
        if ded.value is not None:
            coins = fig("partial_coinsurance")
            cgen = fig("partial_catastrophic_copay_generic")
            coth = fig("partial_catastrophic_copay_other")
            out[(year, LisLevel.PARTIAL)] = LisCostShare(
                year, LisLevel.PARTIAL, ded.value, None, None, coins.value, cgen.value,
                coth.value,
                MappingProxyType(
                    {
                        "deductible": ded.provenance,
                        "coinsurance": coins.provenance,
                        "catastrophic_copay_generic": cgen.provenance,
                        "catastrophic_copay_other": coth.provenance,
                    }
                ),
            )  # fmt: skip
    return MappingProxyType(out)


@cache  # called for every LIS claim; the table is immutable
def lis_for(year: int, level: LisLevel) -> LisCostShare:
    """LIS cost sharing for a plan year and level.

    Raises :class:`PlanYearError` for a year outside the data, or for the partial level from
    2024 (the partial subsidy group was eliminated).
    """
    parameters_for(year)
    try:
        return load_lis_table()[(year, LisLevel(level))]
    except KeyError:
        raise PlanYearError(f"LIS level {level.value!r} does not exist in {year}") from None
