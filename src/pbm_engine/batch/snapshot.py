"""Accumulator snapshots: the starting state of a batch run and the ending state it writes.

One row per accumulator (a member's or a family's year-to-date totals for one plan year)::

    {"plan_id": "SAMPLE-PPO-2026", "year_start": "2026-01-01", "level": "member",
     "id": "PPO1001-001", "family_id": "PPO1001", "deductible": "250.00", "oop": "310.00",
     "plan_paid": "1200.00", "troop": "0.00", "gross_drug_cost": "0.00"}

``level`` is ``member`` (``id`` is the member id, cardholder-person code) or ``family`` (``id``
is the family id).  Amounts are decimal strings of dollars and cents.  The same columns make the
CSV form (a header row) and the Parquet form (string columns).  The ending accumulators a run
writes (``accumulators.jsonl`` / ``.csv`` / ``.parquet``) are a valid starting snapshot for the
next run.

:class:`SeededStore` is a memory store whose accumulators start from such rows.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson

from pbm_engine.accumulators import ZERO, MemberState, Totals
from pbm_engine.errors import ConfigError
from pbm_engine.money import fmt, to_cents
from pbm_engine.store.memory import MemoryStore

__all__ = ["AMOUNTS", "COLUMNS", "AccKey", "SeededStore", "read_snapshot", "row_of",
           "totals_of"]

AMOUNTS = ("deductible", "oop", "plan_paid", "troop", "gross_drug_cost")
"""The accumulator amounts of a snapshot row."""
COLUMNS = ("plan_id", "year_start", "level", "id", "family_id", *AMOUNTS)
"""The columns of an accumulator snapshot, in order."""
_LEVELS = {"member": "M", "family": "F"}
_LEVEL_NAMES = {"M": "member", "F": "family"}

AccKey = tuple[str, dt.date, str, str]
"""(plan id, plan-year start, ``"M"`` or ``"F"``, member or family id): a store's row key."""


def row_of(key: AccKey, family_id: str, totals: Totals) -> dict[str, str]:
    """One snapshot row."""
    plan_id, year, level, owner = key
    return {"plan_id": plan_id, "year_start": year.isoformat(), "level": _LEVEL_NAMES[level],
            "id": owner, "family_id": family_id,
            **{name: fmt(getattr(totals, name)) for name in AMOUNTS}}


def totals_of(row: dict[str, Any]) -> tuple[AccKey, str, Totals]:
    """(key, family id, totals) of a snapshot row; ValueError naming what is wrong."""
    level = _LEVELS.get(str(row.get("level", "")))
    if level is None:
        raise ValueError(f"level {row.get('level')!r} is not member or family")
    for name in ("plan_id", "year_start", "id"):
        if not row.get(name):
            raise ValueError(f"{name} is missing")
    owner = str(row["id"])
    family = str(row.get("family_id") or (owner if level == "F" else ""))
    if not family:
        raise ValueError("family_id is missing")
    amounts = [to_cents(row.get(name) or "0") for name in AMOUNTS]
    key = (str(row["plan_id"]), dt.date.fromisoformat(str(row["year_start"])), level, owner)
    return key, family, Totals(*amounts)


def _rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        from pbm_engine.batch.arrow import parquet_rows

        yield from parquet_rows(path)
        return
    if suffix == ".csv":
        with path.open(encoding="utf-8", newline="") as text:
            yield from enumerate(csv.DictReader(text), start=2)
        return
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                yield number, orjson.loads(line)


def read_snapshot(path: str | Path) -> Iterator[tuple[AccKey, str, Totals]]:
    """Every row of a snapshot file (.jsonl, .csv or .parquet); ConfigError on a bad row."""
    p = Path(path)
    if not p.exists():
        raise ConfigError(f"{p}: accumulator snapshot not found")
    try:
        for number, row in _rows(p):
            try:
                yield totals_of(row)
            except (ValueError, TypeError, AttributeError) as exc:
                raise ConfigError(f"{p}: line {number}: {exc}") from None
    except orjson.JSONDecodeError as exc:
        raise ConfigError(f"{p}: not JSON lines ({exc})") from None


class SeededStore(MemoryStore):
    """A memory store whose accumulators start from snapshot rows (a baseline)."""

    def __init__(self, baseline: Iterable[tuple[AccKey, Totals]] = ()) -> None:
        super().__init__()
        self.baseline: dict[AccKey, Totals] = {}
        for key, totals in baseline:
            self.baseline[key] = self.baseline.get(key, ZERO).plus(totals)

    def state(self, plan_id: str, year_start: dt.date, member_id: str, family_id: str
              ) -> MemberState:
        s = super().state(plan_id, year_start, member_id, family_id)
        base = self.baseline
        if not base:
            return s
        m = base.get((plan_id, year_start, "M", member_id))
        f = base.get((plan_id, year_start, "F", family_id))
        if m is None and f is None:
            return s
        return MemberState(s.member.plus(m) if m else s.member,
                           s.family.plus(f) if f else s.family)

    def ending(self) -> dict[AccKey, Totals]:
        """Baseline plus everything applied since: the accumulators at the end of the run."""
        out = dict(self.baseline)
        for key, totals in self.totals().items():
            out[key] = out.get(key, ZERO).plus(totals)
        return out
