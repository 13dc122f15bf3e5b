"""National Drug Codes: parse any 10- or 11-digit form and normalize to the 11-digit 5-4-2 key.

* Hyphenated 10-digit forms are unambiguous: 4-4-2, 5-3-2 and 5-4-1 are padded in the short
  segment (``1234-5678-90 -> 01234567890``).
* Hyphenated 11-digit 5-4-2 forms and bare 11-digit strings are taken as they are.
* A bare 10-digit string is ambiguous (any of the three layouts).  It is resolved against a set of
  known 11-digit NDCs when one is given (the formulary); without one, or when no or several
  candidates are known, it is refused.
* The FDA's 12-digit 6-4-2 form (effective 2033) is parsed and kept as 12 digits.
"""

from __future__ import annotations

from collections.abc import Container

__all__ = ["NdcError", "candidates", "hyphenate", "normalize"]

_LAYOUTS_10 = ((4, 4, 2), (5, 3, 2), (5, 4, 1))


class NdcError(ValueError):
    """The text is not a valid NDC in any supported form."""


def _pad_11(labeler: str, product: str, package: str) -> str:
    return labeler.zfill(5) + product.zfill(4) + package.zfill(2)


def candidates(text: str) -> tuple[str, ...]:
    """All normalized forms a submitted NDC could stand for (one unless ambiguous)."""
    raw = text.strip()
    if "-" in raw:
        parts = raw.split("-")
        if len(parts) != 3 or not all(p.isdigit() for p in parts):
            raise NdcError(f"NDC {text!r} is not three hyphenated digit groups")
        lengths = tuple(len(p) for p in parts)
        if lengths in _LAYOUTS_10 or lengths == (5, 4, 2):
            return (_pad_11(*parts),)
        if lengths == (6, 4, 2):
            return ("".join(parts),)
        raise NdcError(f"NDC {text!r} has segment lengths {lengths}, not 4-4-2/5-3-2/5-4-1/5-4-2")
    if not raw.isdigit():
        raise NdcError(f"NDC {text!r} must contain only digits and hyphens")
    if len(raw) in (11, 12):
        return (raw,)
    if len(raw) == 10:
        forms = (_pad_11(raw[:a], raw[a : a + b], raw[a + b :]) for a, b, _ in _LAYOUTS_10)
        return tuple(dict.fromkeys(forms))
    raise NdcError(f"NDC {text!r} has {len(raw)} digits; expected 10, 11 or 12")


def normalize(text: str, known: Container[str] | None = None) -> str:
    """Return the 11-digit NDC for ``text``, resolving bare 10-digit forms against ``known``."""
    if len(text) == 11 and text.isascii() and text.isdigit():
        return text  # the billing form already
    options = candidates(text)
    if len(options) == 1:
        return options[0]
    if known is not None:
        found = [c for c in options if c in known]
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise NdcError(f"10-digit NDC {text!r} matches several known NDCs: {found}")
    raise NdcError(f"10-digit NDC {text!r} without hyphens is ambiguous; send 11 digits")


def hyphenate(ndc11: str) -> str:
    """Format an 11-digit NDC as 5-4-2."""
    return f"{ndc11[:5]}-{ndc11[5:9]}-{ndc11[9:]}"
