"""Exact reductions of the packet hypergraph before partitioning (km1, all-to-all).

Two rules, both preserving the optimum and the cost of every lifted solution:

*Pendant gates.*  A free gate whose window on qubit ``v`` holds nothing but ``v`` and the gate
(a two-pin hyperedge) of weight at least the rest of the gate's hyperedges runs beside ``v`` in
some optimal partition: moving it away costs that window's weight and saves at most the others'.
The gate is contracted into ``v``: it leaves every hyperedge, ``v`` takes its place (the gate
becomes *pinned* to ``v``, as :mod:`araqne.hypergraph` pins gates whose role is fixed) and the
window on ``v`` drops to one pin.  On quantum-volume circuits every window is such a pair, so
every gate goes and the hypergraph becomes the weighted qubit graph.

*Parallel pairs.*  Hyperedges that are the same pair of qubits merge into one with their weights
summed (they are cut together or not at all).

On the circuit suite the pins drop by 2-7x on random and quantum-volume circuits and not at all
on QFT-like circuits, whose windows are long.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from ..hypergraph import Hypergraph, incidence, sorted_unique


@njit(cache=True, nogil=True)
def pendant_targets(n, num_gates, eptr, epin, vptr, vedge, eweight, gate_qubits):
    """Qubit each free gate contracts into (``-1``: the gate stays).

    Gate ``g`` contracts into ``v`` when one of its hyperedges is exactly ``{v, g}``, ``v`` is
    one of its two qubits, and that hyperedge weighs at least all the gate's others together.
    """
    target = np.full(num_gates, -1, dtype=np.int64)
    for g in range(num_gates):
        vtx = n + g
        total = 0
        for i in range(vptr[vtx], vptr[vtx + 1]):
            total += eweight[vedge[i]]
        for i in range(vptr[vtx], vptr[vtx + 1]):
            e = vedge[i]
            if eptr[e + 1] - eptr[e] != 2:
                continue
            other = epin[eptr[e]] if epin[eptr[e]] != vtx else epin[eptr[e] + 1]
            if other >= n or (other != gate_qubits[g, 0] and other != gate_qubits[g, 1]):
                continue
            if 2 * eweight[e] >= total:
                target[g] = other
                break
    return target


@dataclass
class Reduction:
    """A reduced hypergraph and the way back to the original.

    Attributes
    ----------
    hg : Hypergraph
        The reduced hypergraph: the same qubits, the free gates that stay (renumbered in
        order), and the surviving hyperedges.
    gate_map : ndarray of int64
        For every original free gate: its index among the reduced gates, or ``-1 - v`` when it
        was contracted into qubit ``v``.
    original : Hypergraph
        The hypergraph that was reduced.
    """

    hg: Hypergraph
    gate_map: np.ndarray
    original: Hypergraph

    @property
    def trivial(self) -> bool:
        """True when the reduction changed nothing worth a detour."""
        return self.hg.epin.shape[0] == self.original.epin.shape[0]

    def lift_blocks(self, blocks: np.ndarray) -> np.ndarray:
        """QPU of every original vertex, from the QPU of every reduced vertex."""
        n = self.hg.num_qubits
        gm = self.gate_map
        out = np.empty(n + gm.shape[0], dtype=np.int64)
        out[:n] = blocks[:n]
        kept = gm >= 0
        out[n:][kept] = blocks[n + gm[kept]]
        out[n:][~kept] = blocks[-1 - gm[~kept]]
        return out

    def reduce_blocks(self, blocks: np.ndarray) -> np.ndarray:
        """QPU of every reduced vertex, from a placement of the original vertices."""
        n = self.hg.num_qubits
        kept = np.flatnonzero(self.gate_map >= 0)
        return np.concatenate([blocks[:n], blocks[n + kept]]).astype(np.int64)

    def lift_side(self, side: np.ndarray) -> np.ndarray:
        """Side of every original free gate: a kept gate keeps its reduced side, a contracted
        gate runs beside the qubit it was contracted into."""
        gm = self.gate_map
        into = -1 - gm
        beside_second = (self.original.gate_qubits[:, 1] == into) & \
            (self.original.gate_qubits[:, 0] != into)
        return np.where(gm >= 0, side[np.maximum(gm, 0)] if side.shape[0] else 0,
                        beside_second.astype(np.int64)).astype(np.int64)

    def reduce_side(self, side: np.ndarray) -> np.ndarray:
        """Sides of the reduced gates, from sides of the original gates."""
        return side[self.gate_map >= 0].astype(np.int64)


def reduce_hypergraph(hg: Hypergraph) -> Reduction:
    """Apply the pendant-gate and parallel-pair reductions to ``hg`` (see the module notes).

    The km1 of any placement of the reduced hypergraph equals the km1 of its lift
    (:meth:`Reduction.lift_blocks`) on ``hg``, and the two optima are equal.
    """
    n, ng = hg.num_qubits, hg.num_gates
    gq = hg.gate_qubits.astype(np.int64) if ng else np.zeros((0, 2), dtype=np.int64)
    target = pendant_targets(n, ng, hg.eptr, hg.epin, hg.vptr, hg.vedge, hg.eweight, gq)
    kept = target < 0
    gate_map = np.full(ng, -1, dtype=np.int64)
    nk = int(kept.sum())
    gate_map[kept] = np.arange(nk, dtype=np.int64)
    gate_map[~kept] = -1 - target[~kept]
    vmap = np.concatenate([np.arange(n, dtype=np.int64),
                           np.where(kept, n + gate_map, target)])
    ne = hg.num_edges
    nv = n + nk
    e_of_pin = np.repeat(np.arange(ne, dtype=np.int64), np.diff(hg.eptr))
    key = sorted_unique(e_of_pin * nv + vmap[hg.epin])  # sorted by edge, pins distinct
    pe, pv = key // nv, key % nv
    size = np.bincount(pe, minlength=ne)
    # parallel qubit pairs: the first of every group stands for all, with their weights summed
    starts = np.zeros(ne + 1, dtype=np.int64)
    np.cumsum(size, out=starts[1:])
    pids = np.flatnonzero(size == 2)
    lo, hi = pv[starts[pids]], pv[starts[pids] + 1]  # pins sorted within every edge
    qubits_only = hi < n
    pids, lo, hi = pids[qubits_only], lo[qubits_only], hi[qubits_only]
    weight = hg.eweight.astype(np.int64).copy()
    rep = np.arange(ne, dtype=np.int64)
    if pids.shape[0]:
        order = np.argsort(lo * n + hi, kind="stable")
        sk = (lo * n + hi)[order]
        head = np.ones(sk.shape[0], dtype=bool)
        head[1:] = sk[1:] != sk[:-1]
        heads = np.flatnonzero(head)
        rep[pids[order]] = pids[order][heads[np.cumsum(head) - 1]]
        weight = np.bincount(rep, weights=weight, minlength=ne).astype(np.int64)
    keep_e = (size >= 2) & (rep == np.arange(ne))
    emap = np.full(ne, -1, dtype=np.int64)
    emap[keep_e] = np.arange(int(keep_e.sum()), dtype=np.int64)
    emap_all = emap[rep]  # a merged pair maps to its group's edge
    ok = keep_e[pe]
    pe2, pv2 = emap[pe[ok]], pv[ok]
    ne2 = int(keep_e.sum())
    eptr, vptr, vedge = incidence(pe2, pv2, ne2, nv)
    old_ge = hg.gate_edges[kept] if ng else np.zeros((0, 2), dtype=np.int64)
    gate_edges = np.where(old_ge >= 0, emap_all[np.maximum(old_ge, 0)], -1)
    espan = np.zeros(ne2, dtype=np.int64)
    live = emap_all >= 0
    np.maximum.at(espan, emap_all[live], hg.espan.astype(np.int64)[live])
    red = Hypergraph(num_qubits=n, num_gates=nk, eptr=eptr, epin=pv2.astype(np.int64),
                     vptr=vptr, vedge=vedge, eweight=weight[keep_e],
                     vweight=hg.vweight, gate_qubits=gq[kept], gate_edges=gate_edges,
                     op_anchor=np.zeros(0, dtype=np.int64), roots=hg.roots[keep_e],
                     espan=espan)
    return Reduction(hg=red, gate_map=gate_map, original=hg)
