"""Exact peephole simplification (araqne.simplify) and its use by araqne.partition."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from qiskit import QuantumCircuit, transpile
from qiskit.quantum_info import Operator

from araqne import api, suite
from araqne.frontend import from_qiskit, to_qiskit
from araqne.ir import from_ops
from araqne.network import Network
from araqne.simplify import simplify

H_AS_U = (np.pi / 2, 0.0, np.pi)

# gates the rules know, with their parameters; "u*" is u(pi/2, 0, pi) = h, "cp*" cp(pi) = cz
ONE = [("h", ()), ("x", ()), ("y", ()), ("z", ()), ("s", ()), ("sdg", ()), ("t", ()),
       ("tdg", ()), ("sx", ()), ("sxdg", ()), ("u", H_AS_U), ("rz", (0.3,)), ("ry", (0.7,))]
TWO = [("cx", ()), ("cz", ()), ("cy", ()), ("ch", ()), ("cp", (np.pi,)), ("cp", (0.4,)),
       ("rzz", (0.2,))]


def _exact(a, b) -> bool:
    """Same unitary, global phase included."""
    return np.allclose(Operator(to_qiskit(a)).data, Operator(to_qiskit(b)).data, atol=1e-9)


@st.composite
def redundant_circuits(draw):
    """Random circuits of the rules' gates, with inverse pairs and H-CZ-H triples planted."""
    n = draw(st.integers(2, 4))
    ops = []
    for _ in range(draw(st.integers(0, 30))):
        pick = draw(st.integers(0, 5))
        if pick <= 1:
            name, ps = draw(st.sampled_from(ONE))
            ops.append((name, (draw(st.integers(0, n - 1)),), ps))
        elif pick == 2:
            name, ps = draw(st.sampled_from(TWO))
            a, b = draw(st.lists(st.integers(0, n - 1), min_size=2, max_size=2, unique=True))
            ops.append((name, (a, b), ps))
        elif pick == 3:  # an inverse pair, possibly around more
            name, inv = draw(st.sampled_from([("h", "h"), ("x", "x"), ("s", "sdg"),
                                              ("t", "tdg"), ("sx", "sxdg"), ("y", "y")]))
            q = draw(st.integers(0, n - 1))
            ops.append((name, (q,), ()))
            if draw(st.booleans()):
                ops.append(("z", (q,), ()))
                ops.append(("z", (q,), ()))
            ops.append((inv, (q,), ()))
        elif pick == 4:  # a two-qubit self-inverse pair, maybe operands swapped
            name = draw(st.sampled_from(["cx", "cz", "cy", "ch"]))
            a, b = draw(st.lists(st.integers(0, n - 1), min_size=2, max_size=2, unique=True))
            ops.append((name, (a, b), ()))
            ops.append((name, (b, a) if draw(st.booleans()) else (a, b), ()))
        else:  # h t; cz c, t; h t
            c, t = draw(st.lists(st.integers(0, n - 1), min_size=2, max_size=2, unique=True))
            ops += [("h", (t,), ()), ("cz", (c, t) if draw(st.booleans()) else (t, c), ()),
                    ("h", (t,), ())]
    return from_ops(n, ops)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(circ=redundant_circuits())
def test_simplified_circuit_is_the_same_unitary(circ):
    s = simplify(circ)
    assert _exact(circ, s.circuit)
    assert s.removed == circ.num_ops - s.circuit.num_ops
    assert np.all(np.diff(s.origin) > 0)  # order kept
    for i, j in enumerate(s.origin.tolist()):
        name, qs, _ = s.circuit.op(i)
        was, wqs, _ = circ.op(j)
        if name != was:  # only a CZ (or cp(pi)) becomes a CX, on the same qubits
            assert name == "cx" and was in ("cz", "cp") and set(qs) == set(wqs)
    # nothing left to do: simplifying again changes nothing
    assert not simplify(s.circuit).changed


def test_nests_cancel_and_pairs_must_be_adjacent():
    assert simplify(from_ops(1, [("h", (0,)), ("x", (0,)), ("x", (0,)), ("h", (0,))])) \
        .circuit.num_ops == 0
    # rz between the two h: nothing cancels
    circ = from_ops(1, [("h", (0,)), ("rz", (0,), (0.2,)), ("h", (0,))])
    assert not simplify(circ).changed
    # cx pair with a gate on the target in between
    circ = from_ops(2, [("cx", (0, 1)), ("x", (1,)), ("cx", (0, 1))])
    assert not simplify(circ).changed
    # cx(0,1) cx(1,0) is not the identity
    assert not simplify(from_ops(2, [("cx", (0, 1)), ("cx", (1, 0))])).changed
    # cz is symmetric
    assert simplify(from_ops(2, [("cz", (0, 1)), ("cz", (1, 0))])).circuit.num_ops == 0


def test_measurements_and_conditions_are_left_alone():
    qc = QuantumCircuit(2, 1)
    qc.h(0)
    qc.measure(0, 0)
    qc.h(0)
    qc.h(1)
    with qc.if_test((qc.clbits[0], 1)):
        qc.h(1)
    qc.x(1)
    qc.x(1)
    s = simplify(from_qiskit(qc, "m"))
    assert s.removed == 2  # only the x pair
    assert [op[0] for op in s.circuit.ops()] == ["h", "measure", "h", "h", "h"]


def test_transpiled_swaps_become_cx_again():
    qc = QuantumCircuit(3)
    qc.swap(0, 1)
    qc.cx(2, 1)
    t = transpile(qc, basis_gates=["u", "cp"], optimization_level=0)
    s = simplify(from_qiskit(t, "t"))
    # the h h between the swap's last cx and the next cancel first: h cz cz h remains there
    assert [op[0] for op in s.circuit.ops()] == ["cx", "cx", "h", "cp", "cp", "h"]
    assert s.recognised == 2
    assert Operator(qc).equiv(Operator(to_qiskit(s.circuit)))


def test_cz_fraction_family_loses_many_gates():
    circ = from_qiskit(suite.cz_fraction(30, 30, 0.5, seed=0), "cz")
    s = simplify(circ)
    assert s.removed > 0.3 * circ.num_ops


@pytest.mark.parametrize("k", [2, 3])
def test_partition_of_a_simplified_circuit_verifies_and_names_the_input(k):
    qc = suite.cz_fraction(9, 9, 0.5, seed=3)
    net = Network.uniform(k, 9 // k + 1, 2)
    result = api.distribute(qc, net, seed=0)
    assert result.simplified["ops_removed"] > 0
    summary = result.summary()
    assert summary["num_ops"] == qc.size()
    assert summary["simplified"] == result.simplified
    assert list(summary)[-1] == "timings"
    src = result.source
    assert src.num_ops == qc.size()
    served = [i for pair in result.schedule["pairs"] for i in pair.get("serves", [])]
    assert served and all(src.op(i)[0] == "cz" for i in served)
    report = api.verify(qc, net, seed=0)
    assert report.worst_fidelity > 1 - 1e-9
    # the e-bits the partitioner reports are those of the emitted programs
    assert result.ebits == len(re.findall(r"^epr ", result.to_qasm(), re.M))
    plain = api.partition(qc, net, seed=0, simplify=False)
    assert not plain.simplified and "simplified" not in plain.summary()


def test_moves_name_input_operations():
    qc = transpile(suite.cp_fraction(12, 12, 0.5, seed=1), basis_gates=["u", "cp"],
                   optimization_level=0)
    qc.h(0)
    qc.h(0)
    result = api.partition(qc, Network.uniform(2, 7, 12), seed=0)
    src = result.source
    assert src is not None and src.num_ops == qc.size()
    for move in result.summary().get("moves", []):
        assert 0 <= move["before_op"] <= src.num_ops


def test_cli_no_simplify(tmp_path):
    from click.testing import CliRunner

    from araqne.cli import main
    path = tmp_path / "c.qasm"
    path.write_text('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[4];\nh q[0];\nh q[0];\n'
                    "cx q[0],q[2];\ncx q[1],q[3];\n")
    for flags, removed in (([], 2), (["--no-simplify"], None)):
        res = CliRunner().invoke(main, ["partition", str(path), "--qpus", "2", "--json",
                                        "--no-timings", *flags])
        assert res.exit_code == 0, res.output
        data = json.loads(res.output)
        assert data["num_ops"] == 4
        assert data.get("simplified", {}).get("ops_removed") == removed
