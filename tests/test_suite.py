"""Tests of araqne.suite: the benchmark generators, the SUITE registry and the bundled QASM."""

from __future__ import annotations

import importlib.util
import math
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from qiskit import QuantumCircuit, qasm2
from qiskit.quantum_info import Operator, SparsePauliOp, Statevector

from araqne import suite

ROOT = Path(__file__).resolve().parent.parent
CIRCUITS = ROOT / "circuits"

SMALL = [e for e in suite.SUITE if e.num_qubits <= 64]
LARGE = [e for e in suite.SUITE if e.num_qubits > 64]


def _text(qc: QuantumCircuit) -> str:
    return suite.qasm2_text(qc)


# ------------------------------------------------------------------------------------------
# the registry
# ------------------------------------------------------------------------------------------

def test_suite_shape():
    assert len(suite.SUITE) >= 30
    names = [e.name for e in suite.SUITE]
    assert len(set(names)) == len(names)
    assert {e.tier for e in suite.SUITE} == {"quick", "full"}
    quick = suite.quick()
    assert 8 <= len(quick) <= 12
    assert all(e.num_qubits <= 64 for e in quick)
    sizes = [e.num_qubits for e in suite.SUITE]
    assert min(sizes) == 8 and max(sizes) == 256
    for anchor in ["qft_64", "qft_96", "qaoa_gnp_64", "quantum_volume_64", "quantum_volume_96",
                   "cp_fraction_128", "cp_fraction_256", "cz_fraction_50", "cz_fraction_48",
                   "qft_32", "qft_16_swaps", "deutsch_jozsa_32"]:
        assert anchor in names
    assert suite.get("qft_64").num_qubits == 64
    assert suite.names("quick") == [e.name for e in quick]
    with pytest.raises(KeyError):
        suite.get("no_such_circuit")


def test_entry_unpacks_as_tuple():
    name, gen, n, tier = suite.get("ghz_32")
    assert (name, n, tier) == ("ghz_32", 32, "quick")
    assert gen().num_qubits == 32


def test_anchor_arguments():
    qft64 = suite.get("qft_64").build()
    assert "swap" not in qft64.count_ops() and qft64.count_ops()["cp"] == 64 * 63 // 2
    assert suite.get("qft_16_swaps").build().count_ops()["swap"] == 8
    qaoa = suite.get("qaoa_gnp_64").build()
    assert qaoa.metadata["args"] == {"n": 64, "p": 1, "seed": 0, "kind": "gnp", "prob": 0.5}
    cp128 = suite.get("cp_fraction_128").build()
    assert cp128.metadata["args"] == {"n": 128, "depth": 128, "fraction": 0.5, "seed": 0}


@pytest.mark.parametrize("entry", SMALL, ids=lambda e: e.name)
def test_small_entries_build(entry):
    qc = entry.build()
    assert isinstance(qc, QuantumCircuit)
    assert qc.num_qubits == entry.num_qubits
    assert qc.num_parameters == 0
    assert qc.size() > 0
    assert qc.metadata["generator"]


@pytest.mark.parametrize("entry", LARGE, ids=lambda e: e.name)
def test_large_entries_qubit_counts(entry):
    qc = entry.build()
    assert qc.num_qubits == entry.num_qubits
    assert qc.num_parameters == 0


@pytest.mark.slow
@pytest.mark.parametrize("entry", LARGE, ids=lambda e: e.name)
def test_large_entries_write_qasm(entry, tmp_path):
    path = suite.write_qasm(entry.build(), tmp_path / f"{entry.name}.qasm")
    back = qasm2.loads(path.read_text(), custom_instructions=qasm2.LEGACY_CUSTOM_INSTRUCTIONS)
    assert back.num_qubits == entry.num_qubits


# ------------------------------------------------------------------------------------------
# determinism
# ------------------------------------------------------------------------------------------

SEEDED = [
    (suite.qaoa_maxcut, dict(graph_or_n=20, p=2, kind="gnp", prob=0.4)),
    (suite.qaoa_maxcut, dict(graph_or_n=20, kind="regular", degree=3)),
    (suite.quantum_volume, dict(n=6)),
    (suite.cp_fraction, dict(n=20, depth=10)),
    (suite.cz_fraction, dict(n=20, depth=10)),
    (suite.cz_fraction, dict(n=20, depth=10, single="u")),
    (suite.random_cx, dict(n=10, depth=5)),
    (suite.random_mixed, dict(n=10, depth=5)),
    (suite.bernstein_vazirani, dict(n=12)),
    (suite.deutsch_jozsa, dict(n=12)),
    (suite.grover, dict(n=5, iterations=1)),
    (suite.qpe, dict(n=8)),
    (suite.two_local, dict(n=6, reps=1)),
    (suite.real_amplitudes, dict(n=6, reps=2)),
    (suite.efficient_su2, dict(n=6, reps=2)),
    (suite.uccsd_like, dict(n=8)),
]


@pytest.mark.parametrize("fn,kwargs", SEEDED, ids=lambda x: getattr(x, "__name__", ""))
def test_same_seed_same_circuit(fn, kwargs):
    a, b = fn(seed=7, **kwargs), fn(seed=7, **kwargs)
    assert a == b
    assert _text(a) == _text(b)
    c = fn(seed=8, **kwargs)
    assert _text(a) != _text(c)


def test_unseeded_generators_are_stable():
    for fn, args in [(suite.qft, (9,)), (suite.ghz, (9,)), (suite.w_state, (9,)),
                     (suite.ripple_carry_adder, (4,)), (suite.multiplier, (2,)),
                     (suite.qft_adder, (4,))]:
        assert _text(fn(*args)) == _text(fn(*args))


# ------------------------------------------------------------------------------------------
# cp_fraction / cz_fraction structure
# ------------------------------------------------------------------------------------------

def _layers(qc: QuantumCircuit, one: str, two: str) -> list[tuple[list[int], list[tuple]]]:
    """Split a fraction circuit into layers: a run of 1q gates followed by a run of 2q gates."""
    layers: list[tuple[list[int], list[tuple]]] = []
    prev = None
    for inst in qc.data:
        name = inst.operation.name
        qs = [qc.find_bit(q).index for q in inst.qubits]
        assert name in (one, two)
        if name == one and prev != one:
            layers.append(([], []))
        if not layers:
            layers.append(([], []))
        if name == one:
            layers[-1][0].append(qs[0])
        else:
            layers[-1][1].append(tuple(qs))
        prev = name
    return layers


@pytest.mark.parametrize("kind", ["cp", "cz"])
def test_fraction_layer_structure(kind):
    n, depth = 32, 24
    if kind == "cp":
        qc = suite.cp_fraction(n, depth, 0.5, seed=3)
        one, two = "u", "cp"
    else:
        qc = suite.cz_fraction(n, depth, 0.5, seed=3)
        one, two = "h", "cz"
    assert set(qc.count_ops()) == {one, two}
    layers = _layers(qc, one, two)
    assert len(layers) == depth
    n_pairs = 0
    for singles, pairs in layers:
        touched = singles + [q for p in pairs for q in p]
        assert len(touched) == len(set(touched)), "a qubit acted on twice in one layer"
        assert len(touched) in (n, n - 1), "at most one (odd) participant left idle"
        n_pairs += len(pairs)
    # about fraction * n / 2 pairs per layer
    assert 0.35 * n / 2 * depth < n_pairs < 0.65 * n / 2 * depth
    if kind == "cp":
        angles = [inst.operation.params[0] for inst in qc.data if inst.operation.name == "cp"]
        assert all(0.0 <= a < 2 * math.pi for a in angles) and len(set(angles)) == len(angles)


def test_fraction_extremes():
    full = suite.cp_fraction(10, 5, fraction=1.0, seed=0)
    assert full.count_ops() == {"cp": 25}
    none = suite.cz_fraction(10, 5, fraction=0.0, seed=0)
    assert none.count_ops() == {"h": 50}
    odd = suite.cz_fraction(9, 4, fraction=1.0, seed=0)
    assert odd.count_ops() == {"cz": 16}
    with pytest.raises(ValueError):
        suite.cp_fraction(4, 2, fraction=1.5)


# ------------------------------------------------------------------------------------------
# other generators: structure and semantics on small instances
# ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("balanced", [True, False])
def test_deutsch_jozsa_cx_all_target_ancilla(balanced):
    n = 32
    qc = suite.deutsch_jozsa(n, balanced=balanced, seed=5)
    two = [inst for inst in qc.data if inst.operation.num_qubits == 2]
    assert all(inst.operation.name == "cx" for inst in two)
    assert all(qc.find_bit(inst.qubits[1]).index == n - 1 for inst in two)
    assert len(two) == (n - 1 if balanced else 0)
    assert all(inst.operation.num_qubits <= 2 for inst in qc.data)


def test_suite_deutsch_jozsa_32_targets_ancilla():
    qc = suite.get("deutsch_jozsa_32").build()
    targets = {qc.find_bit(i.qubits[1]).index for i in qc.data if i.operation.name == "cx"}
    assert targets == {31}


@pytest.mark.parametrize("balanced", [True, False])
def test_deutsch_jozsa_semantics(balanced):
    qc = suite.deutsch_jozsa(6, balanced=balanced, seed=2)
    p0 = Statevector(qc).probabilities_dict(qargs=range(5)).get("00000", 0.0)
    assert p0 == pytest.approx(0.0 if balanced else 1.0, abs=1e-9)


def test_bernstein_vazirani_semantics():
    qc = suite.bernstein_vazirani(7, secret="101101")
    probs = Statevector(qc).probabilities_dict(qargs=range(6))
    assert probs["101101"] == pytest.approx(1.0)
    cx_targets = {qc.find_bit(i.qubits[1]).index for i in qc.data if i.operation.name == "cx"}
    assert cx_targets == {6}


def test_grover_finds_marked():
    qc = suite.grover(5, marked="01101")
    assert "mcx" in qc.count_ops()
    probs = Statevector(qc).probabilities_dict()
    assert max(probs, key=probs.get) == "01101" and probs["01101"] > 0.95


def test_w_state():
    probs = Statevector(suite.w_state(5)).probabilities_dict()
    expected = {format(1 << k, "05b"): 0.2 for k in range(5)}
    assert {k: v for k, v in probs.items() if v > 1e-12} == pytest.approx(expected)


def test_ghz():
    probs = Statevector(suite.ghz(6)).probabilities_dict()
    assert probs["000000"] == pytest.approx(0.5) and probs["111111"] == pytest.approx(0.5)


def test_qft_matches_library():
    from qiskit.synthesis import synth_qft_full

    for swaps in (False, True):
        assert Operator(suite.qft(5, swaps=swaps)).equiv(
            Operator(synth_qft_full(5, do_swaps=swaps)))


def test_qpe_estimates_phase():
    n = 8
    phi = float(np.random.default_rng(4).random())
    probs = Statevector(suite.qpe(n, seed=4)).probabilities_dict(qargs=range(n - 1))
    est = int(max(probs, key=probs.get), 2) / 2 ** (n - 1)
    assert abs(est - phi) <= 1 / 2 ** (n - 1)


def test_adders_and_multiplier_shapes():
    assert suite.ripple_carry_adder(8).num_qubits == 18
    assert set(suite.ripple_carry_adder(8).count_ops()) <= {"cx", "ccx"}
    assert suite.qft_adder(5).num_qubits == 10
    m = suite.multiplier(3)
    assert m.num_qubits == 12
    assert set(m.count_ops()) <= set(suite.QELIB1_GATES)


def test_multiplier_multiplies():
    # a=3, b=2 on 2-bit registers; out (4 bits) must hold 6
    n = 2
    qc = QuantumCircuit(4 * n)
    qc.x([0, 1])  # a = 3
    qc.x(n + 1)   # b = 2
    qc.compose(suite.multiplier(n), inplace=True)
    probs = Statevector(qc).probabilities_dict()
    (best,) = [k for k, v in probs.items() if v > 0.99]
    assert int(best[: 2 * n], 2) == 6


def test_qaoa_graphs():
    qc = suite.qaoa_maxcut(30, p=2, seed=1, kind="gnp", prob=0.3)
    edges = suite.random_graph(30, seed=1, kind="gnp", prob=0.3)
    assert qc.count_ops()["rzz"] == 2 * len(edges)
    assert qc.count_ops()["rx"] == 60 and qc.count_ops()["h"] == 30
    reg = suite.qaoa_maxcut(20, p=1, seed=1, kind="regular", degree=3)
    deg = Counter(qc_i for i in reg.data if i.operation.name == "rzz"
                  for qc_i in (reg.find_bit(q).index for q in i.qubits))
    assert set(deg.values()) == {3} and len(deg) == 20
    tri = suite.qaoa_maxcut([(0, 1), (1, 2), (0, 2)], p=1, seed=0)
    assert tri.num_qubits == 3 and tri.count_ops()["rzz"] == 3
    with pytest.raises(ValueError):
        suite.random_graph(5, kind="regular", degree=3)


def test_quantum_volume_decompose():
    qc = suite.quantum_volume(6, seed=1, decompose=True)
    assert set(qc.count_ops()) <= {"u", "cx"}
    assert Operator(qc).equiv(Operator(suite.quantum_volume(6, seed=1)))


def test_pauli_exponential():
    for word in ["XZY", "YZX", "XXYX", "YZZY", "Z"]:
        qc = QuantumCircuit(len(word))
        suite._pauli_exp(qc, dict(enumerate(word)), 0.7)
        pauli = SparsePauliOp(word[::-1]).to_matrix()
        ref = math.cos(0.35) * np.eye(2 ** len(word)) - 1j * math.sin(0.35) * pauli
        assert Operator(qc).equiv(Operator(ref))


def test_uccsd_like_conserves_particle_number():
    for n, ne in [(6, 3), (8, 2)]:
        probs = Statevector(suite.uccsd_like(n, seed=1, n_electrons=ne)).probabilities_dict()
        leak = sum(v for k, v in probs.items() if k.count("1") != ne)
        assert leak < 1e-9
        assert sum(1 for v in probs.values() if v > 1e-9) > 1


def test_ansatze_bound():
    for qc in (suite.two_local(5, 2, seed=0), suite.real_amplitudes(5, 2, seed=0),
               suite.efficient_su2(5, 2, seed=0)):
        assert qc.num_parameters == 0 and qc.num_qubits == 5


def test_random_mixed_gate_mix():
    qc = suite.random_mixed(10, 8, seed=0)
    ops = qc.count_ops()
    for g in ("swap", "ccx", "ch", "rxx"):
        assert ops.get(g, 0) >= 1
    assert ops["measure"] == 10
    last = [i.operation.name for i in qc.data[-10:]]
    assert last == ["measure"] * 10


# ------------------------------------------------------------------------------------------
# QASM output and the bundled files
# ------------------------------------------------------------------------------------------

def test_write_qasm_header_and_roundtrip(tmp_path):
    qc = suite.grover(4, marked=5, iterations=1)
    path = suite.write_qasm(qc, tmp_path / "g.qasm")
    text = path.read_text()
    lines = text.splitlines()
    assert lines[0] == "OPENQASM 2.0;"
    assert "// araqne.suite.grover(n=4, marked='0101', iterations=1, seed=0)" in lines
    back = qasm2.loads(text, custom_instructions=qasm2.LEGACY_CUSTOM_INSTRUCTIONS)
    assert set(back.count_ops()) <= set(suite.QELIB1_GATES)
    assert Operator(back).equiv(Operator(qc))


def test_write_qasm3(tmp_path):
    path = suite.write_qasm(suite.qft(4), tmp_path / "q3.qasm", version=3)
    text = path.read_text()
    assert text.startswith("OPENQASM 3.0;\ninclude \"stdgates.inc\";\n// araqne.suite.qft(")


def _load_script():
    spec = importlib.util.spec_from_file_location(
        "generate_circuits", ROOT / "benchmarks" / "generate_circuits.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_committed_circuits_up_to_date(tmp_path):
    gen = _load_script()
    assert gen.main(["--out", str(tmp_path), "--max-qubits", "64"]) == 0
    fresh = {p.relative_to(tmp_path).as_posix(): p.read_bytes()
             for p in tmp_path.rglob("*.qasm")}
    committed = {p.relative_to(CIRCUITS).as_posix(): p.read_bytes()
                 for p in CIRCUITS.rglob("*.qasm")}
    for name in ("qft_16.qasm", "qaoa_maxcut_12.qasm", "ghz_8.qasm", "random_10.qasm",
                 "qft_8_qasm3.qasm"):
        assert name in fresh
    stale = sorted(k for k in fresh if committed.get(k) != fresh[k])
    assert not stale, f"out of date (run benchmarks/generate_circuits.py): {stale}"
    extra = sorted(k for k in committed if k.startswith("suite/") and k not in fresh)
    assert not extra, f"stale files in circuits/suite: {extra}"
    assert sum(len(v) for v in fresh.values()) < 2_000_000


def test_bundled_files_parse():
    for path in sorted(CIRCUITS.rglob("*.qasm")):
        text = path.read_text()
        if text.startswith("OPENQASM 3"):
            continue
        qc = qasm2.loads(text, custom_instructions=qasm2.LEGACY_CUSTOM_INSTRUCTIONS)
        assert qc.num_qubits > 0, path


def test_qasm3_example_parses():
    pytest.importorskip("qiskit_qasm3_import")
    from qiskit import qasm3

    qc = qasm3.loads((CIRCUITS / "qft_8_qasm3.qasm").read_text())
    assert Operator(qc).equiv(Operator(suite.qft(8)))


def _load2(name: str) -> QuantumCircuit:
    # qiskit's qelib1.inc (cp, rzz, rxx, ...), as QuantumCircuit.from_qasm_file reads it
    return qasm2.loads((CIRCUITS / name).read_text(),
                       custom_instructions=qasm2.LEGACY_CUSTOM_INSTRUCTIONS)


def test_readme_examples_content():
    qft16 = _load2("qft_16.qasm")
    assert qft16.num_qubits == 16 and "swap" not in qft16.count_ops()
    assert qft16.count_ops() == suite.qft(16).count_ops()
    ghz8 = _load2("ghz_8.qasm")
    assert ghz8.count_ops() == {"cx": 7, "h": 1}
    rnd = _load2("random_10.qasm")
    assert rnd.num_qubits == 10 and rnd.count_ops()["measure"] == 10
    for g in ("swap", "ccx", "ch", "rxx"):
        assert g in rnd.count_ops()
    qaoa = _load2("qaoa_maxcut_12.qasm")
    assert qaoa.num_qubits == 12 and "rzz" in qaoa.count_ops()


def test_flatten_preserves_operator():
    from qiskit.synthesis import adder_qft_d00, adder_ripple_c04

    for qc in (adder_qft_d00(3, kind="fixed"), adder_ripple_c04(2, kind="full"),
               suite.grover(4, iterations=1)):
        flat = suite.flatten(qc)
        assert set(flat.count_ops()) <= set(suite.QELIB1_GATES)
        assert Operator(flat).equiv(Operator(qc))


def test_mqt_wrapper():
    pytest.importorskip("mqt.bench")
    qc = suite.mqt("ghz", 5)
    assert qc.num_qubits == 5
    assert qc.metadata["generator"] == "mqt"
