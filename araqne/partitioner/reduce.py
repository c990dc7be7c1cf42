"""Exact reductions of the packet hypergraph before partitioning (km1, all-to-all).

Three rules, each preserving the optimum and the cost of every lifted solution:

*Pendant gates.*  A free gate whose window on qubit ``v`` holds nothing but ``v`` and the gate
(a two-pin hyperedge) of weight at least the rest of the gate's hyperedges runs beside ``v`` in
some optimal partition: moving it away costs that window's weight and saves at most the others'.
The gate is contracted into ``v``: it leaves every hyperedge, ``v`` takes its place (the gate
becomes *pinned* to ``v``, as :mod:`araqne.hypergraph` pins gates whose role is fixed) and the
window on ``v`` drops to one pin.  On quantum-volume circuits every window is such a pair, so
every gate goes and the hypergraph becomes the weighted qubit graph.

*Twin layers.*  Free gates fall into components: two gates are in one when a hyperedge holds
both, so every hyperedge with a gate belongs to exactly one component.  Two components are
twins when their gates pair up by qubit pair (no pair twice in either) and this pairing maps
the hyperedges of one exactly onto those of the other, weights included: the repeated layers
of QAOA with p > 1, of Trotter steps and of ansatz repetitions.  Given the qubits' QPUs, the
e-bits of a component depend on its own gates alone, and twins pay them alike, so copying the
cheaper twin's gate placement onto the other never costs more: some optimal partition puts
twin gates on the same QPU.  Each gate merges into its twin in the first component of its
group; a gate whose qubits are listed the other way round keeps its side by flipping it.
Candidates are found by hashing and every pairing is then checked pin by pin: a pairing that
fails the check is not merged.

*Identical hyperedges.*  Hyperedges with the same pins (parallel pairs of qubits, and the
windows of twin layers once their gates merged) merge into one with their weights summed:
they are cut together or not at all.

On the circuit suite the pins drop by 2-7x on random and quantum-volume circuits, by half on
QAOA with p = 2, and not at all on QFT-like circuits, whose windows are long.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from ..hypergraph import Hypergraph, incidence, sorted_unique
from ..jit import borrowing


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


_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_SALT = np.uint64(0x9E3779B97F4A7C15)


@borrowing
def _mix(x):
    """SplitMix64's finaliser: a well-spread 64-bit hash of ``x`` (uint64)."""
    x = (x ^ (x >> np.uint64(30))) * _M1
    x = (x ^ (x >> np.uint64(27))) * _M2
    return x ^ (x >> np.uint64(31))


@borrowing
def union_root(parent, x):
    """Root of ``x``'s set in the union-find forest ``parent``, halving the path on the way
    (shared with :func:`.bounds.km1_lower_bound`)."""
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


@njit(cache=True, nogil=True)
def _gate_components(n, ng, eptr, epin, eweight, label):
    """Components of the free gates (joined by shared hyperedges) and their hashes.

    Returns ``(comp, ecomp, ehash, chash, gcount, ecount)``: the component of every gate (the
    smallest gate index in it), the component of every hyperedge (-1 without gates), a hash
    of every hyperedge's pins (qubits by index, gates by ``label``) and weight, and per
    component (indexed by its id) the sum of its hyperedges' hashes, its gates and its
    hyperedges.
    """
    ne = eptr.shape[0] - 1
    parent = np.arange(ng)
    for e in range(ne):
        prev = -1
        for j in range(eptr[e], eptr[e + 1]):
            v = epin[j]
            if v < n:
                continue
            g = v - n
            if prev >= 0:
                a = union_root(parent, prev)
                b = union_root(parent, g)
                if a < b:
                    parent[b] = a
                elif b < a:
                    parent[a] = b
            prev = g
    comp = np.empty(ng, dtype=np.int64)
    for g in range(ng):
        comp[g] = union_root(parent, g)
    ecomp = np.full(ne, -1, dtype=np.int64)
    ehash = np.zeros(ne, dtype=np.uint64)
    chash = np.zeros(ng, dtype=np.uint64)
    gcount = np.zeros(ng, dtype=np.int64)
    ecount = np.zeros(ng, dtype=np.int64)
    for g in range(ng):
        gcount[comp[g]] += 1
    for e in range(ne):
        h = _mix(np.uint64(eweight[e]) ^ _SALT)
        for j in range(eptr[e], eptr[e + 1]):
            v = epin[j]
            if v < n:
                h += _mix(np.uint64(v) + np.uint64(1))
            else:
                h += _mix(np.uint64(n + label[v - n]) + np.uint64(1))
                ecomp[e] = comp[v - n]
        ehash[e] = h
        if ecomp[e] >= 0:
            chash[ecomp[e]] += _mix(h)
            ecount[ecomp[e]] += 1
    return comp, ecomp, ehash, chash, gcount, ecount


@njit(cache=True, nogil=True)
def _pair_twins(n, eptr, epin, eweight, label, heads, members, gptr, gates, cptr, cedges,
                rep):
    """Check every candidate pairing of a component (``members[i]``) with its head
    (``heads[i]``, the first of its candidate group still unmerged) pin by pin, and where it
    holds point the member's gates at their twins (``rep``).

    ``gates[gptr[c]:gptr[c+1]]`` are the gates of component ``c`` sorted by label, and
    ``cedges[cptr[c]:cptr[c+1]]`` its hyperedges sorted by hash.
    """
    ng = rep.shape[0]
    twin = np.full(ng, -1, dtype=np.int64)
    for i in range(members.shape[0]):
        h, m = heads[i], members[i]
        gh, gm = gptr[h], gptr[m]
        size = gptr[h + 1] - gh
        ok = size == gptr[m + 1] - gm and cptr[h + 1] - cptr[h] == cptr[m + 1] - cptr[m]
        if ok:
            for x in range(size):
                if label[gates[gh + x]] != label[gates[gm + x]]:
                    ok = False
                    break
        if ok:
            for x in range(size):
                twin[gates[gm + x]] = gates[gh + x]
            for x in range(cptr[m + 1] - cptr[m]):
                e = cedges[cptr[m] + x]
                f = cedges[cptr[h] + x]
                if eweight[e] != eweight[f] or eptr[e + 1] - eptr[e] != eptr[f + 1] - eptr[f]:
                    ok = False
                    break
                mapped = np.empty(eptr[e + 1] - eptr[e], dtype=np.int64)
                for j in range(eptr[e], eptr[e + 1]):
                    v = epin[j]
                    mapped[j - eptr[e]] = v if v < n else n + twin[v - n]
                mapped.sort()
                for j in range(eptr[f], eptr[f + 1]):
                    if mapped[j - eptr[f]] != epin[j]:  # pins are sorted within a hyperedge
                        ok = False
                        break
                if not ok:
                    break
        if ok:
            for x in range(size):
                rep[gates[gm + x]] = gates[gh + x]
        for x in range(gptr[m + 1] - gm):
            twin[gates[gm + x]] = -1


def twin_gates(n: int, ng: int, eptr: np.ndarray, epin: np.ndarray, eweight: np.ndarray,
               gate_qubits: np.ndarray) -> np.ndarray:
    """The gate each free gate merges into (itself when it has no twin), by the twin-layer
    rule of the module notes.

    Parameters
    ----------
    n, ng : int
        Qubits and free gates; gate ``g`` is vertex ``n + g``.
    eptr, epin, eweight : ndarray of int64
        The hyperedges, pins sorted within each.
    gate_qubits : ndarray of int64, shape (ng, 2)
        The qubits of every gate.
    """
    rep = np.arange(ng, dtype=np.int64)
    if ng < 2:
        return rep
    lo = gate_qubits.min(axis=1).astype(np.int64)
    hi = gate_qubits.max(axis=1).astype(np.int64)
    label = lo * n + hi
    comp, ecomp, ehash, chash, gcount, ecount = _gate_components(n, ng, eptr, epin, eweight,
                                                                 label)
    # gates of every component by label; a component with a label twice has no clear pairing
    order = np.lexsort((label, comp))
    gptr = np.zeros(ng + 1, dtype=np.int64)
    np.cumsum(np.bincount(comp, minlength=ng), out=gptr[1:])
    same = (comp[order][1:] == comp[order][:-1]) & (label[order][1:] == label[order][:-1])
    valid = np.zeros(ng, dtype=bool)
    valid[comp] = True
    valid[comp[order][1:][same]] = False
    ids = np.flatnonzero(valid)
    if ids.shape[0] < 2:
        return rep
    # candidate groups: equal hash, gates and hyperedges; the first component of each leads
    cand = ids[np.lexsort((ids, ecount[ids], gcount[ids], chash[ids]))]
    key_same = ((chash[cand][1:] == chash[cand][:-1]) & (gcount[cand][1:] == gcount[cand][:-1])
                & (ecount[cand][1:] == ecount[cand][:-1]))
    if not key_same.any():
        return rep
    starts = np.concatenate([[True], ~key_same])
    lead = cand[np.flatnonzero(starts)[np.cumsum(starts) - 1]]
    follow = lead != cand
    with_edges = np.flatnonzero(ecomp >= 0)
    eorder = with_edges[np.lexsort((ehash[with_edges], ecomp[with_edges]))]
    cptr = np.zeros(ng + 1, dtype=np.int64)
    np.cumsum(np.bincount(ecomp[with_edges], minlength=ng), out=cptr[1:])
    heads, members = lead[follow], cand[follow]
    group = (np.cumsum(starts) - 1)[follow]
    weights = eweight.astype(np.int64)
    gates = order.astype(np.int64)
    edges = eorder.astype(np.int64)
    while members.shape[0]:
        _pair_twins(n, eptr, epin, weights, label, heads, members, gptr, gates, cptr, edges,
                    rep)
        # a member that is no twin of its head (hashes that collided) may still be one of
        # another member's: the first of those left in a group leads them in the next round
        gate = gates[gptr[members]]  # any gate of the member: all of them merged or none
        left = rep[gate] == gate
        members, group = members[left], group[left]
        new = np.ones(group.shape[0], dtype=bool)
        new[1:] = group[1:] != group[:-1]
        heads = members[np.flatnonzero(new)[np.cumsum(new) - 1]]
        heads, members, group = heads[~new], members[~new], group[~new]
    return rep


@njit(cache=True, nogil=True)
def _identical_edges(eptr, epin, order, same):
    """Hyperedge each hyperedge merges into: ``order`` lists them sorted by (size, pin hash),
    ``same[i]`` tells whether ``order[i]`` has the key of ``order[i-1]``; a hyperedge merges
    into the first of its run when their pins are equal (checked pin by pin)."""
    ne = eptr.shape[0] - 1
    rep = np.arange(ne)
    head = -1
    for i in range(order.shape[0]):
        e = order[i]
        if not same[i]:
            head = e
            continue
        equal = True
        for j in range(eptr[e + 1] - eptr[e]):
            if epin[eptr[e] + j] != epin[eptr[head] + j]:
                equal = False
                break
        if equal:
            rep[e] = head
    return rep


@njit(cache=True, nogil=True)
def _pin_hashes(pe, pv, ne):
    """Sum of the pins' hashes of every hyperedge (pins listed by ``pe``, ``pv``)."""
    out = np.zeros(ne, dtype=np.uint64)
    for i in range(pe.shape[0]):
        out[pe[i]] += _mix(np.uint64(pv[i]) + np.uint64(1))
    return out


@dataclass
class Reduction:
    """A reduced hypergraph and the way back to the original.

    Attributes
    ----------
    hg : Hypergraph
        The reduced hypergraph: the same qubits, the free gates that stay (renumbered in
        order), and the surviving hyperedges.
    gate_map : ndarray of int64
        For every original free gate: the index of the reduced gate that stands for it
        (itself, or its twin), or ``-1 - v`` when it was contracted into qubit ``v``.
    flip : ndarray of bool
        For every original free gate: its qubits are listed the other way round from those
        of the reduced gate that stands for it (its side is then the other one).
    origin : ndarray of int64
        For every reduced gate: the original gate it is.
    original : Hypergraph
        The hypergraph that was reduced.
    """

    hg: Hypergraph
    gate_map: np.ndarray
    flip: np.ndarray
    origin: np.ndarray
    original: Hypergraph

    @property
    def trivial(self) -> bool:
        """True when the reduction changed nothing worth a detour."""
        return self.hg.epin.shape[0] == self.original.epin.shape[0]

    @property
    def twins(self) -> int:
        """Gates merged into a twin (see the module notes)."""
        return int((self.gate_map >= 0).sum()) - self.hg.num_gates

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
        return np.concatenate([blocks[:n], blocks[n + self.origin]]).astype(np.int64)

    def lift_side(self, side: np.ndarray) -> np.ndarray:
        """Side of every original free gate: a kept gate takes its reduced gate's side (the
        other one when its qubits are listed the other way round), a contracted gate runs
        beside the qubit it was contracted into."""
        gm = self.gate_map
        into = -1 - gm
        beside_second = (self.original.gate_qubits[:, 1] == into) & \
            (self.original.gate_qubits[:, 0] != into)
        kept_side = side[np.maximum(gm, 0)] ^ self.flip if side.shape[0] else 0
        return np.where(gm >= 0, kept_side, beside_second.astype(np.int64)).astype(np.int64)

    def reduce_side(self, side: np.ndarray) -> np.ndarray:
        """Sides of the reduced gates, from sides of the original gates."""
        return side[self.origin].astype(np.int64)


def reduce_hypergraph(hg: Hypergraph) -> Reduction:
    """Apply the pendant-gate, twin-layer and identical-hyperedge reductions to ``hg`` (see
    the module notes).

    The km1 of any placement of the reduced hypergraph equals the km1 of its lift
    (:meth:`Reduction.lift_blocks`) on ``hg``, and the two optima are equal.
    """
    n, ng = hg.num_qubits, hg.num_gates
    gq = hg.gate_qubits.astype(np.int64) if ng else np.zeros((0, 2), dtype=np.int64)
    target = pendant_targets(n, ng, hg.eptr, hg.epin, hg.vptr, hg.vedge, hg.eweight, gq)
    kept = np.flatnonzero(target < 0)
    nk = kept.shape[0]
    local = np.full(ng, -1, dtype=np.int64)
    local[kept] = np.arange(nk, dtype=np.int64)
    vmap = np.concatenate([np.arange(n, dtype=np.int64),
                           np.where(target < 0, n + local, target)])
    ne = hg.num_edges
    nv = n + nk
    e_of_pin = np.repeat(np.arange(ne, dtype=np.int64), np.diff(hg.eptr))
    key = sorted_unique(e_of_pin * nv + vmap[hg.epin])  # sorted by edge, pins distinct
    pe, pv = key // nv, key % nv
    # twin layers: every kept gate merges into its twin, the reduced gates are the rest
    eptr1 = np.zeros(ne + 1, dtype=np.int64)
    np.cumsum(np.bincount(pe, minlength=ne), out=eptr1[1:])
    twin = twin_gates(n, nk, eptr1, pv, hg.eweight.astype(np.int64), gq[kept])
    stays = twin == np.arange(nk)
    nr = int(stays.sum())
    index = np.cumsum(stays) - 1  # reduced index of every kept gate that stays
    of_kept = index[twin]
    gate_map = np.where(target < 0, of_kept[np.maximum(local, 0)] if nk else 0,
                        -1 - target).astype(np.int64)
    origin = kept[stays]
    flip = np.zeros(ng, dtype=bool)
    if nk:
        flip[kept] = gq[kept][:, 0] != gq[origin[of_kept]][:, 0]
    if nr < nk:
        vmap2 = np.concatenate([np.arange(n, dtype=np.int64), n + of_kept])
        nv = n + nr
        key = sorted_unique(pe * nv + vmap2[pv])
        pe, pv = key // nv, key % nv
    size = np.bincount(pe, minlength=ne)
    # identical hyperedges: the first of every group stands for all, their weights summed
    starts = np.zeros(ne + 1, dtype=np.int64)
    np.cumsum(size, out=starts[1:])
    weight = hg.eweight.astype(np.int64).copy()
    rep = np.arange(ne, dtype=np.int64)
    multi = np.flatnonzero(size >= 2)
    if multi.shape[0] > 1:
        ehash = _pin_hashes(pe, pv, ne)
        order = multi[np.lexsort((multi, ehash[multi], size[multi]))]
        same = np.zeros(order.shape[0], dtype=np.bool_)
        same[1:] = (size[order][1:] == size[order][:-1]) & \
            (ehash[order][1:] == ehash[order][:-1])
        if same.any():
            rep = _identical_edges(starts, pv, order, same)
            weight = np.bincount(rep, weights=weight, minlength=ne).astype(np.int64)
    keep_e = (size >= 2) & (rep == np.arange(ne))
    emap = np.full(ne, -1, dtype=np.int64)
    emap[keep_e] = np.arange(int(keep_e.sum()), dtype=np.int64)
    emap_all = emap[rep]  # a merged hyperedge maps to its group's
    ok = keep_e[pe]
    pe2, pv2 = emap[pe[ok]], pv[ok]
    ne2 = int(keep_e.sum())
    eptr, vptr, vedge = incidence(pe2, pv2, ne2, nv)
    old_ge = hg.gate_edges[origin] if ng else np.zeros((0, 2), dtype=np.int64)
    gate_edges = np.where(old_ge >= 0, emap_all[np.maximum(old_ge, 0)], -1)
    espan = np.zeros(ne2, dtype=np.int64)
    live = emap_all >= 0
    np.maximum.at(espan, emap_all[live], hg.espan.astype(np.int64)[live])
    red = Hypergraph(num_qubits=n, num_gates=nr, eptr=eptr, epin=pv2.astype(np.int64),
                     vptr=vptr, vedge=vedge, eweight=weight[keep_e],
                     vweight=hg.vweight, gate_qubits=gq[origin], gate_edges=gate_edges,
                     op_anchor=np.zeros(0, dtype=np.int64), roots=hg.roots[keep_e],
                     espan=espan)
    return Reduction(hg=red, gate_map=gate_map, flip=flip, origin=origin, original=hg)
