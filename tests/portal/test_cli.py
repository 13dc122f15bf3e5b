"""`pbm estimate`, `pbm drugs` and `pbm statement` as a user runs them."""

from __future__ import annotations

from pathlib import Path

import pytest

from pbm_engine.cli import main
from pbm_engine.engine import Engine
from pbm_engine.processor import Processor
from pbm_engine.sources.loader import load_sample_book
from pbm_engine.store.sqlite import SqliteStore
from tests.portal.conftest import fill


def test_estimate_drugs_and_statement(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                      ) -> None:
    db = tmp_path / "s.db"
    with SqliteStore(db) as store:
        assert Processor(Engine(load_sample_book()), store).submit(
            fill("PPO1001", "16571080316", "2026-02-01", quantity="9")).paid
    assert main(["estimate", "PPO1001-001", "--ndc", "64896008412", "--date", "2026-03-02",
                 "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "ZOMIG 5 MG NASAL SPRAY" in out and "generic      ZOLMITRIPTAN 5 MG NASAL SPRAY" in out
    assert main(["estimate", "PPO1001-001", "--drug", "zolmitriptan 2.5 mg tablet", "--date",
                 "2026-03-10", "--ivr", "--words"]) == 0
    assert "costs you ten dollars." in capsys.readouterr().out
    assert main(["drugs", "PPO1001-001", "zolmi 2.5"]) == 0
    assert "ZOLMITRIPTAN 2.5 MG TABLET" in capsys.readouterr().out
    assert main(["statement", "PPO1001-001", "--db", str(db), "--from", "2026-02-01", "--to",
                 "2026-02-28", "--html"]) == 0
    assert "ZOLMITRIPTAN 2.5 MG TABLET" in capsys.readouterr().out
    assert main(["estimate", "NOPE-001", "--ndc", "16571080316"]) == 2
    assert "NOPE-001 is not on file" in capsys.readouterr().err
