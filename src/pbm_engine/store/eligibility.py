"""Eligibility and prior-authorization files into a claim store (see docs/eligibility-files.md).

A file is CSV (a header row naming the columns) or JSON lines (one object per line with the
same names).  Every row is validated; every problem is reported with its line number; a file
with any problem changes nothing (the whole file is one store transaction).

Member rows are incremental and effective-dated:

* ``add`` (the default action): the member is added or its demographics replaced, and the
  coverage period ``coverage_start``..``coverage_end`` on ``plan_id`` is set.  A period with the
  same start is replaced (so re-importing a file changes nothing); an earlier period still open
  on ``coverage_start`` is closed the day before (a plan change effective that day); a later
  period the new one would overlap is an error.
* ``change``: as ``add``, but the member must already be on file; without ``coverage_start``
  only the demographics change.
* ``terminate``: coverage ends on ``coverage_end`` (reject 69 after it); periods that would
  start after it are removed.  The member must be on file with coverage on that day.

``replace=True`` makes the file the whole eligibility: every member not in it is removed (prior
authorizations are kept; claims, history and accumulators are never touched).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import orjson

from pbm_engine.eligibility.members import CoveragePeriod, Member, PriorAuth
from pbm_engine.errors import ConfigError

if TYPE_CHECKING:
    from pbm_engine.store.base import Store

__all__ = [
    "BATCH",
    "MAX_REPORTED",
    "MEMBER_COLUMNS",
    "PA_COLUMNS",
    "EligibilityFileError",
    "ImportReport",
    "MemberRow",
    "PaRow",
    "check_columns",
    "import_members",
    "import_prior_auths",
    "merge_period",
    "parse_member_row",
    "parse_pa_row",
    "read_rows",
    "terminate",
]

BATCH = 5_000
"""Rows read, checked against the store and written together (inside the one transaction)."""
MAX_REPORTED = 50
"""Problems listed in the error (the count is always complete)."""

MEMBER_COLUMNS = ("cardholder_id", "person_code", "member_id", "family_id", "plan_id",
                  "date_of_birth", "gender", "coverage_start", "coverage_end")
"""Columns an eligibility CSV must have (values may be empty where docs/eligibility-files.md
says so)."""
OPTIONAL_MEMBER_COLUMNS = ("action", "relationship", "lis_level", "first_name", "last_name")
PA_COLUMNS = ("cardholder_id", "person_code", "number", "start", "end")
"""Columns a prior-authorization CSV must have."""
OPTIONAL_PA_COLUMNS = ("action", "ndc", "te_group", "group", "rxcui", "bypasses")
BYPASSES = frozenset({"formulary", "step_therapy", "quantity_limit", "refill_too_soon", "age",
                      "gender", "days_supply"})
_GENDERS = {"M": 1, "F": 2, "U": 0, "1": 1, "2": 2, "0": 0, "": 0}
_RELATIONSHIPS = {"1": "1", "cardholder": "1", "self": "1", "subscriber": "1", "2": "2",
                  "spouse": "2", "3": "3", "child": "3", "dependent": "3", "4": "4",
                  "other": "4", "": ""}
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,29}")
_PERSON = re.compile(r"[0-9]{1,3}")
_NDC = re.compile(r"[0-9]{11}")


class EligibilityFileError(ConfigError):
    """A file with bad rows; nothing was applied.  ``problems`` lists ``line N: what``."""

    def __init__(self, path: str | Path, problems: list[str], count: int) -> None:
        problems = sorted(problems, key=_line_of)
        self.problems = problems
        self.count = count
        shown = "\n".join(problems[:MAX_REPORTED])
        more = f"\n... and {count - MAX_REPORTED} more" if count > MAX_REPORTED else ""
        super().__init__(f"{path}: {count} bad row(s); nothing was imported\n{shown}{more}")


def _line_of(problem: str) -> int:
    head = problem.split(":", 1)[0]
    return int(head[5:]) if head.startswith("line ") and head[5:].isdigit() else 0


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What an import did: rows read, members (or PAs) added, changed, terminated, removed."""

    rows: int
    added: int = 0
    changed: int = 0
    terminated: int = 0
    removed: int = 0
    members: int = 0
    """Members (or PAs) on file afterwards (members only)."""


# -- reading ----------------------------------------------------------------------------------

def read_rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """``(line number, row)`` for every data row of a CSV or JSON-lines file; values are text
    (JSON numbers become text, a list of ``bypasses`` comma-separated text).

    JSON lines: a file named ``*.jsonl``/``*.ndjson``/``*.json``, or whose first byte is ``{``.
    A line that is not a JSON object yields ``{"__error__": message}``.
    """
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    with handle:
        first = handle.read(1)
        handle.seek(0)
        if path.suffix.lower() in (".jsonl", ".ndjson", ".json") or first == b"{":
            for n, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    row = orjson.loads(line)
                except orjson.JSONDecodeError as exc:
                    yield n, {"__error__": f"not JSON: {exc}"}
                    continue
                if not isinstance(row, dict):
                    yield n, {"__error__": "not a JSON object"}
                    continue
                try:
                    yield n, {str(k).lower(): _as_text(str(k), v) if k != "bypasses" or
                              not isinstance(v, list) else ",".join(map(str, v))
                              for k, v in row.items()}
                except ValueError as exc:
                    yield n, {"__error__": str(exc)}
            return
        text = io.TextIOWrapper(handle, encoding="utf-8-sig", newline="")
        reader = csv.reader(text)
        try:
            header = [h.strip().lower() for h in next(reader)]
        except StopIteration:
            return
        except (csv.Error, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: line 1: {exc}") from None
        width = len(header)
        while True:
            try:
                values = next(reader)
            except StopIteration:
                return
            except (csv.Error, UnicodeDecodeError) as exc:
                raise ConfigError(f"{path}: line {reader.line_num}: {exc}") from None
            if not values or values == [""]:
                continue
            if len(values) != width:
                yield reader.line_num, {"__error__": f"{len(values)} fields, the header has "
                                        f"{width}"}
                continue
            yield reader.line_num, dict(zip(header, values, strict=True))


def check_columns(path: Path, required: tuple[str, ...], optional: tuple[str, ...]) -> None:
    """A CSV file must name every required column and no unknown one."""
    if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        return
    try:
        with path.open("rb") as handle:
            if handle.read(1) == b"{":
                return
        with path.open(encoding="utf-8-sig", newline="") as text:
            header = [h.strip().lower() for h in next(csv.reader(text), [])]
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    except (csv.Error, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: line 1: {exc}") from None
    missing = [c for c in required if c not in header]
    unknown = [c for c in header if c not in required and c not in optional]
    if missing or unknown:
        parts = []
        if missing:
            parts.append(f"missing column(s) {', '.join(missing)}")
        if unknown:
            parts.append(f"unknown column(s) {', '.join(unknown)}")
        raise ConfigError(f"{path}: line 1: {'; '.join(parts)}")


def _as_text(name: str, value: Any) -> str:
    """A JSON value as the text a CSV cell would hold (numbers allowed, lists not)."""
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f"{name}: expected text, got {value!r}")
    return str(value)


_DAYS: dict[str, dt.date] = {}  # dates repeat across rows (birth dates, coverage starts)


def _day(name: str, value: str, required: bool = False) -> dt.date | None:
    day = _DAYS.get(value)
    if day is not None:
        return day
    value = value.strip()
    if not value:
        if required:
            raise ValueError(f"{name}: required")
        return None
    try:
        day = dt.date.fromisoformat(value) if len(value) == 10 else None
    except ValueError:
        day = None
    if day is None:
        raise ValueError(f"{name}: {value!r} is not a date (YYYY-MM-DD)")
    if len(_DAYS) < 200_000:
        _DAYS[value] = day
    return day


def _ident(name: str, value: str, required: bool = True) -> str:
    if _ID.fullmatch(value):
        return value
    value = value.strip()
    if not value:
        if required:
            raise ValueError(f"{name}: required")
        return ""
    if not _ID.fullmatch(value):
        raise ValueError(f"{name}: {value!r} is not an id (letters, digits, . _ -; "
                         "at most 30)")
    return value


def _member_key(row: Mapping[str, str]) -> tuple[str, str]:
    cardholder = _ident("cardholder_id", row.get("cardholder_id", ""))
    person = row.get("person_code", "").strip()
    if not _PERSON.fullmatch(person):
        raise ValueError(f"person_code: {person!r} is not 1 to 3 digits")
    return cardholder, person.zfill(3)


@dataclass(frozen=True, slots=True)
class MemberRow:
    """One validated eligibility row."""

    line: int
    action: str
    key: tuple[str, str]
    member: tuple[Any, ...] | None
    """For add/change, the member's fields but coverage: (family, plan, born, gender, first,
    last, lis, relationship, member id); None for terminate."""
    period: CoveragePeriod | None

    @property
    def member_id(self) -> str:
        return self.member[8] if self.member else ""

    def build(self, coverage: tuple[CoveragePeriod, ...]) -> Member:
        """The member with these demographics and ``coverage`` (plan: the latest period's)."""
        assert self.member is not None
        family, plan, born, gender, first, last, lis, relationship, member_id = self.member
        if coverage:
            plan = max(coverage, key=_start).plan_id or plan
        return Member(self.key[0], self.key[1], family, plan, born, gender, coverage, first,
                      last, lis, relationship, member_id)


def _start(period: CoveragePeriod) -> dt.date:
    return period.start


def parse_member_row(line: int, row: Mapping[str, str]) -> MemberRow:
    """Validate one row (text values, as :func:`read_rows` gives them); ValueError names the
    first bad field."""
    if "__error__" in row:
        raise ValueError(row["__error__"])
    get = row.get
    action = get("action", "").strip().lower() or "add"
    if action not in ("add", "change", "terminate"):
        raise ValueError(f"action: {action!r} is not add, change or terminate")
    key = _member_key(row)
    if action == "terminate":
        end = _day("coverage_end", get("coverage_end", ""))
        if end is None:
            raise ValueError("coverage_end: required to terminate")
        return MemberRow(line, action, key, None, CoveragePeriod(end, end, True))
    plan = _ident("plan_id", get("plan_id", ""))
    gender = _GENDERS.get(get("gender", ""))
    if gender is None:
        gender_text = get("gender", "").strip().upper()
        gender = _GENDERS.get(gender_text)
        if gender is None:
            raise ValueError(f"gender: {gender_text!r} is not M, F or U")
    relationship = _RELATIONSHIPS.get(get("relationship", ""))
    if relationship is None:
        text = get("relationship", "").strip().lower()
        relationship = _RELATIONSHIPS.get(text)
        if relationship is None:
            raise ValueError(f"relationship: {text!r} is not 1-4 (cardholder, spouse, child, "
                             "other)")
    lis = get("lis_level", "").strip() or None
    if lis is not None:
        from pbm_engine.medicare.adjudicate import lis_level_of

        lis_level_of(lis, 2025)  # ValueError names the accepted levels
    born = _day("date_of_birth", get("date_of_birth", ""), required=action == "add")
    start = _day("coverage_start", get("coverage_start", ""), required=action == "add")
    end = _day("coverage_end", get("coverage_end", ""))
    period = None
    if start is not None:
        if end is not None and end < start:
            raise ValueError(f"coverage_end {end} is before coverage_start {start}")
        period = CoveragePeriod(start, end, False, plan)
    elif end is not None:
        raise ValueError("coverage_end without coverage_start (use action terminate)")
    member_id = _ident("member_id", get("member_id", ""), required=False) or \
        f"{key[0]}-{key[1]}"
    family = _ident("family_id", get("family_id", ""), required=False) or key[0]
    fields = (family, plan, born, gender, get("first_name", "").strip(),
              get("last_name", "").strip(), lis, relationship, member_id)
    return MemberRow(line, action, key, fields, period)


def merge_period(coverage: tuple[CoveragePeriod, ...], new: CoveragePeriod
                 ) -> tuple[CoveragePeriod, ...]:
    """Coverage with ``new`` set (see the module docstring); ValueError on an overlap."""
    if not coverage:
        return (new,)
    out = []
    for p in coverage:
        if p.start == new.start:
            continue  # replaced
        if p.start < new.start:
            if p.end is None or p.end >= new.start:
                p = replace(p, end=new.start - dt.timedelta(days=1), terminated=False)
            out.append(p)
        elif new.end is None or new.end >= p.start:
            raise ValueError(f"coverage from {new.start} overlaps coverage on file from "
                             f"{p.start}; terminate first or use --replace")
        else:
            out.append(p)
    out.append(new)
    return tuple(sorted(out, key=lambda p: p.start))


def terminate(coverage: tuple[CoveragePeriod, ...], day: dt.date) -> tuple[CoveragePeriod, ...]:
    """Coverage ended on ``day``; ValueError when nothing is covered on it."""
    if not any(p.covers(day) for p in coverage):
        raise ValueError(f"no coverage on {day} to terminate")
    out = []
    for p in coverage:
        if p.start > day:
            continue  # would have started after the termination: cancelled
        if p.covers(day):
            p = replace(p, end=day, terminated=True)
        out.append(p)
    return tuple(out)


_R = TypeVar("_R")


@dataclass(slots=True)
class _Problems:
    """The bad rows of one file: how many, and the first MAX_REPORTED described."""

    count: int = 0
    listed: list[str] = field(default_factory=list)

    def add(self, line: int, what: object) -> None:
        self.count += 1
        if len(self.listed) < MAX_REPORTED:
            self.listed.append(f"line {line}: {what}")

    def extend(self, described: list[str]) -> None:
        self.count += len(described)
        self.listed.extend(described[:MAX_REPORTED - len(self.listed)])


def _apply_rows(path: Path, parse: Callable[[int, Mapping[str, str]], _R],
                apply: Callable[[list[_R]], None], problems: _Problems) -> int:
    """Parse every row of ``path`` (a row that does not parse is a problem) and hand the
    valid ones to ``apply`` in batches of :data:`BATCH`; return the number of rows."""
    rows = 0
    batch: list[_R] = []
    for line, raw in read_rows(path):
        rows += 1
        try:
            batch.append(parse(line, raw))
        except ValueError as exc:
            problems.add(line, exc)
            continue
        if len(batch) >= BATCH:
            apply(batch)
            batch.clear()
    apply(batch)
    return rows


# -- importing --------------------------------------------------------------------------------

def import_members(store: Store, path: str | Path, *, replace_all: bool = False
                   ) -> ImportReport:
    """Import an eligibility file into ``store`` in one transaction (see the module
    docstring).  Raises :class:`EligibilityFileError` (nothing applied) on any bad row."""
    path = Path(path)
    check_columns(path, MEMBER_COLUMNS, OPTIONAL_MEMBER_COLUMNS)
    problems = _Problems()
    added = changed = terminated = 0
    seen: set[tuple[str, str]] = set()
    with store.transaction():
        before = store.member_count() if replace_all else 0
        if replace_all:
            store.clear_members()

        def apply(batch: list[MemberRow]) -> None:
            nonlocal added, changed, terminated
            a, c, t, bad = _apply_batch(store, batch, seen)
            added, changed, terminated = added + a, changed + c, terminated + t
            problems.extend(bad)

        rows = _apply_rows(path, parse_member_row, apply, problems)
        if problems.count:
            raise EligibilityFileError(path, problems.listed, problems.count)
        total = store.member_count()
    removed = max(0, before - len(seen)) if replace_all else 0
    return ImportReport(rows, added, changed, terminated, removed, total)


def _apply_batch(store: Store, batch: list[MemberRow], seen: set[tuple[str, str]]
                 ) -> tuple[int, int, int, list[str]]:
    """Apply a batch of validated rows: (added, changed, terminated, problems)."""
    if not batch:
        return 0, 0, 0, []
    keys = list(dict.fromkeys(r.key for r in batch))
    current: dict[tuple[str, str], Member] = dict(store.members_by_key(keys))
    new_ids = list(dict.fromkeys(r.member_id for r in batch
                                 if r.member is not None and r.key not in current))
    owners = dict(store.member_id_owners(new_ids)) if new_ids else {}
    for member in current.values():
        owners[member.member_id] = (member.cardholder_id, member.person_code)
    touched: dict[tuple[str, str], Member] = {}
    added = changed = terminated = 0
    bad: list[str] = []
    for row in batch:
        old = touched.get(row.key) or current.get(row.key)
        try:
            if row.action == "terminate":
                assert row.period is not None and row.period.end is not None
                if old is None:
                    raise ValueError(f"member {row.key[0]} person {row.key[1]} is not on file")
                new = replace(old, coverage=terminate(old.coverage, row.period.end))
                terminated += 1
            else:
                member_id = row.member_id
                if old is None:
                    if row.action == "change":
                        raise ValueError(f"member {row.key[0]} person {row.key[1]} is not on "
                                         "file (use action add)")
                    owner = owners.get(member_id)
                    if owner is not None and owner != row.key:
                        raise ValueError(f"member_id {member_id} is already cardholder "
                                         f"{owner[0]} person {owner[1]}")
                    coverage: tuple[CoveragePeriod, ...] = ()
                    added += 1
                else:
                    if member_id != old.member_id:
                        raise ValueError(f"member_id {member_id} does not match "
                                         f"{old.member_id} on file (a member id never changes)")
                    coverage = old.coverage
                    changed += 1
                if row.period is not None:
                    coverage = merge_period(coverage, row.period)
                # the member's plan is the latest period's (claims use the period's own)
                new = row.build(coverage)
                owners[member_id] = row.key
        except ValueError as exc:
            bad.append(f"line {row.line}: {exc}")
            continue
        touched[row.key] = new
        seen.add(row.key)
    store.put_members(touched.values())
    return added, changed, terminated, bad


# -- prior authorizations ---------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class PaRow:
    """One validated row of a prior-authorization file: its line, action, member key and PA
    (``pa.member_id`` is filled in on import)."""

    line: int
    action: str
    key: tuple[str, str]
    pa: PriorAuth


def parse_pa_row(line: int, row: Mapping[str, str]) -> PaRow:
    """Validate one PA row; ValueError names the first bad field."""
    if "__error__" in row:
        raise ValueError(row["__error__"])
    get = row.get
    action = get("action", "").strip().lower() or "add"
    if action not in ("add", "delete"):
        raise ValueError(f"action: {action!r} is not add or delete")
    key = _member_key(row)
    number = _ident("number", get("number", ""))
    start = _day("start", get("start", ""), required=True)
    end = _day("end", get("end", ""), required=True)
    assert start is not None and end is not None
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    ndc = get("ndc", "").strip() or None
    if ndc is not None and not _NDC.fullmatch(ndc):
        raise ValueError(f"ndc: {ndc!r} is not an 11-digit NDC")
    raw = get("bypasses", "")
    bypasses = frozenset(b.strip() for b in re.split(r"[;|, ]", raw) if b.strip())
    unknown = bypasses - BYPASSES
    if unknown:
        raise ValueError(f"bypasses: unknown edit(s) {', '.join(sorted(unknown))} "
                         f"(known: {', '.join(sorted(BYPASSES))})")
    te_group = get("te_group", "").strip() or None
    group = get("group", "").strip() or None
    rxcui = get("rxcui", "").strip() or None
    if action == "add" and not (ndc or te_group or group or rxcui):
        raise ValueError("a prior authorization needs ndc, te_group, group or rxcui")
    pa = PriorAuth("", number, start, end, ndc, te_group, group, rxcui, bypasses)
    return PaRow(line, action, key, pa)


def import_prior_auths(store: Store, path: str | Path) -> ImportReport:
    """Import a prior-authorization file into ``store`` in one transaction.  Each PA is keyed
    by member and PA number: ``add`` inserts or replaces it, ``delete`` removes it.  The member
    must be on file in the store.  Raises :class:`EligibilityFileError` on any bad row."""
    path = Path(path)
    check_columns(path, PA_COLUMNS, OPTIONAL_PA_COLUMNS)
    problems = _Problems()
    added = removed = 0
    with store.transaction():

        def apply(batch: list[PaRow]) -> None:
            nonlocal added, removed
            members = store.members_by_key(list(dict.fromkeys(r.key for r in batch)))
            puts: list[PriorAuth] = []
            deletes: list[tuple[str, str]] = []
            for r in batch:
                member = members.get(r.key)
                if member is None:
                    problems.add(r.line, f"member {r.key[0]} person {r.key[1]} is not on file")
                    continue
                if r.action == "delete":
                    deletes.append((member.member_id, r.pa.number))
                else:
                    puts.append(replace(r.pa, member_id=member.member_id))
            store.put_prior_auths(puts)
            added += len(puts)
            removed += store.delete_prior_auths(deletes) if deletes else 0

        rows = _apply_rows(path, parse_pa_row, apply, problems)
        if problems.count:
            raise EligibilityFileError(path, problems.listed, problems.count)
    return ImportReport(rows, added=added, removed=removed)
