"""Exact gate placement for a fixed qubit assignment (minimum bipartite vertex cover).

For a fixed assignment, a free gate between qubit ``a`` (QPU ``A``, window ``ea``) and qubit
``b`` (QPU ``B != A``, window ``eb``) runs either on ``B``, which makes window ``ea`` pay for a
copy on ``B`` (the *node* ``(ea, B)``), or on ``A``, paying node ``(eb, A)``.  Every gate must
have one of its two nodes paid, and each paid node costs one e-bit however many gates use it: a
vertex cover.  Nodes ``(e, P)`` whose root lives below ``P`` and nodes whose root lives above
``P`` form the two sides of a bipartite graph (a gate joins ``(ea, B)`` to ``(eb, A)``), so the
minimum cover follows from a maximum matching (Konig's theorem).  Nodes already paid by pinned
gates cost nothing more.  This is the exact optimum of the gate sides on an all-to-all network.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .detach import _max_flow, residual_network
from .refine import pin_counts


@njit(cache=True, nogil=True)
def _fixed_paid(n, k, eptr, epin, part, roots):
    """Per (edge, QPU): 1 where a qubit pin (root or pinned partner) already lies there."""
    ne = eptr.shape[0] - 1
    paid = np.zeros(ne * k, dtype=np.int8)
    for e in range(ne):
        for t in range(eptr[e], eptr[e + 1]):
            v = epin[t]
            if v < n:
                paid[e * k + part[v]] = 1
    return paid


@njit(cache=True, nogil=True)
def _csr(nl, li, ri):
    """Adjacency (CSR) of the left nodes of a bipartite graph given as edge lists."""
    indptr = np.zeros(nl + 1, dtype=np.int64)
    for i in range(li.shape[0]):
        indptr[li[i] + 1] += 1
    for u in range(nl):
        indptr[u + 1] += indptr[u]
    fill = indptr[:-1].copy()
    indices = np.empty(li.shape[0], dtype=np.int64)
    for i in range(li.shape[0]):
        indices[fill[li[i]]] = ri[i]
        fill[li[i]] += 1
    return indptr, indices


@njit(cache=True, nogil=True)
def _max_matching(nl, nr, indptr, indices):
    """Maximum bipartite matching (Hopcroft-Karp: BFS layers from the free left nodes, then
    vertex-disjoint shortest augmenting paths by DFS); returns ``(match_l, match_r)``.

    In numba rather than :func:`scipy.sparse.csgraph.maximum_bipartite_matching`: the graphs
    are small and the cover runs after every refinement round, where building scipy's sparse
    matrices cost more than the matching itself.
    """
    match_l = np.full(nl, -1, dtype=np.int64)
    match_r = np.full(nr, -1, dtype=np.int64)
    # greedy start
    for u in range(nl):
        for t in range(indptr[u], indptr[u + 1]):
            r = indices[t]
            if match_r[r] < 0:
                match_l[u] = r
                match_r[r] = u
                break
    dist = np.empty(nl, dtype=np.int64)
    queue = np.empty(nl, dtype=np.int64)
    it = np.empty(nl, dtype=np.int64)
    stack = np.empty(nl, dtype=np.int64)
    big = nl + nr + 1
    while True:
        qh, qt = 0, 0
        for u in range(nl):
            if match_l[u] < 0:
                dist[u] = 0
                queue[qt] = u
                qt += 1
            else:
                dist[u] = big
        found = big
        while qh < qt:
            u = queue[qh]
            qh += 1
            if dist[u] >= found:
                continue
            for t in range(indptr[u], indptr[u + 1]):
                u2 = match_r[indices[t]]
                if u2 < 0:
                    if found == big:
                        found = dist[u] + 1
                elif dist[u2] == big:
                    dist[u2] = dist[u] + 1
                    queue[qt] = u2
                    qt += 1
        if found == big:
            return match_l, match_r
        for u in range(nl):
            it[u] = indptr[u]
        for root in range(nl):
            if match_l[root] >= 0:
                continue
            # iterative DFS along the layers; stack holds left nodes
            depth = 0
            stack[0] = root
            while depth >= 0:
                u = stack[depth]
                advanced = False
                while it[u] < indptr[u + 1]:
                    r = indices[it[u]]
                    u2 = match_r[r]
                    if u2 < 0:
                        if dist[u] + 1 == found:
                            # augment along the stack
                            for d in range(depth, -1, -1):
                                x = stack[d]
                                r2 = indices[it[x]]
                                match_l[x] = r2
                                match_r[r2] = x
                            depth = -1
                            advanced = True
                            break
                    elif dist[u2] == dist[u] + 1:
                        depth += 1
                        stack[depth] = u2
                        advanced = True
                        break
                    it[u] += 1
                if depth < 0:
                    break
                if not advanced:
                    dist[u] = big  # dead end in this phase
                    depth -= 1
                    if depth >= 0:
                        it[stack[depth]] += 1


@njit(cache=True, nogil=True)
def _konig(nl, nr, indptr, indices, match_l, match_r):
    """Minimum vertex cover from a maximum matching: (in_cover_left, in_cover_right)."""
    vis_l = np.zeros(nl, dtype=np.bool_)
    vis_r = np.zeros(nr, dtype=np.bool_)
    stack = np.empty(nl, dtype=np.int64)
    top = 0
    for u in range(nl):
        if match_l[u] < 0:
            vis_l[u] = True
            stack[top] = u
            top += 1
    while top > 0:
        top -= 1
        u = stack[top]
        for t in range(indptr[u], indptr[u + 1]):
            r = indices[t]
            if vis_r[r] or match_l[u] == r:
                continue
            vis_r[r] = True
            u2 = match_r[r]
            if u2 >= 0 and not vis_l[u2]:
                vis_l[u2] = True
                stack[top] = u2
                top += 1
    return ~vis_l, vis_r


def optimal_sides(hg, part: np.ndarray, k: int, side: np.ndarray) -> np.ndarray:
    """Gate sides minimising km1 for the fixed qubit assignment ``part``.

    Parameters
    ----------
    hg : Hypergraph
        The packet hypergraph.
    part : ndarray of int64
        QPU of each qubit.
    k : int
        Number of QPUs.
    side : ndarray of int64
        Current sides; gates whose two qubits share a QPU keep theirs.

    Returns
    -------
    ndarray of int64
        New sides (0: the gate runs beside ``gate_qubits[g, 0]``, 1: beside the other).
    """
    side = side.copy()
    if hg.num_gates == 0:
        return side
    ga, gb = hg.gate_qubits[:, 0], hg.gate_qubits[:, 1]
    ea, eb = hg.gate_edges[:, 0], hg.gate_edges[:, 1]
    pa, pb = part[ga], part[gb]
    cross = pa != pb
    paid = _fixed_paid(hg.num_qubits, k, hg.eptr, hg.epin, part, hg.roots)
    node_b = ea * k + pb  # paid when the gate runs on B (beside b): side 1
    node_a = eb * k + pa  # paid when the gate runs on A (beside a): side 0
    free_b = paid[node_b] == 1
    free_a = paid[node_a] == 1
    side[cross & free_b] = 1
    side[cross & ~free_b & free_a] = 0
    open_ = np.flatnonzero(cross & ~free_a & ~free_b)
    if open_.size == 0:
        return side
    # left nodes: those whose root QPU is the smaller of the pair
    nb, na = node_b[open_], node_a[open_]
    a_small = pa[open_] < pb[open_]
    left = np.where(a_small, nb, na)
    right = np.where(a_small, na, nb)
    lkeys, li = np.unique(left, return_inverse=True)
    rkeys, ri = np.unique(right, return_inverse=True)
    nl, nr = lkeys.size, rkeys.size
    wl = hg.eweight[lkeys // k]
    wr = hg.eweight[rkeys // k]
    if wl.min(initial=1) == wl.max(initial=1) == wr.min(initial=1) == wr.max(initial=1):
        indptr, indices = _csr(nl, li.astype(np.int64), ri.astype(np.int64))
        match_l, match_r = _max_matching(nl, nr, indptr, indices)
        cover_l, cover_r = _konig(nl, nr, indptr, indices, match_l, match_r)
    else:
        cover_l = _weighted_cover_left(li, ri, wl, wr)
    # a gate runs beside the qubit whose node is NOT required... i.e. use a covered node
    left_cov = cover_l[li]
    # the left node is node_b when a is on the smaller QPU
    use_b = np.where(a_small, left_cov, ~left_cov)
    side[open_] = np.where(use_b, 1, 0)
    return side


def _weighted_cover_left(li: np.ndarray, ri: np.ndarray, wl: np.ndarray,
                         wr: np.ndarray) -> np.ndarray:
    """Minimum-weight vertex cover of a bipartite graph by minimum cut; return the left part.

    Source -> left (capacity: the left node's weight), left -> right (unbounded), right -> sink
    (the right node's weight).  Left nodes cut off from the source in the residual graph, and
    right nodes still reachable from it, form the cover.  The nodes reachable from the source
    are the same for every maximum flow, so the cover does not depend on the flow algorithm.
    """
    return _cover_cut(li.astype(np.int64), ri.astype(np.int64), wl.astype(np.int64),
                      wr.astype(np.int64))


@njit(cache=True, nogil=True)
def _cover_cut(li, ri, wl, wr):
    """Kernel of :func:`_weighted_cover_left`: the network (:func:`.detach.residual_network`),
    Dinic's flow (:func:`.detach._max_flow`), then the left nodes the source no longer
    reaches."""
    nl, nr, ne = wl.shape[0], wr.shape[0], li.shape[0]
    nn = nl + nr + 2
    src, sink = nl + nr, nl + nr + 1
    big = wl.sum() + wr.sum() + 1
    na = nl + ne + nr
    tail = np.empty(na, dtype=np.int64)
    head = np.empty(na, dtype=np.int64)
    cap = np.empty(na, dtype=np.int64)
    for i in range(nl):
        tail[i], head[i], cap[i] = src, i, wl[i]
    for x in range(ne):
        tail[nl + x], head[nl + x], cap[nl + x] = li[x], nl + ri[x], big
    for j in range(nr):
        tail[nl + ne + j], head[nl + ne + j], cap[nl + ne + j] = nl + j, sink, wr[j]
    ptr, ahead, acap, arev = residual_network(nn, na, tail, head, cap,
                                              np.zeros(na, dtype=np.int64))
    _max_flow(nn, src, sink, ptr, ahead, acap, arev, big)
    seen = np.zeros(nn, dtype=np.bool_)
    stack = np.empty(nn, dtype=np.int64)
    seen[src] = True
    stack[0] = src
    top = 1
    while top > 0:
        top -= 1
        u = stack[top]
        for t in range(ptr[u], ptr[u + 1]):
            v = ahead[t]
            if acap[t] > 0 and not seen[v]:
                seen[v] = True
                stack[top] = v
                top += 1
    return ~seen[:nl]


def km1_after(hg, part, side, k):
    """km1 of a (part, side) state, recomputed from scratch."""
    from .refine import km1_of_counts
    cnt = pin_counts(hg.num_qubits, k, hg.eptr, hg.epin, part, side, hg.gate_qubits)
    return int(km1_of_counts(cnt, k, hg.eweight))
