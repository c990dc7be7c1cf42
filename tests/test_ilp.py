"""The exact integer program of benchmarks/ilp.py against brute force on tiny circuits."""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import numpy as np
import pytest

from araqne.objective import cost
from araqne.hypergraph import build_hypergraph
from araqne.ir import from_ops
from araqne.packets import find_windows

from helpers import assignments, random_circuit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from ilp import ilp_gate_qpu, solve_ilp  # noqa: E402


def _brute(hg, caps, any_qpu=False):
    """Minimum km1 over every assignment within capacity and every gate placement."""
    n, F, k = hg.num_qubits, hg.num_gates, len(caps)
    best = None
    for part in assignments(n, caps):
        if any_qpu:
            choices = itertools.product(range(k), repeat=F)
        else:
            choices = (part[hg.gate_qubits[np.arange(F), np.array(s, dtype=np.int64)]]
                       for s in itertools.product((0, 1), repeat=F))
        for gq in choices:
            val = hg.km1(np.concatenate([part, np.asarray(gq, dtype=np.int64)]))
            best = val if best is None or val < best else best
    return best


def _check(circ, k, cap, any_qpu=False):
    pk = find_windows(circ)
    hg = build_hypergraph(circ, pk)
    caps = [cap] * k
    sol = solve_ilp(hg, np.array(caps, dtype=np.int64), time_limit=20, any_qpu=any_qpu)
    assert sol["proven"], sol["message"]
    assert sol["ebits"] == _brute(hg, caps, any_qpu)
    # the decoded solution is feasible and the reference objective prices it the same
    assert np.all(np.bincount(sol["part"], minlength=k) <= cap)
    assert cost(circ, sol["part"], ilp_gate_qpu(circ, hg, sol["part"], sol["gate_qpu"]),
                packets=pk) == sol["ebits"]
    if not any_qpu:
        assert np.all(sol["side"] >= 0)  # every gate beside one of its qubits
    return sol["ebits"]


@pytest.mark.parametrize("n,k,seed", [(4, 2, 0), (5, 2, 1), (6, 2, 2), (8, 2, 3),
                                      (5, 3, 4), (6, 3, 5), (7, 3, 6), (6, 4, 7)])
def test_ilp_matches_brute_force(n, k, seed):
    rng = np.random.default_rng(seed)
    found_positive = False
    for _ in range(3):
        circ = random_circuit(n, 2 * n, rng, p_two=0.7)
        if build_hypergraph(circ).num_gates > 9:
            continue
        found_positive |= _check(circ, k, -(-n // k)) > 0
    assert found_positive or n <= 4


@pytest.mark.parametrize("n,k,seed", [(5, 3, 10), (6, 3, 11)])
def test_ilp_any_qpu_matches_brute_force(n, k, seed):
    rng = np.random.default_rng(seed)
    for _ in range(2):
        circ = random_circuit(n, 2 * n, rng, p_two=0.7, gates=("cz", "cp", "rzz", "h", "cx"))
        if build_hypergraph(circ).num_gates > 6:
            continue
        _check(circ, k, -(-n // k), any_qpu=True)


def test_ilp_known_values():
    # Deutsch-Jozsa: every CX into one ancilla (an X window of it): one copy, 1 e-bit
    n = 8
    ops = [("h", (q,), ()) for q in range(n)] + [("cx", (q, n), ()) for q in range(n)]
    circ = from_ops(n + 1, ops)
    assert _check(circ, 2, 5) == 1
    # two cz between fixed halves of a full 2 x 2 cluster: no cut needed
    circ = from_ops(4, [("cz", (0, 1), ()), ("cz", (2, 3), ()), ("h", (0,), ()),
                        ("cz", (0, 1), ())])
    assert _check(circ, 2, 2) == 0
    # a triangle of cz between windows that a 2-qubit QPU cannot keep together
    circ = from_ops(3, [("cz", (0, 1), ()), ("cz", (1, 2), ()), ("cz", (0, 2), ())])
    assert _check(circ, 2, 2) == 1
    # the same triangle on three 1-qubit QPUs: beside one of its qubits each gate needs its
    # own copy (3 e-bits); all three on the third QPU share the copies of 0 and 1 there (2)
    circ = from_ops(3, [("cz", (0, 2), ()), ("cz", (1, 2), ()), ("cz", (0, 1), ())])
    assert _check(circ, 3, 1) == 3
    assert _check(circ, 3, 1, any_qpu=True) == 2


def test_binary_gate_variables_agree():
    rng = np.random.default_rng(42)
    for n, k in [(6, 2), (6, 3)]:
        circ = random_circuit(n, 3 * n, rng, p_two=0.8)
        hg = build_hypergraph(circ)
        caps = np.full(k, -(-n // k), dtype=np.int64)
        a = solve_ilp(hg, caps, time_limit=20)
        b = solve_ilp(hg, caps, time_limit=20, binary_gates=True)
        c = solve_ilp(hg, caps, time_limit=20, symmetry=False)
        assert a["proven"] and b["proven"] and c["proven"]
        assert a["ebits"] == b["ebits"] == c["ebits"]
