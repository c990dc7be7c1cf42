"""The validity check of benchmarks/bench_kahypar.py: a Mt-KaHyPar run counts only as a real
partition (block ids in range, every QPU within capacity)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from araqne import suite
from araqne.api import _as_circuit
from araqne.hypergraph import build_hypergraph
from araqne.packets import find_windows
from araqne.partitioner.detach import km1_of_blocks

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import bench_kahypar  # noqa: E402


def test_runs_with_ids_out_of_range_or_overfull_qpus_do_not_count():
    """An id out of range changes the km1 that the pin counts give (it lands in another
    hyperedge's counts), so such a run must not count; nor may one that overfills a QPU."""
    circ = _as_circuit(suite.get("qft_32").build())
    hg = build_hypergraph(circ, find_windows(circ))
    caps = np.full(4, 9, dtype=np.int64)
    blocks = np.zeros(hg.num_qubits + hg.num_gates, dtype=np.int64)
    blocks[:32] = np.arange(32) // 8
    assert bench_kahypar._valid_blocks(blocks, hg, caps)
    gate = hg.num_qubits + 8
    for bad in (-1, 4):
        wrong = blocks.copy()
        wrong[gate] = bad
        assert not bench_kahypar._valid_blocks(wrong, hg, caps)
    wrong = blocks.copy()
    wrong[gate] = -1
    assert km1_of_blocks(4, hg.eptr, hg.epin, hg.eweight, wrong) != \
        km1_of_blocks(4, hg.eptr, hg.epin, hg.eweight, blocks)
    full = blocks.copy()
    full[:10] = 0
    assert not bench_kahypar._valid_blocks(full, hg, caps)
    row = {"kahypar_km1_runs": [30, None, 28]}
    assert bench_kahypar._valid_runs(row) == [30, 28]
