"""One partition, start to finish, in whichever process runs it.

:func:`run_partition` reads the partition's spilled claims, members and starting accumulators
from its directory, sorts the claims into processing order, runs each family's claims through a
:class:`~pbm_engine.processor.Processor` on a fresh in-memory store of its own (seeded with the
family's starting accumulators, dropped when the family is done: families never see each other,
so nothing depends on which families share a partition -- not even a duplicate claim key),
writes the result, change and accumulator parts, fsyncs and renames them, and last writes the
partition's checkpoint marker (atomically).  It returns only the small checkpoint (counts and
cents), never result objects.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from pbm_engine.accumulators import Totals
from pbm_engine.batch.diff import Original, Tally, compare, original_of
from pbm_engine.batch.formats import PartWriter
from pbm_engine.batch.keys import family_key, sort_key, split_seq
from pbm_engine.batch.members import registry_from_records
from pbm_engine.batch.snapshot import AccKey, SeededStore, row_of, totals_of
from pbm_engine.book import Book
from pbm_engine.eligibility.members import Registry
from pbm_engine.engine import Engine
from pbm_engine.money import fmt
from pbm_engine.processor import Processor
from pbm_engine.result import ClaimResult

__all__ = ["PartitionTask", "cached_book", "part_dir", "partition_book", "read_marker",
           "run_partition", "write_atomic"]

PART_TABLES = ("results", "changes", "accumulators")
_BOOKS: dict[str, Book] = {}


@dataclass(frozen=True, slots=True)
class PartitionTask:
    """What a worker needs to run one partition: small and picklable."""

    index: int
    work_dir: str
    book: str
    fmt: str


def part_dir(work_dir: Path, index: int) -> Path:
    """The directory of partition ``index``'s spilled inputs and output parts."""
    return work_dir / f"p{index:05d}"


def marker_path(work_dir: Path, index: int) -> Path:
    return work_dir / f"p{index:05d}.done"


def write_atomic(path: Path, data: bytes) -> None:
    """Write a small file so that it is either absent or complete (fsync, rename, fsync dir)."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    dfd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def read_marker(work_dir: Path, index: int) -> dict[str, Any] | None:
    """The checkpoint of a finished partition, or None."""
    try:
        data: dict[str, Any] = orjson.loads(marker_path(work_dir, index).read_bytes())
        return data
    except (FileNotFoundError, orjson.JSONDecodeError):
        return None


def cached_book(path: str) -> Book:
    """The book at ``path``, loaded once per process."""
    book = _BOOKS.get(path)
    if book is None:
        from pbm_engine.sources.compiled import load_book

        # compiled once, read by every worker; frozen out of the collector's way
        book = _BOOKS[path] = load_book(path)
    return book


def partition_book(base: Book, registry: Registry) -> Book:
    """The book with its member registry replaced (one partition's families)."""
    return dataclasses.replace(base, registry=registry)


def _lines(path: Path) -> list[bytes]:
    try:
        with path.open("rb") as handle:
            return handle.read().splitlines()
    except FileNotFoundError:
        return []


def _after(result: ClaimResult, status: str, codes: tuple[str, ...]) -> Original:
    if status != "P":
        return Original(status, codes)
    return Original(status, codes, result.total_price, result.patient_pay, result.plan_pay)


def _flat_result(d: dict[str, Any], input_index: int, line: int, codes: tuple[str, ...]
                 ) -> dict[str, Any]:
    row = dict(d)
    row["input"] = input_index
    row["line"] = line
    row["reject_codes"] = ";".join(codes)
    row["messages"] = " | ".join(d.get("messages") or ())
    return row


def run_partition(task: PartitionTask, progress: Callable[[int], None] | None = None
                  ) -> dict[str, Any]:
    """Run one partition; return its checkpoint (written to disk as well)."""
    work = Path(task.work_dir)
    pdir = part_dir(work, task.index)
    base = cached_book(task.book)
    registry = registry_from_records(_lines(pdir / "members.spill"))
    book = partition_book(base, registry)
    baseline: dict[str, list[tuple[AccKey, Totals]]] = {}
    for line in _lines(pdir / "accumulators.spill"):
        key, family, totals = totals_of(orjson.loads(line))
        baseline.setdefault(family, []).append((key, totals))
    engine = Engine(book)

    # Read and order the partition's claims: only the sort key and the raw line are kept (a
    # parsed record is several times its line); a claim is parsed again when its turn comes.
    fkeys: dict[str, int] = {}
    fam_cache: dict[bytes, tuple[str, int]] = {}
    loads = orjson.loads
    work_items: list[tuple[Any, bytes]] = []
    for line in _lines(pdir / "claims.spill"):
        seq_b, fam_b, payload = line.split(b"\t", 2)
        known = fam_cache.get(fam_b)
        if known is None:
            family = orjson.loads(fam_b)
            known = fam_cache[fam_b] = (family, family_key(family))
            fkeys[family] = known[1]
        family, fk = known
        work_items.append((sort_key(fk, family, loads(payload), int(seq_b)), payload))
    work_items.sort(key=lambda item: item[0])

    fmt_ = task.fmt
    suffix = f".{os.getpid()}.tmp"
    writers = {t: PartWriter(pdir / f"{t}.part{suffix}", t, fmt_) for t in PART_TABLES}
    results, changes = writers["results"], writers["changes"]
    tally = Tally()
    affected: set[str] = set()
    dumps = orjson.dumps
    done = 0
    ending: list[tuple[str, AccKey, Totals]] = []
    current: str | None = None
    store = SeededStore()
    processor = Processor(engine, store)
    for i, (key, payload) in enumerate(work_items):
        work_items[i] = None  # type: ignore[call-overload]  # let the claim go once done
        record = loads(payload)
        if key[1] != current:  # a new family: a fresh store, dropped when the family is done
            if current is not None:
                ending.extend((current, k, t) for k, t in store.ending().items())
            current = key[1]
            store = SeededStore(baseline.pop(current, ()))
            processor = Processor(engine, store)
        seq = key[-1]
        input_index, line_no = split_seq(seq)
        try:
            before = original_of(record)
        except (ValueError, TypeError, ArithmeticError):
            before = None
            tally.counts["original_unreadable"] += 1
        result = processor.submit(record)
        d = result.to_dict()
        status = d["status"]
        codes = tuple(map(str, result.reject_codes))  # codes may be StrEnum members
        if fmt_ == "jsonl":
            results.raw(b'{"input":%d,"line":%d,' % (input_index, line_no) + dumps(d)[1:]
                        + b"\n")
        else:
            results.add(_flat_result(d, input_index, line_no, codes))
        after = _after(result, status, codes)
        change = compare(before, after) if before is not None else None
        tier = d.get("tier")
        tally.add_claim(status, d["plan_id"], "(none)" if tier is None else str(tier),
                        d["ndc"], d["drug_name"], before, after, change)
        if change is not None and before is not None:
            member_id = f"{d['cardholder_id']}-{d['person_code']}"
            affected.add(member_id)
            changes.add({
                "input": input_index, "line": line_no, "member_id": member_id,
                "plan_id": d["plan_id"], "tier": tier, "ndc": d["ndc"],
                "drug_name": d["drug_name"], "change": change.kind,
                "status_before": before.status, "status_after": status,
                "reject_codes_before": ";".join(before.reject_codes),
                "reject_codes_after": ";".join(codes),
                "total_price_before": fmt(before.total_price),
                "total_price_after": fmt(after.total_price),
                "patient_pay_before": fmt(before.patient_pay),
                "patient_pay_after": fmt(after.patient_pay),
                "plan_pay_before": fmt(before.plan_pay), "plan_pay_after": fmt(after.plan_pay),
                "patient_pay_change": fmt(change.patient_pay_change),
                "plan_pay_change": fmt(change.plan_pay_change),
            })
        done += 1
        if progress is not None and done % 2000 == 0:
            progress(2000)
    if progress is not None and done % 2000:
        progress(done % 2000)
    tally.counts["members_affected"] = len(affected)

    if current is not None:
        ending.extend((current, k, t) for k, t in store.ending().items())
    for family, rows in baseline.items():  # families with a starting state and no claims
        ending.extend((family, k, t) for k, t in SeededStore(rows).ending().items())

    # Ending accumulators, in canonical order (family key, family, level, id, plan, year).
    acc_rows = []
    for family, key, totals in ending:
        if totals.is_zero():
            continue
        plan_id, year, level, owner = key
        acc_key = fkeys.get(family)
        if acc_key is None:
            acc_key = fkeys[family] = family_key(family)
        acc_rows.append(((acc_key, family, level, owner, plan_id, year),
                         row_of(key, family, totals)))
    acc_rows.sort(key=lambda item: item[0])
    for _, row in acc_rows:
        writers["accumulators"].add(row)
    del store, processor, engine, book, registry

    for table, writer in writers.items():
        writer.close()
        os.replace(writer.path, pdir / f"{table}.part")
    checkpoint = {"index": task.index, "claims": done, "tally": tally.to_state()}
    write_atomic(marker_path(work, task.index), orjson.dumps(checkpoint))
    return checkpoint
