"""Fixtures for batch reprocessing: the sample book, small generated histories, a Dask cluster."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pbm_engine.batch import generate
from pbm_engine.book import Book
from pbm_engine.sources.loader import load_sample_book, sample_book_path

BOOK = sample_book_path()
PROPOSED = BOOK.with_name("book_proposed.yaml")
HISTORY = (80, 800, 11)  # members, claims, seed of the shared generated history
TABLES = ("results", "changes", "errors", "accumulators", "summary.json", "summary.md")


@pytest.fixture(scope="session")
def sample_book() -> Book:
    return load_sample_book()


@pytest.fixture(scope="session")
def history(tmp_path_factory: pytest.TempPathFactory, sample_book: Book) -> tuple[Path, Path]:
    """A generated history with originals: (claims.jsonl, members.jsonl)."""
    d = tmp_path_factory.mktemp("history")
    stats = generate(*HISTORY, d / "claims.jsonl", book=sample_book, with_original=True)
    return stats.claims_path, stats.members_path


def outputs(out: Path, fmt: str = "jsonl") -> dict[str, bytes]:
    """The bytes of every output file of a run."""
    names = [f"{t}.{fmt}" for t in TABLES[:4]] + list(TABLES[4:])
    return {name: (out / name).read_bytes() for name in names}


@pytest.fixture(scope="session")
def dask_cluster() -> Iterator[Any]:
    """One real Dask LocalCluster (2 worker processes) for the whole session."""
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(processes=True, n_workers=2, threads_per_worker=1,
                                       dashboard_address=":0")
    try:
        yield cluster
    finally:
        cluster.close()
