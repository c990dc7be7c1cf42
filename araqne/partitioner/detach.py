"""Detached gates: let a free gate run on a QPU that holds neither of its qubits.

The main refinement (:mod:`araqne.partitioner.refine`) keeps every free gate beside one of its two
qubits (``side``).  A free gate's two operands both sit in windows, so it may equally run on any
QPU that holds linked copies of both windows (pytket-dqc's "detached" gates, a gate on a third
QPU): when both windows already reach that QPU for other gates, the gate costs nothing there,
whereas beside either qubit it may widen the other window by one QPU.  On the packet hypergraph
this is plain km1 with the free-gate vertices (weight 0) free to sit in any block.

:func:`detach_refine` starts from a partition of the main refinement and runs k-way
Fiduccia-Mattheyses passes over *all* vertices (qubits and free gates, a free gate moving to any
QPU), with a lazy max-heap of (gain, vertex, target) entries, a transient overload of one
vertex's weight so that full QPUs can still exchange qubits, and a rollback to the best balanced
prefix of each pass.  Only the hyperedges whose pin count on a QPU crosses 0/1/2 change the gains
of their pins, so only those pins are re-queued.  The objective is all-to-all km1, equal to
:func:`araqne.objective.cost` of the resulting placement; emission handles a gate on a third QPU
by using the linked copies of both operands there (:mod:`araqne.backend.emission`).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .refine import _heap_pop as _pop
from .refine import _heap_push as _push
from .refine import km1_of_counts


@njit(cache=True)
def block_counts(k, eptr, epin, blocks):
    """Pins of every hyperedge on every QPU (flat ``E * k``)."""
    ne = eptr.shape[0] - 1
    cnt = np.zeros(ne * k, dtype=np.int64)
    for e in range(ne):
        for t in range(eptr[e], eptr[e + 1]):
            cnt[e * k + blocks[epin[t]]] += 1
    return cnt


@njit(cache=True)
def km1_of_blocks(k, eptr, epin, eweight, blocks):
    """Weighted connectivity minus one of a placement of every vertex."""
    return km1_of_counts(block_counts(k, eptr, epin, blocks), k, eweight)


@njit(cache=True)
def _gains(v, k, blocks, vptr, vedge, cnt, eweight, out):
    """Gain of moving vertex ``v`` to every QPU (``out[blocks[v]]`` is left at 0)."""
    s = blocks[v]
    base = 0
    for p in range(k):
        out[p] = 0
    for i in range(vptr[v], vptr[v + 1]):
        e = vedge[i]
        w = eweight[e]
        if cnt[e * k + s] == 1:
            base += w
        for p in range(k):
            if cnt[e * k + p] == 0:
                out[p] -= w
    for p in range(k):
        if p == s:
            out[p] = 0
        else:
            out[p] += base


@njit(cache=True)
def _best_move(v, k, blocks, vptr, vedge, cnt, eweight, load, cap, vweight, slack, gains,
               vgroup):
    """Best target of ``v`` within the transient slack, and its gain (target -1 if none)."""
    _gains(v, k, blocks, vptr, vedge, cnt, eweight, gains)
    s = blocks[v]
    best_t = -1
    best_g = 0
    w = vweight[v]
    for p in range(k):
        if p == s:
            continue
        if w > 0 and load[vgroup[v] * k + p] + w > cap[p] + slack:
            continue
        if best_t < 0 or gains[p] > best_g:
            best_t = p
            best_g = gains[p]
    return best_t, best_g


@njit(cache=True)
def _balanced(load, cap, k):
    for i in range(load.shape[0]):
        if load[i] > cap[i % k]:
            return False
    return True


@njit(cache=True)
def detach_refine(k, eptr, epin, vptr, vedge, eweight, vweight, cap, blocks, max_passes,
                  max_stall, vgroup, ngroups):
    """Refine a placement of every vertex (qubits and free gates) in place; return its km1.

    Parameters
    ----------
    k : int
        Number of QPUs.
    eptr, epin, vptr, vedge, eweight : ndarray of int64
        The packet hypergraph (:class:`araqne.hypergraph.Hypergraph`).
    vweight : ndarray of int64
        Weight of every vertex (free gates 0).
    cap : ndarray of int64
        Capacity of every QPU.
    blocks : ndarray of int64
        QPU of every vertex, balanced on entry; improved in place and balanced on return.
    max_passes : int
        Fiduccia-Mattheyses passes at most (stops earlier at a pass without gain).
    max_stall : int
        Moves a pass may make past its best prefix before it gives up.
    vgroup : ndarray of int64
        Capacity group of every vertex (0 for all when there is one capacity per QPU; the time
        slice of a (qubit, slice) vertex in a time-sliced hypergraph, whose QPUs then have
        their capacity in every slice).
    ngroups : int
        Number of groups.

    A move that overfills a QPU is at once followed by the best move of a weighted vertex out of
    that QPU into one with room (a swap), so every recorded state is balanced.
    """
    nv = blocks.shape[0]
    ne = eptr.shape[0] - 1
    cnt = block_counts(k, eptr, epin, blocks)
    load = np.zeros(ngroups * k, dtype=np.int64)
    slack = 0
    for v in range(nv):
        load[vgroup[v] * k + blocks[v]] += vweight[v]
        if vweight[v] > slack:
            slack = vweight[v]
    nheavy = 0
    for v in range(nv):
        if vweight[v] > 0:
            nheavy += 1
    heavy = np.empty(nheavy, dtype=np.int64)
    nheavy = 0
    for v in range(nv):
        if vweight[v] > 0:
            heavy[nheavy] = v
            nheavy += 1
    cur = km1_of_counts(cnt, k, eweight)
    gains = np.zeros(k, dtype=np.int64)
    locked = np.zeros(nv, dtype=np.bool_)
    stamp = np.zeros(nv, dtype=np.int64)
    mv_v = np.empty(2 * nv + 2, dtype=np.int64)
    mv_from = np.empty(2 * nv + 2, dtype=np.int64)
    heap_cap = 16 * nv + 64
    hkey = np.empty(heap_cap, dtype=np.int64)
    hitem = np.empty(heap_cap, dtype=np.int64)
    scale = 2 * nv + 2
    for _ in range(max_passes):
        start = cur
        locked[:] = False
        hsize = 0
        for v in range(nv):
            t, g = _best_move(v, k, blocks, vptr, vedge, cnt, eweight, load, cap, vweight,
                              slack, gains, vgroup)
            if t >= 0:
                stamp[v] += 1
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
                              slack, gains, vgroup)
            if t < 0:
                continue
            if g * scale + (nv - v) != key:  # stale entry: queue the current one
                if hsize < heap_cap:
                    hsize = _push(hkey, hitem, hsize, g * scale + (nv - v), v)
                continue
            for rebalance in range(2):
                if rebalance == 1:
                    # the move overfilled QPU t: move the best other weighted vertex (locked or
                    # not: the rollback replays moves in reverse) out of it into a QPU with room
                    grp = vgroup[v] * k
                    if load[grp + t] <= cap[t]:
                        break
                    src = t
                    moved = v
                    v = -1
                    g = 0
                    for i in range(heavy.shape[0]):
                        u = heavy[i]
                        if u == moved or blocks[u] != src or vgroup[u] * k != grp:
                            continue
                        _gains(u, k, blocks, vptr, vedge, cnt, eweight, gains)
                        for p in range(k):
                            if p != src and load[grp + p] + vweight[u] <= cap[p]:
                                if v < 0 or gains[p] > g:
                                    v = u
                                    t = p
                                    g = gains[p]
                    if v < 0:
                        break
                s = blocks[v]
                blocks[v] = t
                load[vgroup[v] * k + s] -= vweight[v]
                load[vgroup[v] * k + t] += vweight[v]
                cur -= g
                locked[v] = True
                mv_v[nmoves] = v
                mv_from[nmoves] = s
                nmoves += 1
                for i in range(vptr[v], vptr[v + 1]):
                    e = vedge[i]
                    cnt[e * k + s] -= 1
                    cnt[e * k + t] += 1
                    a = cnt[e * k + s]
                    b = cnt[e * k + t]
                    if a <= 1 or b <= 2:  # a gain of some pin of e changed
                        for j in range(eptr[e], eptr[e + 1]):
                            u = epin[j]
                            if not locked[u] and hsize < heap_cap:
                                tu, gu = _best_move(u, k, blocks, vptr, vedge, cnt, eweight,
                                                    load, cap, vweight, slack, gains,
                                                    vgroup)
                                if tu >= 0:
                                    hsize = _push(hkey, hitem, hsize, gu * scale + (nv - u), u)
            if not _balanced(load, cap, k):
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
                                            vweight, slack, gains, vgroup)
                        if tu >= 0:
                            hsize = _push(hkey, hitem, hsize, gu * scale + (nv - u), u)
        for i in range(nmoves - 1, best_len - 1, -1):
            v = mv_v[i]
            t = blocks[v]
            s = mv_from[i]
            blocks[v] = s
            load[vgroup[v] * k + t] -= vweight[v]
            load[vgroup[v] * k + s] += vweight[v]
            for j in range(vptr[v], vptr[v + 1]):
                e = vedge[j]
                cnt[e * k + t] -= 1
                cnt[e * k + s] += 1
        cur = best
        if cur >= start:
            break
    return cur


def detach(hg, part: np.ndarray, side: np.ndarray, capacities: np.ndarray,
           max_passes: int = 8) -> tuple[np.ndarray, int]:
    """Improve a partition by letting free gates run on any QPU.

    Parameters
    ----------
    hg : Hypergraph
        Packet hypergraph.
    part, side : ndarray of int64
        A balanced partition from :func:`araqne.partitioner.partition_hypergraph`.
    capacities : ndarray of int64
        Capacity of every QPU.
    max_passes : int
        Fiduccia-Mattheyses passes at most.

    Returns
    -------
    blocks : ndarray of int64
        QPU of every vertex (qubits ``0..n-1``, then free gates), never worse than the input.
    km1 : int
        Its all-to-all e-bits.
    """
    n = hg.num_qubits
    k = int(capacities.shape[0])
    gq = hg.gate_qubits[np.arange(hg.num_gates), side] if hg.num_gates else \
        np.zeros(0, dtype=np.int64)
    blocks = np.concatenate([part, part[gq]]).astype(np.int64)
    vweight = np.concatenate([hg.vweight, np.zeros(hg.num_gates, dtype=np.int64)])
    before = int(km1_of_blocks(k, hg.eptr, hg.epin, hg.eweight, blocks))
    trial = blocks.copy()
    after = int(detach_refine(k, hg.eptr, hg.epin, hg.vptr, hg.vedge, hg.eweight, vweight,
                              capacities.astype(np.int64), trial, max_passes,
                              max(200, (n + hg.num_gates) // 20),
                              np.zeros(blocks.shape[0], dtype=np.int64), 1))
    if after < before:
        return trial, after
    return blocks, before
