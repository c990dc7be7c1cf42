"""Tabu search over single-vertex moves (araqne.partitioner.tabu)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
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


def _instance(seed, n, m, k, full=False):
    """A random circuit's packet hypergraph, capacities (``full``: the QPUs hold exactly the
    qubits, so every move must pass through an overload), a random balanced placement of
    every vertex and the vertex weights."""
    rng = np.random.default_rng(seed)
    circ = random_circuit(n, m, rng, gates=("cz", "cp", "cx", "rz", "h"))
    hg = build_hypergraph(circ, find_windows(circ))
    caps = np.full(k, -(-n // k) if full else n // k + 1, dtype=np.int64)
    part = np.repeat(np.arange(k), caps)[:n]
    rng.shuffle(part)
    blocks = np.concatenate([part, rng.integers(0, k, hg.num_gates)]).astype(np.int64)
    vweight = np.concatenate([hg.vweight, np.zeros(hg.num_gates, dtype=np.int64)])
    return hg, caps, blocks, vweight


# the step's best move found by scanning every move, or from the heap of moves
MODES = {"scan": 1 << 40, "heap": 0}


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(2, 9), m=st.integers(1, 50),
       k=st.integers(2, 4), full=st.booleans(), mode=st.sampled_from(sorted(MODES)))
def test_tabu_returns_a_balanced_placement_never_worse_and_its_true_cost(seed, n, m, k, full,
                                                                         mode):
    hg, caps, blocks, vweight = _instance(seed, n, m, k, full)
    before = int(km1_of_blocks(k, hg.eptr, hg.epin, hg.eweight, blocks))
    got = blocks.copy()
    cost = tabu_refine(k, hg.eptr, hg.epin, hg.vptr, hg.vedge, hg.eweight, vweight, caps, got,
                       300, 3, 3, seed, 0, MODES[mode])
    assert cost == km1_of_blocks(k, hg.eptr, hg.epin, hg.eweight, got) <= before
    assert (np.bincount(got[:n], weights=hg.vweight, minlength=k) <= caps).all()


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(3, 9), m=st.integers(5, 50),
       k=st.integers(2, 4), patience=st.integers(1, 60), mode=st.sampled_from(sorted(MODES)))
def test_tabu_patience_stops_a_prefix_of_the_full_walk(seed, n, m, k, patience, mode):
    """With ``patience`` the walk is the full walk cut short (same moves, same random
    numbers): its best is never better than the full walk's and is the true km1 of a
    balanced placement; with the patience of the whole walk it is the full walk."""
    hg, caps, blocks, vweight = _instance(seed, n, m, k)
    args = (k, hg.eptr, hg.epin, hg.vptr, hg.vedge, hg.eweight, vweight, caps)
    full, cut = blocks.copy(), blocks.copy()
    full_cost = tabu_refine(*args, full, 400, 3, 3, seed, 0, MODES[mode])
    cut_cost = tabu_refine(*args, cut, 400, 3, 3, seed, patience, MODES[mode])
    assert cut_cost == km1_of_blocks(k, hg.eptr, hg.epin, hg.eweight, cut) >= full_cost
    assert (np.bincount(cut[:n], weights=hg.vweight, minlength=k) <= caps).all()
    # a walk that never stalls that long is the full walk
    long = blocks.copy()
    assert tabu_refine(*args, long, 400, 3, 3, seed, 400, MODES[mode]) == full_cost
    np.testing.assert_array_equal(long, full)


@pytest.mark.parametrize("mode", sorted(MODES))
def test_tabu_leaves_a_local_optimum_of_single_moves(mode):
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
                           seed, 0, MODES[mode]) == best
        assert km1_of_blocks(2, eptr, epin, ew, got) == best


def _replay(k, hg, vweight, caps, start, trace, steps):
    """Check a traced walk move by move against brute force: every move is admissible (room
    within one vertex weight, or out of the overloaded QPU while one is), not tabu unless it
    reaches a new best balanced placement, and of the highest gain among such moves; return
    the number of moves made."""
    n_v = start.shape[0]
    blocks = start.copy()
    slack = int(vweight.max(initial=0))
    until = {}

    def cost(b):
        return int(km1_of_blocks(k, hg.eptr, hg.epin, hg.eweight, b))

    cur = best = cost(blocks)
    for step in range(1, steps + 1):
        load = np.bincount(blocks, weights=vweight, minlength=k)
        over = [p for p in range(k) if load[p] > caps[p]]
        allowed = {}
        for v in range(n_v):
            s, w = blocks[v], vweight[v]
            for p in range(k):
                if p == s:
                    continue
                if over:
                    if s != over[0] or w == 0 or load[p] + w > caps[p] or \
                            until.get((v, p), 0) >= step:
                        continue
                elif w > 0 and load[p] + w > caps[p] + slack:
                    continue
                moved = blocks.copy()
                moved[v] = p
                g = cur - cost(moved)
                if until.get((v, p), 0) >= step and not over and \
                        not (cur - g < best and load[p] + w <= caps[p]):
                    continue
                allowed[(v, p)] = g
        v, p, g, tabu_until = (int(x) for x in trace[step - 1])
        if not allowed:
            return step - 1
        assert (v, p) in allowed and allowed[(v, p)] == g == max(allowed.values())
        until[(v, int(blocks[v]))] = tabu_until
        blocks[v] = p
        cur -= g
        load = np.bincount(blocks, weights=vweight, minlength=k)
        if cur < best and (load <= caps).all():
            best = cur
    return steps


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(3, 8), m=st.integers(5, 30),
       k=st.integers(2, 4), full=st.booleans(), mode=st.sampled_from(sorted(MODES)))
def test_tabu_makes_the_best_admissible_move_at_every_step(seed, n, m, k, full, mode):
    """Replayed against brute force, every step of the walk (the heap's or the scan's) takes
    a move of the highest gain among the admissible, non-tabu ones."""
    hg, caps, start, vweight = _instance(seed, n, m, k, full)
    steps = 80
    trace = np.full((steps, 4), -1, dtype=np.int64)
    tabu_refine(k, hg.eptr, hg.epin, hg.vptr, hg.vedge, hg.eweight, vweight, caps,
                start.copy(), steps, 3, 6, seed, 0, MODES[mode], trace)
    made = _replay(k, hg, vweight, caps, start, trace, steps)
    assert made == steps or (trace[made:] == -1).all()


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(3, 9), m=st.integers(5, 50),
       k=st.integers(2, 4), steps=st.integers(1, 200))
def test_tabu_work_of_scanning_steps_buys_those_steps(seed, n, m, k, steps):
    """A scanning step costs one unit per (vertex, QPU) move: the walk given that work for
    ``steps`` steps is the walk of ``steps`` steps (same placement, patience scaled alike);
    a heap walk given the same work stops on its own and is just as valid."""
    hg, caps, blocks, vweight = _instance(seed, n, m, k)
    args = (k, hg.eptr, hg.epin, hg.vptr, hg.vedge, hg.eweight, vweight, caps)
    cells = blocks.shape[0] * k
    by_steps, by_work = blocks.copy(), blocks.copy()
    cost = tabu_refine(*args, by_steps, steps, 3, 3, seed, steps // 3, MODES["scan"])
    trace = np.full((10 * steps, 4), -1, dtype=np.int64)
    assert tabu_refine(*args, by_work, 10 * steps, 3, 3, seed, steps // 3 * cells,
                       MODES["scan"], trace, steps * cells) == cost
    np.testing.assert_array_equal(by_work, by_steps)
    assert (trace[steps:] == -1).all()
    heap_trace = np.full((10 * steps * cells, 4), -1, dtype=np.int64)
    got = blocks.copy()
    heap_cost = tabu_refine(*args, got, 10 * steps * cells, 3, 3, seed, 0, MODES["heap"],
                            heap_trace, steps * cells)
    assert (heap_trace[:, 0] >= 0).sum() < 10 * steps * cells
    assert heap_cost == km1_of_blocks(k, hg.eptr, hg.epin, hg.eweight, got)
