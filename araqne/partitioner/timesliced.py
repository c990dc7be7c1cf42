"""State teleportation: a time-sliced packet hypergraph in which qubits may change QPU.

The circuit is cut into time slices at operation indices ``starts[1:]``.  Qubit ``q`` in slice
``t`` becomes its own vertex ``t * n + q`` (a *virtual qubit*): the virtual circuit is the
input with every operand renamed so, which splits every window at the slice boundaries, and its
packet hypergraph (:func:`araqne.hypergraph.build_hypergraph`) is the gate-teleportation part of
the model.  A 2-pin *move* hyperedge joins ``(q, t)`` and ``(q, t + 1)``: cut, it costs one
e-bit, the teleportation of ``q``'s state from one QPU to the other between the slices.  Every
QPU holds at most its capacity of qubits in every slice (one capacity group per slice).

:func:`teleport_search` starts from a static partition (every slice alike), refines the
time-sliced hypergraph with the k-way FM of :func:`araqne.partitioner.detach.detach_refine`
(free gates on any QPU, one capacity per slice) and returns the per-slice placement: the QPU of
every qubit at the start, the QPU on which every operation runs and the list of moves
``(op_index, qubit, from_qpu, to_qpu)`` that :func:`araqne.backend.emission.emit` performs.
Windows that cross a slice boundary without a move stay whole in the emitted programs, so the
emitted count is at most the model's (it is what gets reported).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..hypergraph import build_hypergraph, incidence
from ..ir import KIND_NQ, Circuit
from ..packets import find_windows
from .detach import detach_refine, km1_of_blocks
from .multilevel import contract, multilevel_refine, v_cycle


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
    are ``(q, t)`` for every slice ``t`` the window spans, so a window whose root stays put
    costs exactly what the emitted programs pay, and one whose root moves mid-window costs at
    least one more copy (the emitter then splits it at the move).  Free-gate vertices are those
    of :func:`araqne.hypergraph.build_hypergraph`; a gate pinned to its partner (role other)
    pins ``(partner, slice of the gate)``.

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
    from ..hypergraph import Hypergraph
    n = circ.num_qubits
    T = int(starts.shape[0])
    k = int(capacities.shape[0])
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


def time_levels(hg, vgroup: np.ndarray, n: int, T: int) -> list:
    """Coarsen a time-extended hypergraph in time, as DisQCO does: each level merges the
    vertices ``(q, 2s)`` and ``(q, 2s + 1)`` of the one below (free gates stay), down to a
    single slice (a static placement).

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
    while Tc > 1:
        Tn = (Tc + 1) // 2
        _, vw, ep, pn, ew, _, _, vg, _ = levels[-1]
        v = np.arange(n * Tc, dtype=np.int64)
        cluster = np.concatenate([(v // n // 2) * n + v % n,
                                  n * Tn + np.arange(F, dtype=np.int64)])
        nc = n * Tn + F
        cw, cptr, cpin, cwt, cvptr, cvedge, _ = contract(nc, cluster, vw, ep, pn, ew, vg)
        cw = np.minimum(cw, 1)
        cg = np.zeros(nc, dtype=np.int64)
        cg[:n * Tn] = np.arange(n * Tn, dtype=np.int64) // n
        levels[-1][8] = cluster
        levels.append([Tn, cw, cptr, cpin, cwt, cvptr, cvedge, cg, None])
        Tc = Tn
    return [tuple(lv) for lv in levels]


def uncoarsen_in_time(levels: list, k: int, caps: np.ndarray, blocks: np.ndarray,
                      passes: int) -> tuple[np.ndarray, int]:
    """Project a placement of the coarsest level down every level of :func:`time_levels`,
    refining each with k-way FM (:func:`araqne.partitioner.detach.detach_refine`, one
    capacity per slice); returns the finest placement and its km1."""
    cost = 0
    for j in range(len(levels) - 1, -1, -1):
        Tc, vw, ep, pn, ew, vp, ve, vg, cluster = levels[j]
        if cluster is not None:
            blocks = blocks[cluster]
        cost = int(detach_refine(k, ep, pn, vp, ve, ew, vw, caps, blocks, passes,
                                 max(200, vw.shape[0] // 10), vg, Tc))
    return blocks, cost


def teleport_search(circ: Circuit, capacities: np.ndarray, assignment: np.ndarray,
                    gate_qpu: np.ndarray, layers_per_slice: int = 1,
                    passes: int = 8, cycles: int = 4, seed: int = 0,
                    extended: bool = True, colocate: bool = False,
                    offset: int = 0, restarts: int = 4) -> TeleportPlan:
    """Refine a static placement into one where qubits may teleport between slices.

    Multilevel in time (:func:`time_levels`): from a static placement (one slice), the
    placement is projected onto ever finer slices and refined on each with k-way FM, so
    that a qubit first moves for long stretches, then for shorter ones.  The given static
    placement and ``restarts`` static placements partitioned anew (multilevel, on the
    coarsest level) are each carried down; the best is then refined with V-cycles within
    slices.

    Parameters
    ----------
    circ : Circuit
        The circuit.
    capacities : ndarray of int64
        Data qubits of every QPU (in every slice).
    assignment, gate_qpu : ndarray of int64
        A static placement (QPU of every qubit, QPU of every operation).
    layers_per_slice : int
        Layers of two-qubit gates per slice.
    passes : int
        FM passes at most per level.
    cycles : int
        Multilevel V-cycles at the end (coarsening within slices,
        :func:`araqne.partitioner.multilevel.multilevel_refine`); 0 for none.
    seed : int
        Seed of the fresh static placements and of the V-cycles' matchings.
    extended : bool
        Model windows whole over the slices they span (:func:`extended_hypergraph`, default:
        the exact cost, moves nested in windows included) rather than split at every
        boundary (:func:`sliced_hypergraph`).
    colocate : bool
        Also refine :func:`colocation_start` (qubits follow their partners) and keep the
        better plan.
    offset : int
        Phase of the slice boundaries (:func:`slice_starts`).
    restarts : int
        Fresh static placements tried besides the given one.

    Returns
    -------
    TeleportPlan
    """
    n = circ.num_qubits
    k = int(capacities.shape[0])
    caps = capacities.astype(np.int64)
    starts = slice_starts(circ, layers_per_slice, offset)
    T = int(starts.shape[0])
    if extended:
        hg, vgroup = extended_hypergraph(circ, starts)
    else:
        hg, vgroup, _ = sliced_hypergraph(circ, starts)
    nq = n * T
    levels = time_levels(hg, vgroup, n, T)
    top = levels[-1]
    static = np.empty(n + hg.num_gates, dtype=np.int64)
    static[:n] = assignment
    two = hg.op_anchor >= nq
    static[hg.op_anchor[two] - nq + n] = gate_qpu[two]
    tops = [static]
    rng = np.random.default_rng(seed)
    for _ in range(restarts):
        fresh = np.zeros(n + hg.num_gates, dtype=np.int64)
        if v_cycle(top[2], top[3], top[5], top[6], top[4], top[1], caps, fresh, rng,
                   fresh=True, vgroup=top[7], ngroups=1) >= 0:
            tops.append(fresh)
    cands = [uncoarsen_in_time(levels, k, caps, b, passes) for b in tops]
    if colocate and T > 1:
        start = colocation_start(circ, starts, capacities, assignment, hg, seed)
        cost = int(detach_refine(k, hg.eptr, hg.epin, hg.vptr, hg.vedge, hg.eweight,
                                 levels[0][1], caps, start, passes,
                                 max(200, start.shape[0] // 10), vgroup, T))
        cands.append((start, cost))
    blocks, km1 = min(cands, key=lambda c: c[1])
    if cycles:
        blocks, km1 = multilevel_refine(hg, capacities, blocks, seed=seed, cycles=cycles,
                                        vgroup=vgroup, ngroups=T)
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
