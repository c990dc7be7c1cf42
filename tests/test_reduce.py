"""Exact reductions of the packet hypergraph (araqne.partitioner.reduce)."""

from __future__ import annotations

import itertools
from contextlib import contextmanager

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from qiskit.circuit.library import quantum_volume
from qiskit import transpile

from araqne import suite
from araqne.api import _as_circuit
from araqne.hypergraph import build_hypergraph
from araqne.packets import find_windows
from araqne.partitioner import partition_hypergraph
from araqne.partitioner.cover import km1_after
from araqne.partitioner.detach import km1_of_blocks
from araqne.partitioner.multilevel import detached_search
from araqne.partitioner.reduce import reduce_hypergraph

from helpers import from_ops, random_circuit

GATES = ("cz", "cp", "cx", "rz", "h", "crz", "swap")


def _hypergraph(seed: int, n: int, m: int):
    rng = np.random.default_rng(seed)
    circ = random_circuit(n, m, rng, gates=GATES)
    return rng, build_hypergraph(circ, find_windows(circ))


def _km1(hg, k, blocks):
    return int(km1_of_blocks(k, hg.eptr, hg.epin, hg.eweight, blocks))


def _check_round_trips(rng, hg, red, k):
    """Random placements of the reduced hypergraph cost what their lifts cost, and placements
    and sides survive a lift and a reduction; returns a random reduced side and its lift."""
    r = red.hg
    for _ in range(5):
        blocks = rng.integers(0, k, r.num_qubits + r.num_gates).astype(np.int64)
        lifted = red.lift_blocks(blocks)
        assert _km1(r, k, blocks) == _km1(hg, k, lifted)
        assert (red.reduce_blocks(lifted) == blocks).all()
    side = rng.integers(0, 2, r.num_gates).astype(np.int64)
    lifted = red.lift_side(side)
    assert (red.reduce_side(lifted) == side).all()
    return side, lifted


def _best_on_two(h, n, cap):
    """Brute-force best km1 over every placement of every vertex on 2 QPUs, qubits within
    ``cap`` per QPU."""
    out = None
    for blocks in itertools.product((0, 1), repeat=h.num_qubits + h.num_gates):
        b = np.array(blocks, dtype=np.int64)
        if np.bincount(b[:n], minlength=2).max() > cap:
            continue
        c = _km1(h, 2, b)
        out = c if out is None else min(out, c)
    return out


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(2, 9), m=st.integers(1, 60),
       k=st.integers(2, 5))
def test_lifted_placements_cost_what_the_reduced_ones_cost(seed, n, m, k):
    rng, hg = _hypergraph(seed, n, m)
    red = reduce_hypergraph(hg)
    r = red.hg
    assert r.num_qubits == n and r.epin.shape[0] <= hg.epin.shape[0]
    assert (np.diff(r.eptr) >= 2).all()  # no single-pin hyperedge survives
    _check_round_trips(rng, hg, red, k)


@settings(max_examples=40, deadline=None)
def _assert_same_optimum(hg, n: int) -> None:
    """The best placement on two QPUs of ceil(n/2) qubits costs the same before and after the
    reduction (brute force, :func:`_best_on_two`)."""
    cap = -(-n // 2)
    assert _best_on_two(hg, n, cap) == _best_on_two(reduce_hypergraph(hg).hg, n, cap)


@given(seed=st.integers(0, 10_000), n=st.integers(2, 5), m=st.integers(1, 10))
def test_the_reduction_keeps_the_optimum(seed, n, m):
    """Brute force over every placement of every vertex, qubits within capacity: the best of
    the original hypergraph equals the best of the reduced one."""
    rng, hg = _hypergraph(seed, n, m)
    if hg.num_gates > 7:
        return
    _assert_same_optimum(hg, n)


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


def _layered(seed: int, n: int, m: int, reps: int, swap_order: bool):
    """A random layer of ``m`` gates repeated ``reps`` times, Hadamards on every qubit between
    the repetitions (they end every window), the qubits of every symmetric two-qubit gate
    listed the other way round in odd repetitions when ``swap_order``."""
    rng = np.random.default_rng(seed)
    layer = []
    for _ in range(m):
        name = ("cz", "cp", "cx", "rz")[int(rng.integers(4))]
        if name == "rz":
            layer.append((name, (int(rng.integers(n)),), (float(rng.uniform(-3, 3)),)))
        else:
            a, b = rng.choice(n, size=2, replace=False)
            layer.append((name, (int(a), int(b)), (0.7,) if name == "cp" else ()))
    ops = []
    for r in range(reps):
        for name, qs, ps in layer:
            if swap_order and r % 2 and name in ("cz", "cp"):
                qs = qs[::-1]
            ops.append((name, qs, ps))
        ops += [("h", (q,), ()) for q in range(n)]
    circ = from_ops(n, ops)
    return rng, build_hypergraph(circ, find_windows(circ))


def test_repeated_layers_of_qaoa_merge_into_one():
    """QAOA with p = 2 on a 3-regular graph: the gates of the second layer merge into their
    twins in the first, and its windows into theirs with weight 2, halving the pins."""
    c = _as_circuit(suite.get("qaoa_regular3_128").build())
    hg = build_hypergraph(c, find_windows(c))
    red = reduce_hypergraph(hg)
    assert red.hg.num_gates * 2 == hg.num_gates
    assert red.hg.epin.shape[0] * 2 == hg.epin.shape[0]
    assert set(red.hg.eweight.tolist()) == {2}
    assert int(red.hg.eweight.sum()) == int(hg.eweight.sum())
    # every original gate stands for a reduced gate on the same pair of qubits
    kept = red.gate_map >= 0
    same = np.sort(hg.gate_qubits[kept], axis=1) == \
        np.sort(red.hg.gate_qubits[red.gate_map[kept]], axis=1)
    assert same.all()


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(3, 8), m=st.integers(2, 25),
       reps=st.integers(2, 4), swap_order=st.booleans(), k=st.integers(2, 4))
def test_twin_layers_lift_exactly(seed, n, m, reps, swap_order, k):
    """Repeated layers: lifted placements cost what the reduced ones cost, sides lift onto the
    same qubit (gates listed the other way round flip theirs), and the round trips hold."""
    rng, hg = _layered(seed, n, m, reps, swap_order)
    red = reduce_hypergraph(hg)
    r = red.hg
    side, lifted = _check_round_trips(rng, hg, red, k)
    kept = np.flatnonzero(red.gate_map >= 0)
    beside = hg.gate_qubits[kept, lifted[kept]]
    assert (beside == r.gate_qubits[red.gate_map[kept], side[red.gate_map[kept]]]).all()
    part = rng.integers(0, k, n).astype(np.int64)
    assert km1_after(hg, part, lifted, k) == km1_after(r, part, side, k)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(2, 4), m=st.integers(1, 4),
       swap_order=st.booleans())
def test_twin_layers_keep_the_optimum(seed, n, m, swap_order):
    """Brute force over every placement of a twice-repeated layer: the best of the original
    equals the best of the reduced hypergraph (fewer gates when twins merged)."""
    _, hg = _layered(seed, n, m, 2, swap_order)
    if hg.num_gates > 8:
        return
    _assert_same_optimum(hg, n)


def test_layers_that_differ_do_not_merge():
    """The second layer lacks one gate of the first: no twins, nothing merges."""
    ops = [("cz", (0, 1), ()), ("cz", (1, 2), ()), ("cz", (2, 3), ())]
    sep = [("h", (q,), ()) for q in range(4)]
    circ = from_ops(4, ops + sep + ops[:2] + sep)
    hg = build_hypergraph(circ, find_windows(circ))
    red = reduce_hypergraph(hg)
    kept = red.gate_map[red.gate_map >= 0]
    assert len(set(kept.tolist())) == kept.shape[0]  # every kept gate stands for itself


@contextmanager
def _colliding_hashes():
    """Every gate component hashes alike inside the block (as if all collided), so that the
    pin-by-pin check alone decides which are twins."""
    import araqne.partitioner.reduce as reduce_module

    real = reduce_module._gate_components

    def colliding(*args):
        comp, ecomp, ehash, chash, gcount, ecount = real(*args)
        return comp, ecomp, ehash, np.zeros_like(chash), gcount, ecount

    reduce_module._gate_components = colliding
    try:
        yield reduce_module
    finally:
        reduce_module._gate_components = real


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(3, 7), m=st.integers(2, 20),
       reps=st.integers(2, 3), k=st.integers(2, 4))
@example(seed=9056, n=7, m=9, reps=2, k=2)  # two classes of twins in one colliding group
def test_hash_collisions_do_not_merge_what_differs(seed, n, m, reps, k):
    """With every component forced to hash alike (as if all collided), the pin-by-pin check
    alone decides: the reduction merges the same twins as with real hashes, and stays exact."""
    rng, hg = _layered(seed, n, m, reps, True)
    honest = reduce_hypergraph(hg)
    with _colliding_hashes():
        red = reduce_hypergraph(hg)
    assert red.hg.num_gates == honest.hg.num_gates
    blocks = rng.integers(0, k, red.hg.num_qubits + red.hg.num_gates).astype(np.int64)
    assert _km1(red.hg, k, blocks) == _km1(hg, k, red.lift_blocks(blocks))


def test_the_pin_check_rejects_components_that_only_hash_alike():
    """Two components with the same gates (by qubit pair) and as many hyperedges, but not the
    same hyperedges: forced to hash alike, they are still not twins."""
    n = 3  # gates 0, 1 form one component, gates 2, 3 the other (vertices n + g)
    edges = [[1, 3, 4], [0, 3], [1, 5, 6], [2, 6]]
    eptr = np.cumsum([0] + [len(e) for e in edges]).astype(np.int64)
    epin = np.concatenate(edges).astype(np.int64)
    eweight = np.ones(len(edges), dtype=np.int64)
    gate_qubits = np.array([[0, 1], [1, 2], [0, 1], [1, 2]], dtype=np.int64)
    with _colliding_hashes() as reduce_module:
        rep = reduce_module.twin_gates(n, 4, eptr, epin, eweight, gate_qubits)
        edges[3] = [0, 5]  # now the second component mirrors the first
        eptr = np.cumsum([0] + [len(e) for e in edges]).astype(np.int64)
        mirrored = reduce_module.twin_gates(n, 4, eptr, np.concatenate(edges).astype(np.int64),
                                            eweight, gate_qubits)
    assert rep.tolist() == [0, 1, 2, 3]
    assert mirrored.tolist() == [0, 1, 0, 1]


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(4, 10), m=st.integers(4, 30),
       reps=st.integers(2, 3), k=st.integers(2, 4))
def test_searches_over_twin_layers_report_what_the_original_costs(seed, n, m, reps, k):
    """Repeated layers: the side-only partition and the detached search (which searches the
    reduction, then walks on the original) return placements of the original that cost,
    recomputed there, exactly what they report, within capacity."""
    _, hg = _layered(seed, n, m, reps, True)
    caps = np.full(k, n // k + 1, dtype=np.int64)
    p = partition_hypergraph(hg, caps, seed=seed, effort=0.25)
    assert km1_after(hg, p.part, p.side, k) == p.km1
    blocks, km1 = detached_search(hg, caps, p.part, p.side, seed=seed, effort=0.25)
    assert _km1(hg, k, blocks) == km1 <= p.km1
    assert (np.bincount(blocks[:n], weights=hg.vweight, minlength=k) <= caps).all()


def test_partition_hypergraph_takes_the_callers_reduction_and_only_of_its_hypergraph():
    """A reduction passed in (the detached search's, computed once) gives the partition that
    the partitioner's own reduction gives; one of another hypergraph is refused."""
    _, hg = _hypergraph(1, 8, 60)
    caps = np.full(3, 3, dtype=np.int64)
    red = reduce_hypergraph(hg)
    assert not red.trivial  # pendant gates: the partitioner works on the reduction
    for start_only in (False, True):
        own = partition_hypergraph(hg, caps, seed=3, start_only=start_only)
        given_red = partition_hypergraph(hg, caps, seed=3, start_only=start_only,
                                         reduction=red)
        assert (own.part == given_red.part).all() and (own.side == given_red.side).all()
        assert own.km1 == given_red.km1
    _, other = _hypergraph(2, 8, 60)
    with pytest.raises(ValueError, match="another hypergraph"):
        partition_hypergraph(other, caps, seed=0, reduction=red)
