"""The cluster: QPUs, the links between them, and hop distances.

A :class:`Network` answers what the partitioner and backend ask of the hardware: how many data
qubits each QPU holds (``capacities``), how many communication qubits (``comm``), which pairs are
linked and how many e-bits a Bell pair between two QPUs costs (``distances``, in hops).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .errors import InfeasibleError, UsageError

TOPOLOGIES = ("all", "line", "ring", "star", "grid")


@dataclass
class QPU:
    """One quantum processing unit.

    Attributes
    ----------
    name : str
        Unique name; QPU ``i`` in every output is the ``i``-th QPU of the network.
    qubits : int
        Data qubits (excluding communication qubits).
    comm_qubits : int
        Communication qubits, which hold linked copies and teleported qubits in flight.
    """

    name: str
    qubits: int
    comm_qubits: int = 2


@dataclass
class Link:
    """A photonic link between two QPUs (indices into ``Network.qpus``)."""

    a: int
    b: int


@dataclass
class Network:
    """QPUs and the links between them.

    An empty ``links`` list means all-to-all.
    """

    qpus: list[QPU]
    links: list[Link] = field(default_factory=list)

    @classmethod
    def uniform(cls, qpus: int, capacity: int, comm_qubits: int = 2,
                topology: str = "all") -> "Network":
        """``qpus`` identical QPUs of ``capacity`` data qubits joined in ``topology``."""
        if qpus < 1:
            raise UsageError(f"--qpus must be at least 1 (got {qpus})")
        if capacity < 1:
            raise UsageError(f"--capacity must be at least 1 (got {capacity})")
        if comm_qubits < 0:
            raise UsageError(f"--comm-qubits must be at least 0 (got {comm_qubits})")
        if topology not in TOPOLOGIES:
            raise UsageError(f"--topology must be one of {', '.join(TOPOLOGIES)} (got {topology!r})")
        nodes = [QPU(f"qpu{i}", capacity, comm_qubits) for i in range(qpus)]
        links: list[Link] = []
        if topology == "line" or topology == "ring":
            links = [Link(i, i + 1) for i in range(qpus - 1)]
            if topology == "ring" and qpus > 2:
                links.append(Link(qpus - 1, 0))
        elif topology == "star":
            links = [Link(0, i) for i in range(1, qpus)]
        elif topology == "grid":
            cols = int(np.ceil(np.sqrt(qpus)))
            for i in range(qpus):
                r, c = divmod(i, cols)
                if c + 1 < cols and i + 1 < qpus:
                    links.append(Link(i, i + 1))
                if i + cols < qpus:
                    links.append(Link(i, i + cols))
        return cls(nodes, links)

    @property
    def k(self) -> int:
        """Number of QPUs."""
        return len(self.qpus)

    @property
    def all_to_all(self) -> bool:
        """True when every pair of QPUs is linked directly."""
        return not self.links or bool(np.all(self.distances()[~np.eye(self.k, dtype=bool)] == 1))

    def capacities(self) -> np.ndarray:
        """Data-qubit capacity of each QPU (int64)."""
        return np.array([q.qubits for q in self.qpus], dtype=np.int64)

    def comm(self) -> np.ndarray:
        """Communication qubits of each QPU (int64)."""
        return np.array([q.comm_qubits for q in self.qpus], dtype=np.int64)

    def distances(self) -> np.ndarray:
        """Hop distance between every pair of QPUs (int64, k x k).

        Raises
        ------
        InfeasibleError
            When the network is disconnected.
        """
        k = self.k
        if not self.links:
            return (1 - np.eye(k, dtype=np.int64)).astype(np.int64)
        adj = [[] for _ in range(k)]
        for link in self.links:
            adj[link.a].append(link.b)
            adj[link.b].append(link.a)
        dist = np.full((k, k), -1, dtype=np.int64)
        for s in range(k):
            dist[s, s] = 0
            frontier = [s]
            while frontier:
                nxt = []
                for u in frontier:
                    for v in adj[u]:
                        if dist[s, v] < 0:
                            dist[s, v] = dist[s, u] + 1
                            nxt.append(v)
                frontier = nxt
        if np.any(dist < 0):
            s, t = np.argwhere(dist < 0)[0]
            raise InfeasibleError(
                f"network is disconnected: no path between QPU {self.qpus[s].name!r} "
                f"and QPU {self.qpus[t].name!r}")
        return dist
