"""Shared test helpers: random IR circuits and brute-force optima."""

from __future__ import annotations

import itertools

import numpy as np

from araqne.ir import GATES, from_ops

ONE_QUBIT = [g for g in GATES if g.num_qubits == 1 and g.name not in ("measure", "reset")]
TWO_QUBIT = [g for g in GATES if g.num_qubits == 2]


def random_circuit(n: int, m: int, rng: np.random.Generator, p_two: float = 0.6,
                   gates=None):
    """A random IR circuit of ``m`` table gates on ``n`` qubits."""
    ops = []
    two = TWO_QUBIT if gates is None else [g for g in TWO_QUBIT if g.name in gates]
    one = ONE_QUBIT if gates is None else [g for g in ONE_QUBIT if g.name in gates] or ONE_QUBIT
    for _ in range(m):
        if n >= 2 and rng.random() < p_two:
            g = two[rng.integers(len(two))]
            a, b = rng.choice(n, size=2, replace=False)
            qs = (int(a), int(b))
        else:
            g = one[rng.integers(len(one))]
            qs = (int(rng.integers(n)),)
        ps = tuple(float(x) for x in rng.uniform(-np.pi, np.pi, g.num_params))
        ops.append((g.name, qs, ps))
    return from_ops(n, ops)


def assignments(n: int, capacities):
    """Every assignment of ``n`` qubits to QPUs within capacity (qubit 0 on QPU 0 when all
    capacities are equal, which loses no optimum by symmetry)."""
    k = len(capacities)
    equal = len(set(capacities)) == 1
    for combo in itertools.product(range(k), repeat=n - 1 if equal else n):
        part = (0,) + combo if equal else combo
        counts = np.bincount(part, minlength=k)
        if np.all(counts <= capacities):
            yield np.array(part, dtype=np.int64)
