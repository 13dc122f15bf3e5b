"""Members, families, coverage periods and prior authorizations on file; the eligibility edit.

The engine reads members through the :class:`Eligibility` protocol.  Two implementations:
:class:`Registry` (members listed in a book's YAML: small books, tests, the demo) and the claim
stores (:mod:`pbm_engine.store`), which hold members imported from eligibility files.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Protocol

from pbm_engine.codes import Reject
from pbm_engine.formulary.model import Drug

__all__ = ["CoveragePeriod", "Member", "PriorAuth", "Registry", "age_on", "coverage_reject"]


@dataclass(frozen=True, slots=True)
class CoveragePeriod:
    """Coverage from ``start`` through ``end`` (inclusive; None = open).  ``terminated`` marks an
    early termination (reject 69) rather than a natural expiry (reject 68)."""

    start: dt.date
    end: dt.date | None = None
    terminated: bool = False
    plan_id: str = ""
    """The plan of this period (empty: the member's plan)."""

    def covers(self, day: dt.date) -> bool:
        return self.start <= day and (self.end is None or day <= self.end)


@dataclass(frozen=True, slots=True)
class Member:
    """A covered person: identified on claims by cardholder ID (302-C2) and person code."""

    cardholder_id: str
    person_code: str
    family_id: str
    plan_id: str
    date_of_birth: dt.date | None = None
    gender: int = 0
    coverage: tuple[CoveragePeriod, ...] = ()
    first_name: str = ""
    last_name: str = ""
    lis_level: str | None = None  # Medicare Part D low-income subsidy level
    relationship: str = ""
    """Patient relationship code (306-C6): 1 cardholder, 2 spouse, 3 child, 4 other; empty."""
    member_id: str = field(default="", compare=False)
    """The key of the member's accumulators and history; ``CARDHOLDER-PERSON`` when not given."""

    def __post_init__(self) -> None:
        if not self.member_id:
            object.__setattr__(self, "member_id", f"{self.cardholder_id}-{self.person_code}")

    def on(self, day: dt.date) -> Member:
        """The member as of ``day``: ``plan_id`` is the plan of the coverage period covering
        ``day`` (or of the latest period started by then, else the first one)."""
        chosen = None
        for period in self.coverage:
            if period.start <= day and (chosen is None or period.start > chosen.start):
                chosen = period
        if chosen is None and self.coverage:
            chosen = min(self.coverage, key=lambda p: p.start)
        if chosen is None or not chosen.plan_id or chosen.plan_id == self.plan_id:
            return self
        return Member(self.cardholder_id, self.person_code, self.family_id, chosen.plan_id,
                      self.date_of_birth, self.gender, self.coverage, self.first_name,
                      self.last_name, self.lis_level, self.relationship, self.member_id)


@dataclass(frozen=True, slots=True)
class PriorAuth:
    """A prior authorization on file for a member and a drug key, valid ``start``..``end``.

    The drug key is any of ``ndc``, ``te_group``, ``group`` or ``rxcui``.  ``bypasses`` names the
    edits it overrides besides the PA edit itself (``formulary``, ``step_therapy``,
    ``quantity_limit``, ``refill_too_soon``, ``age``, ``gender``, ``days_supply``).
    """

    member_id: str
    number: str
    start: dt.date
    end: dt.date
    ndc: str | None = None
    te_group: str | None = None
    group: str | None = None
    rxcui: str | None = None
    bypasses: frozenset[str] = frozenset()

    def covers(self, drug: Drug, day: dt.date) -> bool:
        if not self.start <= day <= self.end:
            return False
        return (
            (self.ndc is not None and self.ndc == drug.ndc)
            or (self.te_group is not None and self.te_group == drug.te_group)
            or (self.rxcui is not None and self.rxcui == drug.rxcui)
            or (self.group is not None and self.group in drug.groups)
        )


class Eligibility(Protocol):
    """Where the engine and the portal find members, families and prior authorizations."""

    def get(self, cardholder_id: str, person_code: str) -> Member | None:
        """The member a claim names (cardholder ID 302-C2, person code 303-C3)."""
        ...

    def has_cardholder(self, cardholder_id: str) -> bool:
        """Whether any member has this cardholder ID (reject 52 rather than 53)."""
        ...

    def member_by_id(self, member_id: str) -> Member | None:
        """The member with this member id (the key of accumulators and history)."""
        ...

    def family(self, family_id: str) -> list[Member]:
        """Everyone in a family, by person code."""
        ...

    def family_coverage(self, member: Member) -> bool:
        """True when the member is on family (other than self-only) coverage."""
        ...

    def find_prior_auth(self, member: Member, drug: Drug, day: dt.date,
                        number: str | None = None) -> PriorAuth | None:
        """A PA on file for the member that covers ``drug`` on ``day`` (and has ``number``)."""
        ...


@dataclass(slots=True)
class Registry:
    """Members by (cardholder ID, person code), families, and PAs in memory; built once,
    read-only (the :class:`Eligibility` of a book)."""

    members: dict[tuple[str, str], Member] = field(default_factory=dict)
    family_sizes: dict[str, int] = field(default_factory=dict)
    prior_auths: dict[str, list[PriorAuth]] = field(default_factory=dict)
    cardholders: set[str] = field(default_factory=set)
    by_id: dict[str, Member] = field(init=False, repr=False, compare=False)
    families: dict[str, list[Member]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """The member-id and family indexes, derived from ``members`` (never stored)."""
        self.by_id = {m.member_id: m for m in self.members.values()}
        self.families = {}
        for m in sorted(self.members.values(), key=lambda m: m.person_code):
            self.families.setdefault(m.family_id, []).append(m)

    def add(self, member: Member) -> None:
        key = (member.cardholder_id, member.person_code)
        if key in self.members or member.member_id in self.by_id:
            raise ValueError(f"member {member.member_id} is listed twice")
        self.members[key] = member
        self.by_id[member.member_id] = member
        self.cardholders.add(member.cardholder_id)
        self.family_sizes[member.family_id] = self.family_sizes.get(member.family_id, 0) + 1
        family = self.families.setdefault(member.family_id, [])
        family.append(member)
        family.sort(key=lambda m: m.person_code)

    def add_prior_auth(self, pa: PriorAuth) -> None:
        self.prior_auths.setdefault(pa.member_id, []).append(pa)

    def get(self, cardholder_id: str, person_code: str) -> Member | None:
        return self.members.get((cardholder_id, person_code))

    def has_cardholder(self, cardholder_id: str) -> bool:
        return cardholder_id in self.cardholders

    def member_by_id(self, member_id: str) -> Member | None:
        return self.by_id.get(member_id)

    def family(self, family_id: str) -> list[Member]:
        return list(self.families.get(family_id, ()))

    def family_coverage(self, member: Member) -> bool:
        """True when the member is on family (other than self-only) coverage."""
        return self.family_sizes.get(member.family_id, 1) > 1

    def find_prior_auth(self, member: Member, drug: Drug, day: dt.date,
                        number: str | None = None) -> PriorAuth | None:
        for pa in self.prior_auths.get(member.member_id, ()):
            if pa.covers(drug, day) and (number is None or pa.number == number):
                return pa
        return None


def coverage_reject(member: Member, day: dt.date) -> tuple[str, str] | None:
    """The eligibility reject for a date of service, or None when covered."""
    if not member.coverage:
        return Reject.PATIENT_NOT_COVERED, "no coverage on file for the member"
    for period in member.coverage:
        if period.start <= day and (period.end is None or day <= period.end):
            return None
    if all(day < p.start for p in member.coverage):
        first = min(p.start for p in member.coverage)
        return Reject.BEFORE_COVERAGE_EFFECTIVE, f"coverage starts {first.isoformat()}"
    past = [p for p in member.coverage if p.end is not None and p.end < day]
    if past:
        last = max(past, key=lambda p: p.end or dt.date.min)
        if last.terminated:
            return Reject.AFTER_COVERAGE_TERMINATED, f"coverage terminated {last.end}"
        return Reject.AFTER_COVERAGE_EXPIRED, f"coverage ended {last.end}"
    return Reject.PATIENT_NOT_COVERED, "not covered on the date of service"


def age_on(dob: dt.date, day: dt.date) -> int:
    """Age in whole years on ``day``."""
    return day.year - dob.year - ((day.month, day.day) < (dob.month, dob.day))
