"""Run claim files through a processor without ever stopping on a line.

Used by ``pbm adjudicate`` and ``pbm partd adjudicate``.  Each result is written to the results
file; each line that could not be processed (not JSON, or an internal error on that claim,
which the processor answers with reject 99 and rolls back) is written to the errors file beside
it (``results.errors.jsonl`` for ``results.jsonl``) as ``{"file", "line", "error"}`` plus the
claim's key when there is one, never member data.  Both files are written atomically
(:class:`~pbm_engine.cli.paths.SafeOutput`).

Exit statuses of the commands: 0 every line was read and processed; 1 some lines failed (listed
in the errors file and summed up on stderr); 2 a usage error (nothing written).
"""

from __future__ import annotations

import sys
from collections import Counter, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from pbm_engine.cli.paths import SafeOutput
from pbm_engine.cli.textio import Unreadable, read_lines
from pbm_engine.codes import Reject
from pbm_engine.result import ClaimResult

__all__ = ["RunSummary", "errors_path", "run_claims"]


def errors_path(out: Path) -> Path:
    """The errors file beside a results file: ``x.errors.jsonl`` for ``x.jsonl``."""
    return out.with_name(f"{out.stem}.errors{out.suffix or '.jsonl'}")


@dataclass(slots=True)
class RunSummary:
    """What a run did: results by status, and the lines that failed."""

    counts: Counter[str] = field(default_factory=Counter)
    errors: list[dict[str, Any]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def report(self, errors_file: Path) -> int:
        """Print the failed-lines summary on stderr; return the exit status (0 or 1)."""
        if not self.errors:
            return 0
        first = self.errors[0]
        print(f"pbm: {len(self.errors)} line(s) could not be processed (first: {first['file']} "
              f"line {first['line']}: {first['error']}); listed in {errors_file}",
              file=sys.stderr)
        return 1


def _key(result: ClaimResult) -> dict[str, Any]:
    return {"pharmacy_id": result.pharmacy_id, "rx_number": result.rx_number,
            "fill_number": result.fill_number,
            "date_of_service": result.date_of_service.isoformat()
            if result.date_of_service else None}


def run_claims(submit_many: Callable[..., Iterator[ClaimResult]], files: list[Path],
               results: SafeOutput, errors: SafeOutput,
               each: Callable[[ClaimResult], None] = lambda r: None,
               **options: Any) -> RunSummary:
    """Feed every readable line of ``files`` to ``submit_many`` (a processor's
    ``submit_many``, called with ``options``), write results and errors; never stop on a line."""
    summary = RunSummary()
    places: deque[tuple[Path, int]] = deque()
    order = {path: i for i, path in enumerate(files)}

    def requests() -> Iterator[Any]:
        for path, number, value in read_lines(files):
            if isinstance(value, Unreadable):
                summary.errors.append({"file": str(path), "line": number,
                                       "error": value.reason})
                continue
            places.append((path, number))
            yield value

    with results.open() as out:
        for result in submit_many(requests(), **options):
            path, number = places.popleft()
            if any(r.code == Reject.HOST_PROCESSING_ERROR for r in result.rejects):
                summary.errors.append({"file": str(path), "line": number,
                                       "error": result.rejects[0].message,
                                       "claim": _key(result)})
            try:
                line = orjson.dumps(result.to_dict())
            except (TypeError, orjson.JSONEncodeError) as exc:
                summary.errors.append({"file": str(path), "line": number, "claim": _key(result),
                                       "error": f"result not serializable ({type(exc).__name__})"})
                continue
            summary.counts[result.status.value] += 1
            each(result)
            out.write(line + b"\n")
    summary.errors.sort(key=lambda e: (order.get(Path(e["file"]), 0), e["line"]))
    with errors.open() as handle:
        for error in summary.errors:
            handle.write(orjson.dumps(error) + b"\n")
    return summary

