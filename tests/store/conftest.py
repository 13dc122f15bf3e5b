"""Fixtures: the sample book and engine, and a store of each kind (memory and SQLite)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pbm_engine.book import Book
from pbm_engine.engine import Engine
from pbm_engine.processor import Processor
from pbm_engine.sources.loader import load_sample_book
from pbm_engine.store.base import Store
from pbm_engine.store.memory import MemoryStore
from pbm_engine.store.sqlite import SqliteStore


@pytest.fixture(scope="session")
def sample_book() -> Book:
    return load_sample_book()


@pytest.fixture(scope="session")
def sample_engine(sample_book: Book) -> Engine:
    return Engine(sample_book)


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    made: Store = MemoryStore() if request.param == "memory" else SqliteStore(tmp_path / "s.db")
    yield made
    made.close()


@pytest.fixture
def processor(sample_engine: Engine, store: Store) -> Processor:
    return Processor(sample_engine, store)
