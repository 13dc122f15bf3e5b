"""Comparing each re-adjudicated claim with the original answer carried in the input.

The original answer is the ``original`` object of an input record, with the names of the
result JSON (any previous ``pbm adjudicate`` or ``pbm reprocess`` result line works)::

    "original": {"status": "P", "reject_codes": ["79"], "total_price": "31.25",
                 "patient_pay": "10.00", "plan_pay": "21.25"}

``rejects`` (a list of ``{"code": ...}``) may stand for ``reject_codes``.  Flat columns
``original_status``, ``original_reject_codes`` (codes separated by ``;``),
``original_total_price``, ``original_patient_pay`` and ``original_plan_pay`` say the same in CSV
and Parquet inputs (and are accepted in JSON lines too).  Amounts count only for a paid (``P``)
answer; any other status counts as nothing paid.

:class:`Tally` is the summary data model: plain counters and integer cents, mergeable across
partitions in any order (partitions hold disjoint families, so member counts add up), with
:meth:`Tally.to_json` giving the ``summary.json`` document (schema in docs/batch-reprocessing.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pbm_engine.money import Cents, fmt, to_cents

__all__ = ["SCHEMA", "Change", "Original", "Tally", "compare", "original_of"]

SCHEMA = "pbm-reprocess-summary/1"
"""Format tag of the reprocessing summary file."""
_ORIGINAL_FLAT = ("original_status", "original_reject_codes", "original_rejects",
                  "original_total_price", "original_patient_pay", "original_plan_pay")


@dataclass(frozen=True, slots=True)
class Original:
    """The answer a claim had before: status, reject codes and the three amounts (cents)."""

    status: str
    reject_codes: tuple[str, ...] = ()
    total_price: Cents = 0
    patient_pay: Cents = 0
    plan_pay: Cents = 0


def _codes(value: Any) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        return tuple(c.strip() for c in value.split(";") if c.strip())
    out = []
    for item in value:
        out.append(str(item["code"]) if isinstance(item, dict) else str(item))
    return tuple(out)


def _cents(value: Any) -> Cents:
    if type(value) is str and len(value) > 3 and value[-3] == "." and value[:-3].isdigit() \
            and value[-2:].isdigit():
        return int(value[:-3]) * 100 + int(value[-2:])  # fast path: "12.34"
    return 0 if value is None or value == "" else to_cents(value)


def original_of(record: dict[str, Any]) -> Original | None:
    """Take the original answer out of an input record (removing its keys); None if absent.

    Raises ValueError when the original is there but unreadable.
    """
    data = record.pop("original", None)
    if any(k in record for k in _ORIGINAL_FLAT):
        flat = {k[9:]: record.pop(k) for k in _ORIGINAL_FLAT if k in record}
        data = flat if data is None else data
    if data is None:
        return None
    if not isinstance(data, dict):
        raise ValueError("original must be an object")
    status = str(data.get("status") or "").strip()
    if not status:
        raise ValueError("original.status is missing")
    codes = _codes(data["reject_codes"] if "reject_codes" in data else data.get("rejects"))
    if status != "P":
        return Original(status, codes)
    return Original(status, codes, _cents(data.get("total_price")),
                    _cents(data.get("patient_pay")), _cents(data.get("plan_pay")))


@dataclass(frozen=True, slots=True)
class Change:
    """One claim whose answer changed: the change file's row."""

    kind: str  # newly_rejected, newly_paid, amounts_changed, rejects_changed, status_changed
    before: Original
    after: Original

    @property
    def patient_pay_change(self) -> Cents:
        return self.after.patient_pay - self.before.patient_pay

    @property
    def plan_pay_change(self) -> Cents:
        return self.after.plan_pay - self.before.plan_pay


def compare(before: Original, after: Original) -> Change | None:
    """The change from ``before`` to ``after``, or None when they agree."""
    if before == after:
        return None
    if before.status == "P" and after.status == "R":
        kind = "newly_rejected"
    elif after.status == "P" and before.status == "R":
        kind = "newly_paid"
    elif before.status != after.status:
        kind = "status_changed"
    elif before.reject_codes != after.reject_codes:
        kind = "rejects_changed"
    else:
        kind = "amounts_changed"
    return Change(kind, before, after)


def _bucket() -> dict[str, int]:
    return {"claims": 0, "changed": 0, "newly_rejected": 0, "newly_paid": 0,
            "plan_pay_before": 0, "plan_pay_after": 0, "patient_pay_before": 0,
            "patient_pay_after": 0}


def _add(into: dict[str, dict[str, int]], other: dict[str, dict[str, int]]) -> None:
    for key, counts in other.items():
        mine = into.setdefault(key, _bucket())
        for name, value in counts.items():
            mine[name] = mine.get(name, 0) + value


_COUNTERS = ("read", "unreadable", "processed", "with_original", "original_unreadable",
             "changed", "unchanged", "members_affected", "newly_rejected", "newly_paid",
             "plan_pay_before", "plan_pay_after", "patient_pay_before", "patient_pay_after",
             "total_price_before", "total_price_after", "shift_patient", "shift_plan",
             "shift_claims")


@dataclass(slots=True)
class Tally:
    """Counts and cents of a run or a partition; ``merge`` adds another one in."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(_COUNTERS, 0))
    status_before: dict[str, int] = field(default_factory=dict)
    status_after: dict[str, int] = field(default_factory=dict)
    change_kinds: dict[str, int] = field(default_factory=dict)
    newly_rejected_codes: dict[str, int] = field(default_factory=dict)
    by_plan: dict[str, dict[str, int]] = field(default_factory=dict)
    by_tier: dict[str, dict[str, int]] = field(default_factory=dict)
    by_drug: dict[str, dict[str, int]] = field(default_factory=dict)
    drug_names: dict[str, str] = field(default_factory=dict)
    cells: dict[tuple[str, str, str], list[int]] = field(default_factory=dict)
    """Per (plan, tier, NDC) sums not yet folded into the three tables (see :meth:`fold`)."""

    def add_claim(self, status: str, plan: str, tier: str, ndc: str, drug_name: str,
                  before: Original | None, after: Original, change: Change | None) -> None:
        """Count one re-adjudicated claim (``before`` None when the input had no original)."""
        c = self.counts
        c["processed"] += 1
        self.status_after[status] = self.status_after.get(status, 0) + 1
        if before is None:
            return
        c["with_original"] += 1
        self.status_before[before.status] = self.status_before.get(before.status, 0) + 1
        c["plan_pay_before"] += before.plan_pay
        c["plan_pay_after"] += after.plan_pay
        c["patient_pay_before"] += before.patient_pay
        c["patient_pay_after"] += after.patient_pay
        c["total_price_before"] += before.total_price
        c["total_price_after"] += after.total_price
        if ndc and drug_name and ndc not in self.drug_names:
            self.drug_names[ndc] = drug_name
        key = (plan or "(none)", tier, ndc or "(none)")
        cell = self.cells.get(key)
        if cell is None:
            cell = self.cells[key] = [0] * 8
        cell[0] += 1
        cell[4] += before.plan_pay
        cell[5] += after.plan_pay
        cell[6] += before.patient_pay
        cell[7] += after.patient_pay
        if change is not None:
            cell[1] += 1
            if change.kind == "newly_rejected":
                cell[2] += 1
            elif change.kind == "newly_paid":
                cell[3] += 1
        if change is None:
            c["unchanged"] += 1
            return
        c["changed"] += 1
        self.change_kinds[change.kind] = self.change_kinds.get(change.kind, 0) + 1
        if change.kind == "newly_rejected":
            c["newly_rejected"] += 1
            for code in after.reject_codes or ("(none)",):
                self.newly_rejected_codes[code] = self.newly_rejected_codes.get(code, 0) + 1
        elif change.kind == "newly_paid":
            c["newly_paid"] += 1
        if before.status == "P" and after.status == "P":
            c["shift_claims"] += 1
            c["shift_patient"] += change.patient_pay_change
            c["shift_plan"] += change.plan_pay_change

    def fold(self) -> None:
        """Move the per-claim cells into the by-plan, by-tier and by-drug tables."""
        names = ("claims", "changed", "newly_rejected", "newly_paid", "plan_pay_before",
                 "plan_pay_after", "patient_pay_before", "patient_pay_after")
        for (plan, tier, ndc), cell in self.cells.items():
            for table, key in ((self.by_plan, plan), (self.by_tier, tier), (self.by_drug, ndc)):
                b = table.get(key)
                if b is None:
                    b = table[key] = _bucket()
                for name, value in zip(names, cell, strict=True):
                    b[name] += value
        self.cells = {}

    def merge(self, other: Tally) -> None:
        """Add another tally (of disjoint families) into this one."""
        self.fold()
        other.fold()
        for name, value in other.counts.items():
            self.counts[name] = self.counts.get(name, 0) + value
        for mine, theirs in ((self.status_before, other.status_before),
                             (self.status_after, other.status_after),
                             (self.change_kinds, other.change_kinds),
                             (self.newly_rejected_codes, other.newly_rejected_codes)):
            for key, value in theirs.items():
                mine[key] = mine.get(key, 0) + value
        _add(self.by_plan, other.by_plan)
        _add(self.by_tier, other.by_tier)
        _add(self.by_drug, other.by_drug)
        for ndc, name in other.drug_names.items():
            self.drug_names.setdefault(ndc, name)

    # -- plain data, for the checkpoint markers and summary.json -----------------------------

    def to_state(self) -> dict[str, Any]:
        """Everything, as plain JSON-ready data (the partition checkpoint)."""
        self.fold()
        return {"counts": self.counts, "status_before": self.status_before,
                "status_after": self.status_after, "change_kinds": self.change_kinds,
                "newly_rejected_codes": self.newly_rejected_codes, "by_plan": self.by_plan,
                "by_tier": self.by_tier, "by_drug": self.by_drug,
                "drug_names": self.drug_names}

    @classmethod
    def from_state(cls, data: dict[str, Any]) -> Tally:
        """The inverse of :meth:`to_state`."""
        t = cls()
        t.counts.update(data["counts"])
        for name in ("status_before", "status_after", "change_kinds", "newly_rejected_codes",
                     "by_plan", "by_tier", "by_drug", "drug_names"):
            setattr(t, name, data[name])
        return t

    def to_json(self) -> dict[str, Any]:
        """The ``summary.json`` document: sorted keys, money as decimal strings."""
        self.fold()
        c = self.counts

        def table(rows: dict[str, dict[str, int]], names: bool = False) -> dict[str, Any]:
            out: dict[str, Any] = {}
            for key in sorted(rows):
                b = rows[key]
                entry: dict[str, Any] = {
                    "claims": b["claims"], "changed": b["changed"],
                    "newly_rejected": b["newly_rejected"], "newly_paid": b["newly_paid"],
                    "plan_pay_before": fmt(b["plan_pay_before"]),
                    "plan_pay_after": fmt(b["plan_pay_after"]),
                    "plan_pay_change": fmt(b["plan_pay_after"] - b["plan_pay_before"]),
                    "patient_pay_before": fmt(b["patient_pay_before"]),
                    "patient_pay_after": fmt(b["patient_pay_after"]),
                    "patient_pay_change": fmt(b["patient_pay_after"] - b["patient_pay_before"]),
                }
                if names:
                    entry["name"] = self.drug_names.get(key, "")
                out[key] = entry
            return out

        return {
            "schema": SCHEMA,
            "claims": {
                "read": c["read"], "unreadable": c["unreadable"], "processed": c["processed"],
                "with_original": c["with_original"],
                "original_unreadable": c["original_unreadable"],
                "changed": c["changed"], "unchanged": c["unchanged"],
            },
            "status_before": dict(sorted(self.status_before.items())),
            "status_after": dict(sorted(self.status_after.items())),
            "changes_by_kind": dict(sorted(self.change_kinds.items())),
            "newly_rejected": {"claims": c["newly_rejected"],
                               "by_reject_code": dict(sorted(self.newly_rejected_codes.items()))},
            "newly_paid": {"claims": c["newly_paid"]},
            "members_affected": c["members_affected"],
            "dollars": {
                "total_price_before": fmt(c["total_price_before"]),
                "total_price_after": fmt(c["total_price_after"]),
                "plan_pay_before": fmt(c["plan_pay_before"]),
                "plan_pay_after": fmt(c["plan_pay_after"]),
                "plan_pay_change": fmt(c["plan_pay_after"] - c["plan_pay_before"]),
                "patient_pay_before": fmt(c["patient_pay_before"]),
                "patient_pay_after": fmt(c["patient_pay_after"]),
                "patient_pay_change": fmt(c["patient_pay_after"] - c["patient_pay_before"]),
                "shifted": {"claims": c["shift_claims"],
                            "to_members": fmt(c["shift_patient"]),
                            "to_plan": fmt(c["shift_plan"])},
            },
            "by_plan": table(self.by_plan),
            "by_tier": table(self.by_tier),
            "by_drug": table(self.by_drug, names=True),
        }
