"""Qubit moves and swaps with local re-cuts (:mod:`araqne.partitioner.swap`), and the cut over a
subset of the free vertices that they rest on (:func:`araqne.partitioner.detach._pair_flow`)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import araqne.partitioner.swap as swap
from araqne.partitioner.detach import _pair_flow, block_counts, km1_of_blocks

from test_flows import _km1, _setup


def _csr(nv: int, edges: list[list[int]]):
    """Hypergraph arrays (``eptr, epin, vptr, vedge``) of hyperedges given as pin lists."""
    eptr = np.cumsum([0] + [len(e) for e in edges]).astype(np.int64)
    epin = np.array([v for e in edges for v in e], dtype=np.int64)
    inc = [[] for _ in range(nv)]
    for i, e in enumerate(edges):
        for v in e:
            inc[v].append(i)
    vptr = np.cumsum([0] + [len(x) for x in inc]).astype(np.int64)
    vedge = np.array([i for x in inc for i in x], dtype=np.int64)
    return eptr, epin, vptr, vedge


def _buffers(hg, nv):
    return swap._buffers(nv, hg.num_edges)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(3, 8), m=st.integers(1, 30),
       size=st.integers(1, 8))
def test_a_cut_over_some_free_vertices_is_exact_and_its_probe_bounds_it(seed, n, m, size):
    """Between blocks 0 and 1 the cut places a chosen few free vertices optimally (brute
    force), every other vertex fixed, and reports what it saved; the probe moves nothing
    and never reports less."""
    rng, hg, caps, blocks, vweight = _setup(seed, n, m, 3)
    k = 3
    free = np.flatnonzero((vweight == 0) & (blocks < 2))
    chosen = np.sort(rng.permutation(free)[:size]).astype(np.int64)
    before = _km1(hg, k, blocks)
    best = before
    for choice in itertools.product((0, 1), repeat=chosen.shape[0]):
        trial = blocks.copy()
        trial[chosen] = choice
        best = min(best, _km1(hg, k, trial))
    nv = blocks.shape[0]
    args = (np.full(nv, -1, dtype=np.int64), np.full(hg.num_edges, -1, dtype=np.int64),
            np.empty(nv, dtype=np.int64), np.empty(hg.num_edges, dtype=np.int64), chosen)
    probed = blocks.copy()
    cnt = block_counts(k, hg.eptr, hg.epin, probed)
    bound = _pair_flow(0, 1, k, hg.vptr, hg.vedge, hg.eweight, probed, cnt,
                       *args, True)
    assert (probed == blocks).all()
    got = blocks.copy()
    cnt = block_counts(k, hg.eptr, hg.epin, got)
    gain = _pair_flow(0, 1, k, hg.vptr, hg.vedge, hg.eweight, got, cnt,
                      *args)
    assert _km1(hg, k, got) == best == before - gain
    assert bound >= gain
    assert (cnt == block_counts(k, hg.eptr, hg.epin, got)).all()
    unchosen = np.ones(nv, dtype=bool)
    unchosen[chosen] = False
    assert (got[unchosen] == blocks[unchosen]).all()


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(3, 8), m=st.integers(1, 30),
       k=st.integers(2, 4), pair=st.booleans())
def test_a_trial_scores_a_move_with_the_best_recut_and_leaves_all_as_it_was(seed, n, m, k,
                                                                            pair):
    """A trial of a qubit move (or a swap) reports the km1 gain of the move with the best
    placement of the free vertices beside the moved qubits between the two QPUs (brute
    force), and with ``keep`` off leaves the placement and the pin counts untouched."""
    rng, hg, caps, blocks, vweight = _setup(seed, n, m, k)
    q = int(rng.integers(0, n))
    a = int(blocks[q])
    others = [u for u in range(n) if blocks[u] != a]
    if not others:
        return
    r = int(rng.choice(others)) if pair else -1
    b = int(blocks[r]) if pair else int((a + 1 + rng.integers(0, k - 1)) % k)
    movers = [q] + ([r] if pair else [])
    beside = sorted({int(u) for v in movers
                     for e in hg.vedge[hg.vptr[v]:hg.vptr[v + 1]]
                     for u in hg.epin[hg.eptr[e]:hg.eptr[e + 1]]
                     if vweight[u] == 0 and blocks[u] in (a, b)})
    if len(beside) > 10:
        return
    before = _km1(hg, k, blocks)
    moved = blocks.copy()
    moved[q] = b
    if pair:
        moved[r] = a
    best = None
    for choice in itertools.product((a, b), repeat=len(beside)):
        trial = moved.copy()
        trial[beside] = choice
        cost = _km1(hg, k, trial)
        best = cost if best is None else min(best, cost)
    got = blocks.copy()
    cnt = block_counts(k, hg.eptr, hg.epin, got)
    gain = swap._trial(q, r, a, b, False, k, hg.eptr, hg.epin, hg.vptr, hg.vedge, hg.eweight,
                       vweight, got, cnt, *_buffers(hg, got.shape[0]))
    assert gain == before - best
    assert (got == blocks).all()
    assert (cnt == block_counts(k, hg.eptr, hg.epin, blocks)).all()
    bound = swap._trial(q, r, a, b, False, k, hg.eptr, hg.epin, hg.vptr, hg.vedge,
                        hg.eweight, vweight, got, cnt, *_buffers(hg, got.shape[0]), True)
    assert bound >= gain and (got == blocks).all()


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(2, 12), m=st.integers(1, 60),
       k=st.integers(2, 5))
def test_swap_refine_never_worsens_keeps_capacities_and_ignores_threads(seed, n, m, k):
    """The refinement reports the km1 it leaves, never above its start, keeps every QPU
    within its capacity, and gives the same placement on one thread or two."""
    rng, hg, caps, blocks, vweight = _setup(seed, n, m, k)
    before = _km1(hg, k, blocks)
    results = []
    for threads in (1, 2):
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(swap, "SWAP_THREAD_PINS", 0)
            mp.setattr(swap, "workers", lambda: threads)
            got = blocks.copy()
            km1 = swap.swap_refine(k, hg.eptr, hg.epin, hg.vptr, hg.vedge, hg.eweight,
                                   vweight, caps, got, 3, 16)
        assert km1 == _km1(hg, k, got) <= before
        assert (np.bincount(got, weights=vweight, minlength=k) <= caps).all()
        results.append(got)
    assert (results[0] == results[1]).all()


def test_a_swap_with_the_gates_following_gains_where_no_single_move_fits():
    """Two full QPUs, each holding a qubit whose gates all pair it with the other QPU: no
    qubit can move alone, the bare swap of the two costs e-bits, and the swap with their
    gates re-cut removes every e-bit."""
    # qubits 0, 1, 10 on QPU 0 and 2, 3, 11 on QPU 1, with 0 tied to 10 and 2 to 11;
    # gates 4-6 join qubits 1 and 2, gates 7-9 join qubits 3 and 0, each beside its first
    # qubit but 4 and 7 beside their second (so the moves are among those scored first)
    edges = [[1, g] for g in (4, 5, 6)] + [[2, g] for g in (4, 5, 6)]
    edges += [[3, g] for g in (7, 8, 9)] + [[0, g] for g in (7, 8, 9)]
    edges += [[0, 10], [2, 11]]
    eptr, epin, vptr, vedge = _csr(12, edges)
    eweight = np.array([1] * 12 + [10, 10], dtype=np.int64)
    vweight = np.array([1, 1, 1, 1] + [0] * 6 + [1, 1], dtype=np.int64)
    caps = np.array([3, 3], dtype=np.int64)
    blocks = np.array([0, 0, 1, 1, 1, 0, 0, 0, 1, 1, 0, 1], dtype=np.int64)
    assert km1_of_blocks(2, eptr, epin, eweight, blocks) == 6
    bare = blocks.copy()
    bare[[1, 3]] = bare[[3, 1]]
    assert km1_of_blocks(2, eptr, epin, eweight, bare) == 8
    got = blocks.copy()
    assert swap.swap_refine(2, eptr, epin, vptr, vedge, eweight, vweight, caps, got, 2, 8) == 0
    assert km1_of_blocks(2, eptr, epin, eweight, got) == 0
    assert (np.bincount(got, weights=vweight, minlength=2) == caps).all()
