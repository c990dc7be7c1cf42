"""Commutation-aware reordering of a circuit (issue #5, part 1).

:func:`reorder` returns an equivalent circuit whose operations are listed in another order: a
topological order of the *commutation DAG*, chosen by a list scheduler that finishes the linked
copies it has started before it starts new ones.

Commutation (conservative; every rule is checked by matrix in ``tests/test_reorder.py``)
-----------------------------------------------------------------------------------------
Every operation touches *wires*: its qubits, the classical bit a measurement writes and the
classical bits its condition reads.  On each wire it has a *class*:

- ``CLS_Z``: strictly diagonal in the Z basis on that qubit (``rz``, ``p``, ``s``, ``t``, ``z``,
  ``id``, the control of every controlled gate, both qubits of ``cz``/``cp``/``crz``/``rzz``);
- ``CLS_X``: strictly diagonal in the X basis (``rx``, ``sx``, ``x``, the target of ``cx``/
  ``crx``/``rzx``, both qubits of ``rxx``);
- ``CLS_READ``: reads a classical bit (condition);
- ``0``: anything else: ``h``, ``y``, ``ry``, ``u``, targets of ``ch``/``cy``/``cry``/``cu``,
  measurement, reset, a measurement's write of its bit, and *every* qubit of a classically
  conditioned operation.

Anti-diagonal operations (``x`` in the Z basis, ``z`` in the X basis) keep a window but do not
commute with the diagonal ones, so they only get the other class; ``id`` gets ``CLS_Z`` only
(one class per operand keeps the blocks below invariant, hence :func:`reorder` idempotent).
Two operations commute when their classes are equal and non-zero on every wire they share:
each is then block diagonal over a common basis of every shared qubit with blocks acting on
disjoint qubits; two readers of a classical bit commute; a writer commutes with nothing on its
bit.  Only the order of non-commuting operations is kept, so every topological order is the
same channel (same unitary, same measurement record, same conditions).

The DAG stays linear in size: the operations on a wire are cut, in program order, into maximal
*blocks* of one non-zero class (operations of class 0 are blocks of their own).  An operation
waits for the whole previous block of each of its wires: a counter per block, no edges.

What it buys, and what it cannot
--------------------------------
The windows of :mod:`araqne.packets` are unions of whole blocks: every topological order keeps
each qubit's block sequence, and a window's state after a block does not depend on the order
inside it.  So the number of windows, the gates each one serves, the packet hypergraph and the
e-bits of the cost model are *invariant* under this (or any commutation-only) reordering: the
basis windows already merge everything commutation can merge (araQne's gain is measured against
packets of *consecutive* gates).  What the order changes is *when*: how long each linked copy
lives and how many are alive at once on a QPU.  With few communication qubits the backend must
evict and re-make copies (Belady), and every re-made copy is one more Bell pair; ordered so
that each paid copy is used in one run, the emitted count falls to (nearly) the model's.

The scheduler
-------------
A *copy* is, given a placement (:func:`reorder_placed`), a (window, QPU) pair the backend makes
(its QPU is not the root's home); without one, every window.  Among ready operations the
scheduler takes the lowest ``3 * opens + 2 - extends`` (``opens``: operands whose copy is not
made yet; ``extends``: operands whose copy is alive), ties by input position.  The choice only
depends on the DAG and on what was already scheduled, so the result is deterministic and
idempotent.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from numba import njit

from .ir import GATES, KIND_NQ, KIND_ROLE, ROLE_X, ROLE_Z, XFLIP, ZFLIP, Circuit
from .jit import borrowing
from .packets import Packets, find_windows

CLS_Z = 1
CLS_X = 2
CLS_READ = 4


def _class_table() -> np.ndarray:
    """Commutation class of every (kind, operand) of an unconditioned operation."""
    table = np.zeros((len(GATES), 2), dtype=np.int64)
    for k, g in enumerate(GATES):
        if g.name in ("measure", "reset"):
            continue
        for j in range(g.num_qubits):
            r = int(KIND_ROLE[k, j])
            c = 0
            if r & ROLE_Z and not ZFLIP[k, j]:
                c = CLS_Z
            elif r & ROLE_X and not XFLIP[k, j]:
                c = CLS_X
            table[k, j] = c
    return table


#: per kind and operand: commutation class (CLS_* bits) when the operation is unconditioned
KIND_CLASS = _class_table()


# ------------------------------------------------------------------------------ the kernels


@njit(cache=True)
def _wires(kind, qptr, qargs, clbit, cond, cptr, cbits, n, kind_nq, kind_class):
    """Wires of every operation (CSR ``sptr``: wire ``swire``, class ``scls``), deduplicated."""
    m = kind.shape[0]
    cap = qargs.shape[0]
    for i in range(m):
        if clbit[i] >= 0:
            cap += 1
        if cond[i] >= 0:
            cap += cptr[cond[i] + 1] - cptr[cond[i]]
    sptr = np.zeros(m + 1, dtype=np.int64)
    swire = np.empty(cap, dtype=np.int64)
    scls = np.empty(cap, dtype=np.int64)
    s = 0
    for i in range(m):
        k = kind[i]
        start = s
        c = cond[i]
        for j in range(kind_nq[k]):
            swire[s] = qargs[qptr[i] + j]
            scls[s] = kind_class[k, j] if c < 0 else 0
            s += 1
        if clbit[i] >= 0:
            swire[s] = n + clbit[i]
            scls[s] = 0
            s += 1
        if c >= 0:
            for t in range(cptr[c], cptr[c + 1]):
                w = n + cbits[t]
                dup = -1
                for u in range(start, s):
                    if swire[u] == w:
                        dup = u
                if dup >= 0:
                    scls[dup] = scls[dup] & CLS_READ
                else:
                    swire[s] = w
                    scls[s] = CLS_READ
                    s += 1
        sptr[i + 1] = s
    return sptr, swire[:s].copy(), scls[:s].copy()


@njit(cache=True)
def _blocks(sptr, swire, scls, num_wires):
    """Cut each wire's operations into blocks of pairwise-commuting ones.

    Returns ``slot_block`` (block of each slot), ``bptr``/``bop`` (member operations of each
    block, CSR in program order) and ``bwire`` (wire of each block).  Blocks of one wire are
    numbered consecutively in program order.
    """
    m = sptr.shape[0] - 1
    ns = swire.shape[0]
    wcount = np.zeros(num_wires + 1, dtype=np.int64)
    for s in range(ns):
        wcount[swire[s] + 1] += 1
    for w in range(num_wires):
        wcount[w + 1] += wcount[w]
    fill = wcount[:-1].copy()
    occ = np.empty(ns, dtype=np.int64)   # slots sorted by wire, then program order
    slot_op = np.empty(ns, dtype=np.int64)
    for i in range(m):
        for s in range(sptr[i], sptr[i + 1]):
            slot_op[s] = i
            occ[fill[swire[s]]] = s
            fill[swire[s]] += 1
    slot_block = np.empty(ns, dtype=np.int64)
    bptr = np.empty(ns + 1, dtype=np.int64)
    bwire = np.empty(ns, dtype=np.int64)
    bop = np.empty(ns, dtype=np.int64)
    nb = 0
    for w in range(num_wires):
        acc = 0
        for t in range(wcount[w], wcount[w + 1]):
            s = occ[t]
            c = scls[s]
            if t == wcount[w] or (acc & c) == 0:
                bptr[nb] = t
                bwire[nb] = w
                nb += 1
                acc = c
            else:
                acc &= c
            slot_block[s] = nb - 1
            bop[t] = slot_op[s]
    bptr[nb] = ns
    return slot_block, bptr[:nb + 1].copy(), bwire[:nb].copy(), bop


@njit(cache=True)
def _heap_push(heap, size, v):
    if size == heap.shape[0]:
        bigger = np.empty(2 * heap.shape[0] + 16, dtype=np.int64)
        bigger[:size] = heap[:size]
        heap = bigger
    i = size
    heap[i] = v
    while i > 0:
        p = (i - 1) >> 1
        if heap[p] <= heap[i]:
            break
        heap[p], heap[i] = heap[i], heap[p]
        i = p
    return heap, size + 1


@borrowing
def _heap_pop(heap, size):
    size -= 1
    heap[0] = heap[size]
    i = 0
    while True:
        l = 2 * i + 1
        if l >= size:
            break
        c = l
        if l + 1 < size and heap[l + 1] < heap[l]:
            c = l + 1
        if heap[i] <= heap[c]:
            break
        heap[i], heap[c] = heap[c], heap[i]
        i = c
    return size


@borrowing
def _priority(o, qptr, nq_of, slot_copy, opened):
    """Priority of ready operation ``o`` (lower first): ``3 * opens + 2 - extends``, where
    ``opens`` counts its operands whose linked copy is not made yet and ``extends`` those whose
    copy is alive.  So: gates that only use live copies, then local operations, then gates
    that open one copy (those that also use a live one first), then two."""
    opens = 0
    ext = 0
    if nq_of[o] == 2:
        for j in range(2):
            c = slot_copy[qptr[o] + j]
            if c < 0:
                continue
            if opened[c]:
                ext += 1
            else:
                opens += 1
    return 3 * opens + 2 - ext


@njit(cache=True)
def _schedule(qptr, nq_of, sptr, slot_block, bptr, bwire, bop, slot_copy, num_copies):
    """Topological order of the commutation DAG, fewest new linked copies first.

    ``slot_copy`` (aligned with ``qargs``) names the linked copy an operand of a two-qubit gate
    uses (-1: none); a copy is *opened* by the first of its gates to be scheduled.  Among ready
    operations the scheduler takes the lowest :func:`_priority`, ties by input position, from
    one lazy heap of ``priority * m + index``: an entry is live while its priority is the
    operation's current one.  Priorities only change when a copy opens, and then only for
    ready operations of the open block of the copy's root, which are re-keyed.
    """
    m = nq_of.shape[0]
    nb = bwire.shape[0]
    remaining = np.empty(nb, dtype=np.int64)
    for b in range(nb):
        remaining[b] = bptr[b + 1] - bptr[b]
    pending = np.zeros(m, dtype=np.int64)
    for i in range(m):
        for s in range(sptr[i], sptr[i + 1]):
            b = slot_block[s]
            if b > 0 and bwire[b - 1] == bwire[b]:
                pending[i] += 1
    opened = np.zeros(num_copies, dtype=np.bool_)
    pri = np.zeros(m, dtype=np.int64)
    done = np.zeros(m, dtype=np.bool_)
    heap = np.empty(1024, dtype=np.int64)
    size = 0
    for i in range(m):
        if pending[i] == 0:
            pri[i] = _priority(i, qptr, nq_of, slot_copy, opened)
            heap, size = _heap_push(heap, size, pri[i] * m + i)
    order = np.empty(m, dtype=np.int64)
    newq = np.empty(2, dtype=np.int64)
    for t in range(m):
        chosen = -1
        while chosen < 0:
            v = heap[0]
            size = _heap_pop(heap, size)
            o = v % m
            if not done[o] and v // m == pri[o]:
                chosen = o
        order[t] = chosen
        done[chosen] = True
        nnew = 0
        if nq_of[chosen] == 2:
            for j in range(2):
                c = slot_copy[qptr[chosen] + j]
                if c >= 0 and not opened[c]:
                    opened[c] = True
                    newq[nnew] = j
                    nnew += 1
        # release the next block of every wire whose block is now complete
        for s in range(sptr[chosen], sptr[chosen + 1]):
            b = slot_block[s]
            remaining[b] -= 1
            if remaining[b] == 0 and b + 1 < nb and bwire[b + 1] == bwire[b]:
                for u in range(bptr[b + 1], bptr[b + 2]):
                    o = bop[u]
                    pending[o] -= 1
                    if pending[o] == 0:
                        pri[o] = _priority(o, qptr, nq_of, slot_copy, opened)
                        heap, size = _heap_push(heap, size, pri[o] * m + o)
        # a copy opened: re-key the ready operations of its root's open block
        for c in range(nnew):
            s = sptr[chosen] + newq[c]  # qubit slots come first among an operation's wires
            b = slot_block[s]
            if remaining[b] == 0:
                continue
            for u in range(bptr[b], bptr[b + 1]):
                o = bop[u]
                if done[o] or pending[o] != 0:
                    continue
                p = _priority(o, qptr, nq_of, slot_copy, opened)
                if p != pri[o]:
                    pri[o] = p
                    heap, size = _heap_push(heap, size, p * m + o)
    return order


# ------------------------------------------------------------------------------ public API


def _condition_csr(circ: Circuit) -> tuple[np.ndarray, np.ndarray]:
    cptr = np.zeros(len(circ.conditions) + 1, dtype=np.int64)
    bits: list[int] = []
    for c, cond in enumerate(circ.conditions):
        bits.extend(sorted(set(int(b) for b in cond.clbits)))
        cptr[c + 1] = len(bits)
    return cptr, np.array(bits, dtype=np.int64)


def commutation_blocks(circ: Circuit):
    """The commutation DAG of ``circ`` in block form (for tests and diagnostics).

    Returns
    -------
    sptr, swire, scls : ndarray of int64
        Wires of every operation (qubit ``q`` is wire ``q``, classical bit ``c`` is wire
        ``num_qubits + c``) and its class on each.
    slot_block, bptr, bop, bwire : ndarray of int64
        Block of every (operation, wire) slot; member operations and wire of every block.
    """
    cptr, cbits = _condition_csr(circ)
    if cbits.size and (cbits.min() < 0 or cbits.max() >= circ.num_clbits):
        raise ValueError("IR: condition on a classical bit out of range")
    sptr, swire, scls = _wires(circ.kind.astype(np.int64), circ.qptr, circ.qargs, circ.clbit,
                               circ.cond, cptr, cbits, circ.num_qubits, KIND_NQ, KIND_CLASS)
    slot_block, bptr, bwire, bop = _blocks(sptr, swire, scls,
                                           circ.num_qubits + max(circ.num_clbits, 0))
    return sptr, swire, scls, slot_block, bptr, bop, bwire


def copy_slots(circ: Circuit, packets: Packets | None = None, assignment=None,
               gate_qpu=None) -> tuple[np.ndarray, np.ndarray]:
    """The linked copy each two-qubit operand uses (aligned with ``qargs``; -1: none) and the
    number of operands each copy serves.

    Without a placement every window is one potential copy.  With ``assignment`` and
    ``gate_qpu`` a copy is a (window, QPU) pair whose QPU is not the root's home, as the
    backend makes them (one per window and QPU, made before its first gate, released after
    its last).
    """
    if packets is None:
        packets = find_windows(circ)
    sw = packets.slot_window
    if assignment is None:
        slot_copy = sw.astype(np.int64, copy=True)
        ncopy = packets.num_windows
    else:
        assignment = np.asarray(assignment, dtype=np.int64)
        gate_qpu = np.asarray(gate_qpu, dtype=np.int64)
        op_of_slot = np.repeat(np.arange(circ.num_ops, dtype=np.int64), np.diff(circ.qptr))
        where = gate_qpu[op_of_slot]
        remote = (sw >= 0) & (assignment[circ.qargs] != where)
        k = int(max(assignment.max(initial=0), where.max(initial=0))) + 1
        slot_copy = np.full(sw.shape[0], -1, dtype=np.int64)
        ids, dense = np.unique(sw[remote] * k + where[remote], return_inverse=True)
        slot_copy[remote] = dense.reshape(-1)
        ncopy = int(ids.shape[0])
    used = slot_copy >= 0
    copy_size = np.bincount(slot_copy[used], minlength=ncopy).astype(np.int64)
    return slot_copy, copy_size


def reorder_permutation(circ: Circuit, assignment=None, gate_qpu=None,
                        packets: Packets | None = None) -> np.ndarray:
    """The order :func:`reorder` lists ``circ``'s operations in (indices into ``circ``)."""
    m = circ.num_ops
    if m == 0:
        return np.zeros(0, dtype=np.int64)
    if circ.num_clbits and circ.clbit.size and circ.clbit.max() >= circ.num_clbits:
        raise ValueError("IR: classical bit index out of range")
    sptr, _, _, slot_block, bptr, bop, bwire = commutation_blocks(circ)
    slot_copy, copy_size = copy_slots(circ, packets, assignment, gate_qpu)
    return _schedule(circ.qptr, KIND_NQ[circ.kind], sptr, slot_block, bptr, bwire, bop,
                     slot_copy, copy_size.shape[0])


def _gather_csr(ptr: np.ndarray, data: np.ndarray, order: np.ndarray):
    lengths = np.diff(ptr)[order]
    new_ptr = np.zeros(order.shape[0] + 1, dtype=np.int64)
    np.cumsum(lengths, out=new_ptr[1:])
    idx = np.repeat(ptr[:-1][order] - new_ptr[:-1], lengths) + np.arange(new_ptr[-1],
                                                                         dtype=np.int64)
    return new_ptr, data[idx]


def apply_permutation(circ: Circuit, order: np.ndarray) -> Circuit:
    """``circ`` with its operations listed in ``order`` (no equivalence check)."""
    qptr, qargs = _gather_csr(circ.qptr, circ.qargs, order)
    pptr, params = _gather_csr(circ.pptr, circ.params, order)
    return replace(circ, kind=circ.kind[order], qptr=qptr, qargs=qargs, pptr=pptr,
                   params=params, clbit=circ.clbit[order], cond=circ.cond[order],
                   conditions=list(circ.conditions), qregs=list(circ.qregs),
                   cregs=list(circ.cregs))


def reorder(circ: Circuit, assignment=None, gate_qpu=None,
            packets: Packets | None = None) -> Circuit:
    """An equivalent circuit, reordered by commutation so that linked copies are short-lived.

    Only operations that commute (module docstring) trade places: the result is the same
    channel, measurements and classical conditions included.  The windows (packets) are the
    same sets of gates, never more.  Deterministic, idempotent, linear in the number of
    operations (numba).

    Parameters
    ----------
    circ : Circuit
        The circuit in IR form.
    assignment, gate_qpu : array of int, optional
        A placement (QPU of every qubit, QPU of every operation, as in
        :class:`araqne.api.PartitionResult`).  With it, the scheduler keeps the (window, QPU)
        copies the placement pays for alive as briefly as it can, which is what saves Bell
        pairs when communication qubits are few (see :func:`reorder_placed`).  Without it,
        every window counts as a copy.
    packets : Packets, optional
        Windows of ``circ`` (computed when omitted).

    Returns
    -------
    Circuit
        A new circuit (``circ`` is not modified); its conditions, registers and name are
        ``circ``'s.
    """
    return apply_permutation(circ, reorder_permutation(circ, assignment, gate_qpu, packets))


@dataclass
class Reordered:
    """A placed circuit in the order the backend should emit it (:func:`reorder_placed`).

    Attributes
    ----------
    circuit : Circuit
        The reordered circuit (equivalent to the input).
    packets : Packets
        Its windows: the input's windows, renumbered in the new order of their first gates.
    gate_qpu : ndarray of int64
        QPU of every operation of ``circuit``.
    order : ndarray of int64
        ``order[i]``: index in the input of operation ``i`` of ``circuit``.
    window_of : ndarray of int64
        ``window_of[w]``: the input's number of window ``w`` of ``packets``.
    """

    circuit: Circuit
    packets: Packets
    gate_qpu: np.ndarray
    order: np.ndarray
    window_of: np.ndarray

    def relabel(self, emission):
        """Rename, in place, the operations and windows the schedule of ``emission`` (an
        :class:`araqne.backend.Emission` of :attr:`circuit`) names to the input's numbering,
        and return it."""
        if getattr(emission, "_schedule", None) is None and \
                getattr(emission, "schedule_data", None) is not None:
            emission.schedule_data.pairs.relabel(self.order, self.window_of)
            return emission
        order = self.order.tolist()
        window_of = self.window_of.tolist()
        for pair in emission.schedule.get("pairs", ()):
            if pair.get("serves"):
                pair["serves"] = sorted(order[i] for i in pair["serves"])
            if pair.get("window") is not None:
                pair["window"] = window_of[pair["window"]]
        return emission


def reorder_placed(circ: Circuit, packets: Packets | None, assignment, gate_qpu) -> Reordered:
    """Reorder a partitioned circuit for emission: the copies the placement pays for are made
    one after the other rather than all at once.

    The windows, the placement and so the cost model are unchanged (the windows are the same
    sets of gates); the backend then needs fewer communication qubits at a time, so it evicts
    and re-makes fewer linked copies, and emits fewer Bell pairs.

    Parameters
    ----------
    circ : Circuit
        The input circuit.
    packets : Packets or None
        Its windows (computed when ``None``).
    assignment, gate_qpu : array of int
        QPU of every qubit and of every operation of ``circ``.

    Returns
    -------
    Reordered
    """
    if packets is None:
        packets = find_windows(circ)
    gate_qpu = np.asarray(gate_qpu, dtype=np.int64)
    order = reorder_permutation(circ, assignment, gate_qpu, packets)
    return _reordered(circ, packets, gate_qpu, order)


def reorder_with_moves(circ: Circuit, packets: Packets | None, assignment, gate_qpu,
                       moves) -> Reordered:
    """:func:`reorder_placed` for a placement that changes by state teleportation.

    The operations are reordered only within the segments between the operations before which
    qubits move (``moves``: ``(op_index, qubit, from_qpu, to_qpu)``), each with the placement
    of its segment, so every move keeps its index and happens between the same operations.
    """
    if packets is None:
        packets = find_windows(circ)
    gate_qpu = np.asarray(gate_qpu, dtype=np.int64)
    m = circ.num_ops
    where = np.asarray(assignment, dtype=np.int64).copy()
    by_op: dict[int, list] = {}
    for op, q, _a, b in moves:
        by_op.setdefault(int(op), []).append((int(q), int(b)))
    cuts = sorted(c for c in by_op if 0 < c < m)
    for q, b in by_op.get(0, ()):
        where[q] = b
    parts = []
    bounds = [0] + cuts + [m]
    for s, e in zip(bounds[:-1], bounds[1:]):
        if s > 0:
            for q, b in by_op[s]:
                where[q] = b
        if e > s:
            seg = apply_permutation(circ, np.arange(s, e, dtype=np.int64))
            parts.append(s + reorder_permutation(seg, where, gate_qpu[s:e]))
    order = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
    return _reordered(circ, packets, gate_qpu, order)


def _reordered(circ: Circuit, packets: Packets, gate_qpu: np.ndarray,
               order: np.ndarray) -> Reordered:
    """``circ`` in ``order``, with its windows renumbered and mapped back to ``packets``'."""
    new = apply_permutation(circ, order)
    new_packets = find_windows(new)
    slot_of = _gather_csr(circ.qptr, np.arange(circ.qargs.shape[0], dtype=np.int64), order)[1]
    window_of = np.full(new_packets.num_windows, -1, dtype=np.int64)
    used = new_packets.slot_window >= 0
    window_of[new_packets.slot_window[used]] = packets.slot_window[slot_of[used]]
    return Reordered(new, new_packets, gate_qpu[order], order, window_of)
