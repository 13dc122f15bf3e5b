"""The driver of a batch run: spill by partition, run partitions on an engine, assemble.

``run`` streams every input once, writing each claim (with its input position) into the
partition of its family under ``OUT/.work/``, together with the partition's members and
starting accumulators; only a map from cardholder to family and one bounded buffer per
partition stay in memory.  Partitions then run on one of three engines, each worker reading its
own partition files and writing its own parts (:mod:`pbm_engine.batch.worker`); the driver
receives only checkpoints.  Last, the parts are assembled in partition order into the final
files, which list claims in the canonical order of :mod:`pbm_engine.batch.keys` whatever the
engine, worker count or partition count.

Resume: the run's identity (inputs, book, options) is kept in ``OUT/.pbm-reprocess.json``;
``resume=True`` checks it, keeps the spill if it finished, keeps every partition whose
checkpoint marker exists and runs the rest.  Without ``resume`` a non-empty ``OUT`` is refused.
"""

from __future__ import annotations

import math
import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from pbm_engine.batch.diff import Tally
from pbm_engine.batch.formats import FORMATS, PartWriter, assemble, input_format, read_input
from pbm_engine.batch.keys import family_key, partition_of, seq_of
from pbm_engine.batch.members import (
    BookMembers,
    ChainedMembers,
    FileMembers,
    MemberSource,
    member_record,
    pa_record,
)
from pbm_engine.batch.progress import Progress
from pbm_engine.batch.report import markdown
from pbm_engine.batch.snapshot import AccKey, read_snapshot, row_of
from pbm_engine.batch.worker import (
    PART_TABLES,
    PartitionTask,
    cached_book,
    part_dir,
    read_marker,
    run_partition,
    write_atomic,
)
from pbm_engine.errors import UsageError

__all__ = ["ENGINES", "MANIFEST", "Summary", "run"]

ENGINES = ("single", "pool", "dask")
"""How a run executes: in this process, a process pool, or a Dask cluster."""
MANIFEST = ".pbm-reprocess.json"
"""File name of a run's manifest in its output folder (what resuming reads)."""
CLAIMS_PER_PARTITION = 25_000
_FLUSH = 1 << 16


@dataclass(slots=True)
class Summary:
    """What a run did: the merged tally, the ``summary.json`` document and where files are."""

    out_dir: Path
    tally: Tally
    document: dict[str, Any]
    files: dict[str, Path] = field(default_factory=dict)
    partitions: int = 0
    resumed_partitions: int = 0
    seconds: float = 0.0

    @property
    def unreadable(self) -> int:
        return int(self.tally.counts["unreadable"])

    @property
    def exit_status(self) -> int:
        """0 when every input line was read, 1 when some went to the errors file."""
        return 1 if self.unreadable else 0


class _Spill:
    """Bounded per-partition buffers appended to the partitions' spill files."""

    def __init__(self, work: Path, partitions: int) -> None:
        self.dirs = [part_dir(work, p) for p in range(partitions)]
        for d in self.dirs:
            d.mkdir(mode=0o700, exist_ok=True)
            for name in ("claims.spill", "members.spill", "accumulators.spill"):
                _create_private(d / name)
        self.buffers: dict[tuple[int, str], list[bytes]] = {}
        self.sizes: dict[tuple[int, str], int] = {}

    def add(self, partition: int, name: str, line: bytes) -> None:
        key = (partition, name)
        buf = self.buffers.get(key)
        if buf is None:
            buf = self.buffers[key] = []
            self.sizes[key] = 0
        buf.append(line)
        self.sizes[key] += len(line)
        if self.sizes[key] >= _FLUSH:
            self._flush(key)

    def _flush(self, key: tuple[int, str]) -> None:
        buf = self.buffers.pop(key, None)
        self.sizes.pop(key, None)
        if buf:
            with open(self.dirs[key[0]] / key[1], "ab") as handle:
                handle.write(b"".join(buf))

    def close(self) -> None:
        for key in list(self.buffers):
            self._flush(key)
        for d in self.dirs:
            for name in ("claims.spill", "members.spill", "accumulators.spill"):
                fd = os.open(d / name, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)


def _create_private(path: Path) -> None:
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))


def _identity(path: Path) -> dict[str, Any]:
    st = path.stat()
    return {"path": str(path.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def estimate_claims(inputs: Sequence[Path]) -> int:
    """About how many records the inputs hold (from sizes and a sample; exact for Parquet)."""
    total = 0
    for path in inputs:
        if input_format(path) == "parquet":
            from pbm_engine.batch.arrow import pyarrow

            total += pyarrow().parquet.ParquetFile(path).metadata.num_rows
            continue
        size = path.stat().st_size
        with path.open("rb") as handle:
            sample = handle.read(1 << 16)
        lines = max(sample.count(b"\n"), 1)
        total += max(1, size * lines // max(len(sample), 1))
    return total


def _check_out_dir(out: Path, resume: bool, identity: dict[str, Any]) -> dict[str, Any] | None:
    """The manifest of a run to resume (None: a fresh run); UsageError when OUT is not usable."""
    manifest_path = out / MANIFEST
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out} exists and is not a directory")
    entries = list(out.iterdir()) if out.exists() else []
    if not entries:
        return None
    if not resume:
        raise UsageError(f"{out} is not empty (the output of another run?): use --resume to "
                         "finish that run, or choose an empty directory")
    if not manifest_path.exists():
        raise UsageError(f"{out} is not empty and holds no pbm reprocess run to resume")
    manifest: dict[str, Any] = orjson.loads(manifest_path.read_bytes())
    for name, value in identity.items():
        if manifest.get(name) != value:
            raise UsageError(f"--resume: {out} was started with a different {name} "
                             "(inputs, book and options must be the same)")
    return manifest


def run(inputs: Sequence[str | Path], book: str | Path, out_dir: str | Path, *,
        engine: str = "single", workers: int | None = None, scheduler: str | None = None,
        resume: bool = False, fmt: str = "jsonl", partitions: int | None = None,
        starting_accumulators: str | Path | None = None, db: str | Path | None = None,
        members: Sequence[str | Path] = (), member_source: MemberSource | None = None,
        progress: Progress | None = None) -> Summary:
    """Re-adjudicate ``inputs`` against ``book`` into ``out_dir``; return the summary.

    ``engine``: ``single`` (this process), ``pool`` (``workers`` local processes, default all
    cores) or ``dask`` (the cluster at ``scheduler``, or a local cluster of ``workers``).
    ``members``: member files (JSON lines) adding to the book's members; ``member_source``
    replaces both.  ``starting_accumulators``: a snapshot file; ``db``: a SQLite store whose
    accumulators are the starting state.  Raises :class:`UsageError` for a bad option or an
    output directory that is not empty (unless resuming the same run).
    """
    started = time.monotonic()
    if engine not in ENGINES:
        raise UsageError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    if fmt not in FORMATS:
        raise UsageError(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    if starting_accumulators is not None and db is not None:
        raise UsageError("give either starting accumulators or a store, not both")
    if not inputs:
        raise UsageError("no input files")
    if partitions is not None and partitions < 1:
        raise UsageError("partitions must be at least 1")
    progress = progress or Progress()
    paths = [Path(p) for p in inputs]
    for p in paths:
        if not p.is_file():
            raise UsageError(f"{p}: input not found")
    book_path = Path(book)
    if not book_path.is_file():
        raise UsageError(f"{book_path}: book not found")
    workers = workers or os.cpu_count() or 1
    out = Path(out_dir)
    identity: dict[str, Any] = {
        "inputs": [_identity(p) for p in paths], "book": _identity(book_path), "format": fmt,
        "members": [_identity(Path(m)) for m in members],
        "starting_accumulators": None if starting_accumulators is None
        else _identity(Path(starting_accumulators)),
        "db": None if db is None else _identity(Path(db)),
    }
    manifest = _check_out_dir(out, resume, identity)
    loaded = cached_book(str(book_path.resolve()))
    if manifest is None:
        n = partitions or max(1, math.ceil(estimate_claims(paths) / CLAIMS_PER_PARTITION))
        manifest = {**identity, "partitions": n, "complete": False}
        out.mkdir(mode=0o700, parents=True, exist_ok=True)
        write_atomic(out / MANIFEST, orjson.dumps(manifest))
    n = int(manifest["partitions"])
    work = out / ".work"
    files = {t: out / f"{t}.{fmt}" for t in (*PART_TABLES, "errors")}
    files["summary.json"] = out / "summary.json"
    files["summary.md"] = out / "summary.md"
    if manifest.get("complete"):
        doc = orjson.loads(files["summary.json"].read_bytes())
        state = orjson.loads((out / MANIFEST).read_bytes())["tally"]
        return Summary(out, Tally.from_state(state), doc, files, n, n,
                       time.monotonic() - started)

    work.mkdir(mode=0o700, exist_ok=True)
    spill_info = _read_json(work / "spill.done")
    if spill_info is None:
        progress.note(f"reading {len(paths)} input file(s) into {n} partition(s)")
        source = member_source or ChainedMembers(
            [BookMembers(loaded), *(FileMembers(m) for m in members)])
        spill_info = _spill(paths, n, work, fmt, source, starting_accumulators, db)
        write_atomic(work / "spill.done", orjson.dumps(spill_info))
    del loaded

    checkpoints: dict[int, dict[str, Any]] = {}
    for index in range(n):
        mark = read_marker(work, index)
        if mark is not None:
            checkpoints[index] = mark
    resumed = len(checkpoints)
    todo = [PartitionTask(i, str(work), str(book_path.resolve()), fmt)
            for i in range(n) if i not in checkpoints]
    progress.start(spill_info["records"], sum(c["claims"] for c in checkpoints.values()))

    def done(checkpoint: dict[str, Any]) -> None:
        checkpoints[checkpoint["index"]] = checkpoint
        if engine != "single":
            progress.advance(checkpoint["claims"])

    _dispatch(engine, todo, workers, scheduler, done, progress)
    progress.close()

    tally = Tally()
    tally.counts["read"] = spill_info["read"]
    tally.counts["unreadable"] = spill_info["unreadable"]
    for index in range(n):
        tally.merge(Tally.from_state(checkpoints[index]["tally"]))
    for table in PART_TABLES:
        assemble(table, fmt, [part_dir(work, i) / f"{table}.part" for i in range(n)],
                 files[table])
    assemble("errors", fmt, [work / "errors.part"], files["errors"])
    document = tally.to_json()
    write_atomic(files["summary.json"], orjson.dumps(document, option=orjson.OPT_INDENT_2)
                 + b"\n")
    write_atomic(files["summary.md"], markdown(document).encode())
    write_atomic(out / MANIFEST, orjson.dumps({**manifest, "complete": True,
                                               "tally": tally.to_state()}))
    shutil.rmtree(work, ignore_errors=True)
    return Summary(out, tally, document, files, n, resumed, time.monotonic() - started)


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data: dict[str, Any] = orjson.loads(path.read_bytes())
        return data
    except (FileNotFoundError, orjson.JSONDecodeError):
        return None


def _person(value: Any) -> str:
    text = "" if value is None else str(value).strip()
    return text.zfill(3) if text else "001"


def _spill(paths: Sequence[Path], n: int, work: Path, fmt: str, source: MemberSource,
           starting: str | Path | None, db: str | Path | None) -> dict[str, Any]:
    """Write every claim, member and starting accumulator into its partition's files."""
    spill = _Spill(work, n)
    dumps = orjson.dumps
    family_of: dict[str, str] = {}  # cardholder -> family (the usual case)
    person_family: dict[tuple[str, str], str] = {}  # the exceptions
    seen: set[str] = set()
    fkeys: dict[str, int] = {}

    def key_of(family: str) -> int:
        k = fkeys.get(family)
        if k is None:
            k = fkeys[family] = family_key(family)
        return k

    for member in source.members():
        if member.member_id in seen:
            raise UsageError(f"member {member.member_id} is listed twice in the member sources")
        seen.add(member.member_id)
        known = family_of.setdefault(member.cardholder_id, member.family_id)
        if known != member.family_id:
            person_family[(member.cardholder_id, member.person_code)] = member.family_id
        spill.add(partition_of(key_of(member.family_id), n), "members.spill",
                  dumps(member_record(member)) + b"\n")
    del seen

    def family_for(cardholder: str, person: str) -> str:
        if person_family:
            f = person_family.get((cardholder, person))
            if f is not None:
                return f
        return family_of.get(cardholder, cardholder)

    for pa in source.prior_auths():
        cardholder, _, person = pa.member_id.rpartition("-")
        family = family_for(cardholder, person)
        spill.add(partition_of(key_of(family), n), "members.spill", dumps(pa_record(pa)) + b"\n")

    rows: Any = ()
    if starting is not None:
        rows = read_snapshot(starting)
    elif db is not None:
        rows = _store_rows(Path(db), family_for)
    for key, family, totals in rows:
        spill.add(partition_of(key_of(family), n), "accumulators.spill",
                  dumps(row_of(key, family, totals)) + b"\n")

    errors = PartWriter(work / "errors.part", "errors", fmt)
    read = unreadable = records = 0
    fam_json: dict[str, bytes] = {}
    for index, path in enumerate(paths):
        for line, raw, record, error in read_input(path):
            read += 1
            if record is None:
                unreadable += 1
                errors.add({"input": index, "line": line, "error": error})
                continue
            ch = record.get("cardholder_id", record.get("302-C2"))
            cardholder = "" if ch is None else str(ch).strip()
            family = family_for(cardholder,
                                _person(record.get("person_code", record.get("303-C3"))))
            fj = fam_json.get(family)
            if fj is None:
                fj = fam_json[family] = dumps(family)
            payload = raw if raw is not None else dumps(record)
            spill.add(partition_of(key_of(family), n), "claims.spill",
                      b"%d\t%s\t%s\n" % (seq_of(index, line), fj, payload))
            records += 1
    errors.close()
    spill.close()
    return {"read": read, "unreadable": unreadable, "records": records, "partitions": n}


def _store_rows(path: Path, family_for: Callable[[str, str], str]
                ) -> list[tuple[AccKey, str, Any]]:
    """Starting accumulators from a SQLite store (opened read-only in spirit: never written)."""
    from pbm_engine.store.sqlite import SqliteStore

    if not path.exists():
        raise UsageError(f"{path}: store not found")
    store = SqliteStore(path, create=False, verify=False)
    try:
        totals = store.totals()
    finally:
        store.close()
    out = []
    for key, amounts in sorted(totals.items()):
        owner = key[3]
        if key[2] == "F":
            family = owner
        else:
            cardholder, _, person = owner.rpartition("-")
            family = family_for(cardholder, person)
        out.append((key, family, amounts))
    return out


def _dispatch(engine: str, tasks: list[PartitionTask], workers: int, scheduler: str | None,
              done: Callable[[dict[str, Any]], None], progress: Progress) -> None:
    if not tasks:
        return
    if engine == "single":
        for task in tasks:
            done(run_partition(task, progress.advance))
    elif engine == "pool":
        from pbm_engine.batch.engines import run_pool

        run_pool(tasks, workers, done)
    else:
        from pbm_engine.batch.engines import run_dask

        run_dask(tasks, workers, scheduler, done)
