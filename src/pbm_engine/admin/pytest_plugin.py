"""A pytest plugin (registered by the ``pytest11`` entry point): ``pytest scenarios/`` runs
every ``*.scenario.yaml`` file, one test item per scenario, with a readable failure report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pbm_engine.admin.scenarios import (
    ScenarioError,
    ScenarioOutcome,
    is_scenario_file,
    load_scenario,
    run_scenario,
)

__all__ = ["ScenarioFailed", "ScenarioFile", "ScenarioItem", "pytest_collect_file"]


class ScenarioFailed(Exception):
    """Raised by a scenario item whose checks failed; carries the outcome."""

    def __init__(self, outcome: ScenarioOutcome) -> None:
        super().__init__(outcome.describe_failures())
        self.outcome = outcome


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    """Collect ``*.scenario.yaml`` files as :class:`ScenarioFile` nodes."""
    if is_scenario_file(file_path):
        return ScenarioFile.from_parent(parent, path=file_path)
    return None


class ScenarioFile(pytest.File):
    """One scenario file: a single item named after the scenario."""

    def collect(self) -> Any:
        try:
            scenario = load_scenario(self.path)
        except ScenarioError as exc:
            yield ScenarioItem.from_parent(self, name=self.path.name, scenario=None,
                                           error=str(exc))
            return
        yield ScenarioItem.from_parent(self, name=scenario.name, scenario=scenario, error=None)


class ScenarioItem(pytest.Item):
    """Runs one scenario; fails with each failing check as expected vs got."""

    def __init__(self, *, scenario: Any, error: str | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scenario = scenario
        self.error = error

    def runtest(self) -> None:
        if self.error is not None:
            raise ScenarioError(self.error)
        outcome = run_scenario(self.scenario)
        if not outcome.passed:
            raise ScenarioFailed(outcome)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException],
                     style: Any = None) -> str:
        if isinstance(excinfo.value, ScenarioFailed | ScenarioError):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo, style=style))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"scenario: {self.name}"
