"""The impact of a plan or formulary change on a history of claims, as a report.

:class:`ImpactTally` takes the two answers to each claim (before and after the change) one pair
at a time and keeps only aggregates: totals, breakdowns by plan, tier and drug, newly rejected
claims by reject code and drug, newly paid claims, per-member shifts (keyed by a pseudonym, never
the member id) and, for each formulary change, the claims it touched.  Memory grows with the
number of distinct plans, drugs and members, not with the number of claims.

:func:`pairs` produces the answer pairs by running the claims in order through both books, each
with its own claim store, in this process; ``pbm impact`` gets them from two runs of the batch
runner instead (:func:`pbm_engine.cli.impact.batch_pairs`); :func:`tally_pairs` tallies either.
The report files are written by :mod:`pbm_engine.admin.report`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import heapq
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pbm_engine.admin.compare import differences
from pbm_engine.admin.formulary_sheet import FormularyChange, diff_formularies
from pbm_engine.book import Book
from pbm_engine.codes import Transaction
from pbm_engine.engine import Engine
from pbm_engine.processor import Processor
from pbm_engine.result import ClaimResult
from pbm_engine.store.memory import MemoryStore

__all__ = ["Group", "ImpactTally", "TouchedBy", "build_report", "differs", "formulary_changes",
           "pairs", "run_impact", "tally_pairs"]


@dataclass(slots=True)
class Group:
    """Counts and money (cents) for one slice of the claims: before and after the change."""

    claims: int = 0
    changed: int = 0
    paid_before: int = 0
    paid_after: int = 0
    plan_before: int = 0
    plan_after: int = 0
    member_before: int = 0
    member_after: int = 0
    allowed_changed: int = 0

    @property
    def plan_shift(self) -> int:
        return self.plan_after - self.plan_before

    @property
    def member_shift(self) -> int:
        return self.member_after - self.member_before

    def add(self, a: ClaimResult, b: ClaimResult, changed: bool) -> None:
        self.claims += 1
        if a.paid:
            self.paid_before += 1
            self.plan_before += a.plan_pay
            self.member_before += a.patient_pay
        if b.paid:
            self.paid_after += 1
            self.plan_after += b.plan_pay
            self.member_after += b.patient_pay
        if changed:
            self.changed += 1
            self.allowed_changed += max(a.total_price if a.paid else 0,
                                        b.total_price if b.paid else 0)


@dataclass(slots=True)
class TouchedBy:
    """The claims one formulary change touched (claims for its drug on a plan using it)."""

    change: FormularyChange
    formulary_id: str
    claims: Group = field(default_factory=Group)


def differs(a: ClaimResult, b: ClaimResult) -> tuple[str, ...]:
    """What differs between two answers to the same claim: what :func:`compare.differences`
    names, and a tier move of a claim paid under either design."""
    out = differences(a, b)
    if a.tier != b.tier and (a.paid or b.paid):
        out = (*out, "tier")
    return out


class ImpactTally:
    """Aggregates of before/after answer pairs; see the module docstring."""

    def __init__(self, changes: dict[str, list[FormularyChange]] | None = None,
                 plan_formulary: dict[str, str] | None = None, *, salt: str | None = None,
                 keep_members: int = 25) -> None:
        self.total = Group()
        self.by_plan: dict[str, Group] = {}
        self.by_tier: dict[str, Group] = {}
        self.by_drug: dict[str, Group] = {}
        self.drug_names: dict[str, str] = {}
        self.newly_rejected: dict[tuple[str, str], int] = {}
        self.newly_paid: dict[tuple[str, str], int] = {}
        self.members: dict[str, list[int]] = {}  # pseudonym -> [claims changed, member, plan]
        self.status_before: dict[str, int] = {}
        self.status_after: dict[str, int] = {}
        self.changed_fields: dict[str, int] = {}
        self.keep_members = keep_members
        self._salt = salt if salt is not None else secrets.token_hex(16)
        self.changes = changes or {}
        self.plan_formulary = plan_formulary or {}
        self.touched: dict[tuple[str, str, str], TouchedBy] = {}
        for fid, items in self.changes.items():
            for c in items:
                self.touched[(fid, c.ndc, c.kind)] = TouchedBy(c, fid)
        self._by_ndc: dict[tuple[str, str], list[TouchedBy]] = {}
        for t in self.touched.values():
            self._by_ndc.setdefault((t.formulary_id, t.change.ndc), []).append(t)
        self.rejected_claims = 0
        self.first_day: dt.date | None = None
        self.last_day: dt.date | None = None

    def pseudonym(self, member_id: str) -> str:
        """A member key that identifies no one outside this report (salted hash)."""
        digest = hashlib.sha256(f"{self._salt}:{member_id}".encode()).hexdigest()
        return f"M-{digest[:10]}"

    def add(self, a: ClaimResult, b: ClaimResult) -> tuple[str, ...]:
        """Count one claim's two answers; return what differs."""
        changed = differs(a, b)
        flag = bool(changed)
        self.total.add(a, b, flag)
        self.status_before[a.status.value] = self.status_before.get(a.status.value, 0) + 1
        self.status_after[b.status.value] = self.status_after.get(b.status.value, 0) + 1
        for name in changed:
            self.changed_fields[name] = self.changed_fields.get(name, 0) + 1
        day = a.date_of_service or b.date_of_service
        if day is not None:
            self.first_day = day if self.first_day is None else min(self.first_day, day)
            self.last_day = day if self.last_day is None else max(self.last_day, day)
        plan = b.plan_id or a.plan_id or "(unknown)"
        self.by_plan.setdefault(plan, Group()).add(a, b, flag)
        tier = a.tier if a.tier is not None else b.tier
        self.by_tier.setdefault("-" if tier is None else str(tier), Group()).add(a, b, flag)
        ndc = b.ndc or a.ndc
        if ndc:
            self.by_drug.setdefault(ndc, Group()).add(a, b, flag)
            name = b.drug_name or a.drug_name
            if name:
                self.drug_names[ndc] = name
        if a.paid and not b.paid:
            self.rejected_claims += 1
            for code in b.reject_codes or ("-",):
                key = (code, ndc)
                self.newly_rejected[key] = self.newly_rejected.get(key, 0) + 1
        if b.paid and not a.paid:
            key = (",".join(a.reject_codes) or a.status.value, ndc)
            self.newly_paid[key] = self.newly_paid.get(key, 0) + 1
        member = b.member_id or a.member_id
        if flag and member:
            row = self.members.setdefault(self.pseudonym(member), [0, 0, 0])
            row[0] += 1
            row[1] += (b.patient_pay if b.paid else 0) - (a.patient_pay if a.paid else 0)
            row[2] += (b.plan_pay if b.paid else 0) - (a.plan_pay if a.paid else 0)
        fid = self.plan_formulary.get(plan)
        if fid is not None and ndc and b.transaction is not Transaction.REVERSAL:
            for t in self._by_ndc.get((fid, ndc), ()):
                t.claims.add(a, b, flag)
        return changed

    def members_affected(self) -> int:
        return len(self.members)

    def top_members(self) -> list[tuple[str, int, int, int]]:
        """(pseudonym, claims changed, member pay shift, plan pay shift), largest member
        increase first, then largest decrease."""
        rows = [(k, v[0], v[1], v[2]) for k, v in self.members.items()]
        return heapq.nlargest(self.keep_members, rows, key=lambda r: (abs(r[2]), r[2], r[0]))


def pairs(before: Book, after: Book, requests: Iterable[Any], *,
          as_of: dt.date | None = None) -> Iterator[tuple[ClaimResult, ClaimResult]]:
    """Each claim's answer under ``before`` and under ``after``, in order, one pair at a time.

    Each book has its own in-memory claim store, so accumulators and history evolve under each
    design as they would in production.
    """
    first = Processor(Engine(before), MemoryStore())
    second = Processor(Engine(after), MemoryStore())
    for request in requests:
        yield first.submit(request, as_of=as_of), second.submit(request, as_of=as_of)


def formulary_changes(before: Book, after: Book
                      ) -> tuple[dict[str, list[FormularyChange]], dict[str, str]]:
    """The changes of every formulary both books have (by id), and plan -> formulary id (after).

    A plan whose formulary id differs between the books is compared across the two ids, under
    the after id.
    """
    changes: dict[str, list[FormularyChange]] = {}
    plan_formulary: dict[str, str] = {}
    for fid in sorted(before.formularies.keys() & after.formularies.keys()):
        changes[fid] = diff_formularies(before.formularies[fid], after.formularies[fid])
    for pid, plan in after.plans.items():
        plan_formulary[pid] = plan.formulary_id
        old = before.plans.get(pid)
        if old is not None and old.formulary_id != plan.formulary_id \
                and plan.formulary_id not in changes:
            changes[plan.formulary_id] = diff_formularies(
                before.formularies[old.formulary_id], after.formularies[plan.formulary_id])
    return changes, plan_formulary


def tally_pairs(before: Book, after: Book,
                answers: Iterable[tuple[ClaimResult, ClaimResult]], *, salt: str | None = None,
                keep_members: int = 25) -> ImpactTally:
    """Tally answer pairs (from :func:`pairs`, or the batch runner's) with the books'
    formulary changes."""
    changes, plan_formulary = formulary_changes(before, after)
    tally = ImpactTally(changes, plan_formulary, salt=salt, keep_members=keep_members)
    for a, b in answers:
        tally.add(a, b)
    return tally


def run_impact(before: Book, after: Book, requests: Iterable[Any], *,
               as_of: dt.date | None = None, salt: str | None = None,
               keep_members: int = 25) -> ImpactTally:
    """Run the claims through both books in this process and tally the impact."""
    return tally_pairs(before, after, pairs(before, after, requests, as_of=as_of), salt=salt,
                       keep_members=keep_members)


# -- the report --------------------------------------------------------------------------------

def _m(cents: int) -> str:
    from pbm_engine.money import fmt

    return fmt(cents)


def _s(cents: int) -> str:
    return ("+" if cents > 0 else "") + _m(cents)


_GROUP_HEADER = ("claims", "changed", "paid before", "paid after", "plan pay before",
                 "plan pay after", "plan pay shift", "member pay before", "member pay after",
                 "member pay shift")


def _group_row(g: Group) -> tuple[str, ...]:
    return (str(g.claims), str(g.changed), str(g.paid_before), str(g.paid_after),
            _m(g.plan_before), _m(g.plan_after), _s(g.plan_shift), _m(g.member_before),
            _m(g.member_after), _s(g.member_shift))


def build_report(tally: ImpactTally, before: str, after: str, *, top: int = 25,
                 unreadable: int = 0) -> Any:
    """The impact report (:class:`pbm_engine.admin.report.Report`) of a tally."""
    from pbm_engine.admin.report import Chart, Report, Section, Table

    t = tally.total
    period = f"{tally.first_day} to {tally.last_day}" if tally.first_day else "no dates"
    summary = [
        ("claims (transactions)", f"{t.claims:,}"),
        ("claims answered differently", f"{t.changed:,}"),
        ("members affected", f"{tally.members_affected():,}"),
        ("allowed amount on changed claims", _m(t.allowed_changed)),
        ("paid claims before / after", f"{t.paid_before:,} / {t.paid_after:,}"),
        ("plan pay before / after / shift",
         f"{_m(t.plan_before)} / {_m(t.plan_after)} / {_s(t.plan_shift)}"),
        ("member pay before / after / shift",
         f"{_m(t.member_before)} / {_m(t.member_after)} / {_s(t.member_shift)}"),
        ("newly rejected claims", f"{tally.rejected_claims:,}"),
        ("newly paid claims", f"{sum(tally.newly_paid.values()):,}"),
        ("dates of service", period),
    ]
    if unreadable:
        summary.insert(1, ("unreadable input lines (not counted)", f"{unreadable:,}"))
    report = Report(
        title="Impact of a plan change",
        subtitle=f"The same claims through {before} (before) and {after} (after), each book "
                 "with its own claim store, so deductibles and history evolve under each "
                 "design.  Money: paid claims only; member pay is the patient pay amount.  "
                 "Members appear under a pseudonymous key.",
        summary=summary)

    plans = sorted(tally.by_plan.items())
    report.sections.append(Section(
        "By plan", tables=[Table("by_plan", "By plan", ("plan", *_GROUP_HEADER),
                                 [(k, *_group_row(g)) for k, g in plans])],
        charts=[Chart("Member pay shift by plan", [(k, g.member_shift) for k, g in plans]),
                Chart("Plan pay shift by plan", [(k, g.plan_shift) for k, g in plans])]))
    tiers = sorted(tally.by_tier.items(), key=lambda kv: (kv[0] == "-", kv[0]))
    report.sections.append(Section(
        "By tier", text="Tier under the current (before) design.",
        tables=[Table("by_tier", "By tier", ("tier", *_GROUP_HEADER),
                      [(k, *_group_row(g)) for k, g in tiers])],
        charts=[Chart("Member pay shift by tier", [(f"tier {k}", g.member_shift)
                                                   for k, g in tiers])]))
    drugs = sorted(((k, g) for k, g in tally.by_drug.items() if g.changed),
                   key=lambda kv: (-abs(kv[1].member_shift), -kv[1].changed, kv[0]))
    report.sections.append(Section(
        "By drug", text=f"Drugs with claims answered differently ({len(drugs)}), largest "
                        "member-pay shift first.",
        tables=[Table("by_drug", "By drug", ("ndc", "drug", *_GROUP_HEADER),
                      [(k, tally.drug_names.get(k, ""), *_group_row(g)) for k, g in drugs])],
        charts=[Chart(f"Member pay shift, top {min(top, len(drugs))} drugs",
                      [(tally.drug_names.get(k, k), g.member_shift) for k, g in drugs[:top]])]))
    rejected = sorted(tally.newly_rejected.items(), key=lambda kv: (-kv[1], kv[0]))
    by_code: dict[str, int] = {}
    for (code, _), n in rejected:
        by_code[code] = by_code.get(code, 0) + n
    from pbm_engine.codes import reject_description

    report.sections.append(Section(
        "Newly rejected claims", text="Claims paid before and rejected after, by the reject "
                                      "code of the new answer and drug.",
        tables=[Table("newly_rejected", "Newly rejected, by reject code and drug",
                      ("reject code", "description", "ndc", "drug", "claims"),
                      [(c, reject_description(c), n_, tally.drug_names.get(n_, ""), str(n))
                       for (c, n_), n in rejected])],
        charts=[Chart("Newly rejected claims by reject code",
                      [(f"{c} {reject_description(c)}"[:40], n)
                       for c, n in sorted(by_code.items(), key=lambda kv: -kv[1])],
                      money=False)]))
    paid = sorted(tally.newly_paid.items(), key=lambda kv: (-kv[1], kv[0]))
    report.sections.append(Section(
        "Newly paid claims", text="Claims rejected (or not paid) before and paid after.",
        tables=[Table("newly_paid", "Newly paid, by drug",
                      ("before (rejects or status)", "ndc", "drug", "claims"),
                      [(c, n_, tally.drug_names.get(n_, ""), str(n))
                       for (c, n_), n in paid])]))
    members = tally.top_members()
    report.sections.append(Section(
        "Members most affected",
        text=f"{tally.members_affected():,} members have claims answered differently; the "
             f"{len(members)} with the largest member-pay change.  Keys are salted hashes that "
             "identify no one outside this report.",
        tables=[Table("members", "Members most affected",
                      ("member key", "claims changed", "member pay shift", "plan pay shift"),
                      [(k, str(n), _s(m), _s(p)) for k, n, m, p in members])],
        charts=[Chart("Member pay shift, most affected members",
                      [(k, m) for k, _, m, _ in members[:top]])]))
    touched = sorted(tally.touched.values(),
                     key=lambda x: (-x.claims.claims, x.formulary_id, x.change.ndc))
    report.sections.append(Section(
        "Formulary changes",
        text=f"{len(touched)} changes between the two books' formularies, and the claims each "
             "touched (claims for that drug on a plan using that formulary).",
        tables=[Table("formulary_changes", "Formulary changes and the claims they touched",
                      ("formulary", "ndc", "drug", "change", "before", "after",
                       "claims touched", "answered differently", "member pay shift",
                       "plan pay shift"),
                      [(x.formulary_id, x.change.ndc, x.change.name,
                        x.change.kind.replace("_", " "), x.change.before, x.change.after,
                        str(x.claims.claims), str(x.claims.changed),
                        _s(x.claims.member_shift), _s(x.claims.plan_shift))
                       for x in touched])]))
    fields = sorted(tally.changed_fields.items(), key=lambda kv: -kv[1])
    report.sections.append(Section(
        "What changed", tables=[Table("changed_fields", "Fields that differ, claims",
                                      ("field", "claims"),
                                      [(k, str(v)) for k, v in fields])],
        charts=[Chart("Claims by field that differs", fields, money=False)]))
    return report
