"""Tabu search over single-vertex moves (araqne.partitioner.tabu)."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from araqne.hypergraph import build_hypergraph, incidence
from araqne.packets import find_windows
from araqne.partitioner.detach import km1_of_blocks
from araqne.partitioner.tabu import tabu_refine

from helpers import random_circuit


def _graph(n: int, pairs, weights):
    """CSR arrays of a weighted graph as a hypergraph of two-pin edges."""
    pe = np.repeat(np.arange(len(pairs), dtype=np.int64), 2)
    pv = np.array([v for p in pairs for v in sorted(p)], dtype=np.int64)
    eptr, vptr, vedge = incidence(pe, pv, len(pairs), n)
    return eptr, pv, vptr, vedge, np.asarray(weights, dtype=np.int64)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(2, 9), m=st.integers(1, 50),
       k=st.integers(2, 4), full=st.booleans())
def test_tabu_returns_a_balanced_placement_never_worse_and_its_true_cost(seed, n, m, k, full):
    rng = np.random.default_rng(seed)
    circ = random_circuit(n, m, rng, gates=("cz", "cp", "cx", "rz", "h"))
    hg = build_hypergraph(circ, find_windows(circ))
    # full: the QPUs hold exactly the qubits, so every move must pass through an overload
    caps = np.full(k, -(-n // k) if full else n // k + 1, dtype=np.int64)
    part = np.repeat(np.arange(k), caps)[:n]
    rng.shuffle(part)
    blocks = np.concatenate([part, rng.integers(0, k, hg.num_gates)]).astype(np.int64)
    vweight = np.concatenate([hg.vweight, np.zeros(hg.num_gates, dtype=np.int64)])
    before = int(km1_of_blocks(k, hg.eptr, hg.epin, hg.eweight, blocks))
    got = blocks.copy()
    cost = tabu_refine(k, hg.eptr, hg.epin, hg.vptr, hg.vedge, hg.eweight, vweight, caps, got,
                       300, 3, 3, seed)
    assert cost == km1_of_blocks(k, hg.eptr, hg.epin, hg.eweight, got) <= before
    assert (np.bincount(got[:n], weights=hg.vweight, minlength=k) <= caps).all()


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(3, 9), m=st.integers(5, 50),
       k=st.integers(2, 4), patience=st.integers(1, 60))
def test_tabu_patience_stops_a_prefix_of_the_full_walk(seed, n, m, k, patience):
    """With ``patience`` the walk is the full walk cut short (same moves, same random
    numbers): its best is never better than the full walk's and is the true km1 of a
    balanced placement; with the patience of the whole walk it is the full walk."""
    rng = np.random.default_rng(seed)
    circ = random_circuit(n, m, rng, gates=("cz", "cp", "cx", "rz", "h"))
    hg = build_hypergraph(circ, find_windows(circ))
    caps = np.full(k, n // k + 1, dtype=np.int64)
    part = np.repeat(np.arange(k), caps)[:n]
    rng.shuffle(part)
    blocks = np.concatenate([part, rng.integers(0, k, hg.num_gates)]).astype(np.int64)
    vweight = np.concatenate([hg.vweight, np.zeros(hg.num_gates, dtype=np.int64)])
    args = (k, hg.eptr, hg.epin, hg.vptr, hg.vedge, hg.eweight, vweight, caps)
    full, cut = blocks.copy(), blocks.copy()
    full_cost = tabu_refine(*args, full, 400, 3, 3, seed)
    cut_cost = tabu_refine(*args, cut, 400, 3, 3, seed, patience)
    assert cut_cost == km1_of_blocks(k, hg.eptr, hg.epin, hg.eweight, cut) >= full_cost
    assert (np.bincount(cut[:n], weights=hg.vweight, minlength=k) <= caps).all()
    # a walk that never stalls that long is the full walk
    long = blocks.copy()
    assert tabu_refine(*args, long, 400, 3, 3, seed, 400) == full_cost
    np.testing.assert_array_equal(long, full)


def test_tabu_leaves_a_local_optimum_of_single_moves():
    """Two triangles of heavy edges, joined by light ones, start mixed (the FM local optimum
    of a swap: every single move overloads or costs): tabu search walks through worse states
    to the planted cut of weight 2, the brute-force optimum."""
    pairs = [(0, 1), (1, 2), (0, 2), (3, 4), (4, 5), (3, 5), (0, 3), (2, 5)]
    weights = [5, 5, 5, 5, 5, 5, 1, 1]
    eptr, epin, vptr, vedge, ew = _graph(6, pairs, weights)
    caps = np.array([3, 3], dtype=np.int64)
    vweight = np.ones(6, dtype=np.int64)
    best = min(int(km1_of_blocks(2, eptr, epin, ew, np.array(b, dtype=np.int64)))
               for b in itertools.product((0, 1), repeat=6) if sum(b) == 3)
    assert best == 2
    start = np.array([0, 0, 1, 1, 1, 0], dtype=np.int64)
    assert km1_of_blocks(2, eptr, epin, ew, start) > best
    for seed in range(5):
        got = start.copy()
        assert tabu_refine(2, eptr, epin, vptr, vedge, ew, vweight, caps, got, 200, 2, 2,
                           seed) == best
        assert km1_of_blocks(2, eptr, epin, ew, got) == best
