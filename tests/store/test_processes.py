"""Real processes on one store (a SQLite file, a PostgreSQL database): concurrent writers lose
no update; a SIGKILL leaves no half-applied claim and loses no acknowledged one."""

from __future__ import annotations

import datetime as dt
import itertools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson

from pbm_engine.accumulators import ZERO, Totals
from pbm_engine.store import open_store

from .claims import assert_consistent

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
YEAR = dt.date(2026, 1, 1)


def worker(*args: object) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "tests.store.worker", *map(str, args)],
                            stdout=subprocess.PIPE, cwd=ROOT, env=ENV)


def test_two_processes_on_one_family_lose_no_update(db_target: str) -> None:
    path = db_target
    open_store(path).close()  # created and migrated before the workers start
    start_at = time.time() + 2.0
    procs = [worker(path, prefix, 120, start_at, 0.002) for prefix in ("A", "B")]
    outputs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    lines = [orjson.loads(line) for out in outputs for line in out.splitlines()]
    paid = [x for x in lines if x["status"] == "P"]
    assert len(lines) == 240 and len(paid) > 200
    family = ZERO
    for x in paid:
        family = family.plus(Totals(*x["delta"]))
    store = open_store(path)
    try:
        held = store.totals()  # type: ignore[attr-defined]
        assert held[("SAMPLE-PPO-2026", YEAR, "F", "PPO1001")] == family
        assert_consistent(store)
        entries = list(store.entries())
        assert len(entries) == len(paid)
        # the processes really interleaved on the file
        owners = [e.key.rx_number[0] for e in entries]
        assert sum(a != b for a, b in itertools.pairwise(owners)) > 2
    finally:
        store.close()
    # the caps held under contention: the family never passes its deductible
    assert family.deductible <= 50_000
    assert all(t.deductible <= 25_000 for k, t in held.items() if k[2] == "M")


def test_sigkill_mid_run_leaves_a_consistent_store(db_target: str) -> None:
    path = db_target
    open_store(path, synchronous="FULL").close()
    proc = worker(path, "K", 100_000)
    assert proc.stdout is not None
    acknowledged = []
    for line in proc.stdout:
        acknowledged.append(orjson.loads(line))
        if len(acknowledged) >= 300:
            break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    store = open_store(path)  # SQLite: quick_check runs on open
    try:
        entries = list(store.entries())
        # every acknowledged paid claim survived; at most one more was committed after it
        stored = {e.key.rx_number for e in entries}
        paid = {x["rx"] for x in acknowledged if x["status"] == "P"}
        assert paid <= stored and len(stored - paid) <= 1
        for e in entries:  # every entry is complete
            assert e.result.paid and e.result.delta == e.delta
            assert e.fill.rx_number == e.key.rx_number and e.fill.ndc == e.result.ndc
        assert_consistent(store)
        assert len(entries) < 100_000
    finally:
        store.close()
