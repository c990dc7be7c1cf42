"""The km1 lower bound (araqne.partitioner.bounds) and the early stop it allows."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from araqne import suite
from araqne.api import _as_circuit
from araqne.hypergraph import build_hypergraph
from araqne.packets import find_windows
from araqne.partitioner import partition_hypergraph
from araqne.partitioner.bounds import km1_lower_bound
from araqne.partitioner.detach import km1_of_blocks
from araqne.partitioner.multilevel import detached_search

from helpers import random_circuit


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(2, 6), m=st.integers(0, 10),
       k=st.integers(2, 3), spare=st.integers(0, 2))
def test_the_bound_never_exceeds_the_brute_force_optimum(seed, n, m, k, spare):
    rng = np.random.default_rng(seed)
    circ = random_circuit(n, m, rng, gates=("cz", "cp", "cx", "rz", "h", "swap"))
    hg = build_hypergraph(circ, find_windows(circ))
    if hg.num_gates > 5:
        return
    caps = np.full(k, -(-n // k) + spare, dtype=np.int64)
    best = None
    for blocks in itertools.product(range(k), repeat=hg.num_qubits + hg.num_gates):
        b = np.array(blocks, dtype=np.int64)
        if (np.bincount(b[:n], minlength=k) > caps).any():
            continue
        c = int(km1_of_blocks(k, hg.eptr, hg.epin, hg.eweight, b))
        best = c if best is None else min(best, c)
    assert 0 <= km1_lower_bound(hg, caps) <= best


def test_a_chain_needs_one_e_bit_per_extra_qpu_and_the_search_stops_there():
    """GHZ-32 over QPUs of 5 qubits needs 7 of them, joined by at least 6 e-bits; the second
    start (QPUs filled in index order) reaches that, and the 64 restarts of the budget stop
    there."""
    circ = _as_circuit(suite.get("ghz_32").build())
    hg = build_hypergraph(circ, find_windows(circ))
    caps = np.full(8, 5, dtype=np.int64)
    assert km1_lower_bound(hg, caps) == 6
    p = partition_hypergraph(hg, caps, seed=0)
    assert p.km1 == 6 and p.restarts == 2
    blocks, km1 = detached_search(hg, caps, p.part, p.side, seed=0)
    assert km1 == 6 == km1_of_blocks(8, hg.eptr, hg.epin, hg.eweight, blocks)


def test_components_add_their_bounds():
    """Two disjoint GHZ chains of 6 qubits on QPUs of 4: each needs 2 QPUs, 1 e-bit each."""
    from araqne.ir import from_ops
    ops = [("h", (0,), ()), ("h", (6,), ())]
    ops += [("cx", (q, q + 1), ()) for q in range(5)]
    ops += [("cx", (q, q + 1), ()) for q in range(6, 11)]
    circ = from_ops(12, ops)
    hg = build_hypergraph(circ, find_windows(circ))
    assert km1_lower_bound(hg, np.full(3, 4, dtype=np.int64)) == 2
    assert km1_lower_bound(hg, np.full(2, 6, dtype=np.int64)) == 0  # each chain fits one QPU


def _reference_bound(hg, caps: np.ndarray) -> int:
    """The bound computed plainly: components by breadth-first search over the pins, each
    needing the fewest capacities (largest first) that hold its qubits, less one QPU, times
    its lightest hyperedge."""
    nv = hg.num_qubits + hg.num_gates
    label = np.full(nv, -1, dtype=np.int64)
    for s in range(nv):
        if label[s] >= 0:
            continue
        label[s] = s
        todo = [s]
        while todo:
            v = todo.pop()
            for e in hg.vedge[hg.vptr[v]:hg.vptr[v + 1]]:
                for u in hg.epin[hg.eptr[e]:hg.eptr[e + 1]]:
                    if label[u] < 0:
                        label[u] = s
                        todo.append(u)
    reach = np.cumsum(np.sort(caps)[::-1])
    bound = 0
    for comp in set(label.tolist()):
        weight = int(hg.vweight[:hg.num_qubits][label[:hg.num_qubits] == comp].sum())
        edges = [e for e in range(hg.num_edges) if hg.eptr[e + 1] > hg.eptr[e]
                 and label[hg.epin[hg.eptr[e]]] == comp]
        if weight > 0 and edges:
            need = int(np.searchsorted(reach, weight)) + 1
            bound += (need - 1) * int(min(hg.eweight[e] for e in edges))
    return bound


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 12), m=st.integers(0, 40),
       k=st.integers(2, 5), spare=st.integers(0, 3))
def test_the_bound_kernel_matches_a_plain_computation(seed, n, m, k, spare):
    """The union-find kernel gives the bound of a breadth-first search over the components,
    on the packet hypergraph and on its reduction (merged hyperedges weigh more than 1)."""
    from araqne.partitioner.reduce import reduce_hypergraph

    rng = np.random.default_rng(seed)
    circ = random_circuit(n, m, rng, gates=("cz", "cp", "cx", "rz", "h", "swap"))
    hg = build_hypergraph(circ, find_windows(circ))
    caps = rng.integers(max(1, -(-n // k)), -(-n // k) + spare + 1, size=k).astype(np.int64)
    for h in (hg, reduce_hypergraph(hg).hg):
        assert km1_lower_bound(h, caps) == _reference_bound(h, caps)
