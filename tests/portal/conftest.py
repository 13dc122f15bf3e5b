"""Fixtures: the commercial and Part D sample books, and a store of each kind (memory, SQLite,
PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import pbm_engine
from pbm_engine.book import Book
from pbm_engine.sources.loader import load_book, load_sample_book
from pbm_engine.store.base import Store
from tests.store.conftest import BACKENDS, make_store

PARTD_BOOK = Path(pbm_engine.__file__).parent / "data" / "sample_partd" / "book.yaml"


@pytest.fixture(scope="session")
def book() -> Book:
    return load_sample_book()


@pytest.fixture(scope="session")
def partd_book() -> Book:
    return load_book(PARTD_BOOK)


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A new, empty store of each kind: memory, SQLite, a real PostgreSQL server."""
    made = make_store(request.param, request, tmp_path)
    yield made
    made.close()


def fill(cardholder: str, ndc: str, day: str, *, person: str = "001", rx: str = "7100001",
         quantity: str = "30", days: int = 30, channel: str = "retail",
         fill_number: int = 0) -> dict[str, Any]:
    """A B1 request as a pharmacy sends it."""
    return {"transaction_code": "B1", "cardholder_id": cardholder, "person_code": person,
            "date_of_service": day, "rx_number": rx, "fill_number": fill_number, "ndc": ndc,
            "quantity": quantity, "days_supply": days, "daw": 0, "pharmacy_id": "1234567893",
            "channel": channel, "prescriber_id": "1003000126"}
