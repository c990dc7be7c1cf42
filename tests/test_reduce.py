"""Exact reductions of the packet hypergraph (araqne.partitioner.reduce)."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from qiskit.circuit.library import quantum_volume
from qiskit import transpile

from araqne.api import _as_circuit
from araqne.hypergraph import build_hypergraph
from araqne.packets import find_windows
from araqne.partitioner import partition_hypergraph
from araqne.partitioner.cover import km1_after
from araqne.partitioner.detach import km1_of_blocks
from araqne.partitioner.multilevel import detached_search
from araqne.partitioner.reduce import reduce_hypergraph

from helpers import random_circuit

GATES = ("cz", "cp", "cx", "rz", "h", "crz", "swap")


def _hypergraph(seed: int, n: int, m: int):
    rng = np.random.default_rng(seed)
    circ = random_circuit(n, m, rng, gates=GATES)
    return rng, build_hypergraph(circ, find_windows(circ))


def _km1(hg, k, blocks):
    return int(km1_of_blocks(k, hg.eptr, hg.epin, hg.eweight, blocks))


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(2, 9), m=st.integers(1, 60),
       k=st.integers(2, 5))
def test_lifted_placements_cost_what_the_reduced_ones_cost(seed, n, m, k):
    rng, hg = _hypergraph(seed, n, m)
    red = reduce_hypergraph(hg)
    r = red.hg
    assert r.num_qubits == n and r.epin.shape[0] <= hg.epin.shape[0]
    assert (np.diff(r.eptr) >= 2).all()  # no single-pin hyperedge survives
    for _ in range(5):
        blocks = rng.integers(0, k, r.num_qubits + r.num_gates).astype(np.int64)
        lifted = red.lift_blocks(blocks)
        assert _km1(r, k, blocks) == _km1(hg, k, lifted)
        assert (red.reduce_blocks(lifted) == blocks).all()
    side = rng.integers(0, 2, r.num_gates).astype(np.int64)
    assert (red.reduce_side(red.lift_side(side)) == side).all()


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(2, 5), m=st.integers(1, 10))
def test_the_reduction_keeps_the_optimum(seed, n, m):
    """Brute force over every placement of every vertex, qubits within capacity: the best of
    the original hypergraph equals the best of the reduced one."""
    rng, hg = _hypergraph(seed, n, m)
    if hg.num_gates > 7:
        return
    red = reduce_hypergraph(hg)
    k, cap = 2, -(-n // 2)

    def best(h):
        out = None
        for blocks in itertools.product((0, 1), repeat=h.num_qubits + h.num_gates):
            b = np.array(blocks, dtype=np.int64)
            if np.bincount(b[:n], minlength=2).max() > cap:
                continue
            c = _km1(h, k, b)
            out = c if out is None else min(out, c)
        return out

    assert best(hg) == best(red.hg)


def test_quantum_volume_reduces_to_the_weighted_qubit_graph():
    """Every window of a quantum-volume circuit in cx form is one gate beside its root: every
    gate contracts and parallel pairs merge, leaving one weighted edge per interacting pair."""
    qc = transpile(quantum_volume(12, depth=12, seed=3), basis_gates=["u", "cx"],
                   optimization_level=0)
    circ = _as_circuit(qc)
    hg = build_hypergraph(circ, find_windows(circ))
    red = reduce_hypergraph(hg)
    assert red.hg.num_gates == 0
    assert (np.diff(red.hg.eptr) == 2).all()
    pairs = {tuple(red.hg.epin[red.hg.eptr[e]:red.hg.eptr[e + 1]]) for e in
             range(red.hg.num_edges)}
    assert len(pairs) == red.hg.num_edges  # merged
    assert int(red.hg.eweight.sum()) == hg.num_gates
    assert red.hg.epin.shape[0] * 4 < hg.epin.shape[0]


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(3, 12), m=st.integers(5, 80),
       k=st.integers(2, 4))
def test_partitioner_results_on_the_original_are_what_it_reports(seed, n, m, k):
    """partition_hypergraph and detached_search search the reduced hypergraph; the lifted
    results they return cost, recomputed on the original, exactly what they report."""
    rng, hg = _hypergraph(seed, n, m)
    caps = np.full(k, n // k + 1, dtype=np.int64)
    p = partition_hypergraph(hg, caps, seed=seed, effort=0.25)
    assert p.side.shape[0] == hg.num_gates
    assert km1_after(hg, p.part, p.side, k) == p.km1
    blocks, km1 = detached_search(hg, caps, p.part, p.side, seed=seed, effort=0.25)
    assert blocks.shape[0] == hg.num_qubits + hg.num_gates
    assert _km1(hg, k, blocks) == km1 <= p.km1
    assert (np.bincount(blocks[:n], weights=hg.vweight, minlength=k) <= caps).all()
