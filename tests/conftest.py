"""Shared fixtures: the small hand-computable book and a claim factory."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from pbm_engine.book import Book
from pbm_engine.engine import Engine
from pbm_engine.sources.loader import load_book

from .pg import PostgresServer, unavailable

SMALL_BOOK = Path(__file__).parent / "fixtures" / "small" / "book.yaml"

# CI runs the same examples every time (a red CI must mean a change broke something) and does
# not fail a run because a shared machine was slow to generate data; locally, Hypothesis keeps
# exploring new examples on every run.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(scope="session", autouse=True)
def _compiled_books_in_a_temporary_folder(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Books compiled by tests (and the ``pbm`` processes they start) go to a temporary cache
    folder, not beside the bundled sample books."""
    os.environ["PBM_CACHE_DIR"] = str(tmp_path_factory.mktemp("pbm-cache"))


@pytest.fixture(scope="session")
def small_book() -> Book:
    return load_book(SMALL_BOOK)


@pytest.fixture(scope="session")
def engine(small_book: Book) -> Engine:
    return Engine(small_book, trace=True)


def claim(**overrides: Any) -> dict[str, Any]:
    """A valid retail claim for F1-001 for 100 units of GENERICA; override any field."""
    base: dict[str, Any] = {
        "cardholder_id": "F1",
        "person_code": "001",
        "date_of_service": "2026-03-02",
        "rx_number": "1000001",
        "fill_number": 0,
        "ndc": "00000000001",
        "quantity": "100",
        "days_supply": 30,
        "daw": 0,
        "pharmacy_id": "1111111111",
        "channel": "retail",
    }
    base.update(overrides)
    return base


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A real PostgreSQL server for the session (see tests/pg.py); ``fresh_url()`` gives each
    test an empty schema.  Skips where PostgreSQL is missing, but fails under CI=true."""
    why = unavailable()
    if why is not None:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the PostgreSQL tests: {why}")
        pytest.skip(why)
    with PostgresServer() as server:
        yield server
