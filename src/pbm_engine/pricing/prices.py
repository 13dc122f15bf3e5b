"""Unit price tables with effective dates: AWP, WAC, MAC and NADAC per NDC."""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
from dataclasses import dataclass, field

__all__ = ["NadacPoint", "PriceIndex", "PricePoint"]


@dataclass(frozen=True, slots=True)
class PricePoint:
    """Unit prices (1/100,000 $) in force from ``start`` through ``end`` (inclusive; None open)."""

    start: dt.date
    end: dt.date | None
    awp: int | None = None
    wac: int | None = None
    mac: int | None = None


@dataclass(frozen=True, slots=True)
class NadacPoint:
    """A NADAC unit price effective from ``start`` until the next point for the NDC."""

    start: dt.date
    unit_price: int


_FAR_FUTURE = dt.date.max


@dataclass(slots=True)
class PriceIndex:
    """Prices by NDC, looked up by date of service.  Built once, then read-only."""

    _points: dict[str, list[PricePoint]] = field(default_factory=dict)
    _starts: dict[str, list[dt.date]] = field(default_factory=dict)
    _nadac: dict[str, list[NadacPoint]] = field(default_factory=dict)
    _nadac_starts: dict[str, list[dt.date]] = field(default_factory=dict)
    nadac_class: dict[str, str] = field(default_factory=dict)
    nadac_names: dict[str, str] = field(default_factory=dict)

    def add(self, ndc: str, point: PricePoint) -> None:
        points = self._points.setdefault(ndc, [])
        points.append(point)
        points.sort(key=lambda p: p.start)
        for a, b in itertools.pairwise(points):
            if a.end is None or a.end >= b.start:
                raise ValueError(
                    f"price periods for NDC {ndc} overlap: {a.start}..{a.end} and {b.start}.."
                )
        self._starts[ndc] = [p.start for p in points]

    def add_nadac(self, ndc: str, point: NadacPoint, classification: str = "",
                  name: str = "") -> None:
        points = self._nadac.setdefault(ndc, [])
        if any(p.start == point.start for p in points):
            return  # the same weekly value repeated in a later file
        points.append(point)
        points.sort(key=lambda p: p.start)
        self._nadac_starts[ndc] = [p.start for p in points]
        if classification:
            self.nadac_class[ndc] = classification
        if name:
            self.nadac_names[ndc] = name

    def price(self, ndc: str, day: dt.date) -> PricePoint | None:
        """The price point in force on ``day``, if any."""
        starts = self._starts.get(ndc)
        if not starts:
            return None
        i = bisect.bisect_right(starts, day) - 1
        if i < 0:
            return None
        point = self._points[ndc][i]
        return point if (point.end or _FAR_FUTURE) >= day else None

    def nadac(self, ndc: str, day: dt.date) -> int | None:
        """The NADAC unit price in force on ``day``, if any."""
        starts = self._nadac_starts.get(ndc)
        if not starts:
            return None
        i = bisect.bisect_right(starts, day) - 1
        return self._nadac[ndc][i].unit_price if i >= 0 else None

    def known(self, ndc: str) -> bool:
        return ndc in self._points or ndc in self._nadac

    def listed_ndcs(self) -> set[str]:
        """NDCs with a price row of their own (NADAC, which covers the market, not counted)."""
        return set(self._points)

    def ndcs(self) -> set[str]:
        return set(self._points) | set(self._nadac)
