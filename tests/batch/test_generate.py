"""pbm generate: seeded, exact counts, families, refills, reversals and rebills."""

from __future__ import annotations

import io
from collections import Counter
from pathlib import Path

import orjson
import pytest

from pbm_engine.batch import generate, make_progress
from pbm_engine.book import Book
from pbm_engine.cli import main


def test_same_seed_same_bytes_other_seed_other_bytes(sample_book: Book, tmp_path: Path) -> None:
    a = generate(40, 500, 3, tmp_path / "a.jsonl", book=sample_book)
    b = generate(40, 500, 3, tmp_path / "b.jsonl", book=sample_book)
    c = generate(40, 500, 4, tmp_path / "c.jsonl", book=sample_book)
    assert a.claims_path.read_bytes() == b.claims_path.read_bytes()
    assert a.members_path.read_bytes() == b.members_path.read_bytes()
    assert a.claims_path.read_bytes() != c.claims_path.read_bytes()


def test_a_realistic_history(sample_book: Book, tmp_path: Path) -> None:
    stats = generate(300, 4000, 9, tmp_path / "h.jsonl", book=sample_book)
    rows = [orjson.loads(x) for x in stats.claims_path.read_bytes().splitlines()]
    members = [orjson.loads(x) for x in stats.members_path.read_bytes().splitlines()]
    assert len(rows) == stats.claims == 4000 and len(members) == stats.members == 300
    sizes = Counter(m["family_id"] for m in members)
    assert max(sizes.values()) > 2 and min(sizes.values()) == 1  # families with dependents
    assert {m["plan_id"] for m in members} == set(sample_book.plans)  # several plans
    tx = Counter(r["transaction_code"] for r in rows)
    assert tx["B2"] == stats.reversals > 0 and tx["B3"] == stats.rebills > 0
    refills = [r for r in rows if r["fill_number"] > 0]
    assert len(refills) > len(rows) // 3  # maintenance drugs refilled
    ndcs = Counter(r["ndc"] for r in rows)
    assert ndcs.most_common(1)[0][1] > 10 * (len(rows) / len(ndcs)) / 4  # popular drugs
    dates = [r["date_of_service"] for r in rows]
    assert dates != sorted(dates) or len(set(dates)) > 100  # spread over the year


def test_generate_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "g.csv"
    assert main(["generate", "--members", "5", "--claims", "40", "--seed", "1", "--out",
                 str(out), "--format", "csv", "--with-original"]) == 0
    header, *lines = out.read_text().splitlines()
    assert header.startswith("transaction_code,cardholder_id") and len(lines) == 40
    assert (tmp_path / "g.members.jsonl").exists()
    assert "40 claims" in capsys.readouterr().err


def test_progress_lines_when_not_a_terminal() -> None:
    stream = io.StringIO()
    progress = make_progress(stream=stream, every=0.0)
    progress.start(100)
    progress.advance(40)
    progress.advance(60)
    progress.close()
    lines = stream.getvalue().splitlines()
    assert lines[-1].startswith("pbm reprocess: 100/100 claims (100.0%)")
    assert "claims/s" in lines[0] and "s left" in lines[0]
    quiet = io.StringIO()
    q = make_progress(quiet=True, stream=quiet)
    q.start(10)
    q.advance(10)
    assert quiet.getvalue() == ""
