"""Tabu search over single-vertex moves: the last polish of small (reduced) hypergraphs.

Fiduccia-Mattheyses stops at the best prefix of a pass and V-cycles restart from it, so both
settle in the first local optimum whose neighbours all cost more.  Tabu search keeps walking:
every step makes the best move that is not tabu (the reverse of a recent move), even an uphill
one, and remembers the best balanced state it passed.  On small hypergraphs, such as the
weighted qubit graph that quantum-volume circuits reduce to (:mod:`.reduce`), a few thousand
steps cost milliseconds and cross the ridges between the optima FM stops in.

The gains come from the same cache as :func:`.detach.detach_refine` (``ben``/``pen``, updated
per hyperedge by :func:`.detach._edge_moved`); a step scans every vertex and QPU for the best
admissible move, which is why this suits small hypergraphs only.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .detach import _edge_moved, _init_cache, _own_ben, block_counts
from .refine import km1_of_counts


@njit(cache=True, nogil=True)
def tabu_refine(k, eptr, epin, vptr, vedge, eweight, vweight, cap, blocks, steps, tenure, span,
                seed, patience=0):
    """Improve the balanced placement ``blocks`` of every vertex by tabu search, in place.

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
        still improving goes on.

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
    cur = km1_of_counts(cnt, k, eweight)
    best = cur
    best_blocks = blocks.copy()
    until = np.zeros(nv * k, dtype=np.int64)
    found = 0
    for step in range(1, steps + 1):
        if patience > 0 and step - found > max(patience, 2 * found):
            break
        over = -1
        for p in range(k):
            if load[p] > cap[p]:
                over = p
                break
        bv = -1
        bp = -1
        bg = 0
        ties = 0
        for v in range(nv):
            s = blocks[v]
            w = vweight[v]
            if over >= 0 and (s != over or w == 0):
                continue
            for p in range(k):
                if p == s:
                    continue
                room = cap[p] if over >= 0 else cap[p] + slack
                if w > 0 and load[p] + w > room:
                    continue
                g = ben[v] - pen[v * k + p]
                if until[v * k + p] >= step and not (cur - g < best and over < 0
                                                     and load[p] + w <= cap[p]):
                    continue
                if bv < 0 or g > bg:
                    bv, bp, bg, ties = v, p, g, 1
                elif g == bg:
                    ties += 1
                    if np.random.randint(ties) == 0:
                        bv, bp = v, p
        if bv < 0:
            break
        s = blocks[bv]
        blocks[bv] = bp
        load[s] -= vweight[bv]
        load[bp] += vweight[bv]
        for i in range(vptr[bv], vptr[bv + 1]):
            _edge_moved(vedge[i], bv, s, bp, k, eptr, epin, eweight, blocks, cnt, ben, pen)
        ben[bv] = _own_ben(bv, k, vptr, vedge, eweight, blocks, cnt)
        until[bv * k + s] = step + tenure + np.random.randint(span + 1)
        cur -= bg
        if cur < best:
            feasible = True
            for p in range(k):
                if load[p] > cap[p]:
                    feasible = False
            if feasible:
                best = cur
                best_blocks[:] = blocks
                found = step
    blocks[:] = best_blocks
    return best
