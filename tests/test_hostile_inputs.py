"""Arbitrary JSON values in any field, through every entry point: never raises, always
serializes, paid results balance.

Entry points: ``Engine.adjudicate`` (dict, JSON text, bytes), ``Processor.submit`` on the memory
and SQLite stores, the Part D path (the bundled Part D sample book) and the book loader.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pbm_engine.claim import FIELDS
from pbm_engine.cli.partd import sample_partd_book_path, sample_partd_claims_path
from pbm_engine.engine import Engine
from pbm_engine.errors import ConfigError
from pbm_engine.processor import Processor
from pbm_engine.result import ClaimResult
from pbm_engine.sources.loader import load_book
from pbm_engine.store.memory import MemoryStore
from pbm_engine.store.sqlite import SqliteStore
from tests.conftest import SMALL_BOOK, claim

ANY_CHAR = st.characters(codec=None, exclude_categories=())  # surrogates and controls too
HOSTILE_TEXT = st.sampled_from([
    "1e999999", "1e999990", "-1e999999", "1E5", "9" * 5000, "٣٠", "３０", "0001-01-01",
    "9999-12-31", "2026-02-30", "20260230", "\ud800", "a\x00b", "NaN", "Infinity", "$1.00",
    "1,000.00", "999999.99", "1000000.00", "9999999.999", "x" * 65_000, "",
])
NUMBERS = (st.integers() | st.integers(min_value=-(2**200), max_value=2**200)
           | st.floats(allow_nan=True, allow_infinity=True))
DATES = st.dates().map(lambda d: d.isoformat()) | st.dates().map(lambda d: d.strftime("%Y%m%d"))
SCALARS = (st.none() | st.booleans() | NUMBERS | st.text(ANY_CHAR, max_size=30) | HOSTILE_TEXT
           | DATES | st.from_regex(r"-?[0-9]{0,30}(\.[0-9]{0,30})?([eE][+-]?[0-9]{1,7})?",
                                   fullmatch=True))
JSON_ANY = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                        | st.dictionaries(st.text(ANY_CHAR, max_size=8), inner, max_size=4),
                        max_leaves=12)
OVERRIDES = st.dictionaries(st.sampled_from([*FIELDS, *(fid for fid, _ in FIELDS.values())]),
                            JSON_ANY, min_size=1, max_size=4)
HOSTILE = settings(max_examples=120, deadline=None,
                   suppress_health_check=[HealthCheck.too_slow,
                                          HealthCheck.function_scoped_fixture])


def as_wire(request: dict[str, Any], form: int) -> Any:
    """The request as a dict, JSON text or bytes (when it can be encoded at all)."""
    if form == 0:
        return request
    try:
        data = orjson.dumps(request)
    except (TypeError, orjson.JSONEncodeError):
        return request
    return data if form == 1 else data.decode()


def check(result: Any) -> None:
    assert isinstance(result, ClaimResult)
    orjson.dumps(result.to_dict())  # always serializes
    if result.paid:
        assert result.member_paid + result.other_payer_paid + result.plan_pay \
            == result.total_price
        assert result.patient_pay == (result.deductible_applied + result.copay_amount
                                      + result.coinsurance_amount
                                      + result.product_selection_amount
                                      + result.exceeding_benefit_max)
        assert result.patient_pay >= 0 and result.plan_pay >= 0


@pytest.fixture(scope="module")
def sqlite_store() -> Any:
    folder = tempfile.mkdtemp()
    store = SqliteStore(Path(folder) / "hostile.db", synchronous="NORMAL")
    yield store
    store.close()
    shutil.rmtree(folder)


@HOSTILE
@given(OVERRIDES, st.integers(0, 2))
def test_engine_never_raises(engine: Engine, overrides: dict[str, Any], form: int) -> None:
    check(engine.adjudicate(as_wire(claim(**overrides), form)))


@HOSTILE
@given(JSON_ANY)
def test_any_json_value_as_the_whole_request(engine: Engine, value: Any) -> None:
    check(engine.adjudicate(value))
    try:
        text = orjson.dumps(value)
    except (TypeError, orjson.JSONEncodeError):
        return
    check(engine.adjudicate(text))


@HOSTILE
@given(OVERRIDES, st.sampled_from(["B1", "B2", "B3"]))
def test_processor_on_memory_and_sqlite_never_raises(
        engine: Engine, sqlite_store: SqliteStore, overrides: dict[str, Any], tx: str) -> None:
    request = claim(transaction_code=tx) | overrides
    for store in (MemoryStore(), sqlite_store):
        check(Processor(engine, store).submit(request))


@pytest.fixture(scope="module")
def part_d() -> tuple[Engine, list[dict[str, Any]]]:
    claims = []
    for line in sample_partd_claims_path().read_bytes().splitlines():
        try:
            claims.append(orjson.loads(line))
        except orjson.JSONDecodeError:
            continue
    return Engine(load_book(sample_partd_book_path())), claims


@HOSTILE
@given(st.data(), OVERRIDES)
def test_part_d_path_never_raises(part_d: tuple[Engine, list[dict[str, Any]]],
                                  data: st.DataObject, overrides: dict[str, Any]) -> None:
    engine, claims = part_d
    base = data.draw(st.sampled_from(claims))
    result = Processor(engine, MemoryStore()).submit({**base, **overrides})
    assert isinstance(result, ClaimResult)
    orjson.dumps(result.to_dict())


PLAN_KEYS = st.sampled_from(["deductible", "oop_max", "cost_share", "max_days_supply",
                             "max_claim_cost", "insulin_cap_30_days", "plan_year_start",
                             "refill_threshold_percent", "daw", "dur", "year", "formulary",
                             "copay_assistance", "timely_filing_days", "unknown"])


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(PLAN_KEYS, JSON_ANY, st.booleans())
def test_the_loader_raises_only_config_error(tmp_path_factory: pytest.TempPathFactory,
                                             key: str, value: Any, whole_book: bool) -> None:
    folder = tmp_path_factory.mktemp("book")
    for f in SMALL_BOOK.parent.iterdir():
        shutil.copy(f, folder / f.name)
    if whole_book:
        target, data = folder / "book.yaml", yaml.safe_load(SMALL_BOOK.read_text())
    else:
        target = folder / "plan_ppo.yaml"
        data = yaml.safe_load(target.read_text())
    data[key] = value
    try:
        target.write_text(orjson.dumps(data).decode("utf-8"), encoding="utf-8")
    except (TypeError, orjson.JSONEncodeError, UnicodeEncodeError):
        return
    with contextlib.suppress(ConfigError):
        load_book(folder / "book.yaml")
