"""Reference data that loads once: import time, compiled-book loads, claims on a big book.

    python benchmarks/bench_refdata.py [--drugs 50000] [--claims 20000] [--national]
                                       [--work DIR]

Every figure comes from a fresh child process (so each load is a real process start, not a
warm import), with wall time and CPU time (CPU time is what a shared machine disturbs least):

* ``import pbm_engine`` (median of 5) and whether pydantic / yaml came with it;
* one claim through ``pbm adjudicate`` on the sample book, once compiled (median of 5, wall of
  the whole process);
* a formulary of ``--drugs`` drugs (written by ``benchmarks/bigbook.py``, as YAML and as
  JSON): the first, compiling load and the later loads (median of 3), peak RSS;
* claims per CPU-second (best of 3) and p50/p99 of single claims (wall and thread CPU time) on
  the sample book and on the big book, the same claims (the sample's drugs, 5,000 synthetic
  families), each in its own process;
* with ``--national``: a synthetic CMS SPUF of national size (about 1.5 million formulary rows,
  ``benchmarks/national_spuf.py``) and a book of 25 plans on it: first and later loads, RSS.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

_LOAD = """
import resource, sys, time
t, c = time.perf_counter(), time.process_time()
from pbm_engine.sources.compiled import load_compiled
from pbm_engine.sources.longlived import paused_gc, settle
with paused_gc():
    book, how = load_compiled(sys.argv[1])
    settle()
drugs = sum(len(f.drugs) for f in book.formularies.values())
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(time.perf_counter() - t, time.process_time() - c, rss, drugs, how.split(':')[0])
"""

_IMPORT = """
import sys, time
t, c = time.perf_counter(), time.process_time()
import pbm_engine
print(time.perf_counter() - t, time.process_time() - c,
      int('pydantic' in sys.modules), int('yaml' in sys.modules))
"""


def child(code: str, *args: str, env: dict[str, str]) -> list[str]:
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          check=True, env=env)
    return done.stdout.split()


def timed_process(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds of a whole child process."""
    before = os.times()
    t = time.perf_counter()
    subprocess.run(argv, check=True, env=env, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t
    after = os.times()
    return wall, (after.children_user - before.children_user
                   + after.children_system - before.children_system)


def loads(book: Path, env: dict[str, str], label: str, later: int = 3) -> None:
    first = child(_LOAD, str(book), env=env)
    print(f"{label:<28} first load   wall {float(first[0]):6.2f} s  cpu {float(first[1]):6.2f} s"
          f"  rss {float(first[2]):5.0f} MB  ({int(first[3]):,} drugs, {first[4]})")
    runs = [child(_LOAD, str(book), env=env) for _ in range(later)]
    wall = statistics.median(float(r[0]) for r in runs)
    cpu = statistics.median(float(r[1]) for r in runs)
    rss = max(float(r[2]) for r in runs)
    print(f"{label:<28} later loads  wall {wall:6.2f} s  cpu {cpu:6.2f} s  rss {rss:5.0f} MB"
          f"  (median of {later}, {runs[0][4]})")


def throughput(book: str, n: int) -> None:
    """Child mode: claims/s and latency on ``book`` with the sample's claim mix."""
    import gc

    sys.path.insert(0, str(HERE))
    from workload import add_members, claim_mix

    from pbm_engine.engine import Engine
    from pbm_engine.sources.compiled import load_book, sample_book_path

    claims = claim_mix(add_members(load_book(sample_book_path()), 5_000), n)
    target = add_members(load_book(book), 5_000)
    gc.collect()
    gc.freeze()
    engine = Engine(target)
    rates = []
    for _ in range(3):
        t = time.process_time()
        for c in claims:
            engine.adjudicate(c)
        rates.append(n / (time.process_time() - t))
    wall, cpu = [], []
    for c in claims:
        s, sc = time.perf_counter_ns(), time.thread_time_ns()
        engine.adjudicate(c)
        cpu.append(time.thread_time_ns() - sc)
        wall.append(time.perf_counter_ns() - s)
    wall.sort()
    cpu.sort()
    print(max(rates), statistics.median(rates), wall[len(wall) // 2] / 1000,
          wall[int(len(wall) * 0.99)] / 1000, cpu[len(cpu) // 2] / 1000,
          cpu[int(len(cpu) * 0.99)] / 1000)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--drugs", type=int, default=50_000)
    parser.add_argument("--claims", type=int, default=20_000)
    parser.add_argument("--national", action="store_true")
    parser.add_argument("--work", help="folder for the generated books (default: temporary)")
    parser.add_argument("--throughput", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.throughput:
        throughput(args.throughput, args.claims)
        return
    work = Path(args.work or tempfile.mkdtemp(prefix="pbm-bench-"))
    env = {**os.environ, "PBM_CACHE_DIR": str(work / "cache")}
    os.makedirs(work / "cache", exist_ok=True)

    runs = [child(_IMPORT, env=env) for _ in range(5)]
    print(f"{'import pbm_engine':<28} wall {statistics.median(float(r[0]) for r in runs):.3f} s"
          f"  cpu {statistics.median(float(r[1]) for r in runs):.3f} s  (median of 5; "
          f"pydantic loaded: {runs[0][2] == '1'}, yaml loaded: {runs[0][3] == '1'})")

    sys.path.insert(0, str(HERE))
    from bigbook import make_big_book

    from pbm_engine.sources.compiled import sample_book_path

    one = work / "one.jsonl"
    claims = (sample_book_path().parent / "claims.jsonl").read_text(encoding="utf-8")
    one.write_text(claims.splitlines()[0] + "\n", encoding="utf-8")
    pbm = [sys.executable, "-m", "pbm_engine.cli", "adjudicate", str(one), "--quiet",
           "--out", str(work / "out.jsonl")]
    timed_process(pbm, env)  # compiles the sample book
    one_runs = [timed_process(pbm, env) for _ in range(5)]
    print(f"{'pbm adjudicate, one claim':<28} wall "
          f"{statistics.median(w for w, _ in one_runs):.3f} s  cpu "
          f"{statistics.median(c for _, c in one_runs):.3f} s  (whole process, compiled "
          "sample book, median of 5)")

    big = work / f"big{args.drugs}"
    book = big / "book.yaml"
    if not book.exists():
        make_big_book(big, args.drugs)
    (work / "cache" / "x").touch()
    for stale in (work / "cache").iterdir():
        if stale.name != "key":
            stale.unlink()
    loads(book, env, f"{args.drugs:,}-drug book (YAML)")
    json_book = work / f"big{args.drugs}json" / "book.yaml"
    if not json_book.exists():
        make_big_book(json_book.parent, args.drugs, "json")
    loads(json_book, env, f"{args.drugs:,}-drug book (JSON)", later=1)

    # Alternate the two books, three processes each: a busy minute then hits both alike.
    books = {"sample book": str(sample_book_path()), f"{args.drugs:,}-drug book": str(book)}
    found: dict[str, list[list[float]]] = {label: [] for label in books}
    for _ in range(3):
        for label, target in books.items():
            out = subprocess.run([sys.executable, __file__, "--throughput", target, "--claims",
                                  str(args.claims)], capture_output=True, text=True,
                                 check=True, env=env).stdout.split()
            found[label].append([float(x) for x in out])
    for label, runs in found.items():
        best = max(r[0] for r in runs)
        p50, p99, cpu50, cpu99 = (min(r[i] for r in runs) for i in (2, 3, 4, 5))
        print(f"{label:<28} {best:>8,.0f} claims per CPU-second (best of 3 processes x 3 "
              f"passes);  single claims p50/p99 wall {p50:.1f}/{p99:.1f} us, "
              f"CPU {cpu50:.1f}/{cpu99:.1f} us (lowest of 3 processes)")

    if args.national:
        from national_spuf import make_national_spuf

        national = work / "national" / "book.yaml"
        if not national.exists():
            make_national_spuf(work / "national")
        loads(national, env, "national SPUF, 25 plans")


if __name__ == "__main__":
    main()
