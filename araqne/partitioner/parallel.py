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
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Callable, Iterator, TypeVar

from ..errors import UsageError

T = TypeVar("T")

_local = threading.local()
_pool: ThreadPoolExecutor | None = None
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
    """A forked child holds a copy of the pool without its threads: start a new one there."""
    global _pool, _pool_lock
    _pool = None
    _pool_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool_after_fork)


def _get_pool(size: int) -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None or _pool._max_workers != size:  # noqa: SLF001 (resize on change)
            if _pool is not None:
                _pool.shutdown(wait=False)
            _pool = ThreadPoolExecutor(max_workers=size, thread_name_prefix="araqne")
        return _pool


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
