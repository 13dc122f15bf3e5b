"""Resume after a real SIGKILL of a running ``pbm reprocess``: same bytes as a clean run."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pbm_engine.batch import generate, run
from pbm_engine.book import Book

from .conftest import PROPOSED, outputs


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory, sample_book: Book
        ) -> tuple[Path, Path, dict[str, bytes]]:
    """A 3,000-claim history and the outputs of a clean run over it."""
    d = tmp_path_factory.mktemp("resume")
    stats = generate(200, 3000, 5, d / "claims.jsonl", book=sample_book, with_original=True)
    clean = run([stats.claims_path], PROPOSED, d / "clean", members=[stats.members_path],
                partitions=2)
    return stats.claims_path, stats.members_path, outputs(clean.out_dir)


def _command(claims: Path, members: Path, out: Path, engine: str, *extra: str) -> list[str]:
    return [sys.executable, "-m", "pbm_engine.cli", "reprocess", str(claims), "--book",
            str(PROPOSED), "--members", str(members), "--out", str(out), "--engine", engine,
            "--workers", "2", "--partitions", "20", "--quiet", *extra]


def _markers(out: Path) -> int:
    work = out / ".work"
    return len(list(work.glob("p*.done"))) if work.exists() else 0


@pytest.mark.parametrize(("engine", "seed"), [("single", 0), ("single", 1), ("pool", 2)])
def test_sigkill_then_resume_gives_the_clean_bytes(big: tuple[Path, Path, dict[str, bytes]],
                                                   tmp_path: Path, engine: str,
                                                   seed: int) -> None:
    claims, members, clean = big
    rng = random.Random(seed)
    # a random point: during the spill (0), or after some partitions were checkpointed
    after = 0 if seed == 0 else rng.randrange(1, 15)
    out = tmp_path / "out"
    proc = subprocess.Popen(_command(claims, members, out, engine), stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if (after == 0 and (out / ".pbm-reprocess.json").exists()) or _markers(out) >= after > 0:
            break
        time.sleep(0.005)
    time.sleep(rng.random() * 0.05)
    killed = proc.poll() is None
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert killed, "the run finished before it could be killed"
    assert not (out / "summary.json").exists()
    # without --resume the directory is refused, untouched
    refused = subprocess.run(_command(claims, members, out, engine), capture_output=True,
                             text=True)
    assert refused.returncode == 2 and "--resume" in refused.stderr
    # --resume (with the other engine, to show it does not matter) finishes the run
    other = "pool" if engine == "single" else "single"
    done = subprocess.run(_command(claims, members, out, other, "--resume"),
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert outputs(out) == clean
    assert not (out / ".work").exists()
    if seed == 0:  # resuming a finished run changes nothing
        again = subprocess.run(_command(claims, members, out, engine, "--resume"),
                               capture_output=True, text=True)
        assert again.returncode == 0 and outputs(out) == clean
