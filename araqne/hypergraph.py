"""The packet hypergraph the partitioner works on (CSR arrays).

Vertices ``0 .. n-1`` are qubits (weight 1, or a QEC block in logical units).  Vertices
``n .. n+F-1`` are *free gates*: two-qubit gates both of whose operands sit in windows, so the
gate may run on either operand's QPU (a linked copy serves the other).  Gates that share the same
pair of windows are one vertex: they touch the same hyperedges, so splitting them never helps.

Hyperedge ``w`` is window ``w`` of :mod:`araqne.packets`: its root qubit, the free-gate vertices
it serves and, for gates pinned to their partner (whose role on the partner is other), the
partner qubit itself.  A hyperedge spanning ``lambda`` QPUs costs ``lambda - 1`` e-bits on an
all-to-all network, which is exactly :func:`araqne.objective.cost`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from .ir import KIND_NQ, Circuit
from .packets import Packets, find_windows


@dataclass
class Hypergraph:
    """Packet hypergraph in CSR form.

    Attributes
    ----------
    num_qubits : int
        ``n``; vertices below ``n`` are qubits.
    num_gates : int
        ``F``, the number of free-gate vertices (``n .. n+F-1``).
    eptr, epin : ndarray of int64
        Pins of hyperedge ``e``: ``epin[eptr[e]:eptr[e+1]]`` (sorted, distinct).
    vptr, vedge : ndarray of int64
        Hyperedges of vertex ``v``: ``vedge[vptr[v]:vptr[v+1]]``.
    eweight : ndarray of int64
        Weight of each hyperedge (e-bits per extra QPU).
    vweight : ndarray of int64
        Weight of each qubit vertex (capacity units).
    gate_qubits : ndarray of int64, shape (F, 2)
        The two qubits of each free gate (its candidate homes).
    gate_edges : ndarray of int64, shape (F, 2)
        The windows of each free gate's two operands, aligned with ``gate_qubits``.
    op_anchor : ndarray of int64, shape (num_ops,)
        For a two-qubit operation, the vertex whose QPU it runs on (its free-gate vertex, or the
        operand it is pinned to); -1 for other operations.
    roots : ndarray of int64, shape (E,)
        Root qubit of every hyperedge (window).
    espan : ndarray of int64, shape (E,)
        Operations between the first and last gate of every window: how long its linked copies
        may hold communication qubits.
    """

    num_qubits: int
    num_gates: int
    eptr: np.ndarray
    epin: np.ndarray
    vptr: np.ndarray
    vedge: np.ndarray
    eweight: np.ndarray
    vweight: np.ndarray
    gate_qubits: np.ndarray
    gate_edges: np.ndarray
    op_anchor: np.ndarray
    roots: np.ndarray
    espan: np.ndarray

    def span_weighted(self, num_ops: int, base: int = 4, steps: int = 12) -> "Hypergraph":
        """A copy whose hyperedge weights grow with the window's time span.

        Weight ``base + floor(steps * span / num_ops)``: cutting a window that holds a linked
        copy for long counts more, which steers the partitioner away from copies that pile up
        on communication qubits.
        """
        from dataclasses import replace
        extra = (steps * self.espan) // max(num_ops, 1)
        return replace(self, eweight=(base + np.minimum(extra, steps)) * self.eweight)

    @property
    def num_edges(self) -> int:
        """Number of hyperedges."""
        return int(self.eptr.shape[0] - 1)

    @property
    def num_vertices(self) -> int:
        """Number of vertices (qubits and free gates)."""
        return self.num_qubits + self.num_gates

    def qubit_graph(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Weighted qubit interaction graph in CSR form (``xadj, adjncy, eweights``).

        Weight of ``(a, b)``: the number of free-gate vertices joining ``a`` and ``b`` plus the
        number of windows of either one pinned to the other: the e-bits a cut of that pair
        may cost.  Used to seed the partitioner.
        """
        n = self.num_qubits
        a = [self.gate_qubits[:, 0], ]
        b = [self.gate_qubits[:, 1], ]
        roots = self.roots
        sizes = np.diff(self.eptr)
        e_of_pin = np.repeat(np.arange(self.num_edges, dtype=np.int64), sizes)
        qubit_pin = self.epin < n
        pr = roots[e_of_pin[qubit_pin]]
        pq = self.epin[qubit_pin]
        other = (pq != pr) & (pr >= 0)
        a.append(pr[other])
        b.append(pq[other])
        a = np.concatenate(a)
        b = np.concatenate(b)
        src = np.concatenate([a, b])
        dst = np.concatenate([b, a])
        key = src * n + dst
        ukey, wts = np.unique(key, return_counts=True)
        src, dst = ukey // n, ukey % n
        xadj = np.zeros(n + 1, dtype=np.int64)
        np.add.at(xadj, src + 1, 1)
        xadj = np.cumsum(xadj)
        return xadj, dst.astype(np.int64), wts.astype(np.int64)

    def km1(self, part_vertex: np.ndarray) -> int:
        """Weighted connectivity minus one of a partition of all vertices (numpy, for tests)."""
        sizes = np.diff(self.eptr)
        e_of_pin = np.repeat(np.arange(self.num_edges, dtype=np.int64), sizes)
        k = int(part_vertex.max()) + 1 if part_vertex.size else 1
        key = sorted_unique(e_of_pin * k + part_vertex[self.epin])
        lam = np.bincount(key // k, minlength=self.num_edges)
        return int(np.sum((lam - 1) * self.eweight))


def sorted_unique(a: np.ndarray) -> np.ndarray:
    """Distinct values of an integer array, sorted (``np.unique`` without extra outputs).

    NumPy 2.3+ answers a bare ``np.unique`` by hashing, about 25x slower than sorting on
    millions of int64 keys; this sorts.
    """
    a = np.sort(a, kind="stable") if a.ndim == 1 else np.sort(a.ravel())
    if a.shape[0] == 0:
        return a
    keep = np.empty(a.shape[0], dtype=np.bool_)
    keep[0] = True
    np.not_equal(a[1:], a[:-1], out=keep[1:])
    return a[keep]


@njit(cache=True)
def group_by(keys: np.ndarray, values: np.ndarray, nkeys: int) -> tuple[np.ndarray, np.ndarray]:
    """CSR grouping of ``values`` by ``keys`` in ``0 .. nkeys-1`` (counting sort, stable).

    Returns ``(ptr, grouped)``: the values of key ``x`` are ``grouped[ptr[x]:ptr[x+1]]`` in
    their input order; the same as ``values[np.argsort(keys, kind="stable")]`` in linear time.
    """
    ptr = np.zeros(nkeys + 1, dtype=np.int64)
    for i in range(keys.shape[0]):
        ptr[keys[i] + 1] += 1
    for x in range(nkeys):
        ptr[x + 1] += ptr[x]
    fill = ptr[:-1].copy()
    grouped = np.empty(keys.shape[0], dtype=values.dtype)
    for i in range(keys.shape[0]):
        x = keys[i]
        grouped[fill[x]] = values[i]
        fill[x] += 1
    return ptr, grouped


def incidence(pe: np.ndarray, pv: np.ndarray, ne: int,
              nv: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CSR of pins sorted by hyperedge: ``(eptr, vptr, vedge)``.

    ``pe``, ``pv`` are the hyperedge and vertex of every pin, sorted by hyperedge (``pv`` is
    then the ``epin`` array); ``vedge[vptr[v]:vptr[v+1]]`` are the hyperedges of vertex ``v``.
    """
    eptr = np.zeros(ne + 1, dtype=np.int64)
    np.cumsum(np.bincount(pe, minlength=ne), out=eptr[1:])
    vptr, vedge = group_by(pv.astype(np.int64), pe.astype(np.int64), nv)
    return eptr, vptr, vedge


def build_hypergraph(circ: Circuit, packets: Packets | None = None,
                     qubit_weight: int = 1) -> Hypergraph:
    """Build the packet hypergraph of ``circ``.

    Parameters
    ----------
    circ : Circuit
        Circuit in IR form.
    packets : Packets, optional
        Its windows (computed when omitted).
    qubit_weight : int
        Capacity units per qubit (1, or a QEC block size when capacities are physical).

    Returns
    -------
    Hypergraph
    """
    if packets is None:
        packets = find_windows(circ)
    n = circ.num_qubits
    nw = packets.num_windows
    two = np.flatnonzero(KIND_NQ[circ.kind] == 2)
    s0 = circ.qptr[two]
    q0, q1 = circ.qargs[s0], circ.qargs[s0 + 1]
    w0, w1 = packets.slot_window[s0], packets.slot_window[s0 + 1]
    free = (w0 >= 0) & (w1 >= 0)

    pair_key = w0[free] * max(nw, 1) + w1[free]
    ukeys, first_idx, gate_of_free = np.unique(pair_key, return_index=True, return_inverse=True)
    num_gates = int(ukeys.shape[0])
    fidx = np.flatnonzero(free)
    gate_qubits = np.stack([q0[fidx[first_idx]], q1[fidx[first_idx]]], axis=1).astype(np.int64)
    gate_edges = np.stack([w0[fidx[first_idx]], w1[fidx[first_idx]]], axis=1).astype(np.int64)

    op_anchor = np.full(circ.num_ops, -1, dtype=np.int64)
    anchor2 = np.where(w0 < 0, q0, q1)  # pinned: the operand whose role is other
    anchor2[free] = n + gate_of_free.reshape(-1)
    op_anchor[two] = anchor2

    pin_e = [np.arange(nw, dtype=np.int64)]
    pin_v = [packets.root]
    gv = n + np.arange(num_gates, dtype=np.int64)
    pin_e += [gate_edges[:, 0], gate_edges[:, 1]]
    pin_v += [gv, gv]
    p0 = (w0 >= 0) & (w1 < 0)
    p1 = (w1 >= 0) & (w0 < 0)
    pin_e += [w0[p0], w1[p1]]
    pin_v += [q1[p0], q0[p1]]
    pe = np.concatenate(pin_e).astype(np.int64)
    pv = np.concatenate(pin_v).astype(np.int64)
    nv = n + num_gates
    key = sorted_unique(pe * nv + pv)
    pe, pv = key // nv, key % nv
    eptr, vptr, vedge = incidence(pe, pv, nw, nv)
    hg = Hypergraph(
        num_qubits=n,
        num_gates=num_gates,
        eptr=eptr,
        epin=pv,
        vptr=vptr,
        vedge=vedge,
        eweight=np.ones(nw, dtype=np.int64),
        vweight=np.full(n, qubit_weight, dtype=np.int64),
        gate_qubits=gate_qubits,
        gate_edges=gate_edges,
        op_anchor=op_anchor,
        roots=packets.root.astype(np.int64),
        espan=(packets.last - packets.first).astype(np.int64),
    )
    return hg
