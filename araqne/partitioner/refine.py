"""Numba kernels that refine a partition of the packet hypergraph.

State of a partition:

``part[q]``
    QPU of qubit ``q``.
``side[g]``
    0 or 1: free gate ``g`` runs on the QPU of ``gate_qubits[g, side[g]]``.  A gate thus moves
    with the qubit it sits beside, which makes a qubit move carry its gates along (moving a qubit
    alone, away from the gates it serves, is almost never good).
``cnt[e * k + p]``
    Pins of hyperedge ``e`` on QPU ``p``.

The objective is the weighted connectivity minus one (km1) of the hyperedges, which equals the
reference cost (:func:`araqne.objective.cost`) on an all-to-all network.  Moves:

* qubit moves (with their attached gates), chosen by a k-way Fiduccia-Mattheyses pass with a
  lazy max-heap, allowing a transient overload of one qubit so that a move into a full QPU can be
  followed by a move out of it (a swap): the pass keeps the best *feasible* prefix;
* gate side flips (greedy, to a fixed point).

All kernels take flat int64 arrays and are compiled with ``cache=True``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..jit import borrowing


@borrowing
def gate_block(g, part, side, gate_qubits):
    """QPU of free gate ``g``."""
    return part[gate_qubits[g, side[g]]]


@borrowing
def vertex_block(v, n, part, side, gate_qubits):
    """QPU of vertex ``v`` (qubit or free gate)."""
    if v < n:
        return part[v]
    return part[gate_qubits[v - n, side[v - n]]]


@njit(cache=True, nogil=True)
def pin_counts(n, k, eptr, epin, part, side, gate_qubits):
    """Pin count of every hyperedge on every QPU (flat ``E * k``, int32: ``E * k`` reaches
    10**8 on the largest circuits, and no hyperedge has 2**31 pins)."""
    ne = eptr.shape[0] - 1
    cnt = np.zeros(ne * k, dtype=np.int32)
    for e in range(ne):
        for t in range(eptr[e], eptr[e + 1]):
            cnt[e * k + vertex_block(epin[t], n, part, side, gate_qubits)] += 1
    return cnt


@borrowing
def _mask(cnt, e, k):
    """Bit set of the QPUs holding pins of hyperedge ``e``."""
    mask = 0
    for p in range(k):
        if cnt[e * k + p] > 0:
            mask |= 1 << p
    return mask


@borrowing
def cost_of_counts(cnt, k, eweight, part, roots, table, use_table):
    """The partition's cost from pin counts: km1, or the network table's with ``use_table``."""
    if not use_table:
        return km1_of_counts(cnt, k, eweight)
    total = 0
    for e in range(eweight.shape[0]):
        total += table[part[roots[e]], _mask(cnt, e, k)] * eweight[e]
    return total


@borrowing
def km1_of_counts(cnt, k, eweight):
    """Weighted connectivity minus one from pin counts."""
    ne = eweight.shape[0]
    total = 0
    for e in range(ne):
        lam = 0
        for p in range(k):
            if cnt[e * k + p] > 0:
                lam += 1
        if lam > 0:
            total += (lam - 1) * eweight[e]
    return total


@borrowing
def _collect_move(q, n, part, side, gate_qubits, vptr, vedge, qgptr, qglist, mcount, touched):
    """Count, per hyperedge, the pins that move with qubit ``q``; return #touched edges."""
    nt = 0
    for t in range(vptr[q], vptr[q + 1]):
        e = vedge[t]
        if mcount[e] == 0:
            touched[nt] = e
            nt += 1
        mcount[e] += 1
    for t in range(qgptr[q], qgptr[q + 1]):
        g = qglist[t]
        if gate_qubits[g, side[g]] != q:
            continue
        v = n + g
        for s in range(vptr[v], vptr[v + 1]):
            e = vedge[s]
            if mcount[e] == 0:
                touched[nt] = e
                nt += 1
            mcount[e] += 1
    return nt


@borrowing
def qubit_gains(q, n, k, part, side, gate_qubits, vptr, vedge, qgptr, qglist, cnt, eweight,
                mcount, touched, gains, roots, table, use_table):
    """Gain (cost decrease) of moving qubit ``q`` with its attached gates to every QPU.

    The cost is km1, or with ``use_table`` the network cost ``table[root QPU, QPU mask]`` of
    every hyperedge (Steiner trees over the links).  ``gains[p]`` is filled for every ``p``;
    ``gains[part[q]]`` is 0.
    """
    a = part[q]
    nt = _collect_move(q, n, part, side, gate_qubits, vptr, vedge, qgptr, qglist, mcount,
                       touched)
    if use_table:
        for p in range(k):
            gains[p] = 0
        for i in range(nt):
            e = touched[i]
            w = eweight[e]
            mask = _mask(cnt, e, k)
            rb = part[roots[e]]
            before = table[rb, mask]
            left = mask
            if cnt[e * k + a] == mcount[e]:
                left = mask & ~(1 << a)
            for p in range(k):
                if p == a:
                    continue
                rb2 = p if roots[e] == q else rb
                gains[p] += w * (before - table[rb2, left | (1 << p)])
            mcount[e] = 0
        gains[a] = 0
        return nt
    base = 0
    for p in range(k):
        gains[p] = 0
    for i in range(nt):
        e = touched[i]
        w = eweight[e]
        if cnt[e * k + a] == mcount[e]:
            base += w
        for p in range(k):
            if cnt[e * k + p] == 0:
                gains[p] -= w
        mcount[e] = 0
    for p in range(k):
        gains[p] += base
    gains[a] = 0
    return nt


@borrowing
def apply_qubit_move(q, b, n, k, part, side, gate_qubits, vptr, vedge, qgptr, qglist, cnt,
                     load, vweight):
    """Move qubit ``q`` and its attached gates to QPU ``b``, updating counts and loads."""
    a = part[q]
    if a == b:
        return
    for t in range(vptr[q], vptr[q + 1]):
        e = vedge[t]
        cnt[e * k + a] -= 1
        cnt[e * k + b] += 1
    for t in range(qgptr[q], qgptr[q + 1]):
        g = qglist[t]
        if gate_qubits[g, side[g]] != q:
            continue
        v = n + g
        for s in range(vptr[v], vptr[v + 1]):
            e = vedge[s]
            cnt[e * k + a] -= 1
            cnt[e * k + b] += 1
    part[q] = b
    load[a] -= vweight[q]
    load[b] += vweight[q]


@borrowing
def flip_gain(g, n, k, part, side, gate_qubits, vptr, vedge, cnt, eweight, roots, table, use_table):
    """Gain of moving free gate ``g`` to its other side (0 when both sides share a QPU)."""
    x = part[gate_qubits[g, side[g]]]
    y = part[gate_qubits[g, 1 - side[g]]]
    if x == y:
        return 0
    v = n + g
    gain = 0
    for s in range(vptr[v], vptr[v + 1]):
        e = vedge[s]
        if use_table:
            mask = _mask(cnt, e, k)
            rb = part[roots[e]]
            after = mask | (1 << y)
            if cnt[e * k + x] == 1:
                after &= ~(1 << x)
            gain += eweight[e] * (table[rb, mask] - table[rb, after])
            continue
        if cnt[e * k + x] == 1:
            gain += eweight[e]
        if cnt[e * k + y] == 0:
            gain -= eweight[e]
    return gain


@borrowing
def apply_flip(g, n, k, part, side, gate_qubits, vptr, vedge, cnt):
    """Move free gate ``g`` to its other side."""
    x = part[gate_qubits[g, side[g]]]
    y = part[gate_qubits[g, 1 - side[g]]]
    side[g] = 1 - side[g]
    if x == y:
        return
    v = n + g
    for s in range(vptr[v], vptr[v + 1]):
        e = vedge[s]
        cnt[e * k + x] -= 1
        cnt[e * k + y] += 1


@borrowing
def greedy_flips(n, k, part, side, gate_qubits, vptr, vedge, cnt, eweight, max_rounds, roots, table, use_table):
    """Flip gates with positive gain until none is left; return the total gain."""
    total = 0
    ng = gate_qubits.shape[0]
    for _ in range(max_rounds):
        improved = 0
        for g in range(ng):
            gain = flip_gain(g, n, k, part, side, gate_qubits, vptr, vedge, cnt, eweight, roots, table, use_table)
            if gain > 0:
                apply_flip(g, n, k, part, side, gate_qubits, vptr, vedge, cnt)
                improved += gain
        total += improved
        if improved == 0:
            break
    return total


@borrowing
def _flip_incident(q, n, k, part, side, gate_qubits, vptr, vedge, qgptr, qglist, cnt, eweight,
                   flipped, roots, table, use_table):
    """Flip every gate beside ``q`` (either side) whose flip gains; return (gain, #flips)."""
    total = 0
    nf = 0
    for t in range(qgptr[q], qgptr[q + 1]):
        g = qglist[t]
        gain = flip_gain(g, n, k, part, side, gate_qubits, vptr, vedge, cnt, eweight, roots, table, use_table)
        if gain > 0:
            apply_flip(g, n, k, part, side, gate_qubits, vptr, vedge, cnt)
            flipped[nf] = g
            nf += 1
            total += gain
    return total, nf


@borrowing
def resolved_gains(q, n, k, part, side, gate_qubits, vptr, vedge, qgptr, qglist, cnt, eweight,
                   load, vweight, mcount, touched, gains, flipped, roots, table, use_table):
    """Gain of moving ``q`` to every QPU, each followed by the best flips of its gates.

    Moving a qubit changes which side suits each of its gates; counting those flips makes the
    gain of a move far less pessimistic than the bare move.  State is restored on return.
    """
    a = part[q]
    nt = qubit_gains(q, n, k, part, side, gate_qubits, vptr, vedge, qgptr, qglist, cnt, eweight,
                     mcount, touched, gains, roots, table, use_table)
    if qgptr[q + 1] == qgptr[q]:
        return  # no gate beside q: nothing to flip after any move
    # only QPUs already holding pins of these hyperedges can gain from flips
    adjacent = 0
    for i in range(nt):
        e = touched[i]
        for p in range(k):
            if cnt[e * k + p] > 0:
                adjacent |= 1 << p
    # the trial moves go from target to target (the flips undone after each), and back home
    # once at the end
    for b in range(k):
        if b == a or (k <= 62 and not (adjacent >> b) & 1):
            continue
        apply_qubit_move(q, b, n, k, part, side, gate_qubits, vptr, vedge, qgptr, qglist, cnt,
                         load, vweight)
        extra, nf = _flip_incident(q, n, k, part, side, gate_qubits, vptr, vedge, qgptr, qglist,
                                   cnt, eweight, flipped, roots, table, use_table)
        for i in range(nf - 1, -1, -1):
            apply_flip(flipped[i], n, k, part, side, gate_qubits, vptr, vedge, cnt)
        gains[b] += extra
    apply_qubit_move(q, a, n, k, part, side, gate_qubits, vptr, vedge, qgptr, qglist, cnt, load,
                     vweight)


# ---------------------------------------------------------------- lazy max-heap on (key, item)

@borrowing
def _heap_push(hkey, hitem, size, key, item):
    # sift a hole up rather than swapping pairs: the same comparisons, so the same heap
    i = size
    while i > 0:
        parent = (i - 1) // 2
        if hkey[parent] >= key:
            break
        hkey[i] = hkey[parent]
        hitem[i] = hitem[parent]
        i = parent
    hkey[i] = key
    hitem[i] = item
    return size + 1


@borrowing
def _sift_down(hkey, hitem, size, i, key, item):
    """Place ``(key, item)`` at the hole ``i`` of the heap's first ``size`` entries, moving
    larger children up until it fits."""
    while True:
        c = 2 * i + 1
        if c >= size:
            break
        if c + 1 < size and hkey[c + 1] > hkey[c]:
            c += 1
        if key >= hkey[c]:
            break
        hkey[i] = hkey[c]
        hitem[i] = hitem[c]
        i = c
    hkey[i] = key
    hitem[i] = item


@borrowing
def _heap_pop(hkey, hitem, size):
    size -= 1
    _sift_down(hkey, hitem, size, 0, hkey[size], hitem[size])
    return size


@borrowing
def _heapify(hkey, hitem, size):
    """Make the first ``size`` entries a heap in linear time (Floyd), instead of ``size``
    pushes; the layout differs, so only for keys that never tie."""
    for top in range(size // 2 - 1, -1, -1):
        _sift_down(hkey, hitem, size, top, hkey[top], hitem[top])


@borrowing
def _excess(load, cap):
    s = 0
    for p in range(load.shape[0]):
        if load[p] > cap[p]:
            s += load[p] - cap[p]
    return s


@borrowing
def _best_target(q, k, part, load, cap, vweight, gains, excess, slack):
    """Best QPU for ``q`` among those the move keeps within ``slack`` total overload."""
    a = part[q]
    w = vweight[q]
    best = -1
    best_gain = -(1 << 60)
    for p in range(k):
        if p == a:
            continue
        ex = excess
        if load[a] > cap[a]:
            ex -= min(w, load[a] - cap[a])
        new_b = load[p] + w
        if new_b > cap[p]:
            ex += min(w, new_b - cap[p])
        if ex > slack:
            continue
        if gains[p] > best_gain:
            best_gain = gains[p]
            best = p
    return best, best_gain


@borrowing
def _incident_edges(q, n, gate_qubits, vptr, vedge, qgptr, qglist, mark, out):
    """Hyperedges of ``q`` and of every gate beside it (distinct); return their number."""
    nt = 0
    for t in range(vptr[q], vptr[q + 1]):
        e = vedge[t]
        if not mark[e]:
            mark[e] = True
            out[nt] = e
            nt += 1
    for t in range(qgptr[q], qgptr[q + 1]):
        v = n + qglist[t]
        for s in range(vptr[v], vptr[v + 1]):
            e = vedge[s]
            if not mark[e]:
                mark[e] = True
                out[nt] = e
                nt += 1
    for i in range(nt):
        mark[out[i]] = False
    return nt


@borrowing
def _commit_move(q, b, n, k, part, side, gate_qubits, vptr, vedge, qgptr, qglist, cnt, load,
                 vweight, eweight, flipped, roots, table, use_table, hist_kind, hist_id,
                 hist_from, nsteps):
    """Move qubit ``q`` to ``b``, re-place the gates it touches, and log both in the history
    (kind 0: qubit move from ``hist_from``; kind 1: gate side flip); return the step count."""
    a = part[q]
    apply_qubit_move(q, b, n, k, part, side, gate_qubits, vptr, vedge, qgptr, qglist, cnt,
                     load, vweight)
    hist_kind[nsteps] = 0
    hist_id[nsteps] = q
    hist_from[nsteps] = a
    nsteps += 1
    _, nf = _flip_incident(q, n, k, part, side, gate_qubits, vptr, vedge, qgptr, qglist,
                           cnt, eweight, flipped, roots, table, use_table)
    for i in range(nf):
        hist_kind[nsteps] = 1
        hist_id[nsteps] = flipped[i]
        hist_from[nsteps] = 0
        nsteps += 1
    return nsteps


@borrowing
def _rollback(n, k, part, side, gate_qubits, vptr, vedge, qgptr, qglist, cnt, load, vweight,
              hist_kind, hist_id, hist_from, nsteps, keep):
    """Undo the logged steps after the first ``keep``, last first."""
    for i in range(nsteps - 1, keep - 1, -1):
        if hist_kind[i] == 0:
            apply_qubit_move(hist_id[i], hist_from[i], n, k, part, side, gate_qubits, vptr,
                             vedge, qgptr, qglist, cnt, load, vweight)
        else:
            apply_flip(hist_id[i], n, k, part, side, gate_qubits, vptr, vedge, cnt)


@borrowing
def _stale_neighbours(q, n, k, eptr, epin, gate_qubits, qgptr, qglist, cnt, before,
                      moved_edges, nt, roots, use_table, pins_of, stale, stamp):
    """Mark (``stale[u] = stamp``) the qubits whose resolved gains the move of ``q`` may
    have changed; the others keep their cached gains exactly.

    Call the pins of ``e`` that are ``u`` or a gate of ``u`` its own (``m`` of them): only
    they move in its trial moves and flips.  Every test :func:`resolved_gains` makes on
    ``cnt[e, p]`` (equal to 0, to 1, or to the pins that move) holds only if no other pin of
    ``e`` is on ``p``, and then depends on its own pins alone.  A count that stayed above
    ``m``, before and after, had other pins on ``p`` both times: no test changed.  The rest
    of its inputs change only for the other qubits of the gates beside ``q`` (a gate's QPUs
    and sides) and, with a network table, on hyperedges rooted at ``q``: those are always
    stale.
    ``before[i * k + p]`` holds the count of ``moved_edges[i]`` on ``p`` before the move.
    """
    for t in range(qgptr[q], qgptr[q + 1]):
        g = qglist[t]
        for j in range(2):
            stale[gate_qubits[g, j]] = stamp
    for i in range(nt):
        e = moved_edges[i]
        low = 1 << 60
        for p in range(k):
            b0 = before[i * k + p]
            b1 = cnt[e * k + p]
            if b0 != b1:
                low = min(low, b0, b1)
        if use_table and roots[e] == q:
            low = -1
        if low == 1 << 60:
            continue
        for t in range(eptr[e], eptr[e + 1]):
            v = epin[t]
            if v < n:
                pins_of[v] += 1
            else:
                u0 = gate_qubits[v - n, 0]
                u1 = gate_qubits[v - n, 1]
                pins_of[u0] += 1
                if u1 != u0:
                    pins_of[u1] += 1
        for t in range(eptr[e], eptr[e + 1]):
            v = epin[t]
            for j in range(2):
                if v < n:
                    if j == 1:
                        break
                    u = v
                else:
                    u = gate_qubits[v - n, j]
                # the first visit sees the full count and resets it; later visits see 0,
                # and low < 1 then implies low < count + 1 as well
                if low <= pins_of[u]:
                    stale[u] = stamp
                pins_of[u] = 0


@borrowing
def _requeue(u, cur_stamp, stamp, stale, cached, n, k, part, side, gate_qubits, vptr, vedge,
             qgptr, qglist, cnt, eweight, load, cap, vweight, mcount, touched, flipped, roots,
             table, use_table, excess, slack, tiebreak, scale, hkey, hitem, hsize):
    """Push ``u`` on the heap of :func:`fm_pass` with its best target's gain, its cached
    gains recomputed first when marked stale in this step; return the heap size."""
    stamp[u] = cur_stamp
    if stale[u] == cur_stamp:
        resolved_gains(u, n, k, part, side, gate_qubits, vptr, vedge, qgptr, qglist, cnt,
                       eweight, load, vweight, mcount, touched, cached[u], flipped, roots,
                       table, use_table)
    bu, gu = _best_target(u, k, part, load, cap, vweight, cached[u], excess, slack)
    if bu >= 0 and hsize < hkey.shape[0]:
        hsize = _heap_push(hkey, hitem, hsize, gu * scale + tiebreak[u], u)
    return hsize


@njit(cache=True, nogil=True)
def fm_pass(n, k, part, side, gate_qubits, eptr, epin, vptr, vedge, qgptr, qglist, cnt, load,
            cap, vweight, eweight, tiebreak, max_stall, eager, roots, table, use_table):
    """One k-way Fiduccia-Mattheyses pass over qubit moves; return the km1 gain kept.

    A move takes a qubit, with the gates beside it, to another QPU and then flips those of its
    gates whose other side became better (:func:`resolved_gains`).  Every qubit moves at most
    once.  Moves may overload one QPU by one qubit weight so that moves into full QPUs are
    possible (the next move out of it completes a swap); only feasible prefixes are kept.  The
    pass stops after ``max_stall`` moves without a new best and rolls back to the best
    feasible prefix.  With ``eager`` the gains of the moved qubit's neighbours are updated
    after each move (exact FM order): each qubit's resolved gains are cached and recomputed
    only where :func:`_stale_neighbours` finds that the move may have changed them.  Without,
    a stale gain is only noticed when its entry reaches the top of the heap (much cheaper on
    large hypergraphs).
    """
    ne = eptr.shape[0] - 1
    ng = gate_qubits.shape[0]
    mcount = np.zeros(ne, dtype=np.int64)
    touched = np.empty(ne, dtype=np.int64)
    moved_edges = np.empty(ne, dtype=np.int64)
    mark = np.zeros(ne, dtype=np.bool_)
    flipped = np.empty(ng + 1, dtype=np.int64)
    gains = np.zeros(k, dtype=np.int64)
    locked = np.zeros(n, dtype=np.bool_)
    stamp = np.zeros(n, dtype=np.int64)
    cur_stamp = 0
    slack = 0
    for q in range(n):
        if vweight[q] > slack:
            slack = vweight[q]
    # eager: exact resolved gains of every unlocked qubit, row q of the cache
    cached = np.zeros((n if eager else 0, k), dtype=np.int64)
    stale = np.zeros(n if eager else 0, dtype=np.int64)
    pins_of = np.zeros(n if eager else 0, dtype=np.int64)
    before = np.empty(ne * k if eager else 0, dtype=np.int64)
    heap_cap = 8 * n + 64
    hkey = np.empty(heap_cap, dtype=np.int64)
    hitem = np.empty(heap_cap, dtype=np.int64)
    hsize = 0
    scale = n + 1
    excess = _excess(load, cap)
    for q in range(n):
        resolved_gains(q, n, k, part, side, gate_qubits, vptr, vedge, qgptr, qglist, cnt,
                       eweight, load, vweight, mcount, touched, gains, flipped, roots, table, use_table)
        if eager:
            cached[q, :] = gains
        b, g = _best_target(q, k, part, load, cap, vweight, gains, excess, slack)
        if b >= 0:
            hsize = _heap_push(hkey, hitem, hsize, g * scale + tiebreak[q], q)
    # history of elementary steps: kind 0 = qubit move (id, from), kind 1 = gate flip (id)
    hcap = n + 2 * ng + 1
    hist_kind = np.empty(hcap, dtype=np.int64)
    hist_id = np.empty(hcap, dtype=np.int64)
    hist_from = np.empty(hcap, dtype=np.int64)
    nsteps = 0
    cum = 0
    best_cum = 0
    best_steps = 0
    since_best = 0
    while hsize > 0:
        key = hkey[0]
        q = hitem[0]
        hsize = _heap_pop(hkey, hitem, hsize)
        if locked[q]:
            continue
        if eager:
            row = cached[q]
        else:
            resolved_gains(q, n, k, part, side, gate_qubits, vptr, vedge, qgptr, qglist, cnt,
                           eweight, load, vweight, mcount, touched, gains, flipped, roots, table,
                           use_table)
            row = gains
        b, g = _best_target(q, k, part, load, cap, vweight, row, excess, slack)
        if b < 0:
            continue
        cur_key = g * scale + tiebreak[q]
        if cur_key < key:
            if hsize < heap_cap:
                hsize = _heap_push(hkey, hitem, hsize, cur_key, q)
            continue
        nt = 0
        if eager:
            nt = _incident_edges(q, n, gate_qubits, vptr, vedge, qgptr, qglist, mark,
                                 moved_edges)
            for i in range(nt):
                e = moved_edges[i]
                for p in range(k):
                    before[i * k + p] = cnt[e * k + p]
        nsteps = _commit_move(q, b, n, k, part, side, gate_qubits, vptr, vedge, qgptr, qglist,
                              cnt, load, vweight, eweight, flipped, roots, table, use_table,
                              hist_kind, hist_id, hist_from, nsteps)
        excess = _excess(load, cap)
        locked[q] = True
        cum += g
        if excess == 0 and cum > best_cum:
            best_cum = cum
            best_steps = nsteps
            since_best = 0
        else:
            since_best += 1
            if since_best > max_stall:
                break
        if not eager:
            continue
        # update the gains of qubits whose moves touch the changed hyperedges
        cur_stamp += 1
        _stale_neighbours(q, n, k, eptr, epin, gate_qubits, qgptr, qglist, cnt, before,
                          moved_edges, nt, roots, use_table, pins_of, stale, cur_stamp)
        if hsize + 2 * n >= heap_cap:
            hsize = 0  # rebuild from every unlocked qubit
            for u in range(n):
                if not locked[u]:
                    hsize = _requeue(u, cur_stamp, stamp, stale, cached, n, k, part, side,
                                     gate_qubits, vptr, vedge, qgptr, qglist, cnt, eweight,
                                     load, cap, vweight, mcount, touched, flipped, roots, table,
                                     use_table, excess, slack, tiebreak, scale, hkey, hitem,
                                     hsize)
        for i in range(nt):
            e = moved_edges[i]
            for t in range(eptr[e], eptr[e + 1]):
                v = epin[t]
                for j in range(2):
                    if v < n:
                        u = v
                        if j == 1:
                            break
                    else:
                        u = gate_qubits[v - n, j]
                    if locked[u] or stamp[u] == cur_stamp:
                        continue
                    hsize = _requeue(u, cur_stamp, stamp, stale, cached, n, k, part, side,
                                     gate_qubits, vptr, vedge, qgptr, qglist, cnt, eweight,
                                     load, cap, vweight, mcount, touched, flipped, roots, table,
                                     use_table, excess, slack, tiebreak, scale, hkey, hitem,
                                     hsize)
    # roll back to the best feasible prefix, newest step first
    _rollback(n, k, part, side, gate_qubits, vptr, vedge, qgptr, qglist, cnt, load, vweight,
              hist_kind, hist_id, hist_from, nsteps, best_steps)
    return best_cum


@borrowing
def steiner_of_counts(cnt, k, root_block, eweight, table):
    """Network cost from pin counts: per hyperedge, the Steiner tree joining its QPUs.

    ``table[r, mask]`` is the e-bit cost of the cheapest tree joining QPU ``r`` to the QPUs of
    ``mask`` (see :meth:`araqne.network.Network.steiner_table`).
    """
    ne = eweight.shape[0]
    total = 0
    for e in range(ne):
        mask = 0
        for p in range(k):
            if cnt[e * k + p] > 0:
                mask |= 1 << p
        total += table[root_block[e], mask] * eweight[e]
    return total


# ----------------------------------------------------------- FM for large hypergraphs

@borrowing
def top_resolved_gains(q, n, k, part, side, gate_qubits, vptr, vedge, qgptr, qglist, cnt,
                       eweight, load, vweight, mcount, touched, gains, flipped, roots, table,
                       use_table, excess, cap, slack, top, order):
    """Like :func:`resolved_gains`, but the flips are counted for the ``top`` feasible targets
    of best bare gain only; other targets get ``-2**60`` (never chosen).

    On a large hypergraph a qubit has many gates and every QPU is a target: resolving every
    target costs ``k`` trial moves per evaluation.  The bare gain already ranks targets well
    (flips only add to it), so only the best few are resolved.
    """
    a = part[q]
    qubit_gains(q, n, k, part, side, gate_qubits, vptr, vedge, qgptr, qglist, cnt, eweight,
                mcount, touched, gains, roots, table, use_table)
    w = vweight[q]
    nsel = 0
    for p in range(k):
        if p == a:
            continue
        ex = excess
        if load[a] > cap[a]:
            ex -= min(w, load[a] - cap[a])
        if load[p] + w > cap[p]:
            ex += min(w, load[p] + w - cap[p])
        if ex > slack:
            continue
        # insertion into the best-first list of at most `top` targets
        if nsel < top:
            i = nsel
            nsel += 1
        elif gains[p] > gains[order[top - 1]]:
            i = top - 1
        else:
            continue
        while i > 0 and gains[order[i - 1]] < gains[p]:
            order[i] = order[i - 1]
            i -= 1
        order[i] = p
    for p in range(k):
        keep = False
        for i in range(nsel):
            if order[i] == p:
                keep = True
        if not keep:
            gains[p] = -(1 << 60)
    for i in range(nsel):
        b = order[i]
        apply_qubit_move(q, b, n, k, part, side, gate_qubits, vptr, vedge, qgptr, qglist, cnt,
                         load, vweight)
        extra, nf = _flip_incident(q, n, k, part, side, gate_qubits, vptr, vedge, qgptr, qglist,
                                   cnt, eweight, flipped, roots, table, use_table)
        for j in range(nf - 1, -1, -1):
            apply_flip(flipped[j], n, k, part, side, gate_qubits, vptr, vedge, cnt)
        apply_qubit_move(q, a, n, k, part, side, gate_qubits, vptr, vedge, qgptr, qglist, cnt,
                         load, vweight)
        gains[b] += extra
    return nsel


@njit(cache=True, nogil=True)
def fm_pass_large(n, k, part, side, gate_qubits, vptr, vedge, qgptr, qglist, cnt, load, cap,
                  vweight, eweight, tiebreak, max_stall, top, roots, table, use_table):
    """One k-way FM pass for large hypergraphs, with one lazy max-heap per QPU.

    The moves and the bookkeeping are those of :func:`fm_pass` (a qubit moves with its gates,
    then the gates that gain flip; one qubit weight of transient overload; roll back to the
    best feasible prefix), with two differences that make it affordable at millions of pins:

    * gains are resolved for the ``top`` best targets only (:func:`top_resolved_gains`), and
      stale heap entries are noticed lazily when popped (no neighbour updates);
    * each QPU has its own heap.  While a QPU is over capacity only its qubits can move (any
      other move would add overload), so the next move is popped from that QPU's heap.  With
      one global heap the pass would pop, re-evaluate and drop every other qubit first: on full
      QPUs (capacities summing to the qubit count) it ended after a single swap.

    Returns the gain kept.
    """
    ne = eweight.shape[0]
    mcount = np.zeros(ne, dtype=np.int32)
    touched = np.empty(ne, dtype=np.int64)
    maxdeg = 0
    for q in range(n):
        maxdeg = max(maxdeg, qgptr[q + 1] - qgptr[q])
    flipped = np.empty(maxdeg + 1, dtype=np.int64)
    gains = np.zeros(k, dtype=np.int64)
    order = np.zeros(max(top, 1), dtype=np.int64)
    locked = np.zeros(n, dtype=np.bool_)
    slack = 0
    for q in range(n):
        if vweight[q] > slack:
            slack = vweight[q]
    members = np.zeros(k, dtype=np.int64)
    for q in range(n):
        members[part[q]] += 1
    hcap = 1
    for p in range(k):
        if members[p] + 1 > hcap:
            hcap = members[p] + 1
    hkey = np.empty((k, hcap), dtype=np.int64)
    hitem = np.empty((k, hcap), dtype=np.int64)
    hsize = np.zeros(k, dtype=np.int64)
    scale = n + 1
    excess = _excess(load, cap)
    for q in range(n):
        top_resolved_gains(q, n, k, part, side, gate_qubits, vptr, vedge, qgptr, qglist, cnt,
                           eweight, load, vweight, mcount, touched, gains, flipped, roots,
                           table, use_table, excess, cap, slack, top, order)
        b, g = _best_target(q, k, part, load, cap, vweight, gains, excess, slack)
        if b >= 0:
            p = part[q]
            hsize[p] = _heap_push(hkey[p], hitem[p], hsize[p], g * scale + tiebreak[q], q)
    # history of steps (kind 0: qubit move (id, from); 1: gate flip (id)), grown on demand:
    # a pass makes few moves compared with the worst case of n moves and 2 * ng flips
    hist_kind = np.empty(1024, dtype=np.int8)
    hist_id = np.empty(1024, dtype=np.int64)
    hist_from = np.empty(1024, dtype=np.int64)
    nsteps = 0
    cum = 0
    best_cum = 0
    best_steps = 0
    since_best = 0
    while True:
        # the heap to pop: an over-full QPU's, else the one whose top is best
        src = -1
        for p in range(k):
            if excess > 0 and load[p] <= cap[p]:
                continue
            if hsize[p] > 0 and (src < 0 or hkey[p, 0] > hkey[src, 0]):
                src = p
        if src < 0:
            break
        key = hkey[src, 0]
        q = hitem[src, 0]
        hsize[src] = _heap_pop(hkey[src], hitem[src], hsize[src])
        if locked[q]:
            continue
        # while over capacity, only moves that reduce the overload (a swap's second half)
        sl = slack if excess == 0 else excess - 1
        top_resolved_gains(q, n, k, part, side, gate_qubits, vptr, vedge, qgptr, qglist, cnt,
                           eweight, load, vweight, mcount, touched, gains, flipped, roots,
                           table, use_table, excess, cap, sl, top, order)
        b, g = _best_target(q, k, part, load, cap, vweight, gains, excess, sl)
        if b < 0:
            continue
        cur_key = g * scale + tiebreak[q]
        if cur_key < key:
            hsize[src] = _heap_push(hkey[src], hitem[src], hsize[src], cur_key, q)
            continue
        need = nsteps + 1 + (qgptr[q + 1] - qgptr[q])
        if need > hist_id.shape[0]:
            size = max(need, 2 * hist_id.shape[0])
            hk = np.empty(size, dtype=np.int8)
            hi = np.empty(size, dtype=np.int64)
            hf = np.empty(size, dtype=np.int64)
            hk[:nsteps] = hist_kind[:nsteps]
            hi[:nsteps] = hist_id[:nsteps]
            hf[:nsteps] = hist_from[:nsteps]
            hist_kind, hist_id, hist_from = hk, hi, hf
        nsteps = _commit_move(q, b, n, k, part, side, gate_qubits, vptr, vedge, qgptr, qglist,
                              cnt, load, vweight, eweight, flipped, roots, table, use_table,
                              hist_kind, hist_id, hist_from, nsteps)
        excess = _excess(load, cap)
        locked[q] = True
        cum += g
        if excess == 0 and cum > best_cum:
            best_cum = cum
            best_steps = nsteps
            since_best = 0
        else:
            since_best += 1
            if since_best > max_stall:
                break
    _rollback(n, k, part, side, gate_qubits, vptr, vedge, qgptr, qglist, cnt, load, vweight,
              hist_kind, hist_id, hist_from, nsteps, best_steps)
    return best_cum
