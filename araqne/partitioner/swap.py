"""Qubit moves and swaps with local re-cuts: composite moves that single-vertex refinement misses.

Under tight capacities (``floor(n/k) + 1`` qubits, or exactly ``n/k``) a qubit rarely moves
alone, and on a packet hypergraph its free gates want to follow it.  FM and the tabu walks
(:mod:`.detach`, :mod:`.tabu`) move one vertex at a time: a qubit moved ahead of its gates
widens their packets, each gate moved ahead of its qubit widens another, so the exchange of two
qubits with their gates is a valley of several costly steps, and a pass undoes it.  The
minimum cuts of :func:`.detach.flow_refine` re-place the gates but never move a qubit.

:func:`swap_refine` joins the two.  It scores a move of a qubit together with an exact re-cut
of the free gates beside it between the two QPUs (a minimum cut over just those gates,
:func:`.detach._pair_flow`), keeps the moves that gain and fit, and then tries swaps of two
qubits on two QPUs, best sum of their two scores first, each with a joint re-cut of both
qubits' gates.  A swap is tried when its two scores sum to 1 or more, so one of them at
least is 1 or more: it first scores the moves to the QPUs that a qubit's own hyperedges
reach (where nearly all such moves lie), then, for the pairs of QPUs where one does, the
moves back that could pair with it; a cheap upper bound of every score (a flow on disjoint
short paths, exact on most networks) spares the cut where the score could not be of use.

On QFT-128 at k = 4 (seed 0) the search's 126 e-bits were a swap of qubits 31 and 65 away
from 125: the swap alone costs 2 e-bits, FM after it returns to 126, and the sums of the
single-move scores rank it second of 6,138 swaps (after the as good one of 31 and 66).
:func:`.multilevel.detached_search` runs it last, on the hypergraph it searched (after the
exact reduction, where quantum volume keeps only its qubits and a swap is an exact
two-qubit exchange).  Over the 131 Mt-KaHyPar benchmark cases at seeds 0 and 1 it made 12
runs better and none worse (QFT-128 at k = 4: 126 to 124 at seed 0; QFT-96, QFT-256, QV-64,
QV-96, CP-256, multiplier_8), for 1.02 times the wall time (alternated runs).
"""

from __future__ import annotations

from functools import partial

import numpy as np
from numba import njit

from ..jit import borrowing
from .detach import _pair_flow, block_counts, shift
from .parallel import run_all, workers
from .refine import km1_of_counts

NO_MOVE = -(1 << 40)
"""Score of a move not scored, and need of a move not wanted (:func:`_score_share`)."""

SWAP_MIN_PINS = 2_000
""":func:`.multilevel.detached_search` runs :func:`swap_refine` on hypergraphs of this many
pins or more (before their reduction): below, the tabu walks leave nothing to gain (on the 80
Mt-KaHyPar benchmark cases under 2,000 pins, seeds 0 to 2, no swap gained)."""

SWAP_ROUNDS = 2
"""Rounds of :func:`swap_refine` in :func:`.multilevel.detached_search` at most, on
hypergraphs of fewer than :data:`SWAP_REPEAT_PINS` pins (one round from there).  A second
round took QFT-96 at k = 8 from 142 to 140 e-bits (seed 0), QFT-128 at k = 4 from 125 to 124
and QV-96 at k = 8 from 10,971 to 10,962 (seed 1)."""

SWAP_REPEAT_PINS = 20_000
"""From this many pins (reduced) one round only: over the 15 Mt-KaHyPar benchmark cases
above 20,000 pins (seeds 0 and 1, alternated runs) a second round took 1.04 times their wall
time for two runs better, CP-256 at k = 2 by 3 e-bits of 4,264 and 4,253."""

SWAP_THREAD_PINS = 10_000
"""From this many pins :func:`swap_refine` scores moves on every core; below, starting the
threads costs more than they save.  One round on the seed-0 placements of the Mt-KaHyPar
benchmark cases with free gates (best of 5) took, on two threads against one: 14.2 ms
against 9.1 under 5,000 pins, 13.7 against 11.2 from 5,000 to 10,000, 32.8 against 47.3 from
10,000 to 20,000, and 123.6 against 198.5 above."""

SWAP_TRIES = 64
"""Swaps tried per round of :func:`swap_refine` at most."""


@borrowing
def _collect(v, a, b, eptr, epin, vptr, vedge, vweight, blocks, sel, saved, mark, ns):
    """Append to ``sel`` the free vertices on ``a`` or ``b`` that share a hyperedge with
    ``v`` (each once, by ``mark``), their QPUs to ``saved``; return the new count."""
    for j in range(vptr[v], vptr[v + 1]):
        e = vedge[j]
        for p in range(eptr[e], eptr[e + 1]):
            u = epin[p]
            if vweight[u] == 0 and not mark[u] and (blocks[u] == a or blocks[u] == b):
                mark[u] = True
                sel[ns] = u
                saved[ns] = blocks[u]
                ns += 1
    return ns


@njit(cache=True, nogil=True)
def _trial(q, r, a, b, keep, k, eptr, epin, vptr, vedge, eweight, vweight, blocks, cnt, sel,
           saved, mark, gate_id, edge_id, gates, edges, probe=False):
    """Move weighted vertex ``q`` from ``a`` to ``b`` (and ``r``, unless negative, from ``b``
    to ``a``), then place the free vertices sharing a hyperedge with them between ``a`` and
    ``b`` by a minimum cut; return the km1 gain.  The change stays only when ``keep`` and it
    gains; otherwise every vertex returns where it was.  With ``probe``, return an upper
    bound of the gain instead (see :func:`.detach._pair_flow`)."""
    gain = shift(q, a, b, k, vptr, vedge, eweight, blocks, cnt)
    if r >= 0:
        gain += shift(r, b, a, k, vptr, vedge, eweight, blocks, cnt)
    ns = _collect(q, a, b, eptr, epin, vptr, vedge, vweight, blocks, sel, saved, mark, 0)
    if r >= 0:
        ns = _collect(r, a, b, eptr, epin, vptr, vedge, vweight, blocks, sel, saved, mark, ns)
    if ns > 0:
        gain += _pair_flow(a, b, k, vptr, vedge, eweight, blocks, cnt, gate_id, edge_id, gates,
                           edges, sel[:ns], probe)
        for i in range(ns):
            mark[sel[i]] = False
    if keep and gain > 0 and not probe:
        return gain
    for i in range(ns):
        u = sel[i]
        if blocks[u] != saved[i]:
            shift(u, blocks[u], saved[i], k, vptr, vedge, eweight, blocks, cnt)
    if r >= 0:
        shift(r, a, b, k, vptr, vedge, eweight, blocks, cnt)
    shift(q, b, a, k, vptr, vedge, eweight, blocks, cnt)
    return gain


@borrowing
def _reach(q, k, eptr, epin, vptr, vedge, vweight, blocks, cnt, reach):
    """Mark in ``reach`` the QPUs that a move of ``q`` with a re-cut may gain on: those of
    its hyperedges' pins, and those of the free vertices' other hyperedges."""
    reach[:] = False
    for j in range(vptr[q], vptr[q + 1]):
        e = vedge[j]
        for p in range(eptr[e], eptr[e + 1]):
            u = epin[p]
            if vweight[u] > 0:
                reach[blocks[u]] = True
                continue
            for jj in range(vptr[u], vptr[u + 1]):
                ee = vedge[jj]
                for t in range(k):
                    if cnt[ee * k + t] > 0:
                        reach[t] = True


@njit(cache=True, nogil=True)
def _buffers(nv, ne):
    """Work arrays of :func:`_trial`: ``sel, saved, mark, gate_id, edge_id, gates, edges``."""
    return (np.empty(nv, dtype=np.int64), np.empty(nv, dtype=np.int64),
            np.zeros(nv, dtype=np.bool_), np.full(nv, -1, dtype=np.int64),
            np.full(ne, -1, dtype=np.int64), np.empty(nv, dtype=np.int64),
            np.empty(ne, dtype=np.int64))


@njit(cache=True, nogil=True)
def _score_share(k, eptr, epin, vptr, vedge, eweight, vweight, blocks, cnt, weighted, need,
                 first, step):
    """Scores of the moves of the weighted vertices ``weighted[first::step]`` that reach
    their ``need`` (flat ``len(weighted) * k``: the least score of use, :data:`NO_MOVE` for
    moves not wanted), each probed first (an upper bound, cheaper than the cut) and only
    then tried; moves to a QPU outside :func:`_reach` are left out.  Returns scores flat
    like ``need``, :data:`NO_MOVE` where not known.  ``blocks`` and ``cnt`` change during
    the trials and end as they began: shares that run side by side need copies of their
    own."""
    nw = weighted.shape[0]
    sel, saved, mark, gate_id, edge_id, gates, edges = _buffers(blocks.shape[0],
                                                                eptr.shape[0] - 1)
    score = np.full(nw * k, NO_MOVE, dtype=np.int64)
    reach = np.zeros(k, dtype=np.bool_)
    for i in range(first, nw, step):
        if need[i * k:(i + 1) * k].max() == NO_MOVE:
            continue
        q = weighted[i]
        a = blocks[q]
        _reach(q, k, eptr, epin, vptr, vedge, vweight, blocks, cnt, reach)
        for t in range(k):
            x = i * k + t
            if t == a or not reach[t] or need[x] == NO_MOVE:
                continue
            if _trial(q, -1, a, t, False, k, eptr, epin, vptr, vedge, eweight, vweight,
                      blocks, cnt, sel, saved, mark, gate_id, edge_id, gates, edges,
                      True) >= need[x]:
                score[x] = _trial(q, -1, a, t, False, k, eptr, epin, vptr, vedge, eweight,
                                  vweight, blocks, cnt, sel, saved, mark, gate_id, edge_id,
                                  gates, edges, False)
    return score


@njit(cache=True, nogil=True)
def _pin_blocks(k, eptr, epin, vptr, vedge, blocks, weighted):
    """Moves worth scoring first, with the need of :func:`_score_share` (1, a move that can
    start a gaining swap): a weighted vertex to a QPU other than its own that holds a pin of
    one of its hyperedges.  Nearly every move that scores 1 or more is one of these: 587 of
    605 over the Mt-KaHyPar benchmark cases of 2,000 pins or more with free gates (seed-0
    placements, unreduced hypergraphs)."""
    nw = weighted.shape[0]
    need = np.full(nw * k, NO_MOVE, dtype=np.int64)
    for i in range(nw):
        q = weighted[i]
        for j in range(vptr[q], vptr[q + 1]):
            e = vedge[j]
            for p in range(eptr[e], eptr[e + 1]):
                need[i * k + blocks[epin[p]]] = 1
        need[i * k + blocks[q]] = NO_MOVE
    return need


@njit(cache=True, nogil=True)
def _partners(k, blocks, weighted, score):
    """Moves that a swap with a move scoring 1 or more needs scored, with the need of
    :func:`_score_share` (flat like ``score``): every weighted vertex on that move's target
    QPU, back to its source, unless scored, needing ``1 -`` the best such move's score."""
    nw = weighted.shape[0]
    best = np.full(k * k, NO_MOVE, dtype=np.int64)
    for i in range(nw):
        a = blocks[weighted[i]]
        for t in range(k):
            if score[i * k + t] > best[a * k + t]:
                best[a * k + t] = score[i * k + t]
    need = np.full(nw * k, NO_MOVE, dtype=np.int64)
    for i in range(nw):
        t = blocks[weighted[i]]
        for a in range(k):
            if best[a * k + t] >= 1 and score[i * k + a] == NO_MOVE:
                need[i * k + a] = 1 - best[a * k + t]
    return need


@njit(cache=True, nogil=True)
def _swap_candidates(k, blocks, weighted, score, max_swaps):
    """Pairs of weighted vertices on two QPUs whose move scores towards each other's QPU sum
    to 1 or more, best sum first (ties in vertex order), at most ``max_swaps``
    per pair of QPUs and in all: ``(sum, i, j)`` rows, ``i`` and ``j`` indices into
    ``weighted``."""
    nw = weighted.shape[0]
    out = np.empty((0, 3), dtype=np.int64)
    for a in range(k):
        for b in range(a + 1, k):
            ia = np.empty(nw, dtype=np.int64)
            ib = np.empty(nw, dtype=np.int64)
            na = nb = 0
            for i in range(nw):
                blk = blocks[weighted[i]]
                if blk == a and score[i * k + b] > NO_MOVE:
                    ia[na] = i
                    na += 1
                elif blk == b and score[i * k + a] > NO_MOVE:
                    ib[nb] = i
                    nb += 1
            if na == 0 or nb == 0:
                continue
            ia = ia[:na][np.argsort(-score[ia[:na] * k + b], kind="mergesort")]
            ib = ib[:nb][np.argsort(-score[ib[:nb] * k + a], kind="mergesort")]
            rows = np.empty((max_swaps, 3), dtype=np.int64)
            m = 0
            for x in range(na):
                sx = score[ia[x] * k + b]
                if sx + score[ib[0] * k + a] < 1 or m == max_swaps:
                    break
                for y in range(nb):
                    s = sx + score[ib[y] * k + a]
                    if s < 1 or m == max_swaps:
                        break
                    rows[m, 0] = s
                    rows[m, 1] = ia[x]
                    rows[m, 2] = ib[y]
                    m += 1
            out = np.concatenate((out, rows[:m]))
    order = np.argsort(-out[:, 0], kind="mergesort")[:max_swaps]
    return out[order]


@njit(cache=True, nogil=True)
def _make_moves(k, eptr, epin, vptr, vedge, eweight, vweight, cap, blocks, cnt, load, weighted,
                score, max_swaps):
    """Make the scored moves that gain and fit (vertex order), then the best swaps of
    :func:`_swap_candidates` that gain and fit, each move and swap tried again exactly on
    the placement as it is then; a vertex moves once at most.  Returns the km1 gained."""
    nv = blocks.shape[0]
    sel, saved, mark, gate_id, edge_id, gates, edges = _buffers(nv, eptr.shape[0] - 1)
    gained = 0
    for i in range(weighted.shape[0]):
        q = weighted[i]
        a = blocks[q]
        for t in range(k):
            if score[i * k + t] <= 0 or load[t] + vweight[q] > cap[t]:
                continue
            g = _trial(q, -1, a, t, True, k, eptr, epin, vptr, vedge, eweight, vweight, blocks,
                       cnt, sel, saved, mark, gate_id, edge_id, gates, edges, False)
            if g > 0:
                load[a] -= vweight[q]
                load[t] += vweight[q]
                gained += g
                for u in range(k):
                    score[i * k + u] = NO_MOVE
                break
    cand = _swap_candidates(k, blocks, weighted, score, max_swaps)
    moved = np.zeros(nv, dtype=np.bool_)
    for c in range(cand.shape[0]):
        q = weighted[cand[c, 1]]
        r = weighted[cand[c, 2]]
        if moved[q] or moved[r]:
            continue
        a = blocks[q]
        b = blocks[r]
        fits = (load[a] - vweight[q] + vweight[r] <= cap[a]
                and load[b] - vweight[r] + vweight[q] <= cap[b])
        g = _trial(q, r, a, b, fits, k, eptr, epin, vptr, vedge, eweight, vweight, blocks, cnt,
                   sel, saved, mark, gate_id, edge_id, gates, edges, False)
        if fits and g > 0:
            load[a] += vweight[r] - vweight[q]
            load[b] += vweight[q] - vweight[r]
            moved[q] = True
            moved[r] = True
            gained += g
    return gained


def swap_refine(k: int, eptr: np.ndarray, epin: np.ndarray, vptr: np.ndarray,
                vedge: np.ndarray, eweight: np.ndarray, vweight: np.ndarray, cap: np.ndarray,
                blocks: np.ndarray, max_rounds: int, max_swaps: int) -> int:
    """Improve the balanced placement ``blocks`` of every vertex by qubit moves and swaps,
    each with a minimum-cut re-placement of the free vertices beside it; return the km1.

    A round scores every move of a weighted vertex with its re-cut (:func:`_score_share`,
    shares side by side on the cores, see :func:`.parallel.run_all`), makes those that gain
    and fit, then tries the swaps whose two scores sum to 1 or more, best first, each with
    a joint re-cut, and makes those that gain and fit (:func:`_make_moves`).  Rounds stop
    at ``max_rounds`` or the first without gain.  The km1 never rises, every QPU stays
    within its capacity, and the result does not depend on the number of threads.

    Parameters
    ----------
    k : int
        Number of QPUs.
    eptr, epin, vptr, vedge, eweight, vweight : ndarray of int64
        The hypergraph (every vertex; weight 0 for free gates).
    cap : ndarray of int64
        Capacity of every QPU.
    blocks : ndarray of int64
        Balanced QPU of every vertex; improved in place.
    max_rounds, max_swaps : int
        Rounds at most, and swaps tried per round at most.
    """
    cnt = block_counts(k, eptr, epin, blocks)
    load = np.bincount(blocks, weights=vweight, minlength=k).astype(np.int64)
    weighted = np.flatnonzero(vweight > 0)
    shares = max(1, min(workers(), weighted.shape[0])) if epin.shape[0] >= SWAP_THREAD_PINS \
        else 1

    def scores(need: np.ndarray) -> np.ndarray:
        if need.max(initial=NO_MOVE) == NO_MOVE:
            return need  # nothing wanted: every score unknown
        return np.maximum.reduce(run_all([
            partial(_score_share, k, eptr, epin, vptr, vedge, eweight, vweight, blocks.copy(),
                    cnt.copy(), weighted, need, s, shares) for s in range(shares)]))

    for _ in range(max_rounds):
        score = scores(_pin_blocks(k, eptr, epin, vptr, vedge, blocks, weighted))
        score = np.maximum(score, scores(_partners(k, blocks, weighted, score)))
        if _make_moves(k, eptr, epin, vptr, vedge, eweight, vweight, cap, blocks, cnt, load,
                       weighted, score, max_swaps) == 0:
            break
    return int(km1_of_counts(cnt, k, eweight))
