"""Minimum-cut placement of free gates, the gate-cache FM, clustering and the matching kernel."""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import maximum_bipartite_matching

from araqne.hypergraph import build_hypergraph
from araqne.packets import find_windows
from araqne.partitioner.cover import _csr, _konig, _max_matching
from araqne.partitioner.detach import (_best_move, _max_flow, _pair_flow, block_counts,
                                       detach_refine, flow_refine, home_gates, km1_of_blocks,
                                       residual_network)
from araqne.partitioner.multilevel import cluster_in_blocks, grow_blocks

from helpers import random_circuit


def _setup(seed: int, n: int, m: int, k: int):
    rng = np.random.default_rng(seed)
    circ = random_circuit(n, m, rng, gates=("cz", "cp", "cx", "rz", "h", "crz"))
    hg = build_hypergraph(circ, find_windows(circ))
    caps = np.full(k, -(-n // k), dtype=np.int64)
    part = np.repeat(np.arange(k), caps)[:n]
    rng.shuffle(part)
    blocks = np.concatenate([part, rng.integers(0, k, hg.num_gates)]).astype(np.int64)
    vweight = np.concatenate([hg.vweight, np.zeros(hg.num_gates, dtype=np.int64)])
    return rng, hg, caps, blocks, vweight


def _km1(hg, k, blocks):
    return int(km1_of_blocks(k, hg.eptr, hg.epin, hg.eweight, blocks))


@settings(max_examples=80, deadline=None)
@given(seed=st.integers(0, 10_000), nn=st.integers(2, 12), m=st.integers(0, 40))
def test_max_flow_and_its_source_side_match_networkx(seed, nn, m):
    """Dinic's flow (with its first scan of paths s -> u -> t) has networkx's value, stops
    once it reaches a limit below it, and leaves the nodes that networkx's maximum flow
    leaves reachable from the source (the same for every maximum flow): the side
    :func:`_pair_flow` moves the gates by."""
    rng = np.random.default_rng(seed)
    tail = rng.integers(0, nn, m)
    head = rng.integers(0, nn, m)
    keep = tail != head
    tail, head = tail[keep].astype(np.int64), head[keep].astype(np.int64)
    fwd = rng.integers(0, 6, tail.shape[0]).astype(np.int64)
    back = np.where(rng.random(tail.shape[0]) < 0.3, fwd, 0).astype(np.int64)
    graph = nx.DiGraph()
    graph.add_nodes_from(range(nn))
    for u, v, c in itertools.chain(zip(tail, head, fwd), zip(head, tail, back)):
        if graph.has_edge(int(u), int(v)):
            graph[int(u)][int(v)]["capacity"] += int(c)
        else:
            graph.add_edge(int(u), int(v), capacity=int(c))
    value, flow = nx.maximum_flow(graph, 0, 1)
    residual = nx.DiGraph([(u, v) for u, v, c in graph.edges(data="capacity")
                           if c > flow[u][v]] + [(v, u) for u, v in graph.edges
                                                if flow[u][v] > 0])
    residual.add_node(0)
    source_side = nx.descendants(residual, 0) | {0}
    aptr, ahead, acap, arev = residual_network(nn, tail.shape[0], tail, head, fwd, back)
    assert _max_flow(nn, 0, 1, aptr, ahead, acap, arev, 1 << 40) == value
    reach, todo = {0}, [0]
    while todo:
        u = todo.pop()
        for i in range(aptr[u], aptr[u + 1]):
            if acap[i] > 0 and int(ahead[i]) not in reach:
                reach.add(int(ahead[i]))
                todo.append(int(ahead[i]))
    assert reach == source_side
    if value > 0:
        limit = int(rng.integers(1, value + 1))
        aptr, ahead, acap, arev = residual_network(nn, tail.shape[0], tail, head, fwd, back)
        assert limit <= _max_flow(nn, 0, 1, aptr, ahead, acap, arev, limit) <= value


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(2, 6), m=st.integers(1, 14))
def test_flows_place_free_gates_optimally_between_two_blocks(seed, n, m):
    """With k = 2 the minimum cut is the exact optimum over every placement of the free gates
    (qubits fixed): checked against brute force on small circuits."""
    rng, hg, caps, blocks, vweight = _setup(seed, n, m, 2)
    if hg.num_gates > 12:
        return
    best = min(_km1(hg, 2, np.concatenate([blocks[:n], np.array(g, dtype=np.int64)]))
               for g in itertools.product((0, 1), repeat=hg.num_gates))
    got = blocks.copy()
    km1 = flow_refine(2, hg.eptr, hg.epin, hg.vptr, hg.vedge, hg.eweight, vweight, got, 4)
    assert km1 == best == _km1(hg, 2, got)
    assert (got[:n] == blocks[:n]).all()


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(3, 8), m=st.integers(1, 24))
def test_pair_flow_is_exact_beside_a_third_block(seed, n, m):
    """One pair of blocks with a third block around: the cut places the free gates of the
    pair optimally between its two blocks (brute force), whatever the hyperedges rooted on
    the third block, and reports the km1 it saved."""
    rng, hg, caps, blocks, vweight = _setup(seed, n, m, 3)
    k = 3
    nv = blocks.shape[0]
    free = np.flatnonzero(vweight == 0).astype(np.int64)
    movable = free[blocks[free] < 2]
    if movable.shape[0] > 12:
        return
    best = None
    for choice in itertools.product((0, 1), repeat=movable.shape[0]):
        trial = blocks.copy()
        trial[movable] = choice
        cost = _km1(hg, k, trial)
        best = cost if best is None else min(best, cost)
    before = _km1(hg, k, blocks)
    got = blocks.copy()
    cnt = block_counts(k, hg.eptr, hg.epin, got)
    gain = _pair_flow(0, 1, k, hg.vptr, hg.vedge, hg.eweight, got, cnt,
                      np.full(nv, -1, dtype=np.int64),
                      np.full(hg.num_edges, -1, dtype=np.int64), np.empty(nv, dtype=np.int64),
                      np.empty(hg.num_edges, dtype=np.int64), free)
    after = _km1(hg, k, got)
    assert after == best == before - gain
    assert (cnt == block_counts(k, hg.eptr, hg.epin, got)).all()
    fixed = np.ones(nv, dtype=bool)
    fixed[movable] = False
    assert (got[fixed] == blocks[fixed]).all() and (got[movable] < 2).all()


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(2, 10), m=st.integers(1, 60),
       k=st.integers(2, 5))
def test_flows_and_homing_never_increase_km1_nor_move_qubits(seed, n, m, k):
    rng, hg, caps, blocks, vweight = _setup(seed, n, m, k)
    before = _km1(hg, k, blocks)
    got = blocks.copy()
    km1 = flow_refine(k, hg.eptr, hg.epin, hg.vptr, hg.vedge, hg.eweight, vweight, got, 4)
    assert km1 == _km1(hg, k, got) <= before
    assert (got[:n] == blocks[:n]).all()
    home_gates(k, n, hg.vptr, hg.vedge, hg.eweight, hg.eptr, hg.epin,
               hg.gate_qubits.astype(np.int64), got)
    assert _km1(hg, k, got) <= km1
    assert (got[:n] == blocks[:n]).all()


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(2, 10), m=st.integers(1, 60),
       k=st.integers(2, 5))
def test_fm_returns_a_balanced_placement_with_its_km1(seed, n, m, k):
    """The gain-cache FM reports the km1 of the placement it leaves, never worse than its
    start, balanced, from every start and with boundary seeding or not."""
    rng, hg, caps, blocks, vweight = _setup(seed, n, m, k)
    before = _km1(hg, k, blocks)
    for boundary in (False, True):
        got = blocks.copy()
        km1 = detach_refine(k, hg.eptr, hg.epin, hg.vptr, hg.vedge, hg.eweight, vweight, caps,
                            got, 8, 50, np.zeros(got.shape[0], dtype=np.int64), 1, boundary)
        assert km1 == _km1(hg, k, got) <= before
        loads = np.bincount(got, weights=vweight, minlength=k)
        assert (loads <= caps).all()


def test_gain_cache_matches_recomputed_gains():
    """After FM, the kernel's first move of every vertex agrees with gains recomputed from
    scratch (:func:`_best_move`) — the cache's delta updates lose nothing."""
    rng, hg, caps, blocks, vweight = _setup(3, 8, 50, 3)
    k = 3
    detach_refine(k, hg.eptr, hg.epin, hg.vptr, hg.vedge, hg.eweight, vweight, caps, blocks, 3,
                  20, np.zeros(blocks.shape[0], dtype=np.int64), 1)
    from araqne.partitioner.detach import _init_cache, block_counts
    cnt = block_counts(k, hg.eptr, hg.epin, blocks)
    ben = np.zeros(blocks.shape[0], dtype=np.int64)
    pen = np.zeros(blocks.shape[0] * k, dtype=np.int64)
    _init_cache(k, hg.vptr, hg.vedge, hg.eweight, blocks, cnt, ben, pen)
    gains = np.zeros(k, dtype=np.int64)
    load = np.bincount(blocks, weights=vweight, minlength=k).astype(np.int64)
    for v in range(blocks.shape[0]):
        _best_move(v, k, blocks, hg.vptr, hg.vedge, cnt, hg.eweight, load, caps, vweight, 1,
                   gains, np.zeros(blocks.shape[0], dtype=np.int64))
        for p in range(k):
            if p != blocks[v]:
                assert gains[p] == ben[v] - pen[v * k + p]


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_matching_is_maximum(seed):
    rng = np.random.default_rng(seed)
    nl, nr = rng.integers(1, 25, 2)
    m = int(rng.integers(1, 70))
    li, ri = rng.integers(0, nl, m), rng.integers(0, nr, m)
    indptr, indices = _csr(nl, li.astype(np.int64), ri.astype(np.int64))
    match_l, match_r = _max_matching(nl, nr, indptr, indices)
    mat = csr_matrix((np.ones(m, dtype=np.int8), (li, ri)), shape=(nl, nr))
    mat.sum_duplicates()
    size = int((maximum_bipartite_matching(mat, perm_type="column") >= 0).sum())
    assert int((match_l >= 0).sum()) == size
    for u in np.flatnonzero(match_l >= 0):
        assert match_r[match_l[u]] == u
        assert ((li == u) & (ri == match_l[u])).any()
    cover_l, cover_r = _konig(nl, nr, indptr, indices, match_l, match_r)
    assert int(cover_l.sum() + cover_r.sum()) == size
    assert all(cover_l[li[i]] or cover_r[ri[i]] for i in range(m))


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(4, 12), m=st.integers(5, 60),
       k=st.integers(2, 4), max_weight=st.integers(1, 3))
def test_clusters_stay_in_their_block_and_weight(seed, n, m, k, max_weight):
    rng, hg, caps, blocks, vweight = _setup(seed, n, m, k)
    order = rng.permutation(blocks.shape[0]).astype(np.int64)
    cluster, nc = cluster_in_blocks(vweight, hg.eptr, hg.epin, hg.vptr, hg.vedge, hg.eweight,
                                    blocks, order, max_weight, 4096,
                                    np.zeros(blocks.shape[0], dtype=np.int64), 1)
    assert sorted(set(cluster.tolist())) == list(range(nc))
    for c in range(nc):
        members = np.flatnonzero(cluster == c)
        assert len(set(blocks[members].tolist())) == 1
        assert vweight[members].sum() <= max(max_weight, vweight[members].max())


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(2, 12), m=st.integers(1, 60),
       k=st.integers(2, 4))
def test_greedy_growing_is_balanced(seed, n, m, k):
    rng, hg, caps, blocks, vweight = _setup(seed, n, m, k)
    grown = grow_blocks(k, hg.eptr, hg.epin, hg.vptr, hg.vedge, hg.eweight, vweight, caps,
                        rng.permutation(blocks.shape[0]).astype(np.int64))
    if grown[0] >= 0:
        loads = np.bincount(grown, weights=vweight, minlength=k)
        assert (loads <= caps).all()


def _grow_reference(k, hg, vweight, caps, order):
    """Greedy growing as specified, in plain Python: rescore everything after every move."""
    nv = vweight.shape[0]
    edges = [hg.epin[hg.eptr[e]:hg.eptr[e + 1]].tolist() for e in range(hg.eptr.shape[0] - 1)]
    vedges = [[] for _ in range(nv)]
    for e, pins in enumerate(edges):
        for v in pins:
            vedges[v].append(e)
    blocks = [k - 1] * nv
    total, capsum = int(vweight.sum()), int(caps.sum())
    rank = {int(v): i for i, v in enumerate(order)}
    load = [0] * k
    load[k - 1] = total

    def score(v, b):
        g, pull = 0, 0.0
        for e in vedges[v]:
            on = [blocks[u] for u in edges[e]]
            if on.count(k - 1) == 1:
                g += int(hg.eweight[e])
            if on.count(b) == 0:
                g -= int(hg.eweight[e])
            else:
                pull += int(hg.eweight[e]) / len(edges[e])
        return g, pull

    for b in range(k - 1):
        target = min((total * int(caps[b]) + capsum - 1) // capsum, int(caps[b]))
        first = True
        while load[b] < target:
            free = [v for v in range(nv) if blocks[v] == k - 1
                    and load[b] + int(vweight[v]) <= caps[b]]
            if first:
                free = [int(v) for v in order if blocks[v] == k - 1 and vweight[v] > 0
                        and load[b] + int(vweight[v]) <= caps[b]][:1]
                first = False
            else:
                free.sort(key=lambda v: (-score(v, b)[0], -score(v, b)[1], rank[v]))
            if not free:
                break
            v = free[0]
            blocks[v] = b
            load[b] += int(vweight[v])
            load[k - 1] -= int(vweight[v])
    if load[k - 1] > caps[k - 1]:
        blocks[0] = -1
    return np.array(blocks)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(2, 10), m=st.integers(1, 40),
       k=st.integers(2, 4))
def test_greedy_growing_matches_reference(seed, n, m, k):
    """The kernel's incremental scores and lazy heap pick the vertex the plain rule picks
    (score shares of hyperedges are sums of integers and of w/|e|, equal up to rounding in
    the pull, which breaks ties only)."""
    rng, hg, caps, blocks, vweight = _setup(seed, n, m, k)
    order = rng.permutation(blocks.shape[0]).astype(np.int64)
    grown = grow_blocks(k, hg.eptr, hg.epin, hg.vptr, hg.vedge, hg.eweight, vweight, caps,
                        order)
    ref = _grow_reference(k, hg, vweight, caps, order)
    assert grown[0] == ref[0] or grown[0] < 0 and ref[0] < 0
    if grown[0] >= 0:
        assert np.array_equal(grown, ref)
