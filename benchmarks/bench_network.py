"""Hop-aware refinement against all-to-all refinement followed by routing (issue #4's bar).

On a line (or ring) of QPUs, partition each circuit twice with the same seed and capacities:

* *hop-aware*: the partitioner minimises the network cost directly (a hyperedge costs the
  Steiner tree joining its QPUs over the links);
* *km1 then route*: the partitioner minimises km1 as if the network were all-to-all, and the
  same partition is then charged its cost on the real links, either routing each linked copy
  from its root's QPU along a shortest path on its own (*per-copy paths*) or sharing relays
  along the cheapest Steiner tree (*Steiner*, what araqne's backend does).

Both figures are the cost model's (`ebits_model`), checked against ``araqne.cost``.  Run:
``python benchmarks/bench_network.py`` (writes ``benchmarks/results/network.json``).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from araqne import suite
from araqne.api import check_cost, gate_placement, network_cost, partition
from araqne.frontend import from_qiskit
from araqne.hypergraph import build_hypergraph
from araqne.network import Network
from araqne.objective import window_qpus
from araqne.packets import find_windows
from araqne.partitioner import partition_hypergraph

CASES = [
    ("qft_64", lambda: suite.qft(64)),
    ("qaoa_gnp_64", lambda: suite.qaoa_maxcut(64, p=1, seed=0, kind="gnp", prob=0.5)),
    ("cp_fraction_64", lambda: suite.cp_fraction(64, 64, seed=0)),
]


def run(k: int, topology: str, seed: int) -> list[dict]:
    rows = []
    for name, build in CASES:
        circ = from_qiskit(build())
        n = circ.num_qubits
        net = Network.uniform(k, n // k + 1, topology=topology)
        t0 = time.perf_counter()
        aware = partition(circ, net, seed=seed, comm_aware=False)
        t_aware = time.perf_counter() - t0
        assert check_cost(aware) == aware.ebits_model
        packets = find_windows(circ)
        hg = build_hypergraph(circ, packets)
        t0 = time.perf_counter()
        flat = partition_hypergraph(hg, net.capacities(), seed=seed)
        t_flat = time.perf_counter() - t0
        gate_qpu = gate_placement(circ, hg, flat.part, flat.side)
        routed = network_cost(hg, flat, net, circ, gate_qpu, packets)
        dist = net.distances()
        paths = sum(int(dist[int(flat.part[packets.root[w]]), t])
                    for w, targets in enumerate(window_qpus(circ, flat.part, gate_qpu, packets))
                    for t in targets)
        rows.append({"circuit": name, "k": k, "topology": topology, "hop_aware": aware.ebits_model,
                     "km1_then_route": int(routed), "km1_then_paths": paths,
                     "km1": int(flat.km1),
                     "hop_aware_s": round(t_aware, 3), "km1_s": round(t_flat, 3)})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path,
                    default=Path(__file__).parent / "results" / "network.json")
    args = ap.parse_args()
    rows = run(4, "line", args.seed) + run(6, "ring", args.seed)
    print("| circuit | k | links | hop-aware e-bits | km1, then per-copy paths | "
          "km1, then Steiner | km1 (all-to-all) |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['circuit']} | {r['k']} | {r['topology']} | {r['hop_aware']} | "
              f"{r['km1_then_paths']} | {r['km1_then_route']} | {r['km1']} |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
