"""End to end on general networks: rings, heterogeneous lines and surface-code clusters.

Small clusters of the same shape as the example files are verified by simulation; the example
files themselves, too large to simulate with a full circuit, are checked for the backend's
invariants (epr count = reported e-bits = reference cost when comm qubits suffice, only linked
QPUs share an ``epr``, registers within capacity, comm peaks within limits).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from araqne import suite
from araqne.api import check_cost, distribute
from araqne.errors import InfeasibleError
from araqne.network import Network
from araqne.verification import verify_program

ROOT = Path(__file__).resolve().parents[1]
EPR = re.compile(r"^epr comm(\d+)\[\d+\], comm(\d+)\[\d+\];", re.M)
DATA = re.compile(r"^qubit\[(\d+)\] qpu(\d+);", re.M)


def _cluster(caps, links, comm=2, **extra):
    names = [f"n{i}" for i in range(len(caps))]
    qpus = [{"name": nm, "qubits": c, "comm_qubits": comm, **extra} for nm, c in zip(names, caps)]
    return Network.from_dict({"qpu": qpus,
                              "link": [{"between": [names[a], names[b]]} for a, b in links]})


def _invariants(result):
    em = result.emit()
    net = result.network
    text = em.distributed_qasm
    pairs = EPR.findall(text)
    assert len(pairs) == em.ebits == result.summary()["ebits"]
    assert em.ebits >= result.ebits_model == check_cost(result)
    dist = net.distances()
    for a, b in pairs:
        assert dist[int(a), int(b)] == 1, "epr between QPUs that are not linked"
    caps = net.capacities()
    for size, qpu in DATA.findall(text):
        assert int(size) <= caps[int(qpu)]
    assert all(peak <= m for peak, m in zip(em.peak_comm, net.comm()))
    return em


RING6 = [(i, (i + 1) % 6) for i in range(6)]
LINE4 = [(0, 1), (1, 2), (2, 3)]

SMALL = {
    "qft_12": lambda: suite.qft(12),
    "cp_fraction_12": lambda: suite.cp_fraction(12, 8, seed=2),
    "random_mixed_10": lambda: suite.random_mixed(10, 10, seed=3),
}


@pytest.mark.parametrize("name", sorted(SMALL))
@pytest.mark.parametrize("shape", ["ring6", "hetero_line4"])
def test_small_clusters_verify(name, shape):
    qc = SMALL[name]()
    n = qc.num_qubits
    if shape == "ring6":
        net = _cluster([-(-n // 6)] * 6, RING6)
    else:  # capacities in the ratio 40/20/20/10, linked in a line
        unit = -(-n // 9)
        net = _cluster([4 * unit, 2 * unit, 2 * unit, unit], LINE4)
    result = distribute(qc, net, seed=1)
    em = _invariants(result)
    rep = verify_program(qc, em.distributed_qasm, em.layout_initial, em.layout_final,
                         samples=2, shots=4, seed=1)
    assert rep.passed, rep.summary()


@pytest.mark.parametrize("cluster", ["ring6.toml", "hetero_line.toml"])
def test_example_clusters_keep_the_invariants(cluster):
    net = Network.from_file(ROOT / "examples" / "clusters" / cluster)
    total = int(net.capacities().sum())
    qc = suite.cp_fraction(total - 2, 12, seed=4)
    result = distribute(qc, net, seed=0)
    _invariants(result)
    used = np.bincount(result.assignment, minlength=net.k)
    assert np.all(used <= net.capacities())


@pytest.mark.parametrize("distance", [3, 5, 7])
def test_surface_code_cluster_reports_physical_pairs(distance):
    block = 2 * distance * distance - 1
    net = _cluster([4 * block] * 3, [(0, 1), (1, 2)], code="surface", distance=distance)
    assert list(net.capacities()) == [4, 4, 4]
    result = distribute(suite.qft(12), net, seed=0)
    em = _invariants(result)
    summary = result.summary()
    assert summary["ebits"] == em.ebits > 0
    assert summary["physical_bell_pairs"] == em.ebits * distance * distance
    for link, count in summary["ebits_per_link"].items():
        assert summary["physical_bell_pairs_per_link"][link] == count * distance * distance
    with pytest.raises(InfeasibleError, match="do not fit"):
        distribute(suite.qft(13), net, seed=0)
