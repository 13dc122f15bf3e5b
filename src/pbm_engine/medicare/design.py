"""Part D benefit designs: the Defined Standard benefit and plan-specific tiered designs.

A :class:`BenefitDesign` is plain data: a plan deductible, tiers exempt from it, and a mapping
from (tier, coverage level, channel, days-supply band) to a :class:`CostShare` cell (a copay in
cents, or a coinsurance in parts per million with an optional minimum and maximum).

The codes mirror the CMS SPUF beneficiary-cost file (:mod:`pbm_engine.medicare.spuf`): coverage
level 0 pre-deductible, 1 initial coverage, 2 gap, 3 catastrophic; days-supply band 1 = 30 days,
4 = 60, 2 = 90, 3 = other; channel ``retail_pref``, ``retail_nonpref``, ``mail_pref``,
``mail_nonpref``.  The enums here compare equal to the SPUF ones by value, so a loader can build
a design straight from its rows with :meth:`BenefitDesign.from_rows`.

What the phase engine (:mod:`pbm_engine.medicare.phases`) reads from a design: the
pre-deductible and initial-coverage cells, the plan deductible and the exempt tiers.  The gap
and catastrophic phases follow the statutory Defined Standard rules; gap and catastrophic cells
are stored (for display and later use) but not applied.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from fractions import Fraction
from types import MappingProxyType
from typing import NamedTuple

from pbm_engine.money import RATE_SCALE, Cents

__all__ = [
    "BenefitDesign",
    "CellKey",
    "Channel",
    "CostShare",
    "CostShareRow",
    "CoverageLevel",
    "DaysSupplyBand",
    "DesignLookupError",
    "days_supply_band",
]


class CoverageLevel(IntEnum):
    """Benefit phase of a cost-share cell (SPUF ``COVERAGE_LEVEL``; the gap ended in 2025)."""

    PRE_DEDUCTIBLE = 0
    INITIAL = 1
    GAP = 2
    CATASTROPHIC = 3


class Channel(StrEnum):
    """Pharmacy channel of a cost-share cell."""

    RETAIL_PREF = "retail_pref"
    RETAIL_NONPREF = "retail_nonpref"
    MAIL_PREF = "mail_pref"
    MAIL_NONPREF = "mail_nonpref"


class DaysSupplyBand(IntEnum):
    """Days-supply band of a cost-share cell (SPUF ``DAYS_SUPPLY`` code)."""

    DAYS_30 = 1
    DAYS_90 = 2
    OTHER = 3
    DAYS_60 = 4


def days_supply_band(days_supply: int) -> DaysSupplyBand:
    """Band of an actual days supply: 1-30 -> 30, 31-60 -> 60, 61-90 -> 90, longer -> other."""
    if isinstance(days_supply, bool) or not isinstance(days_supply, int) or days_supply <= 0:
        raise ValueError(f"days_supply must be a positive int, got {days_supply!r}")
    if days_supply <= 30:
        return DaysSupplyBand.DAYS_30
    if days_supply <= 60:
        return DaysSupplyBand.DAYS_60
    if days_supply <= 90:
        return DaysSupplyBand.DAYS_90
    return DaysSupplyBand.OTHER


class DesignLookupError(LookupError):
    """A tiered design has no cost-share cell for the (tier, level, channel, band) asked."""


@dataclass(frozen=True, slots=True)
class CostShare:
    """One cost-share cell: a copay (cents) or a coinsurance (ppm) with optional min/max.

    ``min_amount``/``max_amount`` bound a coinsurance amount; ``None`` means no bound.
    """

    copay: Cents | None = None
    coinsurance: int | None = None
    min_amount: Cents | None = None
    max_amount: Cents | None = None

    def __post_init__(self) -> None:
        if (self.copay is None) == (self.coinsurance is None):
            raise ValueError("a cost share is either a copay or a coinsurance")
        for name in ("copay", "coinsurance", "min_amount", "max_amount"):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < 0
            ):
                raise ValueError(f"{name} must be a non-negative int, got {value!r}")
        if self.coinsurance is not None and self.coinsurance > RATE_SCALE:
            raise ValueError("coinsurance above 100%")
        if self.copay is not None and (self.min_amount is not None or self.max_amount is not None):
            raise ValueError("min/max apply to coinsurance only")

    @classmethod
    def of_copay(cls, cents: Cents) -> CostShare:
        """A flat copay in cents."""
        return cls(copay=cents)

    @classmethod
    def of_coinsurance(
        cls, rate_ppm: int, min_amount: Cents | None = None, max_amount: Cents | None = None
    ) -> CostShare:
        """A coinsurance in parts per million, optionally bounded."""
        return cls(coinsurance=rate_ppm, min_amount=min_amount, max_amount=max_amount)

    def amount(self, gross: Fraction, copay_factor: Fraction = Fraction(1)) -> Fraction:
        """Exact cost share on ``gross`` (never above it); copays are scaled by ``copay_factor``.

        ``copay_factor`` carries days-supply proration (e.g. 15/30 for a 15-day fill).
        """
        if self.copay is not None:
            value = self.copay * copay_factor
        else:
            value = gross * Fraction(self.coinsurance or 0, RATE_SCALE)
            if self.min_amount is not None:
                value = max(value, Fraction(self.min_amount))
            if self.max_amount is not None:
                value = min(value, Fraction(self.max_amount))
        return min(value, gross)


class CellKey(NamedTuple):
    """Index of a cost-share cell."""

    tier: int
    level: CoverageLevel
    channel: Channel
    band: DaysSupplyBand


class CostShareRow(NamedTuple):
    """One construction row of a tiered design."""

    tier: int
    level: CoverageLevel | int
    channel: Channel | str
    band: DaysSupplyBand | int
    cost_share: CostShare


@dataclass(frozen=True, slots=True)
class BenefitDesign:
    """A Part D benefit design.

    * ``deductible``: the plan deductible in cents, or ``None`` for the year's DS deductible.
    * ``deductible_exempt_tiers``: tiers priced at initial-coverage cost share in the deductible.
    * ``cells``: cost-share cells by :class:`CellKey`.
    * ``standard``: True for the Defined Standard benefit: cells are not used and every claim
      pays 100% in the deductible and the DS coinsurance (25%) in initial coverage.
    * ``month_days``: days in the plan's one-month supply (copay and insulin proration).

    Build the DS benefit with :meth:`defined_standard` and a tiered design with
    :meth:`from_rows`.
    """

    name: str
    cells: Mapping[CellKey, CostShare] = field(default_factory=lambda: MappingProxyType({}))
    deductible: Cents | None = None
    deductible_exempt_tiers: frozenset[int] = frozenset()
    standard: bool = False
    month_days: int = 30

    def __post_init__(self) -> None:
        if self.deductible is not None and self.deductible < 0:
            raise ValueError("deductible must be non-negative")
        if self.month_days <= 0:
            raise ValueError("month_days must be positive")

    @classmethod
    def defined_standard(cls) -> BenefitDesign:
        """The Defined Standard coinsurance benefit (any year; figures come from parameters)."""
        return cls(name="Defined Standard", standard=True)

    @classmethod
    def from_rows(
        cls,
        name: str,
        rows: Iterable[CostShareRow | tuple[int, int, str, int, CostShare]],
        *,
        deductible: Cents | None = None,
        deductible_exempt_tiers: Iterable[int] = (),
        month_days: int = 30,
    ) -> BenefitDesign:
        """Build a tiered design from ``(tier, level, channel, band, cost_share)`` rows.

        ``level``, ``channel`` and ``band`` may be given as their SPUF codes (``1``,
        ``"retail_pref"``, ``1``).  A key given twice raises :class:`ValueError`.
        """
        cells: dict[CellKey, CostShare] = {}
        for row in rows:
            tier, level, channel, band, cost_share = row
            key = CellKey(int(tier), CoverageLevel(level), Channel(channel), DaysSupplyBand(band))
            if key in cells:
                raise ValueError(f"cost-share cell {key} given twice")
            if not isinstance(cost_share, CostShare):
                raise TypeError(f"row {key}: cost_share must be a CostShare")
            cells[key] = cost_share
        return cls(
            name=name,
            cells=MappingProxyType(cells),
            deductible=deductible,
            deductible_exempt_tiers=frozenset(deductible_exempt_tiers),
            month_days=month_days,
        )

    def lookup(
        self, tier: int, level: CoverageLevel, channel: Channel, days_supply: int
    ) -> CostShare | None:
        """The cell for a fill: its own band first, then the 30-day band, then "other".

        Returns ``None`` for the Defined Standard design (statutory rules apply) and, in a
        tiered design, for a missing pre-deductible cell (the enrollee pays the full cost).
        Raises :class:`DesignLookupError` for any other missing cell.
        """
        if self.standard:
            return None
        own = days_supply_band(days_supply)
        for band in dict.fromkeys((own, DaysSupplyBand.DAYS_30, DaysSupplyBand.OTHER)):
            cell = self.cells.get(CellKey(tier, CoverageLevel(level), Channel(channel), band))
            if cell is not None:
                return cell
        if level == CoverageLevel.PRE_DEDUCTIBLE:
            return None
        raise DesignLookupError(
            f"{self.name}: no cost share for tier {tier}, {CoverageLevel(level).name}, "
            f"{Channel(channel).value}, {days_supply} days"
        )
