"""SQLite specifics: migrations, damaged files, rollback, the CLI on a store."""

from __future__ import annotations

import hashlib
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from pbm_engine.cli import main
from pbm_engine.engine import Engine
from pbm_engine.errors import StoreError
from pbm_engine.processor import Processor
from pbm_engine.store.schema import LATEST, MIGRATIONS
from pbm_engine.store.sqlite import SqliteStore

from .claims import assert_consistent, claim

ROOT = Path(__file__).resolve().parents[2]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def filled(path: Path, engine: Engine, n: int = 3) -> None:
    with SqliteStore(path) as store:
        p = Processor(engine, store)
        for i in range(n):
            assert p.submit(claim(rx=str(i), drug=i % 4)).paid


def test_pragmas_and_version(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "a.db") as store:
        assert store.schema_version() == LATEST
        db = store._db
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    with SqliteStore(tmp_path / "a.db", synchronous="NORMAL") as store:
        assert store._db.execute("PRAGMA synchronous").fetchone()[0] == 1
    with pytest.raises(StoreError):
        SqliteStore(tmp_path / "b.db", synchronous="OFF")  # type: ignore[arg-type]


def test_an_older_file_is_migrated(tmp_path: Path, sample_engine: Engine) -> None:
    path = tmp_path / "old.db"
    db = sqlite3.connect(path, isolation_level=None)
    for statement in MIGRATIONS[0].statements:
        db.execute(statement)
    db.execute("INSERT INTO schema_version (version, description) VALUES (1, 'v1')")
    db.execute("INSERT INTO accumulators (plan_id, year_start, kind, owner_id, deductible) "
               "VALUES ('P', '2026-01-01', 'M', 'X-001', 123)")
    db.close()
    with SqliteStore(path) as store:
        assert store.schema_version() == LATEST == 3
        assert sum(t.deductible for t in store.totals().values()) == 123
        versions = [r[0] for r in store._db.execute("SELECT version FROM schema_version")]
        assert versions == [1, 2, 3]


def test_a_newer_file_is_refused_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    SqliteStore(path).close()
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("INSERT INTO schema_version (version, description) VALUES (99, 'future')")
    db.close()
    before = digest(path)
    with pytest.raises(StoreError, match="newer"):
        SqliteStore(path)
    assert digest(path) == before


@pytest.mark.parametrize("kind", ["random", "garbled", "foreign", "truncated"])
def test_damaged_files_raise_and_stay_unchanged(tmp_path: Path, sample_engine: Engine,
                                                kind: str) -> None:
    path = tmp_path / "bad.db"
    if kind == "random":
        path.write_bytes(bytes(range(256)) * 40)
    elif kind == "foreign":
        db = sqlite3.connect(path)
        db.execute("CREATE TABLE t (x)")
        db.commit()
        db.close()
    else:
        filled(path, sample_engine, 40)
        data = bytearray(path.read_bytes())
        if kind == "garbled":
            data[4096 + 100:4096 * 3] = b"\xff" * (4096 * 2 - 100)
        else:
            data = data[: len(data) // 2 + 17]
        path.write_bytes(bytes(data))
    before = digest(path)
    with pytest.raises(StoreError) as info:
        SqliteStore(path)
    assert str(path) in str(info.value)
    assert digest(path) == before
    assert main(["history", "--db", str(path), "PPO1001"]) == 2
    assert digest(path) == before


def test_cli_damaged_db_is_one_line_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "bad.db"
    path.write_bytes(b"definitely not sqlite" * 50)
    run = subprocess.run([sys.executable, "-m", "pbm_engine.cli", "adjudicate", "--db", str(path),
                          "--out", str(tmp_path / "r.jsonl")], capture_output=True, text=True,
                         env={"PYTHONPATH": str(ROOT / "src")}, cwd=tmp_path, check=False)
    assert run.returncode == 2
    assert run.stderr.count("\n") == 1 and "not a SQLite database" in run.stderr
    assert "Traceback" not in run.stderr


def test_missing_store_for_queries(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no such store"):
        SqliteStore(tmp_path / "none.db", create=False)
    assert not (tmp_path / "none.db").exists()


def test_an_exception_rolls_the_transaction_back(tmp_path: Path, sample_engine: Engine) -> None:
    with SqliteStore(tmp_path / "a.db") as store:
        p = Processor(sample_engine, store)
        with pytest.raises(RuntimeError), store.transaction():
            assert p.submit(claim(drug=1)).paid
            raise RuntimeError("boom")
        assert list(store.entries()) == [] and store.totals() == {}
        # a failing nested block rolls back only itself
        with store.transaction():
            assert p.submit(claim(rx="1", drug=1)).paid
            with pytest.raises(RuntimeError), store.transaction():
                assert p.submit(claim(rx="2", drug=1)).paid
                raise RuntimeError("boom")
        assert [e.key.rx_number for e in store.entries()] == ["1"]
        assert_consistent(store)


def test_the_database_refuses_two_active_entries(tmp_path: Path, sample_engine: Engine) -> None:
    with SqliteStore(tmp_path / "a.db") as store:
        Processor(sample_engine, store).submit(claim())
        [entry] = store.entries()
        with pytest.raises(StoreError):
            store.record(entry)
        assert len(list(store.entries())) == 1


def test_cli_end_to_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    out = str(tmp_path / "r.jsonl")
    assert main(["adjudicate", "--quiet", "--out", out]) == 0
    first = Path(out).read_bytes()
    assert main(["adjudicate", "--quiet", "--out", out]) == 0  # the demo re-runs fresh
    assert Path(out).read_bytes() == first
    db = str(tmp_path / "pbm-demo.db")
    capsys.readouterr()
    assert main(["reverse", "--db", db, "--pharmacy", "1234567893", "--rx", "7000002",
                 "--fill", "0", "--date", "2026-01-06"]) == 0
    assert main(["reverse", "--db", db, "--pharmacy", "1234567893", "--rx", "7000002",
                 "--fill", "0", "--date", "2026-01-06"]) == 0
    assert main(["reverse", "--db", db, "--pharmacy", "1234567893", "--rx", "1",
                 "--date", "2026-01-06"]) == 1
    text = capsys.readouterr().out.splitlines()
    assert [line[0] for line in text] == ["A", "S", "R"]
    assert main(["accumulators", "--db", db, "PPO1001", "--person", "002",
                 "--date", "2026-12-31"]) == 0
    assert "85.41" in capsys.readouterr().out  # Zituvio's deductible is all that is left
    assert main(["history", "--db", db, "PPO1001"]) == 0
    assert "reversed 2026-01-06" in capsys.readouterr().out
    # a kept store: the same claims again are duplicates, except the reversed ones
    assert main(["adjudicate", "--quiet", "--db", db, "--out", out,
                 str(Path(sys.modules["pbm_engine.cli.claims"].sample_claims_path()))]) == 0
    assert "P=3" in capsys.readouterr().out  # the 3 reversed claims pay again
    with SqliteStore(db) as store:
        assert_consistent(store)


def test_group_commit_gives_the_same_answers_and_state(tmp_path: Path,
                                                       sample_engine: Engine) -> None:
    """Grouping claims into one transaction changes durability, never the answers."""
    from pbm_engine.cli.claims import sample_claims_path
    from pbm_engine.cli.textio import read_requests

    requests = list(read_requests([sample_claims_path()]))
    answers = []
    for group, name in ((1, "one.db"), (7, "seven.db")):
        store = SqliteStore(tmp_path / name)
        try:
            results = list(Processor(sample_engine, store).submit_many(
                requests, commit_every=group))
            answers.append(([r.to_dict() for r in results],
                            sorted((e.entry_id, e.delta, e.reversed_on)
                                   for e in store.entries())))
        finally:
            store.close()
    assert answers[0] == answers[1]
