"""Fixtures: the sample book and engine, and a store of each kind (memory, SQLite, PostgreSQL).

The ``store`` fixture runs every store test against each backend; the PostgreSQL one is a fresh
schema on the session's real server (tests/pg.py)."""

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


BACKENDS = ["memory", "sqlite", "postgres"]


def make_store(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    """A new, empty store of a kind."""
    if kind == "memory":
        return MemoryStore()
    if kind == "sqlite":
        return SqliteStore(tmp_path / "s.db")
    from pbm_engine.store.postgres import PostgresStore

    server = request.getfixturevalue("postgres_server")
    return PostgresStore(server.fresh_url())


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    made = make_store(request.param, request, tmp_path)
    yield made
    made.close()


@pytest.fixture(params=["sqlite", "postgres"])
def db_target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A ``--db`` value for each durable backend: a SQLite path or a PostgreSQL URL."""
    if request.param == "sqlite":
        return str(tmp_path / "s.db")
    return str(request.getfixturevalue("postgres_server").fresh_url())


@pytest.fixture
def processor(sample_engine: Engine, store: Store) -> Processor:
    return Processor(sample_engine, store)
