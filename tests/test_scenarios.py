"""Run every YAML scenario in scenarios/: claims in order through one store, checking answers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from pbm_engine.engine import Engine
from pbm_engine.processor import Processor
from pbm_engine.sources.loader import load_book, load_sample_book
from pbm_engine.store.memory import MemoryStore

SCENARIOS = sorted((Path(__file__).parent.parent / "scenarios").glob("*.yaml"))


def run_scenario(path: Path) -> list[str]:
    """Return a list of mismatches (empty when the scenario passes)."""
    spec: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    ref = spec["book"]
    book = load_sample_book() if ref == "sample" else load_book(path.parent / ref)
    processor = Processor(Engine(book), MemoryStore())
    defaults = spec.get("defaults", {})
    problems = []
    for i, step in enumerate(spec["claims"], start=1):
        result = processor.submit({**defaults, **step["claim"]}).to_dict()
        for field, want in step["expect"].items():
            got = [r["code"] for r in result["rejects"]] if field == "rejects" \
                else result.get(field)
            ok = set(want) <= set(got) if field == "rejects" else got == want
            if not ok:
                problems.append(f"claim {i} ({step.get('note', '')}): {field} = {got!r}, "
                                f"expected {want!r}; rejects {result['rejects']}")
    return problems


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_scenario(path: Path) -> None:
    assert run_scenario(path) == []


def test_scenarios_exist() -> None:
    assert len(SCENARIOS) >= 5
