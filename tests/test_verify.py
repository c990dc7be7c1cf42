"""Tests of araqne.verification on hand-written distributed programs that follow the output contract."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

pytest.importorskip("qiskit_aer")
pytest.importorskip("qiskit_qasm3_import")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister  # noqa: E402

from araqne.errors import InputError  # noqa: E402
from araqne.verification import (  # noqa: E402
    VerifyReport, _count_declared_qubits, _fidelity, _normalise_conditions, load_program,
    verify_circuits, verify_program)

HEADER = """OPENQASM 3.0;
include "stdgates.inc";
gate epr a, b { h a; cx a, b; }
"""

# --------------------------------------------------------------------------------------------
# (1), (2): a remote CX with the cat-entangler / cat-disentangler (Eisert et al. 2000)
#
# epr makes (|00> + |11>)/sqrt2 on comm0, comm1.  CX qpu0 -> comm0 and measuring comm0 = m
# leaves a|0>|m> + b|1>|1-m>... on (qpu0, comm1) up to the flip m: X on comm1 if m gives the
# linked copy a|00> + b|11>.  CX copy -> target acts as CX qpu0 -> target.  H on the copy and
# measuring it = r gives (a|0> + (-1)^r b|1>) (x) ...: Z on qpu0 if r undoes the sign.

REMOTE_CX = HEADER + """
qubit[1] qpu0;
qubit[1] comm0;
qubit[1] qpu1;
qubit[1] comm1;
bit[2] c;
bit[2] cat;
h qpu0[0];
rz(0.3) qpu0[0];
ry(0.7) qpu1[0];
epr comm0[0], comm1[0];
cx qpu0[0], comm0[0];
cat[0] = measure comm0[0];
if (cat[0] == 1) x comm1[0];
cx comm1[0], qpu1[0];
h comm1[0];
cat[1] = measure comm1[0];
if (cat[1] == 1) z qpu0[0];
reset comm0[0];
reset comm1[0];
t qpu1[0];
"""


def remote_cx_input(measure: bool = False) -> QuantumCircuit:
    q = QuantumRegister(2, "q")
    c = ClassicalRegister(2, "c")
    qc = QuantumCircuit(q, c)
    qc.h(0)
    qc.rz(0.3, 0)
    qc.ry(0.7, 1)
    qc.cx(0, 1)
    qc.t(1)
    if measure:
        qc.measure(0, 0)
        qc.measure(1, 1)
    return qc


LAYOUT2 = [(0, 0), (1, 0)]
ENGINES = ["numpy", "aer"]


@pytest.mark.parametrize("engine", ENGINES)
def test_remote_cx_cat_entangler_is_exact(engine):
    rep = verify_program(remote_cx_input(), REMOTE_CX, LAYOUT2, LAYOUT2, samples=3, shots=8,
                         engine=engine)
    assert rep.engine == engine
    assert isinstance(rep, VerifyReport)
    assert rep.method == "statevector"
    assert rep.passed, rep.summary()
    assert rep.worst_fidelity > 0.999999
    assert len(rep.fidelities) == 24
    assert rep.num_qubits_simulated == 4
    assert (rep.samples, rep.shots) == (3, 8)
    assert max(rep.fidelities) < 1 + 1e-9


@pytest.mark.parametrize("engine", ENGINES)
def test_remote_cx_missing_correction_fails(engine):
    bad = REMOTE_CX.replace("if (cat[1] == 1) z qpu0[0];\n", "")
    assert bad != REMOTE_CX
    rep = verify_program(remote_cx_input(), bad, LAYOUT2, LAYOUT2, samples=3, shots=8,
                         engine=engine)
    assert not rep.passed
    assert rep.worst_fidelity < 0.9
    # the shots whose disentangler outcome was 0 are still right
    assert max(rep.fidelities) > 0.999999


@pytest.mark.parametrize("engine", ENGINES)
def test_missing_x_correction_fails(engine):
    bad = REMOTE_CX.replace("if (cat[0] == 1) x comm1[0];\n", "")
    rep = verify_program(remote_cx_input(), bad, LAYOUT2, engine=engine)
    assert rep.worst_fidelity < 0.9 and not rep.passed


def test_wrong_layout_fails():
    rep = verify_program(remote_cx_input(), REMOTE_CX, [(1, 0), (0, 0)])
    assert not rep.passed


# --------------------------------------------------------------------------------------------
# (3): state teleportation qpu0[0] -> comm1[0] -> (local swap) qpu1[1], then a gate


TELEPORT = HEADER + """
qubit[2] qpu0;
qubit[1] comm0;
qubit[2] qpu1;
qubit[1] comm1;
bit[3] c;
bit[2] tp;
h qpu0[0];
t qpu0[0];
cx qpu0[0], qpu0[1];
epr comm0[0], comm1[0];
cx qpu0[0], comm0[0];
h qpu0[0];
tp[0] = measure comm0[0];
tp[1] = measure qpu0[0];
if (tp[0]) x comm1[0];
if (tp[1]) z comm1[0];
swap comm1[0], qpu1[1];
reset comm0[0];
reset comm1[0];
reset qpu0[0];
cx qpu1[1], qpu1[0];
ry(0.4) qpu1[0];
cz qpu1[1], qpu1[0];
"""


def teleport_input(measure: bool = False) -> QuantumCircuit:
    qc = QuantumCircuit(QuantumRegister(3, "q"), ClassicalRegister(3, "c"))
    qc.h(0)
    qc.t(0)
    qc.cx(0, 2)
    qc.cx(0, 1)
    qc.ry(0.4, 1)
    qc.cz(0, 1)
    if measure:
        qc.measure([0, 1, 2], [0, 1, 2])
    return qc


TP_INIT = [(0, 0), (1, 0), (0, 1)]
TP_FINAL = {0: (1, 1), 1: (1, 0), 2: (0, 1)}


@pytest.mark.parametrize("engine", ENGINES)
def test_teleportation_with_moved_layout_is_exact(engine):
    rep = verify_program(teleport_input(), TELEPORT, TP_INIT, TP_FINAL, engine=engine)
    assert rep.passed, rep.summary()
    assert rep.worst_fidelity > 0.999999


@pytest.mark.parametrize("engine", ENGINES)
def test_teleportation_checked_against_final_layout(engine):
    # the same program judged with the initial layout as the final one must fail
    rep = verify_program(teleport_input(), TELEPORT, TP_INIT, TP_INIT, engine=engine)
    assert not rep.passed
    bad = TELEPORT.replace("if (tp[1]) z comm1[0];\n", "")
    rep = verify_program(teleport_input(), bad, TP_INIT, TP_FINAL, engine=engine)
    assert rep.worst_fidelity < 0.9


def test_layout_formats_agree():
    as_strings = ["qpu0[0]", "qpu1[0]", "qpu0[1]"]
    final_json = {"0": [1, 1], "1": ["qpu1", 0], "2": "qpu0[1]"}
    rep = verify_program(teleport_input(), TELEPORT, as_strings, final_json)
    assert rep.passed, rep.summary()


# --------------------------------------------------------------------------------------------
# (4): final measurements


@pytest.mark.parametrize("engine", ENGINES)
def test_final_measurements_in_the_right_bits(engine):
    src = TELEPORT + "c[0] = measure qpu1[1];\nc[1] = measure qpu1[0];\nc[2] = measure qpu0[1];\n"
    rep = verify_program(teleport_input(measure=True), src, TP_INIT, TP_FINAL, engine=engine)
    assert rep.measurement_errors == []
    assert rep.measured == 3
    assert rep.passed, rep.summary()


def test_final_measurements_swapped_bits_fail():
    src = TELEPORT + "c[1] = measure qpu1[1];\nc[0] = measure qpu1[0];\nc[2] = measure qpu0[1];\n"
    rep = verify_program(teleport_input(measure=True), src, TP_INIT, TP_FINAL)
    assert not rep.passed
    assert any("c[0]" in e and "qpu1[0]" in e for e in rep.measurement_errors)
    # the quantum state before measurement is still right
    assert rep.worst_fidelity > 0.999999


def test_final_measurement_at_initial_place_fails():
    # measuring qubit 0 where it started (it was teleported away) is wrong
    src = TELEPORT + "c[0] = measure qpu0[0];\nc[1] = measure qpu1[0];\nc[2] = measure qpu0[1];\n"
    rep = verify_program(teleport_input(measure=True), src, TP_INIT, TP_FINAL)
    assert not rep.passed
    assert any("qpu1[1]" in e for e in rep.measurement_errors)


def test_missing_and_extra_measurements_fail():
    src = TELEPORT + "c[0] = measure qpu1[1];\nc[1] = measure qpu1[0];\n"
    rep = verify_program(teleport_input(measure=True), src, TP_INIT, TP_FINAL)
    assert any("c[2]" in e and "never" in e for e in rep.measurement_errors)
    # a protocol measurement written into an output bit
    src = REMOTE_CX.replace("cat[0] = measure", "c[0] = measure").replace(
        "if (cat[0] == 1)", "if (c[0] == 1)")
    rep = verify_program(remote_cx_input(), src, LAYOUT2)
    assert any("c[0]" in e for e in rep.measurement_errors)
    assert not rep.passed


def test_measurement_then_further_use_is_reported():
    src = REMOTE_CX + "c[0] = measure qpu0[0];\nc[1] = measure qpu1[0];\nx qpu0[0];\n"
    rep = verify_program(remote_cx_input(measure=True), src, LAYOUT2)
    assert any("after its final measurement" in e for e in rep.measurement_errors)


# --------------------------------------------------------------------------------------------
# (5): refusal above max_qubits


def test_refusal_above_max_qubits_is_quick():
    body = "\n".join(f"h qpu{i // 10}[{i % 10}];" for i in range(30)) * 2000
    src = HEADER + "qubit[10] qpu0;\nqubit[10] qpu1;\nqubit[10] qpu2;\nqubit comm0;\n" + body
    qc = QuantumCircuit(30)
    t0 = time.perf_counter()
    with pytest.raises(InputError) as exc:
        verify_program(qc, src, [(0, 0)] * 30, max_qubits=26)
    assert time.perf_counter() - t0 < 0.5
    msg = str(exc.value)
    assert "\n" not in msg and "31" in msg and "26" in msg


def test_refusal_of_a_qiskit_circuit_above_max_qubits():
    qc = QuantumCircuit(QuantumRegister(5, "qpu0"), QuantumRegister(1, "comm0"))
    with pytest.raises(InputError, match="6 qubits.*4"):
        verify_circuits(QuantumCircuit(5), qc, [(0, i) for i in range(5)], max_qubits=4)


def test_bad_layouts_are_input_errors():
    with pytest.raises(InputError, match="qpu7"):
        verify_program(remote_cx_input(), REMOTE_CX, [(0, 0), (7, 0)])
    with pytest.raises(InputError, match="share"):
        verify_program(remote_cx_input(), REMOTE_CX, [(0, 0), (0, 0)])
    with pytest.raises(InputError, match="input qubit 1"):
        verify_program(remote_cx_input(), REMOTE_CX, [(0, 0)])
    with pytest.raises(InputError, match="has 1 qubits"):
        verify_program(remote_cx_input(), REMOTE_CX, [(0, 0), (1, 3)])


def test_unparsable_program_is_one_line_input_error():
    with pytest.raises(InputError) as exc:
        load_program(HEADER + "qubit[2] qpu0;\nfoo qpu0[0];\n")
    assert "\n" not in str(exc.value)


# --------------------------------------------------------------------------------------------
# inputs with mid-circuit measurement and classical control: distribution check


def dynamic_input() -> QuantumCircuit:
    qc = QuantumCircuit(QuantumRegister(2, "q"), ClassicalRegister(2, "c"))
    qc.h(0)
    qc.measure(0, 0)
    with qc.if_test((qc.clbits[0], 1)):
        qc.x(1)
    qc.ry(0.9, 1)
    qc.measure(1, 1)
    return qc


DYNAMIC = HEADER + """
qubit[1] qpu0;
qubit[1] comm0;
qubit[1] qpu1;
qubit[1] comm1;
bit[2] c;
h qpu0[0];
c[0] = measure qpu0[0];
if (c[0] == 1) x qpu1[0];
ry(0.9) qpu1[0];
c[1] = measure qpu1[0];
"""


def test_dynamic_input_uses_distribution_check():
    rep = verify_program(dynamic_input(), DYNAMIC, LAYOUT2, samples=2, dist_shots=2000)
    assert rep.method == "distribution"
    assert rep.passed, rep.summary()
    assert "distribution" in rep.summary()
    bad = DYNAMIC.replace("if (c[0] == 1) x qpu1[0];\n", "")
    rep = verify_program(dynamic_input(), bad, LAYOUT2, samples=2, dist_shots=2000)
    assert not rep.passed
    assert max(rep.tvds) > 0.1


def test_leading_reset_is_not_dynamic():
    qc = remote_cx_input()
    qc2 = QuantumCircuit(*qc.qregs, *qc.cregs)
    qc2.reset(1)
    qc2.compose(qc, inplace=True)
    src = REMOTE_CX.replace("h qpu0[0];\n", "reset qpu1[0];\nh qpu0[0];\n", 1)
    rep = verify_program(qc2, src, LAYOUT2)
    assert rep.method == "statevector" and rep.passed, rep.summary()


# --------------------------------------------------------------------------------------------
# pieces


def test_normalise_conditions():
    text = "bit b;\nbit[2] m;\nif (m[1] == 1) x q;\nif (m[0]!=0) x q;\nif (b == 1) x q;\n" \
           "if (m == 3) x q;\n"
    out = _normalise_conditions(text)
    assert "m[1] == true" in out and "m[0] != false" in out and "b == true" in out
    assert "m == 3" in out


def test_count_declared_qubits():
    assert _count_declared_qubits("qubit[3] a; qubit b;\nqreg c[4];\nbit[9] d;") == 8
    # any literal form and constant expressions; comments and strings skipped
    assert _count_declared_qubits("qubit[0x10] a; /* qubit[99] b; */ qubit c; // qubit d;\n"
                                  "qubit[2 * 3] e; qubit[1_0] f;") == 33
    assert _count_declared_qubits("qubit[2**70] a;") == math.inf


def test_load_program_refuses_oversized_registers_before_parsing():
    for decl in ("qubit[0x3B9ACA00] q;", "qubit[1000000 * 1000] q;", "qubit[2**70] q;"):
        start = time.perf_counter()
        with pytest.raises(InputError, match="more than the verification limit of 26"):
            load_program("OPENQASM 3.0;\n" + decl + "\n", max_qubits=26)
        assert time.perf_counter() - start < 2


def test_fidelity_matches_partial_trace():
    from qiskit.quantum_info import Statevector, partial_trace, random_statevector

    psi = random_statevector(8, seed=3).data  # 3 qubits
    full = random_statevector(32, seed=4).data  # 5 qubits, entangled in general
    positions = [3, 0, 4]  # ideal qubit q is qubit positions[q] of full
    rho = partial_trace(Statevector(full), [1, 2]).data  # keeps qubits 0, 3, 4 in that order
    order = sorted(positions)
    psi_r = _permute(psi, [order.index(p) for p in positions])
    ref = np.real(np.vdot(psi_r, rho @ psi_r))
    assert 0.0 < ref < 1.0
    assert abs(_fidelity(full, psi, positions) - ref) < 1e-12


def _permute(vec, target):
    """Vector of qubits moved: qubit q of ``vec`` becomes qubit target[q]."""
    n = len(target)
    t = vec.reshape((2,) * n)
    # axis for qubit q is n-1-q
    src_axes = [n - 1 - q for q in range(n)]
    dst_axes = [n - 1 - target[q] for q in range(n)]
    return np.moveaxis(t, src_axes, dst_axes).reshape(-1)


# --------------------------------------------------------------------------------------------
# a generated cluster program: every remote CX/CZ through the cat-entangler


def distribute_static(n: int, gates, assign, comm: int = 1, spare: int = 0) -> tuple[str, list]:
    """A tiny reference distributor: static placement, one cat-entangled gadget per remote gate.

    ``comm`` communication qubits and ``spare`` unused data slots per QPU.  Returns the program
    text and the layout.
    """
    k = max(assign) + 1
    slots, layout = [0] * k, []
    for q in range(n):
        layout.append((assign[q], slots[assign[q]]))
        slots[assign[q]] += 1
    out = [HEADER]
    for i in range(k):
        out.append(f"qubit[{max(slots[i] + spare, 1)}] qpu{i};\nqubit[{comm}] comm{i};\n")
    remote = sum(1 for g in gates if len(g[1]) == 2 and assign[g[1][0]] != assign[g[1][1]])
    out.append(f"bit[{max(1, 2 * remote)}] cat;\n")
    name = [f"qpu{a}[{s}]" for a, s in layout]
    r = 0
    for g, qs, ps in gates:
        args = f"({', '.join(repr(p) for p in ps)})" if ps else ""
        if len(qs) == 1 or assign[qs[0]] == assign[qs[1]]:
            out.append(f"{g}{args} {', '.join(name[q] for q in qs)};\n")
            continue
        a, b = assign[qs[0]], assign[qs[1]]
        ca, cb = f"comm{a}[0]", f"comm{b}[0]"
        out.append(f"epr {ca}, {cb};\ncx {name[qs[0]]}, {ca};\ncat[{2 * r}] = measure {ca};\n"
                   f"if (cat[{2 * r}] == 1) x {cb};\n{g}{args} {cb}, {name[qs[1]]};\n"
                   f"h {cb};\ncat[{2 * r + 1}] = measure {cb};\n"
                   f"if (cat[{2 * r + 1}]) z {name[qs[0]]};\nreset {ca};\nreset {cb};\n")
        r += 1
    return "".join(out), layout


def random_gates(rng, n, m):
    gates = []
    for _ in range(m):
        kind = rng.integers(6)
        if kind < 3 or n < 2:
            g = ["h", "t", "sx"][kind % 3]
            gates.append((g, (int(rng.integers(n)),), ()))
        elif kind == 3:
            gates.append(("rz", (int(rng.integers(n)),), (float(rng.uniform(0, 6.28)),)))
        else:
            a, b = rng.choice(n, 2, replace=False)
            gates.append((["cx", "cp"][kind - 4], (int(a), int(b)),
                          (float(rng.uniform(0, 6.28)),) if kind == 5 else ()))
    return gates


def input_of(n, gates):
    qc = QuantumCircuit(n)
    for g, qs, ps in gates:
        getattr(qc, g)(*ps, *qs)
    return qc


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(2, 5), st.integers(0, 25), st.integers(0, 2**31))
def test_generated_programs_verify(n, m, seed):
    rng = np.random.default_rng(seed)
    gates = random_gates(rng, n, m)
    assign = [int(x) for x in rng.integers(0, 2, n)]
    src, layout = distribute_static(n, gates, assign)
    rep = verify_program(input_of(n, gates), src, layout, samples=2, shots=4, seed=seed)
    assert rep.passed, rep.summary()


def test_twenty_qubits_two_hundred_gates_is_fast():
    rng = np.random.default_rng(7)
    n = 18
    gates = random_gates(rng, n, 200)
    assign = [q % 2 for q in range(n)]
    src, layout = distribute_static(n, gates, assign)
    qc = input_of(n, gates)
    t0 = time.perf_counter()
    rep = verify_program(qc, src, layout, samples=3, shots=8)
    elapsed = time.perf_counter() - t0
    assert rep.num_qubits_simulated == 20
    assert rep.passed, rep.summary()
    assert elapsed < 20, elapsed


# --------------------------------------------------------------------------------------------
# protocol variants the numpy engine must get right (cross-checked against Aer)


# corrections after the communication qubits were already reset for reuse
LATE_CORRECTIONS = HEADER + """
qubit[1] qpu0;
qubit[1] comm0;
qubit[1] qpu1;
qubit[1] comm1;
bit[2] c;
bit[2] cat;
h qpu0[0];
rz(0.3) qpu0[0];
ry(0.7) qpu1[0];
epr comm0[0], comm1[0];
cx qpu0[0], comm0[0];
cat[0] = measure comm0[0];
reset comm0[0];
if (cat[0] == 1) x comm1[0];
cx comm1[0], qpu1[0];
h comm1[0];
cat[1] = measure comm1[0];
reset comm1[0];
t qpu1[0];
if (cat[1]) z qpu0[0];
"""

# corrections as register comparisons, an else branch, a gate on a measured qubit
REGISTER_CONDITIONS = HEADER + """
qubit[2] qpu0;
qubit[1] comm0;
qubit[2] qpu1;
qubit[1] comm1;
bit[3] c;
bit[2] tp;
h qpu0[0];
t qpu0[0];
cx qpu0[0], qpu0[1];
epr comm0[0], comm1[0];
cx qpu0[0], comm0[0];
h qpu0[0];
tp[0] = measure comm0[0];
tp[1] = measure qpu0[0];
if (tp == 1) { x comm1[0]; }
if (tp == 2) { z comm1[0]; }
if (tp == 3) { x comm1[0]; z comm1[0]; }
if (tp[0] == false) { z comm0[0]; } else { s comm0[0]; }
swap comm1[0], qpu1[1];
reset comm0[0];
reset comm1[0];
reset qpu0[0];
cx qpu1[1], qpu1[0];
ry(0.4) qpu1[0];
cz qpu1[1], qpu1[0];
"""


@pytest.mark.parametrize("engine", ENGINES)
def test_corrections_after_reset(engine):
    rep = verify_program(remote_cx_input(), LATE_CORRECTIONS, LAYOUT2, engine=engine)
    assert rep.passed, rep.summary()


@pytest.mark.parametrize("engine", ENGINES)
def test_register_conditions_and_else(engine):
    rep = verify_program(teleport_input(), REGISTER_CONDITIONS, TP_INIT, TP_FINAL, engine=engine)
    assert rep.passed, rep.summary()
    bad = REGISTER_CONDITIONS.replace("if (tp == 3) { x comm1[0]; z comm1[0]; }",
                                      "if (tp == 3) { x comm1[0]; }")
    rep = verify_program(teleport_input(), bad, TP_INIT, TP_FINAL, engine=engine)
    assert rep.worst_fidelity < 0.9


def test_engines_agree_on_a_deterministic_error():
    bad = REMOTE_CX.replace("ry(0.7) qpu1[0];", "ry(0.8) qpu1[0];")
    a = verify_program(remote_cx_input(), bad, LAYOUT2, engine="numpy")
    b = verify_program(remote_cx_input(), bad, LAYOUT2, engine="aer")
    assert a.worst_fidelity < 0.999
    assert a.worst_fidelity == pytest.approx(b.worst_fidelity, abs=1e-9)
    assert sorted(a.fidelities) == pytest.approx(sorted(b.fidelities), abs=1e-9)


def test_correct_protocol_needs_one_trajectory_per_state():
    # deferred measurement: every shot of a correct program ends in one identical state
    rep = verify_program(teleport_input(), TELEPORT, TP_INIT, TP_FINAL, samples=2, shots=8)
    assert len(rep.fidelities) == 16
    assert len(set(rep.fidelities[:8])) == 1


def epr_gate():
    pair = QuantumCircuit(2, name="epr")
    pair.h(0)
    pair.cx(0, 1)
    return pair.to_gate()


def remote_cx_qiskit() -> QuantumCircuit:
    """REMOTE_CX's gadget built in Qiskit, with a (trivial) loop only Aer runs."""
    q0, c0, q1, c1 = (QuantumRegister(1, n) for n in ("qpu0", "comm0", "qpu1", "comm1"))
    cat = ClassicalRegister(2, "cat")
    qc = QuantumCircuit(q0, c0, q1, c1, ClassicalRegister(2, "c"), cat)
    with qc.for_loop(range(2)):
        qc.x(q1[0])
    qc.append(epr_gate(), [c0[0], c1[0]])
    qc.cx(q0[0], c0[0])
    qc.measure(c0[0], cat[0])
    with qc.if_test((cat[0], 1)):
        qc.x(c1[0])
    qc.cx(c1[0], q1[0])
    qc.h(c1[0])
    qc.measure(c1[0], cat[1])
    with qc.if_test((cat[1], 1)):
        qc.z(q0[0])
    qc.reset(c0[0])
    qc.reset(c1[0])
    return qc


def test_loops_fall_back_to_aer():
    inp = QuantumCircuit(2, 2)
    inp.cx(0, 1)
    rep = verify_circuits(inp, remote_cx_qiskit(), LAYOUT2)
    assert rep.engine == "aer" and rep.passed, rep.summary()
    with pytest.raises(InputError, match="engine"):
        verify_circuits(inp, remote_cx_qiskit(), LAYOUT2, engine="numpy")


def test_operations_across_qpus_break_the_contract():
    cheat = HEADER + "qubit[1] qpu0;\nqubit[1] comm0;\nqubit[1] qpu1;\nqubit[1] comm1;\n" \
        "bit[2] c;\nh qpu0[0];\nrz(0.3) qpu0[0];\nry(0.7) qpu1[0];\ncx qpu0[0], qpu1[0];\n" \
        "t qpu1[0];\n"
    rep = verify_program(remote_cx_input(), cheat, LAYOUT2)
    assert rep.worst_fidelity > 0.999999  # the state is right...
    assert not rep.passed  # ...but the program is not a distributed one
    assert rep.contract_errors == ["cx qpu0[0], qpu1[0] acts across QPUs (only epr may)"]
    bad_epr = REMOTE_CX.replace("epr comm0[0], comm1[0];", "epr qpu0[0], comm1[0];")
    rep = verify_program(remote_cx_input(), bad_epr, LAYOUT2)
    assert any(e.startswith("epr qpu0[0], comm1[0]") for e in rep.contract_errors)
    assert not rep.passed
    ok = verify_program(remote_cx_input(), REMOTE_CX, LAYOUT2)
    assert ok.contract_errors == []


def test_unused_slots_and_idle_comm_qubits():
    # 26 qubits in the program, of which 8 are data: the numpy engine keeps idle ones out
    rng = np.random.default_rng(3)
    n = 8
    gates = random_gates(rng, n, 60)
    src, layout = distribute_static(n, gates, [q % 2 for q in range(n)], comm=3, spare=6)
    assert _count_declared_qubits(src) == 26
    t0 = time.perf_counter()
    rep = verify_program(input_of(n, gates), src, layout)
    assert rep.passed and rep.num_qubits_simulated == 26, rep.summary()
    assert time.perf_counter() - t0 < 10


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_generated_program_with_a_dropped_correction_fails(seed):
    rng = np.random.default_rng(seed)
    n = 4
    gates = random_gates(rng, n, 30)
    src, layout = distribute_static(n, gates, [0, 0, 1, 1])
    lines = src.split("\n")
    fixes = [i for i, line in enumerate(lines) if line.startswith("if (")]
    assert fixes
    del lines[fixes[int(rng.integers(len(fixes)))]]
    rep = verify_program(input_of(n, gates), "\n".join(lines), layout, seed=seed)
    assert not rep.passed and rep.worst_fidelity < 0.99, rep.summary()


def gate_zoo(angle: float = 0.3) -> QuantumCircuit:
    qc = QuantumCircuit(6, 2)
    qc.reset(5)  # a leading reset: prepared in |0>, never touched again
    qc.u(0.1, 0.2, 0.3, 0)
    qc.ry(angle, 1)
    qc.rxx(0.4, 0, 1)
    qc.rzz(0.5, 1, 2)
    qc.swap(2, 3)
    qc.ccx(0, 1, 3)
    qc.cy(3, 4)
    qc.ch(4, 0)
    qc.ecr(1, 2)
    qc.iswap(2, 4)
    qc.sxdg(3)
    qc.cswap(0, 3, 4)
    qc.x(2)
    qc.cx(2, 1)
    qc.measure(0, 0)
    qc.measure(3, 1)
    return qc


def zoo_program(angle: float = 0.3) -> tuple[QuantumCircuit, list]:
    """gate_zoo on qpu0 with its qubits at permuted slots, and an idle comm register."""
    slots = [4, 0, 5, 2, 1, 3]
    data, comm = QuantumRegister(7, "qpu0"), QuantumRegister(2, "comm0")
    c = ClassicalRegister(2, "c")
    qc = QuantumCircuit(data, comm, c)
    zoo = gate_zoo(angle)
    for inst in zoo.data:
        qc.append(inst.operation, [data[slots[zoo.find_bit(q).index]] for q in inst.qubits],
                  [c[zoo.find_bit(b).index] for b in inst.clbits])
    return qc, [(0, s) for s in slots]


@pytest.mark.parametrize("engine", ENGINES)
def test_gate_zoo(engine):
    prog, layout = zoo_program()
    rep = verify_circuits(gate_zoo(), prog, layout, engine=engine)
    assert rep.passed and rep.measured == 2, rep.summary()


def test_gate_zoo_engines_agree_on_an_error():
    prog, layout = zoo_program(angle=0.35)
    a = verify_circuits(gate_zoo(), prog, layout, engine="numpy")
    b = verify_circuits(gate_zoo(), prog, layout, engine="aer")
    assert a.worst_fidelity < 0.9999
    assert a.fidelities == pytest.approx(b.fidelities, abs=1e-9)


def test_program_from_a_file(tmp_path):
    path = tmp_path / "distributed.qasm"
    path.write_text(REMOTE_CX)
    assert verify_program(remote_cx_input(), path, LAYOUT2).passed
    assert verify_program(remote_cx_input(), str(path), LAYOUT2).passed
    with pytest.raises(InputError, match="cannot read"):
        verify_program(remote_cx_input(), str(tmp_path / "missing.qasm"), LAYOUT2)


def test_output_bit_measured_inside_a_manual_block():
    from qiskit.circuit import IfElseOp

    q0, c0, q1, c1 = (QuantumRegister(1, n) for n in ("qpu0", "comm0", "qpu1", "comm1"))
    c, cat = ClassicalRegister(2, "c"), ClassicalRegister(1, "cat")
    qc = QuantumCircuit(q0, c0, q1, c1, c, cat)
    qc.measure(c0[0], cat[0])
    body = QuantumCircuit(1, 1)  # its own bits, mapped by position
    body.measure(0, 0)
    qc.append(IfElseOp((cat[0], 1), body), [q1[0]], [c[1]])
    inp = QuantumCircuit(QuantumRegister(2, "q"), ClassicalRegister(2, "c"))
    inp.measure(1, 1)
    rep = verify_circuits(inp, qc, LAYOUT2)
    assert any("c[1]" in e and "condition" in e for e in rep.measurement_errors), rep
