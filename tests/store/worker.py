"""A separate process that adjudicates claims into a store (for the concurrency and crash
tests).  Prints one JSON line per committed transaction: rx, status, delta cents.

    python -m tests.store.worker DB PREFIX COUNT [START_AT_EPOCH] [PAUSE_SECONDS]

``DB`` is a SQLite path or a ``postgresql://`` URL.

``PAUSE_SECONDS`` between claims stands for the wait for the next request; without it one
process re-takes the write lock before SQLite's busy handler wakes the other.
"""

from __future__ import annotations

import sys
import time

import orjson

from pbm_engine.engine import Engine
from pbm_engine.processor import Processor
from pbm_engine.sources.loader import load_sample_book
from pbm_engine.store import open_store

from .claims import PPO_FAMILY, claim


def main(argv: list[str]) -> int:
    path, prefix, count = argv[0], argv[1], int(argv[2])
    start_at = float(argv[3]) if len(argv) > 3 else 0.0
    pause = float(argv[4]) if len(argv) > 4 else 0.0
    processor = Processor(Engine(load_sample_book()), open_store(path, verify=False))
    while time.time() < start_at:
        time.sleep(0.001)
    out = sys.stdout
    for i in range(count):
        request = claim("PPO1001", PPO_FAMILY[i % 4], rx=f"{prefix}{i:06d}", drug=i % 3,
                        day=f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}")
        r = processor.submit(request)
        d = r.delta
        out.write(orjson.dumps({"rx": r.rx_number, "status": r.status.value,
                                "delta": [d.deductible, d.oop, d.plan_paid, d.troop,
                                          d.gross_drug_cost]}).decode() + "\n")
        out.flush()
        if pause:
            time.sleep(pause)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
