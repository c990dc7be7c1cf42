"""Tests of routing inside a QPU (araqne.backend.routing).

Every routed program is checked structurally (parses back, every two-qubit gate on a coupling
edge, every Bell-pair half on that communication qubit's own site, the reported SWAP count equal
to the ``swap`` statements added) and, for small ones, by simulation against the unrouted
program: exactly for a measurement-free program, and branch by branch (every measurement
outcome, with its probability) for programs emitted by ``araqne.distribute`` with mid-circuit
measurements and ``if`` corrections.  Communication and idle qubits start in |0>, as on the
hardware; data qubits start in a random product state.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

pytest.importorskip("qiskit_qasm3_import")

from qiskit import QuantumCircuit  # noqa: E402
from qiskit.circuit.library import get_standard_gate_name_mapping  # noqa: E402
from qiskit.quantum_info import Operator, Statevector  # noqa: E402

import araqne  # noqa: E402
from araqne.backend.routing import (  # noqa: E402
    RoutingReport, comm_ports, route_program, route_qpu_programs)
from araqne.errors import InfeasibleError  # noqa: E402
from araqne.network import QPU, Network  # noqa: E402
from araqne.verification import load_program  # noqa: E402

_STD = get_standard_gate_name_mapping()


def _net(coupling_a, qubits_a=4, comm_a=2, coupling_b=None, qubits_b=4):
    qa = {"name": "a", "qubits": qubits_a, "comm_qubits": comm_a}
    if coupling_a is not None:
        qa["coupling"] = coupling_a
    qb = {"name": "b", "qubits": qubits_b}
    if coupling_b is not None:
        qb["coupling"] = coupling_b
    return Network.from_dict({"qpu": [qa, qb]})


def _long_range(n: int = 8, measure: bool = True) -> QuantumCircuit:
    """Gates between far-apart qubits of each half, and across the halves."""
    qc = QuantumCircuit(n, n if measure else 0)
    for q in range(n):
        qc.h(q)
    half = n // 2
    for a in range(half):
        for b in range(a + 2, half):
            qc.cx(a, b)
            qc.cp(0.3 + a, half + a, half + b)
    qc.cz(0, n - 1)
    qc.cx(1, half + 1)
    if measure:
        qc.measure(range(n), range(n))
    return qc


def _ops(circ):
    """(operation, [qubit index]) of every instruction, inside control-flow blocks too."""
    for ci in circ.data:
        op = ci.operation
        qs = [circ.find_bit(b).index for b in ci.qubits]
        yield op, qs
        for block in getattr(op, "blocks", None) or ():
            inner = {b: qs[k] for k, b in enumerate(block.qubits)}
            for iop, iqs in _ops(block):
                yield iop, [inner[block.qubits[k]] for k in iqs]


def _check_routed(r, qpu: QPU, original: str) -> QuantumCircuit:
    """Structural checks of one routed program; returns it parsed."""
    assert r.routed
    circ = load_program(r.qasm)
    n, c = qpu.qubits, qpu.comm_qubits
    assert [reg.name for reg in circ.qregs] == [f"qpu{r.index}"] + ([f"comm{r.index}"] if c
                                                                      else [])
    assert circ.num_qubits == n + c
    edges = {frozenset(e) for e in qpu.coupling_edges()}
    edges |= {frozenset((n + j, p)) for j, p in enumerate(r.ports)}
    for op, qs in _ops(circ):
        if len(qs) == 2:
            assert frozenset(qs) in edges, (op.name, qs)
        if op.name == "epr_half":
            assert qs[0] >= n, "a Bell-pair half landed on a data qubit"
    # the SWAP count is the swap statements added, and each epr_half keeps its schedule note
    swaps = len(re.findall(r"^\s*swap\b", r.qasm, re.M))
    assert swaps - len(re.findall(r"^\s*swap\b", original, re.M)) == r.swaps_added
    notes = re.findall(r"^epr_half [^;]+; // (e\d+: .*)$", original, re.M)
    assert re.findall(r"^epr_half comm\d+\[(\d+)\]; // (e\d+: .*)$", r.qasm, re.M) == [
        (m, note) for m, note in zip(
            re.findall(r"^epr_half comm\d+\[(\d+)\];", original, re.M), notes)]
    assert r.final_layout == [r.permutation[s] for s in r.initial_layout]
    return circ


# ------------------------------------------------------------------------------ simulation


def _apply(sv: Statevector, op, qs) -> Statevector:
    if op.name in ("epr_half", "barrier", "id", "delay"):
        return sv
    try:
        return sv.evolve(Operator(op), qs)
    except Exception:  # importer's plain Instruction inside if blocks: use the standard gate
        gate = _STD[op.name]
        if op.params:
            gate = type(gate)(*op.params)
        return sv.evolve(Operator(gate), qs)


def _branches(circ: QuantumCircuit, sv: Statevector) -> dict:
    """Classical record (bit name -> value) -> (probability, normalised state), exhaustively."""
    names = {}
    for reg in circ.cregs:
        for k, bit in enumerate(reg):
            names[bit] = f"{reg.name}[{k}]"
    out: dict = {}

    def walk(data, qmap, start, prob, state, bits):
        for pos in range(start, len(data)):
            ci = data[pos]
            op = ci.operation
            qs = [qmap[b] for b in ci.qubits]
            if op.name in ("measure", "reset"):
                for o in (0, 1):
                    p = state.probabilities([qs[0]])[o]
                    if p < 1e-10:
                        continue
                    proj = np.zeros((2, 2))
                    proj[o, o] = 1
                    new = state.evolve(Operator(proj), [qs[0]])
                    new = Statevector(new.data / np.sqrt(p))
                    nb = dict(bits)
                    if op.name == "measure":
                        nb[names[ci.clbits[0]]] = o
                    elif o == 1:
                        new = new.evolve(Operator(_STD["x"]), [qs[0]])
                    walk(data, qmap, pos + 1, prob * p, new, nb)
                return
            if op.name == "if_else":
                bit, value = op.condition
                if bits.get(names[bit], 0) == int(value):
                    block = op.blocks[0]
                    inner = {b: qs[k] for k, b in enumerate(block.qubits)}
                    for ici in block.data:
                        state = _apply(state, ici.operation, [inner[b] for b in ici.qubits])
                continue
            state = _apply(state, op, qs)
        key = tuple(sorted(bits.items()))
        assert key not in out
        out[key] = (prob, state)

    walk(circ.data, {b: k for k, b in enumerate(circ.qubits)}, 0, 1.0, sv, {})
    return out


def _product(n: int, places: dict, rng) -> Statevector:
    """|0...0> on n qubits with a random single-qubit state on each site in ``places``."""
    qc = QuantumCircuit(n)
    for site in places:
        qc.u(*rng.uniform(0, np.pi, 3), site)
    return Statevector(qc)


def _embed(state: Statevector, sites: list[int], total: int) -> np.ndarray:
    """An nv-qubit state with qubit v moved to ``sites[v]`` of ``total`` qubits (rest |0>)."""
    nv = len(sites)
    full = np.zeros(2 ** total, dtype=complex)
    for idx, amp in enumerate(state.data):
        if amp == 0:
            continue
        j = 0
        for v in range(nv):
            if (idx >> v) & 1:
                j |= 1 << sites[v]
        full[j] = amp
    return full


def _assert_equivalent(original: str, r, seed: int = 0) -> None:
    """Every measurement branch of the routed program matches the original's."""
    orig = load_program(original)
    routed = load_program(r.qasm)
    D = len(orig.qregs[0]) if orig.qregs and orig.qregs[0].name.startswith("qpu") else 0
    rng = np.random.default_rng(seed)
    angles = [rng.uniform(0, np.pi, 3) for _ in range(D)]
    a = QuantumCircuit(orig.num_qubits)
    b = QuantumCircuit(routed.num_qubits)
    for v in range(D):
        a.u(*angles[v], v)
        b.u(*angles[v], r.initial_layout[v])
    want = _branches(orig, Statevector(a))
    got = _branches(routed, Statevector(b))
    assert set(want) == set(got)
    for key, (p, state) in want.items():
        q, rstate = got[key]
        assert p == pytest.approx(q, abs=1e-9)
        expect = _embed(state, r.final_layout, routed.num_qubits)
        assert abs(np.vdot(expect, rstate.data)) == pytest.approx(1.0, abs=1e-7)


# ------------------------------------------------------------------------------ tests


def test_line_adds_swaps_all_to_all_none():
    net = _net("line")
    res = araqne.distribute(_long_range(), net)
    programs = res.qpu_programs()
    rep = route_qpu_programs(res.emit(), net, seed=0)
    assert isinstance(rep, RoutingReport)
    a, b = rep.qpus
    assert a.routed and a.coupling == "line" and a.swaps_added > 0
    assert a.depth_after >= a.depth_before > 0
    assert a.cx_added == 3 * a.swaps_added
    _check_routed(a, net.qpus[0], programs[0])
    assert not b.routed and b.coupling == "all-to-all"
    assert b.swaps_added == 0 and b.qasm == programs[1] and b.depth_after == b.depth_before
    assert rep.swaps_added == a.swaps_added and rep.swaps_per_qpu == [a.swaps_added, 0]
    assert rep.qpu_qasm == [a.qasm, programs[1]]
    d = rep.to_dict()
    assert d["qpus"][0]["swaps_added"] == a.swaps_added and "qasm" not in d["qpus"][0]
    assert set(rep.output_files()) == {"qpu0.routed.qasm", "routing.json"}
    # deterministic for a seed; the same program on an all-to-all QPU needs none
    again = route_qpu_programs(programs, net, seed=0)
    assert again.qpus[0].qasm == a.qasm
    free = route_qpu_programs(programs, _net(None))
    assert free.swaps_per_qpu == [0, 0] and free.qpu_qasm == programs


_HEAD = """OPENQASM 3.0;
include "stdgates.inc";
gate epr_half a { }
qubit[6] qpu0;
qubit[2] comm0;
"""

# Communication qubits are pulled deep into a line of 6 (ports at both ends), then receive
# Bell-pair halves again: the router must SWAP them back to their sites.
_UNITARY = _HEAD + """h qpu0[0];
cx qpu0[0], qpu0[4];
epr_half comm0[0]; // e0: Bell pair with qpu1 comm1[0]
cx comm0[0], qpu0[5];
cx comm0[0], qpu0[3];
cz qpu0[1], qpu0[3];
cp(0.7) qpu0[4], comm0[0];
epr_half comm0[1]; // e1: Bell pair with qpu1 comm1[1]
cx comm0[1], qpu0[0];
rz(0.4) comm0[1];
cx qpu0[2], comm0[1];
epr_half comm0[0]; // e2: Bell pair with qpu1 comm1[0]
cx comm0[0], qpu0[5];
swap qpu0[1], qpu0[4];
cx qpu0[2], qpu0[0];
epr_half comm0[1]; // e3: Bell pair with qpu1 comm1[1]
cx comm0[1], qpu0[3];
"""

# The same with measured and reset communication qubits (fresh |0> qubits are relabelled).
_MEASURED = _HEAD.replace("qubit[2] comm0;", "qubit[2] comm0;\nbit[4] m;") + """h qpu0[0];
epr_half comm0[0]; // e0: Bell pair with qpu1 comm1[0]
cx comm0[0], qpu0[5];
cx qpu0[0], qpu0[3];
cx comm0[0], qpu0[3];
h comm0[0];
m[0] = measure comm0[0];
// send m[0] to qpu1 (e0)
reset comm0[0];
epr_half comm0[1]; // e1: Bell pair with qpu1 comm1[1]
cx comm0[1], qpu0[1];
cx qpu0[4], comm0[1];
m[1] = measure comm0[1];
reset comm0[1];
if (m[1]) z qpu0[4];
epr_half comm0[0]; // e2: Bell pair with qpu1 comm1[0]
cx qpu0[2], comm0[0];
cx qpu0[5], comm0[0];
m[2] = measure comm0[0];
if (m[2]) x qpu0[5];
reset comm0[0];
epr_half comm0[0]; // e3: Bell pair with qpu1 comm1[0]
cx comm0[0], qpu0[1];
"""


def test_measurement_free_program_equals_unrouted_up_to_layout():
    qpu = QPU("a", 6, 2, coupling="line")
    for seed in range(3):
        r = route_program(_UNITARY, qpu, index=0, seed=seed)
        _check_routed(r, qpu, _UNITARY)
        assert r.swaps_added > 0 and r.restore_swaps > 0
        _assert_equivalent(_UNITARY, r, seed=seed)
    # with qiskit Operators: U_routed (on |0> of communication and idle sites) equals
    # P_final U_original P_initial^-1 on random data states
    routed = load_program(r.qasm)
    orig = load_program(_UNITARY)
    zeros = np.array([1, 0, 0, 0])  # the two communication qubits of the original in |0>
    rng = np.random.default_rng(7)
    for _ in range(3):
        data = _product(6, range(6), rng).data
        start = _embed(Statevector(np.kron(zeros, data)), r.initial_layout, routed.num_qubits)
        out = Statevector(start).evolve(Operator(routed))
        expect = Statevector(np.kron(zeros, data)).evolve(Operator(orig))
        expect = _embed(expect, r.final_layout, routed.num_qubits)
        assert abs(np.vdot(expect, out.data)) == pytest.approx(1.0, abs=1e-8)


@pytest.mark.parametrize("coupling", ["line", "grid", "heavy-hex"])
def test_measured_program_matches_branch_by_branch(coupling):
    qpu = QPU("a", 6, 2, coupling=coupling)
    for seed in range(3):
        r = route_program(_MEASURED, qpu, index=0, seed=seed)
        _check_routed(r, qpu, _MEASURED)
        assert r.swaps_added > 0
        _assert_equivalent(_MEASURED, r, seed=seed)
    assert "m[0] = measure" in r.qasm and "// send m[0] to qpu1 (e0)" in r.qasm


@pytest.mark.parametrize("coupling", ["line", "grid", [[0, 1], [1, 2], [2, 3], [1, 4], [4, 5]]])
def test_distributed_programs_with_measurements_match_branch_by_branch(coupling):
    net = _net(coupling, qubits_a=6, coupling_b="line", qubits_b=4)
    qc = _long_range(8)
    res = araqne.distribute(qc, net)
    programs = res.qpu_programs()
    rep = route_qpu_programs(res, net, seed=1)
    for i, r in enumerate(rep.qpus):
        _check_routed(r, net.qpus[i], programs[i])
        _assert_equivalent(programs[i], r, seed=i)
    assert rep.qpus[0].swaps_added > 0


@pytest.mark.parametrize("coupling", ["grid", "heavy-hex"])
def test_grid_and_heavy_hex(coupling):
    n = 16
    qc = QuantumCircuit(n, n)
    for a in range(n):
        qc.h(a)
        for b in range(a + 1, n):
            qc.cp(np.pi / 2 ** (b - a), b, a)
    qc.measure(range(n), range(n))
    net = _net(coupling, qubits_a=9, comm_a=3, coupling_b=coupling, qubits_b=9)
    res = araqne.distribute(qc, net)
    programs = res.qpu_programs()
    rep = route_qpu_programs(res, net, seed=0)
    for i, r in enumerate(rep.qpus):
        _check_routed(r, net.qpus[i], programs[i])
        assert r.coupling == coupling and r.swaps_added > 0
        assert r.depth_after > r.depth_before
        assert len(set(r.ports)) == len(r.ports) == net.qpus[i].comm_qubits
    assert "// send m[" in rep.qpus[0].qasm and "// recv m[" in rep.qpus[1].qasm


def test_comm_ports_sit_on_the_boundary():
    assert comm_ports(4, [(0, 1), (1, 2), (2, 3)], 2) == [0, 3]
    grid = QPU("g", 9, 4, coupling="grid").coupling_edges()
    assert comm_ports(9, grid, 4) == [0, 8, 2, 6]
    assert comm_ports(1, [], 2) == [0, 0]
    assert comm_ports(5, [(0, 1)], 0) == []


def test_coded_qpu_is_not_routed():
    net = Network.from_dict({"qpu": [
        {"name": "a", "qubits": 80, "code": "surface", "distance": 3, "coupling": "grid"},
        {"name": "b", "qubits": 80, "code": "surface", "distance": 3}]})
    res = araqne.distribute(_long_range(6), net)
    rep = route_qpu_programs(res, net)
    assert not rep.qpus[0].routed and "logical" in rep.qpus[0].note
    assert rep.qpu_qasm == res.qpu_programs()


def test_too_small_or_disconnected_map_is_refused():
    res = araqne.distribute(_long_range(8), _net("line", qubits_a=5))
    programs = res.qpu_programs()
    data_a = int(re.search(r"qubit\[(\d+)\] qpu0;", programs[0]).group(1))
    assert data_a >= 3
    small = _net([[0, 1], [1, 2]], qubits_a=data_a - 1, qubits_b=8)
    with pytest.raises(InfeasibleError) as err:
        route_qpu_programs(programs, small)
    msg = str(err.value)
    assert "\n" not in msg and "'a'" in msg and "too small" in msg
    split = _net([[0, 1], [2, 3]], qubits_a=5, qubits_b=5)
    with pytest.raises(InfeasibleError) as err:
        route_qpu_programs(programs, split)
    assert "\n" not in str(err.value) and "'a'" in str(err.value)
    assert "disconnected" in str(err.value)
    few_comm = _net("line", qubits_a=5, comm_a=0, qubits_b=5)
    with pytest.raises(InfeasibleError, match="communication qubits"):
        route_qpu_programs(programs, few_comm)


def test_defined_gates_keep_each_calls_angles():
    # u, rzz, rxx, rzx and sxdg are defined by the emitted program; every call must keep its
    # own angles in the routed program (qasm3.dumps bakes the first call's into a definition
    # unless they are Qiskit's standard gates)
    qc = QuantumCircuit(6)
    for k in range(3):
        qc.u(0.3 + k, 0.2 * k, 0.1, k)
        qc.rzz(0.4 + k, 0, 3)
        qc.rxx(0.2 + k, 1, 2)
        qc.rzx(0.7 - k, 2, 0)
        qc.sxdg(k)
        qc.cx(k, 4 + k % 2)
    net = _net("line", qubits_a=4, qubits_b=2)
    res = araqne.distribute(qc, net)
    program = res.qpu_programs()[0]
    assert len(re.findall(r"^rzz\(", program, re.M)) == 3
    r = route_qpu_programs(res, net).qpus[0]
    _check_routed(r, net.qpus[0], program)
    assert len(set(re.findall(r"^rzz\(([^)]*)\)", r.qasm, re.M))) == 3
    _assert_equivalent(program, r)


def test_random_circuits_all_gate_kinds():
    from helpers import random_circuit

    rng = np.random.default_rng(5)
    for trial, coupling in enumerate(["line", "grid", "heavy-hex"]):
        circ = random_circuit(7, 40, rng, p_two=0.5)
        net = _net(coupling, qubits_a=4, coupling_b="line", qubits_b=4)
        res = araqne.distribute(circ, net, seed=trial)
        programs = res.qpu_programs()
        rep = route_qpu_programs(res, net, seed=trial, restarts=1)
        for i, r in enumerate(rep.qpus):
            _check_routed(r, net.qpus[i], programs[i])
            _assert_equivalent(programs[i], r, seed=trial)


_PATCHED = hasattr(araqne.api.PartitionResult, "route")


@pytest.mark.skipif(not _PATCHED, reason="PartitionResult.route not wired in yet")
def test_api_and_cli_route(tmp_path):
    import json

    from click.testing import CliRunner

    from araqne.cli import main

    net = _net("line", qubits_b=4, coupling_b="grid")
    res = araqne.distribute(_long_range(), net)
    rep = res.route()
    assert rep.qpus[0].swaps_added > 0
    summary = res.summary()
    assert summary["routing"]["swaps_added"] == rep.swaps_added
    files = res.output_files()
    assert "qpu0.routed.qasm" in files and "routing.json" in files

    circuit = tmp_path / "c.qasm"
    import qiskit.qasm2
    circuit.write_text(qiskit.qasm2.dumps(_long_range()))
    netfile = tmp_path / "net.json"
    netfile.write_text(json.dumps(net.to_dict()))
    out = tmp_path / "out"
    got = CliRunner().invoke(main, ["partition", str(circuit), "--network", str(netfile),
                                    "--route", "--out", str(out), "--json"])
    assert got.exit_code == 0, got.output
    printed = json.loads(got.output)
    assert printed["routing"]["qpus"][0]["routed"]
    assert (out / "qpu0.routed.qasm").exists() and (out / "routing.json").exists()
    load_program((out / "qpu1.routed.qasm").read_text())
