"""A real PostgreSQL server for the tests: ``initdb`` into a temporary directory, ``postgres`` on
a free 127.0.0.1 port with its unix socket in that directory, stopped at the end of the session.

Use the session fixture ``postgres_server`` (tests/conftest.py) and give each test its own schema:

    def test_something(postgres_server):
        url = postgres_server.fresh_url()   # postgresql://...?options=-csearch_path%3Dt_3
        store = PostgresStore(url)

Binaries: the newest ``/usr/lib/postgresql/<version>/bin`` (Debian/Ubuntu ``postgresql``
package), else ``PG_BINDIR``, else ``initdb`` on PATH.  As root (CI) the server runs as the
``postgres`` system user (``runuser -u postgres --``), because PostgreSQL refuses to run as
root.  Without binaries or psycopg the fixture skips the test, except under ``CI=true`` where it
fails loudly: CI must run these tests (``python3 dev.py test`` installs ``postgresql``).
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

__all__ = ["PostgresServer", "find_bindir", "unavailable"]


def find_bindir() -> Path | None:
    """Where ``initdb`` and ``postgres`` are, or None."""
    env = os.environ.get("PG_BINDIR")
    if env and (Path(env) / "initdb").exists():
        return Path(env)
    root = Path("/usr/lib/postgresql")
    if root.is_dir():
        versions = sorted((p for p in root.iterdir() if (p / "bin" / "initdb").exists()),
                          key=lambda p: [int(x) if x.isdigit() else 0
                                         for x in p.name.split(".")])
        if versions:
            return versions[-1] / "bin"
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def unavailable() -> str | None:
    """Why a server cannot be started here (None when it can)."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed (pip install -e '.[postgres]')"
    if find_bindir() is None:
        return "PostgreSQL server binaries not found (apt-get install postgresql)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no 'postgres' user to run the server as"
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresServer:
    """A throw-away PostgreSQL cluster (see the module docstring)."""

    def __init__(self) -> None:
        bindir = find_bindir()
        if bindir is None:
            raise RuntimeError("PostgreSQL server binaries not found")
        self.bindir = bindir
        self.dir = Path(tempfile.mkdtemp(prefix="pbm-pg-"))
        self.data = self.dir / "data"
        self.log = self.dir / "server.log"
        self.user = "postgres"
        self.port = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._schemas = itertools.count(1)
        self._as: list[str] = []
        if os.geteuid() == 0:  # PostgreSQL refuses root: run it as the postgres user
            entry = pwd.getpwnam("postgres")
            os.chown(self.dir, entry.pw_uid, entry.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]

    def start(self) -> PostgresServer:
        """initdb, then start the server and wait until it accepts connections."""
        subprocess.run([*self._as, str(self.bindir / "initdb"), "-D", str(self.data), "-U",
                        self.user, "--auth=trust", "-E", "UTF8", "--no-sync", "--no-locale"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for _attempt in range(5):
            self.port = _free_port()
            log = open(self.log, "ab")  # noqa: SIM115 - the server writes it until stopped
            if self._as:
                os.chown(self.log, pwd.getpwnam("postgres").pw_uid, -1)
            self._proc = subprocess.Popen(
                [*self._as, str(self.bindir / "postgres"), "-D", str(self.data),
                 "-p", str(self.port), "-k", str(self.dir),
                 "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
                 "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
                 "-c", "max_connections=60", "-c", "shared_buffers=64MB"],
                stdout=log, stderr=log, start_new_session=True)
            log.close()
            if self._wait_ready():
                return self
            self._stop_process()
        raise RuntimeError(f"PostgreSQL did not start; log:\n{self.log.read_text()[-3000:]}")

    def _wait_ready(self, timeout: float = 60.0) -> bool:
        import psycopg

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self._proc is not None
            if self._proc.poll() is not None:
                return False
            try:
                psycopg.connect(self.url(), connect_timeout=2).close()
                return True
            except psycopg.OperationalError:
                time.sleep(0.1)
        return False

    def url(self, dbname: str = "postgres") -> str:
        """A TCP connection URL to a database of this server."""
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{dbname}"

    def fresh_url(self) -> str:
        """A URL whose ``search_path`` is a new, empty schema: a fresh store for one test."""
        import psycopg

        name = f"t_{os.getpid()}_{next(self._schemas)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {name}")
        return f"{self.url()}?options=-csearch_path%3D{name}"

    def create_database(self, name: str) -> str:
        """Create a database and return its URL."""
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def _stop_process(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        os.killpg(proc.pid, signal.SIGINT)  # fast shutdown
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)

    def stop(self) -> None:
        """Stop the server and delete its directory."""
        self._stop_process()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
