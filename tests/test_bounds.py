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
