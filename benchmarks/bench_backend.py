#!/usr/bin/env python
"""Backend emission time against partition time on ~100,000-gate circuits (issue #3's bar).

    python benchmarks/bench_backend.py                # every row (about 2-3 min on 2 cores)
    python benchmarks/bench_backend.py --quick        # QFT only
    python benchmarks/bench_backend.py --repeat 3     # median of 3 timings per row
    python benchmarks/bench_backend.py --no-api-default   # skip the comm_aware=True column

Bar: emitting the programs costs at most twice the partition, ``emit_s / partition_s <= 2``.

Setting: k = 4, 8 and 16 identical QPUs on an all-to-all network, capacity ceil(n/k), 2
communication qubits each (``Network.uniform(k, ceil(n/k), comm_qubits=2)``: the default
cluster of ``--qpus K``).  Circuits (IR built once with ``araqne.frontend.load``; frontend time
not counted):

* ``cp_fraction(200, 670)``: DisQCO random CP circuits, 200 qubits, depth 670 (~100k ops).
* ``random_cx(200, 333)``: random 1q layer + CX on random pairs, 200 qubits (~100k ops).
* ``qft(448)``: QFT-448 without swaps, h + cp (100,576 ops).

Per (circuit, k), in one process: a warm-up ``araqne.partition(circ, net, seed=0,
comm_aware=False)`` and its ``emit()`` (numba caches, allocator), then the timed ones:
``partition_s`` is the wall time of ``araqne.partition(..., comm_aware=False)`` (hypergraph and
partitioner), ``emit_s`` the wall time of ``result.emit()`` on that result; the ratio is
``emit_s / partition_s``.  With ``--repeat R`` each is the median of R runs.

Beside the bar, each row lists the cost-model e-bits, the e-bits the programs emit (more when 2
communication qubits per QPU run short, ``evictions`` copies re-created), and -- unless
``--no-api-default`` -- the e-bits the default API call (``araqne.partition(circ, net)``,
``comm_aware=True``) emits and its total time.

Writes ``benchmarks/results/backend.json`` and prints a markdown table.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import statistics
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
from araqne.frontend import load  # noqa: E402
from araqne.network import Network  # noqa: E402

BAR = 2.0
KS = (4, 8, 16)
COMM = 2

CIRCUITS = {
    "cp_fraction(200, 670)": lambda: suite.cp_fraction(200, 670, fraction=0.5, seed=0),
    "random_cx(200, 333)": lambda: suite.random_cx(200, 333, seed=0),
    "qft(448)": lambda: suite.qft(448),
}
QUICK = ("qft(448)",)


from _common import git_state  # noqa: E402  (benchmarks/ is on sys.path)

def timed(fn):
    gc.collect()
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def measure(circ, k: int, repeat: int, api_default: bool) -> dict:
    n = circ.num_qubits
    cap = math.ceil(n / k)
    net = Network.uniform(k, cap, comm_qubits=COMM)
    warm = araqne.partition(circ, net, seed=0, comm_aware=False)  # warm-up: numba caches
    warm.emit()
    del warm
    part_times, emit_times = [], []
    result = em = None
    for _ in range(repeat):
        result, tp = timed(lambda: araqne.partition(circ, net, seed=0, comm_aware=False))
        em, te = timed(result.emit)
        part_times.append(tp)
        emit_times.append(te)
    tp, te = statistics.median(part_times), statistics.median(emit_times)
    row = {
        "k": k,
        "capacity": cap,
        "comm_qubits": COMM,
        "partition_s": round(tp, 4),
        "emit_s": round(te, 4),
        "ratio": round(te / tp, 3),
        "pass": te / tp <= BAR,
        "partition_runs_s": [round(x, 4) for x in part_times],
        "emit_runs_s": [round(x, 4) for x in emit_times],
        "stages_s": {key: round(float(v), 4) for key, v in result.timings.items()},
        "ebits_model": int(result.ebits_model),
        "ebits_emitted": int(em.ebits),
        "evictions": int(em.evictions),
        "peak_comm": [int(x) for x in em.peak_comm],
        "distributed_qasm_bytes": len(em.distributed_qasm),
    }
    del result, em
    if api_default:
        res, t_api = timed(lambda: araqne.partition(circ, net, seed=0))
        em = res.emit()
        row["api_default"] = {"total_s": round(t_api, 4), "ebits_model": int(res.ebits_model),
                              "ebits_emitted": int(em.ebits),
                              "stages_s": {key: round(float(v), 4)
                                           for key, v in res.timings.items()}}
        del res, em
    return row


def markdown(rows: list[dict], api_default: bool) -> str:
    head = ["circuit", "n", "ops", "k", "partition s", "emit s", "emit/partition", "bar <= 2",
            "e-bits model", "e-bits emitted", "evictions"]
    if api_default:
        head += ["default API: e-bits emitted", "default API s"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [r["circuit"], r["num_qubits"], r["num_ops"], r["k"], f"{r['partition_s']:.2f}",
                 f"{r['emit_s']:.2f}", f"{r['ratio']:.2f}", "pass" if r["pass"] else "FAIL",
                 r["ebits_model"], r["ebits_emitted"], r["evictions"]]
        if api_default:
            a = r.get("api_default", {})
            cells += [a.get("ebits_emitted", ""), f"{a['total_s']:.2f}" if a else ""]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="QFT-448 only")
    ap.add_argument("--repeat", type=int, default=1, help="timed runs per row (median)")
    ap.add_argument("--no-api-default", action="store_true",
                    help="skip the default API call (comm_aware=True) column")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "backend.json"))
    args = ap.parse_args(argv)
    api_default = not args.no_api_default
    names = QUICK if args.quick else tuple(CIRCUITS)
    rows = []
    t_start = time.perf_counter()
    for name in names:
        circ = load(CIRCUITS[name]())
        for k in KS:
            row = {"circuit": name, "num_qubits": int(circ.num_qubits),
                   "num_ops": int(circ.num_ops), "num_two_qubit": int(circ.num_two_qubit())}
            row.update(measure(circ, k, args.repeat, api_default))
            rows.append(row)
            print(f"{name:24s} k={k:2d}  partition {row['partition_s']:6.2f}s  emit "
                  f"{row['emit_s']:6.2f}s  ratio {row['ratio']:5.2f}  e-bits "
                  f"{row['ebits_model']} -> {row['ebits_emitted']}"
                  + (f"  (default API emits {row['api_default']['ebits_emitted']})"
                     if api_default else ""), file=sys.stderr, flush=True)
    table = markdown(rows, api_default)
    out = {
        "benchmark": "backend emission time vs partition time (issue #3)",
        "command": "python benchmarks/bench_backend.py"
                   + (" --quick" if args.quick else "")
                   + (f" --repeat {args.repeat}" if args.repeat != 1 else "")
                   + (" --no-api-default" if not api_default else ""),
        "bar": f"emit_s / partition_s <= {BAR}",
        "all_pass": all(r["pass"] for r in rows),
        "setting": {"network": "all-to-all", "capacity": "ceil(n/k)", "comm_qubits": COMM,
                    "seed": 0, "partition": "araqne.partition(circ, net, seed=0, "
                    "comm_aware=False), after a warm-up call; emit: result.emit()"},
        "araqne_version": araqne.__version__,
        "git": git_state(),
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "cpus": os.cpu_count()},
        "wall_s": round(time.perf_counter() - t_start, 1),
        "rows": rows,
    }
    path = Path(args.out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    print(table)
    print(f"\nwrote {path} ({out['wall_s']} s); all rows within the bar: {out['all_pass']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
