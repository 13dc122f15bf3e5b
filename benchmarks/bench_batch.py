"""Batch reprocessing end to end: read, adjudicate, diff and write, on each engine.

    python benchmarks/bench_batch.py [--members 100000] [--claims 1000000] [--seed 2026]
                                     [--engines single,pool,dask] [--workers 2]
                                     [--data DIR] [--book BOOK] [--repeat 1]

Generates (once, cached in ``--data``) a seeded history with the original answers attached
(``pbm generate --with-original``), then times ``pbm reprocess`` against the proposed sample book
(every edit on, so the diff has work to do) in a fresh process per run, sampling the resident
memory of the whole process tree (the driver, pool workers, Dask scheduler, nannies and
workers).  Prints claims per second (wall clock), the ratio to the single process and the peak
RSS of the tree, and claims per CPU-second of the tree (less sensitive to a shared machine); with
``--repeat`` > 1, the median of the runs.  Also prints the processor alone
(no I/O, no diff) over the first 100,000 claims, for scale.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import resource
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import orjson
import psutil  # type: ignore[import-untyped]  # installed with the batch extra (dask)

from pbm_engine.batch.keys import family_key, sort_key
from pbm_engine.batch.members import FileMembers
from pbm_engine.batch.worker import partition_book
from pbm_engine.eligibility.members import Registry
from pbm_engine.engine import Engine
from pbm_engine.processor import Processor
from pbm_engine.sources.loader import load_book, sample_book_path
from pbm_engine.store.memory import MemoryStore

PROPOSED = sample_book_path().with_name("book_proposed.yaml")


def tree_rss(pid: int) -> int:
    """Resident bytes of a process and all its descendants."""
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for p in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            total += p.memory_info().rss
    return total


def timed(cmd: list[str]) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds (user + system, the whole tree) and peak tree RSS."""
    peak = 0
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.Popen(cmd)
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, tree_rss(proc.pid))
            stop.wait(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    code = proc.wait()
    seconds = time.perf_counter() - start
    stop.set()
    sampler.join()
    if code not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} failed with {code}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return seconds, cpu, peak


def processor_alone(claims: Path, members: Path, book: Path, n: int = 100_000
                    ) -> tuple[float, float]:
    """Claims per second and per CPU-second of Processor.submit alone (memory store, batch
    order, no I/O)."""
    base = load_book(book)
    registry = Registry()
    for m in FileMembers(members).members():
        registry.add(m)
    engine = Engine(partition_book(base, registry))
    records = []
    with claims.open("rb") as handle:
        for i, line in enumerate(handle):
            if i >= n:
                break
            r = orjson.loads(line)
            r.pop("original", None)
            records.append((sort_key(family_key(r["cardholder_id"]), r["cardholder_id"], r, i),
                            r))
    records.sort(key=lambda x: x[0])
    gc.freeze()
    processor = Processor(engine, MemoryStore())
    start, cpu = time.perf_counter(), time.process_time()
    for _, r in records:
        processor.submit(r)
    return (len(records) / (time.perf_counter() - start),
            len(records) / (time.process_time() - cpu))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--members", type=int, default=100_000)
    ap.add_argument("--claims", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--engines", default="single,pool,dask")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--data", type=Path, default=Path(".bench-batch"))
    ap.add_argument("--book", type=Path, default=PROPOSED)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--format", default="jsonl", dest="fmt")
    args = ap.parse_args()
    args.data.mkdir(parents=True, exist_ok=True)
    claims = args.data / f"claims-{args.members}-{args.claims}-{args.seed}.jsonl"
    members = claims.with_name(claims.name.split(".")[0] + ".members.jsonl")
    pbm = [sys.executable, "-m", "pbm_engine.cli"]
    if not claims.exists():
        t, _, _ = timed([*pbm, "generate", "--members", str(args.members), "--claims",
                      str(args.claims), "--seed", str(args.seed), "--out", str(claims),
                      "--with-original"])
        print(f"generated {args.claims:,} claims for {args.members:,} members in {t:.1f} s")
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} "
          "(shared with other work: compare ratios measured in one run)")
    alone, alone_cpu = processor_alone(claims, members, args.book)
    print(f"processor alone (no I/O, no diff), first 100,000 claims: {alone:,.0f} claims/s, "
          f"{alone_cpu:,.0f} claims per CPU-second")
    base_rate = None
    for engine in args.engines.split(","):
        rates, cpus, peaks = [], [], []
        for _ in range(args.repeat):
            out = args.data / f"out-{engine}"
            shutil.rmtree(out, ignore_errors=True)
            cmd = [*pbm, "reprocess", str(claims), "--book", str(args.book), "--members",
                   str(members), "--out", str(out), "--engine", engine, "--workers",
                   str(args.workers), "--format", args.fmt, "--quiet"]
            seconds, cpu, peak = timed(cmd)
            rates.append(args.claims / seconds)
            cpus.append(args.claims / cpu)
            peaks.append(peak)
            shutil.rmtree(out, ignore_errors=True)
        rate = statistics.median(rates)
        if engine == "single":
            base_rate = rate
        ratio = f"{rate / base_rate:.2f}x" if base_rate else "-"
        print(f"{engine:>6}: {rate:>9,.0f} claims/s  {ratio:>6} of single  "
              f"{statistics.median(cpus):>9,.0f} claims per CPU-second  "
              f"peak RSS of the process tree {max(peaks) / 2**20:,.0f} MB", flush=True)


if __name__ == "__main__":
    main()
