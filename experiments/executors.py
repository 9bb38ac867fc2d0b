"""Executors: where the runs of a sweep are computed, behind one interface.

`Executor.map_unordered(fn, tasks)` yields `fn(task)` for every task as runs finish, with
at most `in_flight` tasks submitted at once, so memory stays bounded however many runs an
experiment has. Results do not depend on the executor: each run is a pure function of
its task (seed and parameters).

- `SequentialExecutor`: in this process, one run at a time (debugging, small runs).
- `ProcessExecutor`: local worker processes started by *spawn* (safe in notebooks, on
  macOS and with threads; the default).
- `DaskExecutor`: a Dask distributed cluster, existing (`--scheduler ADDRESS`, e.g. one
  started by dask-jobqueue on SLURM) or a LocalCluster started here (`--dask-local N`).
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from huzhu.model.threads import THREADS_ENVIRONMENT

EXECUTORS = ("sequential", "processes", "dask")


SCHEDULER_CONNECT_TIMEOUT = "30s"  # a cluster's scheduler may be busy; longer than Dask's default 5 s


class ExecutorError(ValueError):
    """An executor could not be started with the options given (for example a Dask
    scheduler address that cannot be reached)."""


class WorkerLostError(RuntimeError):
    """A worker process died while running a task (killed, or out of memory)."""


class SequentialExecutor:
    """Runs tasks one after another in this process."""

    name = "sequential"
    workers = 1

    def map_unordered(self, fn: Callable, tasks: Iterable, on_lost: Callable | None = None) -> Iterator[Any]:
        for task in tasks:
            yield fn(task)

    def close(self) -> None:
        pass


class ProcessExecutor:
    """Runs tasks in local worker processes started by spawn.

    Args:
        workers: Number of processes (default: the CPUs this process may use).
        in_flight: Tasks submitted ahead (default: two per worker).
    """

    name = "processes"

    def __init__(self, workers: int | None = None, in_flight: int | None = None):
        self.workers = workers or available_cpus()
        self.in_flight = in_flight or 2 * self.workers
        self._pool: ProcessPoolExecutor | None = None

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"), initializer=one_thread_each
        )

    def map_unordered(self, fn: Callable, tasks: Iterable, on_lost: Callable | None = None) -> Iterator[Any]:
        """Yield results as they finish.

        Args:
            fn: Module-level function of one task.
            tasks: The tasks.
            on_lost: Called as on_lost(task, error) for each task whose worker died; its
                return value is yielded in place of a result. Without it the error is raised.
        """
        pending = iter(tasks)
        running: dict[Future, Any] = {}
        self._pool = self._pool or self._new_pool()
        try:
            while True:
                while len(running) < self.in_flight:
                    task = next(pending, None)
                    if task is None:
                        break
                    running[self._pool.submit(fn, task)] = task
                if not running:
                    return
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                broken = False
                for future in done:
                    task = running.pop(future)
                    try:
                        yield future.result()
                    except BrokenProcessPool as error:
                        broken = True
                        yield _lost(task, error, on_lost)
                if broken:
                    # A dead worker breaks the whole pool: the other runs in it are lost too.
                    for future, task in list(running.items()):
                        future.cancel()
                        yield _lost(task, BrokenProcessPool("the process pool broke"), on_lost)
                    running.clear()
                    self._pool.shutdown(wait=False, cancel_futures=True)
                    self._pool = self._new_pool()
        finally:
            for future in running:
                future.cancel()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


class DaskExecutor:
    """Runs tasks on a Dask distributed cluster.

    Args:
        scheduler: Address of a running scheduler (tcp://host:8786); None starts a
            LocalCluster with `local_workers` single-threaded worker processes.
        local_workers: Worker processes of the LocalCluster.
        in_flight: Tasks submitted ahead (default: two per worker thread, at least 4).
    """

    name = "dask"

    def __init__(self, scheduler: str | None = None, local_workers: int | None = None, in_flight: int | None = None):
        try:
            from distributed import Client, LocalCluster
        except ImportError as error:  # pragma: no cover - distributed is a dependency
            raise ExecutorError(f"the dask executor needs the package distributed ({error})") from None
        self._cluster = None
        try:
            if scheduler is None:
                self._cluster = LocalCluster(
                    n_workers=local_workers or available_cpus(),
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                    env={THREADS_ENVIRONMENT: os.environ.get(THREADS_ENVIRONMENT) or "1"},
                )
                self.client = Client(self._cluster)
            else:
                self.client = Client(scheduler, timeout=SCHEDULER_CONNECT_TIMEOUT)
        except (OSError, TimeoutError) as error:
            if self._cluster is not None:
                self._cluster.close()
            raise ExecutorError(f"cannot reach the Dask scheduler {scheduler!r}: {error}") from None
        threads = sum(self.client.nthreads().values()) or 1
        self.workers = threads
        self.in_flight = in_flight or max(4, 2 * threads)

    def map_unordered(self, fn: Callable, tasks: Iterable, on_lost: Callable | None = None) -> Iterator[Any]:
        from distributed import as_completed

        pending = iter(tasks)
        first = []
        for task in pending:
            first.append(task)
            if len(first) >= self.in_flight:
                break
        if not first:
            return
        futures = {self.client.submit(fn, task, pure=False): task for task in first}
        queue = as_completed(list(futures))
        for future in queue:
            task = futures.pop(future)
            try:
                yield future.result()
            except Exception as error:  # the task itself never raises; this is a lost worker
                yield _lost(task, error, on_lost)
            future.release()
            following = next(pending, None)
            if following is not None:
                new = self.client.submit(fn, following, pure=False)
                futures[new] = following
                queue.add(new)

    def close(self) -> None:
        self.client.close()
        if self._cluster is not None:
            self._cluster.close()


def make_executor(
    kind: str = "processes", workers: int | None = None, scheduler: str | None = None, dask_local: int | None = None
):
    """An executor by name.

    Args:
        kind: One of EXECUTORS; a `scheduler` or `dask_local` implies "dask".
        workers: Processes of the "processes" executor.
        scheduler: Dask scheduler address.
        dask_local: Workers of a Dask LocalCluster started here.

    Raises:
        ValueError: On an unknown kind or contradictory options.
    """
    if scheduler is not None and dask_local is not None:
        raise ValueError("--scheduler and --dask-local exclude each other: use an existing cluster or start one")
    if scheduler is not None or dask_local is not None:
        if kind not in ("dask", "processes"):
            raise ValueError(f"--scheduler/--dask-local need the dask executor, not {kind!r}")
        kind = "dask"
    if kind not in EXECUTORS:
        raise ValueError(f"unknown executor {kind!r}: one of {', '.join(EXECUTORS)}")
    if workers is not None and workers < 1:
        raise ValueError(f"workers={workers}: allowed 1 or more")
    if dask_local is not None and dask_local < 1:
        raise ValueError(f"--dask-local {dask_local}: allowed 1 or more")
    if kind == "sequential":
        return SequentialExecutor()
    if kind == "processes":
        return ProcessExecutor(workers)
    return DaskExecutor(scheduler, dask_local)


def one_thread_each() -> None:
    """In a worker process: compiled passes on one thread, unless `HUZHU_THREADS` says
    otherwise, so that worker processes and their threads do not compete for the cores."""
    os.environ.setdefault(THREADS_ENVIRONMENT, "1")


def available_cpus() -> int:
    """CPUs this process may run on (respects affinity masks and container limits)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def _lost(task: Any, error: BaseException, on_lost: Callable | None) -> Any:
    if on_lost is None:
        raise WorkerLostError(f"a worker died running {task!r}: {error}") from error
    return on_lost(task, error)
