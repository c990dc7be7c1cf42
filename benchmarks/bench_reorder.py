#!/usr/bin/env python
"""Commutation-aware reordering (issue #5 part 1): windows, model e-bits, emitted Bell pairs.

    python benchmarks/bench_reorder.py            # the table below (about 1-2 min on 2 cores)
    python benchmarks/bench_reorder.py --quick    # three circuits, k = 2

For every circuit and k (uniform all-to-all cluster, capacity ceil(n/k), 2 communication qubits
per QPU, seed 0), columns:

* ``windows``: ``find_windows(c).num_windows`` of the input and of ``reorder(c)``;
* ``model``: ``partition(c, qpus=k, comm_aware=False).ebits_model`` of the input and of
  ``reorder(c)`` (the cost model);
* ``emitted``: Bell pairs of the emitted programs for that same partition of the input, emitted
  in input order and in the order of ``reorder_placed`` (the backend re-makes evicted copies
  when communication qubits run short; the model does not count that);
* ``api``: ``partition(c, qpus=k).ebits`` (default ``comm_aware=True``: the emitted count) as
  the API is now, and with the proposed wiring (``PartitionResult.emit`` emits
  ``reorder_placed``'s order; emulated here by patching that method, see ``proposed_emit``);
* times of ``reorder`` and ``reorder_placed`` (numba warm).

Also times ``reorder`` on 1M random gates.  Writes ``benchmarks/results/reorder.json`` and
prints a markdown table.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
try:
    import araqne  # noqa: F401
except ImportError:  # running from a checkout without an install
    sys.path.insert(0, str(ROOT))

CIRCUITS = [
    # (label, suite name or callable name, kwargs)
    ("qft_32", "qft_32", None),
    ("qft_64", "qft_64", None),
    ("qaoa_regular3_16", "qaoa_regular3_16", None),
    ("qaoa_gnp_32 (p=2)", "qaoa_gnp_32", None),
    ("qaoa_gnp_64", "qaoa_gnp_64", None),
    ("cp_fraction_32", "cp_fraction_32", None),
    ("cp_fraction_64", "cp_fraction_64", None),
    ("cp_fraction_128", "cp_fraction_128", None),
    ("quantum_volume_16", "quantum_volume", {"n": 16, "seed": 0}),
    ("quantum_volume_32", "quantum_volume_32", None),
    ("uccsd_like_12", "uccsd_like_12", None),
    ("uccsd_like_24", "uccsd_like_24", None),
    ("random_cx_32", "random_cx_32", None),
    ("random_cx_128", "random_cx_128", None),
    ("ripple_carry_adder_16", "ripple_carry_adder_16", None),
    ("efficient_su2_32", "efficient_su2_32", None),
]
QUICK = ["qft_32", "qaoa_gnp_32 (p=2)", "cp_fraction_32"]


from _common import git_state  # noqa: E402  (benchmarks/ is on sys.path)

def build(spec):
    from araqne import suite
    from araqne.frontend import from_qiskit
    label, name, kwargs = spec
    qc = suite.get(name).build() if kwargs is None else getattr(suite, name)(**kwargs)
    return from_qiskit(qc, name=label)


def proposed_emit(self):
    """The body ``PartitionResult.emit`` gets with the proposed ``api.py`` change."""
    if self._emission is None:
        from araqne.backend import emit
        from araqne.reorder import reorder_placed
        t0 = time.perf_counter()
        ro = reorder_placed(self.circuit, self.packets, self.assignment, self.gate_qpu)
        self._emission = ro.relabel(emit(ro.circuit, ro.packets, self.assignment, ro.gate_qpu,
                                         self.network))
        self.timings["backend"] = time.perf_counter() - t0
    return self._emission


@contextlib.contextmanager
def proposed_api():
    from araqne.api import PartitionResult
    saved = PartitionResult.emit
    PartitionResult.emit = proposed_emit
    try:
        yield
    finally:
        PartitionResult.emit = saved


def timed(fn, *args, repeat: int = 3):
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn(*args)
        best = min(best, time.perf_counter() - t0)
    return out, best


def run_circuit(circ, ks):
    import numpy as np

    from araqne.api import partition
    from araqne.backend import emit
    from araqne.packets import find_windows
    from araqne.reorder import reorder, reorder_placed

    reordered, t_re = timed(reorder, circ)
    p0, p1 = find_windows(circ), find_windows(reordered)
    rows = []
    for k in ks:
        r0 = partition(circ, qpus=k, comm_aware=False)
        r1 = partition(reordered, qpus=k, comm_aware=False)
        em_in = r0.emit()
        ro, t_pl = timed(reorder_placed, circ, r0.packets, r0.assignment, r0.gate_qpu)
        em_re = emit(ro.circuit, ro.packets, r0.assignment, ro.gate_qpu, r0.network)
        api_now = partition(circ, qpus=k)
        with proposed_api():
            api_new = partition(circ, qpus=k)
        rows.append({
            "circuit": circ.name, "n": circ.num_qubits, "ops": circ.num_ops, "k": k,
            "windows": int(p0.num_windows), "windows_reordered": int(p1.num_windows),
            "window_span": int(np.sum(p0.last - p0.first)),
            "window_span_reordered": int(np.sum(p1.last - p1.first)),
            "model": int(r0.ebits_model), "model_reordered": int(r1.ebits_model),
            "emitted": int(em_in.ebits), "emitted_reordered": int(em_re.ebits),
            "evictions": int(em_in.evictions), "evictions_reordered": int(em_re.evictions),
            "api_now": int(api_now.ebits), "api_now_model": int(api_now.ebits_model),
            "api_proposed": int(api_new.ebits), "api_proposed_model": int(api_new.ebits_model),
            "reorder_s": round(t_re, 5), "reorder_placed_s": round(t_pl, 5),
        })
    return rows


def big_timing(m: int = 1_000_000) -> dict:
    import numpy as np

    from araqne.ir import GATES, KIND, KIND_NP, KIND_NQ, Circuit
    from araqne.reorder import reorder, reorder_permutation

    rng = np.random.default_rng(0)
    n = 200
    kinds = np.array([KIND[g.name] for g in GATES if g.name not in ("measure", "reset")],
                     dtype=np.int16)
    kind = kinds[rng.integers(len(kinds), size=m)]
    nq = KIND_NQ[kind]
    qptr = np.concatenate([[0], np.cumsum(nq)]).astype(np.int64)
    a = rng.integers(n, size=m)
    b = (a + 1 + rng.integers(n - 1, size=m)) % n
    qargs = np.empty(qptr[-1], dtype=np.int64)
    qargs[qptr[:-1]] = a
    qargs[qptr[:-1][nq == 2] + 1] = b[nq == 2]
    pptr = np.concatenate([[0], np.cumsum(KIND_NP[kind])]).astype(np.int64)
    circ = Circuit(n, 0, kind, qptr, qargs, pptr, rng.uniform(-3, 3, pptr[-1]),
                   np.full(m, -1, dtype=np.int64), np.full(m, -1, dtype=np.int64))
    _, t = timed(reorder, circ, repeat=2)
    assignment = np.arange(n) % 4
    gate_qpu = (assignment[a] + 1) % 4
    _, tp = timed(reorder_permutation, circ, assignment, gate_qpu, repeat=2)
    return {"ops": m, "qubits": n, "reorder_s": round(t, 3), "reorder_placed_s": round(tp, 3)}


def markdown(rows) -> str:
    head = ("| circuit | ops | k | windows (in / reordered) | model e-bits (in / reordered) | "
            "emitted, input order | emitted, reorder_placed | api now | api proposed | "
            "reorder s | reorder_placed s |")
    lines = [head, "|" + "---|" * 11]
    for r in rows:
        lines.append(
            f"| {r['circuit']} | {r['ops']} | {r['k']} | {r['windows']} / "
            f"{r['windows_reordered']} | {r['model']} / {r['model_reordered']} | "
            f"{r['emitted']} | {r['emitted_reordered']} | {r['api_now']} | "
            f"{r['api_proposed']} | {r['reorder_s']:.4f} | {r['reorder_placed_s']:.4f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "reorder.json"))
    args = ap.parse_args(argv)
    from araqne.ir import from_ops
    from araqne.reorder import reorder
    reorder(from_ops(2, [("cz", (0, 1))]))  # numba warm-up
    specs = [s for s in CIRCUITS if not args.quick or s[0] in QUICK]
    ks = (2,) if args.quick else (2, 4)
    rows = []
    for spec in specs:
        rows.extend(run_circuit(build(spec), ks))
        print(f"  {spec[0]} done", file=sys.stderr, flush=True)
    big = None if args.quick else big_timing()
    table = markdown(rows)
    print(table)
    if big:
        print(f"\n1M random gates on {big['qubits']} qubits: reorder {big['reorder_s']} s, "
              f"reorder_placed {big['reorder_placed_s']} s")
    out = {"rows": rows, "one_million": big, "git": git_state(),
           "machine": {"python": platform.python_version(), "platform": platform.platform()}}
    path = Path(args.out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
