"""A lower bound on the km1 of any balanced partition: when a search reaches it, it may stop.

A connected hypergraph whose vertices lie on ``m`` QPUs has ``sum_e (lambda_e - 1) >= m - 1``
(its hyperedges must join the ``m`` blocks, and one spanning ``lambda`` of them joins at most
``lambda - 1`` more).  A connected component of qubit weight ``W`` needs at least as many QPUs
as the fewest capacities, largest first, that sum to ``W``; components share no hyperedge, so
their bounds add up.  GHZ and Deutsch-Jozsa circuits reach the bound, and the search then
ends after its first start instead of spending its whole budget confirming it.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .reduce import union_root


@njit(cache=True, nogil=True)
def _component_bound(nq, nv, eptr, epin, eweight, vweight, reach):
    """The bound of :func:`km1_lower_bound`: components by union-find over the pins of every
    hyperedge, then, per component holding qubit weight and a hyperedge, the QPUs it needs
    (``reach``: cumulated capacities, largest first) less one, times its lightest hyperedge."""
    parent = np.arange(nv)
    ne = eptr.shape[0] - 1
    for e in range(ne):
        if eptr[e + 1] > eptr[e]:
            a = union_root(parent, epin[eptr[e]])
            for i in range(eptr[e] + 1, eptr[e + 1]):
                b = union_root(parent, epin[i])
                if a != b:
                    parent[b] = a
    weight = np.zeros(nv, dtype=np.int64)
    for v in range(nq):
        weight[union_root(parent, v)] += vweight[v]
    big = np.iinfo(np.int64).max
    lightest = np.full(nv, big, dtype=np.int64)
    for e in range(ne):
        if eptr[e + 1] > eptr[e]:
            r = union_root(parent, epin[eptr[e]])
            if eweight[e] < lightest[r]:
                lightest[r] = eweight[e]
    bound = 0
    for r in range(nv):
        if weight[r] > 0 and lightest[r] < big:
            need = np.searchsorted(reach, weight[r]) + 1  # QPUs the component spans
            bound += (need - 1) * lightest[r]
    return bound


def km1_lower_bound(hg, capacities: np.ndarray) -> int:
    """Lower bound on the all-to-all km1 of every partition of ``hg`` within ``capacities``.

    Parameters
    ----------
    hg : Hypergraph
        Packet hypergraph (qubits weigh ``hg.vweight``, free gates nothing).
    capacities : ndarray of int64
        Capacity of every QPU.

    Returns
    -------
    int
        ``sum over components C of (QPUs C needs - 1) * lightest hyperedge weight of C``.
    """
    nv = hg.num_qubits + hg.num_gates
    if hg.num_edges == 0 or nv == 0:
        return 0
    reach = np.cumsum(np.sort(capacities.astype(np.int64))[::-1])
    return int(_component_bound(hg.num_qubits, nv, hg.eptr.astype(np.int64),
                                hg.epin.astype(np.int64), hg.eweight.astype(np.int64),
                                hg.vweight.astype(np.int64), reach))
