"""How araqne compiles the small numba functions that its kernels call in their inner loops.

A numba function that takes arrays increments the reference count of each array argument on
entry and decrements it on every way out (numba's runtime, NRT): two atomic instructions per
array per call, which its reference-count pruning removes only in part:
:func:`.partitioner.detach._edge_moved`, called once for every hyperedge of every vertex move,
kept five of its seven pairs (ten atomic instructions a call; read in its LLVM IR).

Profiled with ``perf`` on one thread over the 80 Mt-KaHyPar benchmark cases under 2,000 pins,
these increments and decrements took 17% of the time, and 1% once the helpers were compiled by
:func:`borrowing`.  Alternated runs of the 131 cases at seeds 0 and 1, every km1 the same:
- one thread: 0.84 of the time under 2,000 pins, 0.83 from 2,000 pins;
- two threads: 0.84 of the wall time, 0.83 of the CPU time.
"""

from __future__ import annotations

from typing import Callable, TypeVar

from numba import njit

F = TypeVar("F", bound=Callable)


def borrowing(fn: F) -> F:
    """Compile ``fn`` with numba (cached, without the GIL) and without reference counting.

    Use it for helpers that only read and write the arrays their caller passes in, for as
    long as the call lasts: they may neither create an array nor return one, and may call
    only functions that do neither (numba rejects an allocation there at compile time).  The
    caller, compiled with reference counting, keeps the arrays alive.
    """
    return njit(cache=True, nogil=True, _nrt=False)(fn)
