#!/usr/bin/env python3
"""Set-up and run, with nothing but Python 3.11+ and pip.

    python3 dev.py demo    create .venv, install pbm-engine, adjudicate the bundled sample claims
    python3 dev.py test    create .venv, install pbm-engine with dev tools, run ruff, mypy, pytest
    python3 dev.py bench   run the benchmarks (after set-up)

The virtual environment lives in .venv next to this file; set PBM_NO_VENV=1 to install into the
current interpreter instead (for machines without the venv module).
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"

# Real components the test suite runs against, from the distribution's packages:
# a file that shows the component is installed -> the Debian package that brings it.
SYSTEM_PACKAGES = {
    "/usr/lib/postgresql": "postgresql",
    "/usr/bin/chromium": "chromium",
}


# What the benchmarks add: a load generator written in C for the service benchmark.
BENCH_PACKAGES = {
    "/usr/bin/wrk": "wrk",
}


def ensure_system_packages(packages: dict[str, str] = SYSTEM_PACKAGES) -> None:
    """Install the servers and the browser the tests use, when missing (needs root and apt)."""
    import shutil

    missing = [pkg for path, pkg in packages.items() if not Path(path).exists()]
    if not missing:
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        print(f"note: install {' '.join(missing)} for the tests that need them", flush=True)
        return
    print(f"installing {' '.join(missing)} (apt-get)", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing],
                   check=True, env=env)


def python() -> str:
    if os.environ.get("PBM_NO_VENV"):
        return sys.executable
    exe = VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    if not exe.exists():
        print("creating .venv", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    return str(exe)


def run(*args: str) -> None:
    subprocess.run(args, cwd=ROOT, check=True)


def install(py: str, extra: str) -> None:
    stamp = VENV / f".installed-{extra or 'base'}"
    marker = (ROOT / "pyproject.toml").stat().st_mtime_ns
    if stamp.exists() and stamp.read_text() == str(marker) and not os.environ.get("PBM_NO_VENV"):
        return
    target = f".[{extra}]" if extra else "."
    run(py, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-e", target)
    if not os.environ.get("PBM_NO_VENV"):
        stamp.write_text(str(marker))


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else "test"
    py = python()
    try:
        if command == "demo":
            install(py, "")
            run(py, "-m", "pbm_engine.cli", "adjudicate", *argv[2:])
        elif command == "test":
            install(py, "dev")
            ensure_system_packages()
            run(py, "-m", "ruff", "check", "src", "tests", "benchmarks")
            run(py, "-m", "mypy")
            run(py, "-m", "pytest", *argv[2:])
        elif command == "bench":
            install(py, "dev")
            ensure_system_packages({**SYSTEM_PACKAGES, **BENCH_PACKAGES})
            for script in sorted((ROOT / "benchmarks").glob("bench_*.py")):
                run(py, str(script))
        else:
            print(__doc__)
            return 2
    except subprocess.CalledProcessError as exc:
        return exc.returncode or 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
