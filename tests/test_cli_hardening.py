"""The issue's "What was measured", command by command: exit status, one line on stderr, no
traceback, and the store and every input byte-for-byte unchanged."""

from __future__ import annotations

import hashlib
import os
import re
import resource
import shlex
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import orjson
import pytest

from pbm_engine.cli import main
from pbm_engine.cli.partd import sample_partd_book_path
from pbm_engine.engine import Engine
from pbm_engine.processor import Processor
from pbm_engine.sources.loader import load_sample_book
from pbm_engine.store.sqlite import SqliteStore

ROOT = Path(__file__).parent.parent
BASE = {"cardholder_id": "PPO1001", "date_of_service": "2026-02-02", "rx_number": "7000101",
        "ndc": "00378410591", "quantity": "30", "days_supply": 30, "pharmacy_id": "1234567893"}


def line(**fields: object) -> bytes:
    return orjson.dumps({**BASE, **fields}) + b"\n"


def digest(*paths: Path) -> dict[str, str | None]:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else None
            for p in paths}


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "c.jsonl").write_bytes(line() + line(rx_number="7000102"))
    return tmp_path


@pytest.fixture
def store(work: Path) -> Path:
    """A store with history in it (two paid claims)."""
    assert main(["adjudicate", "c.jsonl", "--db", "s.db", "--out", "r.jsonl", "--quiet"]) == 0
    return work / "s.db"


def one_error(capsys: pytest.CaptureFixture[str], *parts: str) -> str:
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pbm: "), err
    assert "Traceback" not in err
    for part in parts:
        assert part in lines[0], (part, lines[0])
    return lines[0]


# -- data loss ---------------------------------------------------------------------------------

@pytest.mark.parametrize("out", ["s.db", "s.db-wal", "s.db-shm", "c.jsonl", "./s.db"])
def test_out_can_never_be_the_store_or_an_input(
        store: Path, capsys: pytest.CaptureFixture[str], out: str) -> None:
    """Issue item 9: `--out s.db` left the store at 0 bytes; now refused, nothing touched."""
    files = [store, Path(f"{store}-wal"), Path(f"{store}-shm"), store.parent / "c.jsonl"]
    before = digest(*files)
    capsys.readouterr()
    assert main(["adjudicate", "c.jsonl", "--db", "s.db", "--out", out]) == 2
    one_error(capsys, "refusing to overwrite", "(--out)")
    assert digest(*files) == before


def test_out_can_never_be_the_book(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    book_dir = work / "book"
    shutil.copytree(ROOT / "tests" / "fixtures" / "small", book_dir)
    before = digest(*book_dir.iterdir())
    assert main(["adjudicate", "c.jsonl", "--book", "book/book.yaml", "--out",
                 "book/book.yaml"]) == 2
    one_error(capsys, "(--out)")
    assert digest(*book_dir.iterdir()) == before


def test_symlinked_out_to_the_store_is_refused(store: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    os.symlink(store, store.parent / "link.jsonl")
    before = digest(store)
    capsys.readouterr()
    assert main(["adjudicate", "c.jsonl", "--db", "s.db", "--out", "link.jsonl"]) == 2
    one_error(capsys, "(--out)")
    assert digest(store) == before


def test_new_store_and_results_are_owner_only(store: Path) -> None:
    for path in (store, store.parent / "r.jsonl", store.parent / "r.errors.jsonl"):
        assert path.stat().st_mode & 0o777 == 0o600, path


def test_a_failed_run_keeps_the_previous_results(work: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    (work / "r.jsonl").write_bytes(b"previous\n")
    assert main(["adjudicate", "c.jsonl", "--as-of", "2026-13-45", "--out", "r.jsonl"]) == 2
    one_error(capsys, "'2026-13-45' is not a date", "(--as-of)")
    assert (work / "r.jsonl").read_bytes() == b"previous\n"


# -- path errors -------------------------------------------------------------------------------

@pytest.mark.parametrize(("argv", "parts"), [
    (["adjudicate", "missing.jsonl"], ["missing.jsonl: no such file", "(CLAIMS)"]),
    (["adjudicate", "."], ["is a directory", "(CLAIMS)"]),
    (["adjudicate", "c.jsonl", "--out", "."], ["is a directory", "(--out)"]),
    (["adjudicate", "c.jsonl", "--out", "c.jsonl/x.jsonl"], ["not a directory", "(--out)"]),
    (["adjudicate", "c.jsonl", "--book", "."], ["is a directory", "(--book)"]),
    (["adjudicate", "c.jsonl", "--book", "nope.yaml"], ["no such file", "(--book)"]),
    (["adjudicate", "c.jsonl", "--db", "."], ["is a directory", "(--db)"]),
    (["adjudicate", "c.jsonl", "--commit-every", "x"], ["invalid int value", "(--commit-every)"]),
    (["adjudicate", "c.jsonl", "--commit-every", "0"], ["(--commit-every)"]),
    (["accumulators", "PPO1001", "--db", "missing.db"], ["no such store", "(--db)"]),
    (["history", "PPO1001", "--db", "c.jsonl"], ["not a SQLite database", "(--db)"]),
    (["reverse", "--db", "missing.db", "--pharmacy", "1", "--rx", "1", "--date", "2026-1-1"],
     ["is not a date", "(--date)"]),
    (["compare", "missing.jsonl"], ["no such file", "(CLAIMS)"]),
    (["compare", "c.jsonl", "--out", "c.jsonl"], ["refusing to overwrite", "(--out)"]),
    (["partd", "adjudicate", "missing.jsonl"], ["no such file", "(CLAIMS)"]),
    (["partd", "adjudicate", "c.jsonl", "--out", "c.jsonl"], ["refusing", "(--out)"]),
    (["partd", "year", "--plan", "X", "--member", "Y", "--claims", "."], ["(--claims)"]),
    (["partd", "claim", "--plan", "NOPE", "--ndc", "1", "--quantity", "1"], ["(--plan)"]),
    (["partd", "claim", "--plan", "DS-2026", "--ndc", "1", "--quantity", "1", "--troop",
      "1e999999"], ["(--troop)"]),
    (["partd", "m3p", "--election-month", "13", "--troop-before", "0", "--costs", "1"],
     ["(--election-month)"]),
    (["partd", "m3p", "--election-month", "1", "--troop-before", "x", "--costs", "1"],
     ["(--troop-before)"]),
    (["validate", "."], ["is a directory", "(BOOK)"]),
    (["nonsense"], ["invalid choice"]),
    (["adjudicate", "--no-such-option"], ["unrecognized arguments"]),
])
def test_every_cli_error_is_one_line_exit_2(work: Path, capsys: pytest.CaptureFixture[str],
                                            argv: list[str], parts: list[str]) -> None:
    before = digest(work / "c.jsonl")
    assert main(argv) == 2
    one_error(capsys, *parts)
    assert digest(work / "c.jsonl") == before
    assert not (work / "out").exists()


def test_fifo_as_db_does_not_hang(work: Path) -> None:
    """Issue item 10: a FIFO as --db hung forever; now refused without opening it."""
    os.mkfifo(work / "f.db")
    for argv in (["adjudicate", "c.jsonl", "--db", "f.db"],
                 ["history", "PPO1001", "--db", "f.db"],
                 ["accumulators", "PPO1001", "--db", "f.db"]):
        done = run_pbm(argv, cwd=work, timeout=60)
        assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
        assert "not a regular file" in done.stderr and "Traceback" not in done.stderr


def test_a_fifo_as_out_is_refused(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    os.mkfifo(work / "o.fifo")
    assert main(["adjudicate", "c.jsonl", "--out", "o.fifo"]) == 2
    one_error(capsys, "is a FIFO", "(--out)")


def test_disk_full_on_out_is_one_line_and_keeps_nothing_half_written(work: Path) -> None:
    """A write failure on --out (file size limit standing in for a full disk)."""
    big = b"".join(line(rx_number=str(7000000 + i)) for i in range(400))
    (work / "big.jsonl").write_bytes(big)
    (work / "r.jsonl").write_bytes(b"previous\n")

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))

    done = run_pbm(["adjudicate", "big.jsonl", "--out", "r.jsonl", "--quiet"], cwd=work,
                   preexec_fn=limit)
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and "cannot write" in done.stderr
    assert "(--out)" in done.stderr and "Traceback" not in done.stderr
    assert (work / "r.jsonl").read_bytes() == b"previous\n"
    assert [p.name for p in work.iterdir() if p.name.endswith(".tmp")] == []


def test_broken_pipe_is_quiet(work: Path) -> None:
    """`pbm ... | head`: no BrokenPipeError traceback."""
    many = b"".join(line(rx_number=str(7000000 + i)) for i in range(300))
    (work / "many.jsonl").write_bytes(many)
    for argv in (["adjudicate", "many.jsonl"], ["partd", "adjudicate"]):
        cmd = " ".join(shlex.quote(a) for a in [sys.executable, "-m", "pbm_engine.cli", *argv])
        done = subprocess.run(f"{cmd} | head -n 1", shell=True, cwd=work, capture_output=True,
                              text=True, timeout=300, env=_env())
        assert done.stderr == "", done.stderr


def test_version() -> None:
    done = run_pbm(["--version"], cwd=ROOT)
    assert done.returncode == 0 and re.fullmatch(r"pbm \d+\.\d+\.\d+\S*\n", done.stdout)


# -- batch runs never stop on a line ----------------------------------------------------------

FUZZED = [
    b'{"cardholder_id": "PPO1001", \n',                # cut short
    b"\xff\xfe not utf-8\n",
    b"[1, 2, 3]\n",                                    # JSON, not a claim: an R8 answer
    line(quantity="1e999999"),
    line(ingredient_cost="1e30"),
    line(date_of_service="0001-01-01"),
    line(ndc="\\ud800"),
    b'{"fill_number": 100000000000000000000}\n',
    line(days_supply="\u0663\u0660"),
    b"{" * 5000 + b"\n",
]


@pytest.mark.parametrize("command", [["adjudicate"], ["partd", "adjudicate"]])
def test_one_bad_line_never_stops_the_run(work: Path, capsys: pytest.CaptureFixture[str],
                                          command: list[str]) -> None:
    """Issue item 7 and the 60/60 fuzzed files: every line answered or listed as an error."""
    data = line() + b"".join(FUZZED) + line(rx_number="7000199")
    (work / "f.jsonl").write_bytes(data)
    status = main([*command, "f.jsonl", "--out", "o/r.jsonl", "--quiet"])
    err = capsys.readouterr().err
    assert status == 1 and "Traceback" not in err
    assert err.startswith("pbm: 3 line(s) could not be processed (first: f.jsonl line 2")
    errors = [orjson.loads(x) for x in (work / "o" / "r.errors.jsonl").read_bytes().splitlines()]
    assert [e["line"] for e in errors] == [2, 3, 11]
    results = [orjson.loads(x) for x in (work / "o" / "r.jsonl").read_bytes().splitlines()]
    assert len(results) == len(FUZZED) + 2 - 3
    assert (work / "f.jsonl").read_bytes() == data


def test_a_bom_is_skipped(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Issue item 13: a UTF-8 BOM made the first claim an R8 reject."""
    (work / "bom.jsonl").write_bytes(b"\xef\xbb\xbf" + line())
    assert main(["adjudicate", "bom.jsonl", "--out", "r.jsonl", "--quiet"]) == 0
    result = orjson.loads((work / "r.jsonl").read_bytes())
    assert result["status"] == "P"


def test_an_internal_error_is_caught_per_claim_and_rolled_back(
        work: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """A bug on one claim: reject 99 with the claim's key, nothing stored, the run goes on."""
    original = Engine.adjudicate

    def flaky(self: Engine, request: object, **kw: object) -> object:
        if getattr(request, "rx_number", "") == "7000102":
            raise ZeroDivisionError("boom PPO1001")
        return original(self, request, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(Engine, "adjudicate", flaky)
    status = main(["adjudicate", "c.jsonl", "--db", "s.db", "--out", "r.jsonl",
                   "--commit-every", "5", "--quiet"])
    err = capsys.readouterr().err
    assert status == 1 and "line 2" in err and "PPO1001" not in err
    error = orjson.loads((work / "r.errors.jsonl").read_bytes())
    assert error["claim"]["rx_number"] == "7000102" and "ZeroDivisionError" in error["error"]
    assert "boom" not in error["error"]
    with SqliteStore(work / "s.db", create=False) as store:
        assert [e.key.rx_number for e in store.entries()] == ["7000101"]


def test_processor_rolls_back_a_claim_that_fails_inside_its_transaction(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = Engine(load_sample_book())
    with SqliteStore(tmp_path / "s.db") as store:
        processor = Processor(engine, store)

        def broken(*args: object) -> None:
            raise RuntimeError("disk gremlin")

        monkeypatch.setattr(Processor, "_post", broken)
        result = processor.submit(dict(BASE))
        assert result.reject_codes == ("99",) and result.rx_number == "7000101"
        assert list(store.entries()) == [] and store.totals() == {}


# -- read-only stores --------------------------------------------------------------------------

def test_queries_need_no_write_access(store: Path) -> None:
    """Issue item 12: a read-only store (as on a read-only mount) opens for queries; the file
    is unchanged; writing says what is wrong."""
    for side in (Path(f"{store}-wal"), Path(f"{store}-shm")):
        assert not side.exists()
    folder = Path(tempfile.mkdtemp())  # where another user may look (pytest's is 0700)
    os.chmod(folder, 0o755)
    store = Path(shutil.copy(store, folder / "s.db"))
    before = digest(store)
    os.chmod(store, 0o444)
    os.chmod(folder, 0o555)
    try:
        user = {} if os.geteuid() else {"preexec_fn": _become_nobody}
        for argv in (["history", "PPO1001", "--db", str(store)],
                     ["accumulators", "PPO1001", "--db", str(store), "--date", "2026-12-31"]):
            done = run_pbm(argv, cwd="/", **user)
            assert done.returncode == 0, done.stderr
            assert "PPO1001-001" in done.stdout
        done = run_pbm(["reverse", "--db", str(store), "--pharmacy", "1234567893", "--rx",
                        "7000101", "--date", "2026-02-02"], cwd="/", **user)
        assert done.returncode == 2 and "read-only" in done.stderr, done.stderr
        assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
        assert digest(store) == before
    finally:
        os.chmod(folder, 0o755)
        shutil.rmtree(folder)


def _become_nobody() -> None:
    os.setgid(65534)
    os.setuid(65534)


def test_readonly_open_does_not_migrate(store: Path) -> None:
    db = sqlite3.connect(store)
    db.execute("DELETE FROM schema_version WHERE version = "
               "(SELECT max(version) FROM schema_version)")
    db.commit()
    db.close()
    before = digest(store)
    with pytest.raises(Exception, match="needs upgrading"):
        SqliteStore(store, create=False, readonly=True)
    assert digest(store) == before


# -- documented behaviour ----------------------------------------------------------------------

def test_history_is_oldest_first_by_date_of_service(
        work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (work / "h.jsonl").write_bytes(line(date_of_service="2026-03-02", rx_number="1")
                                   + line(date_of_service="2026-01-05", rx_number="2"))
    assert main(["adjudicate", "h.jsonl", "--db", "h.db", "--out", "r.jsonl", "--quiet"]) == 0
    capsys.readouterr()
    assert main(["history", "PPO1001", "--person", "001", "--db", "h.db"]) == 0
    dates = re.findall(r"\d{4}-\d\d-\d\d", capsys.readouterr().out)
    assert dates == sorted(dates) and dates[0] == "2026-01-05"


def test_the_readme_commands_run(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The README's demo, accumulators, history and reverse lines, exactly as printed."""
    readme = (ROOT / "README.md").read_text()
    commands = re.findall(r"^\.venv/bin/pbm (adjudicate|accumulators|history|reverse)(.*?)"
                          r"(?:\s+#.*)?$", readme, re.M)
    wanted = [c for c in commands if c[0] != "adjudicate" or not c[1].strip()]
    assert [c[0] for c in wanted] == ["adjudicate", "accumulators", "history", "reverse"]
    for name, rest in wanted:
        assert main([name, *shlex.split(rest)]) == 0, (name, capsys.readouterr())
    assert "A  1987654321 Rx 7000024/0 2026-03-01  reversal accepted" in capsys.readouterr().out


def test_the_plan_administrators_scenario_runs(tmp_path: Path) -> None:
    """docs/plan-administrators.md's example scenarios, exactly as printed."""
    from pbm_engine.admin.scenarios import run_paths

    text = (ROOT / "docs" / "plan-administrators.md").read_text()
    blocks = re.findall(r"<!-- scenario -->\n```yaml\n(.*?)```", text, re.S)
    assert blocks
    for i, block in enumerate(blocks):
        (tmp_path / f"doc{i}.scenario.yaml").write_text(block)
    for outcome in run_paths([tmp_path]):
        assert outcome.passed, outcome.describe_failures() or outcome.error


def test_partd_sample_runs_clean(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["partd", "adjudicate", "--book", str(sample_partd_book_path()), "--out",
                 str(tmp_path / "p.jsonl"), "--quiet"]) == 0
    assert (tmp_path / "p.errors.jsonl").read_bytes() == b""


# -- helpers -----------------------------------------------------------------------------------

def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT / "src")}


def run_pbm(argv: list[str], cwd: Path | str, timeout: float = 300,
            **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pbm_engine.cli", *argv], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout, env=_env(),
                          **kw)  # type: ignore[call-overload]

