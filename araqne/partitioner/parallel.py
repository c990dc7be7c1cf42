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

:func:`start_all` starts tasks ahead and returns at once: work that does not need the caller's
next result (the fresh multilevel partitions of the detached search, while the side-only stage
runs) then fills the cores that the caller's own serial steps and uneven batches leave idle.
Both kinds share one pool of :func:`workers` threads, whose idle threads take the caller's
tasks first and tasks started ahead only when none wait: the caller's tasks never queue behind
them, and no more threads than cores compete (a second pool for the tasks started ahead ran
four threads on two cores, and the 131 Mt-KaHyPar benchmark cases took 3 to 6% longer).  Its
results are collected later, in task order, so they too never depend on the thread count.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from concurrent.futures import Future
from contextlib import contextmanager
from typing import Callable, Generic, Iterator, TypeVar

from ..errors import UsageError

T = TypeVar("T")

_local = threading.local()
_pool: _Pool | None = None
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
    return _CORES


_CORES = max(1, os.cpu_count() or 1)
"""The machine's cores, read once: :func:`os.cpu_count` took about 30 us a call here, and
:func:`workers` is asked before every batch of tasks."""


class _Pool:
    """``size`` worker threads over two queues: a task of the caller (:func:`run_all`) before
    any task started ahead (:func:`start_all`), each queue first in, first out."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._cond = threading.Condition()
        self._now: deque = deque()
        self._later: deque = deque()
        self._closed = False
        for i in range(size):
            threading.Thread(target=self._work, name=f"araqne_{i}", daemon=True).start()

    def submit(self, task: Callable[[], T], ahead: bool = False) -> Future:
        """Queue ``task``; its future holds the result (cancel it while it waits to drop it)."""
        future: Future = Future()
        with self._cond:
            (self._later if ahead else self._now).append((future, task))
            self._cond.notify()
        return future

    def close(self) -> None:
        """Let the threads end once both queues are empty."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def _work(self) -> None:
        while True:
            with self._cond:
                while not (self._now or self._later or self._closed):
                    self._cond.wait()
                if not (self._now or self._later):
                    return
                future, task = (self._now or self._later).popleft()
            if not future.set_running_or_notify_cancel():
                continue
            try:
                result = _in_task(task)
            except BaseException as exc:  # noqa: BLE001 (handed to the caller)
                future.set_exception(exc)
            else:
                future.set_result(result)


def _forget_pool_after_fork() -> None:
    """A forked child holds a copy of the pool without its threads: start a new one there."""
    global _pool, _pool_lock
    _pool = None
    _pool_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool_after_fork)


def _get_pool(size: int) -> _Pool:
    """The pool of :func:`run_all` and :func:`start_all`, with ``size`` threads."""
    global _pool
    with _pool_lock:
        if _pool is None or _pool.size != size:  # resize on change
            if _pool is not None:
                _pool.close()
            _pool = _Pool(size)
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
    futures = [pool.submit(task) for task in tasks]
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


def start_all(tasks: list[Callable[[], T]], start: bool = True,
              first: bool = False) -> Pending[T]:
    """Start independent ``tasks`` and return at once.

    They run on threads of the pool left idle by :func:`run_all`'s tasks, which always go
    first, so the caller's own tasks meanwhile do not queue behind these; with ``first`` they
    are the caller's own tasks (queued as :func:`run_all`'s are), which the caller collects
    later so that it can queue more before they end (no core idles at a barrier between two
    batches that do not depend on each other).  On one worker, inside a task or
    :func:`serial`, or when not ``start`` (the caller expects not to need them), nothing
    starts: :meth:`Pending.results` then runs the tasks in the calling thread.
    """
    size = workers()
    if not start or size <= 1 or not tasks or getattr(_local, "busy", False):
        return Pending(tasks, None)
    pool = _get_pool(size)
    return Pending(tasks, [pool.submit(task, ahead=not first) for task in tasks])
