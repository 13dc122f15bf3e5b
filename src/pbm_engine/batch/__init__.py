"""Batch reprocessing: stream claims, partition by family, run on one process, a local pool or
a Dask cluster, compare with the original answers, and write the same bytes whichever ran it.

The public surface::

    summary = run(["claims.jsonl"], "book.yaml", "out/", engine="pool", workers=2)
    summary.document        # the summary.json document (schema in docs/batch-reprocessing.md)
    summary.tally           # the same as a mergeable data model (Tally)
    summary.exit_status     # 0, or 1 when some input lines were unreadable

    generate(members=1000, claims=20000, seed=7, out="claims.jsonl", book=load_sample_book())
"""

from pbm_engine.batch.diff import SCHEMA, Change, Original, Tally, compare, original_of
from pbm_engine.batch.generate import generate
from pbm_engine.batch.members import BookMembers, ChainedMembers, FileMembers, MemberSource
from pbm_engine.batch.progress import Progress, make_progress
from pbm_engine.batch.report import markdown
from pbm_engine.batch.runner import ENGINES, Summary, run
from pbm_engine.batch.snapshot import SeededStore, read_snapshot

__all__ = [
    "ENGINES",
    "SCHEMA",
    "BookMembers",
    "ChainedMembers",
    "Change",
    "FileMembers",
    "MemberSource",
    "Original",
    "Progress",
    "SeededStore",
    "Summary",
    "Tally",
    "compare",
    "generate",
    "make_progress",
    "markdown",
    "original_of",
    "read_snapshot",
    "run",
]
