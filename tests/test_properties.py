"""Issue #8 part 3: property tests of the whole pipeline on random circuits and random clusters.

Hypothesis draws a circuit of 1 to 12 qubits (table gates, gates the frontend decomposes --
swap, iswap, ccx, cswap, ecr, dcx, ryy, cs, csx, rccx, ccz --, final and mid-circuit
measurements, resets, classically controlled gates built with Qiskit's ``if_test``) and a cluster
of 2 to 5 QPUs (random capacities, 1 to 3 communication qubits, links all-to-all, line, ring, star
or a random tree, built with :meth:`Network.from_dict`).  The only allowed outcomes are

* :func:`araqne.distribute` succeeds, the output keeps the contract invariants (``epr``
  statements == ``summary()["ebits"]`` >= ``ebits_model`` == :func:`araqne.api.check_cost`,
  e-bits only on links, capacities and communication qubits respected) and
  :func:`verify_program` passes (worst fidelity >= 0.999999, or the distribution check for
  dynamic circuits);
* or the request is refused with an :class:`araqne.errors.InfeasibleError` whose message is one
  line -- and only for a reason the cluster really has: the qubits do not fit, or a QPU has too
  few communication qubits.  (A third test gives some QPUs no communication qubit at all and
  accepts any one-line :class:`~araqne.errors.AraqneError`.)

Anything else is a bug.  Every failure prints a reproduction: the circuit as OpenQASM 3, the
network dict for :meth:`Network.from_dict` and the seed.  Verifier bugs found here are kept as
regression tests at the end (see "known bugs" below for the procedure while one is open).

The runs are deterministic (``derandomize=True``, no example database) and bounded (490 examples,
about a minute on two cores): dynamic circuits (which the distribution check samples with Aer,
shot by shot) are kept to 6 qubits and 4 QPUs; unitary circuits (checked by the numpy trajectory
engine, which holds only live qubits) go up to 12 qubits and 40 gates on 5 QPUs.
"""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest

pytest.importorskip("qiskit_aer")
pytest.importorskip("qiskit_qasm3_import")

from hypothesis import HealthCheck, event, given, note, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from qiskit import QuantumCircuit  # noqa: E402
import qiskit.qasm3  # noqa: E402

import araqne  # noqa: E402
from araqne.api import check_cost  # noqa: E402
from araqne.errors import AraqneError, InfeasibleError  # noqa: E402
from araqne.network import Network  # noqa: E402
from araqne.verification import verify_program  # noqa: E402

MIN_FIDELITY = 0.999999

_EPR = re.compile(r"^\s*epr\s", re.M)

# gate name -> (qubits, parameters); every one is a QuantumCircuit method of that name
GATES_1Q = {"id": 0, "x": 0, "y": 0, "z": 0, "h": 0, "s": 0, "sdg": 0, "t": 0, "tdg": 0,
            "sx": 0, "sxdg": 0, "rx": 1, "ry": 1, "rz": 1, "p": 1, "u": 3}
GATES_2Q = {"cx": 0, "cz": 0, "cy": 0, "ch": 0, "cp": 1, "crz": 1, "rzz": 1, "rxx": 1, "crx": 1,
            "rzx": 1, "cry": 1, "cu": 4,
            # decomposed by the frontend
            "swap": 0, "iswap": 0, "ecr": 0, "dcx": 0, "ryy": 1, "cs": 0, "csx": 0}
GATES_3Q = {"ccx": 0, "cswap": 0, "rccx": 0, "ccz": 0}
GATES = {**{g: (1, p) for g, p in GATES_1Q.items()}, **{g: (2, p) for g, p in GATES_2Q.items()},
         **{g: (3, p) for g, p in GATES_3Q.items()}}
GATE_NAMES = sorted(GATES)

angles = st.one_of(
    st.sampled_from([0.0, math.pi, math.pi / 2, -math.pi / 4, 2 * math.pi]),
    st.floats(min_value=-7.0, max_value=7.0, allow_nan=False, allow_infinity=False),
)


def _apply(qc: QuantumCircuit, name: str, qubits, params) -> None:
    getattr(qc, name)(*params, *qubits)


@st.composite
def gate_ops(draw, n: int):
    """One gate (name, qubits, params) that fits on ``n`` qubits."""
    names = [g for g in GATE_NAMES if GATES[g][0] <= n]
    name = draw(st.sampled_from(names))
    nq, np_ = GATES[name]
    qubits = draw(st.permutations(range(n)))[:nq]
    params = [draw(angles) for _ in range(np_)]
    return name, list(qubits), params


@st.composite
def circuits(draw, min_qubits: int = 1, max_qubits: int = 12, max_ops: int = 30,
             dynamic: bool = False):
    """A random QuantumCircuit with one classical bit per qubit.

    ``dynamic``: also mid-circuit measurements, resets and ``if_test`` blocks (bit or register
    conditions, with or without an else branch).  Final measurements of a random subset of qubits
    are added either way.
    """
    n = draw(st.integers(min_qubits, max_qubits))
    qc = QuantumCircuit(n, n, name="prop")
    kinds = ["gate"] * 6 + (["measure", "reset", "if", "if_else"] if dynamic else [])
    for _ in range(draw(st.integers(0, max_ops))):
        kind = draw(st.sampled_from(kinds))
        if kind == "gate":
            _apply(qc, *draw(gate_ops(n)))
        elif kind == "measure":
            q = draw(st.integers(0, n - 1))
            qc.measure(q, draw(st.integers(0, n - 1)))
        elif kind == "reset":
            qc.reset(draw(st.integers(0, n - 1)))
        else:
            if draw(st.booleans()):
                cond = (qc.clbits[draw(st.integers(0, n - 1))], draw(st.integers(0, 1)))
            else:
                cond = (qc.cregs[0], draw(st.integers(0, 2 ** n - 1)))
            body = draw(st.lists(gate_ops(n), min_size=1, max_size=3))
            if kind == "if":
                with qc.if_test(cond):
                    for op in body:
                        _apply(qc, *op)
            else:
                other = draw(st.lists(gate_ops(n), min_size=1, max_size=2))
                with qc.if_test(cond) as else_:
                    for op in body:
                        _apply(qc, *op)
                with else_:
                    for op in other:
                        _apply(qc, *op)
    measured = draw(st.lists(st.integers(0, n - 1), unique=True, max_size=n))
    for q in sorted(measured):
        qc.measure(q, q)
    return qc


def _tree_links(draw, k: int) -> list[tuple[int, int]]:
    """A random labelled tree on ``k`` nodes (each node after the first joins an earlier one,
    in a random order)."""
    order = draw(st.permutations(range(k)))
    links = []
    for i in range(1, k):
        parent = order[draw(st.integers(0, i - 1))]
        links.append((parent, order[i]))
    return links


TOPOLOGIES = ("all", "line", "ring", "star", "tree")


@st.composite
def clusters(draw, n: int, comm=st.integers(1, 3), max_k: int = 5):
    """A network-file dict of 2..max_k QPUs; capacities sum to at least ``n`` in most draws."""
    k = draw(st.integers(2, max_k))
    cap_hi = max(1, -(-n // k) + 3)
    caps = [draw(st.integers(1, cap_hi)) for _ in range(k)]
    qpus = [{"name": f"n{i}", "qubits": caps[i], "comm_qubits": draw(comm)} for i in range(k)]
    topology = draw(st.sampled_from(TOPOLOGIES))
    if topology == "all":
        links = []
    elif topology == "line":
        links = [(i, i + 1) for i in range(k - 1)]
    elif topology == "ring":
        links = [(i, (i + 1) % k) for i in range(k)] if k > 2 else [(0, 1)]
    elif topology == "star":
        hub = draw(st.integers(0, k - 1))
        links = [(hub, i) for i in range(k) if i != hub]
    else:
        links = _tree_links(draw, k)
    data = {"qpu": qpus}
    if links:
        data["link"] = [{"between": [f"n{a}", f"n{b}"]} for a, b in links]
    return data


def _describe(qc: QuantumCircuit, net: dict, seed: int) -> str:
    """A reproduction recipe: the circuit as OpenQASM 3, the network dict and the seed."""
    return (f"seed={seed}\nnetwork={json.dumps(net)}\ncircuit=\n{qiskit.qasm3.dumps(qc)}")


def _check(qc: QuantumCircuit, net_dict: dict, seed: int, *, samples: int, shots: int,
           dist_shots: int = 1024, refusable: bool = False) -> str:
    """Distribute and verify, or accept a clean refusal; returns what happened (an event).

    A refusal must be one line; unless ``refusable``, it must also be an infeasibility the
    cluster really has (fewer data qubits than the circuit, or too few communication qubits).
    """
    note(_describe(qc, net_dict, seed))
    net = Network.from_dict(net_dict)
    n = qc.num_qubits
    caps = net.capacities()
    try:
        result = araqne.distribute(qc, net, seed=seed)
    except AraqneError as err:
        msg = str(err)
        assert msg and len(msg.splitlines()) == 1, repr(msg)
        if refusable:
            return "refused"
        # the infeasibilities a cluster drawn here can have: the qubits do not fit, or a QPU has
        # too few communication qubits for the copies (and relays) the partition asks of it
        assert isinstance(err, InfeasibleError) and (
            int(caps.sum()) < n or "communication qubit" in msg), \
            f"unexpected refusal {type(err).__name__}: {msg}"
        return "refused (capacity)" if int(caps.sum()) < n else "refused (communication qubits)"
    assert int(caps.sum()) >= n
    em = result.emit()
    summary = result.summary()
    text = em.distributed_qasm

    # cost invariants
    eprs = len(_EPR.findall(text))
    assert eprs == summary["ebits"] == em.ebits, (eprs, summary["ebits"], em.ebits)
    assert summary["ebits"] >= summary["ebits_model"] == result.ebits_model
    assert result.ebits_model == check_cost(result), (result.ebits_model, check_cost(result))
    assert sum(summary["ebits_per_link"].values()) == summary["ebits"]
    # every e-bit is made on a link of the network
    edges = {tuple(e) for e in net.edges()}
    for key in summary["ebits_per_link"]:
        a, b = map(int, key.split("-"))
        assert (a, b) in edges, f"e-bits on {key}, which is not a link"
    # capacities
    used = np.bincount(result.assignment, minlength=net.k)
    assert np.all(used <= caps), (used, caps)
    assert all(d <= c for d, c in zip(em.data_register_sizes, caps))
    assert all(p <= c for p, c in zip(em.peak_comm, net.comm())), (em.peak_comm, net.comm())
    assert len({tuple(x) for x in em.layout_initial}) == n
    assert len({tuple(x) for x in em.layout_final}) == n

    if _known_verifier_bug(qc):
        return "distributed; not simulated (known verifier bug)"
    rep = verify_program(qc, text, em.layout_initial, em.layout_final, samples=samples,
                         shots=shots, seed=seed, max_qubits=64, dist_shots=dist_shots)
    assert not rep.contract_errors, rep.contract_errors
    assert not rep.measurement_errors, rep.measurement_errors
    assert rep.passed, rep.summary()
    if rep.method == "statevector":
        assert rep.worst_fidelity >= MIN_FIDELITY, rep.summary()
    return f"verified ({rep.method})"


# ---------------------------------------------------------------------------- known bugs
# Verifier bugs found by these tests are reported (issue #8), reproduced minimally below and,
# while open, listed here: examples that hit one still distribute and keep every invariant
# above but are not simulated, and its reproduction is a strict xfail.  None is open.  Fixed so
# far: Aer's qubit truncation broke the distribution check (classical control, inputs measuring
# nothing), and two final measurements into one bit gave a false measurement error.


def _known_verifier_bug(qc: QuantumCircuit) -> bool:
    """Whether ``qc`` hits an open verifier bug (there is none at present)."""
    return False


COMMON = dict(deadline=None, derandomize=True, database=None, print_blob=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                     HealthCheck.filter_too_much])


@settings(max_examples=300, **COMMON)
@given(data=st.data())
def test_unitary_circuits_distribute_and_verify(data):
    """Gates (table and decomposed) and final measurements, 1..12 qubits: statevector check."""
    qc = data.draw(circuits(max_qubits=12, max_ops=40), label="circuit")
    net = data.draw(clusters(qc.num_qubits), label="network")
    seed = data.draw(st.integers(0, 2**16), label="seed")
    event(_check(qc, net, seed, samples=2, shots=2))


@settings(max_examples=150, **COMMON)
@given(data=st.data())
def test_dynamic_circuits_distribute_and_verify(data):
    """Mid-circuit measurements, resets and if/else blocks: distribution check (Aer).

    Kept to at most 6 qubits and 4 QPUs so that Aer, which runs a dynamic program shot by shot
    over every qubit it touches, stays fast.
    """
    qc = data.draw(circuits(max_qubits=6, max_ops=16, dynamic=True), label="circuit")
    net = data.draw(clusters(qc.num_qubits, comm=st.integers(1, 3), max_k=4), label="network")
    seed = data.draw(st.integers(0, 2**16), label="seed")
    event(_check(qc, net, seed, samples=2, shots=2, dist_shots=1024))


@settings(max_examples=40, **COMMON)
@given(data=st.data())
def test_without_communication_qubits_refuses_or_verifies(data):
    """QPUs with no communication qubit: a remote gate cannot be served, so the request must be
    refused cleanly (or succeed when no e-bit is needed)."""
    qc = data.draw(circuits(min_qubits=2, max_qubits=6, max_ops=10), label="circuit")
    net = data.draw(clusters(qc.num_qubits, comm=st.integers(0, 1), max_k=3), label="network")
    seed = data.draw(st.integers(0, 2**16), label="seed")
    event(_check(qc, net, seed, samples=1, shots=2, refusable=True))


# ---------------------------------------------------------------------------- reproductions


def _distribute_and_verify(qc: QuantumCircuit, net: Network):
    result = araqne.distribute(qc, net, seed=0)
    em = result.emit()
    return verify_program(qc, em.distributed_qasm, em.layout_initial, em.layout_final,
                          samples=2, shots=2, seed=0, dist_shots=256)


def test_dynamic_circuit_without_measurement_verifies():
    """Once a bug: Aer's truncation left no counts for an input that measures nothing."""
    qc = QuantumCircuit(1, 1)
    qc.h(0)
    qc.reset(0)
    rep = _distribute_and_verify(qc, Network.uniform(2, 1, comm_qubits=1))
    assert rep.method == "distribution"
    assert rep.passed, rep.summary()


def test_classical_control_verifies():
    """Once a bug: Aer's truncation failed to load a classically controlled input."""
    qc = QuantumCircuit(2, 2)
    with qc.if_test((qc.clbits[0], 0)):
        qc.x(0)
    qc.measure(1, 1)
    rep = _distribute_and_verify(qc, Network.uniform(2, 1, comm_qubits=1))
    assert rep.method == "distribution"
    assert rep.passed, rep.summary()


def test_aer_runs_without_truncation(monkeypatch):
    """Every Aer run of the verifier has truncation off."""
    from qiskit_aer import AerSimulator

    seen = []

    real = AerSimulator.run

    def run(self, circuits, *args, **options):
        seen.append(options.get("enable_truncation"))
        return real(self, circuits, *args, **options)

    monkeypatch.setattr(AerSimulator, "run", run)
    qc = QuantumCircuit(2, 2)
    qc.h(0)
    qc.measure(0, 0)
    with qc.if_test((qc.clbits[0], 1)):
        qc.x(1)
    qc.measure(1, 1)
    rep = _distribute_and_verify(qc, Network.uniform(2, 1, comm_qubits=1))
    assert rep.passed, rep.summary()
    assert seen and all(v is False for v in seen), seen


@pytest.mark.parametrize("k", [1, 2])
def test_two_final_measurements_into_one_bit_verify(k):
    """Once a bug: the bit holds the last writer's outcome, and the earlier final measurement
    into it is no error."""
    qc = QuantumCircuit(2, 1)
    qc.x(0)
    qc.measure(1, 0)
    qc.measure(0, 0)  # the output bit is the last writer's: always 1
    rep = _distribute_and_verify(qc, Network.uniform(k, 2 if k == 1 else 1, comm_qubits=1))
    assert not rep.measurement_errors, rep.measurement_errors
    assert rep.passed, rep.summary()


def test_wrong_last_writer_of_a_bit_is_caught():
    """The check is not vacuous: a program whose last write of the bit comes from the other
    qubit (the two final measurements swapped) is reported."""
    from araqne.verification import verify_circuits
    from qiskit import ClassicalRegister, QuantumRegister

    qc = QuantumCircuit(2, 1)
    qc.x(0)
    qc.measure(1, 0)
    qc.measure(0, 0)
    data = QuantumRegister(2, "qpu0")
    out = QuantumCircuit(data, ClassicalRegister(1, "c"))
    out.x(data[0])
    out.measure(data[0], 0)  # swapped: the bit ends with qubit 1's outcome (0)
    out.measure(data[1], 0)
    layout = [(0, 0), (0, 1)]
    rep = verify_circuits(qc, out, layout, samples=1, shots=1)
    assert not rep.passed
    assert any("last written from qpu0[1], expected qpu0[0]" in e
               for e in rep.measurement_errors), rep.measurement_errors
    good = QuantumCircuit(data, ClassicalRegister(1, "c"))
    good.x(data[0])
    good.measure(data[1], 0)
    good.measure(data[0], 0)
    assert verify_circuits(qc, good, layout, samples=1, shots=1).passed


def test_distribute_prints_nothing(capfd):
    qc = QuantumCircuit(2)
    qc.cz(1, 0)
    net = Network.from_dict({"qpu": [{"name": n, "qubits": c}
                                     for n, c in zip("abcde", [3, 2, 2, 3, 4])]})
    capfd.readouterr()
    araqne.distribute(qc, net, seed=0)
    captured = capfd.readouterr()
    assert captured.out == "" and captured.err == "", captured
