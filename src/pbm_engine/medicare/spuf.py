"""Load real Part D plans from CMS's Prescription Drug Plan Formulary PUF (the "SPUF").

Two encodings of the same tables are read:

* ``"pipe"`` -- CMS's original members: ``|`` delimited, header row, CRLF, no quoting, Latin-1.
* ``"csv"`` -- an RFC-4180 re-encoding: comma delimited, UTF-8, LF, quoted where needed.

The format is detected from the header line (a ``|`` in it means pipe) unless given explicitly.
In both, a value that is empty, a single space or a SAS missing ``.`` is blank and becomes
``None``.  Header names are matched case-insensitively (the insulin file's are lowercase).
Codes stay text: NDC (11 digits), RxCUI, formulary, contract, plan and segment ids keep their
leading zeros.  Money is integer cents (:func:`~pbm_engine.money.to_cents`), coinsurance is parts
per million (:func:`~pbm_engine.money.fraction_to_rate`), quantity limits are 1/1,000 units
(:func:`~pbm_engine.money.to_qty`).  A malformed row raises :class:`ValueError` naming the
file, line and column.

Days-supply rule (:func:`days_supply_code`): the beneficiary-cost and insulin files key cost
share by a ``DAYS_SUPPLY`` code, 1 = one month (30 days), 4 = 60 days, 2 = 90 days, 3 = other.
An actual supply of 1-30 days maps to code 1, 31-60 to code 4, 61-90 to code 2 and anything
longer to code 3.  When the plan has no row for that code, the lookup falls back to code 1 and
then code 3 (plans often publish only a one-month row for a tier, e.g. specialty).  The cell
returned carries the code actually used, so callers can see that a fallback happened.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Literal, NamedTuple, NoReturn

from pbm_engine.money import RATE_SCALE, Cents, fraction_to_rate, to_cents, to_qty

__all__ = [
    "BUNDLED_SPUF_DIR",
    "BeneficiaryCost",
    "Channel",
    "CostCell",
    "CostKey",
    "CostType",
    "CoverageLevel",
    "DaysSupplyCode",
    "ExcludedDrug",
    "FormularyEntry",
    "IndicationCoverage",
    "InsulinCell",
    "InsulinCost",
    "InsulinKey",
    "PlanInformation",
    "PlanKey",
    "SpufFormat",
    "SpufLibrary",
    "SpufLookupError",
    "SpufPlan",
    "UnknownPlanError",
    "bundled_spuf_library",
    "days_supply_code",
    "detect_format",
    "read_basic_formulary",
    "read_beneficiary_cost",
    "read_excluded_drugs",
    "read_indication_coverage",
    "read_insulin_cost",
    "read_plan_information",
]

SpufFormat = Literal["pipe", "csv"]
"""How a SPUF file is delimited: ``pipe`` (CMS releases) or ``csv``."""

BUNDLED_SPUF_DIR = Path(__file__).resolve().parent.parent / "data" / "cms_spuf_2026q2"
"""The bundled 2026Q2 sample (four contracts, CSV form)."""


# --------------------------------------------------------------------------------------------
# Code sets


class CostType(IntEnum):
    """``COST_TYPE_*``: how a cost-share cell is expressed."""

    NOT_OFFERED = 0
    COPAY = 1
    COINSURANCE = 2


class CoverageLevel(IntEnum):
    """``COVERAGE_LEVEL``: benefit phase of a cost-share row (2, the gap, ended in 2025)."""

    PRE_DEDUCTIBLE = 0
    INITIAL = 1
    GAP = 2
    CATASTROPHIC = 3


class DaysSupplyCode(IntEnum):
    """``DAYS_SUPPLY`` code of the beneficiary-cost and insulin files."""

    DAYS_30 = 1
    DAYS_90 = 2
    OTHER = 3
    DAYS_60 = 4


class Channel(StrEnum):
    """Pharmacy channel of a cost-share cell (preferred/non-preferred retail or mail)."""

    RETAIL_PREF = "retail_pref"
    RETAIL_NONPREF = "retail_nonpref"
    MAIL_PREF = "mail_pref"
    MAIL_NONPREF = "mail_nonpref"


# Column-name infix of each channel: COST_TYPE_<x>, copay_amt_<x>_insln.
_CHANNEL_COLUMNS: tuple[tuple[Channel, str], ...] = (
    (Channel.RETAIL_PREF, "PREF"),
    (Channel.RETAIL_NONPREF, "NONPREF"),
    (Channel.MAIL_PREF, "MAIL_PREF"),
    (Channel.MAIL_NONPREF, "MAIL_NONPREF"),
)


def days_supply_code(days_supply: int) -> DaysSupplyCode:
    """Map an actual days supply to its SPUF code: <=30 -> 1, 31-60 -> 4, 61-90 -> 2, else 3."""
    if isinstance(days_supply, bool) or not isinstance(days_supply, int):
        raise TypeError("days_supply must be an int")
    if days_supply <= 0:
        raise ValueError(f"days_supply must be positive, got {days_supply}")
    if days_supply <= 30:
        return DaysSupplyCode.DAYS_30
    if days_supply <= 60:
        return DaysSupplyCode.DAYS_60
    if days_supply <= 90:
        return DaysSupplyCode.DAYS_90
    return DaysSupplyCode.OTHER


def _days_supply_order(days_supply: int) -> tuple[DaysSupplyCode, ...]:
    """Codes to try for a days supply: its own code, then 1, then 3 (no repeats)."""
    order = [days_supply_code(days_supply)]
    for fallback in (DaysSupplyCode.DAYS_30, DaysSupplyCode.OTHER):
        if fallback not in order:
            order.append(fallback)
    return tuple(order)


# --------------------------------------------------------------------------------------------
# Records


class PlanKey(NamedTuple):
    """A Part D plan benefit package: contract (H/R/S + 4 digits), plan and segment ids."""

    contract_id: str
    plan_id: str
    segment_id: str

    def __str__(self) -> str:
        return f"{self.contract_id}-{self.plan_id}-{self.segment_id}"


class CostKey(NamedTuple):
    """Index of a cost-share cell."""

    coverage_level: int
    tier: int
    days_supply_code: int
    channel: Channel


class InsulinKey(NamedTuple):
    """Index of an insulin cost cell; ``tier`` None is the all-tiers row (``TIER='.'``)."""

    tier: int | None
    days_supply_code: int
    channel: Channel


@dataclass(frozen=True, slots=True)
class PlanInformation:
    """One plan-information row (CMS repeats a plan once per county of its service area)."""

    contract_id: str
    plan_id: str
    segment_id: str
    contract_name: str | None
    plan_name: str | None
    formulary_id: str
    premium: Cents | None
    deductible: Cents | None
    ma_region_code: str | None
    pdp_region_code: str | None
    state: str | None
    county_code: str | None
    snp: int | None
    """0 none, 1 chronic, 2 dual eligible, 3 institutional."""
    suppressed: bool | None

    @property
    def key(self) -> PlanKey:
        return PlanKey(self.contract_id, self.plan_id, self.segment_id)


@dataclass(frozen=True, slots=True)
class FormularyEntry:
    """One basic-drugs-formulary row: an NDC on a formulary with its tier and UM flags."""

    formulary_id: str
    formulary_version: int | None
    contract_year: int | None
    rxcui: str | None
    ndc: str
    tier: int
    quantity_limit: bool
    quantity_limit_amount: int | None
    """Quantity in 1/1,000 units (:data:`~pbm_engine.money.QTY_SCALE`)."""
    quantity_limit_days: int | None
    prior_authorization: bool
    step_therapy: bool
    selected_drug: bool
    """IRA-negotiated ("selected") drug."""


@dataclass(frozen=True, slots=True)
class CostCell:
    """Cost share for one (coverage level, tier, days-supply code, channel).

    ``copay`` is set for :attr:`CostType.COPAY`, ``coinsurance`` (ppm) for
    :attr:`CostType.COINSURANCE`, neither when not offered (a blank ``COST_TYPE`` is read as
    not offered).  ``min_amount``/``max_amount`` are the published bounds as given; CMS writes
    0 when a cell has no bound, so treat 0 as "no bound", not as a $0 cap.
    """

    coverage_level: int
    tier: int
    days_supply_code: int
    channel: Channel
    cost_type: CostType
    copay: Cents | None
    coinsurance: int | None
    min_amount: Cents | None
    max_amount: Cents | None

    @property
    def offered(self) -> bool:
        return self.cost_type is not CostType.NOT_OFFERED

    @property
    def key(self) -> CostKey:
        return CostKey(self.coverage_level, self.tier, self.days_supply_code, self.channel)


@dataclass(frozen=True, slots=True)
class BeneficiaryCost:
    """One beneficiary-cost row: the four channel cells of a (level, tier, days-supply code)."""

    contract_id: str
    plan_id: str
    segment_id: str
    coverage_level: int
    tier: int
    days_supply_code: int
    retail_pref: CostCell
    retail_nonpref: CostCell
    mail_pref: CostCell
    mail_nonpref: CostCell
    tier_specialty: bool
    deductible_applies: bool

    @property
    def key(self) -> PlanKey:
        return PlanKey(self.contract_id, self.plan_id, self.segment_id)

    @property
    def cells(self) -> tuple[CostCell, CostCell, CostCell, CostCell]:
        return (self.retail_pref, self.retail_nonpref, self.mail_pref, self.mail_nonpref)


@dataclass(frozen=True, slots=True)
class InsulinCell:
    """Insulin cost share for one (tier or all tiers, days-supply code, channel).

    Either or both of ``copay`` (cents) and ``coinsurance`` (ppm) may be published; the member
    pays the lesser (see the Part D insulin rules).  Both None: the channel is not offered.
    """

    tier: int | None
    days_supply_code: int
    channel: Channel
    copay: Cents | None
    coinsurance: int | None

    @property
    def offered(self) -> bool:
        return self.copay is not None or self.coinsurance is not None

    @property
    def key(self) -> InsulinKey:
        return InsulinKey(self.tier, self.days_supply_code, self.channel)


@dataclass(frozen=True, slots=True)
class InsulinCost:
    """One insulin-beneficiary-cost row; ``tier`` None means all tiers."""

    contract_id: str
    plan_id: str
    segment_id: str
    tier: int | None
    days_supply_code: int
    retail_pref: InsulinCell
    retail_nonpref: InsulinCell
    mail_pref: InsulinCell
    mail_nonpref: InsulinCell

    @property
    def key(self) -> PlanKey:
        return PlanKey(self.contract_id, self.plan_id, self.segment_id)

    @property
    def cells(self) -> tuple[InsulinCell, InsulinCell, InsulinCell, InsulinCell]:
        return (self.retail_pref, self.retail_nonpref, self.mail_pref, self.mail_nonpref)


@dataclass(frozen=True, slots=True)
class ExcludedDrug:
    """A Part D-excluded drug the plan covers as a supplemental benefit (per contract-plan)."""

    contract_id: str
    plan_id: str
    rxcui: str
    tier: int | None
    quantity_limit: bool | None
    quantity_limit_amount: int | None
    """Quantity in 1/1,000 units."""
    quantity_limit_days: int | None
    prior_authorization: bool | None
    step_therapy: bool | None
    capped_benefit: bool | None


@dataclass(frozen=True, slots=True)
class IndicationCoverage:
    """A drug the contract-plan covers only for the named indication (disease)."""

    contract_id: str
    plan_id: str
    rxcui: str
    disease: str


# --------------------------------------------------------------------------------------------
# Reading


class _Row:
    """One data row with typed, location-aware accessors."""

    __slots__ = ("columns", "line", "source", "values")

    def __init__(self, source: str, line: int, columns: Mapping[str, int], values: list[str]):
        self.source = source
        self.line = line
        self.columns = columns
        self.values = values

    def fail(self, column: str, message: str) -> NoReturn:
        raise ValueError(f"{self.source}, line {self.line}, column {column}: {message}")

    def text(self, column: str) -> str | None:
        value = self.values[self.columns[column]].strip()
        return None if value in ("", ".") else value

    def required(self, column: str) -> str:
        value = self.text(column)
        if value is None:
            self.fail(column, "value is blank")
        return value

    def code(self, column: str, pattern: re.Pattern[str], what: str) -> str:
        value = self.required(column)
        if not pattern.fullmatch(value):
            self.fail(column, f"{value!r} is not {what}")
        return value

    def integer(self, column: str, allowed: frozenset[int] | None = None) -> int | None:
        value = self.text(column)
        if value is None:
            return None
        if not _INT.fullmatch(value):
            self.fail(column, f"{value!r} is not an integer")
        number = int(value)
        if allowed is not None and number not in allowed:
            self.fail(column, f"{number} is not one of {sorted(allowed)}")
        return number

    def required_int(self, column: str, allowed: frozenset[int] | None = None) -> int:
        number = self.integer(column, allowed)
        if number is None:
            self.fail(column, "value is blank")
        return number

    def _scaled(self, column: str, parse: Callable[[str], int], what: str) -> int | None:
        value = self.text(column)
        if value is None:
            return None
        try:
            number = parse(value)
        except ValueError as exc:
            self.fail(column, f"{value!r} is not {what} ({exc})")
        if number < 0:
            self.fail(column, f"{value!r} is negative")
        return number

    def money(self, column: str) -> Cents | None:
        return self._scaled(column, to_cents, "an amount of money")

    def rate(self, column: str) -> int | None:
        rate = self._scaled(column, fraction_to_rate, "a fraction")
        if rate is not None and rate > RATE_SCALE:
            self.fail(column, f"coinsurance {self.text(column)!r} is above 1 (a fraction)")
        return rate

    def quantity(self, column: str) -> int | None:
        return self._scaled(column, to_qty, "a quantity")

    def flag(
        self, column: str, yes: tuple[str, ...] = ("Y",), no: tuple[str, ...] = ("N",)
    ) -> bool | None:
        value = self.text(column)
        if value is None:
            return None
        upper = value.upper()
        if upper in yes:
            return True
        if upper in no:
            return False
        self.fail(column, f"{value!r} is not a flag ({'/'.join(yes + no)})")

    def required_flag(self, column: str) -> bool:
        value = self.flag(column)
        if value is None:
            self.fail(column, "flag is blank")
        return value


_INT = re.compile(r"[0-9]+")
_CONTRACT = re.compile(r"[A-Z][0-9]{4}")
_PLAN = re.compile(r"[0-9]{3}")
_NDC = re.compile(r"[0-9]{11}")
_FORMULARY = re.compile(r"[0-9]{8}")
_RXCUI = re.compile(r"[0-9]+")
_TIERS = frozenset(range(1, 10))
_LEVELS = frozenset(int(level) for level in CoverageLevel)
_DS_CODES = frozenset(int(code) for code in DaysSupplyCode)
_COST_TYPES = frozenset(int(kind) for kind in CostType)
_SNP = frozenset({0, 1, 2, 3})


def detect_format(header_line: str | bytes) -> SpufFormat:
    """Return ``"pipe"`` if the header line contains ``|``, ``"csv"`` if it contains ``,``."""
    line = header_line.decode("latin-1") if isinstance(header_line, bytes) else header_line
    if "|" in line:
        return "pipe"
    if "," in line:
        return "csv"
    raise ValueError(f"cannot tell the SPUF format from header {line[:80]!r}")


def _decode(data: bytes, encoding: str, source: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        name = encoding.removesuffix("-sig")
        raise ValueError(f"{source}, line {line}: not valid {name}: {exc.reason}") from None


def _raw_rows(path: Path, fmt: SpufFormat | None) -> Iterator[tuple[int, list[str]]]:
    """Yield ``(line number, fields)`` for every line, header first."""
    data = path.read_bytes()
    source = str(path)
    if fmt is None:
        first = data.split(b"\n", 1)[0]
        fmt = detect_format(first)
    if fmt == "pipe":
        text = _decode(data, "latin-1", source)
        for number, line in enumerate(text.split("\n"), start=1):
            line = line.removesuffix("\r")
            if line:
                yield number, line.split("|")
    elif fmt == "csv":
        text = _decode(data, "utf-8-sig", source)
        reader = csv.reader(io.StringIO(text, newline=""), strict=True)
        try:
            for fields in reader:
                if fields:
                    yield reader.line_num, fields
        except csv.Error as exc:
            raise ValueError(f"{source}, line {reader.line_num}: bad CSV: {exc}") from None
    else:
        raise ValueError(f"unknown SPUF format {fmt!r} (expected 'pipe' or 'csv')")


def _rows(path: str | Path, fmt: SpufFormat | None, required: tuple[str, ...]) -> Iterator[_Row]:
    """Yield typed-access rows of a SPUF table after checking its header."""
    path = Path(path)
    source = str(path)
    raw = _raw_rows(path, fmt)
    try:
        _, header = next(raw)
    except StopIteration:
        raise ValueError(f"{source}: empty file, expected a header row") from None
    names = [name.strip().lstrip("\ufeff").upper() for name in header]
    columns = {name: index for index, name in enumerate(names)}
    missing = [name for name in required if name not in columns]
    if missing:
        raise ValueError(f"{source}, line 1: header lacks column(s) {', '.join(missing)}")
    width = len(names)
    for line, fields in raw:
        if len(fields) != width:
            where = names[len(fields)] if len(fields) < width else f"#{width + 1}"
            raise ValueError(
                f"{source}, line {line}, column {where}: row has {len(fields)} fields, "
                f"header has {width}"
            )
        yield _Row(source, line, columns, fields)


_PLAN_INFO_COLUMNS = (
    "CONTRACT_ID",
    "PLAN_ID",
    "SEGMENT_ID",
    "CONTRACT_NAME",
    "PLAN_NAME",
    "FORMULARY_ID",
    "PREMIUM",
    "DEDUCTIBLE",
    "MA_REGION_CODE",
    "PDP_REGION_CODE",
    "STATE",
    "COUNTY_CODE",
    "SNP",
    "PLAN_SUPPRESSED_YN",
)


def read_plan_information(
    path: str | Path, fmt: SpufFormat | None = None
) -> tuple[PlanInformation, ...]:
    """Read the plan-information table."""
    return tuple(
        PlanInformation(
            contract_id=row.code("CONTRACT_ID", _CONTRACT, "a contract id"),
            plan_id=row.code("PLAN_ID", _PLAN, "a 3-digit plan id"),
            segment_id=row.code("SEGMENT_ID", _PLAN, "a 3-digit segment id"),
            contract_name=row.text("CONTRACT_NAME"),
            plan_name=row.text("PLAN_NAME"),
            formulary_id=row.code("FORMULARY_ID", _FORMULARY, "an 8-digit formulary id"),
            premium=row.money("PREMIUM"),
            deductible=row.money("DEDUCTIBLE"),
            ma_region_code=row.text("MA_REGION_CODE"),
            pdp_region_code=row.text("PDP_REGION_CODE"),
            state=row.text("STATE"),
            county_code=row.text("COUNTY_CODE"),
            snp=row.integer("SNP", _SNP),
            suppressed=row.flag("PLAN_SUPPRESSED_YN"),
        )
        for row in _rows(path, fmt, _PLAN_INFO_COLUMNS)
    )


_FORMULARY_COLUMNS = (
    "FORMULARY_ID",
    "FORMULARY_VERSION",
    "CONTRACT_YEAR",
    "RXCUI",
    "NDC",
    "TIER_LEVEL_VALUE",
    "QUANTITY_LIMIT_YN",
    "QUANTITY_LIMIT_AMOUNT",
    "QUANTITY_LIMIT_DAYS",
    "PRIOR_AUTHORIZATION_YN",
    "STEP_THERAPY_YN",
    "SELECTED_DRUG_YN",
)


def read_basic_formulary(
    path: str | Path, fmt: SpufFormat | None = None
) -> tuple[FormularyEntry, ...]:
    """Read the basic-drugs-formulary table."""
    return tuple(
        FormularyEntry(
            formulary_id=row.code("FORMULARY_ID", _FORMULARY, "an 8-digit formulary id"),
            formulary_version=row.integer("FORMULARY_VERSION"),
            contract_year=row.integer("CONTRACT_YEAR"),
            rxcui=None if row.text("RXCUI") is None else row.code("RXCUI", _RXCUI, "an RxCUI"),
            ndc=row.code("NDC", _NDC, "an 11-digit NDC"),
            tier=row.required_int("TIER_LEVEL_VALUE", _TIERS),
            quantity_limit=row.required_flag("QUANTITY_LIMIT_YN"),
            quantity_limit_amount=row.quantity("QUANTITY_LIMIT_AMOUNT"),
            quantity_limit_days=row.integer("QUANTITY_LIMIT_DAYS"),
            prior_authorization=row.required_flag("PRIOR_AUTHORIZATION_YN"),
            step_therapy=row.required_flag("STEP_THERAPY_YN"),
            selected_drug=row.required_flag("SELECTED_DRUG_YN"),
        )
        for row in _rows(path, fmt, _FORMULARY_COLUMNS)
    )


def _cost_cell(
    row: _Row, level: int, tier: int, code: int, channel: Channel, infix: str
) -> CostCell:
    cost_type = CostType(row.integer(f"COST_TYPE_{infix}", _COST_TYPES) or 0)
    amount_column = f"COST_AMT_{infix}"
    copay = coinsurance = None
    if cost_type is CostType.COPAY:
        copay = row.money(amount_column)
        if copay is None:
            row.fail(amount_column, "copay amount is blank")
    elif cost_type is CostType.COINSURANCE:
        coinsurance = row.rate(amount_column)
        if coinsurance is None:
            row.fail(amount_column, "coinsurance is blank")
    return CostCell(
        coverage_level=level,
        tier=tier,
        days_supply_code=code,
        channel=channel,
        cost_type=cost_type,
        copay=copay,
        coinsurance=coinsurance,
        min_amount=row.money(f"COST_MIN_AMT_{infix}"),
        max_amount=row.money(f"COST_MAX_AMT_{infix}"),
    )


_COST_COLUMNS = (
    "CONTRACT_ID",
    "PLAN_ID",
    "SEGMENT_ID",
    "COVERAGE_LEVEL",
    "TIER",
    "DAYS_SUPPLY",
    *(
        f"{prefix}_{infix}"
        for _, infix in _CHANNEL_COLUMNS
        for prefix in ("COST_TYPE", "COST_AMT", "COST_MIN_AMT", "COST_MAX_AMT")
    ),
    "TIER_SPECIALTY_YN",
    "DED_APPLIES_YN",
)


def _beneficiary_cost(row: _Row) -> BeneficiaryCost:
    level = row.required_int("COVERAGE_LEVEL", _LEVELS)
    tier = row.required_int("TIER", _TIERS)
    code = row.required_int("DAYS_SUPPLY", _DS_CODES)
    cells = [_cost_cell(row, level, tier, code, ch, infix) for ch, infix in _CHANNEL_COLUMNS]
    return BeneficiaryCost(
        contract_id=row.code("CONTRACT_ID", _CONTRACT, "a contract id"),
        plan_id=row.code("PLAN_ID", _PLAN, "a 3-digit plan id"),
        segment_id=row.code("SEGMENT_ID", _PLAN, "a 3-digit segment id"),
        coverage_level=level,
        tier=tier,
        days_supply_code=code,
        retail_pref=cells[0],
        retail_nonpref=cells[1],
        mail_pref=cells[2],
        mail_nonpref=cells[3],
        tier_specialty=row.required_flag("TIER_SPECIALTY_YN"),
        deductible_applies=row.required_flag("DED_APPLIES_YN"),
    )


def read_beneficiary_cost(
    path: str | Path, fmt: SpufFormat | None = None
) -> tuple[BeneficiaryCost, ...]:
    """Read the beneficiary-cost table (tier x days supply x channel cost share)."""
    return tuple(_beneficiary_cost(row) for row in _rows(path, fmt, _COST_COLUMNS))


_INSULIN_COLUMNS = (
    "CONTRACT_ID",
    "PLAN_ID",
    "SEGMENT_ID",
    "TIER",
    "DAYS_SUPPLY",
    *(f"{kind}_AMT_{infix}_INSLN" for _, infix in _CHANNEL_COLUMNS for kind in ("COPAY", "COIN")),
)


def _insulin_cost(row: _Row) -> InsulinCost:
    tier = row.integer("TIER", _TIERS)
    code = row.required_int("DAYS_SUPPLY", _DS_CODES)
    cells = [
        InsulinCell(
            tier=tier,
            days_supply_code=code,
            channel=channel,
            copay=row.money(f"COPAY_AMT_{infix}_INSLN"),
            coinsurance=row.rate(f"COIN_AMT_{infix}_INSLN"),
        )
        for channel, infix in _CHANNEL_COLUMNS
    ]
    return InsulinCost(
        contract_id=row.code("CONTRACT_ID", _CONTRACT, "a contract id"),
        plan_id=row.code("PLAN_ID", _PLAN, "a 3-digit plan id"),
        segment_id=row.code("SEGMENT_ID", _PLAN, "a 3-digit segment id"),
        tier=tier,
        days_supply_code=code,
        retail_pref=cells[0],
        retail_nonpref=cells[1],
        mail_pref=cells[2],
        mail_nonpref=cells[3],
    )


def read_insulin_cost(path: str | Path, fmt: SpufFormat | None = None) -> tuple[InsulinCost, ...]:
    """Read the insulin-beneficiary-cost table (``TIER`` blank or ``.`` = all tiers)."""
    return tuple(_insulin_cost(row) for row in _rows(path, fmt, _INSULIN_COLUMNS))


_EXCLUDED_COLUMNS = (
    "CONTRACT_ID",
    "PLAN_ID",
    "RXCUI",
    "TIER",
    "QUANTITY_LIMIT_YN",
    "QUANTITY_LIMIT_AMOUNT",
    "QUANTITY_LIMIT_DAYS",
    "PRIOR_AUTH_YN",
    "STEP_THERAPY_YN",
    "CAPPED_BENEFIT_YN",
)


def read_excluded_drugs(
    path: str | Path, fmt: SpufFormat | None = None
) -> tuple[ExcludedDrug, ...]:
    """Read the excluded-drugs-formulary table (its QL flag is 0/1; Y/N is accepted too)."""
    return tuple(
        ExcludedDrug(
            contract_id=row.code("CONTRACT_ID", _CONTRACT, "a contract id"),
            plan_id=row.code("PLAN_ID", _PLAN, "a 3-digit plan id"),
            rxcui=row.code("RXCUI", _RXCUI, "an RxCUI"),
            tier=row.integer("TIER", _TIERS),
            quantity_limit=row.flag("QUANTITY_LIMIT_YN", yes=("1", "Y"), no=("0", "N")),
            quantity_limit_amount=row.quantity("QUANTITY_LIMIT_AMOUNT"),
            quantity_limit_days=row.integer("QUANTITY_LIMIT_DAYS"),
            prior_authorization=row.flag("PRIOR_AUTH_YN"),
            step_therapy=row.flag("STEP_THERAPY_YN"),
            capped_benefit=row.flag("CAPPED_BENEFIT_YN"),
        )
        for row in _rows(path, fmt, _EXCLUDED_COLUMNS)
    )


def read_indication_coverage(
    path: str | Path, fmt: SpufFormat | None = None
) -> tuple[IndicationCoverage, ...]:
    """Read the indication-based-coverage table."""
    return tuple(
        IndicationCoverage(
            contract_id=row.code("CONTRACT_ID", _CONTRACT, "a contract id"),
            plan_id=row.code("PLAN_ID", _PLAN, "a 3-digit plan id"),
            rxcui=row.code("RXCUI", _RXCUI, "an RxCUI"),
            disease=row.required("DISEASE"),
        )
        for row in _rows(path, fmt, ("CONTRACT_ID", "PLAN_ID", "RXCUI", "DISEASE"))
    )


# --------------------------------------------------------------------------------------------
# Plans


class SpufLookupError(KeyError):
    """A key (plan, tier) that the loaded SPUF does not contain."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class UnknownPlanError(SpufLookupError):
    """No plan with that (contract, plan, segment) in the loaded SPUF."""


@dataclass(frozen=True, slots=True)
class SpufPlan:
    """One Part D plan (contract, plan, segment) with its formulary and cost-share matrix.

    ``info`` is the plan's first plan-information row; ``service_area`` holds every row (one
    per county, or one per PDP region).  Mappings are read-only.
    """

    info: PlanInformation
    service_area: tuple[PlanInformation, ...]
    formulary: Mapping[str, FormularyEntry]
    """Formulary entries by NDC."""
    cost_cells: Mapping[CostKey, CostCell]
    tier_specialty: Mapping[int, bool]
    tier_deductible: Mapping[int, bool]
    insulin_cells: Mapping[InsulinKey, InsulinCell]
    excluded_drugs: tuple[ExcludedDrug, ...]
    indications: Mapping[str, tuple[str, ...]]
    """Indication-limited coverage: RxCUI -> diseases."""

    @property
    def key(self) -> PlanKey:
        return self.info.key

    @property
    def contract_name(self) -> str | None:
        return self.info.contract_name

    @property
    def plan_name(self) -> str | None:
        return self.info.plan_name

    @property
    def formulary_id(self) -> str:
        return self.info.formulary_id

    @property
    def premium(self) -> Cents | None:
        return self.info.premium

    @property
    def deductible(self) -> Cents | None:
        return self.info.deductible

    @property
    def snp(self) -> int | None:
        return self.info.snp

    @property
    def state(self) -> str | None:
        return self.info.state

    @property
    def is_pdp(self) -> bool:
        """Standalone prescription drug plan (S contract), as opposed to MA-PD (H/R)."""
        return self.info.contract_id.startswith("S")

    @property
    def tiers(self) -> tuple[int, ...]:
        """Tiers that have cost-share rows, ascending."""
        return tuple(sorted(self.tier_deductible))

    def formulary_entry(self, ndc: str) -> FormularyEntry | None:
        """The plan's formulary entry for an 11-digit NDC, or None if it is not listed."""
        return self.formulary.get(ndc)

    def cost_cell(
        self, coverage_level: int, tier: int, days_supply: int, channel: Channel | str
    ) -> CostCell | None:
        """Cost share for an actual days supply (see the module's days-supply rule).

        Returns None when the plan has no row even after falling back to codes 1 and 3, e.g.
        coverage level 0 for a tier the deductible applies to.
        """
        channel = Channel(channel)
        for code in _days_supply_order(days_supply):
            cell = self.cost_cells.get(CostKey(coverage_level, tier, code, channel))
            if cell is not None:
                return cell
        return None

    def insulin_cell(
        self, tier: int | None, days_supply: int, channel: Channel | str
    ) -> InsulinCell | None:
        """Insulin cost share: per days-supply code (with fallback) the tier's row, then all-tiers.

        ``tier`` None asks for the all-tiers row only.
        """
        channel = Channel(channel)
        tiers = (tier, None) if tier is not None else (None,)
        for code in _days_supply_order(days_supply):
            for candidate in tiers:
                cell = self.insulin_cells.get(InsulinKey(candidate, code, channel))
                if cell is not None:
                    return cell
        return None

    def _tier_flag(self, flags: Mapping[int, bool], tier: int) -> bool:
        try:
            return flags[tier]
        except KeyError:
            message = f"plan {self.key} has no cost-share rows for tier {tier}"
            raise SpufLookupError(message) from None

    def deductible_applies(self, tier: int) -> bool:
        """Whether the plan deductible applies to ``tier`` (``DED_APPLIES_YN``).

        Raises :class:`SpufLookupError` for a tier without cost-share rows.
        """
        return self._tier_flag(self.tier_deductible, tier)

    def is_specialty(self, tier: int) -> bool:
        """Whether ``tier`` is a specialty tier (``TIER_SPECIALTY_YN``); unknown tier raises."""
        return self._tier_flag(self.tier_specialty, tier)

    def excluded_drug(self, rxcui: str) -> ExcludedDrug | None:
        """The plan's supplemental (Part D-excluded) coverage of an RxCUI, if any."""
        return next((drug for drug in self.excluded_drugs if drug.rxcui == rxcui), None)


_TABLES = (
    "plan_information",
    "basic_drugs_formulary",
    "beneficiary_cost",
    "insulin_beneficiary_cost",
    "excluded_drugs_formulary",
    "indication_based_coverage",
)
_REQUIRED_TABLES = frozenset(_TABLES[:3])


def _find_tables(folder: Path) -> dict[str, Path]:
    """Match files to tables by name, tolerant of case, spaces and a quarter suffix."""
    found: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() not in (".txt", ".csv") or not path.is_file():
            continue
        stem = re.sub(r"[^a-z0-9]+", "_", path.stem.lower()).strip("_")
        for table in _TABLES:
            if stem == table or stem.startswith(table + "_"):
                if table in found:
                    raise ValueError(f"{folder}: two files for {table}: {found[table]}, {path}")
                found[table] = path
    missing = sorted(_REQUIRED_TABLES - found.keys())
    if missing:
        raise ValueError(f"{folder}: no file for table(s) {', '.join(missing)}")
    return found


def _frozen(mapping: dict) -> Mapping:
    return MappingProxyType(mapping)


class SpufLibrary:
    """Every plan of a SPUF folder, indexed once at load; read-only afterwards."""

    __slots__ = ("_plans", "source")

    def __init__(self, plans: Mapping[PlanKey, SpufPlan], source: str | None = None) -> None:
        self._plans: Mapping[PlanKey, SpufPlan] = MappingProxyType(dict(plans))
        self.source = source

    @classmethod
    def load(cls, folder: str | Path, fmt: SpufFormat | None = None) -> SpufLibrary:
        """Load a folder holding the SPUF tables (``.txt`` pipe or ``.csv``).

        Plan information, basic formulary and beneficiary cost are required; the insulin,
        excluded-drug and indication tables are optional (empty when absent).
        """
        folder = Path(folder)
        files = _find_tables(folder)

        def read(table: str, reader: Callable[..., tuple]) -> tuple:
            return reader(files[table], fmt) if table in files else ()

        infos: dict[PlanKey, list[PlanInformation]] = {}
        for info in read("plan_information", read_plan_information):
            infos.setdefault(info.key, []).append(info)

        formularies: dict[str, dict[str, FormularyEntry]] = {}
        for entry in read("basic_drugs_formulary", read_basic_formulary):
            ndcs = formularies.setdefault(entry.formulary_id, {})
            if entry.ndc in ndcs and ndcs[entry.ndc] != entry:
                raise ValueError(
                    f"{files['basic_drugs_formulary']}: NDC {entry.ndc} listed twice with "
                    f"different terms on formulary {entry.formulary_id}"
                )
            ndcs[entry.ndc] = entry
        frozen_formularies = {fid: _frozen(ndcs) for fid, ndcs in formularies.items()}

        cells: dict[PlanKey, dict[CostKey, CostCell]] = {}
        specialty: dict[PlanKey, dict[int, bool]] = {}
        deductible: dict[PlanKey, dict[int, bool]] = {}
        for row in read("beneficiary_cost", read_beneficiary_cost):
            plan_cells = cells.setdefault(row.key, {})
            for cell in row.cells:
                if cell.key in plan_cells:
                    raise ValueError(
                        f"{files['beneficiary_cost']}: duplicate row for plan {row.key}, level "
                        f"{row.coverage_level}, tier {row.tier}, days supply {row.days_supply_code}"
                    )
                plan_cells[cell.key] = cell
            specialty.setdefault(row.key, {}).setdefault(row.tier, row.tier_specialty)
            deductible.setdefault(row.key, {}).setdefault(row.tier, row.deductible_applies)

        insulin: dict[PlanKey, dict[InsulinKey, InsulinCell]] = {}
        for row in read("insulin_beneficiary_cost", read_insulin_cost):
            plan_insulin = insulin.setdefault(row.key, {})
            for cell in row.cells:
                if cell.key in plan_insulin:
                    raise ValueError(
                        f"{files['insulin_beneficiary_cost']}: duplicate row for plan {row.key}, "
                        f"tier {row.tier}, days supply {row.days_supply_code}"
                    )
                plan_insulin[cell.key] = cell

        excluded: dict[tuple[str, str], list[ExcludedDrug]] = {}
        for drug in read("excluded_drugs_formulary", read_excluded_drugs):
            excluded.setdefault((drug.contract_id, drug.plan_id), []).append(drug)

        indications: dict[tuple[str, str], dict[str, list[str]]] = {}
        for item in read("indication_based_coverage", read_indication_coverage):
            by_drug = indications.setdefault((item.contract_id, item.plan_id), {})
            by_drug.setdefault(item.rxcui, []).append(item.disease)

        empty: Mapping = _frozen({})
        plans: dict[PlanKey, SpufPlan] = {}
        for key, rows in infos.items():
            contract_plan = (key.contract_id, key.plan_id)
            plans[key] = SpufPlan(
                info=rows[0],
                service_area=tuple(rows),
                formulary=frozen_formularies.get(rows[0].formulary_id, empty),
                cost_cells=_frozen(cells.get(key, {})),
                tier_specialty=_frozen(specialty.get(key, {})),
                tier_deductible=_frozen(deductible.get(key, {})),
                insulin_cells=_frozen(insulin.get(key, {})),
                excluded_drugs=tuple(excluded.get(contract_plan, ())),
                indications=_frozen(
                    {rx: tuple(d) for rx, d in indications.get(contract_plan, {}).items()}
                ),
            )
        return cls(plans, source=str(folder))

    def plan(self, contract_id: str, plan_id: str | int, segment_id: str | int = "000") -> SpufPlan:
        """The plan with these ids; plan/segment ids are zero-padded to 3 digits."""
        key = PlanKey(
            str(contract_id).strip().upper(),
            str(plan_id).strip().zfill(3),
            str(segment_id).strip().zfill(3),
        )
        try:
            return self._plans[key]
        except KeyError:
            raise UnknownPlanError(
                f"no Part D plan {key} in SPUF {self.source or '(in memory)'}"
            ) from None

    def plans(self) -> tuple[PlanKey, ...]:
        """All plan keys, sorted."""
        return tuple(sorted(self._plans))

    def __len__(self) -> int:
        return len(self._plans)

    def __contains__(self, key: object) -> bool:
        return key in self._plans

    def __iter__(self) -> Iterator[SpufPlan]:
        return (self._plans[key] for key in self.plans())


@cache
def bundled_spuf_library() -> SpufLibrary:
    """The bundled 2026Q2 four-contract sample, loaded once per process."""
    return SpufLibrary.load(BUNDLED_SPUF_DIR, "csv")
