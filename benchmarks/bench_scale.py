"""End-to-end scale against Qiskit's own QASM 2 parse (issue #7, "Scale").

Writes a seeded random OpenQASM 2 file (default 10,000 qubits, 1,000,000 gates: 40% cx, 30% cp,
30% rz, the generator of ``bench_frontend.py``), then runs, each in its own child process so that
peak memory is measured per job:

1. ``qiskit.qasm2.loads`` of the file (the reference workload of the ratio);
2. ``araqne partition FILE --qpus K --out DIR --json`` end to end (parse, partition, emit every
   file), its wall time as a ratio to the parse, its peak resident memory, and the stage timings
   it reports;
3. with ``--huge``, ``araqne partition`` without ``--out`` on a 100,000-qubit, 10,000,000-gate
   file (partition only, "a few minutes").

Before timing, a small circuit goes through the CLI once, and a 150,000-gate one through
``araqne partition`` (the kernels of large hypergraphs), so that numba's on-disk cache is warm
(compilation is a one-time cost of a fresh install, not of a run).  Bars: end-to-end at most 3x
the parse, peak under 2 GB.  Run ``python benchmarks/bench_scale.py [--qubits N] [--gates M]
[--qpus K] [--huge]``; writes ``benchmarks/results/scale.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

GIB = 1024 ** 3


def write_circuit(path: Path, n: int, m: int, seed: int = 1, chunk: int = 1_000_000) -> None:
    """The seeded random circuit of bench_frontend.py, written in chunks (10M gates fit too)."""
    rng = np.random.default_rng(seed)
    with path.open("w") as fh:
        fh.write(f'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[{n}];\n')
        for start in range(0, m, chunk):
            size = min(chunk, m - start)
            kind = rng.random(size)
            a = rng.integers(0, n, size)
            b = (a + 1 + rng.integers(0, n - 1, size)) % n
            ang = rng.uniform(0, 3, size)
            lines = []
            for r, x, y, t in zip(kind.tolist(), a.tolist(), b.tolist(), ang.tolist()):
                if r < 0.4:
                    lines.append(f"cx q[{x}],q[{y}];")
                elif r < 0.7:
                    lines.append(f"cp({t:.6f}) q[{x}],q[{y}];")
                else:
                    lines.append(f"rz({t:.6f}) q[{x}];")
            fh.write("\n".join(lines) + "\n")


def timed_child(argv: list[str]) -> dict:
    """Run one child process: its wall time, its own peak RSS (from wait4) and its stdout."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # the outputs are small (JSON summaries), so read them before reaping with wait4
    out = proc.stdout.read()
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"bench_scale: {' '.join(argv[:6])} ... failed ({proc.returncode}): "
                         f"{err.strip()[-800:]}")
    return {"wall_s": wall, "peak_rss_bytes": usage.ru_maxrss * 1024, "stdout": out}


PARSE = ("import sys, time, qiskit.qasm2 as q\n"
         "t = time.perf_counter()\n"
         "c = q.load(sys.argv[1], custom_instructions=q.LEGACY_CUSTOM_INSTRUCTIONS)\n"
         "print(time.perf_counter() - t)\n")


def araqne_cmd() -> list[str]:
    return [sys.executable, "-m", "araqne.cli"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--qubits", type=int, default=10_000)
    ap.add_argument("--gates", type=int, default=1_000_000)
    ap.add_argument("--qpus", type=int, default=16)
    ap.add_argument("--huge", action="store_true",
                    help="also partition a 100,000-qubit, 10,000,000-gate circuit (no emission)")
    ap.add_argument("--out", type=Path,
                    default=Path(__file__).parent / "results" / "scale.json")
    args = ap.parse_args()
    row: dict = {"qubits": args.qubits, "gates": args.gates, "qpus": args.qpus}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        warm = tmp / "warm.qasm"
        write_circuit(warm, 40, 400)
        timed_child(araqne_cmd() + ["partition", str(warm), "--qpus", "4", "--out",
                                    str(tmp / "warm_out"), "--json", "--quiet"])
        # the kernels of large hypergraphs (over 200,000 pins) compile on their first use too
        write_circuit(warm, 2_000, 150_000)
        timed_child(araqne_cmd() + ["partition", str(warm), "--qpus", "4", "--json",
                                    "--quiet"])
        path = tmp / "random.qasm"
        t0 = time.perf_counter()
        write_circuit(path, args.qubits, args.gates)
        row["write_s"] = round(time.perf_counter() - t0, 3)
        parse = timed_child([sys.executable, "-c", PARSE, str(path)])
        row["qiskit_parse_s"] = round(float(parse["stdout"].strip()), 3)
        row["qiskit_parse_process_s"] = round(parse["wall_s"], 3)
        row["qiskit_parse_peak_gib"] = round(parse["peak_rss_bytes"] / GIB, 3)
        run = timed_child(araqne_cmd() + ["partition", str(path), "--qpus", str(args.qpus),
                                          "--out", str(tmp / "out"), "--json", "--quiet"])
        summary = json.loads(run["stdout"])
        row["ebits"] = summary.get("ebits")
        row["end_to_end_s"] = round(run["wall_s"], 3)
        row["end_to_end_over_parse"] = round(run["wall_s"] / parse["wall_s"], 3)
        row["peak_gib"] = round(run["peak_rss_bytes"] / GIB, 3)
        row["stage_s"] = summary.get("timings")
        row["bar_ratio_3x"] = "PASS" if row["end_to_end_over_parse"] <= 3 else "FAIL"
        row["bar_memory_2gb"] = "PASS" if run["peak_rss_bytes"] < 2e9 else "FAIL"
        print(json.dumps(row, indent=2), flush=True)
        path.unlink()
        if args.huge:
            huge = tmp / "huge.qasm"
            write_circuit(huge, 100_000, 10_000_000)
            big = timed_child(araqne_cmd() + ["partition", str(huge), "--qpus", str(args.qpus),
                                              "--json", "--quiet"])
            summary = json.loads(big["stdout"])
            row["huge"] = {"qubits": 100_000, "gates": 10_000_000, "qpus": args.qpus,
                           "ebits": summary.get("ebits"), "wall_s": round(big["wall_s"], 3),
                           "peak_gib": round(big["peak_rss_bytes"] / GIB, 3),
                           "stage_s": summary.get("timings")}
            print(json.dumps(row["huge"], indent=2), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(row, indent=2) + "\n")


if __name__ == "__main__":
    main()
