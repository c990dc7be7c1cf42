"""Tests of the backend: protocol gadgets, emission, communication-qubit limits, schedule.

Correctness is checked by simulation (qiskit-aer, several measurement branches per program):
the final state of the data qubits at their final places must equal the input circuit's
output state, and every communication qubit must be back in |0>.  Input circuits start with a
random ``u`` on every qubit, so each check is on a random product input state.
"""

from __future__ import annotations

import json
import re
import time

import numpy as np
import pytest

pytest.importorskip("qiskit_aer")
pytest.importorskip("qiskit_qasm3_import")

import openqasm3  # noqa: E402
import qiskit.qasm3  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from qiskit import QuantumCircuit, transpile  # noqa: E402
from qiskit.quantum_info import Statevector  # noqa: E402
from qiskit_aer import AerSimulator  # noqa: E402

from araqne.backend import Emission, Program, emit  # noqa: E402
from araqne.backend.teleport import (  # noqa: E402
    cat_disentangle, cat_entangle, flip_copy, teleport_state)
from araqne.objective import cost  # noqa: E402
from araqne.errors import InfeasibleError, InputError  # noqa: E402
from araqne.ir import GATES, KIND_NQ, ROLE_X, ROLE_Z, Condition, from_ops  # noqa: E402
from araqne.network import Network  # noqa: E402
from araqne.packets import find_windows  # noqa: E402

UNITARY_1Q = [g.name for g in GATES if g.num_qubits == 1 and g.name not in ("measure", "reset")]
UNITARY_2Q = [g.name for g in GATES if g.num_qubits == 2]
_SIM = AerSimulator(method="statevector")

# ============================================================================ helpers


def ideal_state(circ) -> np.ndarray:
    """Output state of a unitary IR circuit (Qiskit order: qubit q is bit q)."""
    qc = QuantumCircuit(circ.num_qubits)
    for name, qs, ps in circ.ops():
        getattr(qc, name)(*ps, *qs)
    return Statevector(qc).data


def run_program(text: str, shots: int = 4, seed: int = 1):
    """Per-shot final statevectors of an OpenQASM 3 program (each shot one branch)."""
    qc = qiskit.qasm3.loads(text)
    qc.save_statevector(pershot=True)
    res = _SIM.run(transpile(qc, _SIM, optimization_level=0), shots=shots,
                   seed_simulator=seed).result()
    return [np.asarray(v) for v in res.data(0)["statevector"]]


def data_fidelities(em: Emission, ideal: np.ndarray, n: int, shots: int = 4, seed: int = 1):
    """Fidelity of the data state of every shot with ``ideal`` (input qubit q at its final place).

    Data registers are declared first, so the data qubits are the low bits of the program's
    state; comm qubits must all be |0> at the end (checked by the norm of that block).
    """
    off = np.concatenate([[0], np.cumsum(em.data_register_sizes)]).astype(np.int64)
    d = int(off[-1])
    pos = [int(off[a] + s) for a, s in em.layout_final]
    x = np.arange(2 ** n)
    idx = np.zeros(2 ** n, dtype=np.int64)
    for q in range(n):
        idx |= ((x >> q) & 1) << pos[q]
    out = []
    for sv in run_program(em.distributed_qasm, shots, seed):
        block = sv[: 2 ** d]
        assert abs(np.linalg.norm(block) - 1) < 1e-8, "a communication qubit is not back in |0>"
        out.append(abs(np.vdot(ideal, block[idx])) ** 2)
    return out


def with_random_inputs(n: int, ops, rng) -> list:
    """``ops`` preceded by a random ``u`` on every qubit (a random product input state)."""
    return [("u", (q,), tuple(float(v) for v in rng.uniform(-np.pi, np.pi, 3)))
            for q in range(n)] + list(ops)


def random_partition(circ, packets, k: int, cap: int, rng, third: float = 0.25):
    """Random assignment within capacity; gate_qpu = home of a role-other operand if any, else
    one operand's home, sometimes a third QPU."""
    n = circ.num_qubits
    while True:
        a = rng.integers(k, size=n)
        if np.all(np.bincount(a, minlength=k) <= cap):
            break
    gq = np.zeros(circ.num_ops, dtype=np.int64)
    for i in range(circ.num_ops):
        s = int(circ.qptr[i])
        qa = int(circ.qargs[s])
        gq[i] = a[qa]
        if KIND_NQ[circ.kind[i]] != 2:
            continue
        qb = int(circ.qargs[s + 1])
        wa, wb = packets.slot_window[s], packets.slot_window[s + 1]
        if wa < 0:
            gq[i] = a[qa]
        elif wb < 0:
            gq[i] = a[qb]
        elif rng.random() < third:
            gq[i] = rng.integers(k)
        else:
            gq[i] = a[qa] if rng.random() < 0.5 else a[qb]
    return a, gq


_REG = re.compile(r"\b(qpu|comm)(\d+)\[")


def check_invariants(em: Emission, circ, assignment, gate_qpu, net, packets, exact: bool):
    """Structural invariants of an emission (no simulation)."""
    text = em.distributed_qasm
    ref = cost(circ, assignment, gate_qpu, net, packets)
    assert em.ebits_model == ref
    if exact:
        assert em.ebits == ref
    assert em.ebits >= ref
    eprs = [ln for ln in text.splitlines() if ln.startswith("epr ")]
    assert len(eprs) == em.ebits == em.schedule["total"] == len(em.schedule["pairs"])
    assert sum(em.ebits_per_link.values()) == em.ebits
    links = {tuple(e) for e in net.edges()}
    ids = []
    for ln in text.splitlines():
        if ln.startswith(("OPENQASM", "include", "gate", "//", "qubit", "bit")):
            continue
        qpus = {int(m.group(2)) for m in _REG.finditer(ln)}
        if ln.startswith("epr "):
            assert len(qpus) == 2 and all(m.group(1) == "comm" for m in _REG.finditer(ln)), ln
            assert (min(qpus), max(qpus)) in links, ln
            ids.append(ln.split("//")[1].strip())
        else:
            assert len(qpus) == 1, f"non-local statement: {ln}"
    assert ids == [p["id"] for p in em.schedule["pairs"]]
    caps = net.capacities()
    assert all(d <= c for d, c in zip(em.data_register_sizes, caps))
    assert all(p <= c for p, c in zip(em.peak_comm, net.comm()))
    for p in em.schedule["pairs"]:
        assert (1 <= p["epr_step"] <= p["ready_by"] < p["consumed"] <= p["released"]
                <= em.schedule["num_steps"])
        a, b = p["qpus"]
        assert p["comm_qubits"][0].startswith(f"comm{a}[") and p["comm_qubits"][1].startswith(
            f"comm{b}[")
    per_link = {}
    for p in em.schedule["pairs"]:
        a, b = sorted(p["qpus"])
        per_link[f"{a}-{b}"] = per_link.get(f"{a}-{b}", 0) + 1
    assert per_link == em.ebits_per_link == em.schedule["per_link"]
    # per-QPU programs: well-formed, each pair's halves and each message on the right QPUs
    for i, qtext in enumerate(em.qpu_qasm):
        openqasm3.parse(qtext)
        assert not {int(m.group(2)) for m in _REG.finditer(_strip_comments(qtext))} - {i}
    for p in em.schedule["pairs"]:
        for end in p["qpus"]:
            assert f"// {p['id']}: Bell pair" in em.qpu_qasm[end]
    for msg in em.schedule["messages"]:
        assert f"// send {msg['name']} to qpu{msg['to']}" in em.qpu_qasm[msg["from"]]
        assert f"// recv {msg['name']} from qpu{msg['from']}" in em.qpu_qasm[msg["to"]]
    json.dumps(em.schedule)


def _strip_comments(text: str) -> str:
    return "\n".join(ln.split("//")[0] for ln in text.splitlines())


def gadget_program(k: int, data: list[int], comm: list[int], body: Program, ncl: int = 0) -> str:
    head = ["OPENQASM 3.0;", 'include "stdgates.inc";', "gate epr a, b { h a; cx a, b; }"]
    head += [f"qubit[{d}] qpu{i};" for i, d in enumerate(data) if d]
    head += [f"qubit[{c}] comm{i};" for i, c in enumerate(comm) if c]
    if body.nbits:
        head.append(f"bit[{body.nbits}] m;")
    return "\n".join(head + body.lines) + "\n"


# ============================================================================ gadgets


@pytest.mark.parametrize("basis", [ROLE_Z, ROLE_X])
@pytest.mark.parametrize("flip", [False, True])
def test_cat_gadgets_remote_gate(basis, flip):
    """A linked copy of qpu0[0] on QPU 1 serves a gate there; flips follow an anti-diagonal op."""
    rng = np.random.default_rng(3)
    u0, u1 = rng.uniform(-3, 3, 3), rng.uniform(-3, 3, 3)
    prog = Program(2)
    prog.op(0, "u3({}, {}, {}) qpu0[0];".format(*u0), ("qpu0[0]",))
    prog.op(1, "u3({}, {}, {}) qpu1[0];".format(*u1), ("qpu1[0]",))
    pair = cat_entangle(prog, basis, 0, "qpu0[0]", "comm0[0]", 1, "comm1[0]", window=0)
    ideal = QuantumCircuit(2)
    ideal.u(*u0, 0)
    ideal.u(*u1, 1)
    if flip:
        prog.op(0, "y qpu0[0];", ("qpu0[0]",))    # anti-diagonal in both bases
        flip_copy(prog, basis, 1, "comm1[0]")      # x (Z copy) / z (X copy) on the copy
        ideal.y(0)
    if basis == ROLE_Z:   # copy is the control of cx and one side of rzz
        prog.op(1, "cx comm1[0], qpu1[0];", ("comm1[0]", "qpu1[0]"))
        prog.op(1, "crz(0.7) comm1[0], qpu1[0];", ("comm1[0]", "qpu1[0]"))
        ideal.cx(0, 1)
        ideal.crz(0.7, 0, 1)
    else:                 # copy is the target of cx and an X-diagonal rx
        prog.op(1, "cx qpu1[0], comm1[0];", ("qpu1[0]", "comm1[0]"))
        prog.op(1, "crx(0.4) qpu1[0], comm1[0];", ("qpu1[0]", "comm1[0]"))
        ideal.cx(1, 0)
        ideal.crx(0.4, 1, 0)
    cat_disentangle(prog, basis, 1, "comm1[0]", 0, "qpu0[0]", pair)
    assert pair["ready_by"] <= pair["consumed"] <= pair["released"]
    text = gadget_program(2, [1, 1], [1, 1], prog)
    want = Statevector(ideal).data
    for sv in run_program(text, shots=6):
        assert abs(np.vdot(want, sv[:4])) ** 2 == pytest.approx(1, abs=1e-9)


def test_missing_flip_is_detected():
    """Without the flip of the copy after an x on the root, the remote gate is wrong: the
    simulation check has teeth."""
    prog = Program(2)
    prog.op(0, "h qpu0[0];", ("qpu0[0]",))
    prog.op(1, "h qpu1[0];", ("qpu1[0]",))
    pair = cat_entangle(prog, ROLE_Z, 0, "qpu0[0]", "comm0[0]", 1, "comm1[0]")
    prog.op(0, "x qpu0[0];", ("qpu0[0]",))
    prog.op(1, "cp(1.1) comm1[0], qpu1[0];", ("comm1[0]", "qpu1[0]"))
    cat_disentangle(prog, ROLE_Z, 1, "comm1[0]", 0, "qpu0[0]", pair)
    ideal = QuantumCircuit(2)
    ideal.h([0, 1])
    ideal.x(0)
    ideal.cp(1.1, 0, 1)
    want = Statevector(ideal).data
    fids = [abs(np.vdot(want, sv[:4])) ** 2
            for sv in run_program(gadget_program(2, [1, 1], [1, 1], prog), shots=4)]
    assert max(fids) < 0.99


def test_copy_of_copy_relay_gadget():
    """A copy made from a copy (relay on QPU 1) serves a gate on QPU 2; both are released."""
    rng = np.random.default_rng(5)
    u0, u2 = rng.uniform(-3, 3, 3), rng.uniform(-3, 3, 3)
    prog = Program(3)
    prog.op(0, "u3({}, {}, {}) qpu0[0];".format(*u0), ("qpu0[0]",))
    prog.op(2, "u3({}, {}, {}) qpu2[0];".format(*u2), ("qpu2[0]",))
    p1 = cat_entangle(prog, ROLE_Z, 0, "qpu0[0]", "comm0[0]", 1, "comm1[0]")
    p2 = cat_entangle(prog, ROLE_Z, 1, "comm1[0]", "comm1[1]", 2, "comm2[0]")
    cat_disentangle(prog, ROLE_Z, 1, "comm1[0]", 0, "qpu0[0]", p1)   # relay released first
    prog.op(2, "cp(0.9) comm2[0], qpu2[0];", ("comm2[0]", "qpu2[0]"))
    cat_disentangle(prog, ROLE_Z, 2, "comm2[0]", 0, "qpu0[0]", p2)
    text = gadget_program(3, [1, 0, 1], [1, 2, 1], prog)
    ideal = QuantumCircuit(2)
    ideal.u(*u0, 0)
    ideal.u(*u2, 1)
    ideal.cp(0.9, 0, 1)
    want = Statevector(ideal).data
    for sv in run_program(text, shots=6):
        assert abs(np.vdot(want, sv[:4])) ** 2 == pytest.approx(1, abs=1e-9)


def test_teleport_state_gadget():
    rng = np.random.default_rng(7)
    u0 = rng.uniform(-3, 3, 3)
    prog = Program(2)
    prog.op(0, "u3({}, {}, {}) qpu0[0];".format(*u0), ("qpu0[0]",))
    pair = teleport_state(prog, 0, "qpu0[0]", "comm0[0]", 1, "comm1[0]", qubit=0)
    prog.op(1, "swap comm1[0], qpu1[0];", ("comm1[0]", "qpu1[0]"))
    assert pair["protocol"] == "state" and prog.nbits == 2
    text = gadget_program(2, [1, 1], [1, 1], prog)
    ideal = QuantumCircuit(1)
    ideal.u(*u0, 0)
    want = Statevector(ideal).data
    for sv in run_program(text, shots=6):
        # qubit order qpu0[0], qpu1[0], comm0[0], comm1[0]: the state is on bit 1, others |0>
        assert abs(np.vdot(want, sv[[0, 2]])) ** 2 == pytest.approx(1, abs=1e-9)


# ============================================================================ emission


def small_example():
    ops = [("h", (0,)), ("cx", (0, 1)), ("rz", (0,), (0.3,)), ("x", (0,)), ("cz", (0, 2)),
           ("cx", (2, 1)), ("h", (1,))]
    return from_ops(3, ops)


def test_emit_small_contract():
    circ = small_example()
    net = Network.uniform(3, 2, 2)
    gq = [0, 1, 1, 0, 2, 2, 0]
    em = emit(circ, None, [0, 1, 2], gq, net)
    text = em.distributed_qasm
    assert text.startswith('OPENQASM 3.0;\ninclude "stdgates.inc";\n'
                           "gate epr a, b { h a; cx a, b; }\n")
    assert "qubit[1] qpu0;" in text and "qubit[1] comm2;" in text
    assert "epr comm0[0], comm1[0]; // e0" in text
    assert em.ebits == em.ebits_model == 3
    assert em.layout_initial == em.layout_final == [[0, 0], [1, 0], [2, 0]]
    assert em.data_register_sizes == [1, 1, 1]
    assert em.peak_comm == [1, 1, 1]
    assert em.ebits_per_link == {"0-1": 1, "0-2": 1, "1-2": 1}
    pairs = em.schedule["pairs"]
    assert [p["window"] for p in pairs] == [0, 0, 1]
    assert [p["serves"] for p in pairs] == [[1], [4], [5]]
    assert all(p["protocol"] == "gate" for p in pairs)
    check_invariants(em, circ, [0, 1, 2], gq, net, find_windows(circ), exact=True)
    for t in [text] + em.qpu_qasm:
        qiskit.qasm3.loads(t)


def test_emit_deterministic_and_write(tmp_path):
    circ = small_example()
    net = Network.uniform(3, 2, 2)
    a = emit(circ, None, [0, 1, 2], [0, 1, 1, 0, 2, 2, 0], net)
    b = emit(circ, None, [0, 1, 2], [0, 1, 1, 0, 2, 2, 0], net)
    assert a == b
    paths = a.write(tmp_path)
    assert sorted(p.split("/")[-1] for p in paths) == [
        "distributed.qasm", "qpu0.qasm", "qpu1.qasm", "qpu2.qasm", "schedule.json"]
    assert json.loads((tmp_path / "schedule.json").read_text())["total"] == 3


def test_one_copy_serves_whole_packet():
    """Four gates of one Z window on QPU 1 share a single Bell pair and copy."""
    ops = [("cx", (0, 1)), ("rz", (0,), (0.2,)), ("cz", (0, 2)), ("t", (0,)), ("cp", (0, 1), (0.5,)),
           ("crz", (0, 2), (0.1,))]
    rng = np.random.default_rng(0)
    circ = from_ops(3, with_random_inputs(3, ops, rng))
    net = Network.uniform(2, 2, 1)
    gq = [0, 0, 1, 1, 0, 1, 0, 1, 1]
    em = emit(circ, None, [0, 1, 1], gq, net)
    assert em.ebits == em.ebits_model == 1
    assert em.schedule["pairs"][0]["serves"] == [3, 5, 7, 8]
    assert min(data_fidelities(em, ideal_state(circ), 3)) == pytest.approx(1, abs=1e-9)


@pytest.mark.parametrize("flip", ["x", "y", "z", None])
def test_x_window_and_antidiagonal_flips(flip):
    """An X window (root is a cx target) with anti-diagonal ops on the root while copies live,
    and a Z window with x/y on its root, both served on other QPUs (and a third QPU)."""
    rng = np.random.default_rng(11)
    ops = [("cx", (1, 0)), ("rx", (0,), (0.3,)), ("cx", (2, 0)), ("rxx", (0, 1), (0.8,)),
           ("cz", (3, 2)), ("cx", (1, 0)), ("sx", (0,)), ("crx", (2, 0), (0.6,)),
           ("cp", (3, 2), (0.4,))]
    if flip is not None:
        ops.insert(3, (flip, (0,)))      # on the X-window root (z, y flip; x does not)
        ops.insert(6, ("x", (3,)))       # on a Z-window root (flips)
        ops.insert(8, ("y", (3,)))
    circ = from_ops(4, with_random_inputs(4, ops, rng))
    packets = find_windows(circ)
    assert ROLE_X in set(packets.basis.tolist())
    assignment = [0, 1, 2, 0]
    # every two-qubit gate away from qubit 0's and qubit 3's homes where possible
    gq = []
    for name, qs, _ in circ.ops():
        if len(qs) == 1:
            gq.append(assignment[qs[0]])
        elif name == "rxx":
            gq.append(2)                 # a QPU holding neither operand: two copies
        else:
            gq.append(assignment[qs[0]] if qs[0] not in (0, 3) else assignment[qs[1]])
    net = Network.uniform(3, 2, 3)
    em = emit(circ, packets, assignment, gq, net)
    check_invariants(em, circ, assignment, gq, net, packets, exact=True)
    fids = data_fidelities(em, ideal_state(circ), 4, shots=6)
    assert min(fids) == pytest.approx(1, abs=1e-9)


def test_comm_limit_belady_overlapping_packets():
    """QPU 1 needs copies of q0 and q2 alternately; with one comm qubit it re-creates them."""
    rng = np.random.default_rng(2)
    ops = [("cz", (0, 1)), ("cz", (2, 1)), ("cp", (0, 1), (0.3,)), ("cz", (2, 1)),
           ("cx", (0, 1)), ("crz", (2, 1), (0.9,))]
    circ = from_ops(3, with_random_inputs(3, ops, rng))
    assignment = [0, 1, 0]
    gq = [0, 1, 0] + [1] * len(ops)
    packets = find_windows(circ)
    big = emit(circ, packets, assignment, gq, Network.uniform(2, 3, 4))
    assert big.ebits == big.ebits_model == 2 and big.peak_comm == [1, 2]
    net = Network.uniform(2, 3, 1)
    em = emit(circ, packets, assignment, gq, net)
    assert em.peak_comm == [1, 1]
    assert em.ebits > em.ebits_model == 2
    assert em.evictions > 0 and em.schedule["evictions"] == em.evictions
    check_invariants(em, circ, assignment, gq, net, packets, exact=False)
    assert min(data_fidelities(em, ideal_state(circ), 3, shots=6)) == pytest.approx(1, abs=1e-9)


def test_belady_evicts_farthest_next_use():
    """With two comm qubits on QPU 1 and three packets, the one used last is evicted."""
    ops = [("cz", (0, 3)), ("cz", (1, 3)), ("cz", (2, 3)), ("cz", (0, 3)), ("cz", (1, 3)),
           ("cz", (2, 3))]
    circ = from_ops(4, ops)
    net = Network(qpus=Network.uniform(2, 4, 2).qpus)
    net.qpus[0].comm_qubits = 1
    net.qpus[1].comm_qubits = 2
    em = emit(circ, None, [0, 0, 0, 1], [1] * 6, net)
    # q0, q1 copied; q2 needs a slot: q0 is next used at op 3, q1 at op 4 -> evict q1
    assert [p["qubit"] for p in em.schedule["pairs"]] == [0, 1, 2, 1]
    assert em.ebits == 4 and em.ebits_model == 3


def test_infeasible_without_comm_qubits():
    circ = small_example()
    net = Network.uniform(3, 2, 0)
    with pytest.raises(InfeasibleError, match=r"qpu1.*--comm-qubits"):
        emit(circ, None, [0, 1, 2], [0, 1, 1, 0, 2, 2, 0], net)
    # all local: no comm qubits needed
    em = emit(circ, None, [0, 0, 0], [0] * 7, Network.uniform(1, 3, 0))
    assert em.ebits == 0 and em.peak_comm == [0] and "comm0" not in em.distributed_qasm


def test_infeasible_two_copies_one_comm_qubit():
    circ = from_ops(2, [("cz", (0, 1))])
    with pytest.raises(InfeasibleError, match=r"qpu2.*--comm-qubits"):
        emit(circ, None, [0, 1], [2], Network.uniform(3, 1, 1))


def test_capacity_checked():
    circ = from_ops(3, [("cz", (0, 1))])
    with pytest.raises(InfeasibleError, match="qpu0"):
        emit(circ, None, [0, 0, 0], [0], Network.uniform(2, 2, 2))


def test_role_other_operand_must_be_home():
    circ = from_ops(2, [("ch", (0, 1))])      # target of ch: role other
    with pytest.raises(ValueError, match="operation 0"):
        emit(circ, None, [0, 1], [0], Network.uniform(2, 1, 2))


# ============================================================================ multi-hop


def test_line_relay_two_hops():
    """Root on QPU 0, gate on QPU 2 of a line: a relay copy on QPU 1, one pair per hop."""
    rng = np.random.default_rng(4)
    circ = from_ops(2, with_random_inputs(2, [("cx", (0, 1)), ("cz", (0, 1))], rng))
    net = Network.uniform(3, 1, 2, topology="line")
    gq = [0, 2, 2, 2]
    em = emit(circ, None, [0, 2], gq, net)
    assert em.ebits == em.ebits_model == 2
    p0, p1 = em.schedule["pairs"]
    assert p0["qpus"] == [0, 1] and p1["qpus"] == [1, 2]
    assert p0["relay"] and not p1["relay"] and p1["route"] == [0, 1, 2]
    assert p0["serves"] == p1["serves"] == [2, 3]
    assert em.ebits_per_link == {"0-1": 1, "1-2": 1}
    assert em.peak_comm == [1, 2, 1]
    check_invariants(em, circ, [0, 2], gq, net, find_windows(circ), exact=True)
    assert min(data_fidelities(em, ideal_state(circ), 2)) == pytest.approx(1, abs=1e-9)


def test_steiner_branching_star():
    """Root on leaf 1 of a star, gates on leaves 2 and 3 at different times: the hub relays
    both copies and stays live until the second one is made (3 pairs = Steiner cost)."""
    rng = np.random.default_rng(8)
    ops = [("cz", (0, 1)), ("rz", (0,), (0.4,)), ("x", (0,)), ("cx", (0, 2)), ("cz", (0, 1))]
    circ = from_ops(3, with_random_inputs(3, ops, rng))
    net = Network.uniform(4, 1, 2, topology="star")
    assignment = [1, 2, 3]
    gq = [1, 2, 3, 2, 1, 1, 3, 2]
    em = emit(circ, None, assignment, gq, net)
    assert em.ebits == em.ebits_model == net.steiner_cost(1, {2, 3}) == 3
    check_invariants(em, circ, assignment, gq, net, find_windows(circ), exact=True)
    assert min(data_fidelities(em, ideal_state(circ), 3, shots=6)) == pytest.approx(1, abs=1e-9)


def test_relay_needs_two_comm_qubits():
    circ = from_ops(2, [("cz", (0, 1))])
    with pytest.raises(InfeasibleError, match="qpu1"):
        emit(circ, None, [0, 2], [2], Network.uniform(3, 1, 1, topology="line"))


# ============================================================================ classical control


def test_measurements_and_conditions_keep_input_bits():
    """Input measurements land in the input's bits; conditioned gates (whole register, single
    bit, negated, bits of two registers) run where placed, also on copies on other QPUs."""
    ops = [("x", (0,)), ("measure", (0,), (), 0), ("h", (2,)), ("x", (1,)),
           ("measure", (1,), (), 2),
           ("x", (2,)),                             # cond c == 1: applied
           ("cx", (3, 2)),                          # cond d == 1 (whole register), on a copy
           ("z", (3,)),                             # cond c != 1 (negated): not applied
           ("cz", (3, 2)),                          # cond (c[0], d[0]) == 3 (two registers)
           ("x", (1,))]                             # cond (c[0], d[0]) != 3: not applied
    circ = from_ops(4, ops, num_clbits=3)
    circ.cregs = [("c", 2), ("d", 1)]
    circ.conditions = [Condition((0, 1), 1), Condition((2,), 1), Condition((0, 1), 1, True),
                       Condition((0, 2), 3), Condition((0, 2), 3, True)]
    circ.cond[5], circ.cond[6], circ.cond[7], circ.cond[8], circ.cond[9] = 0, 1, 2, 3, 4
    assignment = [0, 0, 1, 0]
    gq = [0, 0, 1, 0, 0, 1, 1, 0, 1, 0]
    net = Network.uniform(2, 3, 2)
    em = emit(circ, None, assignment, gq, net)
    text = em.distributed_qasm
    assert "bit[2] c;\nbit[1] d;" in text
    assert "c[0] = measure qpu0[0];" in text and "d[0] = measure qpu0[1];" in text
    assert "if (c == 1) { x qpu1[0]; }" in text
    assert re.search(r"if \(d == 1\) \{ cx comm1\[\d\], qpu1\[0\]; \}", text)
    assert "if (c == 1) { } else { z qpu0[2]; }" in text
    assert re.search(r"if \(c\[0\]\) \{ if \(d\[0\]\) \{ cz comm1\[\d\], qpu1\[0\]; \} \}", text)
    assert "if (!c[0]) { x qpu0[1]; } else { if (!d[0]) { x qpu0[1]; } else { } }" in text
    # the remote conditioned gate needs d[0] on QPU 1: a message
    assert {"name": "d[0]", "from": 0, "to": 1} in [
        {k: v for k, v in msg.items() if k in ("name", "from", "to")}
        for msg in em.schedule["messages"]]
    for t in [text] + em.qpu_qasm:
        qiskit.qasm3.loads(t)
    # deterministic branch: c = 01 (bit c[0] = 1), d = 1
    ideal = QuantumCircuit(4)
    ideal.x(0)
    ideal.h(2)
    ideal.x(1)
    ideal.x(2)
    ideal.cx(3, 2)
    ideal.cz(3, 2)
    off = [0, 3]
    for sv in run_program(text, shots=4):
        block = sv[: 2 ** 4]
        assert abs(np.linalg.norm(block) - 1) < 1e-9
        pos = [off[a] + s for a, s in em.layout_final]
        want = Statevector(ideal).data
        x = np.arange(16)
        idx = np.zeros(16, dtype=np.int64)
        for q in range(4):
            idx |= ((x >> q) & 1) << pos[q]
        assert abs(np.vdot(want, block[idx])) ** 2 == pytest.approx(1, abs=1e-9)


def test_cross_check_with_verify():
    """The emitted program passes araqne.verification (written separately against the contract)."""
    verify = pytest.importorskip("araqne.verification")
    ops = [("cx", (0, 1)), ("t", (0,)), ("x", (0,)), ("cz", (0, 2)), ("cx", (2, 1)),
           ("rxx", (1, 2), (0.3,)), ("measure", (1,), (), 0), ("measure", (2,), (), 1)]
    circ = from_ops(3, ops, num_clbits=2)
    em = emit(circ, None, [0, 1, 2], [1, 0, 0, 2, 1, 2, 1, 2], Network.uniform(3, 1, 1))
    assert em.ebits == em.ebits_model == 4
    rep = verify.verify_program(circ, em.distributed_qasm, em.layout_initial, em.layout_final)
    assert rep.passed, rep.summary()


def test_protocol_register_avoids_input_names():
    circ = from_ops(2, [("cz", (0, 1)), ("measure", (0,), (), 0)], num_clbits=1)
    circ.cregs = [("m", 1)]
    em = emit(circ, None, [0, 1], [1, 0], Network.uniform(2, 1, 2))
    assert "bit[1] m;" in em.distributed_qasm and "bit[2] m_;" in em.distributed_qasm
    assert "m[0] = measure qpu0[0];" in em.distributed_qasm
    qiskit.qasm3.loads(em.distributed_qasm)


def test_reserved_register_names_rejected():
    circ = from_ops(2, [("cz", (0, 1)), ("measure", (0,), (), 0)], num_clbits=1)
    for name in ("comm1", "qpu0", "epr", "rzz"):
        circ.cregs = [(name, 1)]
        with pytest.raises(InputError, match=name):
            emit(circ, None, [0, 1], [1, 0], Network.uniform(2, 1, 2))


# ============================================================================ state teleportation


@pytest.mark.parametrize("topology", ["all", "line"])
def test_moves_teleport_state(topology):
    rng = np.random.default_rng(9)
    ops = [("cx", (0, 1)), ("h", (0,)), ("cz", (0, 2)), ("ry", (0,), (0.3,)), ("cx", (2, 0))]
    circ = from_ops(3, with_random_inputs(3, ops, rng))
    net = Network.uniform(3, 2, 2, topology=topology)
    assignment = [0, 1, 2]
    # qubit 0 moves to QPU 2 before op 5 (cz), then back to QPU 0 at the end
    gq = [0, 1, 2, 1, 0, 2, 2, 2]
    moves = [(5, 0, 0, 2), (8, 0, 2, 0)]
    em = emit(circ, None, assignment, gq, net, moves=moves)
    hops = 1 if topology == "all" else 2
    state = [p for p in em.schedule["pairs"] if p["protocol"] == "state"]
    assert len(state) == 2 * hops
    assert em.layout_final[0][0] == 0 and em.layout_initial[0] == [0, 0]
    assert em.ebits == em.ebits_model
    assert all(d <= 2 for d in em.data_register_sizes)
    assert min(data_fidelities(em, ideal_state(circ), 3, shots=6)) == pytest.approx(1, abs=1e-9)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2 ** 32 - 1))
def test_random_moves_simulation(seed):
    """Random teleportations between gates, gates placed where their qubits are at the time
    (or anywhere for window operands): the program still computes the input."""
    rng = np.random.default_rng(seed)
    n, k = int(rng.integers(2, 5)), int(rng.integers(2, 4))
    ops = []
    for _ in range(int(rng.integers(3, 12))):
        if rng.random() < 0.6:
            name = UNITARY_2Q[rng.integers(len(UNITARY_2Q))]
            qs = tuple(int(x) for x in rng.choice(n, 2, replace=False))
        else:
            name = UNITARY_1Q[rng.integers(len(UNITARY_1Q))]
            qs = (int(rng.integers(n)),)
        nparams = GATES[[g.name for g in GATES].index(name)].num_params
        ops.append((name, qs, tuple(float(v) for v in rng.uniform(-3, 3, nparams))))
    circ = from_ops(n, with_random_inputs(n, ops, rng))
    packets = find_windows(circ)
    net = Network.uniform(k, n, 3, topology=["all", "line"][int(rng.integers(2))])
    loc = rng.integers(k, size=n)
    assignment = loc.copy()
    moves, gq = [], []
    for i, (_, qs, _) in enumerate(circ.ops()):
        if rng.random() < 0.2:
            q, to = int(rng.integers(n)), int(rng.integers(k))
            if to != loc[q]:
                moves.append((i, q, int(loc[q]), to))
                loc[q] = to
        s = int(circ.qptr[i])
        if len(qs) == 1 or packets.slot_window[s] < 0:
            gq.append(int(loc[qs[0]]))
        elif packets.slot_window[s + 1] < 0:
            gq.append(int(loc[qs[1]]))
        else:
            gq.append(int(rng.integers(k)))
    em = emit(circ, packets, assignment, gq, net, moves=moves)
    state = len([p for p in em.schedule["pairs"] if p["protocol"] == "state"])
    hops = sum(net.distances()[a, b] for _, _, a, b in moves)
    if net.all_to_all:  # a move nested in a window rides on its linked copies (no state pair)
        assert state <= hops
    else:
        assert state == hops
    assert em.layout_final == [[int(loc[q]), em.layout_final[q][1]] for q in range(n)]
    assert em.ebits >= em.ebits_model and max(em.peak_comm) <= 3
    if sum(em.data_register_sizes) + sum(em.peak_comm) <= 15:
        fids = data_fidelities(em, ideal_state(circ), n, shots=3)
        assert min(fids) == pytest.approx(1, abs=1e-8)


# ============================================================================ random circuits


@st.composite
def partitioned(draw, max_ops=24):
    n = draw(st.integers(2, 6))
    k = draw(st.integers(2, 4))
    m = draw(st.integers(1, max_ops))
    seed = draw(st.integers(0, 2 ** 32 - 1))
    topology = draw(st.sampled_from(["all", "line", "ring", "star", "grid"]))
    rng = np.random.default_rng(seed)
    ops = []
    for _ in range(m):
        if rng.random() < 0.6:
            name = UNITARY_2Q[rng.integers(len(UNITARY_2Q))]
            a, b = rng.choice(n, size=2, replace=False)
            qs = (int(a), int(b))
        else:
            name = UNITARY_1Q[rng.integers(len(UNITARY_1Q))]
            qs = (int(rng.integers(n)),)
        spec = GATES[[g.name for g in GATES].index(name)]
        ops.append((name, qs, tuple(float(v) for v in rng.uniform(-np.pi, np.pi,
                                                                     spec.num_params))))
    circ = from_ops(n, with_random_inputs(n, ops, rng))
    packets = find_windows(circ)
    cap = int(np.ceil(n / k)) + int(rng.integers(0, 2))
    assignment, gq = random_partition(circ, packets, k, cap, rng)
    return circ, packets, assignment, gq, k, cap, topology


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(partitioned(max_ops=40))
def test_random_invariants_unlimited_comm(case):
    circ, packets, assignment, gq, k, cap, topology = case
    net = Network.uniform(k, cap, 64, topology=topology)
    em = emit(circ, packets, assignment, gq, net)
    check_invariants(em, circ, assignment, gq, net, packets, exact=True)
    assert em.layout_final == em.layout_initial
    assert em.data_register_sizes == np.bincount(assignment, minlength=k).tolist()


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(partitioned(max_ops=40), st.sampled_from([1, 2, 3]))
def test_random_invariants_limited_comm(case, comm):
    circ, packets, assignment, gq, k, cap, topology = case
    net = Network.uniform(k, cap, comm, topology=topology)
    try:
        em = emit(circ, packets, assignment, gq, net)
    except InfeasibleError as exc:
        assert "--comm-qubits" in str(exc)
        return
    check_invariants(em, circ, assignment, gq, net, packets, exact=False)
    assert max(em.peak_comm) <= comm


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(partitioned(max_ops=16), st.sampled_from([1, 2, 64]))
def test_random_simulation(case, comm):
    circ, packets, assignment, gq, k, cap, topology = case
    net = Network.uniform(k, cap, comm, topology=topology)
    try:
        em = emit(circ, packets, assignment, gq, net)
    except InfeasibleError:
        return
    if sum(em.data_register_sizes) + sum(em.peak_comm) > 15:
        return
    fids = data_fidelities(em, ideal_state(circ), circ.num_qubits, shots=3)
    assert min(fids) == pytest.approx(1, abs=1e-8)


# ============================================================================ scale


def _big_case(num_ops: int, seed: int = 0):
    """64 qubits in 4 blocks of 16, 95% of two-qubit gates inside a block, block assignment;
    a gate runs where its role-other operand lives, else where its first operand lives."""
    rng = np.random.default_rng(seed)
    n, k = 64, 4
    blk = n // k
    two = [g for g in GATES if g.num_qubits == 2]
    one = [g for g in GATES if g.num_qubits == 1 and g.name not in ("measure", "reset")]
    ops = []
    for _ in range(num_ops):
        if rng.random() < 0.6:
            g = two[rng.integers(len(two))]
            a = int(rng.integers(n))
            b = (int((a // blk) * blk + rng.integers(blk)) if rng.random() < 0.95
                 else int(rng.integers(n)))
            if a == b:
                b = (a + 1) % n
            ops.append((g.name, (a, b), tuple(rng.uniform(-3, 3, g.num_params))))
        else:
            g = one[rng.integers(len(one))]
            ops.append((g.name, (int(rng.integers(n)),), tuple(rng.uniform(-3, 3, g.num_params))))
    circ = from_ops(n, ops)
    packets = find_windows(circ)
    assignment = np.repeat(np.arange(k), blk)
    s0 = circ.qptr[:-1]
    gq = assignment[circ.qargs[s0]]
    two_op = KIND_NQ[circ.kind] == 2
    first_other = two_op & (packets.slot_window[s0] < 0)
    second_other = two_op & ~first_other & (packets.slot_window[np.minimum(s0 + 1, len(
        circ.qargs) - 1)] < 0)
    gq[second_other] = assignment[circ.qargs[s0[second_other] + 1]]
    return circ, packets, assignment, gq, k, blk + 1


def test_scale_20k_gates():
    circ, packets, assignment, gq, k, cap = _big_case(20_000)
    net = Network.uniform(k, cap, 4, topology="ring")
    t = time.perf_counter()
    em = emit(circ, packets, assignment, gq, net)
    elapsed = time.perf_counter() - t
    assert em.ebits >= em.ebits_model == cost(circ, assignment, gq, net, packets)
    assert max(em.peak_comm) <= 4
    assert elapsed < 5.0


@pytest.mark.slow
def test_scale_100k_gates():
    circ, packets, assignment, gq, k, cap = _big_case(100_000, seed=1)
    net = Network.uniform(k, cap, 64)
    t = time.perf_counter()
    em = emit(circ, packets, assignment, gq, net)
    elapsed = time.perf_counter() - t
    assert em.ebits == em.ebits_model == cost(circ, assignment, gq, net, packets)
    assert elapsed < 10.0   # about a second on an idle machine


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(partitioned(max_ops=40), st.integers(1, 3), st.integers(1, 4))
def test_schedule_columns_write_the_json_of_the_records(case, comm, chunk):
    """schedule.json written from the pair and message columns (in chunks of ``chunk``
    records) equals ``json.dumps`` of the records (relays on general networks, evictions with
    few comm qubits)."""
    import araqne.backend.pairs as pairs_module
    circ, packets, assignment, gq, k, cap, topology = case
    net = Network.uniform(k, cap, comm, topology=topology)
    try:
        em = emit(circ, packets, assignment, gq, net)
    except InfeasibleError:
        return
    extra = {"timing": {"x": 1.5, "y": None}}
    saved = pairs_module._CHUNK
    pairs_module._CHUNK = chunk
    try:
        fast = em.schedule_json(extra)
    finally:
        pairs_module._CHUNK = saved
    assert em._schedule is None            # not built as objects yet
    want = json.dumps(dict(em.schedule, **extra), separators=(",", ":"))
    assert fast == want
    assert json.loads(fast)["total"] == em.ebits == len(em.schedule["pairs"])


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(partitioned(max_ops=40), st.integers(1, 7))
def test_flushed_chunks_make_the_same_programs(case, every):
    """Joining the statements into chunks every few lines (as large programs do) gives the
    same texts."""
    import araqne.backend.emission as emission_module
    circ, packets, assignment, gq, k, cap, topology = case
    net = Network.uniform(k, cap, 2, topology=topology)
    try:
        whole = emit(circ, packets, assignment, gq, net)
    except InfeasibleError:
        return
    saved = emission_module.FLUSH_LINES
    emission_module.FLUSH_LINES = every
    try:
        chunked = emit(circ, packets, assignment, gq, net)
    finally:
        emission_module.FLUSH_LINES = saved
    assert chunked == whole


@pytest.mark.parametrize("seed", range(20))
def test_fused_gadgets_equal_the_reference_gadgets(seed):
    """``Program.cat_copy`` / ``cat_release`` (the emitter's fused hot path) write the same
    statements, steps, records, messages and pair fields as ``cat_entangle`` /
    ``cat_disentangle``."""
    rng = np.random.default_rng(seed)
    k = 3
    progs = [Program(k), Program(k)]
    live = []
    for _ in range(12):
        if live and rng.random() < 0.4:
            basis, q, copy, root_qpu, root, n = live.pop(int(rng.integers(len(live))))
            cat_disentangle(progs[0], basis, q, copy, root_qpu, root, n)
            progs[1].cat_release(basis == ROLE_Z, q, copy, root_qpu, root, n)
            continue
        basis = [ROLE_Z, ROLE_X][int(rng.integers(2))]
        u, v = (int(x) for x in rng.choice(k, 2, replace=False))
        src = f"qpu{u}[{int(rng.integers(2))}]"
        half, copy = f"comm{u}[{int(rng.integers(2))}]", f"comm{v}[{int(rng.integers(2))}]"
        route = None if rng.random() < 0.5 else [u, int(rng.integers(k)), v]
        relay = bool(rng.random() < 0.3)
        for p in progs[:1]:   # a gate on the source first, so that steps differ
            p.op(u, f"h {src};", (src,))
        progs[1].op(u, f"h {src};", (src,))
        n0 = cat_entangle(progs[0], basis, u, src, half, v, copy, window=7, qubit=3,
                          route=[u, v] if route is None else route, relay=relay).n
        n1 = progs[1].cat_copy(basis == ROLE_Z, u, src, half, v, copy, 7, 3, route, relay)
        assert n0 == n1
        live.append((basis, v, copy, u, src, n0))
    a, b = progs
    assert a.lines == b.lines and a.qlines == b.qlines
    assert list(a.records) == list(b.records) and a.nbits == b.nbits
    assert a.schedule_data().to_json() == b.schedule_data().to_json()


@pytest.mark.parametrize("topology", ["all", "line"])
def test_schedule_json_of_moves_and_input_conditions(topology):
    """State-teleportation pairs (no ``relay`` key, multi-hop routes) and messages of input
    bits: schedule.json from the columns equals ``json.dumps`` of the records."""
    ops = [("cx", (0, 1)), ("h", (0,)), ("cz", (0, 2)), ("ry", (0,), (0.3,)), ("cx", (2, 0)),
           ("measure", (1,), (), 0), ("x", (2,))]
    circ = from_ops(3, ops, num_clbits=1)
    circ.conditions = [Condition((0,), 1)]
    circ.cond[6] = 0
    net = Network.uniform(3, 2, 2, topology=topology)
    em = emit(circ, None, [0, 1, 2], [0, 1, 2, 1, 0, 1, 2], net,
              moves=[(2, 0, 0, 2), (5, 0, 2, 0)])
    fast = em.schedule_json({"timing": None}, "\n")
    want = json.dumps(dict(em.schedule, timing=None), separators=(",", ":")) + "\n"
    assert fast == want
    assert any(p["protocol"] == "state" for p in em.schedule["pairs"])
    assert any(m["pair"] is None for m in em.schedule["messages"])
