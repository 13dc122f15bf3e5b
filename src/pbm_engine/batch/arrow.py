"""The optional pyarrow dependency (extras ``parquet`` and ``batch``), imported on first use."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pbm_engine.errors import UsageError

__all__ = ["parquet_rows", "pyarrow"]


def pyarrow() -> Any:
    """The ``pyarrow`` module with ``pyarrow.parquet`` loaded; UsageError when not installed."""
    try:
        import pyarrow as pa
        import pyarrow.parquet
    except ImportError:
        raise UsageError("Parquet needs pyarrow: pip install 'pbm-engine[parquet]'") from None
    return pa


def parquet_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(row number from 1, row dict) of a Parquet file, read in batches."""
    pa = pyarrow()
    try:
        handle = pa.parquet.ParquetFile(path)
    except (OSError, pa.ArrowException) as exc:
        raise UsageError(f"{path}: not a readable Parquet file ({exc})") from None
    number = 0
    for batch in handle.iter_batches(batch_size=8192):
        for row in batch.to_pylist():
            number += 1
            yield number, row
