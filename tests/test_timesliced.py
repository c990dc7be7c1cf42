"""Kernels of the teleportation search: time levels, parallel hyperedges, slice-aware FM."""

from __future__ import annotations

import numpy as np
import pytest

from araqne.partitioner.detach import km1_of_blocks
from araqne.partitioner.timesliced import (boundary_scores, extended_hypergraph, merge_parallel,
                                           rebalance, slice_refine, slice_starts,
                                           teleport_search, time_levels, time_vcycles)

from helpers import random_circuit


def _setup(seed, n=6, m=80, k=3):
    rng = np.random.default_rng(seed)
    circ = random_circuit(n, m, rng, p_two=0.8, gates=("cp", "cz", "u", "h", "rz"))
    starts = slice_starts(circ, 1)
    T = starts.shape[0]
    hg, vgroup = extended_hypergraph(circ, starts)
    return rng, circ, starts, T, hg, vgroup


@pytest.mark.parametrize("seed", range(6))
def test_time_levels_keep_the_cost_of_placements_constant_on_clusters(seed):
    """A coarse placement projected down costs, on the finer level, what it costs on the
    coarse one (contraction drops only single-pin hyperedges, merging keeps weights)."""
    rng, circ, starts, T, hg, vgroup = _setup(seed)
    n, k = circ.num_qubits, 3
    for score in (None, boundary_scores(circ, starts)):
        levels = time_levels(hg, vgroup, n, T, score)
        assert levels[0][0] == T and levels[-1][0] == 1 and levels[-1][8] is None
        for j in range(len(levels) - 1, 0, -1):
            _, vw, ep, pn, ew, _, _, _, _ = levels[j]
            coarse = rng.integers(0, k, vw.shape[0])
            fine = coarse[levels[j - 1][8]]
            f = levels[j - 1]
            assert km1_of_blocks(k, ep, pn, ew, coarse) == km1_of_blocks(k, f[2], f[3], f[4],
                                                                        fine)


def test_merge_parallel_sums_weights_of_equal_pin_sets():
    eptr = np.array([0, 2, 4, 7, 9], dtype=np.int64)
    epin = np.array([0, 1, 1, 0, 0, 2, 3, 2, 3], dtype=np.int64)
    ew = np.array([1, 2, 5, 1], dtype=np.int64)
    ep2, pn2, ew2, vptr, vedge = merge_parallel(eptr, epin, ew, 4)
    edges = sorted((tuple(pn2[ep2[e]:ep2[e + 1]].tolist()), int(ew2[e]))
                   for e in range(ep2.shape[0] - 1))
    assert edges == [((0, 1), 3), ((0, 2, 3), 5), ((2, 3), 1)]
    assert sorted(vedge[vptr[2]:vptr[3]].tolist()) == sorted(
        e for e in range(ep2.shape[0] - 1) if 2 in pn2[ep2[e]:ep2[e + 1]])


@pytest.mark.parametrize("seed", range(6))
def test_rebalance_and_slice_refine_keep_every_slice_within_capacity(seed):
    rng, circ, starts, T, hg, vgroup = _setup(seed)
    n, k = circ.num_qubits, 3
    caps = np.array([2, 2, 3], dtype=np.int64)
    vw = np.concatenate([np.ones(n * T, dtype=np.int64), np.zeros(hg.num_gates, dtype=np.int64)])
    gptr = np.arange(T + 1, dtype=np.int64) * n
    blocks = rng.integers(0, k, vw.shape[0])
    assert rebalance(k, gptr, vw, hg.eptr, hg.epin, hg.vptr, hg.vedge, hg.eweight, caps, blocks)
    loads = np.array([np.bincount(blocks[t * n:(t + 1) * n], minlength=k) for t in range(T)])
    assert (loads <= caps).all()
    before = km1_of_blocks(k, hg.eptr, hg.epin, hg.eweight, blocks)
    cost = slice_refine(k, gptr, vw, hg.eptr, hg.epin, hg.vptr, hg.vedge, hg.eweight, caps,
                        blocks, 8, 100)
    assert cost == km1_of_blocks(k, hg.eptr, hg.epin, hg.eweight, blocks) <= before
    loads = np.array([np.bincount(blocks[t * n:(t + 1) * n], minlength=k) for t in range(T)])
    assert (loads <= caps).all()
    levels = time_levels(hg, vgroup, n, T)
    out, c2 = time_vcycles(levels, n, k, caps, blocks, cost, rng, 3, 4)
    assert c2 == km1_of_blocks(k, hg.eptr, hg.epin, hg.eweight, out) <= cost


def test_boundary_scores_see_blocks_of_gates_on_one_pair():
    from araqne.ir import from_ops
    ops = []
    for a, b in [(0, 1), (2, 3), (0, 2), (1, 3)]:
        for _ in range(3):
            ops += [("u", (a,), (0.1, 0.2, 0.3)), ("u", (b,), (0.3, 0.2, 0.1)),
                    ("cp", (a, b), (0.4,))]
    from araqne.partitioner.timesliced import layer_permutation
    from araqne.reorder import apply_permutation
    circ = from_ops(4, ops)
    circ = apply_permutation(circ, layer_permutation(circ))
    starts = slice_starts(circ, 1)
    score = boundary_scores(circ, starts)
    # the opening one-qubit gates, then two blocks of three layers each on pairs (0,1)+(2,3)
    # and (0,2)+(1,3): both pairs continue across the boundaries inside a block
    assert starts.shape[0] == 7
    assert score[1:].tolist() == [0, 4, 4, 0, 4, 4]


def test_search_is_deterministic_and_within_capacity():
    rng = np.random.default_rng(3)
    circ = random_circuit(10, 200, rng, p_two=0.8, gates=("cp", "u"))
    caps = np.array([4, 4, 4], dtype=np.int64)
    assignment = np.arange(10) % 3
    gq = assignment[circ.qargs[circ.qptr[:-1]]]
    a = teleport_search(circ, caps, assignment, gq, layers_per_slice=None, rounds=None)
    b = teleport_search(circ, caps, assignment, gq, layers_per_slice=None, rounds=None)
    assert a.km1 == b.km1 and a.moves == b.moves
    where = a.assignment.copy()
    assert (np.bincount(where, minlength=3) <= caps).all()
    last = -1
    for op, q, s, t in a.moves:
        if op != last:
            assert last < 0 or (np.bincount(where, minlength=3) <= caps).all()
            last = op
        assert where[q] == s
        where[q] = t
