"""Special-angle one-qubit gates are renamed without changing the circuit."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from qiskit import QuantumCircuit
from qiskit.quantum_info import Operator

from araqne.frontend import from_qiskit, to_qiskit
from araqne.ir import GATES
from araqne.packets import find_windows

ANGLES = [0.0, np.pi, -np.pi, np.pi / 2, -np.pi / 2, 2 * np.pi, 0.37, -1.2]


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["u", "rx", "ry", "cp", "cx"]),
                          st.lists(st.sampled_from(ANGLES), min_size=3, max_size=3),
                          st.integers(0, 2)), min_size=1, max_size=12))
def test_renaming_keeps_the_unitary(ops):
    qc = QuantumCircuit(3)
    for name, ang, q in ops:
        if name == "u":
            qc.u(*ang, q)
        elif name == "rx":
            qc.rx(ang[0], q)
        elif name == "ry":
            qc.ry(ang[0], q)
        elif name == "cp":
            qc.cp(ang[0], q, (q + 1) % 3)
        else:
            qc.cx(q, (q + 2) % 3)
    circ = from_qiskit(qc)
    assert Operator(to_qiskit(circ)).equiv(Operator(qc))


def test_u_cp_qaoa_keeps_one_window_per_qubit():
    qc = QuantumCircuit(3)
    for q in range(3):
        qc.u(np.pi / 2, 0, np.pi, q)
    for a, b in [(0, 1), (1, 2), (0, 2)]:
        qc.cp(-0.6, a, b)
        qc.u(0, 0, 0.3, a)
        qc.u(0, 0, 0.3, b)
    for q in range(3):
        qc.u(0.2, -np.pi / 2, np.pi / 2, q)
    circ = from_qiskit(qc)
    names = {GATES[k].name for k in circ.kind}
    assert "u" not in names and {"h", "p", "rx", "cp"} <= names
    assert find_windows(circ).num_windows == 3
