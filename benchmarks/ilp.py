#!/usr/bin/env python
"""Exact optima of the static packet model by integer programming, against the partitioner.

    python benchmarks/ilp.py                  # full instance list (about 10-15 min on 2 cores)
    python benchmarks/ilp.py --quick          # a handful of instances (about 1-2 min)
    python benchmarks/ilp.py --time-limit 60  # seconds per ILP (default 60)
    python benchmarks/ilp.py --only qft_16    # instances whose name contains a word

The integer program (solved by HiGHS through ``scipy.optimize.milp``) is the km1 objective of
the packet hypergraph (:mod:`araqne.hypergraph`):

* ``x[q, p]`` binary: qubit ``q`` lives on QPU ``p``; ``sum_p x[q, p] = 1``; per QPU
  ``sum_q w_q x[q, p] <= capacity_p``.
* ``y[g, p]``: free gate vertex ``g`` (gates sharing one pair of windows) runs on ``p``;
  ``sum_p y[g, p] = 1`` and ``y[g, p] <= x[a, p] + x[b, p]`` for its qubits ``a, b`` (it runs
  beside one of them, as the partitioner places it).  ``y`` is continuous: for integral ``x``
  the gate placement is a bipartite vertex cover (:mod:`araqne.partitioner.cover`), whose LP is
  integral (``--binary-gates`` makes ``y`` binary to check).
* ``z[e, p] >= pin_p - x[root(e), p]`` for every pin of hyperedge ``e`` other than its root
  (``pin_p`` is ``x[v, p]`` for a qubit pin, ``y[g, p]`` for a gate pin), ``z >= 0``: the
  hyperedge pays one e-bit per QPU other than its root's that holds one of its pins.
* minimise ``sum_e weight_e sum_p z[e, p]``: the e-bits of :func:`araqne.objective.cost` on an
  all-to-all network.
* symmetry breaking when all capacities are equal: ``x[q, p] = 0`` for ``p > q`` (relabel the
  QPUs in the order of their smallest qubit), so qubit 0 is on QPU 0.

``--any-qpu`` drops ``y <= x[a] + x[b]`` (a gate may run on a third QPU holding copies of both
operands, which :func:`araqne.objective.cost` also accepts) to see whether the restriction loses
anything.

Each instance is compared with the cost-model e-bits of the core partitioner,
``araqne.partition(circuit, Network.uniform(k, c), seed=0, comm_aware=False)`` (default effort;
no communication-qubit-aware re-selection, which optimises emitted Bell pairs instead).  Only
instances HiGHS proves optimal within the time limit count towards the bar ("reaches the
optimum on at least 9 instances out of 10 and is never more than 10% above"); the others are
listed with their gap.  Writes ``benchmarks/results/ilp.json`` and prints a
markdown table.
"""

from __future__ import annotations

import argparse
import inspect
import json
import math
import platform
import sys
import time
from pathlib import Path

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_matrix

ROOT = Path(__file__).resolve().parent.parent
try:
    import araqne  # noqa: F401
except ImportError:  # running from a checkout without an install
    sys.path.insert(0, str(ROOT))


from _common import git_state  # noqa: E402  (benchmarks/ is on sys.path)

# --------------------------------------------------------------------------------------------
# The integer program
# --------------------------------------------------------------------------------------------

def build_ilp(hg, capacities, any_qpu: bool = False, binary_gates: bool = False,
              symmetry: bool = True):
    """The integer program of the packet hypergraph ``hg`` on QPUs of ``capacities``.

    Returns ``(c, integrality, bounds, constraints, layout)`` for :func:`scipy.optimize.milp`;
    ``layout`` holds the offsets of the ``x``, ``y`` and ``z`` blocks and the hyperedges that
    got ``z`` variables.
    """
    caps = np.asarray(capacities, dtype=np.int64)
    n, F, k = hg.num_qubits, hg.num_gates, int(caps.shape[0])
    sizes = np.diff(hg.eptr)
    edges = np.flatnonzero(sizes >= 2)  # a hyperedge holding only its root costs nothing
    ne = edges.shape[0]
    ox, oy, oz = 0, n * k, n * k + F * k
    nvar = oz + ne * k

    def X(q, p):
        return ox + q * k + p

    def Y(g, p):
        return oy + g * k + p

    def Z(i, p):
        return oz + i * k + p

    rows, cols, vals, lo, hi = [], [], [], [], []
    r = 0

    def add(cs, vs, lb, ub):
        nonlocal r
        rows.extend([r] * len(cs))
        cols.extend(cs)
        vals.extend(vs)
        lo.append(lb)
        hi.append(ub)
        r += 1

    ps = list(range(k))
    for q in range(n):
        add([X(q, p) for p in ps], [1.0] * k, 1.0, 1.0)
    for g in range(F):
        add([Y(g, p) for p in ps], [1.0] * k, 1.0, 1.0)
        if not any_qpu:
            a, b = int(hg.gate_qubits[g, 0]), int(hg.gate_qubits[g, 1])
            for p in ps:
                if a == b:
                    add([Y(g, p), X(a, p)], [1.0, -1.0], -np.inf, 0.0)
                else:
                    add([Y(g, p), X(a, p), X(b, p)], [1.0, -1.0, -1.0], -np.inf, 0.0)
    w = hg.vweight.astype(float)
    for p in ps:
        add([X(q, p) for q in range(n)], list(w), -np.inf, float(caps[p]))
    for i, e in enumerate(edges):
        root = int(hg.roots[e])
        for v in hg.epin[hg.eptr[e]:hg.eptr[e + 1]]:
            v = int(v)
            if v == root:
                continue
            for p in ps:
                pin = X(v, p) if v < n else Y(v - n, p)
                add([pin, X(root, p), Z(i, p)], [1.0, -1.0, -1.0], -np.inf, 0.0)

    A = coo_matrix((vals, (rows, cols)), shape=(r, nvar)).tocsr()
    c = np.zeros(nvar)
    c[oz:] = np.repeat(hg.eweight[edges].astype(float), k)
    integrality = np.zeros(nvar, dtype=np.int64)
    integrality[ox:oy] = 1
    if binary_gates:
        integrality[oy:oz] = 1
    ub = np.ones(nvar)
    ub[oz:] = np.inf
    if symmetry and k > 1 and np.all(caps == caps[0]):
        for q in range(min(n, k)):
            for p in range(q + 1, k):
                ub[X(q, p)] = 0.0
    bounds = Bounds(np.zeros(nvar), ub)
    constraints = LinearConstraint(A, np.array(lo), np.array(hi))
    layout = {"n": n, "F": F, "k": k, "ox": ox, "oy": oy, "oz": oz, "edges": edges,
              "num_vars": nvar, "num_rows": r}
    return c, integrality, bounds, constraints, layout


def solve_ilp(hg, capacities, time_limit: float = 60.0, any_qpu: bool = False,
              binary_gates: bool = False, symmetry: bool = True) -> dict:
    """Solve the integer program of ``hg``; return the optimum (or best found) and its proof.

    Returns a dict: ``status`` ("optimal", "time_limit", "infeasible", ...), ``proven`` (bool),
    ``ebits`` (int objective of the best solution, or None), ``bound`` (HiGHS dual bound),
    ``gap`` (relative), ``time_s``, ``part`` (QPU of each qubit), ``gate_qpu`` (QPU of each
    free-gate vertex), ``side`` (0/1 beside ``gate_qubits[g, 0/1]``, -1 when on a third QPU),
    ``num_vars``, ``num_rows``.
    """
    t0 = time.perf_counter()
    c, integ, bounds, cons, lay = build_ilp(hg, capacities, any_qpu, binary_gates, symmetry)
    t_build = time.perf_counter() - t0
    res = milp(c, integrality=integ, bounds=bounds, constraints=cons,
               options={"time_limit": float(time_limit), "mip_rel_gap": 0.0, "disp": False})
    t = time.perf_counter() - t0
    out = {"status": {0: "optimal", 1: "time_limit", 2: "infeasible", 3: "unbounded"}.get(
               res.status, "other"),
           "message": str(res.message), "time_s": t, "build_s": t_build,
           "num_vars": lay["num_vars"], "num_rows": lay["num_rows"], "ebits": None,
           "bound": None, "gap": None, "proven": False, "part": None, "gate_qpu": None,
           "side": None}
    bound = getattr(res, "mip_dual_bound", None)
    if bound is not None and np.isfinite(bound):
        out["bound"] = float(bound)
    if res.x is None:
        return out
    n, F, k = lay["n"], lay["F"], lay["k"]
    xv = res.x[lay["ox"]:lay["oy"]].reshape(n, k)
    part = np.argmax(xv, axis=1).astype(np.int64)
    yv = res.x[lay["oy"]:lay["oz"]].reshape(F, k) if F else np.zeros((0, k))
    gate_qpu = np.argmax(yv, axis=1).astype(np.int64) if F else np.zeros(0, dtype=np.int64)
    side = np.full(F, -1, dtype=np.int64)
    if F:
        side[part[hg.gate_qubits[:, 1]] == gate_qpu] = 1
        side[part[hg.gate_qubits[:, 0]] == gate_qpu] = 0
    # the objective of the decoded solution, recomputed on the hypergraph (exact integers)
    ebits = int(hg.km1(np.concatenate([part, gate_qpu]))) if n else 0
    out.update(part=part, gate_qpu=gate_qpu, side=side, ebits=ebits)
    if abs(ebits - float(res.fun)) > 1e-6:
        out["message"] += f" (decoded {ebits} != objective {res.fun})"
    if out["bound"] is not None:
        out["gap"] = (ebits - out["bound"]) / max(ebits, 1)
    # the objective is an integer: a dual bound within 1 of it proves optimality
    out["proven"] = res.status == 0 or (
        out["bound"] is not None and math.ceil(out["bound"] - 1e-6) >= ebits)
    if out["proven"]:
        out["bound"] = float(ebits) if out["bound"] is None else out["bound"]
        out["gap"] = 0.0
    return out


def ilp_gate_qpu(circ, hg, part: np.ndarray, gate_vertex_qpu: np.ndarray) -> np.ndarray:
    """QPU of every operation of ``circ`` for an ILP solution (priced by ``objective.cost``)."""
    blocks = np.concatenate([part, gate_vertex_qpu]).astype(np.int64)
    gate_qpu = part[circ.qargs[circ.qptr[:-1]]].copy() if circ.num_ops else \
        np.zeros(0, dtype=np.int64)
    two = hg.op_anchor >= 0
    gate_qpu[two] = blocks[hg.op_anchor[two]]
    return gate_qpu


# --------------------------------------------------------------------------------------------
# Instances
# --------------------------------------------------------------------------------------------

def _instances(quick: bool):
    """(name, builder, k list, capacity rule) of the comparison; builders return Qiskit circuits."""
    from araqne import suite
    I = []

    def add(name, fn, ks=(2, 3, 4), caps=("ceil",)):
        for k in ks:
            for rule in caps:
                I.append((name, fn, k, rule))

    if quick:
        add("qft(8)", lambda: suite.qft(8), ks=(2,))
        add("random_cx(8, 6, seed=0)", lambda: suite.random_cx(8, 6, seed=0), ks=(2, 3))
        add("qaoa_maxcut(10, regular3, seed=0)",
            lambda: suite.qaoa_maxcut(10, p=1, seed=0, kind="regular", degree=3), ks=(2,))
        add("cp_fraction(8, 6, seed=0)", lambda: suite.cp_fraction(8, 6, 0.5, seed=0), ks=(2,))
        return I
    add("qft(16)", lambda: suite.qft(16), ks=(2, 3, 4), caps=("ceil", "floor+1"))
    add("qft(20)", lambda: suite.qft(20), ks=(2,))
    for s in range(3):
        add(f"random_cx(16, 4, seed={s})", lambda s=s: suite.random_cx(16, 4, seed=s),
            ks=(2, 4), caps=("ceil", "floor+1"))
    add("random_cx(20, 4, seed=0)", lambda: suite.random_cx(20, 4, seed=0), ks=(2,))
    for s in range(3):
        add(f"cp_fraction(16, 6, seed={s})", lambda s=s: suite.cp_fraction(16, 6, 0.5, seed=s),
            ks=(2, 3, 4), caps=("ceil", "floor+1"))
    add("cp_fraction(24, 4, seed=0)", lambda: suite.cp_fraction(24, 4, 0.5, seed=0), ks=(2,))
    for s in range(2):
        add(f"qaoa_maxcut(16, regular3, seed={s})",
            lambda s=s: suite.qaoa_maxcut(16, p=1, seed=s, kind="regular", degree=3),
            ks=(2, 3, 4))
    add("qaoa_maxcut(24, regular3, seed=0)",
        lambda: suite.qaoa_maxcut(24, p=1, seed=0, kind="regular", degree=3), ks=(2, 3))
    add("qaoa_maxcut(32, regular3, seed=0)",
        lambda: suite.qaoa_maxcut(32, p=1, seed=0, kind="regular", degree=3), ks=(2,))
    add("ripple_carry_adder(7)", lambda: suite.ripple_carry_adder(7), ks=(2, 3, 4))
    add("ripple_carry_adder(15)", lambda: suite.ripple_carry_adder(15), ks=(2, 4))
    add("uccsd_like(12)", lambda: suite.uccsd_like(12, seed=0), ks=(2, 3, 4))
    add("ghz(32)", lambda: suite.ghz(32), ks=(2, 4))
    add("deutsch_jozsa(32)", lambda: suite.deutsch_jozsa(32), ks=(2, 4))
    return I


def _capacity(n: int, k: int, rule: str) -> int:
    return -(-n // k) if rule == "ceil" else n // k + 1


def run(instances, time_limit: float, any_qpu: bool = False, log=print) -> list[dict]:
    from araqne.api import check_cost, partition
    from araqne.objective import cost
    from araqne.frontend import from_qiskit
    from araqne.network import Network

    # warm the numba caches so the timed partitions measure the partitioner
    warm = from_qiskit(__import__("araqne.suite", fromlist=["qft"]).qft(8))
    # the core partitioner alone (no communication-qubit-aware re-selection): the figure the
    # integer program bounds is the cost model's
    core_kw = {"comm_aware": False} if "comm_aware" in inspect.signature(partition).parameters \
        else {}
    for k in (2, 3, 4):
        partition(warm, qpus=k, **core_kw)

    rows = []
    built = {}
    done = set()
    for name, fn, k, rule in instances:
        if name not in built:
            built[name] = from_qiskit(fn(), name=name)
        circ = built[name]
        n = circ.num_qubits
        cap = _capacity(n, k, rule)
        if (name, k, cap) in done:  # both capacity rules give the same capacity
            continue
        done.add((name, k, cap))
        t0 = time.perf_counter()
        r = partition(circ, Network.uniform(k, cap), seed=0, **core_kw)
        t_part = time.perf_counter() - t0
        r_ebits = int(getattr(r, "ebits_model", r.ebits))  # the cost model's figure
        assert check_cost(r) == r_ebits, name
        hg = r.hypergraph
        sol = solve_ilp(hg, np.full(k, cap, dtype=np.int64), time_limit, any_qpu=any_qpu)
        row = {"instance": name, "n": n, "k": k, "capacity": cap, "capacity_rule": rule,
               "two_qubit_gates": circ.num_two_qubit(), "packets": int(hg.num_edges),
               "gate_vertices": int(hg.num_gates), "ilp_vars": sol["num_vars"],
               "ilp_rows": sol["num_rows"], "araqne_ebits": r_ebits,
               "araqne_s": round(t_part, 4), "ilp_status": sol["status"],
               "ilp_proven": bool(sol["proven"]), "ilp_ebits": sol["ebits"],
               "ilp_bound": None if sol["bound"] is None else round(sol["bound"], 4),
               "ilp_gap": None if sol["gap"] is None else round(sol["gap"], 4),
               "ilp_s": round(sol["time_s"], 3)}
        if sol["ebits"] is not None:
            # the ILP solution, priced by the plain-Python reference objective
            gq = ilp_gate_qpu(circ, hg, sol["part"], sol["gate_qpu"])
            ref = cost(circ, sol["part"], gq, packets=r.packets)
            row["ilp_reference_cost"] = int(ref)
            assert ref == sol["ebits"], (name, ref, sol["ebits"])
            assert np.all(np.bincount(sol["part"], minlength=k) <= cap), name
        if sol["proven"]:
            opt = sol["ebits"]
            row["hit"] = r_ebits == opt
            row["ratio"] = round(r_ebits / opt, 4) if opt else (1.0 if r_ebits == 0 else None)
            row["below_optimum"] = r_ebits < opt  # would mean the ILP is wrong
        rows.append(row)
        log(_row_md(row))
    return rows


def _row_md(row: dict) -> str:
    opt = row["ilp_ebits"] if row["ilp_proven"] else (
        f"<= {row['ilp_ebits']} (>= {math.ceil(row['ilp_bound'] - 1e-6)})"
        if row["ilp_bound"] is not None and row["ilp_ebits"] is not None else "-")
    verdict = ("hit" if row.get("hit") else
               f"+{row['araqne_ebits'] - row['ilp_ebits']}" if row["ilp_proven"] else "unproven")
    ratio = row.get("ratio")
    return (f"| {row['instance']} | {row['n']} | {row['k']} | {row['capacity']} | "
            f"{row['packets']} | {row['araqne_ebits']} | {opt} | "
            f"{'-' if ratio is None else f'{ratio:.3f}'} | {verdict} | "
            f"{row['araqne_s']:.2f} | {row['ilp_s']:.1f} |")


HEADER = ("| instance | n | k | cap | packets | araqne | optimum | ratio | verdict | "
          "araqne s | ILP s |\n|---|---|---|---|---|---|---|---|---|---|---|")


def summarise(rows: list[dict]) -> dict:
    proven = [r for r in rows if r["ilp_proven"]]
    hits = sum(1 for r in proven if r["hit"])
    ratios = [r["ratio"] for r in proven if r.get("ratio") is not None]
    worst = max(ratios) if ratios else None
    bar = bool(proven) and hits >= math.ceil(0.9 * len(proven)) and (worst is None or
                                                                    worst <= 1.1)
    return {"instances": len(rows), "proven_optimal": len(proven), "hits": hits,
            "hit_rate": round(hits / len(proven), 4) if proven else None,
            "worst_ratio": worst,
            "misses": [{"instance": r["instance"], "k": r["k"], "capacity": r["capacity"],
                        "araqne": r["araqne_ebits"], "optimum": r["ilp_ebits"]}
                       for r in proven if not r["hit"]],
            "unproven": [{"instance": r["instance"], "k": r["k"], "capacity": r["capacity"],
                          "araqne": r["araqne_ebits"], "best": r["ilp_ebits"],
                          "bound": r["ilp_bound"], "gap": r["ilp_gap"]}
                         for r in rows if not r["ilp_proven"]],
            "araqne_total_s": round(sum(r["araqne_s"] for r in rows), 3),
            "ilp_total_s": round(sum(r["ilp_s"] for r in rows), 3),
            "ilp_max_proven_s": max((r["ilp_s"] for r in proven), default=None),
            "bar": "reaches the proven optimum on >= 90% of proven instances, never > 10% above",
            "bar_pass": bar}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="a few small instances")
    ap.add_argument("--time-limit", type=float, default=60.0, help="seconds per ILP")
    ap.add_argument("--only", default=None, help="run instances whose name contains this")
    ap.add_argument("--any-qpu", action="store_true",
                    help="let a gate run on any QPU (not only beside one of its qubits)")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "ilp.json"))
    args = ap.parse_args(argv)

    import araqne
    instances = _instances(args.quick)
    if args.only:
        instances = [i for i in instances if args.only in i[0]]
    print(HEADER, flush=True)
    t0 = time.perf_counter()
    rows = run(instances, args.time_limit, any_qpu=args.any_qpu,
               log=lambda s: print(s, flush=True))
    summary = summarise(rows)
    summary["wall_s"] = round(time.perf_counter() - t0, 1)
    print()
    print(f"proven optimal: {summary['proven_optimal']}/{summary['instances']}; "
          f"hits {summary['hits']}/{summary['proven_optimal']} "
          f"(rate {summary['hit_rate']}); worst ratio {summary['worst_ratio']}; "
          f"bar {'PASS' if summary['bar_pass'] else 'FAIL'}; wall {summary['wall_s']} s")
    for m in summary["misses"]:
        print(f"  miss: {m}")
    for u in summary["unproven"]:
        print(f"  unproven: {u}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    doc = {"script": "benchmarks/ilp.py", "argv": sys.argv[1:], "araqne": araqne.__version__,
           "git": git_state(), "python": platform.python_version(),
           "machine": platform.machine(),
           "time_limit_s": args.time_limit, "any_qpu": args.any_qpu, "seed": 0,
           "effort": 1.0, "summary": summary, "rows": rows}
    out.write_text(json.dumps(doc, indent=2) + "\n")
    md = out.with_suffix(".md")
    lines = [HEADER] + [_row_md(r) for r in rows]
    md.write_text("\n".join(lines) + "\n\n" + json.dumps(summary, indent=2) + "\n")
    print(f"wrote {out} and {md}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
