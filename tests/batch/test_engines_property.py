"""The determinism invariant: the same bytes for any engine, worker count and partition count."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pbm_engine.batch import generate, run
from pbm_engine.book import Book

from .conftest import PROPOSED, outputs


@pytest.mark.parametrize("engine", [("single", 1), ("pool", 2), ("dask", 2)],
                         ids=["single", "pool", "dask"])
@settings(max_examples=2, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), members=st.integers(1, 25), claims=st.integers(0, 250),
       partitions=st.integers(1, 9), fmt=st.sampled_from(["jsonl", "parquet"]))
def test_same_bytes_for_any_engine_and_partitioning(
        sample_book: Book, dask_cluster: Any, engine: tuple[str, int], seed: int, members: int,
        claims: int, partitions: int, fmt: str) -> None:
    work = Path(tempfile.mkdtemp(prefix="pbm-batch-prop-"))
    try:
        stats = generate(members, claims, seed, work / "claims.jsonl", book=sample_book,
                         with_original=True)
        assert stats.claims == claims
        # the reference: one process, one partition
        ref = run([stats.claims_path], PROPOSED, work / "ref", members=[stats.members_path],
                  fmt=fmt, partitions=1)
        name, workers = engine
        got = run([stats.claims_path], PROPOSED, work / "got", members=[stats.members_path],
                  fmt=fmt, partitions=partitions, engine=name, workers=workers,
                  scheduler=dask_cluster.scheduler_address if name == "dask" else None)
        assert outputs(got.out_dir, fmt) == outputs(ref.out_dir, fmt)
        assert got.document["claims"]["processed"] == claims
    finally:
        shutil.rmtree(work, ignore_errors=True)


def test_dask_engine_on_a_local_cluster(history: tuple[Path, Path], dask_cluster: Any,
                                        tmp_path: Path) -> None:
    claims, members = history
    ref = run([claims], PROPOSED, tmp_path / "ref", members=[members], partitions=3)
    got = run([claims], PROPOSED, tmp_path / "dask", members=[members], partitions=8,
              engine="dask", scheduler=dask_cluster.scheduler_address)
    assert outputs(got.out_dir) == outputs(ref.out_dir)
    assert got.document["claims"]["changed"] > 0
