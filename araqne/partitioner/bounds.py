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
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components


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
    ne = hg.num_edges
    if ne == 0 or nv == 0:
        return 0
    e_of_pin = np.repeat(np.arange(ne, dtype=np.int64), np.diff(hg.eptr))
    # vertices 0 .. nv-1, hyperedges nv .. nv+ne-1, joined pin by pin
    graph = coo_matrix((np.ones(e_of_pin.shape[0], dtype=np.int8),
                        (hg.epin.astype(np.int64), nv + e_of_pin)), shape=(nv + ne, nv + ne))
    _, label = connected_components(graph, directed=False)
    weight = np.bincount(label[:hg.num_qubits], weights=hg.vweight, minlength=nv + ne)
    lightest = np.full(nv + ne, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(lightest, label[nv:], hg.eweight.astype(np.int64))
    reach = np.cumsum(np.sort(capacities.astype(np.int64))[::-1])
    bound = 0
    for comp in np.flatnonzero((weight > 0) & (lightest < np.iinfo(np.int64).max)):
        need = int(np.searchsorted(reach, weight[comp])) + 1  # QPUs the component spans
        bound += (need - 1) * int(lightest[comp])
    return bound
