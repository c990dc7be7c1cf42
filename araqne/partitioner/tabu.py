"""Tabu search over single-vertex moves: the last polish of the detached search.

Fiduccia-Mattheyses stops at the best prefix of a pass and V-cycles restart from it, so both
settle in the first local optimum whose neighbours all cost more.  Tabu search keeps walking:
every step makes the best move that is not tabu (the reverse of a recent move), even an uphill
one, and remembers the best balanced state it passed.  On small hypergraphs, such as the
weighted qubit graph that quantum-volume circuits reduce to (:mod:`.reduce`), a few thousand
steps cost milliseconds and cross the ridges between the optima FM stops in.

The gains come from the same cache as :func:`.detach.detach_refine` (``ben``/``pen``, updated
per hyperedge by :func:`.detach._edge_moved`).  Every (vertex, QPU) move sits in a max-heap
keyed by its gain (random tie-breaks); a step pops the best entries until one is admissible
and not tabu, puts the others back, and re-keys only the moves whose gain the step changed
(the pins of the hyperedges whose count crossed 0 or 1 on the two QPUs).  A step thus costs
about the degree of the moved vertex times its hyperedge sizes, not a scan of every vertex and
QPU, so long walks stay cheap: tens of thousands of steps, which is what the ridges of e.g.
QAOA's 3-regular graphs take.  Below :data:`SCAN_CELLS` moves the step scans them all
instead.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..jit import borrowing
from .detach import _edge_moved, _init_cache, _own_ben, block_counts
from .refine import _heap_pop, _heap_push, km1_of_counts


TIE = 1 << 16
"""Heap keys of :func:`tabu_refine` are ``gain * TIE`` plus a random tie-break below ``TIE``."""

HEAP_UNITS = 24
"""Work units of one heap push or pop in :func:`tabu_refine`'s ``work``; a scanned move is one,
a move whose gain a heap step re-reads three: 2 to 3 ns a unit either way on this machine."""

SCAN_CELLS = 1500
"""Below this many (vertex, QPU) moves :func:`tabu_refine` scans them all at every step instead
of keeping the heap: on such small, dense hypergraphs (a few dozen qubits whose every move
changes the gains of most others) the scan was 1 to 3 times faster, above it the heap 3 to 8
times (10,000 steps: random_cx_32 at k=4 0.07 s against 0.20 s; qft_32 at k=4 0.16 against
0.05 s; QAOA-128 at k=4, 2,048 moves, 8 times)."""


@borrowing
def _rekey(u, k, blocks, ben, pen, live, key, hkey, hitem, hsize):
    """Queue every move of ``u`` whose gain changed since its last entry (and retire the move
    to ``u``'s own QPU); the heap is rebuilt from the live entries when full.  Returns the
    heap size.  A key's gain is ``key // TIE``."""
    for p in range(k):
        c = u * k + p
        if p == blocks[u]:
            live[c] = False
            continue
        g = ben[u] - pen[c]
        if live[c] and key[c] // TIE == g:
            continue
        live[c] = True
        key[c] = g * TIE + np.random.randint(TIE)
        if hsize >= hkey.shape[0]:
            hsize = 0
            for d in range(live.shape[0]):
                if live[d] and d != c:
                    hsize = _heap_push(hkey, hitem, hsize, key[d], d)
        hsize = _heap_push(hkey, hitem, hsize, key[c], c)
    return hsize


@borrowing
def _list_once(u, step, mark, dirty, ndirty):
    """Append ``u`` to the ``dirty`` pins of this step unless already listed; return their
    number."""
    if mark[u] != step:
        mark[u] = step
        dirty[ndirty] = u
        ndirty += 1
    return ndirty


@njit(cache=True, nogil=True)
def tabu_refine(k, eptr, epin, vptr, vedge, eweight, vweight, cap, blocks, steps, tenure, span,
                seed, patience=0, scan_cells=SCAN_CELLS, trace=None, work=0):
    """Improve the balanced placement ``blocks`` of every vertex by tabu search, in place.

    Every step makes the best move (highest gain, ties at random) that keeps each QPU within
    one vertex weight of its capacity and is not tabu; a tabu move is allowed when it reaches
    a new best balanced placement (aspiration).  While a QPU is over its capacity the step
    moves a weighted vertex out of it instead (the best such move), so the walk passes through
    balanced states at least every other step.

    Parameters
    ----------
    k : int
        Number of QPUs.
    eptr, epin, vptr, vedge, eweight, vweight : ndarray of int64
        The hypergraph (every vertex; weight 0 for free gates).
    cap : ndarray of int64
        Capacity of every QPU.
    blocks : ndarray of int64
        Balanced QPU of every vertex; overwritten with the best balanced placement found.
    steps : int
        Moves to make at most.
    tenure, span : int
        A vertex may not return to the QPU it left for ``tenure`` to ``tenure + span`` steps
        (random in between), unless that reaches a new best (aspiration).
    seed : int
        Seed of the tie-breaking and the tenures.
    patience : int
        Stop once the last ``max(patience, 2 * found)`` steps found no better balanced
        placement, ``found`` being the steps to the best so far (0: run every step): a walk
        still improving goes on.  With ``work``, counted in work units instead of steps.
    scan_cells : int
        With fewer (vertex, QPU) moves than this, scan them all at every step rather than
        keep the heap (:data:`SCAN_CELLS`; the walk is as good either way, the time differs).
    work : int
        Stop once the walk has done this much work (0: no limit): a scan step costs one unit
        per (vertex, QPU) move, a heap step :data:`HEAP_UNITS` per heap operation plus three per
        move whose gain it re-reads, about the same time per unit.  The walk then takes as
        many steps as its work allows, so that a cheap heap step buys more of them.
    trace : ndarray of int64, optional
        ``(steps, 4)``: row ``i`` receives step ``i + 1``'s vertex, target QPU, gain and the
        step until which the move back is tabu (rows of steps not made are left alone), for
        tests that replay the walk against a brute-force choice of every move.

    Returns
    -------
    int
        km1 of the placement left in ``blocks``, never above the input's.
    """
    np.random.seed(seed)
    nv = blocks.shape[0]
    cnt = block_counts(k, eptr, epin, blocks)
    ben = np.zeros(nv, dtype=np.int64)
    pen = np.zeros(nv * k, dtype=np.int64)
    _init_cache(k, vptr, vedge, eweight, blocks, cnt, ben, pen)
    load = np.zeros(k, dtype=np.int64)
    slack = 0
    for v in range(nv):
        load[blocks[v]] += vweight[v]
        if vweight[v] > slack:
            slack = vweight[v]
    # the vertices a step may move: the weighted ones while a QPU is over capacity, else all
    heavy = np.nonzero(vweight > 0)[0].astype(np.int64)
    everyone = np.arange(nv, dtype=np.int64)
    cur = km1_of_counts(cnt, k, eweight)
    best = cur
    best_blocks = blocks.copy()
    until = np.zeros(nv * k, dtype=np.int64)
    # heap walks only: the newest heap entry of every move (whether there is one, and its
    # key); popped entries not taken this step (tabu or no room), pushed back after it; the
    # pins whose gains a move changed (``mark``: the step that listed them)
    heap = nv * k >= scan_cells
    cells = nv * k if heap else 0
    live = np.zeros(cells, dtype=np.bool_)
    key = np.zeros(cells, dtype=np.int64)
    hkey = np.empty(4 * cells + 64 if heap else 0, dtype=np.int64)
    hitem = np.empty(hkey.shape[0], dtype=np.int64)
    held = np.empty(cells, dtype=np.int64)
    dirty = np.empty(nv if heap else 0, dtype=np.int64)
    mark = np.zeros(nv if heap else 0, dtype=np.int64)
    hsize = 0
    for v in range(nv if heap else 0):
        hsize = _rekey(v, k, blocks, ben, pen, live, key, hkey, hitem, hsize)
    found = 0
    spent = 0
    for step in range(1, steps + 1):
        used = step - 1 if work == 0 else spent
        if work > 0 and spent >= work:
            break
        if patience > 0 and used - found > max(patience, 2 * found):
            break
        over = -1
        for p in range(k):
            if load[p] > cap[p]:
                over = p
                break
        bv = -1
        bp = -1
        bg = 0
        if over >= 0 or not heap:
            movable = heavy if over >= 0 else everyone
            spent += (nv if not heap else movable.shape[0]) * k
            ties = 0
            for v in movable:
                # a move's gain is at most ben[v] (pen >= 0): skip what cannot reach bg,
                # which changes no choice and draws no random number
                bn = ben[v]
                if bv >= 0 and bn < bg:
                    continue
                s = blocks[v]
                w = vweight[v]
                if over >= 0 and s != over:
                    continue
                for p in range(k):
                    if p == s:
                        continue
                    g = bn - pen[v * k + p]
                    if bv >= 0 and g < bg:
                        continue
                    if over >= 0:
                        if load[p] + w > cap[p] or until[v * k + p] >= step:
                            continue
                    elif w > 0 and load[p] + w > cap[p] + slack:
                        continue
                    if over < 0 and until[v * k + p] >= step and \
                            not (cur - g < best and load[p] + w <= cap[p]):
                        continue
                    if bv < 0 or g > bg:
                        bv, bp, bg, ties = v, p, g, 1
                    elif g == bg:
                        ties += 1
                        if np.random.randint(ties) == 0:
                            bv, bp = v, p
        else:
            nheld = 0
            while hsize > 0:
                top = hkey[0]
                c = hitem[0]
                hsize = _heap_pop(hkey, hitem, hsize)
                spent += HEAP_UNITS
                if not live[c] or key[c] != top:
                    continue  # stale: the move's gain changed since
                v = c // k
                p = c - v * k
                w = vweight[v]
                g = top // TIE
                held[nheld] = c
                nheld += 1
                if w > 0 and load[p] + w > cap[p] + slack:
                    continue
                if until[c] >= step and not (cur - g < best and load[p] + w <= cap[p]):
                    continue
                bv, bp, bg = v, p, g
                break
            spent += HEAP_UNITS * nheld
            for i in range(nheld):
                hsize = _heap_push(hkey, hitem, hsize, key[held[i]], held[i])
        if bv < 0:
            break
        s = blocks[bv]
        blocks[bv] = bp
        load[s] -= vweight[bv]
        load[bp] += vweight[bv]
        ndirty = 0
        for i in range(vptr[bv], vptr[bv + 1]):
            e = vedge[i]
            every, us, ut = _edge_moved(e, bv, s, bp, k, eptr, epin, eweight, blocks, cnt, ben,
                                        pen)
            if not heap:
                continue
            if every:
                for j in range(eptr[e], eptr[e + 1]):
                    ndirty = _list_once(epin[j], step, mark, dirty, ndirty)
            for u in (us, ut):
                if u >= 0:
                    ndirty = _list_once(u, step, mark, dirty, ndirty)
        ben[bv] = _own_ben(bv, k, vptr, vedge, eweight, blocks, cnt)
        if heap:
            ndirty = _list_once(bv, step, mark, dirty, ndirty)
        for i in range(ndirty):
            before = hsize
            hsize = _rekey(dirty[i], k, blocks, ben, pen, live, key, hkey, hitem, hsize)
            spent += 3 * k + HEAP_UNITS * max(hsize - before, 0)
        until[bv * k + s] = step + tenure + np.random.randint(span + 1)
        if trace is not None:
            trace[step - 1, 0] = bv
            trace[step - 1, 1] = bp
            trace[step - 1, 2] = bg
            trace[step - 1, 3] = until[bv * k + s]
        cur -= bg
        if cur < best:
            feasible = True
            for p in range(k):
                if load[p] > cap[p]:
                    feasible = False
            if feasible:
                best = cur
                best_blocks[:] = blocks
                found = step if work == 0 else spent
    blocks[:] = best_blocks
    return best
