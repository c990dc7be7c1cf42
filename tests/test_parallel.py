"""The thread pool of the partitioner's independent searches (:mod:`araqne.partitioner.parallel`)
and the promise that the thread count never changes a partition."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from araqne import suite
from araqne.api import _as_circuit
from araqne.errors import UsageError
from araqne.hypergraph import build_hypergraph
from araqne.packets import find_windows
from araqne.partitioner import partition_hypergraph
from araqne.partitioner.multilevel import detached_search, start_fresh
from araqne.partitioner.parallel import run_all, serial, start_all, workers

ROOT = Path(__file__).resolve().parents[1]


def test_results_come_in_task_order(monkeypatch):
    monkeypatch.setenv("ARAQNE_THREADS", "2")
    assert run_all([lambda i=i: i * i for i in range(7)]) == [i * i for i in range(7)]
    assert run_all([]) == []


def test_nested_tasks_run_in_their_parent_thread(monkeypatch):
    monkeypatch.setenv("ARAQNE_THREADS", "2")

    def parent():
        me = threading.get_ident()
        return all(t == me for t in run_all([threading.get_ident] * 3))

    assert run_all([parent, parent]) == [True, True]


def test_serial_keeps_every_task_in_the_calling_thread(monkeypatch):
    monkeypatch.setenv("ARAQNE_THREADS", "2")
    me = threading.get_ident()
    with serial():
        assert run_all([threading.get_ident] * 4) == [me] * 4
    # and the pool is used again after the block
    assert run_all([lambda: 1, lambda: 2]) == [1, 2]


def test_threads_setting(monkeypatch):
    monkeypatch.setenv("ARAQNE_THREADS", "3")
    assert workers() == 3
    monkeypatch.delenv("ARAQNE_THREADS")
    assert workers() >= 1
    for bad in ("0", "-2", "many", "1.5"):
        monkeypatch.setenv("ARAQNE_THREADS", bad)
        with pytest.raises(UsageError, match="ARAQNE_THREADS must be a positive integer"):
            workers()


def test_cli_refuses_a_bad_thread_count_in_one_line(tmp_path):
    """A bad ``ARAQNE_THREADS`` is a usage error: one line naming it, exit code 2."""
    env = dict(os.environ, ARAQNE_THREADS="many")
    proc = subprocess.run([sys.executable, "-m", "araqne.cli", "partition",
                           str(ROOT / "circuits" / "qft_16.qasm"), "--qpus", "4",
                           "--out", str(tmp_path / "out")],
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "ARAQNE_THREADS" in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr


def test_an_error_in_a_task_reaches_the_caller(monkeypatch):
    monkeypatch.setenv("ARAQNE_THREADS", "2")

    def boom():
        raise RuntimeError("task failed")

    with pytest.raises(RuntimeError, match="task failed"):
        run_all([lambda: 1, boom])


@pytest.mark.parametrize("name,k", [("cz_fraction_48", 4), ("qft_32", 8), ("qpe_16", 3)])
def test_partition_does_not_depend_on_the_thread_count(monkeypatch, name, k):
    """Restart batches and V-cycle chains run side by side, and the fresh partitions of the
    detached search may start ahead, beside the side-only stage; one thread gives the same
    qubit assignment, gate sides and detached placement as two or four, started ahead or
    not."""
    circ = _as_circuit(suite.get(name).build())
    hg = build_hypergraph(circ, find_windows(circ))
    caps = np.full(k, circ.num_qubits // k + 1, dtype=np.int64)
    runs = []
    for threads in ("1", "2", "4"):
        monkeypatch.setenv("ARAQNE_THREADS", threads)
        for ahead in (False, True):
            fresh = start_fresh(hg, caps, seed=3) if ahead else None
            p = partition_hypergraph(hg, caps, seed=3)
            blocks, km1 = detached_search(hg, caps, p.part, p.side, seed=3, fresh=fresh)
            runs.append((p.part.tolist(), p.side.tolist(), p.km1, blocks.tolist(), km1))
    assert all(run == runs[0] for run in runs)


def test_tasks_started_ahead_run_beside_the_callers_own(monkeypatch):
    """:func:`start_all` returns before its tasks end, on a pool of their own: a task of
    :func:`run_all` started meanwhile runs at once (here it releases the early task, which
    would otherwise wait forever), and the results come in task order."""
    monkeypatch.setenv("ARAQNE_THREADS", "2")
    release = threading.Event()
    pending = start_all([lambda: release.wait(60), lambda: 7])
    assert run_all([release.set, lambda: 1]) == [None, 1]
    assert pending.results() == [True, 7]


def test_the_pool_runs_the_callers_tasks_before_those_started_ahead():
    """An idle worker takes a waiting task of :func:`run_all` before any of
    :func:`start_all`, whatever the order they came in; a cancelled waiting task never runs."""
    from araqne.partitioner.parallel import _Pool

    pool = _Pool(1)
    release = threading.Event()
    order = []
    busy = pool.submit(lambda: release.wait(60))
    early = pool.submit(lambda: order.append("ahead"), ahead=True)
    dropped = pool.submit(lambda: order.append("dropped"), ahead=True)
    assert dropped.cancel()
    now = pool.submit(lambda: order.append("caller"))
    release.set()
    assert busy.result(timeout=60) is True
    now.result(timeout=60)
    early.result(timeout=60)
    assert order == ["caller", "ahead"]
    pool.close()


def test_the_callers_own_started_tasks_go_before_those_started_ahead(monkeypatch):
    """``start_all(..., first=True)`` queues the caller's own tasks, collected later: idle
    workers take them before tasks started ahead earlier, and their results come back in
    task order."""
    monkeypatch.setenv("ARAQNE_THREADS", "2")
    release, proceed = threading.Event(), threading.Event()
    running = threading.Semaphore(0)
    ahead_ran = threading.Event()

    def mine(name):
        def task():
            running.release()
            proceed.wait(60)
            return name
        return task

    blockers = start_all([lambda: release.wait(60)] * 2, first=True)
    ahead = start_all([lambda: ahead_ran.set() or "ahead"])
    own = start_all([mine("mine 0"), mine("mine 1")], first=True)
    release.set()
    # both workers now hold the caller's tasks: the one started ahead still waits
    assert running.acquire(timeout=60) and running.acquire(timeout=60)
    assert not ahead_ran.is_set()
    proceed.set()
    assert blockers.results() == [True, True]
    assert own.results() == ["mine 0", "mine 1"]
    assert ahead.results() == ["ahead"]


def test_tasks_started_ahead_wait_for_their_results_on_one_thread(monkeypatch):
    """On one worker, or inside :func:`serial`, :func:`start_all` starts nothing: the tasks
    run in the calling thread when their results are asked for (so CPU timings of one thread
    hold them), and not at all once cancelled."""
    ran = []
    for threads, quiet in (("1", False), ("2", True)):
        monkeypatch.setenv("ARAQNE_THREADS", threads)
        with serial() if quiet else _nothing():
            pending = start_all([lambda: ran.append(threading.get_ident()) or len(ran)])
            assert ran == []
            assert pending.results() == [1]
            assert ran == [threading.get_ident()]
            ran.clear()
            cancelled = start_all([lambda: ran.append(1)])
            cancelled.cancel()
            assert cancelled.results() == [] and ran == []


def test_fresh_partitions_of_another_search_are_refused():
    circ = _as_circuit(suite.get("qft_32").build())
    hg = build_hypergraph(circ, find_windows(circ))
    caps = np.full(4, 9, dtype=np.int64)
    p = partition_hypergraph(hg, caps, seed=0)
    for fresh in (start_fresh(hg, caps, seed=1), start_fresh(hg, caps + 1, seed=0),
                  start_fresh(hg, caps, seed=0, effort=0.5)):
        with pytest.raises(ValueError, match="another search"):
            detached_search(hg, caps, p.part, p.side, seed=0, fresh=fresh)
        fresh.cancel()


@contextlib.contextmanager
def _nothing():
    yield


def _partition_in_child(queue) -> None:
    circ = _as_circuit(suite.get("qft_32").build())
    hg = build_hypergraph(circ, find_windows(circ))
    caps = np.full(4, 9, dtype=np.int64)
    queue.put(int(partition_hypergraph(hg, caps, seed=1).km1))


def test_a_forked_child_gets_its_own_pool(monkeypatch):
    """Qiskit's parallel_map and ``araqne bench --jobs`` fork: the child must not submit to
    the parent's pool, whose threads it does not have (that would wait forever)."""
    import multiprocessing

    monkeypatch.setenv("ARAQNE_THREADS", "2")
    assert run_all([lambda: 1, lambda: 2]) == [1, 2]  # the parent's pool exists now
    circ = _as_circuit(suite.get("qft_32").build())
    hg = build_hypergraph(circ, find_windows(circ))
    expected = int(partition_hypergraph(hg, np.full(4, 9, dtype=np.int64), seed=1).km1)
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_partition_in_child, args=(queue,))
    child.start()
    child.join(timeout=240)
    alive = child.is_alive()
    if alive:
        child.kill()
    assert not alive, "the forked child hung on the parent's thread pool"
    assert child.exitcode == 0
    assert queue.get(timeout=10) == expected


def test_fresh_partitions_start_only_where_the_search_may_need_them(monkeypatch):
    """Where the linear seed already meets the km1 lower bound (GHZ), the side-only start will
    too and the detached search stops there: its fresh partitions are not started (they would
    take the cores from the side-only stage for nothing).  Elsewhere they start at once."""
    monkeypatch.setenv("ARAQNE_THREADS", "2")
    for name, k, started in (("ghz_32", 4, False), ("qft_32", 4, True)):
        circ = _as_circuit(suite.get(name).build())
        hg = build_hypergraph(circ, find_windows(circ))
        caps = np.full(k, circ.num_qubits // k + 1, dtype=np.int64)
        fresh = start_fresh(hg, caps, seed=0)
        assert fresh.pending.started is started
        p = partition_hypergraph(hg, caps, seed=0)
        blocks, km1 = detached_search(hg, caps, p.part, p.side, seed=0, fresh=fresh)
        assert (km1 == fresh.bound) is not started
