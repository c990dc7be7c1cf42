"""Frontend cost against Qiskit's own QASM 2 parse (issue #2: "little more than Qiskit's parse").

Writes a seeded random OpenQASM 2 file (default 10,000 qubits, 1,000,000 gates: 40% cx, 30% cp,
30% rz) to a temporary folder, then in one process times ``qiskit.qasm2.loads`` alone, the
conversion of the parsed circuit to araqne's array IR (``araqne.frontend.from_qiskit``), and
``araqne.frontend.load`` end to end.  Run: ``python benchmarks/bench_frontend.py
[--qubits N] [--gates M]``; writes ``benchmarks/results/frontend.json``.
"""

from __future__ import annotations

import argparse
import gc
import json
import tempfile
import time
from pathlib import Path

from bench_scale import write_circuit  # the same seeded circuit


def main() -> None:
    import qiskit.qasm2 as qasm2

    from araqne import frontend

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--qubits", type=int, default=10_000)
    ap.add_argument("--gates", type=int, default=1_000_000)
    ap.add_argument("--out", type=Path,
                    default=Path(__file__).parent / "results" / "frontend.json")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "random.qasm"
        write_circuit(path, args.qubits, args.gates)
        text = path.read_text()
        frontend.load("OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[2];\ncx q[0],q[1];\n")
        t0 = time.perf_counter()
        qc = qasm2.loads(text, custom_instructions=qasm2.LEGACY_CUSTOM_INSTRUCTIONS)
        parse = time.perf_counter() - t0
        t0 = time.perf_counter()
        circ = frontend.from_qiskit(qc, "random")
        convert = time.perf_counter() - t0
        del qc
        gc.collect()
        t0 = time.perf_counter()
        frontend.load(path)
        load = time.perf_counter() - t0
    row = {"qubits": args.qubits, "gates": args.gates, "ops": circ.num_ops,
           "qiskit_parse_s": round(parse, 3), "convert_s": round(convert, 3),
           "convert_over_parse": round(convert / parse, 3), "load_s": round(load, 3),
           "load_over_parse": round(load / parse, 3)}
    print(json.dumps(row, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(row, indent=2) + "\n")


if __name__ == "__main__":
    main()
