"""Run independent searches side by side on the machine's cores.

The partitioner's kernels are numba functions compiled with ``nogil=True``: two of them called
from two Python threads run at once.  :func:`run_all` runs a list of independent tasks (restarts,
V-cycle chains, tabu walks) on a shared thread pool and returns their results in task order, so
a caller that keeps the first best result gets the same answer on one core or on many: the
thread count changes the time, never the partition.

Tasks started from inside a task run in that task's thread, one after another (a nested search,
e.g. a recursive-bisection seed, would otherwise wait on a pool its own parent occupies), and so
do all tasks started under :func:`serial` (``araqne bench`` times CPU work in one thread).
``ARAQNE_THREADS`` caps the workers (default: every core).

:func:`start_all` starts tasks ahead on a second pool and returns at once: work that does not
need the caller's next result (the fresh multilevel partitions of the detached search, while
the side-only stage runs) then fills the cores that the caller's own serial steps and uneven
batches leave idle.  Its results are collected later, in task order, so they too never depend
on the thread count.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Callable, Generic, Iterator, TypeVar

from ..errors import UsageError

T = TypeVar("T")

_local = threading.local()
_pool: ThreadPoolExecutor | None = None
_ahead: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def workers() -> int:
    """Worker threads of the pool: ``ARAQNE_THREADS`` when set, else the cores.

    Raises
    ------
    UsageError
        When ``ARAQNE_THREADS`` is not a positive integer.
    """
    env = os.environ.get("ARAQNE_THREADS", "").strip()
    if env:
        try:
            value = int(env)
        except ValueError:
            value = 0
        if value < 1:
            raise UsageError(f"environment variable ARAQNE_THREADS must be a positive integer, "
                             f"got {env!r}")
        return value
    return max(1, os.cpu_count() or 1)


def _forget_pool_after_fork() -> None:
    """A forked child holds a copy of the pools without their threads: start new ones there."""
    global _pool, _ahead, _pool_lock
    _pool = _ahead = None
    _pool_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool_after_fork)


def _get_pool(size: int, ahead: bool = False) -> ThreadPoolExecutor:
    """The pool of :func:`run_all`, or with ``ahead`` that of :func:`start_all`, with
    ``size`` threads."""
    global _pool, _ahead
    with _pool_lock:
        pool = _ahead if ahead else _pool
        if pool is None or pool._max_workers != size:  # noqa: SLF001 (resize on change)
            if pool is not None:
                pool.shutdown(wait=False)
            pool = ThreadPoolExecutor(max_workers=size,
                                      thread_name_prefix="araqne-ahead" if ahead else "araqne")
            if ahead:
                _ahead = pool
            else:
                _pool = pool
        return pool


@contextmanager
def serial() -> Iterator[None]:
    """Run every task started in this thread inside the block in this thread, in order.

    Same results (see the module docstring); the CPU time of the calling thread then holds all
    the work, which is what ``araqne bench`` measures.
    """
    before = getattr(_local, "busy", False)
    _local.busy = True
    try:
        yield
    finally:
        _local.busy = before


def run_all(tasks: list[Callable[[], T]]) -> list[T]:
    """Results of ``tasks`` (callables without arguments), in order, run concurrently.

    Parameters
    ----------
    tasks : list of callable
        Independent tasks: none may read what another writes.

    Returns
    -------
    list
        ``[task() for task in tasks]``, computed on up to :func:`workers` threads.
    """
    size = workers()
    if min(size, len(tasks)) <= 1 or getattr(_local, "busy", False):
        return [task() for task in tasks]
    pool = _get_pool(size)
    futures = [pool.submit(_in_task, task) for task in tasks]
    return [f.result() for f in futures]


def _in_task(task: Callable[[], T]) -> T:
    """Run ``task`` in a pool thread; what it starts runs there too (see :func:`serial`)."""
    with serial():
        return task()


class Pending(Generic[T]):
    """Tasks started by :func:`start_all`; :meth:`results` waits for them."""

    def __init__(self, tasks: list[Callable[[], T]], futures: list | None) -> None:
        self._tasks = tasks
        self._futures = futures

    @property
    def started(self) -> bool:
        """Whether the tasks run on threads of their own (else :meth:`results` runs them)."""
        return self._futures is not None

    def results(self) -> list[T]:
        """``[task() for task in tasks]``: computed now when no thread started them."""
        if self._futures is None:
            return [task() for task in self._tasks]
        return [f.result() for f in self._futures]

    def cancel(self) -> None:
        """Drop the tasks not yet started (the caller no longer needs any result)."""
        if self._futures is not None:
            for f in self._futures:
                f.cancel()
        self._tasks = []
        self._futures = []


def start_all(tasks: list[Callable[[], T]], start: bool = True) -> Pending[T]:
    """Start independent ``tasks`` on a pool of their own and return at once.

    The pool is not :func:`run_all`'s, so the caller's own tasks meanwhile do not queue
    behind these: both share the cores.  On one worker, inside a task or :func:`serial`, or
    when not ``start`` (the caller expects not to need them), nothing starts:
    :meth:`Pending.results` then runs the tasks in the calling thread.
    """
    size = workers()
    if not start or size <= 1 or not tasks or getattr(_local, "busy", False):
        return Pending(tasks, None)
    pool = _get_pool(size, ahead=True)
    return Pending(tasks, [pool.submit(_in_task, task) for task in tasks])
