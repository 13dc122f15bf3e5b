"""Reading claim files (JSON lines, CSV, Parquet) and writing the run's tables in any of them.

Input
    JSON lines: one claim object per line, the names of the claim JSON (``docs/claims.md``).
    CSV: a header row with the same names; empty cells are absent fields;
    ``clarification_codes`` holds codes separated by ``;`` and ``dur_overrides`` triples
    ``reason:professional:result`` separated by ``;``; the original answer goes in the flat
    ``original_*`` columns (see :mod:`pbm_engine.batch.diff`).  Parquet: the same columns
    (lists may also be native list columns); needs ``pyarrow`` (extra ``parquet``).

Output
    Four tables (results, changes, errors, accumulators) written as partition parts by the
    workers and assembled by the driver: JSON lines and CSV parts are concatenated (the CSV
    header written once); Parquet parts are re-cut into row groups of :data:`ROW_GROUP` rows, so
    the bytes do not depend on how many parts there were.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO, cast

import orjson

from pbm_engine.batch.arrow import parquet_rows, pyarrow
from pbm_engine.batch.snapshot import COLUMNS as ACC_COLUMNS
from pbm_engine.errors import UsageError

__all__ = [
    "FORMATS",
    "ROW_GROUP",
    "TABLES",
    "PartWriter",
    "assemble",
    "input_format",
    "read_input",
    "write_table",
]

FORMATS = ("jsonl", "csv", "parquet")
"""Output formats a reprocessing run writes."""
ROW_GROUP = 65_536
"""Rows per Parquet row group."""
_PART_BATCH = 8_192

RESULT_COLUMNS = (
    "input", "line", "status", "transaction_code", "cardholder_id", "person_code", "plan_id",
    "pharmacy_id", "rx_number", "fill_number", "date_of_service", "ndc", "drug_name", "tier",
    "reject_codes", "ingredient_cost_paid", "dispensing_fee_paid", "total_price",
    "patient_pay", "plan_pay", "other_payer_paid", "member_paid", "deductible_applied",
    "copay_amount", "coinsurance_amount", "product_selection_amount", "exceeding_benefit_max",
    "basis_of_reimbursement", "plan_year", "messages",
)
CHANGE_COLUMNS = (
    "input", "line", "member_id", "plan_id", "tier", "ndc", "drug_name", "change",
    "status_before", "status_after", "reject_codes_before", "reject_codes_after",
    "total_price_before", "total_price_after", "patient_pay_before", "patient_pay_after",
    "plan_pay_before", "plan_pay_after", "patient_pay_change", "plan_pay_change",
)
ERROR_COLUMNS = ("input", "line", "error")
TABLES: dict[str, tuple[str, ...]] = {
    "results": RESULT_COLUMNS, "changes": CHANGE_COLUMNS, "errors": ERROR_COLUMNS,
    "accumulators": ACC_COLUMNS,
}
"""Output table name -> its columns, in order."""
_INT_COLUMNS = frozenset({"input", "line", "fill_number", "tier"})


def input_format(path: Path) -> str:
    """``jsonl``, ``csv`` or ``parquet`` from a file's suffix (JSON lines unless told)."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".parquet", ".pq"):
        return "parquet"
    return "jsonl"


# -- input -------------------------------------------------------------------------------------

def _flat_claim(row: dict[str, Any]) -> dict[str, Any]:
    """A CSV/Parquet row as a claim record: empty cells dropped, list cells split."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        if value is None or value == "" or key is None:
            continue
        if key == "clarification_codes" and isinstance(value, str):
            value = [c.strip() for c in value.split(";") if c.strip()]
        elif key == "dur_overrides" and isinstance(value, str):
            triples = []
            for item in value.split(";"):
                parts = item.strip().split(":")
                if len(parts) != 3:
                    raise ValueError(f"dur_overrides {item!r} is not reason:professional:result")
                triples.append(dict(zip(("reason", "professional", "result"), parts,
                                        strict=True)))
            value = triples
        out[key] = value
    return out


def read_input(path: Path) -> Iterator[tuple[int, bytes | None, dict[str, Any] | None, str]]:
    """Yield ``(line, raw JSON or None, record or None, error)`` for every record of a file.

    ``line`` is the line number (JSON lines, CSV) or row number (Parquet, from 1).  A record
    that cannot be read has ``record`` None and an ``error`` saying why; blank lines are
    skipped.  ``raw`` is the line itself for JSON lines input (so it need not be re-encoded).
    """
    fmt = input_format(path)
    if not path.exists():
        raise UsageError(f"{path}: input not found")
    if fmt == "jsonl":
        yield from _read_jsonl(path)
    elif fmt == "csv":
        yield from _read_csv(path)
    else:
        for number, row in parquet_rows(path):
            try:
                yield number, None, _flat_claim(row), ""
            except ValueError as exc:
                yield number, None, None, str(exc)


def _read_jsonl(path: Path) -> Iterator[tuple[int, bytes | None, dict[str, Any] | None, str]]:
    loads = orjson.loads
    with path.open("rb", buffering=1 << 20) as handle:
        for number, line in enumerate(handle, start=1):
            line = line.rstrip(b"\r\n")
            if not line or line.isspace():
                continue
            try:
                record = loads(line)
            except orjson.JSONDecodeError as exc:
                yield number, None, None, f"not valid JSON ({str(exc).split(':')[0]})"
                continue
            if type(record) is not dict:
                yield number, None, None, f"not a JSON object ({type(record).__name__})"
                continue
            yield number, line, record, ""


def _read_csv(path: Path) -> Iterator[tuple[int, bytes | None, dict[str, Any] | None, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            return
        width = len(header)
        for row in reader:
            number = reader.line_num
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            if len(row) != width:
                yield number, None, None, f"{len(row)} fields where the header has {width}"
                continue
            try:
                yield number, None, _flat_claim(dict(zip(header, row, strict=True))), ""
            except ValueError as exc:
                yield number, None, None, str(exc)


# -- output ------------------------------------------------------------------------------------

def _open_private(path: Path, mode: str = "wb") -> Any:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    return os.fdopen(fd, mode, buffering=1 << 20) if "b" in mode else \
        open(fd, mode, encoding="utf-8", newline="", buffering=1 << 20)


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    return value


class PartWriter:
    """One table's part file in one format: rows in, fsynced file out on :meth:`close`."""

    def __init__(self, path: Path, table: str, fmt: str) -> None:
        self.path = path
        self.columns = TABLES[table]
        self.fmt = fmt
        self.rows: list[dict[str, Any]] = []
        self._handle: Any = _open_private(path) if fmt != "parquet" else None
        self._csv = None
        if fmt == "csv":
            self._text = io.TextIOWrapper(cast(BinaryIO, self._handle), encoding="utf-8",
                                          newline="")
            self._csv = csv.writer(self._text, lineterminator="\n")
        self._pq: Any = None
        self.count = 0

    def raw(self, line: bytes) -> None:
        """Add one JSON line already encoded (JSON lines format only)."""
        self._handle.write(line)
        self.count += 1

    def add(self, row: dict[str, Any]) -> None:
        """Add one row (a dict with the table's columns; missing ones are empty)."""
        self.count += 1
        if self.fmt == "jsonl":
            self._handle.write(orjson.dumps(row) + b"\n")
        elif self._csv is not None:
            self._csv.writerow([_cell(row.get(c)) for c in self.columns])
        else:
            self.rows.append(row)
            if len(self.rows) >= _PART_BATCH:  # parts are re-cut when assembled
                self._flush_parquet()

    def _flush_parquet(self) -> None:
        pa = pyarrow()
        schema = parquet_schema(self.columns)
        table = pa.Table.from_pylist([{c: _pq_value(c, r.get(c)) for c in self.columns}
                                      for r in self.rows], schema=schema)
        if self._pq is None:
            self._pq = pa.parquet.ParquetWriter(self.path, schema)
        self._pq.write_table(table)
        self.rows = []

    def close(self) -> None:
        """Flush and fsync."""
        if self.fmt == "parquet":
            if self.rows or self._pq is None:
                self._flush_parquet()
            self._pq.close()
            _fsync_path(self.path)
            os.chmod(self.path, 0o600)
            return
        if self._csv is not None:
            self._text.flush()
        handle = self._handle
        assert handle is not None
        handle.flush()
        os.fsync(handle.fileno())
        if self._csv is not None:
            self._text.detach()
        handle.close()


def _pq_value(column: str, value: Any) -> Any:
    if value is None or column in _INT_COLUMNS:
        return value
    return value if isinstance(value, str) else str(value)


def parquet_schema(columns: Sequence[str]) -> Any:
    """The Parquet schema of a table: integer columns int64, everything else strings."""
    pa = pyarrow()
    return pa.schema([(c, pa.int64() if c in _INT_COLUMNS else pa.string()) for c in columns])


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def assemble(table: str, fmt: str, parts: Sequence[Path], out: Path) -> int:
    """Write ``out`` from the parts in order (atomically: a temporary file renamed); rows."""
    tmp = out.with_name(out.name + ".tmp")
    columns = TABLES[table]
    rows = 0
    if fmt == "parquet":
        pa = pyarrow()
        schema = parquet_schema(columns)
        writer = pa.parquet.ParquetWriter(tmp, schema)
        pending: list[Any] = []
        size = 0

        def emit(final: bool) -> None:
            nonlocal pending, size
            if not pending:
                return
            whole = pa.concat_tables(pending)
            start = 0
            while whole.num_rows - start >= ROW_GROUP or (final and start < whole.num_rows):
                piece = whole.slice(start, ROW_GROUP)
                writer.write_table(piece, row_group_size=ROW_GROUP)
                start += piece.num_rows
            rest = whole.slice(start)
            pending, size = ([rest] if rest.num_rows else []), rest.num_rows

        for part in parts:
            for batch in pa.parquet.ParquetFile(part).iter_batches(batch_size=ROW_GROUP):
                pending.append(pa.Table.from_batches([batch], schema=schema))
                size += batch.num_rows
                rows += batch.num_rows
                if size >= ROW_GROUP:
                    emit(False)
        emit(True)
        if rows == 0:
            writer.write_table(schema.empty_table())
        writer.close()
        os.chmod(tmp, 0o600)
        _fsync_path(tmp)
    else:
        with _open_private(tmp) as handle:
            if fmt == "csv":
                handle.write((",".join(columns) + "\n").encode())
            for part in parts:
                with part.open("rb") as src:
                    while True:
                        block = src.read(1 << 20)
                        if not block:
                            break
                        rows += block.count(b"\n")
                        handle.write(block)
            handle.flush()
            os.fsync(handle.fileno())
    os.replace(tmp, out)
    return rows


def write_table(table: str, fmt: str, rows: Sequence[dict[str, Any]], out: Path) -> None:
    """A small table written whole (atomically)."""
    part = out.with_name(out.name + ".part")
    writer = PartWriter(part, table, fmt)
    for row in rows:
        writer.add(row)
    writer.close()
    assemble(table, fmt, [part], out)
    part.unlink()
