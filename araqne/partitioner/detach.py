"""Detached gates: let a free gate run on a QPU that holds neither of its qubits.

The main refinement (:mod:`araqne.partitioner.refine`) keeps every free gate beside one of its two
qubits (``side``).  A free gate's two operands both sit in windows, so it may equally run on any
QPU that holds linked copies of both windows (pytket-dqc's "detached" gates, a gate on a third
QPU): when both windows already reach that QPU for other gates, the gate costs nothing there,
whereas beside either qubit it may widen the other window by one QPU.  On the packet hypergraph
this is plain km1 with the free-gate vertices (weight 0) free to sit in any block.

:func:`detach_refine` starts from a partition of the main refinement and runs k-way
Fiduccia-Mattheyses passes over *all* vertices (qubits and free gates, a free gate moving to any
QPU), with a lazy max-heap of (gain, vertex, target) entries, a transient overload of one
vertex's weight so that full QPUs can still exchange qubits, and a rollback to the best balanced
prefix of each pass.  Only the hyperedges whose pin count on a QPU crosses 0/1/2 change the gains
of their pins, so only those pins are re-queued, and of those only the ones whose gain rose: a
queued vertex whose gain fell has an entry above it, re-keyed when popped, and one not queued
only became a worse candidate (requeueing those too took 14% more time in FM, for no better
km1).  The objective is all-to-all km1, equal to
:func:`araqne.objective.cost` of the resulting placement; emission handles a gate on a third QPU
by using the linked copies of both operands there (:mod:`araqne.backend.emission`).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..jit import borrowing
from .refine import _heap_pop as _pop
from .refine import _heap_push as _push
from .refine import _heapify
from .refine import km1_of_counts


@njit(cache=True, nogil=True)
def block_counts(k, eptr, epin, blocks):
    """Pins of every hyperedge on every QPU (flat ``E * k``)."""
    ne = eptr.shape[0] - 1
    cnt = np.zeros(ne * k, dtype=np.int64)
    for e in range(ne):
        for t in range(eptr[e], eptr[e + 1]):
            cnt[e * k + blocks[epin[t]]] += 1
    return cnt


@njit(cache=True, nogil=True)
def km1_of_blocks(k, eptr, epin, eweight, blocks):
    """Weighted connectivity minus one of a placement of every vertex."""
    return km1_of_counts(block_counts(k, eptr, epin, blocks), k, eweight)


@borrowing
def _gains(v, k, blocks, vptr, vedge, cnt, eweight, out):
    """Gain of moving vertex ``v`` to every QPU (``out[blocks[v]]`` is left at 0)."""
    s = blocks[v]
    base = 0
    for p in range(k):
        out[p] = 0
    for i in range(vptr[v], vptr[v + 1]):
        e = vedge[i]
        w = eweight[e]
        if cnt[e * k + s] == 1:
            base += w
        for p in range(k):
            if cnt[e * k + p] == 0:
                out[p] -= w
    for p in range(k):
        if p == s:
            out[p] = 0
        else:
            out[p] += base


@borrowing
def _best_move(v, k, blocks, vptr, vedge, cnt, eweight, load, cap, vweight, slack, gains,
               vgroup):
    """Best target of ``v`` within the transient slack, and its gain (target -1 if none)."""
    _gains(v, k, blocks, vptr, vedge, cnt, eweight, gains)
    s = blocks[v]
    best_t = -1
    best_g = 0
    w = vweight[v]
    for p in range(k):
        if p == s:
            continue
        if w > 0 and load[vgroup[v] * k + p] + w > cap[p] + slack:
            continue
        if best_t < 0 or gains[p] > best_g:
            best_t = p
            best_g = gains[p]
    return best_t, best_g


@borrowing
def _init_cache(k, vptr, vedge, eweight, blocks, cnt, ben, pen):
    """Gain cache of every vertex: ``ben[v]``, the weight of its hyperedges it alone holds on
    its QPU (leaving frees them), and ``pen[v * k + p]``, the weight of its hyperedges with no
    pin on ``p`` (going there pays them); the gain of ``v -> p`` is ``ben[v] - pen[v*k+p]``."""
    for v in range(blocks.shape[0]):
        s = blocks[v]
        b = 0
        for p in range(k):
            pen[v * k + p] = 0
        for i in range(vptr[v], vptr[v + 1]):
            e = vedge[i]
            w = eweight[e]
            if cnt[e * k + s] == 1:
                b += w
            for p in range(k):
                if cnt[e * k + p] == 0:
                    pen[v * k + p] += w
        ben[v] = b


@borrowing
def _edge_moved(e, v, s, t, k, eptr, epin, eweight, blocks, cnt, ben, pen):
    """Account for pin ``v`` of hyperedge ``e`` moving from ``s`` to ``t`` (``blocks[v]`` is
    ``t`` already): pin counts and the gain caches of the pins of ``e`` (not ``ben[v]``, which
    the caller recomputes).  Only the transitions 1->0 and 2->1 on ``s`` and 0->1 and 1->2 on
    ``t`` change gains (KaHyPar's delta updates).

    Returns ``(every, us, ut)``: whether the gains of every pin changed (a count reached 0 on
    ``s`` or 1 on ``t``), and the one pin whose ``ben`` alone changed, left alone on ``s`` or
    no longer alone on ``t`` (-1 when none)."""
    cnt[e * k + s] -= 1
    cnt[e * k + t] += 1
    a = cnt[e * k + s]
    b = cnt[e * k + t]
    w = eweight[e]
    us = -1
    ut = -1
    if a == 0:
        for j in range(eptr[e], eptr[e + 1]):
            pen[epin[j] * k + s] += w
    elif a == 1:
        for j in range(eptr[e], eptr[e + 1]):
            u = epin[j]
            if blocks[u] == s:
                ben[u] += w
                us = u
                break
    if b == 1:
        for j in range(eptr[e], eptr[e + 1]):
            pen[epin[j] * k + t] -= w
    elif b == 2:
        for j in range(eptr[e], eptr[e + 1]):
            u = epin[j]
            if u != v and blocks[u] == t:
                ben[u] -= w
                ut = u
                break
    return a == 0 or b == 1, us, ut


@borrowing
def _own_ben(v, k, vptr, vedge, eweight, blocks, cnt):
    t = blocks[v]
    b = 0
    for i in range(vptr[v], vptr[v + 1]):
        e = vedge[i]
        if cnt[e * k + t] == 1:
            b += eweight[e]
    return b


@borrowing
def _best_cached(v, k, blocks, ben, pen, load, cap, vweight, slack, vgroup):
    """:func:`_best_move` from the gain cache."""
    s = blocks[v]
    best_t = -1
    best_g = 0
    w = vweight[v]
    for p in range(k):
        if p == s:
            continue
        if w > 0 and load[vgroup[v] * k + p] + w > cap[p] + slack:
            continue
        g = ben[v] - pen[v * k + p]
        if best_t < 0 or g > best_g:
            best_t = p
            best_g = g
    return best_t, best_g


@borrowing
def _queue(u, k, blocks, ben, pen, load, cap, vweight, slack, vgroup, locked, hkey, hitem,
           hsize, scale):
    """Queue pin ``u``'s current best move in :func:`detach_refine`'s heap (nothing for
    ``u < 0``, a locked pin, a full heap or no admissible target); return the heap size."""
    if u < 0 or locked[u] or hsize >= hkey.shape[0]:
        return hsize
    t, g = _best_cached(u, k, blocks, ben, pen, load, cap, vweight, slack, vgroup)
    if t < 0:
        return hsize
    return _push(hkey, hitem, hsize, g * scale + (blocks.shape[0] - u), u)


@borrowing
def _balanced(load, cap, k):
    for i in range(load.shape[0]):
        if load[i] > cap[i % k]:
            return False
    return True


ROLLBACK_RECOUNT = 4
""":func:`detach_refine` undoes the moves past a pass's best prefix by recounting every pin
(:func:`block_counts`, :func:`_init_cache`) when their incidences exceed ``1 /
ROLLBACK_RECOUNT`` of the pins, else edge by edge: the same cache either way, and on the
benchmark's small hypergraphs, whose passes undo three moves in four, 7% less time."""


@njit(cache=True, nogil=True)
def detach_refine(k, eptr, epin, vptr, vedge, eweight, vweight, cap, blocks, max_passes,
                  max_stall, vgroup, ngroups, boundary=False):
    """Refine a placement of every vertex (qubits and free gates) in place; return its km1.

    Parameters
    ----------
    k : int
        Number of QPUs.
    eptr, epin, vptr, vedge, eweight : ndarray of int64
        The packet hypergraph (:class:`araqne.hypergraph.Hypergraph`).
    vweight : ndarray of int64
        Weight of every vertex (free gates 0).
    cap : ndarray of int64
        Capacity of every QPU.
    blocks : ndarray of int64
        QPU of every vertex, balanced on entry; improved in place and balanced on return.
    max_passes : int
        Fiduccia-Mattheyses passes at most (stops earlier at a pass without gain).
    max_stall : int
        Moves a pass may make past its best prefix before it gives up.
    vgroup : ndarray of int64
        Capacity group of every vertex (0 for all when there is one capacity per QPU; the time
        slice of a (qubit, slice) vertex in a time-sliced hypergraph, whose QPUs then have
        their capacity in every slice).
    ngroups : int
        Number of groups.
    boundary : bool
        Start each pass from the boundary vertices only (those with a hyperedge on two QPUs
        or more), as KaHyPar's FM does; the others enter when a neighbour's move changes
        their gains.  Far cheaper on large hypergraphs, whose interior vertices never gain.

    A move that overfills a QPU is at once followed by the best move of a weighted vertex out of
    that QPU into one with room (a swap), so every recorded state is balanced.
    """
    nv = blocks.shape[0]
    ne = eptr.shape[0] - 1
    cnt = block_counts(k, eptr, epin, blocks)
    load = np.zeros(ngroups * k, dtype=np.int64)
    slack = 0
    for v in range(nv):
        load[vgroup[v] * k + blocks[v]] += vweight[v]
        if vweight[v] > slack:
            slack = vweight[v]
    nheavy = 0
    for v in range(nv):
        if vweight[v] > 0:
            nheavy += 1
    heavy = np.empty(nheavy, dtype=np.int64)
    nheavy = 0
    for v in range(nv):
        if vweight[v] > 0:
            heavy[nheavy] = v
            nheavy += 1
    cur = km1_of_counts(cnt, k, eweight)
    ben = np.zeros(nv, dtype=np.int64)
    pen = np.zeros(nv * k, dtype=np.int64)
    _init_cache(k, vptr, vedge, eweight, blocks, cnt, ben, pen)
    locked = np.zeros(nv, dtype=np.bool_)
    mv_v = np.empty(2 * nv + 2, dtype=np.int64)
    mv_from = np.empty(2 * nv + 2, dtype=np.int64)
    heap_cap = 16 * nv + 64
    hkey = np.empty(heap_cap, dtype=np.int64)
    hitem = np.empty(heap_cap, dtype=np.int64)
    scale = 2 * nv + 2
    cut = np.zeros(ne if boundary else 0, dtype=np.bool_)
    for _ in range(max_passes):
        start = cur
        locked[:] = False
        hsize = 0
        if boundary:
            for e in range(ne):
                lam = 0
                for p in range(k):
                    if cnt[e * k + p] > 0:
                        lam += 1
                cut[e] = lam > 1
        for v in range(nv):
            if boundary:
                on = False
                for i in range(vptr[v], vptr[v + 1]):
                    if cut[vedge[i]]:
                        on = True
                        break
                if not on:
                    continue
            t, g = _best_cached(v, k, blocks, ben, pen, load, cap, vweight, slack, vgroup)
            if t >= 0:
                hkey[hsize] = g * scale + (nv - v)
                hitem[hsize] = v
                hsize += 1
        _heapify(hkey, hitem, hsize)  # keys never tie: one per vertex
        nmoves = 0
        best = cur
        best_len = 0
        while hsize > 0:
            key = hkey[0]
            v = hitem[0]
            hsize = _pop(hkey, hitem, hsize)
            if locked[v]:
                continue
            t, g = _best_cached(v, k, blocks, ben, pen, load, cap, vweight, slack, vgroup)
            if t < 0:
                continue
            if g * scale + (nv - v) != key:  # stale entry: queue the current one
                if hsize < heap_cap:
                    hsize = _push(hkey, hitem, hsize, g * scale + (nv - v), v)
                continue
            for rebalance in range(2):
                if rebalance == 1:
                    # the move overfilled QPU t: move the best other weighted vertex (locked or
                    # not: the rollback replays moves in reverse) out of it into a QPU with room
                    grp = vgroup[v] * k
                    if load[grp + t] <= cap[t]:
                        break
                    src = t
                    moved = v
                    v = -1
                    g = 0
                    for i in range(heavy.shape[0]):
                        u = heavy[i]
                        if u == moved or blocks[u] != src or vgroup[u] * k != grp:
                            continue
                        for p in range(k):
                            if p != src and load[grp + p] + vweight[u] <= cap[p]:
                                gp = ben[u] - pen[u * k + p]
                                if v < 0 or gp > g:
                                    v = u
                                    t = p
                                    g = gp
                    if v < 0:
                        break
                s = blocks[v]
                blocks[v] = t
                load[vgroup[v] * k + s] -= vweight[v]
                load[vgroup[v] * k + t] += vweight[v]
                cur -= g
                locked[v] = True
                mv_v[nmoves] = v
                mv_from[nmoves] = s
                nmoves += 1
                for i in range(vptr[v], vptr[v + 1]):
                    e = vedge[i]
                    _, us, _ = _edge_moved(e, v, s, t, k, eptr, epin, eweight, blocks, cnt,
                                           ben, pen)
                    # only gains that rose need an entry (see the module docstring)
                    if cnt[e * k + t] == 1:  # first pin on t: every pin gains towards t
                        for j in range(eptr[e], eptr[e + 1]):
                            hsize = _queue(epin[j], k, blocks, ben, pen, load, cap, vweight,
                                           slack, vgroup, locked, hkey, hitem, hsize, scale)
                    else:  # us, now alone on s, gains by leaving it
                        hsize = _queue(us, k, blocks, ben, pen, load, cap, vweight, slack,
                                       vgroup, locked, hkey, hitem, hsize, scale)
                ben[v] = _own_ben(v, k, vptr, vedge, eweight, blocks, cnt)
            if not _balanced(load, cap, k):
                break
            if cur < best:
                best = cur
                best_len = nmoves
            if nmoves - best_len > max_stall:
                break
            if hsize + nv >= heap_cap:  # compact: keep one fresh entry per unlocked vertex
                hsize = 0
                for u in range(nv):
                    if not locked[u]:
                        tu, gu = _best_cached(u, k, blocks, ben, pen, load, cap, vweight,
                                              slack, vgroup)
                        if tu >= 0:
                            hsize = _push(hkey, hitem, hsize, gu * scale + (nv - u), u)
        # undo the moves past the best prefix: edge by edge when few, else by recounting
        # (a pass on a small hypergraph undoes most of its moves; both leave the same cache)
        undo = 0
        for i in range(best_len, nmoves):
            undo += vptr[mv_v[i] + 1] - vptr[mv_v[i]]
        recount = undo * ROLLBACK_RECOUNT > epin.shape[0]
        for i in range(nmoves - 1, best_len - 1, -1):
            v = mv_v[i]
            t = blocks[v]
            s = mv_from[i]
            blocks[v] = s
            load[vgroup[v] * k + t] -= vweight[v]
            load[vgroup[v] * k + s] += vweight[v]
            if recount:
                continue
            for j in range(vptr[v], vptr[v + 1]):
                _edge_moved(vedge[j], v, t, s, k, eptr, epin, eweight, blocks, cnt, ben, pen)
            ben[v] = _own_ben(v, k, vptr, vedge, eweight, blocks, cnt)
        if recount:
            cnt[:] = block_counts(k, eptr, epin, blocks)
            _init_cache(k, vptr, vedge, eweight, blocks, cnt, ben, pen)
        cur = best
        if cur >= start:
            break
    return cur


FLOW_ROUNDS = 2
"""Rounds over every pair of blocks in :func:`flow_refine` calls (a round without gain
stops).  Two rather than four: alternated runs of the 131 Mt-KaHyPar benchmark cases (two
threads, seeds 0 to 2) took 0.96 of the wall time (0.91 above 20,000 pins), km1 sum 251,986
to 252,000 (+0.006%; 2 runs better, 5 worse, by at most 0.1%)."""


def detach(hg, part: np.ndarray, side: np.ndarray, capacities: np.ndarray,
           max_passes: int = 8, flows: bool = False) -> tuple[np.ndarray, int]:
    """Improve a partition by letting free gates run on any QPU.

    Parameters
    ----------
    hg : Hypergraph
        Packet hypergraph.
    part, side : ndarray of int64
        A balanced partition from :func:`araqne.partitioner.partition_hypergraph`.
    capacities : ndarray of int64
        Capacity of every QPU.
    max_passes : int
        Fiduccia-Mattheyses passes at most.
    flows : bool
        Then place the free gates of every pair of blocks by minimum cuts
        (:func:`flow_refine`), which moves groups of gates that single moves cannot (QFT).

    Returns
    -------
    blocks : ndarray of int64
        QPU of every vertex (qubits ``0..n-1``, then free gates), never worse than the input.
    km1 : int
        Its all-to-all e-bits.
    """
    n = hg.num_qubits
    k = int(capacities.shape[0])
    gq = hg.gate_qubits[np.arange(hg.num_gates), side] if hg.num_gates else \
        np.zeros(0, dtype=np.int64)
    blocks = np.concatenate([part, part[gq]]).astype(np.int64)
    vweight = np.concatenate([hg.vweight, np.zeros(hg.num_gates, dtype=np.int64)])
    before = int(km1_of_blocks(k, hg.eptr, hg.epin, hg.eweight, blocks))
    trial = blocks.copy()
    after = int(detach_refine(k, hg.eptr, hg.epin, hg.vptr, hg.vedge, hg.eweight, vweight,
                              capacities.astype(np.int64), trial, max_passes,
                              max(200, (n + hg.num_gates) // 20),
                              np.zeros(blocks.shape[0], dtype=np.int64), 1))
    if flows and vweight.min(initial=1) == 0:
        after = int(flow_refine(k, hg.eptr, hg.epin, hg.vptr, hg.vedge, hg.eweight, vweight,
                                trial, FLOW_ROUNDS))
    if after < before:
        return trial, after
    return blocks, before


# ------------------------------------------------------------------ flows over free gates

_INF = 1 << 50


@njit(cache=True, nogil=True)
def residual_network(nn, m, atail, ahd, afwd, aback):
    """CSR residual graph of :func:`_max_flow` from the first ``m`` arcs ``atail -> ahd`` of
    capacity ``afwd`` (``aback`` the other way): ``(aptr, ahead, acap, arev)``, every arc
    beside its reverse (``arev``), arcs in input order at each node."""
    deg = np.zeros(nn + 1, dtype=np.int64)
    for x in range(m):
        deg[atail[x] + 1] += 1
        deg[ahd[x] + 1] += 1
    for u in range(nn):
        deg[u + 1] += deg[u]
    ahead = np.empty(2 * m, dtype=np.int64)
    acap = np.empty(2 * m, dtype=np.int64)
    arev = np.empty(2 * m, dtype=np.int64)
    fill = deg[:nn].copy()
    for x in range(m):
        p = fill[atail[x]]
        fill[atail[x]] += 1
        q = fill[ahd[x]]
        fill[ahd[x]] += 1
        ahead[p], acap[p], arev[p] = ahd[x], afwd[x], q
        ahead[q], acap[q], arev[q] = atail[x], aback[x], p
    return deg, ahead, acap, arev


@njit(cache=True, nogil=True)
def _max_flow(nn, s, t, aptr, ahead, acap, arev, limit):
    """Dinic's maximum flow on a CSR residual graph (``acap`` updated in place); returns the
    flow value, stopping as soon as it reaches ``limit``.

    Paths ``s -> u -> t`` are saturated first in one scan (on the networks of
    :func:`_pair_flow` they carry much of the flow), a phase's BFS stops at the sink's level
    and an augmentation resumes from its first saturated arc.  None of this changes the
    nodes reachable from ``s`` after a maximum flow, the same for every maximum flow, so the
    cuts of :func:`_pair_flow` stay the same; replayed on the flow calls of ten Mt-KaHyPar
    benchmark cases, they took 10 to 20% less time."""
    level = np.empty(nn, dtype=np.int64)
    queue = np.empty(nn, dtype=np.int64)
    it = np.empty(nn, dtype=np.int64)
    stack = np.empty(nn, dtype=np.int64)  # arcs on the current path
    flow = 0
    # saturate the paths s -> u -> t first: one scan instead of BFS phases
    for i in range(aptr[s], aptr[s + 1]):
        if acap[i] <= 0:
            continue
        u = ahead[i]
        for j in range(aptr[u], aptr[u + 1]):
            if ahead[j] == t and acap[j] > 0:
                f = acap[i] if acap[i] < acap[j] else acap[j]
                acap[i] -= f
                acap[arev[i]] += f
                acap[j] -= f
                acap[arev[j]] += f
                flow += f
                if flow >= limit:
                    return flow
                if acap[i] == 0:
                    break
    while True:
        level[:] = -1
        level[s] = 0
        qh, qt = 0, 1
        queue[0] = s
        while qh < qt:
            u = queue[qh]
            qh += 1
            if level[t] >= 0 and level[u] >= level[t]:
                break  # beyond the sink's level no node lies on a shortest path
            for i in range(aptr[u], aptr[u + 1]):
                if acap[i] > 0 and level[ahead[i]] < 0:
                    level[ahead[i]] = level[u] + 1
                    queue[qt] = ahead[i]
                    qt += 1
        if level[t] < 0:
            return flow
        for u in range(nn):
            it[u] = aptr[u]
        depth = 0
        u = s
        while True:
            if u == t:
                f = _INF
                for d in range(depth):
                    if acap[stack[d]] < f:
                        f = acap[stack[d]]
                low = -1
                for d in range(depth):
                    acap[stack[d]] -= f
                    acap[arev[stack[d]]] += f
                    if low < 0 and acap[stack[d]] == 0:
                        low = d
                flow += f
                if flow >= limit:
                    return flow
                # the path up to the first saturated arc still has room: resume there
                depth = low
                u = ahead[arev[stack[low]]]
                continue
            advanced = False
            while it[u] < aptr[u + 1]:
                i = it[u]
                v = ahead[i]
                if acap[i] > 0 and level[v] == level[u] + 1:
                    stack[depth] = i
                    depth += 1
                    u = v
                    advanced = True
                    break
                it[u] += 1
            if not advanced:
                if u == s:
                    break
                level[u] = -1  # dead end: no path to t through u in this phase
                depth -= 1
                i = stack[depth]
                u = ahead[arev[i]]
                it[u] += 1


@njit(cache=True, nogil=True)
def _pair_flow(a, b, k, vptr, vedge, eweight, blocks, cnt, gate_id, edge_id, gates, edges, free,
               probe=False):
    """Optimal placement of the vertices ``free`` that sit on blocks ``a`` and ``b`` between
    these two blocks, every other vertex fixed: a minimum s-t cut; applied when it gains.

    With the fixed vertices of ``a`` merged into the source and those of ``b`` into the
    sink, a hyperedge with pins in ``a`` or ``b`` costs ``w_e`` more in km1 exactly when it has
    pins in both, so the pair's share of km1 is a hypergraph cut.  Its network is Lawler's
    (a node pair per hyperedge joined by an arc of capacity ``w_e``) with the nodes that an
    infinite arc ties to the source or sink merged into them: a hyperedge with a fixed pin
    in ``a`` is one arc of capacity ``w_e`` from the source (straight to its free vertex when
    it has one), one with a fixed pin in ``b`` likewise into the sink, and one with neither
    and two free vertices an undirected arc between them.  The cut is the same, with fewer
    nodes and shorter paths.  The flow stops once it reaches the present cost (no gain
    possible), which is where most pairs end.

    The network is built from the incidences of the free vertices alone (a hyperedge's
    fixed pins on ``a`` and ``b`` are its pins there in ``cnt`` less its free ones), so a cut
    over a few free vertices (:mod:`.swap`) costs no scan of their large hyperedges.
    ``free`` lists the free vertices (:func:`flow_refine`: every vertex of weight 0).
    Returns the km1 gain; with ``probe``, an upper bound of it instead, moving nothing (the
    pair's share less a flow on disjoint paths through one free vertex each, exact when no
    hyperedge holds two free vertices).
    """
    ng = 0
    for i in range(free.shape[0]):
        v = free[i]
        if blocks[v] == a or blocks[v] == b:
            gate_id[v] = ng
            gates[ng] = v
            ng += 1
    if ng == 0:
        return 0
    ne = 0
    old = 0
    npins = 0
    for i in range(ng):
        v = gates[i]
        for j in range(vptr[v], vptr[v + 1]):
            e = vedge[j]
            npins += 1
            if edge_id[e] < 0:
                edge_id[e] = ne
                edges[ne] = e
                ne += 1
                if cnt[e * k + a] > 0 and cnt[e * k + b] > 0:
                    old += eweight[e]
    # per edge: its free pins (counted, then listed as network nodes), and whether it has
    # fixed pins on the source (a) side and on the sink (b) side
    fptr = np.zeros(ne + 1, dtype=np.int64)
    fa = np.zeros(ne, dtype=np.int64)
    for i in range(ng):
        v = gates[i]
        for j in range(vptr[v], vptr[v + 1]):
            x = edge_id[vedge[j]]
            fptr[x + 1] += 1
            if blocks[v] == a:
                fa[x] += 1
    for x in range(ne):
        fptr[x + 1] += fptr[x]
    src = np.zeros(ne, dtype=np.bool_)
    snk = np.zeros(ne, dtype=np.bool_)
    forced = 0
    for i in range(ne):
        e = edges[i]
        nf = fptr[i + 1] - fptr[i]
        src[i] = cnt[e * k + a] > fa[i]
        snk[i] = cnt[e * k + b] > nf - fa[i]
        if src[i] and snk[i]:
            forced += eweight[e]
    limit = old - forced
    if limit <= 0:
        _clear_ids(gate_id, edge_id, gates, ng, edges, ne)
        return 0
    # each free vertex's hyperedges that tie it to the source alone or to the sink alone
    # and hold no other free vertex: the paths source - vertex - sink, disjoint, carry
    # min(tied_a, tied_b) each, so the cut is at least their sum
    tied_a = np.zeros(ng, dtype=np.int64)
    tied_b = np.zeros(ng, dtype=np.int64)
    separable = True
    for i in range(ng):
        v = gates[i]
        for j in range(vptr[v], vptr[v + 1]):
            x = edge_id[vedge[j]]
            if src[x] and snk[x]:
                continue
            if fptr[x + 1] - fptr[x] > 1:
                separable = False
            elif src[x]:
                tied_a[i] += eweight[edges[x]]
            elif snk[x]:
                tied_b[i] += eweight[edges[x]]
    direct = np.minimum(tied_a, tied_b).sum()
    if direct >= limit:
        _clear_ids(gate_id, edge_id, gates, ng, edges, ne)
        return 0
    if separable and not probe:
        # no hyperedge of the network joins two free vertices, so each takes its cheaper
        # block alone: the cut below, whose source side holds a vertex exactly when the
        # hyperedges tying it to the source weigh more than those tying it to the sink
        _place(a, b, k, vptr, vedge, eweight, blocks, cnt, gates, ng, tied_a > tied_b)
        _clear_ids(gate_id, edge_id, gates, ng, edges, ne)
        return limit - direct
    fnode = np.empty(npins, dtype=np.int64)
    fill = fptr[:ne].copy()
    for i in range(ng):
        v = gates[i]
        for j in range(vptr[v], vptr[v + 1]):
            x = edge_id[vedge[j]]
            fnode[fill[x]] = 2 + i
            fill[x] += 1
    if probe:
        # more disjoint paths: source - hyperedge - free vertex - sink through the
        # hyperedges with several free vertices, on what the paths above left
        spare_a = tied_a - np.minimum(tied_a, tied_b)
        spare_b = tied_b - np.minimum(tied_a, tied_b)
        for i in range(ne):
            if fptr[i + 1] - fptr[i] < 2 or src[i] == snk[i]:
                continue
            room = eweight[edges[i]]
            spare = spare_b if src[i] else spare_a
            for p in range(fptr[i], fptr[i + 1]):
                g = fnode[p] - 2
                f = min(room, spare[g])
                spare[g] -= f
                room -= f
                direct += f
        _clear_ids(gate_id, edge_id, gates, ng, edges, ne)
        return max(limit - direct, 0)
    # arcs (tail, head, capacity, reverse capacity): one per edge, at most two per free pin
    na = ne + 2 * npins
    atail = np.empty(na, dtype=np.int64)
    ahd = np.empty(na, dtype=np.int64)
    afwd = np.empty(na, dtype=np.int64)
    aback = np.empty(na, dtype=np.int64)
    m = 0
    nn = 2 + ng
    for i in range(ne):
        if src[i] and snk[i]:
            continue
        w = eweight[edges[i]]
        nf = fptr[i + 1] - fptr[i]
        if not src[i] and not snk[i]:
            if nf < 2:
                continue  # one pin never straddles the pair
            if nf == 2:
                p = fptr[i]
                atail[m], ahd[m], afwd[m], aback[m] = fnode[p], fnode[p + 1], w, w
                m += 1
                continue
        if nf == 1:
            g = fnode[fptr[i]]
            if src[i]:
                atail[m], ahd[m], afwd[m], aback[m] = 0, g, w, 0
            else:
                atail[m], ahd[m], afwd[m], aback[m] = g, 1, w, 0
            m += 1
            continue
        # a node for the edge on each side it is not tied to
        ein, eout = 0, 1
        if src[i]:
            eout = nn
            nn += 1
            atail[m], ahd[m], afwd[m], aback[m] = 0, eout, w, 0
        elif snk[i]:
            ein = nn
            nn += 1
            atail[m], ahd[m], afwd[m], aback[m] = ein, 1, w, 0
        else:
            ein = nn
            eout = nn + 1
            nn += 2
            atail[m], ahd[m], afwd[m], aback[m] = ein, eout, w, 0
        m += 1
        for p in range(fptr[i], fptr[i + 1]):
            g = fnode[p]
            if not src[i]:
                atail[m], ahd[m], afwd[m], aback[m] = g, ein, _INF, 0
                m += 1
            if not snk[i]:
                atail[m], ahd[m], afwd[m], aback[m] = eout, g, _INF, 0
                m += 1
    deg, ahead, acap, arev = residual_network(nn, m, atail, ahd, afwd, aback)
    cut = _max_flow(nn, 0, 1, deg, ahead, acap, arev, limit)
    gain = 0
    if cut < limit:
        gain = limit - cut
        # the source side: nodes reachable from the source in the residual graph
        seen = np.zeros(nn, dtype=np.bool_)
        queue = np.empty(nn, dtype=np.int64)
        seen[0] = True
        queue[0] = 0
        qh, qt = 0, 1
        while qh < qt:
            u = queue[qh]
            qh += 1
            for x in range(deg[u], deg[u + 1]):
                if acap[x] > 0 and not seen[ahead[x]]:
                    seen[ahead[x]] = True
                    queue[qt] = ahead[x]
                    qt += 1
        _place(a, b, k, vptr, vedge, eweight, blocks, cnt, gates, ng, seen[2:2 + ng])
    _clear_ids(gate_id, edge_id, gates, ng, edges, ne)
    return gain


@borrowing
def _place(a, b, k, vptr, vedge, eweight, blocks, cnt, gates, ng, on_a):
    """Move ``gates[i]`` to block ``a`` where ``on_a[i]``, else to ``b``, updating ``cnt``."""
    for i in range(ng):
        v = gates[i]
        t = a if on_a[i] else b
        if blocks[v] != t:
            shift(v, blocks[v], t, k, vptr, vedge, eweight, blocks, cnt)


@borrowing
def shift(v, s, t, k, vptr, vedge, eweight, blocks, cnt):
    """Move vertex ``v`` from block ``s`` to ``t``, updating ``cnt``; return the km1
    decrease."""
    gain = 0
    for j in range(vptr[v], vptr[v + 1]):
        e = vedge[j]
        if cnt[e * k + s] == 1:
            gain += eweight[e]
        if cnt[e * k + t] == 0:
            gain -= eweight[e]
        cnt[e * k + s] -= 1
        cnt[e * k + t] += 1
    blocks[v] = t
    return gain


@borrowing
def _clear_ids(gate_id, edge_id, gates, ng, edges, ne):
    for i in range(ng):
        gate_id[gates[i]] = -1
    for i in range(ne):
        edge_id[edges[i]] = -1


@njit(cache=True, nogil=True)
def flow_refine(k, eptr, epin, vptr, vedge, eweight, vweight, blocks, max_rounds):
    """Re-place the free (weight 0) vertices by minimum cuts over every pair of blocks (the
    weighted vertices stay), rounds until none gains; return the km1.

    A free gate may run on any QPU, so gates need no balance: for a pair of blocks, their
    best split is an exact minimum cut (:func:`_pair_flow`).  The cut moves whole groups of
    gates at once, which single-vertex FM cannot when every intermediate move costs e-bits
    (QFT: moving a block of gates to a third QPU that both of their windows already reach).
    """
    nv = blocks.shape[0]
    ne = eptr.shape[0] - 1
    cnt = block_counts(k, eptr, epin, blocks)
    gate_id = np.full(nv, -1, dtype=np.int64)
    edge_id = np.full(ne, -1, dtype=np.int64)
    gates = np.empty(nv, dtype=np.int64)
    edges = np.empty(ne, dtype=np.int64)
    free = np.flatnonzero(vweight == 0)
    # a pair is worth a cut only while some hyperedge has pins on both of its blocks, and
    # only again after one of its blocks changed (Mt-KaHyPar's active block scheduling)
    active = np.ones(k, dtype=np.bool_)
    for _ in range(max_rounds):
        shared = np.zeros(k * k, dtype=np.bool_)
        for e in range(ne):
            for a in range(k):
                if cnt[e * k + a] > 0:
                    for b in range(a + 1, k):
                        if cnt[e * k + b] > 0:
                            shared[a * k + b] = True
        changed = np.zeros(k, dtype=np.bool_)
        gained = 0
        for a in range(k):
            for b in range(a + 1, k):
                if not shared[a * k + b] or not (active[a] or active[b]):
                    continue
                g = _pair_flow(a, b, k, vptr, vedge, eweight, blocks, cnt, gate_id, edge_id,
                               gates, edges, free, False)
                if g > 0:
                    gained += g
                    changed[a] = True
                    changed[b] = True
        if gained == 0:
            break
        active = changed
    return km1_of_counts(cnt, k, eweight)


@njit(cache=True, nogil=True)
def home_gates(k, n, vptr, vedge, eweight, eptr, epin, gate_qubits, blocks):
    """Move every free gate that sits on a QPU holding neither of its qubits beside one of
    them wherever that costs no km1 (best side first); return the number moved.

    Among placements of equal km1 a gate beside one of its qubits is the better one: a gate
    on a third QPU holds linked copies of both operands there at once, so communication
    qubits run short first (the emitted count may then exceed the model).  The flows of
    :func:`flow_refine` pick an arbitrary minimum cut, which may detach gates for nothing.
    """
    cnt = block_counts(k, eptr, epin, blocks)
    gains = np.zeros(k, dtype=np.int64)
    moved = 0
    for _ in range(4):
        changed = 0
        for g in range(gate_qubits.shape[0]):
            v = n + g
            x = blocks[gate_qubits[g, 0]]
            y = blocks[gate_qubits[g, 1]]
            s = blocks[v]
            if s == x or s == y:
                continue
            _gains(v, k, blocks, vptr, vedge, cnt, eweight, gains)
            t = x if gains[x] >= gains[y] else y
            if gains[t] < 0:
                continue
            shift(v, s, t, k, vptr, vedge, eweight, blocks, cnt)
            changed += 1
        moved += changed
        if changed == 0:
            break
    return moved
