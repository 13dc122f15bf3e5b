"""Scenario files: claims in order against a book, and what each must answer.

A plan administrator proves a plan design with YAML files like this one (``*.scenario.yaml``)::

    name: Embedded family deductible
    book: book.yaml                 # relative to this file; "sample" or "pkg:..." for bundled data
    defaults: {cardholder_id: F1, pharmacy_id: "1111111111", date_of_service: "2026-02-01"}
    state:                          # the member's situation before the first claim (optional)
      plan_year: 2026-01-01         # the plan year the accumulators belong to
      accumulators:
        members: {F1-001: {deductible: "60.00", oop: "60.00"}}
        families: {F1: {deductible: "150.00"}}
      fills:                        # prior paid fills (history only, no accumulator effect)
        - {person_code: "001", ndc: "00000000001", date_of_service: "2026-01-20", quantity: "30"}
      prior_authorizations:
        - {cardholder_id: F1, person_code: "002", number: PA9, ndc: "00000000004",
           start: 2026-01-01, end: 2026-12-31}
    claims:
      - note: the family has met most of its deductible
        claim: {person_code: "001", rx_number: "1", ndc: "00000000003", quantity: "30"}
        expect: {status: P, deductible_applied: "40.00", accumulator_delta.deductible: "40.00"}
      - claim: {person_code: "002", rx_number: "2", ndc: "00000000001"}   # a setup step

Every claim key is one the claim parser knows (a misspelling is an error, not a silently ignored
field); ``expect`` keys are dotted paths into the result JSON (``part_d.gdcb``,
``alternatives[0].ndc``); ``rejects`` compares reject codes in any order (``rejects_include``:
at least these).  Money is written as text.  Unknown keys anywhere are errors that suggest the
closest known key.

This module is a library: :func:`run_paths` for the ``pbm test`` command, and the pytest plugin
(:mod:`pbm_engine.admin.pytest_plugin`) both use it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from pbm_engine.accumulators import ZERO, Totals
from pbm_engine.book import Book
from pbm_engine.claim import FIELDS, Claim
from pbm_engine.codes import Status, Transaction
from pbm_engine.eligibility.members import PriorAuth, Registry
from pbm_engine.engine import Engine
from pbm_engine.errors import ConfigError
from pbm_engine.money import to_cents
from pbm_engine.processor import Processor
from pbm_engine.result import Alternative, ClaimResult, DurResponse
from pbm_engine.store.base import LedgerEntry
from pbm_engine.store.memory import MemoryStore

__all__ = [
    "ABSENT",
    "CLAIM_KEYS",
    "PART_D_EXTRA_KEYS",
    "RESULT_KEYS",
    "Mismatch",
    "Scenario",
    "ScenarioError",
    "ScenarioOutcome",
    "Step",
    "StepOutcome",
    "book_path",
    "check",
    "collect",
    "is_scenario_file",
    "load_book_cached",
    "load_scenario",
    "lookup",
    "matches",
    "run_paths",
    "run_scenario",
]

SUFFIX = ".scenario.yaml"

CLAIM_KEYS: frozenset[str] = frozenset(FIELDS) | frozenset(
    key for fid, _ in FIELDS.values() for key in (fid, fid.split("-")[1]))
"""Every key a claim may have: the parser's field names and their D.0 IDs (``302-C2``, ``C2``)."""

PART_D_EXTRA_KEYS = (
    "part_d_plan_year", "benefit_phase_before", "benefit_phase_after", "phase_portions",
    "troop_before", "troop_after", "gross_drug_cost_before", "gross_drug_cost_after",
    "lis_level", "lics", "manufacturer_discount", "covered_plan_paid",
    "amount_paid_to_pharmacy", "catastrophic_coverage_code",
)
"""Top-level keys a paid Part D result adds (checked against a real result by the tests)."""


def _result_keys() -> frozenset[str]:
    sample = ClaimResult(Status.PAID, Transaction.BILLING, next_fill_date=dt.date(2026, 1, 1),
                         alternatives=(Alternative("0", "", 1),), dur=(DurResponse("ER"),),
                         trace=("",))
    return frozenset(sample.to_dict()) | {"part_d"} | frozenset(PART_D_EXTRA_KEYS)


RESULT_KEYS = _result_keys()
"""Every top-level key of a result's JSON (``ClaimResult.to_dict``), commercial or Part D."""

_EXPECT_SPECIAL = frozenset({"rejects_include"})
_TOP_KEYS = ("name", "description", "book", "as_of", "defaults", "state", "claims")
_STATE_KEYS = ("plan_year", "accumulators", "fills", "prior_authorizations")
_ACC_KEYS = ("members", "families")
_TOTALS_KEYS = tuple(f.name for f in dataclasses.fields(Totals))
_STEP_KEYS = ("note", "claim", "expect")
_PA_KEYS = ("cardholder_id", "person_code", "number", "start", "end", "ndc", "te_group",
            "group", "rxcui", "bypasses")
_PA_BYPASSES = ("formulary", "step_therapy", "quantity_limit", "refill_too_soon", "age",
                "gender", "days_supply")
_SEGMENT = re.compile(r"^([^\[\]]+)((?:\[\d+\])*)$")


class ScenarioError(ConfigError):
    """A scenario file is not valid: every problem, one per line, naming file and key."""


@dataclass(frozen=True, slots=True)
class Step:
    """One claim of a scenario: the request (defaults merged in) and its expectations."""

    number: int
    note: str
    claim: dict[str, Any]
    expect: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Scenario:
    """A validated scenario file."""

    path: Path
    name: str
    book: str | None
    as_of: dt.date | None
    plan_year: dt.date | int | None
    member_totals: dict[str, Totals]
    family_totals: dict[str, Totals]
    fills: tuple[dict[str, Any], ...]
    prior_auths: tuple[PriorAuth, ...]
    steps: tuple[Step, ...]


@dataclass(frozen=True, slots=True)
class Mismatch:
    """One failed check: the field path, what the scenario expected and what the result says."""

    path: str
    expected: Any
    got: Any
    hint: str = ""

    def describe(self) -> str:
        text = f"{self.path}: expected {_show(self.expected)}, got {_show(self.got)}"
        return f"{text} ({self.hint})" if self.hint else text


@dataclass(slots=True)
class StepOutcome:
    """The answer to one step and the checks that failed."""

    step: Step
    result: dict[str, Any]
    mismatches: list[Mismatch] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.mismatches

    @property
    def label(self) -> str:
        note = f" ({self.step.note})" if self.step.note else ""
        return f"claim {self.step.number}{note}"


@dataclass(slots=True)
class ScenarioOutcome:
    """A scenario run: every step's outcome, or the error that stopped it before any claim."""

    path: Path
    name: str
    steps: list[StepOutcome] = field(default_factory=list)
    error: str | None = None

    @property
    def passed(self) -> bool:
        return self.error is None and all(s.passed for s in self.steps)

    @property
    def failures(self) -> list[StepOutcome]:
        return [s for s in self.steps if not s.passed]

    def describe_failures(self) -> str:
        """Plain text: each failing check as expected vs got, with the claim and the field."""
        if self.error is not None:
            return self.error
        lines = []
        for s in self.failures:
            claim = s.step.claim
            who = f"{claim.get('cardholder_id', '?')}-{claim.get('person_code', '001')}"
            lines.append(f"{self.path}: {self.name}: {s.label}, member {who}, "
                         f"ndc {claim.get('ndc', '?')}, status {s.result.get('status')}"
                         + _rejects_text(s.result))
            lines.extend(f"    {m.describe()}" for m in s.mismatches)
        return "\n".join(lines)


# -- reading -----------------------------------------------------------------------------------

def is_scenario_file(path: Path) -> bool:
    """True for a ``*.scenario.yaml`` file name."""
    return path.name.endswith(SUFFIX)


def collect(paths: Iterable[str | Path]) -> list[Path]:
    """Scenario files from files and folders (folders: every ``*.scenario.yaml`` below)."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(q for q in p.rglob(f"*{SUFFIX}") if q.is_file()))
        elif p.exists():
            out.append(p)
        else:
            raise ScenarioError(f"{p}: no such file or folder")
    return out


def _suggest(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


class _Problems:
    """Collects every problem of a file, each a line naming where it is."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lines: list[str] = []

    def add(self, where: str, message: str) -> None:
        self.lines.append(f"{self.path}: {where}: {message}" if where else
                          f"{self.path}: {message}")

    def mapping(self, data: Any, where: str, allowed: Iterable[str]) -> dict[str, Any]:
        """``data`` as a dict with only ``allowed`` keys; other keys are reported."""
        if data is None:
            return {}
        if not isinstance(data, dict):
            self.add(where, f"expected a mapping of keys, got {type(data).__name__}")
            return {}
        known = tuple(allowed)
        for key in data:
            if key not in known:
                self.add(where, f"unknown key {key!r}{_suggest(str(key), known)}")
        return {k: v for k, v in data.items() if k in known}

    def check(self) -> None:
        if self.lines:
            raise ScenarioError("\n".join(self.lines))


def _no_floats(value: Any, where: str, problems: _Problems) -> None:
    if isinstance(value, float):
        problems.add(where, f"{value!r}: write money and quantities as text (\"12.34\"), not "
                     "as a YAML number")
    elif isinstance(value, dict):
        for k, v in value.items():
            _no_floats(v, f"{where}.{k}", problems)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _no_floats(v, f"{where}[{i}]", problems)


def _claim_keys(data: Any, where: str, problems: _Problems) -> dict[str, Any]:
    claim = problems.mapping(data, where, sorted(CLAIM_KEYS, key=lambda k: (k[0].isdigit(), k)))
    _no_floats(claim, where, problems)
    return claim


def _totals(data: Any, where: str, problems: _Problems) -> Totals:
    amounts = problems.mapping(data, where, _TOTALS_KEYS)
    values = {}
    for key, value in amounts.items():
        try:
            if isinstance(value, float | bool):
                raise ValueError("write money as text (\"12.34\")")
            cents = to_cents(value)
            if cents < 0:
                raise ValueError("must not be negative")
            values[key] = cents
        except (ValueError, TypeError, ArithmeticError) as exc:
            problems.add(f"{where}.{key}", f"{value!r}: {exc}")
    return Totals(**values)


def _date(value: Any, where: str, problems: _Problems) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        problems.add(where, f"{value!r} is not a date (YYYY-MM-DD)")
        return None


def _prior_auth(data: Any, where: str, problems: _Problems) -> PriorAuth | None:
    pa = problems.mapping(data, where, _PA_KEYS)
    missing = [k for k in ("cardholder_id", "number", "start", "end") if k not in pa]
    if missing:
        problems.add(where, f"missing {', '.join(missing)}")
        return None
    if not any(pa.get(k) for k in ("ndc", "te_group", "group", "rxcui")):
        problems.add(where, "a prior authorization needs ndc, te_group, group or rxcui")
        return None
    bypasses = pa.get("bypasses") or []
    for b in bypasses:
        if b not in _PA_BYPASSES:
            problems.add(f"{where}.bypasses", f"unknown edit {b!r}{_suggest(str(b), _PA_BYPASSES)}")
    start = _date(pa["start"], f"{where}.start", problems)
    end = _date(pa["end"], f"{where}.end", problems)
    if start is None or end is None:
        return None
    person = str(pa.get("person_code", "001")).zfill(3)
    return PriorAuth(f"{pa['cardholder_id']}-{person}", str(pa["number"]), start, end,
                     _opt_str(pa.get("ndc")), _opt_str(pa.get("te_group")),
                     _opt_str(pa.get("group")), _opt_str(pa.get("rxcui")), frozenset(bypasses))


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _expect(data: Any, where: str, problems: _Problems) -> dict[str, Any]:
    if data is None:
        return {}
    if not isinstance(data, dict):
        problems.add(where, f"expected a mapping of result fields, got {type(data).__name__}")
        return {}
    known = sorted(RESULT_KEYS | _EXPECT_SPECIAL)
    for key, value in data.items():
        m = _SEGMENT.match(str(key).split(".")[0])
        head = m.group(1) if m else str(key)
        if head not in known:
            problems.add(where, f"unknown result field {key!r}{_suggest(head, known)}")
        if key in ("rejects", "rejects_include") and not (
                isinstance(value, list) and all(isinstance(c, str | int) for c in value)):
            problems.add(f"{where}.{key}", "give a list of reject codes, e.g. [\"75\", \"76\"]")
        _no_floats(value, f"{where}.{key}", problems)
    return dict(data)


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate one scenario file; raise :class:`ScenarioError` listing every problem."""
    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScenarioError(f"{p}: file not found") from None
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{p}: not valid YAML: {exc}") from None
    problems = _Problems(p)
    top = problems.mapping(data, "", _TOP_KEYS)
    if data is not None and "claims" not in top:
        problems.add("", "no claims: a scenario lists its claims under 'claims'")
    defaults = _claim_keys(top.get("defaults"), "defaults", problems)
    state = problems.mapping(top.get("state"), "state", _STATE_KEYS)
    acc = problems.mapping(state.get("accumulators"), "state.accumulators", _ACC_KEYS)
    members = {str(k): _totals(v, f"state.accumulators.members.{k}", problems)
               for k, v in problems.mapping(acc.get("members"), "state.accumulators.members",
                                            _anything(acc.get("members"))).items()}
    families = {str(k): _totals(v, f"state.accumulators.families.{k}", problems)
                for k, v in problems.mapping(acc.get("families"), "state.accumulators.families",
                                             _anything(acc.get("families"))).items()}
    fills = tuple({**defaults, **_claim_keys(f, f"state.fills[{i}]", problems)}
                  for i, f in enumerate(_list(state.get("fills"), "state.fills", problems)))
    pas = [_prior_auth(pa, f"state.prior_authorizations[{i}]", problems)
           for i, pa in enumerate(_list(state.get("prior_authorizations"),
                                        "state.prior_authorizations", problems))]
    plan_year: dt.date | int | None = None
    raw_year = state.get("plan_year")
    if isinstance(raw_year, int) and not isinstance(raw_year, bool):
        plan_year = raw_year
    elif raw_year is not None:
        plan_year = _date(raw_year, "state.plan_year", problems)
    steps = []
    for i, raw in enumerate(_list(top.get("claims"), "claims", problems), start=1):
        where = f"claims[{i - 1}]"
        step = problems.mapping(raw, where, _STEP_KEYS)
        if isinstance(raw, dict) and "claim" not in step:
            problems.add(where, "no 'claim'")
        claim = _claim_keys(step.get("claim"), f"{where}.claim", problems)
        expect = _expect(step.get("expect"), f"{where}.expect", problems)
        steps.append(Step(i, str(step.get("note") or ""), {**defaults, **claim}, expect))
    book = top.get("book")
    as_of = _date(top.get("as_of"), "as_of", problems)
    problems.check()
    return Scenario(
        path=p, name=str(top.get("name") or p.name.removesuffix(SUFFIX)),
        book=None if book is None else str(book), as_of=as_of, plan_year=plan_year,
        member_totals=members, family_totals=families, fills=fills,
        prior_auths=tuple(pa for pa in pas if pa is not None), steps=tuple(steps))


def _anything(data: Any) -> tuple[str, ...]:
    return tuple(data) if isinstance(data, dict) else ()


def _list(data: Any, where: str, problems: _Problems) -> list[Any]:
    if data is None:
        return []
    if not isinstance(data, list):
        problems.add(where, f"expected a list, got {type(data).__name__}")
        return []
    return data


# -- running -----------------------------------------------------------------------------------

_BOOKS: dict[tuple[str, float], Book] = {}


def load_book_cached(path: Path) -> Book:
    """A book by path, loaded once per process while the file is unchanged."""
    from pbm_engine.sources.loader import load_book

    resolved = path.resolve()
    try:
        key = (str(resolved), resolved.stat().st_mtime)
    except OSError:
        raise ConfigError(f"{path}: file not found") from None
    book = _BOOKS.get(key)
    if book is None:
        book = _BOOKS[key] = load_book(resolved)
    return book


def book_path(scenario: Scenario) -> Path:
    """The scenario's own book: relative to the file, ``sample``, or ``pkg:...``."""
    from pbm_engine.sources.loader import resolve, sample_book_path

    if scenario.book is None:
        raise ScenarioError(f"{scenario.path}: no book: name one in the file ('book:') or on "
                            "the command line")
    if scenario.book == "sample":
        return sample_book_path()
    return resolve(scenario.book, scenario.path.parent)


def _with_prior_auths(book: Book, pas: Sequence[PriorAuth]) -> Book:
    if not pas:
        return book
    base = book.registry
    registry = Registry(members=base.members, family_sizes=base.family_sizes,
                        prior_auths={k: list(v) for k, v in base.prior_auths.items()},
                        cardholders=base.cardholders)
    for pa in pas:
        registry.add_prior_auth(pa)
    return dataclasses.replace(book, registry=registry)


def _year_start(book: Book, plan_id: str, scenario: Scenario, day: dt.date) -> dt.date:
    plan = book.plans.get(plan_id)
    year = scenario.plan_year
    if isinstance(year, dt.date):
        return year
    if plan is not None:
        if isinstance(year, int):
            month, dom = plan.year_start
            return dt.date(year, month, dom)
        return plan.year_of(day)
    return dt.date(year if isinstance(year, int) else day.year, 1, 1)


def _first_day(scenario: Scenario) -> dt.date | None:
    for step in scenario.steps:
        value = step.claim.get("date_of_service")
        if value is not None:
            try:
                return value if isinstance(value, dt.date) else _parse_dos(str(value))
            except ValueError:
                return None
    return None


def _parse_dos(text: str) -> dt.date:
    return dt.datetime.strptime(text, "%Y%m%d").date() if text.isdigit() \
        else dt.date.fromisoformat(text)


def _set_up(scenario: Scenario, processor: Processor) -> None:
    """Post the starting accumulators and prior fills to the processor's store."""
    book, store, problems = processor.engine.book, processor.store, _Problems(scenario.path)
    members = {m.member_id: m for m in book.registry.members.values()}
    day = _first_day(scenario)
    if (scenario.member_totals or scenario.family_totals) and day is None \
            and not isinstance(scenario.plan_year, dt.date):
        problems.add("state.plan_year", "give the plan year (no claim has a date of service)")
        problems.check()
    family_sum: dict[tuple[str, dt.date, str], Totals] = {}
    for member_id, totals in scenario.member_totals.items():
        member = members.get(member_id)
        if member is None:
            problems.add(f"state.accumulators.members.{member_id}",
                         f"no such member in the book{_suggest(member_id, members)}")
            continue
        assert day is not None or isinstance(scenario.plan_year, dt.date)
        start = _year_start(book, member.plan_id, scenario, day or dt.date.min)
        store.apply(member.plan_id, start, member_id, member.family_id, totals)
        key = (member.plan_id, start, member.family_id)
        family_sum[key] = family_sum.get(key, ZERO).plus(totals)
    families = {m.family_id: m for m in members.values()}
    for family_id, totals in scenario.family_totals.items():
        member = families.get(family_id)
        if member is None:
            problems.add(f"state.accumulators.families.{family_id}",
                         f"no such family in the book{_suggest(family_id, families)}")
            continue
        start = _year_start(book, member.plan_id, scenario, day or dt.date.min)
        rest = totals.plus(family_sum.get((member.plan_id, start, family_id), ZERO).negated())
        if min(dataclasses.astuple(rest)) < 0:
            problems.add(f"state.accumulators.families.{family_id}",
                         "less than the sum of its members' amounts given above")
            continue
        # the family's amount beyond what its listed members account for
        store.apply(member.plan_id, start, f"~family-{family_id}", family_id, rest)
    for i, request in enumerate(scenario.fills):
        parsed = processor.engine.parse(request)
        if not isinstance(parsed, Claim):
            problems.add(f"state.fills[{i}]", "; ".join(r.message for r in parsed.rejects))
            continue
        member = book.registry.get(parsed.cardholder_id, parsed.person_code)
        if member is None:
            problems.add(f"state.fills[{i}]", f"member {parsed.cardholder_id}-"
                         f"{parsed.person_code} is not in the book")
            continue
        result = ClaimResult(Status.PAID, Transaction.BILLING, pharmacy_id=parsed.pharmacy_id,
                             rx_number=parsed.rx_number, fill_number=parsed.fill_number,
                             date_of_service=parsed.date_of_service,
                             cardholder_id=parsed.cardholder_id,
                             person_code=parsed.person_code, member_id=member.member_id,
                             family_id=member.family_id, plan_id=member.plan_id,
                             ndc=parsed.ndc, messages=("prior fill (scenario state)",))
        start = _year_start(book, member.plan_id, scenario, parsed.date_of_service)
        store.record(LedgerEntry(0, parsed.key, member.plan_id, start, member.member_id,
                                 member.family_id, ZERO,
                                 processor.engine.fill_for(parsed, result), result))
    problems.check()


def run_scenario(scenario: Scenario, book: Book | None = None) -> ScenarioOutcome:
    """Run every step in order through one in-memory claim store; check each expectation.

    ``book`` overrides the scenario's own.  A scenario that cannot start (no book, a state
    naming an unknown member) comes back with ``error`` set rather than raising.
    """
    outcome = ScenarioOutcome(scenario.path, scenario.name)
    try:
        base = book if book is not None else load_book_cached(book_path(scenario))
        processor = Processor(Engine(_with_prior_auths(base, scenario.prior_auths)),
                              MemoryStore())
        _set_up(scenario, processor)
    except ConfigError as exc:
        outcome.error = str(exc)
        return outcome
    for step in scenario.steps:
        result = processor.submit(step.claim, as_of=scenario.as_of).to_dict()
        outcome.steps.append(StepOutcome(step, result, check(step.expect, result)))
    return outcome


def run_paths(paths: Iterable[str | Path], book: str | Path | None = None
              ) -> list[ScenarioOutcome]:
    """Collect and run scenario files; an invalid file is an outcome with ``error`` set."""
    override = load_book_cached(Path(book)) if book is not None else None
    out = []
    for path in collect(paths):
        try:
            scenario = load_scenario(path)
        except ScenarioError as exc:
            out.append(ScenarioOutcome(path, path.name, error=str(exc)))
            continue
        out.append(run_scenario(scenario, override))
    return out


# -- checking ----------------------------------------------------------------------------------

class _Absent:
    def __repr__(self) -> str:
        return "(absent)"


ABSENT: Any = _Absent()
"""What :func:`lookup` returns for a path the result does not have."""


def check(expect: Mapping[str, Any], result: Mapping[str, Any]) -> list[Mismatch]:
    """Every expectation the result does not meet."""
    out = []
    codes = [str(r["code"]) for r in result.get("rejects", ())]
    for path, want in expect.items():
        if path in ("rejects", "rejects_include"):
            wanted = [str(c) for c in want]
            ok = sorted(wanted) == sorted(codes) if path == "rejects" \
                else not (set(wanted) - set(codes))
            if not ok:
                out.append(Mismatch(path, wanted, codes, _reject_messages(result)))
            continue
        got, hint = lookup(result, path)
        if not matches(want, got):
            if not hint and path == "status" and codes:
                hint = "rejects " + ", ".join(codes)
            out.append(Mismatch(path, want, got, hint))
    return out


def lookup(data: Any, path: str) -> tuple[Any, str]:
    """The value at a dotted path (``a.b[0].c``), or ``ABSENT`` and a hint naming close keys."""
    node = data
    for part in path.split("."):
        m = _SEGMENT.match(part)
        if m is None:
            return ABSENT, f"{part!r} is not a field name"
        name, indexes = m.group(1), [int(i) for i in re.findall(r"\[(\d+)\]", m.group(2))]
        if not isinstance(node, Mapping) or name not in node:
            if node is data and name in RESULT_KEYS:
                return ABSENT, f"this result has no {name!r} (not every status or benefit has it)"
            keys = list(node) if isinstance(node, Mapping) else []
            return ABSENT, f"no {name!r} in the result{_suggest(name, keys)}"
        node = node[name]
        for i in indexes:
            if not isinstance(node, list) or i >= len(node):
                size = len(node) if isinstance(node, list) else 0
                return ABSENT, f"{name} has {size} item(s)"
            node = node[i]
    return node, ""


def matches(want: Any, got: Any) -> bool:
    """Scenario equality: money text compares by value, dates by ISO text, dicts as subsets."""
    if got is ABSENT:
        return False
    if isinstance(want, dict):
        return isinstance(got, Mapping) and all(
            k in got and matches(v, got[k]) for k, v in want.items())
    if isinstance(want, list):
        return isinstance(got, list) and len(want) == len(got) and all(
            matches(w, g) for w, g in zip(want, got, strict=True))
    if isinstance(want, dt.date):
        return got == want.isoformat()
    if want is None or isinstance(want, bool) or isinstance(got, bool):
        return type(want) is type(got) and want == got
    if isinstance(got, str) and "." in got and isinstance(want, str | int):
        try:
            return Decimal(str(want)) == Decimal(got)
        except InvalidOperation:
            return False
    if (isinstance(want, int) and isinstance(got, str)) or (isinstance(want, str) \
            and isinstance(got, int)):
        return str(want) == str(got)
    return bool(want == got)


def _reject_messages(result: Mapping[str, Any]) -> str:
    return "; ".join(f"{r['code']}: {r.get('message') or r.get('description')}"
                     for r in result.get("rejects", ()))


def _rejects_text(result: Mapping[str, Any]) -> str:
    codes = [str(r["code"]) for r in result.get("rejects", ())]
    return f" (rejects {', '.join(codes)})" if codes else ""


def _show(value: Any) -> str:
    if value is ABSENT:
        return "(absent)"
    if isinstance(value, dt.date):
        return value.isoformat()
    return repr(value)
