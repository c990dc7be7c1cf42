"""How araqne compiles the small numba functions that its kernels call in their inner loops.

A numba function that takes arrays increments the reference count of each array argument on
entry and decrements it on every way out (numba's runtime, NRT): two atomic instructions per
array per call.  Its reference-count pruning removes such pairs only where no loop lies between
them, so a helper with a loop keeps them all.  :func:`.partitioner.detach._edge_moved`, called
once for every hyperedge of every vertex move, paid ten per call.

Profiled with ``perf`` on one thread over the 80 Mt-KaHyPar benchmark cases under 2,000 pins,
these increments and decrements took 17% of the time.  They went to 3% once the helpers were
compiled by :func:`borrowing`:
- the small band took 0.83 of the CPU time;
- the cases of 2,000 pins or more took 0.86, on two threads;
- every km1 stayed the same at seeds 0 and 1.
"""

from __future__ import annotations

from typing import Callable, TypeVar

from numba import njit

F = TypeVar("F", bound=Callable)


def borrowing(fn: F) -> F:
    """Compile ``fn`` with numba (cached, without the GIL) and without reference counting.

    Use it for helpers that only read and write the arrays their caller passes in, for as
    long as the call lasts: they must create no array, return none, and call only functions
    that do neither (numba rejects an allocation there at compile time).  The caller, compiled
    with reference counting, keeps the arrays alive.
    """
    return njit(cache=True, nogil=True, _nrt=False)(fn)
