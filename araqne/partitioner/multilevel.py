"""Multilevel V-cycles over the whole packet hypergraph, free gates free to sit on any QPU.

A V-cycle (as in KaHyPar's) starts from a balanced placement of every vertex, coarsens the
hypergraph by matching vertices *of the same block* (heavy-edge rating ``sum w_e / (|e| - 1)``
over the hyperedges they share), so that the placement projects exactly onto every coarser
level, and then uncoarsens, refining each level with the k-way Fiduccia-Mattheyses passes of
:func:`araqne.partitioner.detach.detach_refine`.  Moves of coarse vertices move whole clusters of
qubits and gates at once, which escapes the local optima of single-vertex moves; a free gate
(weight 0) moves to any QPU, so a gate may end on a QPU holding neither of its qubits (it then
uses the linked copies of both there: pytket-dqc's detached gates).  Every level keeps the best
balanced state, so a cycle never makes a placement worse.

All kernels are numba-compiled over flat int64 arrays (``cache=True``).
"""

from __future__ import annotations

import threading
from functools import partial

import numpy as np
from numba import njit

from ..jit import borrowing
from .detach import FLOW_ROUNDS, detach_refine, flow_refine, home_gates, km1_of_blocks
from .bounds import km1_lower_bound
from .cover import km1_after
from .parallel import Pending, run_all, start_all
from .reduce import reduce_hypergraph
from .seed import linear_seed
from .swap import SWAP_MIN_PINS, SWAP_REPEAT_PINS, SWAP_ROUNDS, SWAP_TRIES, swap_refine
from .tabu import tabu_refine


@njit(cache=True, nogil=True)
def match_in_blocks(vweight, eptr, epin, vptr, vedge, eweight, blocks, order, max_weight,
                    max_edge, vgroup):
    """Cluster id of every vertex after one round of rated matching within blocks.

    Parameters
    ----------
    vweight, eptr, epin, vptr, vedge, eweight : ndarray of int64
        The hypergraph.
    blocks : ndarray of int64
        Block of every vertex; only vertices of one block are matched.
    order : ndarray of int64
        Visiting order (random permutation).
    max_weight : int
        Largest weight a cluster may have.
    max_edge : int
        Hyperedges with more pins than this are ignored by the rating (they say little).
    vgroup : ndarray of int64
        Capacity group of every vertex: two weighted vertices match only within a group, so
        that every cluster's weight counts against one group.

    Returns
    -------
    cluster : ndarray of int64
        Coarse vertex of every vertex (``0 .. nc-1``).
    nc : int
        Number of coarse vertices.
    """
    nv = vweight.shape[0]
    cluster = np.full(nv, -1, dtype=np.int64)
    rating = np.zeros(nv, dtype=np.float64)
    touched = np.empty(nv, dtype=np.int64)
    nc = 0
    for idx in range(nv):
        v = order[idx]
        if cluster[v] >= 0:
            continue
        nt = 0
        for i in range(vptr[v], vptr[v + 1]):
            e = vedge[i]
            size = eptr[e + 1] - eptr[e]
            if size < 2 or size > max_edge:
                continue
            r = eweight[e] / (size - 1.0)
            for j in range(eptr[e], eptr[e + 1]):
                u = epin[j]
                if u == v or cluster[u] >= 0 or blocks[u] != blocks[v]:
                    continue
                if vweight[u] + vweight[v] > max_weight:
                    continue
                if vweight[u] > 0 and vweight[v] > 0 and vgroup[u] != vgroup[v]:
                    continue
                if rating[u] == 0.0:
                    touched[nt] = u
                    nt += 1
                rating[u] += r
        best = -1
        best_r = 0.0
        for t in range(nt):
            u = touched[t]
            # prefer light partners: heavy clusters make balance hard at the coarse levels
            r = rating[u] / (1.0 + vweight[u])
            if r > best_r or (r == best_r and best >= 0 and u < best):
                best = u
                best_r = r
            rating[u] = 0.0
        cluster[v] = nc
        if best >= 0:
            cluster[best] = nc
        nc += 1
    return cluster, nc


@njit(cache=True, nogil=True)
def cluster_in_blocks(vweight, eptr, epin, vptr, vedge, eweight, blocks, order, max_weight,
                      max_edge, vgroup, min_clusters):
    """Cluster id of every vertex after one round of rated clustering within blocks.

    Unlike :func:`match_in_blocks` (pairs), a vertex joins the best-rated *cluster* among its
    neighbours' (heavy-edge rating ``sum w_e / (|e| - 1)`` over shared hyperedges), so a
    cluster grows by many vertices in one round.  On the packet hypergraph a qubit with
    hundreds of windows of one gate each then absorbs all of them in one level, where pair
    matching took one gate per level and stalled the coarsening.  Only singletons move, into
    clusters of their own block whose weight stays within ``max_weight`` (and whose weighted
    members share the vertex's capacity group); the round stops once ``min_clusters`` remain,
    which bounds the contraction per level (as KaHyPar's contraction factor does).

    Returns
    -------
    cluster : ndarray of int64
        Coarse vertex of every vertex (``0 .. nc-1``).
    nc : int
        Number of coarse vertices.
    """
    nv = vweight.shape[0]
    rep = np.arange(nv)
    csize = np.ones(nv, dtype=np.int64)
    cw = vweight.copy()
    cgroup = np.full(nv, -1, dtype=np.int64)
    for v in range(nv):
        if vweight[v] > 0:
            cgroup[v] = vgroup[v]
    rating = np.zeros(nv, dtype=np.float64)
    touched = np.empty(nv, dtype=np.int64)
    nclusters = nv
    for idx in range(nv):
        if nclusters <= min_clusters:
            break
        v = order[idx]
        if csize[rep[v]] > 1:
            continue
        nt = 0
        for i in range(vptr[v], vptr[v + 1]):
            e = vedge[i]
            size = eptr[e + 1] - eptr[e]
            if size < 2 or size > max_edge:
                continue
            r = eweight[e] / (size - 1.0)
            for j in range(eptr[e], eptr[e + 1]):
                u = epin[j]
                if u == v or blocks[u] != blocks[v]:
                    continue
                c = rep[u]
                if rating[c] == 0.0:
                    touched[nt] = c
                    nt += 1
                rating[c] += r
        best = -1
        best_r = 0.0
        w = vweight[v]
        for t in range(nt):
            c = touched[t]
            r = rating[c]
            rating[c] = 0.0
            if cw[c] + w > max_weight:
                continue
            if w > 0 and cgroup[c] >= 0 and cgroup[c] != vgroup[v]:
                continue
            if r > best_r or (r == best_r and best >= 0 and cw[c] < cw[best]):
                best = c
                best_r = r
        if best >= 0:
            rep[v] = best
            csize[best] += 1
            csize[v] = 0
            cw[best] += w
            if w > 0:
                cgroup[best] = vgroup[v]
            nclusters -= 1
    ids = np.full(nv, -1, dtype=np.int64)
    cluster = np.empty(nv, dtype=np.int64)
    nc = 0
    for v in range(nv):
        c = rep[v]
        if ids[c] < 0:
            ids[c] = nc
            nc += 1
        cluster[v] = ids[c]
    return cluster, nc


@njit(cache=True, nogil=True)
def contract(nc, cluster, vweight, eptr, epin, eweight, vgroup):
    """The coarse hypergraph of a clustering (single-pin hyperedges dropped).

    Returns ``(vweight, eptr, epin, eweight, vptr, vedge, vgroup)`` of the coarse hypergraph
    (a cluster's group is that of its weighted members).
    """
    cw = np.zeros(nc, dtype=np.int64)
    cg = np.zeros(nc, dtype=np.int64)
    for v in range(vweight.shape[0]):
        cw[cluster[v]] += vweight[v]
        if vweight[v] > 0:
            cg[cluster[v]] = vgroup[v]
    ne = eptr.shape[0] - 1
    mark = np.full(nc, -1, dtype=np.int64)
    cptr = np.zeros(ne + 1, dtype=np.int64)
    cpin = np.empty(epin.shape[0], dtype=np.int64)
    cwt = np.empty(ne, dtype=np.int64)
    m = 0
    p = 0
    for e in range(ne):
        start = p
        for j in range(eptr[e], eptr[e + 1]):
            c = cluster[epin[j]]
            if mark[c] != e:
                mark[c] = e
                cpin[p] = c
                p += 1
        if p - start >= 2:
            cwt[m] = eweight[e]
            m += 1
            cptr[m] = p
        else:
            p = start
    cptr = cptr[:m + 1].copy()
    cpin = cpin[:p].copy()
    cwt = cwt[:m].copy()
    deg = np.zeros(nc + 1, dtype=np.int64)
    for j in range(p):
        deg[cpin[j] + 1] += 1
    for c in range(nc):
        deg[c + 1] += deg[c]
    vedge = np.empty(p, dtype=np.int64)
    fill = deg[:-1].copy()
    for e in range(m):
        for j in range(cptr[e], cptr[e + 1]):
            c = cpin[j]
            vedge[fill[c]] = e
            fill[c] += 1
    return cw, cptr, cpin, cwt, deg, vedge, cg


SCHEMES = ("cluster", "pair")
"""Coarsening schemes of :func:`v_cycle`.  Neither dominates on the packet hypergraphs, so
fresh partitions and V-cycles use both (a portfolio, as KaHyPar's initial partitioning is):

``"cluster"``
    :func:`cluster_in_blocks` with clusters of at most ``ceil(total weight / coarsest)`` qubit
    weight (KaHyPar's bound: on these hypergraphs qubits stay apart and the gates gather
    around them).  Best on circuits with many small windows (arithmetic, quantum volume).
``"pair"``
    :func:`match_in_blocks` with pairs of up to a quarter of the smallest capacity: slow,
    even coarsening that also merges qubits.  Best on dense interaction graphs (QAOA) and
    QFT-like all-pairs structure at small sizes.
"""


CUT_LEVELS = 2
"""Finest levels of a :func:`v_cycle` whose free vertices are placed by minimum cuts after FM
(with ``flows``; the coarsest level is always cut).  Cuts at every level took 1.11 times the
wall time over the 131 Mt-KaHyPar benchmark cases (two threads, seeds 0 to 2, alternated
runs) for a km1 sum 0.02% lower (251,916 against 251,968 with the finest level alone).  The
finest alone gave QFT-64 at k = 4 63 e-bits in ``benchmarks/bench_techniques.py`` instead of
60; the finest two give 60 again, for 1.02 times the wall time of the finest alone and the
same km1 sum (11 runs better, 18 worse by a few e-bits)."""


def coarsest_vertices(k: int) -> int:
    """Default size of :func:`v_cycle`'s coarsest level on ``k`` QPUs.  A hypergraph of at
    most this many vertices is not coarsened at all: its V-cycles are plain refinements,
    which use no random numbers (see :func:`multilevel_refine`)."""
    return max(40 * k, 200)


def too_small_to_coarsen(hg, k: int) -> bool:
    """Whether ``hg`` has at most :func:`coarsest_vertices` vertices on ``k`` QPUs: its
    V-cycles are then flat refinements and its fresh partitions flat starts."""
    return hg.num_qubits + hg.num_gates <= coarsest_vertices(k)


def v_cycle(eptr, epin, vptr, vedge, eweight, vweight, caps: np.ndarray, blocks: np.ndarray,
            rng: np.random.Generator, passes: int = 6, coarsest: int = 0,
            max_edge: int = 4096, fresh: bool = False, tries: int = 8,
            vgroup: np.ndarray | None = None, ngroups: int = 1,
            scheme: str = "pair", flows: bool = False, stop: threading.Event | None = None,
            ) -> int:
    """One V-cycle on ``blocks`` (improved in place); returns the final km1, or -1 when
    ``stop`` was set before it ended (``blocks`` then hold no result).

    With ``fresh`` the coarsening ignores ``blocks`` (any two vertices may match) and the
    coarsest level is partitioned anew (best of ``tries`` starts, greedy growing
    (:func:`grow_blocks`) and random (:func:`initial_blocks`) in turn, each refined by FM): a
    multilevel partition from scratch rather than a refinement of ``blocks``.

    Parameters
    ----------
    eptr, epin, vptr, vedge, eweight, vweight : ndarray of int64
        The hypergraph (all vertices).
    caps : ndarray of int64
        Capacity of every QPU.
    blocks : ndarray of int64
        Balanced block of every vertex.
    rng : numpy.random.Generator
        Visiting orders of the matchings.
    passes : int
        Fiduccia-Mattheyses passes per level at most.
    coarsest : int
        Stop coarsening at this many vertices (default :func:`coarsest_vertices`).
    max_edge : int
        Hyperedges larger than this do not drive the matching.
    vgroup, ngroups : ndarray of int64, int
        Capacity group of every vertex and their number (one group by default; one per time
        slice in :mod:`araqne.partitioner.timesliced`).
    scheme : str
        Coarsening scheme, one of :data:`SCHEMES`.
    flows : bool
        Also place the free vertices by minimum cuts (:func:`.detach.flow_refine`) after FM
        at the coarsest level (every start) and the :data:`CUT_LEVELS` finest; the levels
        between get FM alone.
    stop : threading.Event, optional
        Checked before every level and start: once set, the cycle gives up (its caller no
        longer needs the result).
    """
    k = int(caps.shape[0])
    if vgroup is None:
        vgroup = np.zeros(vweight.shape[0], dtype=np.int64)
    coarsest = coarsest or coarsest_vertices(k)
    if scheme == "cluster":
        max_weight = max(1, -(-int(vweight.sum()) // coarsest))
    elif scheme == "pair":
        max_weight = max(1, int(caps.min()) // 4)
    else:
        raise ValueError(f"unknown coarsening scheme {scheme!r}")
    levels = []
    cur = (vweight, eptr, epin, eweight, vptr, vedge, vgroup)
    cur_blocks = blocks
    stalled = False
    while cur[0].shape[0] > coarsest:
        if stop is not None and stop.is_set():
            return -1
        vw, ep, pn, ew, vp, ve, vg = cur
        order = rng.permutation(vw.shape[0]).astype(np.int64)
        same = np.zeros(vw.shape[0], dtype=np.int64) if fresh else cur_blocks
        nc = vw.shape[0]
        if scheme == "pair" and not stalled:
            cluster, nc = match_in_blocks(vw, ep, pn, vp, ve, ew, same, order, max_weight,
                                          max_edge, vg)
            # pairs stall where a qubit has many windows of one gate each (one gate joins
            # it per level): go on with clusters, which take all of them at once
            stalled = flows and nc > 0.92 * vw.shape[0]
        if scheme == "cluster" or stalled:
            cluster, nc = cluster_in_blocks(vw, ep, pn, vp, ve, ew, same, order, max_weight,
                                            max_edge, vg, max(coarsest, int(vw.shape[0] / 2.5)))
        if nc > 0.92 * vw.shape[0]:
            break
        coarse = contract(nc, cluster, vw, ep, pn, ew, vg)
        coarse_blocks = np.empty(nc, dtype=np.int64)
        coarse_blocks[cluster] = cur_blocks
        levels.append((cur, cur_blocks, cluster))
        cur = coarse
        cur_blocks = coarse_blocks
    vw, ep, pn, ew, vp, ve, vg = cur
    if fresh:
        best_cost = -1
        best_init = None
        for t in range(tries):
            if stop is not None and stop.is_set():
                return -1
            init = None
            if t % 2 == 0 and ngroups == 1:
                init = grow_blocks(k, ep, pn, vp, ve, ew, vw, caps,
                                   rng.permutation(vw.shape[0]).astype(np.int64))
                if init.shape[0] and init[0] < 0:
                    init = None
            if init is None:
                init = initial_blocks(vw, caps, rng)
            if init is None:
                continue
            c = _refine_level(k, cur, caps, init, passes, ngroups, flows)
            if best_init is None or c < best_cost:
                best_cost, best_init = c, init
        if best_init is None:
            return -1
        cur_blocks[:] = best_init
    cost = _refine_level(k, cur, caps, cur_blocks, passes, ngroups, flows)
    for depth, (fine, fine_blocks, cluster) in enumerate(reversed(levels)):
        if stop is not None and stop.is_set():
            return -1
        fine_blocks[:] = cur_blocks[cluster]
        cost = _refine_level(k, fine, caps, fine_blocks, passes, ngroups, flows,
                             cuts=depth >= len(levels) - CUT_LEVELS)
        cur_blocks = fine_blocks
    return int(cost)


def _refine_level(k: int, level: tuple, caps: np.ndarray, blocks: np.ndarray, passes: int,
                  ngroups: int, flows: bool, cuts: bool = True) -> int:
    """Refine one level's placement in place: k-way FM (:func:`.detach.detach_refine`, from
    the boundary with ``flows``), then (with ``flows`` and ``cuts``) minimum cuts over the
    free vertices of every pair of blocks (:func:`.detach.flow_refine`) and FM again when the
    cuts gained; return the km1."""
    vw, ep, pn, ew, vp, ve, vg = level
    stall = max(100, vw.shape[0] // 10)
    cost = detach_refine(k, ep, pn, vp, ve, ew, vw, caps, blocks, passes, stall, vg, ngroups,
                         flows)
    if not flows or not cuts or vw.min(initial=1) > 0:
        return cost  # no free vertices: nothing for the cuts to move
    after = flow_refine(k, ep, pn, vp, ve, ew, vw, blocks, FLOW_ROUNDS)
    if after < cost:
        cost = detach_refine(k, ep, pn, vp, ve, ew, vw, caps, blocks, passes, stall, vg,
                             ngroups, True)
    return cost


@borrowing
def _grow_share(e, b, last, k, eptr, eweight, cnt):
    """Hyperedge ``e``'s share of the greedy-growing score of each of its unplaced pins (in
    block ``last``) for block ``b``: its km1 change and its pull (weight per pin when it
    already touches ``b``)."""
    w = eweight[e]
    g = 0
    pull = 0.0
    if cnt[e * k + last] == 1:
        g += w
    if cnt[e * k + b] == 0:
        g -= w
    else:
        pull = w / (eptr[e + 1] - eptr[e])
    return g, pull


@borrowing
def _grow_score(v, b, last, k, vptr, vedge, eptr, eweight, cnt):
    """Greedy-growing score of moving unplaced ``v`` (in block ``last``) into block ``b``:
    the km1 change (ranked first) and the pull (hyperedge weight per pin already in ``b``)."""
    g = 0
    pull = 0.0
    for i in range(vptr[v], vptr[v + 1]):
        dg, dp = _grow_share(vedge[i], b, last, k, eptr, eweight, cnt)
        g += dg
        pull += dp
    return g, pull


@borrowing
def _heap_before(key, rank, i, j):
    """Heap order of :func:`grow_blocks`: higher score first, then lower rank."""
    return key[i] > key[j] or (key[i] == key[j] and rank[i] < rank[j])


@borrowing
def _heap_swap(key, rank, item, i, j):
    key[i], key[j] = key[j], key[i]
    rank[i], rank[j] = rank[j], rank[i]
    item[i], item[j] = item[j], item[i]


@borrowing
def _heap_push(key, rank, item, size, s, r, v):
    """Push ``(s, r, v)`` onto the heap of ``size`` entries (the arrays have room)."""
    i = size
    key[i], rank[i], item[i] = s, r, v
    while i > 0:
        parent = (i - 1) // 2
        if not _heap_before(key, rank, i, parent):
            break
        _heap_swap(key, rank, item, i, parent)
        i = parent
    return size + 1


@borrowing
def _heap_pop(key, rank, item, size):
    """Remove the top entry (read it before the call); return the new size."""
    size -= 1
    _heap_swap(key, rank, item, 0, size)
    i = 0
    while True:
        c = 2 * i + 1
        if c >= size:
            break
        if c + 1 < size and _heap_before(key, rank, c + 1, c):
            c += 1
        if not _heap_before(key, rank, c, i):
            break
        _heap_swap(key, rank, item, i, c)
        i = c
    return size


@njit(cache=True, nogil=True)
def grow_blocks(k, eptr, epin, vptr, vedge, eweight, vweight, caps, order):
    """Greedy hypergraph growing: a balanced placement of every vertex, grown block by block.

    Every vertex starts in the last block; blocks ``0 .. k-2`` in turn start from the first
    unplaced weighted vertex of ``order`` and take, one at a time, the unplaced vertex whose
    move gains the most km1 (ties: the stronger pull ``sum w_e / |e|`` over hyperedges already
    touching the block, then ``order``) until they hold their share of the weight.  This is
    KaHyPar's greedy growing initial partitioner; it gives FM a start whose blocks are
    connected regions, where a random placement leaves FM among scattered local optima.

    A vertex's score is a sum of shares, one per hyperedge, equal for all unplaced pins of a
    hyperedge (:func:`_grow_share`): a move updates the pins of only the hyperedges whose
    share changed.  The candidates sit in a binary heap with lazy deletion (an entry counts
    while its score is the vertex's current one), not a scan of every vertex per move.

    Returns the blocks, or an array with ``-1`` first when the packing does not fit.
    """
    nv = vweight.shape[0]
    blocks = np.full(nv, k - 1, dtype=np.int64)
    ne = eptr.shape[0] - 1
    cnt = np.zeros(ne * k, dtype=np.int64)
    for e in range(ne):
        cnt[e * k + k - 1] = eptr[e + 1] - eptr[e]
    total = 0
    for v in range(nv):
        total += vweight[v]
    capsum = 0
    for b in range(k):
        capsum += caps[b]
    rank = np.empty(nv, dtype=np.int64)
    for i in range(nv):
        rank[order[i]] = i
    gain = np.zeros(nv, dtype=np.int64)
    pull = np.zeros(nv, dtype=np.float64)
    load = np.zeros(k, dtype=np.int64)
    load[k - 1] = total
    last = k - 1
    room = 2 * nv + 16
    hkey = np.empty(room, dtype=np.float64)
    hrank = np.empty(room, dtype=np.int64)
    hitem = np.empty(room, dtype=np.int64)
    for b in range(k - 1):
        target = (total * caps[b] + capsum - 1) // capsum
        if target > caps[b]:
            target = caps[b]
        # scores of every unplaced vertex for block b
        hsize = 0
        for v in range(nv):
            if blocks[v] != last:
                continue
            gain[v], pull[v] = _grow_score(v, b, last, k, vptr, vedge, eptr, eweight, cnt)
            hsize = _heap_push(hkey, hrank, hitem, hsize, gain[v] * 1e6 + pull[v], rank[v], v)
        started = False
        while load[b] < target:
            best = -1
            if not started:
                for i in range(nv):
                    v = order[i]
                    if blocks[v] == last and vweight[v] > 0 and load[b] + vweight[v] <= caps[b]:
                        best = v
                        break
                started = True
            else:
                while hsize > 0:
                    v = hitem[0]
                    s = hkey[0]
                    hsize = _heap_pop(hkey, hrank, hitem, hsize)
                    if blocks[v] != last or s != gain[v] * 1e6 + pull[v]:
                        continue  # placed, or a stale entry
                    if load[b] + vweight[v] > caps[b]:
                        continue  # never fits again: the load only grows
                    best = v
                    break
            if best < 0:
                break
            v = best
            blocks[v] = b
            load[b] += vweight[v]
            load[last] -= vweight[v]
            # every unplaced pin of a hyperedge gets the same share of score from it: move
            # the changed shares onto the pins
            for i in range(vptr[v], vptr[v + 1]):
                e = vedge[i]
                g0, p0 = _grow_share(e, b, last, k, eptr, eweight, cnt)
                cnt[e * k + last] -= 1
                cnt[e * k + b] += 1
                g1, p1 = _grow_share(e, b, last, k, eptr, eweight, cnt)
                if g1 == g0 and p1 == p0:
                    continue
                for j in range(eptr[e], eptr[e + 1]):
                    u = epin[j]
                    if blocks[u] != last:
                        continue
                    gain[u] += g1 - g0
                    pull[u] += p1 - p0
                    s = gain[u] * 1e6 + pull[u]
                    if hsize == hkey.shape[0]:
                        hkey = np.concatenate((hkey, np.empty(hsize, dtype=np.float64)))
                        hrank = np.concatenate((hrank, np.empty(hsize, dtype=np.int64)))
                        hitem = np.concatenate((hitem, np.empty(hsize, dtype=np.int64)))
                    hsize = _heap_push(hkey, hrank, hitem, hsize, s, rank[u], u)
    if load[last] > caps[last]:
        blocks[0] = -1
    return blocks


def initial_blocks(vweight: np.ndarray, caps: np.ndarray, rng: np.random.Generator):
    """A random balanced placement of weighted vertices (heaviest first, into the QPU with
    the most room, ties at random), or None when the greedy packing does not fit."""
    k = int(caps.shape[0])
    nv = vweight.shape[0]
    order = np.lexsort((rng.random(nv), -vweight)).astype(np.int64)
    noise = rng.random((nv, k)) * 0.5
    free = rng.integers(k, size=nv).astype(np.int64)
    blocks = _pack_blocks(vweight.astype(np.int64), caps.astype(np.int64), order, noise, free)
    return None if nv and blocks[0] < 0 else blocks


@njit(cache=True, nogil=True)
def _pack_blocks(vweight, caps, order, noise, free):
    """Kernel of :func:`initial_blocks`: vertices in ``order``, each weighted one into the QPU
    of most room plus its ``noise`` row, weight-0 ones into QPU ``free[v]``; ``blocks[0]`` is
    -1 when some vertex does not fit."""
    k = caps.shape[0]
    room = caps.copy()
    blocks = np.empty(vweight.shape[0], dtype=np.int64)
    for v in order:
        w = vweight[v]
        if w == 0:
            blocks[v] = free[v]
            continue
        b = 0
        for p in range(1, k):
            if room[p] + noise[v, p] > room[b] + noise[v, b]:
                b = p
        if room[b] < w:
            blocks[0] = -1
            return blocks
        room[b] -= w
        blocks[v] = b
    return blocks


def multilevel_partition(hg, capacities: np.ndarray, seed: int = 0, runs: int = 4,
                         schemes: tuple = ("pair",), flows: bool = False,
                         stop: threading.Event | None = None, tries: int = 8,
                         ) -> tuple[np.ndarray | None, int]:
    """Best of ``runs`` multilevel partitions from scratch (free gates on any QPU), the
    coarsening ``schemes`` (:data:`SCHEMES`) taken in turn, with minimum-cut placement of the
    free gates at the coarsest level and the finest (:data:`CUT_LEVELS`) when ``flows`` (see
    :func:`v_cycle`).

    Each run partitions its coarsest level ``tries`` times (see :func:`v_cycle`).  Returns
    the QPU of every vertex and its km1, or ``(None, -1)`` when no run found a balanced
    placement (capacities too tight for the coarse clusters) or ``stop`` was set (see
    :func:`v_cycle`).
    """
    caps = capacities.astype(np.int64)
    vweight = np.concatenate([hg.vweight, np.zeros(hg.num_gates, dtype=np.int64)])
    rng = np.random.default_rng(seed)
    best, best_cost = None, -1
    for r in range(runs):
        blocks = np.zeros(vweight.shape[0], dtype=np.int64)
        cost = v_cycle(hg.eptr, hg.epin, hg.vptr, hg.vedge, hg.eweight, vweight, caps, blocks,
                       rng, fresh=True, scheme=schemes[r % len(schemes)], flows=flows,
                       stop=stop, tries=tries)
        if cost >= 0 and (best is None or cost < best_cost):
            best, best_cost = blocks, cost
    return best, best_cost


def multilevel_refine(hg, capacities: np.ndarray, blocks: np.ndarray, seed: int = 0,
                      cycles: int = 4, vgroup: np.ndarray | None = None,
                      ngroups: int = 1, schemes: tuple = ("pair",),
                      flows: bool = False,
                      stop: threading.Event | None = None) -> tuple[np.ndarray, int]:
    """Improve a placement of every vertex with V-cycles; return the best and its km1.

    The cycles take the coarsening ``schemes`` (:data:`SCHEMES`) in turn (a local optimum of
    one scheme's clusters is often not one of the other's), with minimum-cut placement of the
    free gates when ``flows`` (see :func:`v_cycle`).

    On a hypergraph too small to coarsen (:func:`coarsest_vertices`) a cycle is a
    deterministic refinement of its start, so the first cycle without gain ends the chain:
    the next would repeat it exactly.

    Parameters
    ----------
    hg : Hypergraph
        Packet hypergraph.
    capacities : ndarray of int64
        Capacity of every QPU.
    blocks : ndarray of int64
        Balanced QPU of every vertex (qubits, then free gates), e.g. from
        :meth:`araqne.partitioner.Partition.vertex_blocks`.
    seed : int
        Seed of the matchings.
    cycles : int
        V-cycles at most (stops after two cycles in a row, and one of every scheme, gain
        nothing).
    vgroup, ngroups : ndarray of int64, int, optional
        Capacity groups (see :func:`v_cycle`).
    schemes : tuple of str
        Coarsening schemes, in turn.
    flows : bool
        Minimum-cut placement of the free gates at the coarsest level and the finest
        (:data:`CUT_LEVELS`; see :func:`v_cycle`).
    stop : threading.Event, optional
        Once set, no further cycle runs (see :func:`v_cycle`); the best so far is returned.
    """
    caps = capacities.astype(np.int64)
    k = int(caps.shape[0])
    vweight = np.concatenate([hg.vweight, np.zeros(hg.num_gates, dtype=np.int64)])
    best = blocks.astype(np.int64).copy()
    best_cost = int(km1_of_blocks(k, hg.eptr, hg.epin, hg.eweight, best))
    rng = np.random.default_rng(seed)
    flat = vweight.shape[0] <= coarsest_vertices(k)
    misses = 0
    for c in range(cycles):
        trial = best.copy()
        cost = v_cycle(hg.eptr, hg.epin, hg.vptr, hg.vedge, hg.eweight, vweight, caps, trial,
                       rng, vgroup=vgroup, ngroups=ngroups, scheme=schemes[c % len(schemes)],
                       flows=flows, stop=stop)
        if cost < 0:
            break  # stopped
        if cost < best_cost:
            best, best_cost = trial, cost
            misses = 0
        else:
            misses += 1
            if flat or misses >= max(2, len(schemes)):
                break
    return best, best_cost


FRESH_PINS = 2_000
"""Fresh multilevel partitions of :func:`detached_search`: ``min(FRESH_MAX, FRESH_PINS / pins)``
per unit of effort, at least one.  At 2,000 rather than 4,000 (fewer partitions between 500
and about 2,700 pins; elsewhere both give the same count), paired runs of the 131
Mt-KaHyPar benchmark cases at seeds 0 to 2 took 7.5% less CPU time for a km1 sum of 251,961
instead of 251,959, none newly worse than Mt-KaHyPar's best of 3 (``FRESH_MAX`` 2 as well:
8.7% less, but QAOA-128 at k = 4 lost at seed 2)."""

FRESH_MAX = 4

CHAINS = 3
"""V-cycle chains from the main refinement's partition in :func:`detached_search`, each with
its own matchings: ``min(CHAINS, CHAIN_PINS / pins)`` per unit of effort, at least one, and
at least two on a coarsened hypergraph (each with half the cycles, side by side).  One chain
from the same start ends anywhere between 124 and 130 e-bits on QFT-128 at k = 4, depending on
the seed; the best of two or three is far steadier."""

CHAIN_PINS = 25_000
"""At 25,000 rather than 50,000 (fewer chains above 10,000 pins: QFT-128, QFT-256, CP-256,
UCCSD-24), every km1 of the 131 Mt-KaHyPar benchmark cases stayed the same at seeds 0 to 2,
and the detached stage of the 13 circuits with the largest hypergraphs took 18.9 s of CPU time
instead of 20.4 and 21.2 s (one thread).  At 15,000, 3 km1 got worse, by up to 1.6%."""

CYCLE_PINS = 5_000
"""V-cycles per chain of :func:`detached_search`: ``4 * effort``, times ``CYCLE_PINS / pins``
above that many pins (a chain stops anyway after two cycles without gain).  At 5,000 rather
than 25,000, alternated runs of the 131 Mt-KaHyPar benchmark cases (two threads, seeds 0 to
2) took 0.89 of the wall time (0.92 at 10,000, with the same km1 everywhere below 20,000
pins); the km1 sum rose from 251,968 to 252,018 (+0.02%), on cp_fraction_256 (4 runs, by up
to 0.15%) and QFT-128 at k = 4, seed 1 (124 to 127; Mt-KaHyPar's best 130)."""

FRESH_LIMIT = 10_000
"""Above this many pins :func:`detached_search` builds no fresh multilevel partition, unless
the hypergraph is too small to coarsen (:func:`coarsest_vertices`; quantum volume reduces to a
dense graph of its qubits): there one fresh partition costs as much as a chain of V-cycles
from the main refinement's partition and rarely beats it.  Alternated runs of the 51
Mt-KaHyPar benchmark cases of 2,000 pins or more (two threads, seeds 0 and 1, with
:data:`LARGE_EFFORT`): at 5,000 rather than 20,000 they took 0.82 of the wall time (0.53
between 5,000 and 20,000 pins) for a km1 sum 0.1% higher, but cp_fraction_128 at k = 2 rose
from 984 to 1015 and a Mt-KaHyPar run reached 1012; at 10,000 rather than 5,000 they took 1.12
times as long, with the fresh partitions of cp_fraction_128 and random_cx_128 back (km1 sum
161,595 to 161,422, 10 runs better, none worse).  At 2,000, cp_fraction_64 at k = 2 went from
225 to 238 (Mt-KaHyPar's best 229)."""

TABU_CELLS = 1.5e7
"""Tabu budget of :func:`detached_search`: the work of ``min(TABU_STEPS, TABU_CELLS /
(vertices * k))`` steps that scan every vertex and QPU, per run and unit of effort, skipped
below ``TABU_MIN_STEPS`` such steps, i.e. on large hypergraphs.  A walk on the heap of
:func:`.tabu.tabu_refine` spends that work on more, cheaper steps: QAOA-128 at k = 4 takes
about 5 times as many, which is what its ridges need (over seeds 0 to 19 its mean km1 went
from 64.45 to 63.35 at k = 4 and from 92.05 to 90.05 at k = 8).  Longer walks everywhere
cost more than they gain: 25,000 steps on every hypergraph of up to 20,000 pins took 3.5 s
more CPU time over the 103 searched cases of the Mt-KaHyPar benchmark, whose other stages
took 9 s, for 0.09% less km1.  1e7 took 0.88 of the wall time under 2,000 pins, but QAOA-128
at k = 4, seed 0, ended at 62 instead of 60, and Mt-KaHyPar reached 60 in 2 runs of 20."""

TABU_STEPS = 10_000

TABU_PATIENCE_FLOOR = 2_000_000
"""A tabu walk's patience in work units at least (about 5 ms), though at most twice the usual
share of its budget (:data:`TABU_PATIENCE`): on the smallest hypergraphs 0.3 of the budget is
a few thousand steps, too few to cross some ridges.  qaoa_gnp_32 at k = 2, seed 0, stopped at
22 e-bits (seeds 1 to 9: 20 or 21; Mt-KaHyPar's runs reach 20 and 21); with the floor every
seed of 0 to 9 reaches 20 (at most 0.5 of the budget: 21 at seed 0).  It changes only walks of
less than 6.7 million units of budget: the 80 Mt-KaHyPar benchmark cases under 2,000 pins took
1.065 times the wall time (seeds 0 to 2, alternated runs with :data:`TABU_CELLS` at 1e7; 1.09
without the cap), km1 sum 10,228 to 10,225."""

TABU_MIN_STEPS = 1_000

TABU_RUNS = 2
"""Tabu runs from the best placement; even runs use the short tenure ``TABU_TENURE`` (best on
the dense weighted qubit graphs of quantum volume), odd runs one that grows with the vertices
(best on hypergraphs with many free gates)."""

TABU_TENURE = 4

TABU_PATIENCE = 0.3
"""A tabu run stops once the last ``max(TABU_PATIENCE * steps, 2 * found)`` steps found no
better placement (``found`` the steps to the best so far): 3 runs in 4 never improve on
their start, and 9 in 10 of the others improve within a fifth of their steps.  The detached
stage of the 131 Mt-KaHyPar benchmark cases took 10.1 s instead of 12.9 s (one thread); 5
km1 got worse, by 0.05% to 4% (cp_fraction_32 at k = 8: 118 to 123; Mt-KaHyPar 132)."""

TWIN_SEED = 1000
"""Seed offset of the tabu walks that :func:`detached_search` runs on the original hypergraph
after a search on a reduction that merged twin layers (:mod:`.reduce`).  The reduction
halves QAOA with p = 2, and the search on it alone ended worse on QAOA-128 at k = 4 (mean
km1 over seeds 0 to 39: 64.35 against 63.5 unreduced) but better elsewhere (qaoa_gnp_32 at
k = 4: 40.9 against 43.05 over seeds 0 to 19).  With these walks, whose moves may treat the
layers apart: 63.0 and 40.9, and QAOA-128 at k = 8 88.3 against 89.95.  The same walks on
the reduced hypergraph gave 63.1 at k = 4 (seeds 0 to 19, against 62.75)."""

FRESH_TRIES = 8
"""Starts of a fresh partition's coarsest level (:func:`v_cycle`); a lone fresh partition
becomes two with half the tries each, side by side."""

FRESH_TRIES_MIN = 2
"""Starts of a fresh partition's coarsest level at least: below effort 1 the tries shrink with
it (on a coarsened hypergraph, whose coarsest level holds most of the pins, they are most of a
fresh partition's time)."""

FRESH_FLAT_STARTS = 16
"""Starts of all the fresh partitions of a hypergraph too small to coarsen
(:func:`coarsest_vertices`) at least, whatever the effort: there a start costs about a
millisecond, and the best of few often misses the optimum (cp_fraction_32 at k = 2).  On
dense ones, whose starts cost more, the floor is :data:`FLAT_START_PINS` over the pins."""

FLAT_START_PINS = 32_000
"""Pins of all the floor's starts (:data:`FRESH_FLAT_STARTS`) at most: quantum volume reduces
to a dense graph of its qubits, where a start costs about 7 ms (QV-96, 5,814 pins).  QV-96 then
gets the 8 starts of its budget instead of 16 and QV-64 12: QV-96's three cases took 0.6 to
0.7 of the time and QV-64's 0.8 to 1.0, with the same km1 at seed 0 (QV-96 at k = 8: 10,956
instead of 10,962); over seeds 0 to 2 QV-96 at k = 4 gave 9177, 9195 and 9159 instead of 9177
three times."""

LARGE_EFFORT = 0.3
"""Share of the caller's effort that :func:`detached_search` spends on a hypergraph of
:data:`LARGE_SEARCH_PINS` pins or more (reduced) that is not too small to coarsen
(:func:`search_effort`): every part of its budget (V-cycles, chains, fresh partitions and
their tries, tabu steps) shrinks with it, each down to its floor.  Alternated runs of the 51
Mt-KaHyPar benchmark cases of 2,000 pins or more (two threads, seeds 0 and 1) took 0.74 of the
wall time at 0.3, km1 sum +0.1% (161,285 to 161,451); 0.2 took 0.72 (the floors hold it).
Smaller hypergraphs keep the whole effort: at half of it, below 2,000 pins, QAOA-128 at k = 4
ended at 65 or 66 instead of 60 to 62 (Mt-KaHyPar's best 62), and ``araqne bench --check``
failed on cp_fraction_32 and cz_fraction_48 at k = 4 (94 and 205 e-bits against the
baseline's 93 and 203).  So do quantum volume's dense graphs of 64 and 96 qubits, whose tabu
walks need the whole budget (QV-96 at k = 4: 9177 at seeds 0 to 2, 9195 at seed 0 with the
share, and Mt-KaHyPar reaches 9177), for about 0.17 s more over those six cases."""

LARGE_SEARCH_PINS = 2_000


def search_effort(hg, k: int, effort: float) -> float:
    """The budget of :func:`detached_search` on ``hg`` (reduced) over ``k`` QPUs at the
    caller's ``effort``: ``effort * LARGE_EFFORT`` from :data:`LARGE_SEARCH_PINS` pins on,
    unless the hypergraph is too small to coarsen (:func:`coarsest_vertices`), else
    ``effort``.  On large hypergraphs the start is already close, and a V-cycle or a fresh
    partition gains little for its cost; on small ones, and on the dense graphs of few
    vertices that quantum volume reduces to, the tabu walks and the fresh partitions reach
    the best placements (QV-96 at k = 4, seed 0: 9195 e-bits with the share, 9177 without;
    Mt-KaHyPar reaches 9177)."""
    if int(hg.epin.shape[0]) < LARGE_SEARCH_PINS or too_small_to_coarsen(hg, k):
        return effort
    return effort * LARGE_EFFORT


FRESH_SCHEMES = ("cluster",)
"""Coarsening schemes of the fresh partitions of :func:`detached_search` (V-cycles use all of
:data:`SCHEMES`).  Fresh "pair" partitions won alone on 4 of 131 benchmark cases, each time by
less than 1%, for a third of the search's time."""


class FreshPartitions:
    """The fresh multilevel partitions of :func:`detached_search`, started ahead by
    :func:`start_fresh` while the caller finds the start (they do not need it).

    Attributes
    ----------
    hg : Hypergraph
        The hypergraph they partition (before its reduction).
    capacities : ndarray of int64
        Capacity of every QPU.
    seed : int
        Seed of the search.
    effort : float
        Work budget of the search.
    reduction : Reduction
        The exact reduction of ``hg`` that they partition (:func:`.reduce.reduce_hypergraph`).
    bound : int
        Its :func:`.bounds.km1_lower_bound`.
    pending : Pending
        The tasks (:func:`.parallel.start_all`).
    stop : threading.Event
        Set by :meth:`cancel`: running tasks give up at their next level.
    """

    def __init__(self, hg, capacities: np.ndarray, seed: int, effort: float) -> None:
        self.hg = hg
        self.capacities = capacities.astype(np.int64).copy()
        self.seed = seed
        self.effort = effort
        self.reduction = reduce_hypergraph(hg)
        work = hg if self.reduction.trivial else self.reduction.hg
        self.bound = km1_lower_bound(work, self.capacities)
        # where even the linear seed (gates beside their first qubit) meets the bound, the
        # start will too and the search needs no partition: start none (ladders, GHZ)
        k = int(self.capacities.shape[0])
        linear = linear_seed(work.num_qubits, self.capacities)
        needed = not ((np.bincount(linear, weights=work.vweight, minlength=k)
                       <= self.capacities).all()
                      and km1_after(work, linear, np.zeros(work.num_gates, dtype=np.int64), k)
                      <= self.bound)
        self.stop = threading.Event()
        self.pending = start_all(_fresh_tasks(work, self.capacities, seed,
                                              search_effort(work, k, effort), self.stop),
                                 start=needed)

    def cancel(self) -> None:
        """Drop the partitions (the search needs none): tasks not started never run, and
        running ones give up at their next level, so they take no time from what follows."""
        self.stop.set()
        self.pending.cancel()

    def matches(self, hg, capacities: np.ndarray, seed: int, effort: float) -> bool:
        """Whether these are the fresh partitions of that search."""
        return (hg is self.hg and seed == self.seed and effort == self.effort
                and np.array_equal(capacities, self.capacities))


def start_fresh(hg, capacities: np.ndarray, seed: int = 0,
                effort: float = 1.0) -> FreshPartitions:
    """Start the fresh multilevel partitions of ``detached_search(hg, capacities, ...,
    seed=seed, effort=effort)`` on the cores now, and return at once.

    They depend on neither the start nor anything the caller computes meanwhile, so
    starting them while the side-only stage runs changes the time only: the cores that the
    stage's serial steps leave idle work on them.  Pass the result to
    :func:`detached_search` as ``fresh``.
    """
    return FreshPartitions(hg, capacities, seed, effort)


def detached_search(hg, capacities: np.ndarray, part: np.ndarray, side: np.ndarray,
                    seed: int = 0, effort: float = 1.0,
                    fresh: FreshPartitions | None = None) -> tuple[np.ndarray, int]:
    """Best placement found with free gates allowed on any QPU, never worse than the input.

    The search runs on the exact reduction of ``hg`` (:func:`.reduce.reduce_hypergraph`).
    Chains of V-cycles (:data:`CHAINS`, each with its own matchings) refine the partition of
    the main refinement (qubits plus gate sides); multilevel partitions from scratch
    (:data:`FRESH_SCHEMES`; none above :data:`FRESH_LIMIT` pins), the best refined by
    V-cycles, compete with them.  Every level of every cycle runs k-way FM, the coarsest and
    the two finest also minimum-cut placement of the free gates (:func:`v_cycle` with
    ``flows``), the cycles alternating the coarsening schemes (:data:`SCHEMES`).  On small
    hypergraphs tabu search (:func:`.tabu.tabu_refine`) then walks on from the best
    placement.  From :data:`.swap.SWAP_MIN_PINS` pins, qubit moves and swaps that carry
    their free gates along by minimum cuts (:func:`.swap.swap_refine`) follow on the reduced
    hypergraph.  Where the reduction merged twin layers, tabu walks run again on the
    original hypergraph (see :data:`TWIN_SEED`); no walks run where every chain and every
    fresh partition ended at the same km1 (see :func:`_search_from`).  A start at
    :func:`.bounds.km1_lower_bound` is optimal and skips all this.  Gates left on a third
    QPU for nothing finally return beside a qubit (:func:`.detach.home_gates`).  Runs scale
    with ``effort``, a smaller share of it on large hypergraphs (:func:`search_effort`), and
    shrink further with their size.

    Parameters
    ----------
    hg : Hypergraph
        Packet hypergraph.
    capacities : ndarray of int64
        Capacity of every QPU.
    part, side : ndarray of int64
        A balanced partition (:func:`araqne.partitioner.partition_hypergraph`).
    seed : int
        Random seed.
    effort : float
        Work budget (1.0 default).
    fresh : FreshPartitions, optional
        The fresh partitions of this very search, started ahead (:func:`start_fresh`).
        The result is the same with or without.

    Returns
    -------
    blocks : ndarray of int64
        QPU of every vertex (qubits ``0 .. n-1`` then free gates).
    km1 : int
        Its all-to-all e-bits.

    Raises
    ------
    ValueError
        When ``fresh`` was started for another hypergraph, capacities, seed or effort.
    """
    if fresh is not None and not fresh.matches(hg, capacities, seed, effort):
        raise ValueError("fresh partitions started for another search")
    k = int(capacities.shape[0])
    original = hg
    red = fresh.reduction if fresh is not None else reduce_hypergraph(hg)
    if not red.trivial:
        hg, side = red.hg, red.reduce_side(side)
    gq = hg.gate_qubits[np.arange(hg.num_gates), side] if hg.num_gates else \
        np.zeros(0, dtype=np.int64)
    start = np.concatenate([part, part[gq]]).astype(np.int64)
    best = start
    best_cost = int(km1_of_blocks(k, hg.eptr, hg.epin, hg.eweight, start))
    bound = fresh.bound if fresh is not None else km1_lower_bound(hg, capacities)
    effort = search_effort(hg, k, effort)
    agreed = False
    if best_cost > bound:  # else the start is optimal already
        pending = fresh.pending if fresh is not None else None
        best, best_cost, agreed = _search_from(hg, capacities, start, seed, effort, pending)
        if best_cost > bound and original.epin.shape[0] >= SWAP_MIN_PINS:
            best, best_cost = _swaps(hg, capacities, best)
    elif fresh is not None:
        fresh.cancel()
    if not red.trivial:
        best, hg = red.lift_blocks(best), original
        if red.twins and best_cost > bound and not agreed:
            # twin layers share one placement in the reduced search; walks on the original,
            # whose layers may differ, pass through states that search could not reach
            best, best_cost = _tabu_walks(hg, capacities, best, best_cost, seed + TWIN_SEED,
                                          effort)
    gate_home = hg.gate_qubits.astype(np.int64) if hg.num_gates else \
        np.zeros((0, 2), dtype=np.int64)
    home_gates(k, hg.num_qubits, hg.vptr, hg.vedge, hg.eweight, hg.eptr, hg.epin, gate_home,
               best)
    return best, int(km1_of_blocks(k, hg.eptr, hg.epin, hg.eweight, best))


def _swaps(hg, capacities: np.ndarray, best: np.ndarray) -> tuple[np.ndarray, int]:
    """``best`` improved by qubit moves and swaps with re-cuts of their free gates
    (:func:`.swap.swap_refine`: :data:`.swap.SWAP_ROUNDS` rounds, one from
    :data:`.swap.SWAP_REPEAT_PINS` pins), and its km1."""
    vweight = np.concatenate([hg.vweight, np.zeros(hg.num_gates, dtype=np.int64)])
    rounds = SWAP_ROUNDS if hg.epin.shape[0] < SWAP_REPEAT_PINS else min(SWAP_ROUNDS, 1)
    best = best.copy()
    cost = swap_refine(int(capacities.shape[0]), hg.eptr, hg.epin, hg.vptr, hg.vedge,
                       hg.eweight, vweight, capacities.astype(np.int64), best, rounds,
                       SWAP_TRIES)
    return best, cost


def _budget(hg, k: int, effort: float) -> tuple[int, int, int, int, int]:
    """V-cycles of a refinement, V-cycles per chain, chains, fresh partitions and the tries
    of each at its coarsest level, of the search on ``hg`` (reduced)."""
    size = int(hg.epin.shape[0])
    cycles = max(1, int(round(4 * effort * min(1.0, CYCLE_PINS / max(size, 1)))))
    chains = max(1, int(round(effort * min(CHAINS, max(1.0, CHAIN_PINS / max(size, 1))))))
    runs = max(1, int(round(effort * min(FRESH_MAX, max(1.0, FRESH_PINS / max(size, 1))))))
    chain_cycles = cycles
    flat = too_small_to_coarsen(hg, k)
    if flat:
        chains = 1  # uncoarsened chains use no random numbers: more would be copies
    elif chains == 1:
        # two chains side by side, each with half the cycles, take half the time
        chains, chain_cycles = 2, max(1, (cycles + 1) // 2)
    tries = FRESH_TRIES
    if size > FRESH_LIMIT and not flat:
        runs = 0
    elif runs == 1:
        # two side by side, each with half the tries, take half the time
        runs, tries = 2, FRESH_TRIES // 2
    if not flat:
        tries = max(FRESH_TRIES_MIN, int(round(tries * min(1.0, effort))))
    else:
        floor = min(FRESH_FLAT_STARTS, max(1, FLAT_START_PINS // max(size, 1)))
        if runs and runs * tries < floor:
            runs = -(-floor // tries)
    return cycles, chain_cycles, chains, runs, tries


def _fresh_tasks(hg, capacities: np.ndarray, seed: int, effort: float,
                 stop: threading.Event | None = None) -> list:
    """The fresh multilevel partitions of the search on ``hg`` (reduced), as tasks; the best
    is refined once all have ended (by :func:`_search_from`)."""
    _, _, _, runs, tries = _budget(hg, int(capacities.shape[0]), effort)

    def fresh(r: int):
        scheme = FRESH_SCHEMES[r % len(FRESH_SCHEMES)]
        return multilevel_partition(hg, capacities, seed=seed + 1 + 2 * r, runs=1,
                                    schemes=(scheme,), flows=True, stop=stop, tries=tries)

    return [partial(fresh, r) for r in range(runs)]


def _search_from(hg, capacities: np.ndarray, start: np.ndarray, seed: int,
                 effort: float, pending: Pending | None = None
                 ) -> tuple[np.ndarray, int, bool]:
    """The search of :func:`detached_search` on ``hg`` as given, from the placement
    ``start``: V-cycle chains, fresh multilevel partitions (``pending``, the tasks of
    :class:`FreshPartitions` when started ahead), then tabu search, unless every chain,
    every fresh partition and its refinement ended at the same km1: independent starts that
    all agree have most likely found the optimum, and the walks are skipped.  On the 131
    Mt-KaHyPar benchmark cases at seeds 0 to 2 the searches agreed in 47 of the 150 that ran
    under 2,000 pins (ladders, W states, QPE, QFT-16, adders at k = 2) and 29 of 153 above,
    and walks run from there anyway gained nothing; every km1 stayed the same, for 0.95 of
    the wall time (0.91 under 2,000 pins; alternated runs).  Two chains from the same start
    are no such evidence: counting them alone skipped a walk that took random_cx_128 at
    k = 2 from 1315 to 1303.

    Returns
    -------
    blocks : ndarray of int64
        The best placement.
    km1 : int
        Its km1.
    agreed : bool
        Whether the searches agreed (the walks were skipped; so are those on the original
        hypergraph after a twin reduction, see :func:`detached_search`).
    """
    k = int(capacities.shape[0])
    cycles, chain_cycles, chains, _, _ = _budget(hg, k, effort)

    def chain(c: int):
        return multilevel_refine(hg, capacities, start, seed=seed + 101 * c,
                                 cycles=chain_cycles, schemes=SCHEMES, flows=True)

    # the chains and the fresh partitions are independent: they run side by side, and the
    # best fresh partition's refinement queues behind the chains, not after them
    if pending is None:
        pending = start_all(_fresh_tasks(hg, capacities, seed, effort))
    chained = start_all([partial(chain, c) for c in range(chains)], first=True)
    made = [result for result in pending.results() if result[0] is not None]
    refined = None
    if made:
        # the best fresh partition's cycles run as two chains side by side (one where
        # cycles use no random numbers), so that no core waits for one long refinement
        blocks, _ = min(made, key=lambda result: result[1])
        halves = 1 if too_small_to_coarsen(hg, k) else 2

        def refine(h: int):
            return multilevel_refine(hg, capacities, blocks, seed=seed + 2 + h,
                                     cycles=max(1, (cycles + halves - 1) // halves),
                                     schemes=SCHEMES, flows=True)

        refined = start_all([partial(refine, h) for h in range(halves)], first=True)
    results = chained.results() + (refined.results() if refined is not None else [])
    best, best_cost = None, -1
    for trial, cost in results:
        if trial is not None and (best is None or cost < best_cost):
            best, best_cost = trial, cost
    ends = [cost for _, cost in made] + [cost for trial, cost in results if trial is not None]
    if made and all(cost == best_cost for cost in ends):
        return best, best_cost, True
    return (*_tabu_walks(hg, capacities, best, best_cost, seed, effort), False)


def _tabu_walks(hg, capacities: np.ndarray, best: np.ndarray, best_cost: int, seed: int,
                effort: float) -> tuple[np.ndarray, int]:
    """Tabu walks (:data:`TABU_RUNS`) on from ``best`` on a small hypergraph (see
    :data:`TABU_CELLS`); the best placement found and its km1 (``best`` itself when no walk
    beats it, or on large hypergraphs, where none runs)."""
    k = int(capacities.shape[0])
    nv = hg.num_qubits + hg.num_gates
    steps = int(effort * min(TABU_STEPS, TABU_CELLS / max(nv * k, 1)))
    if steps >= TABU_MIN_STEPS:
        vweight = np.concatenate([hg.vweight, np.zeros(hg.num_gates, dtype=np.int64)])
        # the work of that many steps scanning every move; a heap walk takes more, cheaper
        # steps for the same work
        work = steps * nv * k
        patience = int(max(TABU_PATIENCE * work,
                           min(TABU_PATIENCE_FLOOR, 2 * TABU_PATIENCE * work)))

        def walk(r: int):
            trial = best.copy()
            # short tenures suit dense weighted graphs, long ones many-pin hypergraphs
            tenure = TABU_TENURE if r % 2 == 0 else max(TABU_TENURE, nv // 16)
            cost = tabu_refine(k, hg.eptr, hg.epin, hg.vptr, hg.vedge, hg.eweight, vweight,
                               capacities.astype(np.int64), trial, work, tenure, tenure,
                               seed + 7 + r, patience, work=work)
            return trial, cost

        for trial, cost in run_all([partial(walk, r) for r in range(TABU_RUNS)]):
            if cost < best_cost:
                best, best_cost = trial, cost
    return best, best_cost
