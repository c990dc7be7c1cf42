"""State teleportation: a time-sliced packet hypergraph in which qubits may change QPU.

The circuit is cut into time slices at operation indices ``starts[1:]`` (:func:`slice_starts`,
layers of two-qubit gates).  Qubit ``q`` in slice ``t`` becomes its own vertex ``t * n + q``.
In the time-extended hypergraph (:func:`extended_hypergraph`, the model searched) a window
(packet) is one hyperedge whose root pins are ``(q, t)`` for every slice it spans, and a 2-pin
*move* hyperedge joins ``(q, t)`` and ``(q, t + 1)`` where that boundary is not inside a window
of ``q``: cut, it costs one e-bit (a state teleportation).

*Nested state teleportation* (DisQCO's objective, made exact): while a window of ``q`` is open,
``q`` only sees gates diagonal in the window's basis, so its state may be spread over linked
copies (a GHZ state); moving the root to a QPU is making a copy there (or using the one there)
and letting the old root be a copy, or releasing it.  So a window costs one e-bit per QPU it
reaches besides the first (its root's QPUs over its span and its gates' QPUs), whatever the
root's trajectory: exactly the km1 of its hyperedge, and the moves inside it cost nothing of
their own.  :func:`araqne.objective.cost` (``moves=``) and the emitted programs
(:mod:`araqne.backend.emission`) count the same.

:func:`teleport_search` is multilevel in time (DisQCO coarsens consecutive time layers):
:func:`time_levels` merges slices pairwise, across the boundaries inside the circuit's own
blocks first (:func:`boundary_scores`), down to one slice (a static placement); a placement is
projected down and refined on every level with a slice-aware k-way FM (:func:`slice_refine`,
:func:`refine_relaxed`: first with a free slot more per QPU, then squeezed back), from the
static placement and from placements of the interaction model in which qubits follow their
partners (:func:`colocation_levels`); then V-cycles within slices (:func:`slice_vcycle`) and
iterated V-cycles in time (:func:`time_vcycles`).  Every QPU holds at most its capacity of
qubits in every slice; the moves of a boundary are ordered into free slots
(:func:`sequence_moves`; a cycle between full QPUs waits in communication qubits).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..hypergraph import build_hypergraph, incidence
from ..ir import KIND_NQ, Circuit
from ..packets import find_windows
from numba import njit

from ..jit import borrowing
from .detach import _best_move, _gains, block_counts, detach_refine, km1_of_blocks
from .refine import _heap_pop as _pop
from .refine import _heap_push as _push
from .refine import km1_of_counts
from .multilevel import contract, match_in_blocks, multilevel_refine, v_cycle


@dataclass
class TeleportPlan:
    """A placement that changes over time.

    Attributes
    ----------
    assignment : ndarray of int64
        QPU of every qubit at the start.
    gate_qpu : ndarray of int64
        QPU on which every operation runs.
    moves : list of (int, int, int, int)
        ``(op_index, qubit, from_qpu, to_qpu)``: teleport ``qubit`` right before operation
        ``op_index``.
    km1 : int
        The model's e-bits (packets within slices plus one per move).
    """

    assignment: np.ndarray
    gate_qpu: np.ndarray
    moves: list
    km1: int


def slice_starts(circ: Circuit, layers_per_slice: int, offset: int = 0) -> np.ndarray:
    """First operation of every slice: a new slice every ``layers_per_slice`` layers of
    two-qubit gates (ASAP layers over the qubits, in program order), the first after
    ``layers_per_slice - offset`` layers."""
    n = circ.num_qubits
    m = circ.num_ops
    depth = np.zeros(n, dtype=np.int64)
    layer = np.zeros(m, dtype=np.int64)
    nq = KIND_NQ[circ.kind]
    qptr, qargs = circ.qptr, circ.qargs
    running = 0
    for i in range(m):  # noqa: one pass; circuits here are small (teleport search is bounded)
        if nq[i] == 2:
            a, b = qargs[qptr[i]], qargs[qptr[i] + 1]
            d = max(depth[a], depth[b]) + 1
            depth[a] = depth[b] = d
            running = max(running, d)
        layer[i] = running
    # operations are kept in program order: slice of op i = its running layer / L
    slice_of = (layer + offset) // max(1, layers_per_slice)
    starts = np.flatnonzero(np.diff(slice_of, prepend=-1) > 0)
    if starts.shape[0] == 0 or starts[0] != 0:
        starts = np.concatenate([[0], starts])
    return starts.astype(np.int64)


def layer_permutation(circ: Circuit) -> np.ndarray:
    """An equivalent order of the operations, layer by layer of two-qubit gates.

    Every operation gets the ASAP layer of its wires (qubits, the classical bit it writes and
    the bits its condition reads), one more for a two-qubit gate; a stable sort by layer keeps
    the order of the operations on every wire, so it is a topological order of the circuit
    (the same channel).  Slices of whole layers then follow the circuit's structure whatever
    order its gates were listed in.
    """
    n = circ.num_qubits
    depth = [0] * (n + circ.num_clbits)
    nq = KIND_NQ[circ.kind].tolist()
    qptr = circ.qptr.tolist()
    qargs = circ.qargs.tolist()
    clbit = circ.clbit.tolist()
    cond = circ.cond.tolist()
    cond_bits = [[n + int(b) for b in c.clbits] for c in circ.conditions]
    layer = np.empty(circ.num_ops, dtype=np.int64)
    for i in range(circ.num_ops):
        wires = qargs[qptr[i]:qptr[i + 1]]
        if clbit[i] >= 0:
            wires = wires + [n + clbit[i]]
        if cond[i] >= 0:
            wires = wires + cond_bits[cond[i]]
        d = max((depth[w] for w in wires), default=0) + (1 if nq[i] == 2 else 0)
        for w in wires:
            depth[w] = d
        layer[i] = d
    return np.argsort(layer, kind="stable").astype(np.int64)


def virtual_circuit(circ: Circuit, starts: np.ndarray) -> Circuit:
    """The circuit with qubit ``q`` of slice ``t`` renamed ``t * n + q``."""
    n = circ.num_qubits
    op_slice = np.searchsorted(starts, np.arange(circ.num_ops), side="right") - 1
    slot_op = np.repeat(np.arange(circ.num_ops), np.diff(circ.qptr))
    qargs = circ.qargs + n * op_slice[slot_op]
    return replace(circ, num_qubits=n * int(starts.shape[0]), qargs=qargs.astype(np.int64))


def sliced_hypergraph(circ: Circuit, starts: np.ndarray):
    """Time-sliced hypergraph: the virtual circuit's packet hypergraph plus move hyperedges.

    Returns ``(hg, vgroup)``: the hypergraph (qubit vertices ``t * n + q``) and the capacity
    group (slice) of every vertex.
    """
    n = circ.num_qubits
    T = int(starts.shape[0])
    virt = virtual_circuit(circ, starts)
    hg = build_hypergraph(virt, find_windows(virt))
    nv = hg.num_qubits + hg.num_gates
    ne = hg.eptr.shape[0] - 1
    pe = np.repeat(np.arange(ne, dtype=np.int64), np.diff(hg.eptr))
    pv = hg.epin
    if T > 1:
        src = np.arange(n * (T - 1), dtype=np.int64)
        me = ne + np.arange(src.shape[0], dtype=np.int64)
        pe = np.concatenate([pe, me, me])
        pv = np.concatenate([pv, src, src + n])
        order = np.lexsort((pv, pe))
        pe, pv = pe[order], pv[order]
    nmove = n * (T - 1) if T > 1 else 0
    eptr, vptr, vedge = incidence(pe, pv, ne + nmove, nv)
    hg = replace(hg, eptr=eptr, epin=pv, vptr=vptr, vedge=vedge,
                 eweight=np.concatenate([hg.eweight, np.ones(nmove, dtype=np.int64)]))
    vgroup = np.zeros(nv, dtype=np.int64)
    vgroup[:n * T] = np.arange(n * T) // n
    return hg, vgroup, virt


def inside_windows(circ: Circuit, starts: np.ndarray, packets) -> np.ndarray:
    """``inside[t, q]``: the boundary before slice ``t`` falls strictly inside a window of
    ``q`` (the window has a gate in a slice before ``t`` and one in slice ``t`` or later).

    A move of ``q`` there is nested in the window: the root's state is spread over linked
    copies (a GHZ state) while the window lasts, so moving it costs no e-bit of its own, only
    the QPUs the window reaches (its km1; see :func:`extended_hypergraph`).
    """
    n = circ.num_qubits
    T = int(starts.shape[0])
    diff = np.zeros((T + 1) * n, dtype=np.int64)
    if packets.num_windows:
        op_slice = np.searchsorted(starts, np.arange(circ.num_ops), side="right") - 1
        t0 = op_slice[packets.first]
        t1 = op_slice[packets.last]
        span = t1 > t0
        r = packets.root[span].astype(np.int64)
        np.add.at(diff, (t0[span] + 1) * n + r, 1)
        np.add.at(diff, (t1[span] + 1) * n + r, -1)
    inside = np.cumsum(diff.reshape(T + 1, n), axis=0)[:T] > 0
    return inside


def extended_hypergraph(circ: Circuit, starts: np.ndarray, packets=None, nested: bool = True):
    """Time-extended hypergraph: whole windows over (qubit, slice) vertices, plus moves.

    Unlike :func:`sliced_hypergraph`, a window is not split at slice boundaries: its root pins
    are ``(q, t)`` for every slice ``t`` the window spans.  With ``nested`` (default) the move
    hyperedges of boundaries inside a window of their qubit (:func:`inside_windows`) are left
    out: such a move is carried by the window's linked copies, and the window's km1 (the QPUs
    its root visits and its gates run on, minus one) is exactly what the emitted programs and
    :func:`araqne.objective.cost` pay.  Without it every move costs one (an upper bound).
    Free-gate vertices are those of :func:`araqne.hypergraph.build_hypergraph`; a gate pinned
    to its partner (role other) pins ``(partner, slice of the gate)``.

    Returns ``(hg, vgroup)`` with qubit vertices ``t * n + q`` and ``hg.op_anchor`` in that
    numbering.
    """
    if packets is None:
        packets = find_windows(circ)
    static = build_hypergraph(circ, packets)
    n = circ.num_qubits
    T = int(starts.shape[0])
    F = static.num_gates
    nq = n * T
    nw = packets.num_windows
    op_slice = (np.searchsorted(starts, np.arange(circ.num_ops), side="right") - 1).astype(
        np.int64)
    # root pins over the slices each window spans
    t0 = op_slice[packets.first] if nw else np.zeros(0, dtype=np.int64)
    t1 = op_slice[packets.last] if nw else np.zeros(0, dtype=np.int64)
    span = t1 - t0 + 1
    we = np.repeat(np.arange(nw, dtype=np.int64), span)
    offs = np.arange(we.shape[0], dtype=np.int64) - np.repeat(np.cumsum(span) - span, span)
    wv = (np.repeat(t0, span) + offs) * n + np.repeat(packets.root.astype(np.int64), span)
    pin_e = [we]
    pin_v = [wv]
    gv = nq + np.arange(F, dtype=np.int64)
    if F:
        pin_e += [static.gate_edges[:, 0], static.gate_edges[:, 1]]
        pin_v += [gv, gv]
    two = np.flatnonzero(KIND_NQ[circ.kind] == 2)
    s0 = circ.qptr[two]
    q0, q1 = circ.qargs[s0], circ.qargs[s0 + 1]
    w0, w1 = packets.slot_window[s0], packets.slot_window[s0 + 1]
    ts = op_slice[two]
    p0 = (w0 >= 0) & (w1 < 0)
    p1 = (w1 >= 0) & (w0 < 0)
    pin_e += [w0[p0], w1[p1]]
    pin_v += [ts[p0] * n + q1[p0], ts[p1] * n + q0[p1]]
    nmove = 0
    if T > 1:
        src = np.arange(n * (T - 1), dtype=np.int64)
        if nested:
            src = src[~inside_windows(circ, starts, packets)[1:].reshape(-1)]
        nmove = int(src.shape[0])
        me = nw + np.arange(nmove, dtype=np.int64)
        pin_e += [me, me]
        pin_v += [src, src + n]
    pe = np.concatenate(pin_e).astype(np.int64)
    pv = np.concatenate(pin_v).astype(np.int64)
    nv = nq + F
    key = np.unique(pe * nv + pv)
    pe, pv = key // nv, key % nv
    ne = nw + nmove
    eptr, vptr, vedge = incidence(pe, pv, ne, nv)
    anchor = static.op_anchor.copy()
    pinned = (anchor >= 0) & (anchor < n)
    gate = anchor >= n
    anchor[pinned] = op_slice[pinned] * n + anchor[pinned]
    anchor[gate] += nq - n
    hg = replace(static, num_qubits=nq, eptr=eptr, epin=pv, vptr=vptr, vedge=vedge,
                 eweight=np.ones(ne, dtype=np.int64), vweight=np.ones(nq, dtype=np.int64),
                 op_anchor=anchor, roots=np.zeros(ne, dtype=np.int64),
                 espan=np.zeros(ne, dtype=np.int64))
    vgroup = np.zeros(nv, dtype=np.int64)
    vgroup[:nq] = np.arange(nq) // n
    return hg, vgroup


def _colocation_graph(circ: Circuit, starts: np.ndarray):
    """Graph on the (qubit, slice) vertices ``t * n + q``: an edge per two-qubit gate between
    its operands in its slice, and one between every (q, t) and (q, t + 1) (a move)."""
    from ..hypergraph import Hypergraph
    n = circ.num_qubits
    T = int(starts.shape[0])
    nq = n * T
    op_slice = (np.searchsorted(starts, np.arange(circ.num_ops), side="right") - 1).astype(
        np.int64)
    two = np.flatnonzero(KIND_NQ[circ.kind] == 2)
    s0 = circ.qptr[two]
    a = op_slice[two] * n + circ.qargs[s0]
    b = op_slice[two] * n + circ.qargs[s0 + 1]
    src = np.arange(n * (T - 1), dtype=np.int64)
    ea = np.concatenate([a, src])
    eb = np.concatenate([b, src + n])
    ne = ea.shape[0]
    pe = np.repeat(np.arange(ne, dtype=np.int64), 2)
    pv = np.stack([ea, eb], axis=1).reshape(-1)
    eptr, vptr, vedge = incidence(pe, pv, ne, nq)
    graph = Hypergraph(num_qubits=nq, num_gates=0, eptr=eptr, epin=pv, vptr=vptr, vedge=vedge,
                       eweight=np.ones(ne, dtype=np.int64), vweight=np.ones(nq, dtype=np.int64),
                       gate_qubits=np.zeros((0, 2), dtype=np.int64),
                       gate_edges=np.zeros((0, 2), dtype=np.int64),
                       op_anchor=np.zeros(0, dtype=np.int64), roots=np.zeros(ne, dtype=np.int64),
                       espan=np.zeros(ne, dtype=np.int64))
    return graph


def colocation_start(circ: Circuit, starts: np.ndarray, capacities: np.ndarray,
                     assignment: np.ndarray, hg, seed: int = 0) -> np.ndarray:
    """A starting placement of the time-extended hypergraph in which qubits follow partners.

    Partitions the *interaction* graph over (qubit, slice) vertices: one 2-pin hyperedge per
    two-qubit gate between its operands in its slice (weight 1) and one per move (weight 1),
    per-slice capacities, from the static ``assignment`` (flat FM then V-cycles).  This is the
    model in which every gate must have both operands on one QPU (only moves pay), whose
    optimum the packet model can only improve on; the packet model's own FM, started from the
    static placement, tends to stay with gate teleportation.  Free gates start beside their
    first qubit.
    """
    n = circ.num_qubits
    T = int(starts.shape[0])
    k = int(capacities.shape[0])
    nq = n * T
    graph = _colocation_graph(circ, starts)
    eptr, pv, vptr, vedge = graph.eptr, graph.epin, graph.vptr, graph.vedge
    vgroup = np.arange(nq, dtype=np.int64) // n
    place = np.tile(np.asarray(assignment, dtype=np.int64), T)
    caps = capacities.astype(np.int64)
    detach_refine(k, eptr, pv, vptr, vedge, graph.eweight, graph.vweight, caps, place, 8,
                  max(200, nq // 10), vgroup, T)
    place, _ = multilevel_refine(graph, caps, place, seed=seed, cycles=2, vgroup=vgroup,
                                 ngroups=T)
    blocks = np.empty(nq + hg.num_gates, dtype=np.int64)
    blocks[:nq] = place
    if hg.num_gates:
        op_slice = (np.searchsorted(starts, np.arange(circ.num_ops), side="right")
                    - 1).astype(np.int64)
        gate_ops = np.flatnonzero(hg.op_anchor >= nq)
        first = circ.qargs[circ.qptr[gate_ops]]
        blocks[hg.op_anchor[gate_ops]] = place[op_slice[gate_ops] * n + first]
    return blocks


def sequence_moves(op: int, qubits: np.ndarray, before: np.ndarray, after: np.ndarray,
                   load: np.ndarray, caps: np.ndarray) -> list:
    """Order the moves of one slice boundary so that as many as possible land in a free data
    slot at once.

    A move into a QPU with room goes first (preferably one that frees a slot another move
    waits for).  When every remaining move targets a full QPU (a cycle), the first one goes
    anyway: the emitter holds its state in a communication qubit of the target until a qubit
    has left (:meth:`araqne.backend.emission._Emitter._moves`), so no detour costs an e-bit.
    """
    pending = [(int(q), int(before[q]), int(after[q])) for q in qubits]
    load = load.astype(np.int64).copy()
    out = []
    while pending:
        wanted = {b for _, _, b in pending}
        feasible = [i for i, (_, _, b) in enumerate(pending) if load[b] < caps[b]]
        if feasible:
            # first a move that frees a slot some other move waits for
            i = next((j for j in feasible if pending[j][1] in wanted), feasible[0])
        else:
            i = next((j for j in range(len(pending)) if pending[j][1] in wanted), 0)
        q, a, b = pending.pop(i)
        out.append((op, q, a, b))
        load[a] -= 1
        load[b] += 1
    return out


@njit(cache=True, nogil=True)
def _edge_hashes(eptr, epin):
    """Pins of every hyperedge sorted in place, and a hash of each pin list."""
    ne = eptr.shape[0] - 1
    h = np.empty(ne, dtype=np.int64)
    for e in range(ne):
        seg = np.sort(epin[eptr[e]:eptr[e + 1]])
        epin[eptr[e]:eptr[e + 1]] = seg
        x = np.int64(eptr[e + 1] - eptr[e])
        for v in seg:
            x = x * np.int64(1000003) + v + 1
        h[e] = x
    return h


@njit(cache=True, nogil=True)
def _merge_runs(eptr, epin, eweight, order, h):
    """Merge hyperedges with equal pin lists (``order`` sorts them by hash): one keeps the
    summed weight.  Returns the new ``(eptr, epin, eweight)``."""
    ne = eptr.shape[0] - 1
    keep = np.full(ne, -1, dtype=np.int64)
    wsum = np.zeros(ne, dtype=np.int64)
    i = 0
    while i < ne:
        j = i
        while j < ne and h[order[j]] == h[order[i]]:
            j += 1
        for a in range(i, j):
            e = order[a]
            if keep[e] >= 0:
                continue
            keep[e] = e
            wsum[e] = eweight[e]
            la = eptr[e + 1] - eptr[e]
            for b in range(a + 1, j):
                f = order[b]
                if keep[f] >= 0 or eptr[f + 1] - eptr[f] != la:
                    continue
                same = True
                for t in range(la):
                    if epin[eptr[e] + t] != epin[eptr[f] + t]:
                        same = False
                        break
                if same:
                    keep[f] = e
                    wsum[e] += eweight[f]
        i = j
    m = 0
    npins = 0
    for e in range(ne):
        if keep[e] == e:
            m += 1
            npins += eptr[e + 1] - eptr[e]
    neptr = np.zeros(m + 1, dtype=np.int64)
    nepin = np.empty(npins, dtype=np.int64)
    nw = np.empty(m, dtype=np.int64)
    m = 0
    p = 0
    for e in range(ne):
        if keep[e] == e:
            for t in range(eptr[e], eptr[e + 1]):
                nepin[p] = epin[t]
                p += 1
            nw[m] = wsum[e]
            m += 1
            neptr[m] = p
    return neptr, nepin, nw


def merge_parallel(eptr, epin, eweight, nv: int):
    """The hypergraph with parallel hyperedges (equal pin sets) merged into one of their
    summed weight (same km1 for every placement, fewer hyperedges for FM): returns
    ``(eptr, epin, eweight, vptr, vedge)``."""
    epin = epin.copy()
    h = _edge_hashes(eptr, epin)
    order = np.argsort(h, kind="stable").astype(np.int64)
    eptr, epin, eweight = _merge_runs(eptr, epin, eweight, order, h)
    pe = np.repeat(np.arange(eptr.shape[0] - 1, dtype=np.int64), np.diff(eptr))
    eptr, vptr, vedge = incidence(pe, epin, eptr.shape[0] - 1, nv)
    return eptr, epin, eweight, vptr, vedge


def boundary_scores(circ: Circuit, starts: np.ndarray, packets=None) -> np.ndarray:
    """How much the slices on either side of every boundary belong together.

    ``score[t]`` (boundary before slice ``t``; ``score[0]`` unused) counts twice the pairs
    of qubits that interact in both slices ``t - 1`` and ``t`` (a block of gates on two
    qubits, as in quantum volume, split by the boundary) plus the windows open across it
    (:func:`inside_windows`).  :func:`time_levels` merges slices across high scores first.
    """
    n = circ.num_qubits
    T = int(starts.shape[0])
    if packets is None:
        packets = find_windows(circ)
    score = np.zeros(T, dtype=np.int64)
    score += inside_windows(circ, starts, packets).sum(axis=1)
    two = np.flatnonzero(KIND_NQ[circ.kind] == 2)
    if two.shape[0] and T > 1:
        op_slice = np.searchsorted(starts, two, side="right") - 1
        s0 = circ.qptr[two]
        a, b = circ.qargs[s0], circ.qargs[s0 + 1]
        key = np.unique((np.minimum(a, b) * n + np.maximum(a, b)) * T + op_slice)
        cont = np.isin(key - 1, key) & (key % T > 0)
        np.add.at(score, key[cont] % T, 2)
    return score


def _match_slices(score: np.ndarray) -> np.ndarray:
    """Coarse slice of every slice after pairing neighbours across the highest-scoring
    boundaries (greedy path matching; ties to the earlier boundary)."""
    T = score.shape[0]
    taken = np.zeros(T, dtype=bool)
    merge = np.zeros(T, dtype=bool)  # merge[t]: slice t joins slice t - 1
    for t in np.lexsort((np.arange(1, T), -score[1:])) + 1:
        if not taken[t] and not taken[t - 1]:
            taken[t] = taken[t - 1] = True
            merge[t] = True
    return np.cumsum(~merge) - 1


def time_levels(hg, vgroup: np.ndarray, n: int, T: int, score: np.ndarray | None = None
                ) -> list:
    """Coarsen a time-extended hypergraph in time, as DisQCO does: each level merges pairs of
    neighbouring slices (every qubit's vertices of both into one; free gates stay), down to a
    single slice (a static placement).

    Without ``score`` slices ``2s`` and ``2s + 1`` merge; with it, the first level merges
    the runs of slices joined by boundaries of score at least ``0.75 n`` (nearly every qubit
    continues its block across them), then pairs are matched across the boundaries of
    highest score first (:func:`boundary_scores`, kept as the score of the finest boundary
    between two coarse slices), so that coarse slices follow the circuit's own blocks.  Parallel hyperedges of a coarse level are merged
    (:func:`merge_parallel`).

    Returns the levels, finest first, as ``(slices, vweight, eptr, epin, eweight, vptr,
    vedge, vgroup, cluster)``: ``cluster`` maps each vertex to its vertex on the next coarser
    level (``None`` on the coarsest).  A coarse qubit vertex keeps weight 1 and its coarse
    slice as capacity group: it stands for the same qubit on one QPU over its slices.
    """
    F = hg.num_gates
    vweight = np.concatenate([np.ones(n * T, dtype=np.int64), np.zeros(F, dtype=np.int64)])
    levels = [[T, vweight, hg.eptr, hg.epin, hg.eweight, hg.vptr, hg.vedge,
               vgroup.astype(np.int64), None]]
    Tc = T
    sc = None if score is None else np.asarray(score, dtype=np.int64).copy()
    runs = sc is not None
    while Tc > 1:
        if sc is None:
            coarse_of = np.arange(Tc, dtype=np.int64) // 2
        else:
            coarse_of = None
            if runs:  # first, whole runs of slices that nearly every qubit continues across
                strong = sc >= 0.75 * n
                strong[0] = False
                if strong.any():
                    coarse_of = np.cumsum(~strong) - 1
                runs = False
            if coarse_of is None:
                coarse_of = _match_slices(sc)
        Tn = int(coarse_of[-1]) + 1
        _, vw, ep, pn, ew, _, _, vg, _ = levels[-1]
        v = np.arange(n * Tc, dtype=np.int64)
        cluster = np.concatenate([coarse_of[v // n] * n + v % n,
                                  n * Tn + np.arange(F, dtype=np.int64)])
        nc = n * Tn + F
        cw, cptr, cpin, cwt, cvptr, cvedge, _ = contract(nc, cluster, vw, ep, pn, ew, vg)
        cptr, cpin, cwt, cvptr, cvedge = merge_parallel(cptr, cpin, cwt, nc)
        cw = np.minimum(cw, 1)
        cg = np.zeros(nc, dtype=np.int64)
        cg[:n * Tn] = np.arange(n * Tn, dtype=np.int64) // n
        levels[-1][8] = cluster
        levels.append([Tn, cw, cptr, cpin, cwt, cvptr, cvedge, cg, None])
        if sc is not None:
            first = np.flatnonzero(np.diff(coarse_of, prepend=-1) > 0)
            sc = sc[first]
        Tc = Tn
    return [tuple(lv) for lv in levels]


DEPTH = 3
"""Deepest time level an iterated V-cycle in time coarsens to (:func:`time_vcycles`)."""
STATIC_MAX = 20_000
"""Largest number of (qubit, slice) vertices for which the static placement is also carried
down the time levels of the packet model (the interaction model's starts always win on the
benchmarks; this one is a cheap safety net on small circuits)."""
FLAT_MAX = 20_000
"""Largest number of (qubit, slice) vertices for which :func:`colocation_start` also runs on
the circuit's blocks (it refines with the general kernels, slow on large hypergraphs)."""
LIGHT_RELAX = (1, 0)
""":data:`RELAX` of large circuits with ``rounds=None`` (see ``ROUND_WORK``)."""
MIN_SLICES = 4
STALL = 10
"""FM passes give up after ``vertices / STALL`` moves past their best prefix."""
WIDE_MIN = 40_000
"""(qubit, layer) vertices from which a circuit without blocks spanning layers is cut into
slices of two layers (``layers_per_slice=None``)."""
ROUNDS = 16
"""Most iterated V-cycles in time (:func:`time_vcycles`) with ``rounds=None``."""
ROUND_WORK = 50_000_000
"""Rounds of :func:`time_vcycles` times pins of the time-extended hypergraph times qubits
(a swap scans a slice), at most, with ``rounds=None``: 10 rounds on CP-128, one on
CP-256."""
"""Time levels with fewer slices are not refined on the way down (the static start already
suits them; their dense coarse graphs are slow)."""
RELAX = (2, 1, 0)
"""Extra data qubits per QPU allowed while refining each time level, in turn (the last is
the real capacity): with one free slot per QPU, moves must come in exchanges that single
FM moves rarely find; refining with room first and then squeezing back
(:func:`rebalance`) finds them."""


def refine_relaxed(n: int, k: int, T: int, level, caps: np.ndarray, blocks: np.ndarray,
                   passes: int, relax=RELAX) -> int:
    """:func:`slice_refine` of one time level under each capacity of ``caps + relax`` in
    turn (:func:`rebalance` first when it shrinks); returns the km1 (``blocks`` in place)."""
    _, vw, ep, pn, ew, vp, ve, _, _ = level
    gptr = np.arange(T + 1, dtype=np.int64) * n
    cost = 0
    for extra in relax:
        cap = caps + extra
        if not rebalance(k, gptr, vw, ep, pn, vp, ve, ew, cap, blocks):
            continue
        cost = int(slice_refine(k, gptr, vw, ep, pn, vp, ve, ew, cap, blocks, passes,
                                max(200, vw.shape[0] // STALL)))
    return cost


def uncoarsen_in_time(levels: list, n: int, k: int, caps: np.ndarray, blocks: np.ndarray,
                      passes: int, relax=RELAX, vcycles: dict | None = None,
                      rng: np.random.Generator | None = None) -> tuple[np.ndarray, int]:
    """Project a placement of the last level of ``levels`` (a prefix of
    :func:`time_levels`) down every level,
    refining each (:func:`refine_relaxed`; then ``vcycles[j]`` V-cycles within slices,
    :func:`slice_vcycle`, on level ``j``); returns the finest placement and its km1."""
    cost = 0
    for j in range(len(levels) - 1, -1, -1):
        level = levels[j]
        if j < len(levels) - 1:
            blocks = blocks[level[8]]
        if level[0] < MIN_SLICES and j > 0:  # a (nearly) static level: the start is good
            continue
        cost = refine_relaxed(n, k, level[0], level, caps, blocks, passes, relax)
        for _ in range((vcycles or {}).get(j, 0)):
            trial = blocks.copy()
            c = slice_vcycle(n, k, level[0], level, caps, trial, rng, passes, relax)
            if c < cost:
                blocks, cost = trial, c
    return blocks, cost


def time_vcycles(levels: list, n: int, k: int, caps: np.ndarray, blocks: np.ndarray,
                 km1: int, rng: np.random.Generator, rounds: int, passes: int,
                 relax=RELAX, depth: int = 3) -> tuple[np.ndarray, int]:
    """Iterated V-cycles in time: ``rounds`` times, coarsen the finest placement to a random
    level ``1 .. depth`` of :func:`time_levels` (a coarse vertex takes its first slice's
    QPU), refine back down (:func:`uncoarsen_in_time`) and keep the result when it costs
    less.  Each coarse level moves whole stretches of a qubit's time line at once, which
    single-vertex moves of the finer levels cannot.  Returns the best placement and km1."""
    depth = min(depth, len(levels) - 1)
    for _ in range(rounds if depth > 0 else 0):
        j = int(rng.integers(1, depth + 1))
        b = blocks
        for lev in range(j):
            cluster = levels[lev][8]
            coarse = np.empty(levels[lev + 1][1].shape[0], dtype=np.int64)
            coarse[cluster[::-1]] = b[::-1]  # the first member of each cluster wins
            b = coarse
        trial, cost = uncoarsen_in_time(levels[:j + 1], n, k, caps, b, passes, relax)
        if cost < km1:
            blocks, km1 = trial, cost
    return blocks, km1


def block_level(score: np.ndarray | None, n: int) -> int:
    """The level of :func:`time_levels` whose slices are the circuit's blocks: 1 when its
    first level merged runs of slices, else 0 (the finest)."""
    if score is None or score.shape[0] < 2:
        return 0
    return int((score[1:] >= 0.75 * n).any())


def _grouped_contraction(cluster: np.ndarray, nc: int, vw, ep, pn, ew, vgroup, ng: int):
    """Contract ``cluster`` with the coarse vertices numbered so that the weighted ones come
    group by group (contiguous, as :func:`slice_refine` needs) and weightless ones last.
    Returns ``(cluster, (vw, eptr, epin, eweight, vptr, vedge), gptr, vgroup)``."""
    cw = np.bincount(cluster, weights=vw, minlength=nc).astype(np.int64)
    cg = np.full(nc, ng, dtype=np.int64)
    heavy = vw > 0
    cg[cluster[heavy]] = vgroup[heavy]
    order = np.lexsort((np.arange(nc), cg))
    rank = np.empty(nc, dtype=np.int64)
    rank[order] = np.arange(nc, dtype=np.int64)
    cluster = rank[cluster]
    gsorted = cg[order]
    gptr = np.searchsorted(gsorted, np.arange(ng + 1), side="left").astype(np.int64)
    cgrp = np.where(gsorted < ng, gsorted, 0)
    cw2, cptr, cpin, cwt, cvptr, cvedge, _ = contract(nc, cluster, vw, ep, pn, ew, vgroup)
    return cluster, (cw2, cptr, cpin, cwt, cvptr, cvedge), gptr, cgrp


def slice_vcycle(n: int, k: int, T: int, level, caps: np.ndarray, blocks: np.ndarray,
                 rng: np.random.Generator, passes: int, relax=RELAX,
                 coarsest: int = 0) -> int:
    """One V-cycle within slices on a time level (as
    :func:`araqne.partitioner.multilevel.v_cycle`: rated matchings of vertices of one slice
    and one QPU, so that partners move together), refined on every level with
    :func:`slice_refine` (:data:`RELAX` on the finest); ``blocks`` improved in place, its
    km1 returned."""
    _, vw, ep, pn, ew, vp, ve, vg, _ = level
    gptr = np.arange(T + 1, dtype=np.int64) * n
    coarsest = coarsest or max(40 * k, 200)
    max_weight = max(1, int(caps.min()) // 4)
    cur = (vw, ep, pn, ew, vp, ve)
    cur_g, cur_gptr, cur_blocks = vg, gptr, blocks
    levels = []
    while cur[0].shape[0] > coarsest:
        vw_, ep_, pn_, ew_, vp_, ve_ = cur
        order = rng.permutation(vw_.shape[0]).astype(np.int64)
        cluster, nc = match_in_blocks(vw_, ep_, pn_, vp_, ve_, ew_, cur_blocks, order,
                                      max_weight, 4096, cur_g)
        if nc > 0.92 * vw_.shape[0]:
            break
        cluster, coarse, cgptr, cg = _grouped_contraction(cluster, nc, vw_, ep_, pn_, ew_,
                                                          cur_g, T)
        cb = np.empty(nc, dtype=np.int64)
        cb[cluster] = cur_blocks
        levels.append((cur, cur_gptr, cur_blocks, cluster))
        cur, cur_g, cur_gptr, cur_blocks = coarse, cg, cgptr, cb
    cost = 0
    while True:
        vw_, ep_, pn_, ew_, vp_, ve_ = cur
        stall = max(100, vw_.shape[0] // STALL)
        for extra in (relax if not levels else (0,)):
            cap = caps + extra
            if rebalance(k, cur_gptr, vw_, ep_, pn_, vp_, ve_, ew_, cap, cur_blocks):
                cost = int(slice_refine(k, cur_gptr, vw_, ep_, pn_, vp_, ve_, ew_, cap,
                                        cur_blocks, passes, stall))
        if not levels:
            break
        fine, fgptr, fblocks, cluster = levels.pop()
        fblocks[:] = cur_blocks[cluster]
        cur, cur_gptr, cur_blocks = fine, fgptr, fblocks
    return cost


def colocation_levels(circ: Circuit, starts: np.ndarray, score: np.ndarray | None = None
                      ) -> list:
    """:func:`time_levels` of the interaction hypergraph over (qubit, slice) vertices: one
    2-pin hyperedge per two-qubit gate between its operands in its slice and one per move
    (the model in which every gate has both operands on one QPU and only moves pay)."""
    n = circ.num_qubits
    T = int(starts.shape[0])
    nq = n * T
    graph = _colocation_graph(circ, starts)
    return time_levels(graph, np.arange(nq, dtype=np.int64) // n, n, T, score)


def teleport_search(circ: Circuit, capacities: np.ndarray, assignment: np.ndarray,
                    gate_qpu: np.ndarray, layers_per_slice: int | None = 1,
                    passes: int = 8, cycles: int = 2, seed: int = 0,
                    extended: bool = True, colocate: bool = True,
                    offset: int = 0, restarts: int = 0, adaptive: bool = True,
                    relax=RELAX, rounds: int | None = 8,
                    budget: float = 1.0) -> TeleportPlan:
    """Refine a static placement into one where qubits may teleport between slices.

    Multilevel in time (:func:`time_levels`, DisQCO's coarsening): from a static placement
    (one slice) the placement is projected onto ever finer slices and refined on each
    (:func:`refine_relaxed`), so that qubits first move for long stretches, then shorter
    ones.  Two starts are carried down: the given static placement in the packet model, and
    (``colocate``) the same in the interaction model where qubits follow their partners
    (:func:`colocation_levels`, then :func:`slice_vcycle` there).  The better, in the packet
    model, gets ``cycles`` V-cycles within slices (:func:`slice_vcycle`: partners move
    together).

    Parameters
    ----------
    circ : Circuit
        The circuit.
    capacities : ndarray of int64
        Data qubits of every QPU (in every slice).
    assignment, gate_qpu : ndarray of int64
        A static placement (QPU of every qubit, QPU of every operation).
    layers_per_slice : int or None
        Layers of two-qubit gates per slice; ``None``: one, or two on a circuit of more than
        ``WIDE_MIN`` (qubit, layer) vertices without blocks spanning layers
        (:func:`block_level`).
    passes : int
        FM passes at most per level (and per capacity of :data:`RELAX`).
    cycles : int
        V-cycles within slices at the end (and on the interaction model); 0 for none.
    seed : int
        Seed of the fresh static placements and of the V-cycles' matchings.
    extended : bool
        Model windows whole over the slices they span (:func:`extended_hypergraph`, default:
        the exact cost, moves nested in windows included) rather than split at every
        boundary (:func:`sliced_hypergraph`).
    colocate : bool
        Also start from the interaction model (qubits follow their partners).
    offset : int
        Phase of the slice boundaries (:func:`slice_starts`).
    restarts : int
        Fresh static placements of the interaction model (multilevel, on its coarsest
        level) carried down besides the given one.
    adaptive : bool
        Merge slices across the boundaries of :func:`boundary_scores` first (else in fixed
        pairs).
    relax : sequence of int
        Extra capacity per refinement of each level (:data:`RELAX`).
    rounds : int or None
        Iterated V-cycles in time at the end (:func:`time_vcycles`); ``None``: ``ROUNDS``
        at most, fewer on large hypergraphs (``ROUND_WORK``), both times ``budget``; on the
        largest, also at most one V-cycle within slices and ``LIGHT_RELAX``.
    budget : float
        Scale of the work budget of ``rounds=None``.

    Returns
    -------
    TeleportPlan
    """
    n = circ.num_qubits
    k = int(capacities.shape[0])
    caps = capacities.astype(np.int64)
    packets = find_windows(circ)
    auto = layers_per_slice is None
    starts = slice_starts(circ, 1 if auto else layers_per_slice, offset)
    score = boundary_scores(circ, starts, packets) if adaptive else None
    if auto and n * starts.shape[0] > WIDE_MIN and block_level(
            boundary_scores(circ, starts, packets), n) == 0:
        # no blocks spanning slices: slices of two layers halve the work
        starts = slice_starts(circ, 2, offset)
        score = boundary_scores(circ, starts, packets) if adaptive else None
    T = int(starts.shape[0])
    if extended:
        hg, vgroup = extended_hypergraph(circ, starts, packets)
    else:
        hg, vgroup, _ = sliced_hypergraph(circ, starts)
    nq = n * T
    levels = time_levels(hg, vgroup, n, T, score)
    if rounds is None:  # iterated V-cycles within a work budget
        work = max(1, int(hg.epin.shape[0]) * n)
        rounds = int(min(ROUNDS * budget, ROUND_WORK * budget // work))
        if 2 * work > ROUND_WORK * budget:  # a large circuit: lighter refinement too
            cycles = min(cycles, 1)
            relax = LIGHT_RELAX
    static = np.empty(n + hg.num_gates, dtype=np.int64)
    static[:n] = assignment
    two = hg.op_anchor >= nq
    static[hg.op_anchor[two] - nq + n] = gate_qpu[two]
    rng = np.random.default_rng(seed)
    cands = []
    if nq <= STATIC_MAX or not colocate or T == 1:
        cands.append(uncoarsen_in_time(levels, n, k, caps, static, passes, relax))
    if colocate and T > 1:
        # qubits follow their partners, in the interaction model: multilevel in time (from
        # the static placement and from ``restarts`` fresh ones), and flat from the static
        # placement on the circuit's blocks, each with V-cycles within slices there; then
        # refined in the packet model, free gates beside their first qubit
        clevels = colocation_levels(circ, starts, score)
        bl = block_level(score, n)
        tops = [assignment.astype(np.int64).copy()]
        top = clevels[-1]
        for _ in range(restarts):
            fresh = np.zeros(n, dtype=np.int64)
            if v_cycle(top[2], top[3], top[5], top[6], top[4], top[1], caps, fresh, rng,
                       fresh=True, vgroup=top[7], ngroups=1) >= 0:
                tops.append(fresh)
        places = [uncoarsen_in_time(clevels, n, k, caps, t, passes, relax, vcycles={bl: cycles},
                                    rng=rng)[0] for t in tops]
        if bl > 0:  # the circuit has blocks of several slices: also flat on them
            flat = np.tile(assignment.astype(np.int64), clevels[bl][0])
            flat, _ = uncoarsen_in_time(clevels[:bl + 1], n, k, caps, flat, passes,
                                        relax=(0,), vcycles={bl: cycles}, rng=rng)
            places.append(flat)
            if nq <= FLAT_MAX:  # and the flat FM plus V-cycles of colocation_start there
                to_block = clevels[0][8][:nq]
                first_of_block = np.flatnonzero(np.diff(to_block[::n], prepend=-1) > 0)
                bstarts = starts[first_of_block]
                bhg, _ = extended_hypergraph(circ, bstarts, packets)
                bplace = colocation_start(circ, bstarts, capacities, assignment, bhg, seed)
                places.append(bplace[to_block])
        op_slice = np.searchsorted(starts, np.arange(circ.num_ops), side="right") - 1
        op_slice = (np.searchsorted(starts, np.arange(circ.num_ops), side="right")
                    - 1).astype(np.int64)
        gate_ops = np.flatnonzero(hg.op_anchor >= nq)
        first = circ.qargs[circ.qptr[gate_ops]]
        for place in places:
            start = np.empty(nq + hg.num_gates, dtype=np.int64)
            start[:nq] = place
            start[hg.op_anchor[gate_ops]] = place[op_slice[gate_ops] * n + first]
            cands.append((start, refine_relaxed(n, k, T, levels[0], caps, start, passes,
                                                relax)))
    blocks, km1 = min(cands, key=lambda c: c[1])
    for _ in range(cycles):
        trial = blocks.copy()
        cost = slice_vcycle(n, k, T, levels[0], caps, trial, rng, passes, relax)
        if cost < km1:
            blocks, km1 = trial, cost
    blocks, km1 = time_vcycles(levels, n, k, caps, blocks, km1, rng, rounds, passes, relax,
                               DEPTH)
    return plan_of_blocks(circ, starts, hg, blocks, caps, int(km1))


def plan_of_blocks(circ: Circuit, starts: np.ndarray, hg, blocks: np.ndarray,
                   capacities: np.ndarray, km1: int) -> TeleportPlan:
    """The :class:`TeleportPlan` of a placement of every vertex of a time-sliced hypergraph
    (qubit ``q`` of slice ``t`` on ``blocks[t * n + q]``, free gates on their own blocks):
    start assignment, QPU of every operation and the moves at every slice boundary
    (:func:`sequence_moves`)."""
    n = circ.num_qubits
    T = int(starts.shape[0])
    k = int(capacities.shape[0])
    caps = capacities.astype(np.int64)
    loc = blocks[:n * T].reshape(T, n)
    moves = []
    for t in range(1, T):
        changed = np.flatnonzero(loc[t] != loc[t - 1])
        if changed.shape[0]:
            load = np.bincount(loc[t - 1], minlength=k)
            moves.extend(sequence_moves(int(starts[t]), changed, loc[t - 1], loc[t], load, caps))
    op_slice = np.searchsorted(starts, np.arange(circ.num_ops), side="right") - 1
    first = circ.qargs[circ.qptr[:-1]] if circ.num_ops else np.zeros(0, dtype=np.int64)
    new_gate_qpu = loc[op_slice, first] if circ.num_ops else np.zeros(0, dtype=np.int64)
    anchored = hg.op_anchor >= 0
    new_gate_qpu = new_gate_qpu.astype(np.int64)
    new_gate_qpu[anchored] = blocks[hg.op_anchor[anchored]]
    return TeleportPlan(loc[0].copy(), new_gate_qpu, moves, int(km1))


@borrowing
def _evacuate(src, grp, gptr, vweight, k, moved, blocks, vptr, vedge, cnt, eweight, load, cap,
              gains):
    """Best (vertex, target, gain) moving a weighted vertex of group ``grp`` other than
    ``moved`` out of QPU ``src`` into a QPU with room for it in that group (vertex -1 if
    none)."""
    best_v = -1
    best_t = -1
    best_g = 0
    base = grp * k
    for u in range(gptr[grp], gptr[grp + 1]):
        if u == moved or blocks[u] != src:
            continue
        _gains(u, k, blocks, vptr, vedge, cnt, eweight, gains)
        w = vweight[u]
        for p in range(k):
            if p != src and load[base + p] + w <= cap[p]:
                if best_v < 0 or gains[p] > best_g:
                    best_v = u
                    best_t = p
                    best_g = gains[p]
    return best_v, best_t, best_g


@borrowing
def _apply(v, t, k, blocks, vptr, vedge, cnt, load, grp, w):
    s = blocks[v]
    blocks[v] = t
    if grp >= 0:
        load[grp * k + s] -= w
        load[grp * k + t] += w
    for i in range(vptr[v], vptr[v + 1]):
        e = vedge[i]
        cnt[e * k + s] -= 1
        cnt[e * k + t] += 1
    return s


@njit(cache=True, nogil=True)
def _groups(gptr, nv):
    ng = gptr.shape[0] - 1
    vgroup = np.full(nv, -1, dtype=np.int64)
    for g in range(ng):
        for v in range(gptr[g], gptr[g + 1]):
            vgroup[v] = g
    return vgroup


@njit(cache=True, nogil=True)
def rebalance(k, gptr, vweight, eptr, epin, vptr, vedge, eweight, cap, blocks):
    """Make a placement fit ``cap`` in every group, in place: while a QPU holds too much
    weight in a group, the vertex of that group whose move to a QPU with room there costs
    least moves.  Groups are contiguous vertex ranges ``gptr[g] .. gptr[g + 1] - 1`` (the
    weighted vertices; the rest weigh 0).  Returns False when some group cannot fit."""
    ng = gptr.shape[0] - 1
    cnt = block_counts(k, eptr, epin, blocks)
    load = np.zeros(ng * k, dtype=np.int64)
    for g in range(ng):
        for v in range(gptr[g], gptr[g + 1]):
            load[g * k + blocks[v]] += vweight[v]
    gains = np.zeros(k, dtype=np.int64)
    for g in range(ng):
        for p in range(k):
            while load[g * k + p] > cap[p]:
                u, t, _ = _evacuate(p, g, gptr, vweight, k, -1, blocks, vptr, vedge, cnt,
                                    eweight, load, cap, gains)
                if u < 0:
                    return False
                _apply(u, t, k, blocks, vptr, vedge, cnt, load, g, vweight[u])
    return True


@njit(cache=True, nogil=True)
def slice_refine(k, gptr, vweight, eptr, epin, vptr, vedge, eweight, cap, blocks, max_passes,
                 max_stall):
    """k-way FM on a time-sliced hypergraph, in place; returns its km1.

    Weighted vertices come in capacity groups of contiguous ranges (``gptr``: group ``g`` is
    ``gptr[g] .. gptr[g + 1] - 1``, a time slice, ``cap`` per QPU in each); the vertices
    after them weigh 0 (free gates, anywhere).  As
    :func:`araqne.partitioner.detach.detach_refine` (lazy max-heap of best moves, a move
    that overfills a QPU at once followed by the best move of another vertex of its group out
    of it, rollback to the best balanced prefix), but a swap scans one group only and balance
    is kept as a count of overfull (group, QPU) pairs.
    """
    nv = blocks.shape[0]
    ng = gptr.shape[0] - 1
    cnt = block_counts(k, eptr, epin, blocks)
    load = np.zeros(ng * k, dtype=np.int64)
    vgroup = _groups(gptr, nv)
    slack = 0
    for v in range(gptr[ng]):
        load[vgroup[v] * k + blocks[v]] += vweight[v]
        if vweight[v] > slack:
            slack = vweight[v]
    over = 0
    for i in range(ng * k):
        if load[i] > cap[i % k]:
            over += 1
    cur = km1_of_counts(cnt, k, eweight)
    gains = np.zeros(k, dtype=np.int64)
    locked = np.zeros(nv, dtype=np.bool_)
    mv_v = np.empty(2 * nv + 2, dtype=np.int64)
    mv_from = np.empty(2 * nv + 2, dtype=np.int64)
    heap_cap = 16 * nv + 64
    hkey = np.empty(heap_cap, dtype=np.int64)
    hitem = np.empty(heap_cap, dtype=np.int64)
    scale = 2 * nv + 2
    gv = np.zeros(nv, dtype=np.int64)  # vgroup for _best_move (gates: group 0, weight 0)
    for v in range(nv):
        gv[v] = vgroup[v] if vgroup[v] >= 0 else 0
    for _ in range(max_passes):
        start = cur
        locked[:] = False
        hsize = 0
        for v in range(nv):
            # boundary vertices only (an incident hyperedge with pins elsewhere); the others
            # are queued when a neighbour's move makes them so
            s = blocks[v]
            cut = False
            for i in range(vptr[v], vptr[v + 1]):
                e = vedge[i]
                if cnt[e * k + s] < eptr[e + 1] - eptr[e]:
                    cut = True
                    break
            if not cut:
                continue
            t, g = _best_move(v, k, blocks, vptr, vedge, cnt, eweight, load, cap, vweight,
                              slack, gains, gv)
            if t >= 0:
                hsize = _push(hkey, hitem, hsize, g * scale + (nv - v), v)
        nmoves = 0
        best = cur
        best_len = 0
        while hsize > 0:
            key = hkey[0]
            v = hitem[0]
            hsize = _pop(hkey, hitem, hsize)
            if locked[v]:
                continue
            t, g = _best_move(v, k, blocks, vptr, vedge, cnt, eweight, load, cap, vweight,
                              slack, gains, gv)
            if t < 0:
                continue
            if g * scale + (nv - v) != key:  # stale entry: queue the current one
                if hsize < heap_cap:
                    hsize = _push(hkey, hitem, hsize, g * scale + (nv - v), v)
                continue
            for step in range(2):
                if step == 1:
                    grp = vgroup[v]
                    if grp < 0 or load[grp * k + t] <= cap[t]:
                        break
                    v, t, g = _evacuate(t, grp, gptr, vweight, k, v, blocks, vptr, vedge, cnt,
                                        eweight, load, cap, gains)
                    if v < 0:
                        break
                grp = vgroup[v]
                w = vweight[v]
                s = blocks[v]
                if grp >= 0 and w > 0:
                    i_s = grp * k + s
                    i_t = grp * k + t
                    if load[i_s] > cap[s] and load[i_s] - w <= cap[s]:
                        over -= 1
                    if load[i_t] <= cap[t] and load[i_t] + w > cap[t]:
                        over += 1
                _apply(v, t, k, blocks, vptr, vedge, cnt, load, grp, w)
                cur -= g
                locked[v] = True
                mv_v[nmoves] = v
                mv_from[nmoves] = s
                nmoves += 1
                for i in range(vptr[v], vptr[v + 1]):
                    e = vedge[i]
                    a = cnt[e * k + s]
                    b = cnt[e * k + t]
                    if a <= 1 or b <= 2:  # a gain of some pin of e changed
                        for j in range(eptr[e], eptr[e + 1]):
                            u = epin[j]
                            if not locked[u] and hsize < heap_cap:
                                tu, gu = _best_move(u, k, blocks, vptr, vedge, cnt, eweight,
                                                    load, cap, vweight, slack, gains, gv)
                                if tu >= 0:
                                    hsize = _push(hkey, hitem, hsize, gu * scale + (nv - u), u)
            if over > 0:
                break
            if cur < best:
                best = cur
                best_len = nmoves
            if nmoves - best_len > max_stall:
                break
            if hsize + nv >= heap_cap:  # compact: keep one fresh entry per unlocked vertex
                hsize = 0
                for u in range(nv):
                    if not locked[u]:
                        tu, gu = _best_move(u, k, blocks, vptr, vedge, cnt, eweight, load, cap,
                                            vweight, slack, gains, gv)
                        if tu >= 0:
                            hsize = _push(hkey, hitem, hsize, gu * scale + (nv - u), u)
        for i in range(nmoves - 1, best_len - 1, -1):
            v = mv_v[i]
            _apply(v, mv_from[i], k, blocks, vptr, vedge, cnt, load, vgroup[v], vweight[v])
        over = 0
        for i in range(ng * k):
            if load[i] > cap[i % k]:
                over += 1
        cur = best
        if cur >= start:
            break
    return cur
