#!/usr/bin/env python
"""Time of a small circuit on a surface-code cluster, d = 3, 5, 7 (issue #4 part 4).

    python benchmarks/bench_qec_timing.py                 # QFT-8, rates 1e4 and 1e6 Hz
    python benchmarks/bench_qec_timing.py --circuit ghz --qubits 12 --rates 1e5

Setting: 2 superconducting QPUs (modality defaults: t_1q 50 ns, t_2q 300 ns, t_measure 1 us)
running the rotated surface code of distance d, each with room for ceil(n/2) + 1 logical data
qubits (``qubits = (ceil(n/2) + 1) * (2 d**2 - 1)``) and 2 logical communication qubits, joined
by one link of the given raw Bell-pair rate, fidelity 0.99 and memory 1 ms.  The circuit is
partitioned and emitted by the public API (``araqne.partition(circ, net, seed=0)``,
``result.emit()``), then timed by :func:`araqne.backend.timing.estimate` with the default 1 us
classical latency.

Per (d, rate): logical e-bits (``epr`` statements), physical Bell pairs (``d**2`` per e-bit across
the lattice-surgery seam), the logical cycle (``d`` rounds of ``2 t_1q + 4 t_2q + t_measure``),
the gate-only makespan (instantaneous link), the on-demand and buffered makespans, the link's
busy fraction and whether it keeps up.  ``gates ratio`` is the gate-only makespan over d = 3's
with no classical latency: the model predicts exactly ``d / 3`` (the same program, every step
one logical cycle longer by the factor d / 3); the column checks it.

Writes ``benchmarks/results/qec_timing.json`` and prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
try:
    import araqne  # noqa: F401
except ImportError:  # running from a checkout without an install
    sys.path.insert(0, str(ROOT))

import araqne  # noqa: E402
from araqne import suite  # noqa: E402
from araqne.backend.timing import estimate, format_seconds  # noqa: E402
from araqne.frontend import from_qiskit  # noqa: E402
from araqne.network import Network  # noqa: E402

DISTANCES = (3, 5, 7)
CIRCUITS = {"qft": suite.qft, "ghz": suite.ghz}


from _common import git_state  # noqa: E402  (benchmarks/ is on sys.path)

def cluster(d: int, logical: int, rate: float | None, fidelity: float, memory: float) -> Network:
    block = 2 * d * d - 1
    qpus = [{"name": f"sc{i}", "qubits": logical * block, "comm_qubits": 2,
             "modality": "superconducting", "code": "surface", "distance": d} for i in range(2)]
    link: dict = {"between": ["sc0", "sc1"], "fidelity": fidelity, "memory_s": memory}
    if rate is not None:
        link["rate_hz"] = rate
    return Network.from_dict({"qpu": qpus, "link": [link]})


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--circuit", choices=sorted(CIRCUITS), default="qft")
    ap.add_argument("--qubits", type=int, default=8)
    ap.add_argument("--rates", type=float, nargs="+", default=[1e4, 1e6],
                    help="raw Bell-pair rates of the link (Hz)")
    ap.add_argument("--fidelity", type=float, default=0.99)
    ap.add_argument("--memory", type=float, default=1e-3)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "qec_timing.json"))
    args = ap.parse_args(argv)
    t_start = time.perf_counter()
    circ = from_qiskit(CIRCUITS[args.circuit](args.qubits))
    name = f"{args.circuit}-{args.qubits}"
    logical = math.ceil(circ.num_qubits / 2) + 1
    rows = []
    gates3 = None
    for d in DISTANCES:
        ideal = cluster(d, logical, None, args.fidelity, args.memory)
        result = araqne.partition(circ, ideal, seed=0)
        em = result.emit()
        flat = estimate(em, ideal, circ, classical_latency_s=0.0)
        if gates3 is None:
            gates3 = flat.makespan_gates_s
        ratio = flat.makespan_gates_s / gates3
        for rate in args.rates:
            net = cluster(d, logical, rate, args.fidelity, args.memory)
            rep = estimate(em, net, circ)
            link = rep.per_link.get("0-1")
            rows.append({
                "circuit": name, "d": d, "block": 2 * d * d - 1, "rate_hz": rate,
                "ebits": rep.ebits, "physical_bell_pairs": rep.physical_bell_pairs,
                "steps": rep.num_steps,
                "logical_cycle_s": rep.qpus[0]["logical_cycle_s"],
                "makespan_gates_s": rep.makespan_gates_s,
                "makespan_s": rep.makespan_s,
                "makespan_buffered_s": rep.makespan_buffered_s,
                "input_makespan_s": rep.input_makespan_s,
                "gates_ratio_no_latency": ratio, "predicted_ratio": d / DISTANCES[0],
                "critical_link": rep.critical_link,
                "busy_fraction": None if link is None else link.busy_fraction,
                "busy_fraction_buffered": None if link is None else link.busy_fraction_buffered,
                "keeps_up": None if link is None else link.keeps_up,
                "below_seam_threshold": None if link is None else link.below_seam_threshold,
                "report": rep.to_dict(),
            })
    head = ("| circuit | d | rate (Hz) | e-bits | physical pairs | logical cycle | gates only | "
            "on demand | buffered | link busy (buffered) | keeps up | gates ratio (pred.) |")
    lines = [head, "|" + "|".join(["---"] * (head.count("|") - 1)) + "|"]
    for r in rows:
        busy = "-" if r["busy_fraction_buffered"] is None else f"{r['busy_fraction_buffered']:.2f}"
        lines.append(
            f"| {r['circuit']} | {r['d']} | {r['rate_hz']:.0e} | {r['ebits']} | "
            f"{r['physical_bell_pairs']} | {format_seconds(r['logical_cycle_s'])} | "
            f"{format_seconds(r['makespan_gates_s'])} | {format_seconds(r['makespan_s'])} | "
            f"{format_seconds(r['makespan_buffered_s'])} | {busy} | {r['keeps_up']} | "
            f"{r['gates_ratio_no_latency']:.4f} ({r['predicted_ratio']:.4f}) |")
    table = "\n".join(lines)
    out = {
        "benchmark": "bench_qec_timing",
        "command": "python benchmarks/bench_qec_timing.py " + " ".join(argv or sys.argv[1:]),
        "setting": {"qpus": 2, "modality": "superconducting", "code": "surface",
                    "logical_data_qubits_per_qpu": logical, "comm_qubits": 2,
                    "link": {"rates_hz": args.rates, "fidelity": args.fidelity,
                             "memory_s": args.memory},
                    "classical_latency_s": 1e-6,
                    "partition": "araqne.partition(circ, net, seed=0)"},
        "araqne_version": araqne.__version__,
        "git": git_state(),
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "cpus": os.cpu_count()},
        "wall_s": round(time.perf_counter() - t_start, 2),
        "rows": rows,
        "table": table,
    }
    path = Path(args.out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    print(table)
    print(f"\nwrote {path} ({out['wall_s']} s)")
    ok = all(abs(r["gates_ratio_no_latency"] - r["predicted_ratio"]) < 1e-9 for r in rows)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
