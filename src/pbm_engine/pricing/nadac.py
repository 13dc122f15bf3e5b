"""Loader for the CMS NADAC weekly reference file (National Average Drug Acquisition Cost).

The file is a CSV published on data.medicaid.gov.  Since 2024 its header uses spaced, quoted
names (``"NADAC Per Unit"``); older yearly files use underscores (``NADAC_Per_Unit``).  Both are
accepted: header names are compared case-insensitively with ``_`` read as a space.

Prices stay exact: ``unit_price`` is an ``int`` of 1/100,000 dollar (:func:`money.to_price`).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import IO, cast

from pbm_engine.money import to_price

__all__ = ["BUNDLED_NADAC", "PRICING_UNITS", "NadacRow", "iter_nadac", "load_nadac"]

BUNDLED_NADAC = (
    Path(__file__).resolve().parent.parent / "data" / "nadac" / "nadac_2026-04-29_sample_rows.csv"
)
"""The NADAC extract shipped with the package (a partial file; see ``data/README.md``)."""

PRICING_UNITS = frozenset({"EA", "ML", "GM"})
"""NADAC pricing units: each, millilitre, gram."""

# Canonical column key -> attribute it feeds.  Keys are normalised header names.
_COLUMNS = {
    "ndc description": "description",
    "ndc": "ndc",
    "nadac per unit": "unit_price",
    "effective date": "effective_date",
    "pricing unit": "pricing_unit",
    "pharmacy type indicator": "pharmacy_type",
    "otc": "otc",
    "explanation code": "explanation_codes",
    "classification for rate setting": "classification",
    "corresponding generic drug nadac per unit": "generic_unit_price",
    "corresponding generic drug effective date": "generic_effective_date",
    "as of date": "as_of_date",
}
_OPTIONAL = frozenset({"pharmacy_type", "generic_unit_price", "generic_effective_date"})
_DATE_RE = re.compile(r"^(\d{2})/(\d{2})/(\d{4})$")
_CODE_RE = re.compile(r"^[0-9]+$")


@dataclass(frozen=True, slots=True)
class NadacRow:
    """One NDC's NADAC for one effective date, as published."""

    ndc: str
    """11-digit NDC (5-4-2, no hyphens)."""
    description: str
    unit_price: int
    """NADAC per pricing unit, in 1/100,000 dollar."""
    effective_date: date
    pricing_unit: str
    """``EA``, ``ML`` or ``GM``."""
    otc: bool
    explanation_codes: tuple[str, ...]
    classification: str
    """Classification for rate setting: ``G``, ``B``, ``B-ANDA``, ``B-BIO`` …"""
    generic_unit_price: int | None
    """Corresponding generic drug NADAC (brand rows only), 1/100,000 dollar."""
    generic_effective_date: date | None
    as_of_date: date
    pharmacy_type: str = "C/I"

    @property
    def is_brand(self) -> bool:
        """True for any ``B…`` rate-setting classification."""
        return self.classification.startswith("B")


def _header_key(name: str) -> str:
    return " ".join(name.replace("\ufeff", "").replace("_", " ").lower().split())


class _RowError(ValueError):
    def __init__(self, column: str, message: str) -> None:
        super().__init__(message)
        self.column = column


def _parse_date(column: str, text: str) -> date:
    m = _DATE_RE.match(text)
    if not m:
        raise _RowError(column, f"expected a MM/DD/YYYY date, got {text!r}")
    try:
        return date(int(m[3]), int(m[1]), int(m[2]))
    except ValueError as exc:
        raise _RowError(column, f"invalid date {text!r}: {exc}") from None


def _parse_price(column: str, text: str) -> int:
    try:
        value = to_price(text)
    except (TypeError, ValueError) as exc:
        raise _RowError(column, f"bad unit price {text!r}: {exc}") from None
    if value < 0:
        raise _RowError(column, f"negative unit price {text!r}")
    return value


def _parse_row(get: dict[str, str]) -> NadacRow:
    ndc = get["ndc"]
    if len(ndc) != 11 or not ndc.isdigit():
        raise _RowError("ndc", f"NDC must be 11 digits, got {ndc!r}")
    unit = get["pricing_unit"].upper()
    if unit not in PRICING_UNITS:
        raise _RowError("pricing_unit", f"pricing unit must be EA, ML or GM, got {unit!r}")
    otc_text = get["otc"].upper()
    if otc_text not in ("Y", "N"):
        raise _RowError("otc", f"OTC must be Y or N, got {otc_text!r}")
    codes = tuple(c.strip() for c in get["explanation_codes"].split(",") if c.strip())
    for code in codes:
        if not _CODE_RE.match(code):
            raise _RowError("explanation_codes", f"bad explanation code {code!r}")
    classification = get["classification"].upper()
    if not classification:
        raise _RowError("classification", "classification for rate setting is empty")
    description = get["description"]
    if not description:
        raise _RowError("description", "NDC description is empty")
    generic_price_text = get.get("generic_unit_price", "")
    generic_date_text = get.get("generic_effective_date", "")
    return NadacRow(
        ndc=ndc,
        description=description,
        unit_price=_parse_price("unit_price", get["unit_price"]),
        effective_date=_parse_date("effective_date", get["effective_date"]),
        pricing_unit=unit,
        otc=otc_text == "Y",
        explanation_codes=codes,
        classification=classification,
        generic_unit_price=(
            _parse_price("generic_unit_price", generic_price_text) if generic_price_text else None
        ),
        generic_effective_date=(
            _parse_date("generic_effective_date", generic_date_text) if generic_date_text else None
        ),
        as_of_date=_parse_date("as_of_date", get["as_of_date"]),
        pharmacy_type=get.get("pharmacy_type", "") or "C/I",
    )


def iter_nadac(stream: IO[str], name: str = "<stream>") -> Iterator[NadacRow]:
    """Yield :class:`NadacRow` records from an open text stream of a NADAC CSV."""
    reader = csv.reader(stream)
    try:
        header = next(reader)
    except StopIteration:
        raise ValueError(f"{name}: empty file, expected a NADAC header row") from None
    positions: dict[str, int] = {}
    labels: dict[str, str] = {}
    for index, raw in enumerate(header):
        attr = _COLUMNS.get(_header_key(raw))
        if attr is not None and attr not in positions:
            positions[attr] = index
            labels[attr] = raw.strip()
    missing = [a for a in _COLUMNS.values() if a not in positions and a not in _OPTIONAL]
    if missing:
        raise ValueError(f"{name}: line 1: not a NADAC header, missing columns {missing}")
    for fields in reader:
        if not fields or all(not f.strip() for f in fields):
            continue
        line = reader.line_num
        if len(fields) != len(header):
            raise ValueError(
                f"{name}: line {line}: expected {len(header)} fields, got {len(fields)}"
            )
        values = {attr: fields[pos].strip() for attr, pos in positions.items()}
        try:
            yield _parse_row(values)
        except _RowError as exc:
            col = positions[exc.column]
            raise ValueError(
                f"{name}: line {line}, column {col + 1} ({labels[exc.column]!r}): {exc}"
            ) from None


def load_nadac(path_or_file: str | Path | IO[str] | IO[bytes] = BUNDLED_NADAC) -> list[NadacRow]:
    """Load every row of a NADAC CSV file (path or open file); defaults to the bundled extract.

    Raises :class:`ValueError` naming the file, line and column of the first malformed row.
    """
    if isinstance(path_or_file, (str, Path)):
        path = Path(path_or_file)
        with path.open(encoding="utf-8-sig", newline="") as fh:
            return list(iter_nadac(fh, str(path)))
    name = str(getattr(path_or_file, "name", "<stream>"))
    stream = path_or_file
    if isinstance(stream, (io.RawIOBase, io.BufferedIOBase)) or "b" in getattr(stream, "mode", ""):
        wrapper = io.TextIOWrapper(cast(IO[bytes], stream), encoding="utf-8-sig", newline="")
        try:
            return list(iter_nadac(wrapper, name))
        finally:
            wrapper.detach()  # leave the caller's binary file open
    return list(iter_nadac(stream, name))  # type: ignore[arg-type]
