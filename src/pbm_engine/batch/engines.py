"""The parallel engines: a local process pool and a Dask distributed cluster.

Both hand out :class:`~pbm_engine.batch.worker.PartitionTask` values (a few strings) and get
back checkpoints (counts and cents); claims and results stay in the workers, which read and
write the partition files themselves.  Dask is imported only here, only when asked for.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any

from pbm_engine.batch.worker import PartitionTask, run_partition
from pbm_engine.errors import UsageError

__all__ = ["run_dask", "run_pool"]


def _die_with_parent() -> None:
    """Pool initializer: on Linux, end the worker when the driver dies (e.g. SIGKILL)."""
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def run_pool(tasks: list[PartitionTask], workers: int,
             done: Callable[[dict[str, Any]], None]) -> None:
    """Run the tasks on ``workers`` local processes (spawned, so safe on every platform)."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(workers, len(tasks)), mp_context=context,
                             initializer=_die_with_parent) as pool:
        pending = {pool.submit(run_partition, task) for task in tasks}
        while pending:
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                done(future.result())


def run_dask(tasks: list[PartitionTask], workers: int, scheduler: str | None,
             done: Callable[[dict[str, Any]], None]) -> None:
    """Run the tasks on the Dask cluster at ``scheduler``, or on a new local cluster.

    Workers of an existing cluster must see the output directory at the same path (a shared
    file system) and have pbm-engine installed.
    """
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise UsageError("the dask engine needs dask: pip install 'pbm-engine[batch]'") from None
    cluster = None
    if scheduler:
        client = Client(scheduler)
    else:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=":0")
        client = Client(cluster)
    try:
        futures = client.map(run_partition, tasks, pure=False)
        for future in as_completed(futures):
            done(future.result())
            future.release()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
