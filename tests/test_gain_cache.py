"""The eager FM pass caches resolved gains and recomputes only those a move may change.

:func:`araqne.partitioner.refine.fm_pass` keeps each qubit's resolved gains (move with its
gates, then the best flips) and, after a move, recomputes them only for the qubits that
:func:`araqne.partitioner.refine._stale_neighbours` marks.  The claim is exactness: the pass
must make the very same moves as one that recomputes every gain it reads.  The reference below
is that pass in plain Python, built from the same elementary kernels (gains, targets, commit,
rollback), recomputing the gains afresh at every read.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from araqne.hypergraph import build_hypergraph
from araqne.ir import from_ops
from araqne.network import Network
from araqne.partitioner import _Refiner, _sub_hypergraph
from araqne.partitioner.cover import km1_after
from araqne.partitioner.refine import (_best_target, _commit_move, _excess, _incident_edges,
                                       _stale_neighbours,
                                       _rollback, fm_pass, pin_counts, resolved_gains)
from araqne.partitioner.seed import random_seed

from helpers import random_circuit


def reference_pass(hg, ref, part, side, cnt, load, tiebreak, max_stall):
    """The eager pass with fresh gains everywhere: a heap of (key, qubit) entries, the top
    entry re-evaluated when popped, the neighbours of each move re-pushed."""
    import heapq
    n, k = ref.n, ref.k
    ne = hg.eptr.shape[0] - 1
    ng = hg.num_gates
    mcount = np.zeros(ne, dtype=np.int64)
    touched = np.empty(ne, dtype=np.int64)
    flipped = np.empty(ng + 1, dtype=np.int64)
    mark = np.zeros(ne, dtype=np.bool_)
    moved = np.empty(ne, dtype=np.int64)
    gains = np.zeros(k, dtype=np.int64)
    slack = int(hg.vweight.max())
    scale = n + 1
    args = (hg.gate_qubits, hg.vptr, hg.vedge, ref.qgptr, ref.qglist)

    def best(u, excess):
        resolved_gains(u, n, k, part, side, *args, cnt, hg.eweight, load, hg.vweight, mcount,
                       touched, gains, flipped, hg.roots, ref.table, ref.use_table)
        return _best_target(u, k, part, load, ref.cap, hg.vweight, gains, excess, slack)

    heap = []  # heapq is a min-heap: keys negated; entries are unique by tiebreak
    excess = _excess(load, ref.cap)
    for q in range(n):
        b, g = best(q, excess)
        if b >= 0:
            heapq.heappush(heap, (-(g * scale + tiebreak[q]), q))
    hist = [np.empty(n + 2 * ng + 1, dtype=np.int64) for _ in range(3)]
    locked = np.zeros(n, dtype=bool)
    nsteps = cum = best_cum = best_steps = since_best = 0
    while heap:
        key, q = heapq.heappop(heap)
        key = -key
        if locked[q]:
            continue
        b, g = best(q, excess)
        if b < 0:
            continue
        if g * scale + tiebreak[q] < key:
            heapq.heappush(heap, (-(g * scale + tiebreak[q]), q))
            continue
        nsteps = _commit_move(q, b, n, k, part, side, *args, cnt, load, hg.vweight,
                              hg.eweight, flipped, hg.roots, ref.table, ref.use_table, *hist,
                              nsteps)
        excess = _excess(load, ref.cap)
        locked[q] = True
        cum += g
        if excess == 0 and cum > best_cum:
            best_cum, best_steps, since_best = cum, nsteps, 0
        else:
            since_best += 1
            if since_best > max_stall:
                break
        nt = _incident_edges(q, n, *args, mark, moved)
        seen = set()
        for e in moved[:nt]:
            for v in hg.epin[hg.eptr[e]:hg.eptr[e + 1]]:
                for u in ([v] if v < n else hg.gate_qubits[v - n]):
                    if locked[u] or u in seen:
                        continue
                    seen.add(u)
                    bu, gu = best(u, excess)
                    if bu >= 0:
                        heapq.heappush(heap, (-(gu * scale + tiebreak[u]), u))
    _rollback(n, k, part, side, *args, cnt, load, hg.vweight, *hist, nsteps, best_steps)
    return best_cum


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10**6), k=st.integers(2, 6), table=st.booleans(),
       slack=st.integers(0, 2))
def test_cached_gains_make_the_same_moves_as_fresh_ones(seed, k, table, slack):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(k + 1, 24))
    hg = build_hypergraph(random_circuit(n, int(rng.integers(10, 160)), rng))
    caps = np.full(k, -(-n // k) + slack, dtype=np.int64)
    net_table = Network.uniform(k, int(caps[0]), topology="line").steiner_table() \
        if table else None
    ref = _Refiner(hg, caps, net_table)
    part = random_seed(n, caps, rng)
    side = rng.integers(0, 2, hg.num_gates).astype(np.int64)
    for _ in range(3):
        tiebreak = rng.permutation(n + 1)[:n].astype(np.int64)
        states = []
        for kernel in ("numba", "reference"):
            p, s = part.copy(), side.copy()
            cnt, load = ref.counts(p, s), ref.loads(p)
            if kernel == "numba":
                gain = fm_pass(n, k, p, s, hg.gate_qubits, hg.eptr, hg.epin, hg.vptr, hg.vedge,
                               ref.qgptr, ref.qglist, cnt, load, ref.cap, hg.vweight,
                               hg.eweight, tiebreak, 10, True, hg.roots, ref.table,
                               ref.use_table)
            else:
                gain = reference_pass(hg, ref, p, s, cnt, load, tiebreak, 10)
            assert np.array_equal(cnt, pin_counts(n, k, hg.eptr, hg.epin, p, s,
                                                  hg.gate_qubits))
            states.append((p, s, gain))
        (p1, s1, g1), (p2, s2, g2) = states
        assert g1 == g2
        assert np.array_equal(p1, p2) and np.array_equal(s1, s2)
        if not table:
            # a move's flips are only simulated towards QPUs its hyperedges reach: the gain
            # reported may undercount, never overcount
            assert km1_after(hg, part, side, k) - km1_after(hg, p1, s1, k) >= g1 >= 0
        part, side = p1, s1


def assert_unmarked_keep_gains(hg, ref, part, side, moves):
    """Commit ``moves`` ((qubit, QPU) pairs) in turn; after each, every qubit that
    :func:`_stale_neighbours` leaves unmarked must have the resolved gains it had before."""
    n, k = ref.n, ref.k
    cnt, load = ref.counts(part, side), ref.loads(part)
    ne = hg.eptr.shape[0] - 1
    mcount = np.zeros(ne, dtype=np.int64)
    touched = np.empty(ne, dtype=np.int64)
    flipped = np.empty(hg.num_gates + 1, dtype=np.int64)
    args = (hg.gate_qubits, hg.vptr, hg.vedge, ref.qgptr, ref.qglist)

    def all_gains():
        out = np.zeros((n, k), dtype=np.int64)
        for u in range(n):
            resolved_gains(u, n, k, part, side, *args, cnt, hg.eweight, load, hg.vweight,
                           mcount, touched, out[u], flipped, hg.roots, ref.table, ref.use_table)
        return out

    hist = [np.empty(n + 2 * hg.num_gates + 1, dtype=np.int64) for _ in range(3)]
    mark = np.zeros(ne, dtype=np.bool_)
    moved = np.empty(ne, dtype=np.int64)
    before = np.empty(ne * k, dtype=np.int64)
    stale = np.zeros(n, dtype=np.int64)
    pins_of = np.zeros(n, dtype=np.int64)
    for step, (q, b) in enumerate(moves, start=1):
        old = all_gains()
        nt = _incident_edges(q, n, *args, mark, moved)
        for i in range(nt):
            before[i * k:(i + 1) * k] = cnt[moved[i] * k:(moved[i] + 1) * k]
        _commit_move(q, b, n, k, part, side, *args, cnt, load, hg.vweight, hg.eweight,
                     flipped, hg.roots, ref.table, ref.use_table, *hist, 0)
        _stale_neighbours(q, n, k, hg.eptr, hg.epin, hg.gate_qubits, ref.qgptr, ref.qglist,
                          cnt, before, moved, nt, hg.roots, ref.use_table, pins_of, stale, step)
        assert not pins_of.any()
        new = all_gains()
        for u in range(n):
            if u != q and stale[u] != step:
                assert np.array_equal(old[u], new[u]), (u, q)


@settings(max_examples=80, deadline=None)
@given(seed=st.integers(0, 10**6), k=st.integers(2, 6), table=st.booleans())
def test_unmarked_qubits_keep_their_gains(seed, k, table):
    """Random states of random circuits, random moves."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(k + 1, 20))
    hg = build_hypergraph(random_circuit(n, int(rng.integers(10, 160)), rng))
    caps = np.full(k, n, dtype=np.int64)
    net_table = Network.uniform(k, n, topology="line").steiner_table() if table else None
    ref = _Refiner(hg, caps, net_table)
    part = rng.integers(0, k, n).astype(np.int64)
    side = rng.integers(0, 2, hg.num_gates).astype(np.int64)
    moves = []
    for _ in range(7):
        q = int(rng.integers(n))
        moves.append((q, int((rng.integers(k - 1) + 1) % k)))
    assert_unmarked_keep_gains(hg, ref, part, side, moves)


def test_a_moved_partner_changes_gains_without_changing_counts():
    """A gate flip's worth reads the QPU of the gate's other qubit.  Qubit 0 moves from QPU 0
    to 1; its window keeps 3 pins on both, so its counts alone mark no one.  Qubit 1 (QPU 2)
    shares a gate with it: tried on QPU 3, that gate's flip towards qubit 0 gained 1 while
    qubit 0 sat on QPU 0 (which qubit 1's window reaches through qubit 8), and gains nothing
    once it is on QPU 1.  Qubit 1 must be marked all the same."""
    ops = [("cz", (0, r), ()) for r in range(2, 8)] + [("cz", (0, 1), ()), ("cz", (1, 8), ()),
                                                       ("cz", (1, 9), ())]
    hg = build_hypergraph(from_ops(10, ops))
    assert hg.num_gates == 9 and hg.num_edges == 10
    part = np.array([0, 2, 0, 0, 0, 1, 1, 1, 0, 3], dtype=np.int64)
    side = np.ones(9, dtype=np.int64)  # every gate beside its second qubit
    ref = _Refiner(hg, np.full(4, 10, dtype=np.int64))
    assert_unmarked_keep_gains(hg, ref, part, side, [(0, 1)])


def test_gates_of_one_qubit_move_once_in_sub_hypergraphs():
    """Recursive bisection refines sub-hypergraphs in which a gate whose other qubit lies
    outside the block has the same qubit twice.  Such a gate is listed once beside its qubit,
    so a move carries its pins once: the pass's counts stay those recomputed from scratch,
    and the cached gains still give the moves of fresh ones."""
    rng = np.random.default_rng(11)
    n, k = 16, 2
    hg = build_hypergraph(random_circuit(n, 200, rng, gates=("cz", "cp", "cx", "rz")))
    keep = np.flatnonzero(rng.permutation(n) < n // 2)
    vblock = np.ones(hg.num_vertices, dtype=np.int64)
    vblock[keep] = 0
    gate_side = rng.integers(0, 2, hg.num_gates)
    vblock[n:] = vblock[hg.gate_qubits[np.arange(hg.num_gates), gate_side]]
    sub = _sub_hypergraph(hg, vblock, 0, keep)
    same = sub.gate_qubits[:, 0] == sub.gate_qubits[:, 1]
    assert same.any() and not same.all()
    ref = _Refiner(sub, np.full(k, sub.num_qubits, dtype=np.int64))
    listed = np.bincount(ref.qglist, minlength=sub.num_gates)
    assert np.array_equal(listed, np.where(same, 1, 2))
    m = sub.num_qubits
    for seed in range(5):
        part = np.random.default_rng(seed).integers(0, k, m).astype(np.int64)
        side = np.zeros(sub.num_gates, dtype=np.int64)
        tiebreak = np.random.default_rng(seed).permutation(m + 1)[:m].astype(np.int64)
        results = []
        for kernel in ("numba", "reference"):
            p, s = part.copy(), side.copy()
            cnt, load = ref.counts(p, s), ref.loads(p)
            if kernel == "numba":
                gain = fm_pass(m, k, p, s, sub.gate_qubits, sub.eptr, sub.epin, sub.vptr,
                               sub.vedge, ref.qgptr, ref.qglist, cnt, load, ref.cap,
                               sub.vweight, sub.eweight, tiebreak, 10, True, sub.roots,
                               ref.table, False)
            else:
                gain = reference_pass(sub, ref, p, s, cnt, load, tiebreak, 10)
            assert np.array_equal(cnt, pin_counts(m, k, sub.eptr, sub.epin, p, s,
                                                  sub.gate_qubits))
            results.append((p, s, gain))
        assert results[0][2] == results[1][2]
        assert np.array_equal(results[0][0], results[1][0])
        assert km1_after(sub, part, side, k) - km1_after(sub, results[0][0], results[0][1],
                                                         k) >= results[0][2]


def _swap_heap_push(hkey, hitem, size, key, item):
    """The textbook heap push that swaps pairs up: the layout the hole-based kernel keeps."""
    i = size
    hkey[i], hitem[i] = key, item
    while i > 0:
        parent = (i - 1) // 2
        if hkey[parent] >= hkey[i]:
            break
        hkey[parent], hkey[i] = hkey[i], hkey[parent]
        hitem[parent], hitem[i] = hitem[i], hitem[parent]
        i = parent
    return size + 1


def _swap_heap_pop(hkey, hitem, size):
    size -= 1
    hkey[0], hitem[0] = hkey[size], hitem[size]
    i = 0
    while 2 * i + 1 < size:
        c = 2 * i + 1
        if c + 1 < size and hkey[c + 1] > hkey[c]:
            c += 1
        if hkey[i] >= hkey[c]:
            break
        hkey[c], hkey[i] = hkey[i], hkey[c]
        hitem[c], hitem[i] = hitem[i], hitem[c]
        i = c
    return size


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(-5, 5)), min_size=1, max_size=80))
def test_heap_kernels_keep_the_layout_of_a_swapping_heap(ops):
    """The tabu walk breaks ties among equal keys by the heap's layout, so the hole-based
    push and pop must leave exactly the arrays that swapping pairs leaves, and pop maxima."""
    from araqne.partitioner.refine import _heap_pop, _heap_push
    n = len(ops)
    hk, hi = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
    rk, ri = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
    size = ref = 0
    for item, (push, key) in enumerate(ops):
        if push or size == 0:
            size = _heap_push(hk, hi, size, key, item)
            ref = _swap_heap_push(rk, ri, ref, key, item)
        else:
            top = hk[0]
            assert top == max(hk[:size])
            size = _heap_pop(hk, hi, size)
            ref = _swap_heap_pop(rk, ri, ref)
        assert size == ref
        assert np.array_equal(hk[:size], rk[:size]) and np.array_equal(hi[:size], ri[:size])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(-50, 50), min_size=0, max_size=60, unique=True))
def test_heapify_then_pops_give_the_keys_in_descending_order(keys):
    """FM builds each pass's heap in linear time (``_heapify``); its keys never tie, so the
    pops must be exactly the keys from the largest down, each with its item."""
    from araqne.partitioner.refine import _heap_pop, _heapify
    hk = np.array(keys, dtype=np.int64)
    hi = np.arange(len(keys), dtype=np.int64)
    _heapify(hk, hi, len(keys))
    size, popped = len(keys), []
    while size > 0:
        popped.append((int(hk[0]), int(hi[0])))
        size = _heap_pop(hk, hi, size)
    assert popped == sorted(((key, i) for i, key in enumerate(keys)), reverse=True)
