"""Where a batch run finds its members: behind :class:`MemberSource`, spilled by partition.

The engine looks members up in its book's registry.  A batch run builds one small registry per
partition, holding only that partition's families, from member records the driver spilled into
the partition's directory.  Sources:

* :class:`BookMembers`: the members (and prior authorizations) of the loaded book;
* :class:`FileMembers`: a member file in JSON lines, one member per line, with the fields of a
  book's ``members.yaml`` entry (``cardholder_id``, ``person_code``, ``family_id``,
  ``plan_id``, ``date_of_birth``, ``gender`` M/F/U, ``coverage`` [{start, end, terminated}],
  ``lis_level``) -- what ``pbm generate`` writes next to its claims;
* any object with the two methods of :class:`MemberSource` (a store-backed source plugs in here).

Member records are spilled without names: a partition needs only what adjudication reads.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

import orjson

from pbm_engine.book import Book
from pbm_engine.eligibility.members import CoveragePeriod, Member, PriorAuth, Registry
from pbm_engine.errors import ConfigError

__all__ = [
    "BookMembers",
    "ChainedMembers",
    "FileMembers",
    "MemberSource",
    "member_from_record",
    "member_record",
    "pa_from_record",
    "pa_record",
    "registry_from_records",
]

_GENDER_OUT = {0: "U", 1: "M", 2: "F"}
_GENDER_IN = {"U": 0, "M": 1, "F": 2, "0": 0, "1": 1, "2": 2}


class MemberSource(Protocol):
    """Members and prior authorizations for a batch run, streamed once by the driver."""

    def members(self) -> Iterable[Member]: ...

    def prior_auths(self) -> Iterable[PriorAuth]: ...


class BookMembers:
    """The members and prior authorizations listed in a book."""

    def __init__(self, book: Book) -> None:
        self.book = book

    def members(self) -> Iterable[Member]:
        return self.book.registry.members.values()

    def prior_auths(self) -> Iterable[PriorAuth]:
        for pas in self.book.registry.prior_auths.values():
            yield from pas


class FileMembers:
    """Members from a JSON-lines file (see the module docstring); PAs stay in the book."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def members(self) -> Iterator[Member]:
        try:
            handle = self.path.open("rb")
        except OSError as exc:
            raise ConfigError(f"{self.path}: cannot read the member file ({exc.strerror})"
                              ) from None
        with handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    yield member_from_record(orjson.loads(line))
                except (orjson.JSONDecodeError, ValueError, TypeError, KeyError) as exc:
                    raise ConfigError(f"{self.path}: line {number}: not a member record "
                                      f"({exc})") from None

    def prior_auths(self) -> Iterable[PriorAuth]:
        return ()


class ChainedMembers:
    """Several sources one after the other (e.g. the book's members, then a member file)."""

    def __init__(self, sources: Sequence[MemberSource]) -> None:
        self.sources = tuple(sources)

    def members(self) -> Iterator[Member]:
        for source in self.sources:
            yield from source.members()

    def prior_auths(self) -> Iterator[PriorAuth]:
        for source in self.sources:
            yield from source.prior_auths()


def _day(value: Any) -> dt.date | None:
    return None if value in (None, "") else dt.date.fromisoformat(str(value))


def member_record(member: Member) -> dict[str, Any]:
    """A member as a JSON-ready record (no names)."""
    out: dict[str, Any] = {
        "cardholder_id": member.cardholder_id, "person_code": member.person_code,
        "family_id": member.family_id, "plan_id": member.plan_id,
        "date_of_birth": member.date_of_birth.isoformat() if member.date_of_birth else None,
        "gender": _GENDER_OUT.get(member.gender, "U"),
        "coverage": [{"start": c.start.isoformat(),
                      "end": c.end.isoformat() if c.end else None,
                      "terminated": c.terminated} for c in member.coverage],
    }
    if member.lis_level is not None:
        out["lis_level"] = member.lis_level
    return out


def member_from_record(data: dict[str, Any]) -> Member:
    """The inverse of :func:`member_record` (also reads ``pbm generate`` member files)."""
    cardholder = str(data["cardholder_id"])
    if not cardholder:
        raise ValueError("cardholder_id is empty")
    coverage = tuple(CoveragePeriod(dt.date.fromisoformat(str(c["start"])), _day(c.get("end")),
                                    bool(c.get("terminated", False)))
                     for c in data.get("coverage") or ())
    gender = _GENDER_IN.get(str(data.get("gender") or "U").upper())
    if gender is None:
        raise ValueError(f"gender {data.get('gender')!r} is not M, F or U")
    return Member(
        cardholder_id=cardholder,
        person_code=str(data.get("person_code") or "001").zfill(3),
        family_id=str(data.get("family_id") or cardholder),
        plan_id=str(data["plan_id"]),
        date_of_birth=_day(data.get("date_of_birth")),
        gender=gender,
        coverage=coverage,
        lis_level=data.get("lis_level"),
    )


def pa_record(pa: PriorAuth) -> dict[str, Any]:
    """A prior authorization as a JSON-ready record."""
    return {"member_id": pa.member_id, "number": pa.number, "start": pa.start.isoformat(),
            "end": pa.end.isoformat(), "ndc": pa.ndc, "te_group": pa.te_group,
            "group": pa.group, "rxcui": pa.rxcui, "bypasses": sorted(pa.bypasses)}


def pa_from_record(data: dict[str, Any]) -> PriorAuth:
    """The inverse of :func:`pa_record`."""
    return PriorAuth(str(data["member_id"]), str(data["number"]),
                     dt.date.fromisoformat(data["start"]), dt.date.fromisoformat(data["end"]),
                     data.get("ndc"), data.get("te_group"), data.get("group"), data.get("rxcui"),
                     frozenset(data.get("bypasses") or ()))


def registry_from_records(lines: Iterable[bytes]) -> Registry:
    """A registry from spilled records: members, and PAs (records with a ``member_id``)."""
    registry = Registry()
    pas: list[PriorAuth] = []
    for line in lines:
        data = orjson.loads(line)
        if "member_id" in data:
            pas.append(pa_from_record(data))
        else:
            registry.add(member_from_record(data))
    for pa in pas:
        registry.add_prior_auth(pa)
    return registry
