"""Initial qubit assignments: METIS on the weighted qubit interaction graph, then repair.

METIS balances only approximately, so :func:`repair_capacity` moves the cheapest qubits out of
over-full QPUs (numba, gain-driven) until every QPU is within capacity.
"""

from __future__ import annotations

import numpy as np
import pymetis
from numba import njit

from .refine import apply_qubit_move, qubit_gains


def graph_cut(graph: tuple, part: np.ndarray) -> int:
    """Weight of the edges of a CSR qubit graph (``xadj, adjncy, eweights``) that ``part``
    cuts: what METIS minimises, a cheap stand-in for the e-bits of a seed."""
    xadj, adjncy, ew = graph
    src = np.repeat(np.arange(xadj.shape[0] - 1, dtype=np.int64), np.diff(xadj))
    return int(ew[part[src] != part[adjncy]].sum()) // 2


def metis_seed(hg, capacities: np.ndarray, seed: int, graph: tuple | None = None) -> np.ndarray:
    """k-way METIS partition of the qubit interaction graph, target weights ~ capacities.

    Parameters
    ----------
    hg : Hypergraph
        The packet hypergraph (its :meth:`qubit_graph` is partitioned).
    capacities : ndarray of int64
        Capacity of each QPU.
    seed : int
        METIS random seed.
    graph : tuple, optional
        ``hg.qubit_graph()``, when the caller has it already.

    Returns
    -------
    ndarray of int64
        QPU of each qubit (possibly over capacity; see :func:`repair_capacity`).
    """
    n = hg.num_qubits
    k = int(capacities.shape[0])
    if k == 1:
        return np.zeros(n, dtype=np.int64)
    xadj, adjncy, ew = hg.qubit_graph() if graph is None else graph
    if adjncy.size == 0 or n <= 2 * k:  # METIS cannot split so few vertices (and says so)
        return fill_seed(n, capacities)
    total = float(capacities.sum())
    tpw = [float(c) / total for c in capacities]
    opts = pymetis.Options(seed=int(seed) % (2**31 - 1), ufactor=1)
    if hasattr(pymetis, "CSRAdjacency"):  # pymetis >= 2025.2
        graph = {"adjacency": pymetis.CSRAdjacency(xadj, adjncy)}
    else:
        graph = {"xadj": xadj, "adjncy": adjncy}
    _, parts = pymetis.part_graph(k, **graph, eweights=ew, vweights=hg.vweight, tpwgts=tpw,
                                  options=opts)
    return np.asarray(parts, dtype=np.int64)


def fill_seed(n: int, capacities: np.ndarray) -> np.ndarray:
    """Fill the QPUs in index order, each to capacity, with the qubits in index order.

    Like :func:`linear_seed` but with the last QPUs left emptier, which suits circuits whose
    cost grows with the size of the smaller side of each cut (QFT-like all-pairs structure).
    """
    part = np.empty(n, dtype=np.int64)
    p, used = 0, 0
    for q in range(n):
        while used >= capacities[p]:
            p += 1
            used = 0
        part[q] = p
        used += 1
    return part


def random_seed(n: int, capacities: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A uniformly random assignment within capacity."""
    slots = np.repeat(np.arange(capacities.shape[0], dtype=np.int64), capacities)
    return rng.permutation(slots)[:n].astype(np.int64)


@njit(cache=True, nogil=True)
def repair_capacity(n, k, part, side, gate_qubits, vptr, vedge, qgptr, qglist, cnt, load, cap,
                    vweight, eweight, roots, table, use_table, batch=False):
    """Move qubits out of over-full QPUs, each time the move losing the least km1.

    With ``batch`` (large hypergraphs), one evaluation of an over-full QPU's qubits serves
    several moves: its best-scoring qubits move, best first, until it fits or their targets
    fill up (each evaluation costs a pass over all the QPU's qubits and their gates).

    Returns False when the loads cannot fit (total weight above total capacity).
    """
    ne = eweight.shape[0]
    mcount = np.zeros(ne, dtype=np.int64)
    touched = np.empty(ne, dtype=np.int64)
    gains = np.zeros(k, dtype=np.int64)
    cand_g = np.empty(n, dtype=np.int64)
    cand_q = np.empty(n, dtype=np.int64)
    cand_b = np.empty(n, dtype=np.int64)
    while True:
        over = -1
        for p in range(k):
            if load[p] > cap[p]:
                over = p
                break
        if over < 0:
            return True
        best_q = -1
        best_b = -1
        best_g = -(1 << 60)
        nc = 0
        for q in range(n):
            if part[q] != over:
                continue
            qubit_gains(q, n, k, part, side, gate_qubits, vptr, vedge, qgptr, qglist, cnt,
                        eweight, mcount, touched, gains, roots, table, use_table)
            qb = -1
            qg = -(1 << 60)
            for p in range(k):
                if p != over and load[p] + vweight[q] <= cap[p] and gains[p] > qg:
                    qg = gains[p]
                    qb = p
            if qb >= 0:
                cand_g[nc] = qg
                cand_q[nc] = q
                cand_b[nc] = qb
                nc += 1
                if qg > best_g:
                    best_g = qg
                    best_q = q
                    best_b = qb
        if best_q < 0:
            return False
        if not batch:
            apply_qubit_move(best_q, best_b, n, k, part, side, gate_qubits, vptr, vedge, qgptr,
                             qglist, cnt, load, vweight)
            continue
        order = np.argsort(-cand_g[:nc], kind="mergesort")
        for i in range(nc):
            if load[over] <= cap[over]:
                break
            q = cand_q[order[i]]
            b = cand_b[order[i]]
            if load[b] + vweight[q] <= cap[b]:
                apply_qubit_move(q, b, n, k, part, side, gate_qubits, vptr, vedge, qgptr,
                                 qglist, cnt, load, vweight)


def linear_seed(n: int, capacities: np.ndarray, order: np.ndarray | None = None) -> np.ndarray:
    """Cut a linear order of the qubits (index order by default) into consecutive chunks.

    Chunk sizes are proportional to capacities, so no QPU is over-full.  Circuits written with
    locality in their qubit indices (QFT, adders, ladders) often cut best this way.
    """
    total = int(capacities.sum())
    share = capacities.astype(np.float64) * (n / total)
    sizes = np.floor(share).astype(np.int64)
    rest = n - int(sizes.sum())
    for p in np.argsort(-(share - sizes), kind="stable")[:rest]:
        sizes[p] += 1
    chunk = np.repeat(np.arange(capacities.shape[0], dtype=np.int64), sizes)
    part = np.empty(n, dtype=np.int64)
    order = np.arange(n) if order is None else order
    part[order] = chunk
    return part
