"""`pbm impact` at two history sizes: seconds, claims per second and peak memory.

    PYTHONPATH=src python benchmarks/bench_impact.py [--claims 10000 40000] [--members 2000]

Each size runs in a fresh process (`python -m pbm_engine.cli impact ...`) on a history made by
`pbm generate` (seeded), with the bundled sample book before and its proposed PPO design after.
Peak memory is the child's maximum resident set size; a flat figure across sizes shows the
report streams (the batch runner partitions by family; the report keeps only aggregates).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pbm_engine.sources.loader import sample_book_path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, nargs="+", default=[10_000, 40_000])
    parser.add_argument("--members", type=int, default=2000)
    args = parser.parse_args()
    sample = sample_book_path()
    proposed = sample.parent / "book_proposed.yaml"
    print(f"{'claims':>8} {'seconds':>8} {'claims/s':>9} {'peak MB':>8}")
    for n in args.claims:
        with tempfile.TemporaryDirectory() as tmp:
            history = Path(tmp) / "claims.jsonl"
            subprocess.run([sys.executable, "-m", "pbm_engine.cli", "generate", "--members",
                            str(args.members), "--claims", str(n), "--seed", "7", "--out",
                            str(history)], check=True, capture_output=True)
            start = time.perf_counter()
            done = subprocess.run([sys.executable, "-c", _CHILD, "impact", str(history),
                                   "--members", str(Path(tmp) / "claims.members.jsonl"),
                                   "--before", str(sample), "--after", str(proposed),
                                   "--out", str(Path(tmp) / "report")], check=True,
                                  capture_output=True, text=True)
            seconds = time.perf_counter() - start
            peak_kb = int(done.stderr.strip().splitlines()[-1])
            print(f"{n:>8} {seconds:>8.1f} {n / seconds:>9.0f} {peak_kb / 1024:>8.0f}",
                  flush=True)


# The child runs `pbm` and prints its own peak resident set size (KiB) last on stderr.
_CHILD = ("import resource, sys\n"
          "from pbm_engine.cli import main\n"
          "status = main(sys.argv[1:])\n"
          "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
          "sys.exit(status)\n")


if __name__ == "__main__":
    main()
