"""Members, families, coverage periods and prior authorizations on file; the eligibility edit."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

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
    member_id: str = field(init=False, compare=False)
    """``CARDHOLDER-PERSON``, the key of the member's accumulators and history."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "member_id", f"{self.cardholder_id}-{self.person_code}")


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


@dataclass(slots=True)
class Registry:
    """Members by (cardholder ID, person code), families, and PAs; built once, read-only."""

    members: dict[tuple[str, str], Member] = field(default_factory=dict)
    family_sizes: dict[str, int] = field(default_factory=dict)
    prior_auths: dict[str, list[PriorAuth]] = field(default_factory=dict)
    cardholders: set[str] = field(default_factory=set)

    def add(self, member: Member) -> None:
        key = (member.cardholder_id, member.person_code)
        if key in self.members:
            raise ValueError(f"member {member.member_id} is listed twice")
        self.members[key] = member
        self.cardholders.add(member.cardholder_id)
        self.family_sizes[member.family_id] = self.family_sizes.get(member.family_id, 0) + 1

    def add_prior_auth(self, pa: PriorAuth) -> None:
        self.prior_auths.setdefault(pa.member_id, []).append(pa)

    def get(self, cardholder_id: str, person_code: str) -> Member | None:
        return self.members.get((cardholder_id, person_code))

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
