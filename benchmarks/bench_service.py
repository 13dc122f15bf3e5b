"""Loopback load test of the HTTP service: estimates per second and latency at 1 and 2 workers.

    PYTHONPATH=src python benchmarks/bench_service.py [--seconds 60] [--max-requests 200000]
                                                     [--concurrency 16] [--workers 1 2]

For each worker count it starts ``pbm serve`` (a real uvicorn server on 127.0.0.1, a free
port, one API token) over the sample book and a fresh SQLite store holding 50 paid fills for
PPO1001-001 (the same member and question as ``bench_estimate.py``: ZOMIG 5 MG NASAL SPRAY,
retail and mail, up to five priced alternatives), then keeps ``--concurrency`` keep-alive
requests in flight for ``--seconds`` and prints estimates/s, p50/p99 latency and the error
count.  The client runs on the same 2 cores as the server, so it should cost little: with
``--client wrk`` (the default where Debian's ``wrk`` is installed: ``apt-get install wrk``) the
load comes from wrk, written in C; ``--client httpx`` uses one Python asyncio client (which
itself takes a good part of a core and also checks every answer's body).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from bench_estimate import AS_OF, seed

from pbm_engine.sources.loader import sample_book_path
from pbm_engine.store.sqlite import SqliteStore

TOKEN = "bench-token-0001"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def load(url: str, seconds: float, max_requests: int, concurrency: int
               ) -> tuple[list[float], int, float]:
    path = "/v1/members/PPO1001-001/estimate"
    params = {"ndc": "64896008412", "as_of": AS_OF.isoformat()}
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30,
                                 headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        async def worker() -> None:
            nonlocal errors
            while time.perf_counter() < deadline and len(latencies) + errors < max_requests:
                t0 = time.perf_counter()
                try:
                    r = await client.get(path, params=params)
                    ok = r.status_code == 200 and len(r.json()["alternatives"]) > 0
                except httpx.HTTPError:
                    ok = False
                if ok:
                    latencies.append(time.perf_counter() - t0)
                else:
                    errors += 1
        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    return latencies, errors, elapsed


def wrk(url: str, seconds: float, concurrency: int) -> str:
    """Run wrk (one thread, ``concurrency`` keep-alive connections) and summarize its report."""
    target = (f"{url}/v1/members/PPO1001-001/estimate?ndc=64896008412"
              f"&as_of={AS_OF.isoformat()}")
    out = subprocess.run(
        ["wrk", "-t1", f"-c{concurrency}", f"-d{max(1, round(seconds))}s", "--latency",
         "--timeout", "10s", "-H", f"Authorization: Bearer {TOKEN}", target],
        capture_output=True, text=True, check=True).stdout

    def find(pattern: str, default: str = "0") -> str:
        m = re.search(pattern, out, re.M)
        return m.group(1) if m else default

    total = find(r"(\d+) requests in")
    rate = float(find(r"Requests/sec:\s+([\d.]+)"))
    non_2xx = int(find(r"Non-2xx or 3xx responses: (\d+)"))
    socket = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)",
                                            find(r"Socket errors: (.*)", "")))
    p50, p99 = find(r"^\s*50%\s+(\S+)", "?"), find(r"^\s*99%\s+(\S+)", "?")
    return (f"{total} estimates in {seconds:.0f} s = {rate:,.0f}/s; p50 {p50}, p99 {p99}; "
            f"errors {non_2xx + socket}")


def run(workers: int, db: Path, args: argparse.Namespace) -> None:
    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).parent.parent / "src"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "pbm_engine.cli", "serve", "--book", str(sample_book_path()),
         "--db", str(db), "--port", str(port), "--workers", str(workers), "--token",
         TOKEN], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise SystemExit("the service did not start")
            time.sleep(0.2)
        asyncio.run(load(url, 3, 500, args.concurrency))  # warm every worker
        if args.client == "wrk":
            print(f"workers={workers} concurrency={args.concurrency} client=wrk: "
                  + wrk(url, args.seconds, args.concurrency))
            return
        latencies, errors, elapsed = asyncio.run(
            load(url, args.seconds, args.max_requests, args.concurrency))
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    print(f"workers={workers} concurrency={args.concurrency} client=httpx: {len(latencies)} "
          f"estimates in "
          f"{elapsed:.1f} s = {len(latencies) / elapsed:,.0f}/s; p50 {pct(0.5):.1f} ms, "
          f"p99 {pct(0.99):.1f} ms, max {latencies[-1] * 1000:.1f} ms; errors {errors}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--max-requests", type=int, default=200_000)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--client", choices=("wrk", "httpx"),
                    default="wrk" if shutil.which("wrk") else "httpx",
                    help="load generator (default: wrk when installed)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        with SqliteStore(db) as store:
            seed(store, 50)
        for workers in args.workers:
            run(workers, db, args)


if __name__ == "__main__":
    main()
