"""`pbm serve` as a user runs it: a real uvicorn with two worker processes on one SQLite store."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from pbm_engine.store import open_store
from tests.portal.conftest import fill
from tests.service.conftest import free_port, make_book

SRC = Path(__file__).parent.parent.parent / "src"


def _pbm(*args: str) -> subprocess.Popen[bytes]:
    env = dict(os.environ, PYTHONPATH=str(SRC))
    return subprocess.Popen([sys.executable, "-m", "pbm_engine.cli", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_two_workers_share_one_store(tmp_path: Path, backend: str,
                                     request: pytest.FixtureRequest) -> None:
    book = make_book(tmp_path)
    if backend == "postgres":
        db = request.getfixturevalue("postgres_server").fresh_url()
    else:
        db = str(tmp_path / "claims.db")
    port = free_port()
    proc = _pbm("serve", "--book", str(book), "--db", db, "--port", str(port),
                "--workers", "2", "--token", "worker-test-token:read,claims")
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "did not start"
            time.sleep(0.2)
        if backend == "sqlite":
            assert (Path(db).stat().st_mode & 0o777) == 0o600
        headers = {"Authorization": "Bearer worker-test-token"}

        def claim(i: int) -> str:
            day = (dt.date(2026, 1, 2) + dt.timedelta(days=33 * i)).isoformat()
            body = fill("PPO1001", "00054014025", day, rx=f"74{i:05d}")
            r = httpx.post(f"{url}/v1/claims", json=body, headers=headers,
                           params={"as_of": day}, timeout=30)
            return str(r.json()["status"])

        def estimate(_: int) -> int:
            r = httpx.get(f"{url}/v1/members/PPO1001-002/estimate", headers=headers,
                          params={"drug": "klonopin 2 mg", "as_of": "2026-03-01"}, timeout=30)
            return r.status_code

        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(claim, range(10)))
            codes = list(pool.map(estimate, range(12)))
        assert statuses == ["P"] * 10 and codes == [200] * 12
        health = httpx.get(f"{url}/health", timeout=10).json()
        assert health["store"].startswith("postgresql" if backend == "postgres" else "sqlite")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    log = err.decode()
    assert "PPO1001" not in log and "00054014025" not in log  # no member data in the log
    assert "/v1/claims 200" in log
    store = open_store(db, create=False)
    try:
        assert sum(1 for e in store.entries("PPO1001-001") if e.active) == 10
    finally:
        store.close()


def test_refuses_an_open_service_off_loopback(tmp_path: Path) -> None:
    book = make_book(tmp_path)
    proc = _pbm("serve", "--book", str(book), "--db", str(tmp_path / "x.db"), "--host",
                "0.0.0.0", "--port", str(free_port()))
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2 and b"refusing to serve on 0.0.0.0" in err
    assert not (tmp_path / "x.db").exists()
