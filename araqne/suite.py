"""Reproducible benchmark circuits.

Every generator here is a pure function returning a :class:`qiskit.QuantumCircuit`. Random choices
come only from ``numpy.random.default_rng(seed)``, so the same arguments give the same circuit on
every run and machine. Each circuit carries ``metadata = {"generator": name, "args": {...}}``, which
:func:`write_qasm` turns into a header comment.

``SUITE`` lists the named benchmark instances (8 to 256 qubits) used by the benchmark runner; the
``quick`` tier is a small subset (at most 64 qubits) that runs fast. Circuits of at most 64 qubits
are bundled as OpenQASM 2 files under ``circuits/suite/`` by ``benchmarks/generate_circuits.py``
(see :func:`write_bundle`); larger ones are built on demand.

This module imports only numpy and qiskit (mqt.bench is imported lazily by :func:`mqt`) and nothing
else of araqne.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np
from qiskit import QuantumCircuit, QuantumRegister, ClassicalRegister, qasm2, qasm3, transpile

__all__ = [
    "qft",
    "qft_adder",
    "qaoa_maxcut",
    "random_graph",
    "quantum_volume",
    "cp_fraction",
    "cz_fraction",
    "random_cx",
    "random_mixed",
    "ghz",
    "bernstein_vazirani",
    "deutsch_jozsa",
    "grover",
    "ripple_carry_adder",
    "multiplier",
    "w_state",
    "qpe",
    "two_local",
    "real_amplitudes",
    "efficient_su2",
    "uccsd_like",
    "mqt",
    "flatten",
    "write_qasm",
    "qasm2_text",
    "qasm3_text",
    "SuiteEntry",
    "SUITE",
    "get",
    "names",
    "quick",
    "EXAMPLES",
    "write_bundle",
    "BUNDLE_MAX_QUBITS",
]

TWO_PI = 2.0 * math.pi

#: Gates of qelib1.inc (plus measure/reset): what OpenQASM 2 files written here may contain.
QELIB1_GATES: tuple[str, ...] = (
    "u", "u1", "u2", "u3", "p", "id", "x", "y", "z", "h", "s", "sdg", "t", "tdg",
    "rx", "ry", "rz", "sx", "sxdg",
    "cx", "cz", "cy", "ch", "swap", "crx", "cry", "crz", "cu1", "cp", "cu3", "csx", "cu",
    "rxx", "rzz", "ccx", "cswap",
    "measure", "reset",
)
_DIRECTIVES = ("barrier",)


def _meta(qc: QuantumCircuit, generator: str, **args: Any) -> QuantumCircuit:
    qc.metadata = {"generator": generator, "args": dict(args)}
    return qc


def _angles(rng: np.random.Generator, size: int) -> list[float]:
    return [float(x) for x in rng.uniform(0.0, TWO_PI, size)]


def flatten(qc: QuantumCircuit, basis: Sequence[str] = QELIB1_GATES) -> QuantumCircuit:
    """Return ``qc`` unrolled so every operation is in ``basis`` (qelib1 gates by default).

    Deterministic (optimization level 0, fixed seed); a circuit already in the basis is returned
    as it is. Registers are kept; metadata is carried over.
    """
    allowed = set(basis) | set(_DIRECTIVES)
    if all(inst.operation.name in allowed for inst in qc.data):
        return qc
    if any(inst.operation.name == "unitary" for inst in qc.data):
        # Opaque unitaries: their own definitions (cx + u, deterministic), not the transpiler's
        # unitary synthesis, whose choice among many equally good 2q bases is not stable.
        meta, name = qc.metadata, qc.name
        qc = qc.decompose(gates_to_decompose=["unitary"])
        qc.metadata, qc.name = meta, name
        if all(inst.operation.name in allowed for inst in qc.data):
            return qc
    gates = [g for g in basis if g not in ("measure", "reset")]
    # qubits_initially_zero=False: the result must equal qc as an operator, not only on |0..0>.
    out = transpile(qc, basis_gates=gates + ["measure", "reset"], optimization_level=0,
                    seed_transpiler=0, qubits_initially_zero=False)
    out.metadata = dict(qc.metadata or {})
    out.name = qc.name
    return out


# --------------------------------------------------------------------------------------------
# Fourier-type circuits
# --------------------------------------------------------------------------------------------

def qft(n: int, swaps: bool = False) -> QuantumCircuit:
    """Exact QFT on ``n`` qubits as h + cp (+ the final swaps when ``swaps``)."""
    from qiskit.synthesis import synth_qft_full

    if n < 1:
        raise ValueError("qft needs n >= 1")
    qc = synth_qft_full(n, do_swaps=swaps)
    qc.name = f"qft_{n}"
    return _meta(qc, "qft", n=n, swaps=swaps)


def qft_adder(n_bits: int) -> QuantumCircuit:
    """Draper's QFT adder b <- a + b mod 2^n on two ``n_bits`` registers (2*n_bits qubits).

    Flattened to h, cp and swap.
    """
    from qiskit.synthesis import adder_qft_d00

    if n_bits < 1:
        raise ValueError("qft_adder needs n_bits >= 1")
    qc = flatten(adder_qft_d00(n_bits, kind="fixed"))
    qc.name = f"qft_adder_{n_bits}"
    return _meta(qc, "qft_adder", n_bits=n_bits)


def qpe(n: int, seed: int = 0) -> QuantumCircuit:
    """Quantum phase estimation of a random phase gate, ``n`` qubits (n-1 counting + 1 target).

    The eigenphase is drawn uniformly from [0, 1), so it is generally not exactly representable
    (inexact QPE). Counting qubit k controls P(2*pi*phi*2^k) on the target; then an inverse QFT
    (with swaps) on the counting register.
    """
    from qiskit.synthesis import synth_qft_full

    if n < 2:
        raise ValueError("qpe needs n >= 2")
    rng = np.random.default_rng(seed)
    phi = float(rng.random())
    m = n - 1
    qc = QuantumCircuit(n, name=f"qpe_{n}")
    qc.x(m)
    for k in range(m):
        qc.h(k)
    for k in range(m):
        angle = math.remainder(TWO_PI * phi * (2**k), TWO_PI)
        qc.cp(angle, k, m)
    qc.compose(synth_qft_full(m, do_swaps=True, inverse=True), qubits=range(m), inplace=True)
    return _meta(qc, "qpe", n=n, seed=seed)


# --------------------------------------------------------------------------------------------
# QAOA and graphs
# --------------------------------------------------------------------------------------------

def random_graph(n: int, seed: int = 0, kind: str = "gnp", prob: float = 0.5,
                 degree: int = 3) -> list[tuple[int, int]]:
    """Edges (i < j, sorted) of a random graph on ``n`` nodes.

    ``kind="gnp"``: Erdos-Renyi G(n, prob), each pair independently. ``kind="regular"``: a
    uniformly random simple ``degree``-regular graph (pairing model with rejection).
    """
    rng = np.random.default_rng(seed)
    if kind == "gnp":
        if not 0.0 <= prob <= 1.0:
            raise ValueError("prob must be in [0, 1]")
        iu, ju = np.triu_indices(n, k=1)
        keep = rng.random(iu.size) < prob
        return [(int(i), int(j)) for i, j in zip(iu[keep], ju[keep])]
    if kind == "regular":
        if degree < 0 or degree >= n or (n * degree) % 2:
            raise ValueError(f"no simple {degree}-regular graph on {n} nodes")
        points = np.repeat(np.arange(n), degree)
        for _ in range(10_000):
            perm = rng.permutation(points).reshape(-1, 2)
            a, b = np.minimum(perm[:, 0], perm[:, 1]), np.maximum(perm[:, 0], perm[:, 1])
            if np.any(a == b):
                continue
            edges = set(zip(a.tolist(), b.tolist()))
            if len(edges) == len(a):
                return sorted(edges)
        raise RuntimeError(f"could not sample a simple {degree}-regular graph on {n} nodes")
    raise ValueError(f"unknown graph kind {kind!r} (use 'gnp' or 'regular')")


def _edges_of(graph: Any) -> tuple[int, list[tuple[int, int]]]:
    if hasattr(graph, "number_of_nodes") and hasattr(graph, "edges"):  # networkx-like
        nodes = sorted(graph.nodes())
        index = {v: i for i, v in enumerate(nodes)}
        return len(nodes), [(index[u], index[v]) for u, v in graph.edges()]
    edges = [(int(u), int(v)) for u, v in graph]
    n = 1 + max((max(e) for e in edges), default=-1)
    return n, edges


def qaoa_maxcut(graph_or_n: int | Iterable[tuple[int, int]] | Any, p: int = 1, seed: int = 0,
                kind: str = "gnp", prob: float = 0.5, degree: int = 3,
                measure: bool = False) -> QuantumCircuit:
    """QAOA for MaxCut: H on all, then ``p`` layers of rzz(2*gamma) per edge and rx(2*beta) on all.

    ``graph_or_n`` is an edge list / networkx graph, or a node count for a random graph
    (:func:`random_graph` with ``kind``, ``prob``, ``degree``). Angles gamma in [0, pi) and
    beta in [0, pi/2) are drawn from ``seed``.
    """
    if isinstance(graph_or_n, (int, np.integer)):
        n = int(graph_or_n)
        edges = random_graph(n, seed=seed, kind=kind, prob=prob, degree=degree)
        args: dict[str, Any] = {"n": n, "p": p, "seed": seed, "kind": kind}
        args.update({"prob": prob} if kind == "gnp" else {"degree": degree})
    else:
        n, edges = _edges_of(graph_or_n)
        args = {"edges": len(edges), "n": n, "p": p, "seed": seed}
    rng = np.random.default_rng([seed, 1])  # angle stream independent of the graph stream
    gammas = rng.uniform(0.0, math.pi, p)
    betas = rng.uniform(0.0, math.pi / 2, p)
    qc = QuantumCircuit(n, name=f"qaoa_maxcut_{n}")
    for q in range(n):
        qc.h(q)
    for layer in range(p):
        for i, j in edges:
            qc.rzz(2.0 * float(gammas[layer]), i, j)
        for q in range(n):
            qc.rx(2.0 * float(betas[layer]), q)
    if measure:
        qc.measure_all()
    return _meta(qc, "qaoa_maxcut", **args)


# --------------------------------------------------------------------------------------------
# Random circuit families
# --------------------------------------------------------------------------------------------

def quantum_volume(n: int, depth: int | None = None, seed: int = 0,
                   decompose: bool = False) -> QuantumCircuit:
    """Quantum-volume model circuit: ``depth`` (default n) layers of random SU(4) on a random
    pairing. With ``decompose=False`` the SU(4) blocks stay opaque ``unitary`` gates; with
    ``decompose=True`` the circuit is u + cx."""
    from qiskit.circuit.library import quantum_volume as _qv

    raw = _qv(n, depth, seed=int(seed))
    qc = QuantumCircuit(QuantumRegister(n, "q"))
    qc.compose(raw, inplace=True)
    if decompose:
        qc = flatten(qc, basis=("u", "cx"))
    qc.name = f"quantum_volume_{n}"
    return _meta(qc, "quantum_volume", n=n, depth=depth, seed=seed, decompose=decompose)


def _fraction_layers(n: int, depth: int, fraction: float, rng: np.random.Generator,
                     single: Callable[[QuantumCircuit, int], None],
                     pair: Callable[[QuantumCircuit, int, int], None],
                     qc: QuantumCircuit) -> None:
    # One layer: every qubit independently joins the two-qubit round with probability
    # ``fraction``; the others get a single-qubit gate. Participants are shuffled and paired;
    # with an odd count the last participant of the shuffle gets no gate in this layer.
    for _ in range(depth):
        joins = rng.random(n) < fraction
        for q in range(n):
            if not joins[q]:
                single(qc, q)
        part = rng.permutation(np.flatnonzero(joins))
        if part.size % 2:
            part = part[:-1]
        for a, b in part.reshape(-1, 2).tolist():
            pair(qc, a, b)


def cp_fraction(n: int, depth: int, fraction: float = 0.5, seed: int = 0) -> QuantumCircuit:
    """DisQCO's random CP circuits (Burt, Chen, Leung, arXiv 2503.19082).

    ``depth`` layers; in each, every qubit joins with probability ``fraction`` (else it gets
    u(theta, phi, lambda) with angles uniform in [0, 2pi)); participants are paired by a random
    perfect matching (an odd one out gets no gate) and each pair gets cp(random angle in
    [0, 2pi)). Single-qubit gates of a layer precede its cp gates.
    """
    if not 0.0 <= fraction <= 1.0:
        raise ValueError("fraction must be in [0, 1]")
    rng = np.random.default_rng(seed)
    qc = QuantumCircuit(n, name=f"cp_fraction_{n}")

    def single(c: QuantumCircuit, q: int) -> None:
        t, p, l = _angles(rng, 3)
        c.u(t, p, l, q)

    def pair(c: QuantumCircuit, a: int, b: int) -> None:
        c.cp(float(rng.uniform(0.0, TWO_PI)), a, b)

    _fraction_layers(n, depth, fraction, rng, single, pair, qc)
    return _meta(qc, "cp_fraction", n=n, depth=depth, fraction=fraction, seed=seed)


def cz_fraction(n: int, depth: int, fraction: float = 0.5, seed: int = 0,
                single: str = "h") -> QuantumCircuit:
    """CZ-fraction circuits (Sundaram et al. 2021; used by pytket-dqc, arXiv 2305.14148).

    ``depth`` layers; in each, every qubit joins with probability ``fraction``, else it gets a
    single-qubit gate: H (``single="h"``, the published family) or a random u
    (``single="u"``). Participants are paired by a random perfect matching (an odd one out gets
    no gate) and each pair gets a CZ.
    """
    if not 0.0 <= fraction <= 1.0:
        raise ValueError("fraction must be in [0, 1]")
    if single not in ("h", "u"):
        raise ValueError("single must be 'h' or 'u'")
    rng = np.random.default_rng(seed)
    qc = QuantumCircuit(n, name=f"cz_fraction_{n}")

    def one(c: QuantumCircuit, q: int) -> None:
        if single == "h":
            c.h(q)
        else:
            t, p, l = _angles(rng, 3)
            c.u(t, p, l, q)

    _fraction_layers(n, depth, fraction, rng, one, lambda c, a, b: c.cz(a, b), qc)
    args: dict[str, Any] = {"n": n, "depth": depth, "fraction": fraction, "seed": seed}
    if single != "h":
        args["single"] = single
    return _meta(qc, "cz_fraction", **args)


_CLIFFORD_T = ("h", "s", "sdg", "t", "tdg", "sx", "x")


def random_cx(n: int, depth: int, seed: int = 0) -> QuantumCircuit:
    """``depth`` layers; each gives every qubit a random gate from {h, s, sdg, t, tdg, sx, x},
    then a CX (random orientation) on each pair of a random perfect matching of all qubits."""
    rng = np.random.default_rng(seed)
    qc = QuantumCircuit(n, name=f"random_cx_{n}")
    for _ in range(depth):
        for q, g in enumerate(rng.integers(0, len(_CLIFFORD_T), n).tolist()):
            getattr(qc, _CLIFFORD_T[g])(q)
        perm = rng.permutation(n)
        if n % 2:
            perm = perm[:-1]
        for a, b in perm.reshape(-1, 2).tolist():
            qc.cx(a, b)
    return _meta(qc, "random_cx", n=n, depth=depth, seed=seed)


def random_mixed(n: int, depth: int, seed: int = 0, measure: bool = True) -> QuantumCircuit:
    """A random circuit over a broad gate mix (1q: h x y z s sdg t tdg sx rx ry rz p u;
    2q: cx cz cy ch swap cp crz rxx rzz; 3q: ccx cswap), ``depth`` random gates per qubit on
    average, with every one of swap, ccx, ch and rxx present; measures all qubits at the end."""
    if n < 3:
        raise ValueError("random_mixed needs n >= 3")
    rng = np.random.default_rng(seed)
    one = ("h", "x", "y", "z", "s", "sdg", "t", "tdg", "sx")
    one_p = ("rx", "ry", "rz", "p")
    two = ("cx", "cz", "cy", "ch", "swap")
    two_p = ("cp", "crz", "rxx", "rzz")
    three = ("ccx", "cswap")
    qc = QuantumCircuit(QuantumRegister(n, "q"), ClassicalRegister(n, "c"), name=f"random_{n}")
    must = ["swap", "ccx", "ch", "rxx"]
    n_gates = max(depth * n // 2, len(must))
    forced = set(rng.choice(n_gates, size=len(must), replace=False).tolist())
    for k in range(n_gates):
        if k in forced:
            name = must.pop(0)
        else:
            r = rng.random()
            pool = one if r < 0.3 else one_p if r < 0.45 else two if r < 0.7 else \
                two_p if r < 0.9 else three if r < 0.97 else ("u",)
            name = pool[int(rng.integers(0, len(pool)))]
        arity = 3 if name in three else 2 if name in two + two_p else 1
        qubits = [int(x) for x in rng.choice(n, size=arity, replace=False)]
        if name == "u":
            qc.u(*_angles(rng, 3), qubits[0])
        elif name in one_p or name in two_p:
            getattr(qc, name)(float(rng.uniform(-math.pi, math.pi)), *qubits)
        else:
            getattr(qc, name)(*qubits)
    if measure:
        qc.barrier()
        qc.measure(range(n), range(n))
    return _meta(qc, "random_mixed", n=n, depth=depth, seed=seed, measure=measure)


# --------------------------------------------------------------------------------------------
# Textbook algorithms
# --------------------------------------------------------------------------------------------

def ghz(n: int) -> QuantumCircuit:
    """GHZ state: H on qubit 0 and a CX chain 0->1->...->n-1."""
    qc = QuantumCircuit(n, name=f"ghz_{n}")
    qc.h(0)
    for q in range(n - 1):
        qc.cx(q, q + 1)
    return _meta(qc, "ghz", n=n)


def _bits(value: int | str | None, width: int, rng: np.random.Generator,
          nonzero: bool = False) -> list[int]:
    if value is None:
        while True:
            bits = rng.integers(0, 2, width).tolist()
            if not nonzero or any(bits):
                return [int(b) for b in bits]
    if isinstance(value, str):
        if len(value) != width or set(value) - {"0", "1"}:
            raise ValueError(f"bit string must have {width} characters 0/1")
        return [int(c) for c in reversed(value)]  # little-endian like qiskit: q0 = last char
    if not 0 <= int(value) < 2**width:
        raise ValueError(f"value out of range for {width} bits")
    return [(int(value) >> k) & 1 for k in range(width)]


def bernstein_vazirani(n: int, secret: int | str | None = None, seed: int = 0,
                       measure: bool = False) -> QuantumCircuit:
    """Bernstein-Vazirani on ``n`` qubits: n-1 data qubits and one ancilla (the last qubit),
    prepared in |->; the oracle is a CX from every data qubit whose secret bit is 1 into the
    ancilla. ``secret`` (int, or bit string with qubit 0 as the last character) defaults to a
    random nonzero string from ``seed``."""
    if n < 2:
        raise ValueError("bernstein_vazirani needs n >= 2")
    m = n - 1
    rng = np.random.default_rng(seed)
    bits = _bits(secret, m, rng, nonzero=True)
    qc = QuantumCircuit(QuantumRegister(n, "q"), name=f"bernstein_vazirani_{n}")
    qc.x(m)
    qc.h(m)
    for q in range(m):
        qc.h(q)
    for q in range(m):
        if bits[q]:
            qc.cx(q, m)
    for q in range(m):
        qc.h(q)
    if measure:
        qc.add_register(ClassicalRegister(m, "c"))
        qc.measure(range(m), range(m))
    secret_str = "".join(str(b) for b in reversed(bits))
    return _meta(qc, "bernstein_vazirani", n=n, secret=secret_str, seed=seed)


def deutsch_jozsa(n: int, balanced: bool = True, seed: int = 0,
                  measure: bool = False) -> QuantumCircuit:
    """Deutsch-Jozsa on ``n`` qubits: n-1 data qubits and one ancilla (last qubit) in |->.

    Balanced oracle: X on a random subset of data qubits, a CX from *every* data qubit into the
    ancilla, X on the same subset again (f(x) = parity of x, balanced). Constant oracle: X on
    the ancilla or nothing, at random. Every two-qubit gate targets the single ancilla.
    """
    if n < 2:
        raise ValueError("deutsch_jozsa needs n >= 2")
    m = n - 1
    rng = np.random.default_rng(seed)
    qc = QuantumCircuit(QuantumRegister(n, "q"), name=f"deutsch_jozsa_{n}")
    qc.x(m)
    qc.h(m)
    for q in range(m):
        qc.h(q)
    if balanced:
        flips = [q for q, b in enumerate(rng.integers(0, 2, m).tolist()) if b]
        for q in flips:
            qc.x(q)
        for q in range(m):
            qc.cx(q, m)
        for q in flips:
            qc.x(q)
    elif rng.integers(0, 2):
        qc.x(m)
    for q in range(m):
        qc.h(q)
    if measure:
        qc.add_register(ClassicalRegister(m, "c"))
        qc.measure(range(m), range(m))
    return _meta(qc, "deutsch_jozsa", n=n, balanced=balanced, seed=seed)


def grover(n: int, marked: int | str | None = None, iterations: int | None = None,
           seed: int = 0, measure: bool = False) -> QuantumCircuit:
    """Grover search over ``n`` qubits for one marked basis state, with MCX gates.

    Oracle: X on the zero bits of ``marked``, H-MCX-H on the last qubit (a multi-controlled Z),
    undo the Xs. Diffuser: H, X on all, multi-controlled Z, X, H. ``marked`` defaults to a
    random state from ``seed``; ``iterations`` to floor(pi/4 * sqrt(2^n)).
    """
    if n < 2:
        raise ValueError("grover needs n >= 2")
    rng = np.random.default_rng(seed)
    bits = _bits(marked, n, rng)
    if iterations is None:
        iterations = max(1, int(math.floor(math.pi / 4 * math.sqrt(2**n))))
    qc = QuantumCircuit(QuantumRegister(n, "q"), name=f"grover_{n}")
    ctrl, tgt = list(range(n - 1)), n - 1

    def mcz() -> None:
        qc.h(tgt)
        qc.mcx(ctrl, tgt)
        qc.h(tgt)

    for q in range(n):
        qc.h(q)
    zeros = [q for q in range(n) if not bits[q]]
    for _ in range(iterations):
        for q in zeros:
            qc.x(q)
        mcz()
        for q in zeros:
            qc.x(q)
        for q in range(n):
            qc.h(q)
            qc.x(q)
        mcz()
        for q in range(n):
            qc.x(q)
            qc.h(q)
    if measure:
        qc.measure_all()
    marked_str = "".join(str(b) for b in reversed(bits))
    return _meta(qc, "grover", n=n, marked=marked_str, iterations=iterations, seed=seed)


def ripple_carry_adder(n_bits: int) -> QuantumCircuit:
    """Cuccaro ripple-carry adder (MAJ/UMA chain) on registers cin, a, b, cout:
    2*n_bits + 2 qubits, flattened to cx and ccx."""
    from qiskit.synthesis import adder_ripple_c04

    qc = flatten(adder_ripple_c04(n_bits, kind="full"))
    qc.name = f"ripple_carry_adder_{n_bits}"
    return _meta(qc, "ripple_carry_adder", n_bits=n_bits)


def multiplier(n_bits: int) -> QuantumCircuit:
    """Haner-Roetteler-Svore cumulative multiplier (qiskit's HRS multiplier): out += a * b on
    registers a, b (n_bits each) and out (2*n_bits): 4*n_bits qubits, flattened to qelib1 gates."""
    from qiskit.synthesis import multiplier_cumulative_h18

    qc = flatten(multiplier_cumulative_h18(n_bits, 2 * n_bits))
    qc.name = f"multiplier_{n_bits}"
    return _meta(qc, "multiplier", n_bits=n_bits)


def w_state(n: int) -> QuantumCircuit:
    """W state on ``n`` qubits: X on qubit 0, then for k = 0..n-2 a controlled RY from k to k+1
    (angle 2*arccos(sqrt(1/(n-k)))) followed by CX k+1 -> k."""
    qc = QuantumCircuit(n, name=f"w_state_{n}")
    qc.x(0)
    for k in range(n - 1):
        qc.cry(2.0 * math.acos(math.sqrt(1.0 / (n - k))), k, k + 1)
        qc.cx(k + 1, k)
    return _meta(qc, "w_state", n=n)


# --------------------------------------------------------------------------------------------
# Variational ansatze
# --------------------------------------------------------------------------------------------

def _bind_random(qc: QuantumCircuit, seed: int) -> QuantumCircuit:
    rng = np.random.default_rng(seed)
    values = rng.uniform(0.0, TWO_PI, qc.num_parameters)
    return qc.assign_parameters([float(v) for v in values])


def two_local(n: int, reps: int = 2, seed: int = 0, entanglement: str = "full") -> QuantumCircuit:
    """TwoLocal ansatz: ry+rz rotation layers and cx entanglers (``entanglement``, default full),
    ``reps`` repetitions, parameters bound to random angles."""
    from qiskit.circuit.library import n_local

    qc = _bind_random(n_local(n, ["ry", "rz"], "cx", entanglement=entanglement, reps=reps), seed)
    qc.name = f"two_local_{n}"
    return _meta(qc, "two_local", n=n, reps=reps, seed=seed, entanglement=entanglement)


def real_amplitudes(n: int, reps: int = 3, seed: int = 0,
                    entanglement: str = "reverse_linear") -> QuantumCircuit:
    """RealAmplitudes ansatz (ry + cx), parameters bound to random angles."""
    from qiskit.circuit.library import real_amplitudes as _ra

    qc = _bind_random(_ra(n, reps=reps, entanglement=entanglement), seed)
    qc.name = f"real_amplitudes_{n}"
    return _meta(qc, "real_amplitudes", n=n, reps=reps, seed=seed, entanglement=entanglement)


def efficient_su2(n: int, reps: int = 2, seed: int = 0,
                  entanglement: str = "reverse_linear") -> QuantumCircuit:
    """EfficientSU2 ansatz (ry + rz + cx), parameters bound to random angles."""
    from qiskit.circuit.library import efficient_su2 as _es

    qc = _bind_random(_es(n, reps=reps, entanglement=entanglement), seed)
    qc.name = f"efficient_su2_{n}"
    return _meta(qc, "efficient_su2", n=n, reps=reps, seed=seed, entanglement=entanglement)


def _pauli_exp(qc: QuantumCircuit, paulis: dict[int, str], theta: float) -> None:
    """Append exp(-i theta/2 P) for the Pauli string P = {qubit: 'X'|'Y'|'Z'} (CX ladder)."""
    qs = sorted(paulis)
    for q in qs:  # basis change V with V P_q V^dag = Z
        if paulis[q] == "X":
            qc.h(q)
        elif paulis[q] == "Y":
            qc.sdg(q)
            qc.h(q)
    for a, b in zip(qs, qs[1:]):
        qc.cx(a, b)
    qc.rz(theta, qs[-1])
    for a, b in reversed(list(zip(qs, qs[1:]))):
        qc.cx(a, b)
    for q in qs:
        if paulis[q] == "X":
            qc.h(q)
        elif paulis[q] == "Y":
            qc.h(q)
            qc.s(q)


# Jordan-Wigner strings of the anti-Hermitian double excitation: the 8 XY words with an odd
# number of Y, with their signs (up to an overall convention); order matches qubits p<q<r<s.
_DOUBLE_WORDS = (
    ("XXXY", 1), ("XXYX", 1), ("XYXX", -1), ("YXXX", -1),
    ("YYYX", -1), ("YYXY", -1), ("YXYY", 1), ("XYYY", 1),
)


def uccsd_like(n: int, seed: int = 0, n_electrons: int | None = None,
               n_doubles: int | None = None) -> QuantumCircuit:
    """A UCCSD-style chemistry circuit on ``n`` spin orbitals (Jordan-Wigner, one Trotter step).

    Hartree-Fock reference (X on the ``n_electrons`` = n//2 lowest orbitals), then every single
    excitation i->a (two Pauli strings XZ..ZY / YZ..ZX) and ``n_doubles`` (default n) randomly
    chosen double excitations ij->ab (eight strings each, Z chains inside both index pairs),
    each string as a CX-ladder exponential. Amplitudes are random (bound) from ``seed``.
    """
    if n < 4:
        raise ValueError("uccsd_like needs n >= 4")
    ne = n // 2 if n_electrons is None else int(n_electrons)
    if not 0 < ne < n:
        raise ValueError("n_electrons must be in 1..n-1")
    rng = np.random.default_rng(seed)
    occ, virt = list(range(ne)), list(range(ne, n))
    singles = [(i, a) for i in occ for a in virt]
    doubles_all = [(i, j, a, b) for ii, i in enumerate(occ) for j in occ[ii + 1:]
                   for aa, a in enumerate(virt) for b in virt[aa + 1:]]
    nd = n if n_doubles is None else int(n_doubles)
    nd = min(nd, len(doubles_all))
    pick = sorted(rng.choice(len(doubles_all), size=nd, replace=False).tolist()) if nd else []
    doubles = [doubles_all[k] for k in pick]
    qc = QuantumCircuit(n, name=f"uccsd_like_{n}")
    for q in occ:
        qc.x(q)
    for i, a in singles:
        t = float(rng.uniform(-math.pi, math.pi))
        z = {q: "Z" for q in range(i + 1, a)}
        _pauli_exp(qc, {i: "X", a: "Y", **z}, t / 2)
        _pauli_exp(qc, {i: "Y", a: "X", **z}, -t / 2)
    for i, j, a, b in doubles:
        t = float(rng.uniform(-math.pi, math.pi))
        z = {q: "Z" for q in list(range(i + 1, j)) + list(range(a + 1, b))}
        for word, sign in _DOUBLE_WORDS:
            _pauli_exp(qc, {i: word[0], j: word[1], a: word[2], b: word[3], **z}, sign * t / 4)
    return _meta(qc, "uccsd_like", n=n, seed=seed, n_electrons=ne, n_doubles=nd)


# --------------------------------------------------------------------------------------------
# MQT Bench
# --------------------------------------------------------------------------------------------

def mqt(name: str, n: int, **kwargs: Any) -> QuantumCircuit:
    """A target-independent (``BenchmarkLevel.INDEP``) circuit from MQT Bench, e.g.
    ``mqt("ghz", 16)``. Needs the optional package ``mqt.bench`` (``pip install mqt.bench``)."""
    try:
        from mqt.bench import BenchmarkLevel, get_benchmark
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "araqne.suite.mqt needs the optional package mqt.bench: pip install mqt.bench"
        ) from exc
    qc = get_benchmark(name, BenchmarkLevel.INDEP, n, **kwargs)
    qc.metadata = {"generator": "mqt", "args": {"name": name, "n": n, **kwargs}}
    return qc


# --------------------------------------------------------------------------------------------
# QASM output
# --------------------------------------------------------------------------------------------

def _fmt_value(v: Any) -> str:
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, str):
        return repr(v)
    return str(v)


def describe(qc: QuantumCircuit) -> str:
    """``generator(arg=value, ...)`` from the circuit's metadata, or its name."""
    meta = qc.metadata or {}
    if "generator" not in meta:
        return qc.name
    args = ", ".join(f"{k}={_fmt_value(v)}" for k, v in meta.get("args", {}).items())
    return f"{meta['generator']}({args})"


def _header_lines(qc: QuantumCircuit, extra: Sequence[str] = ()) -> list[str]:
    lines = [f"// araqne.suite.{describe(qc)}"]
    lines += [f"// {e}" for e in extra]
    lines.append(f"// qubits: {qc.num_qubits}")
    return lines


def _insert_header(text: str, lines: Sequence[str]) -> str:
    # After the version and include lines, so strict parsers still see OPENQASM first.
    out = text.splitlines()
    k = 0
    while k < len(out) and (out[k].startswith("OPENQASM") or out[k].startswith("include")):
        k += 1
    out[k:k] = list(lines)
    return "\n".join(out) + "\n"


def qasm2_text(qc: QuantumCircuit, header: Sequence[str] = ()) -> str:
    """OpenQASM 2 text of ``qc`` (unrolled to qelib1 gates) with a header comment naming its
    generator and arguments (and the extra ``header`` lines)."""
    flat = flatten(qc)
    return _insert_header(qasm2.dumps(flat), _header_lines(qc, header))


def qasm3_text(qc: QuantumCircuit, header: Sequence[str] = ()) -> str:
    """OpenQASM 3 text of ``qc`` (stdgates.inc) with the same header comment."""
    return _insert_header(qasm3.dumps(qc), _header_lines(qc, header))


def write_qasm(qc: QuantumCircuit, path: str | Path, header: Sequence[str] = (),
               version: int = 2) -> Path:
    """Write ``qc`` as OpenQASM 2 (default; unrolled to qelib1 gates when needed) or 3."""
    if version not in (2, 3):
        raise ValueError("version must be 2 or 3")
    text = qasm2_text(qc, header) if version == 2 else qasm3_text(qc, header)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)
    return path


# --------------------------------------------------------------------------------------------
# The suite
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SuiteEntry:
    """One named benchmark instance: ``entry.build()`` returns the circuit."""

    name: str
    generator: Callable[[], QuantumCircuit] = field(repr=False, compare=False)
    num_qubits: int
    tier: str  # "quick" or "full"
    note: str = ""

    def build(self) -> QuantumCircuit:
        return self.generator()

    def __iter__(self):  # unpacks as (name, generator, num_qubits, tier)
        return iter((self.name, self.generator, self.num_qubits, self.tier))


def _e(name: str, fn: Callable[..., QuantumCircuit], num_qubits: int, tier: str = "full",
       note: str = "", /, **kwargs: Any) -> SuiteEntry:
    note = kwargs.pop("note", note)
    return SuiteEntry(name, partial(fn, **kwargs), num_qubits, tier, note)


SUITE: list[SuiteEntry] = [
    # quick tier: <= 64 qubits, fast together
    _e("qft_16_swaps", qft, 16, "quick", "QFT-16 with final swaps", n=16, swaps=True),
    _e("qft_32", qft, 32, "quick", "QFT-32, no swaps", n=32),
    _e("ghz_32", ghz, 32, "quick", n=32),
    _e("deutsch_jozsa_32", deutsch_jozsa, 32, "quick", "all CX into one ancilla", n=32, seed=0),
    _e("bernstein_vazirani_16", bernstein_vazirani, 16, "quick", n=16, seed=0),
    _e("qaoa_regular3_16", qaoa_maxcut, 16, "quick", "QAOA p=1 on a random 3-regular graph",
       graph_or_n=16, p=1, seed=0, kind="regular", degree=3),
    _e("cp_fraction_32", cp_fraction, 32, "quick", "DisQCO random CP, depth 32, fraction 0.5",
       n=32, depth=32, fraction=0.5, seed=0),
    _e("cz_fraction_48", cz_fraction, 48, "quick", "CZ fraction 0.5, depth 48",
       n=48, depth=48, fraction=0.5, seed=0),
    _e("ripple_carry_adder_8", ripple_carry_adder, 18, "quick", "Cuccaro, 8-bit", n_bits=8),
    _e("w_state_16", w_state, 16, "quick", n=16),
    _e("uccsd_like_12", uccsd_like, 12, "quick", n=12, seed=0),
    # full tier
    _e("grover_8", grover, 8, note="2 iterations, MCX", n=8, iterations=2, seed=0),
    _e("multiplier_4", multiplier, 16, note="HRS cumulative multiplier, 4-bit", n_bits=4),
    _e("qft_adder_16", qft_adder, 32, note="Draper adder, 16-bit", n_bits=16),
    _e("qpe_16", qpe, 16, n=16, seed=0),
    _e("two_local_16", two_local, 16, note="ry/rz + full cx, 2 reps", n=16, reps=2, seed=0),
    _e("real_amplitudes_32", real_amplitudes, 32, n=32, reps=3, seed=0),
    _e("efficient_su2_32", efficient_su2, 32, n=32, reps=2, seed=0),
    _e("quantum_volume_32", quantum_volume, 32, n=32, seed=0),
    _e("qaoa_gnp_32", qaoa_maxcut, 32, note="QAOA p=2 on G(32, 0.3)",
       graph_or_n=32, p=2, seed=0, kind="gnp", prob=0.3),
    _e("random_cx_32", random_cx, 32, n=32, depth=32, seed=0),
    _e("multiplier_8", multiplier, 32, note="HRS cumulative multiplier, 8-bit", n_bits=8),
    _e("ripple_carry_adder_16", ripple_carry_adder, 34, note="Cuccaro, 16-bit", n_bits=16),
    _e("uccsd_like_24", uccsd_like, 24, n=24, seed=0),
    _e("cz_fraction_50", cz_fraction, 50, note="CZ fraction 0.5, depth 50",
       n=50, depth=50, fraction=0.5, seed=0),
    _e("qft_64", qft, 64, note="DisQCO anchor: QFT-64, no swaps", n=64),
    _e("qaoa_gnp_64", qaoa_maxcut, 64, note="DisQCO anchor: QAOA p=1 on G(64, 0.5)",
       graph_or_n=64, p=1, seed=0, kind="gnp", prob=0.5),
    _e("quantum_volume_64", quantum_volume, 64, n=64, seed=0),
    _e("cp_fraction_64", cp_fraction, 64, n=64, depth=64, fraction=0.5, seed=0),
    _e("bernstein_vazirani_64", bernstein_vazirani, 64, n=64, seed=0),
    _e("w_state_64", w_state, 64, n=64),
    _e("real_amplitudes_64", real_amplitudes, 64, n=64, reps=3, seed=0),
    _e("qft_96", qft, 96, note="QFT-96, no swaps", n=96),
    _e("quantum_volume_96", quantum_volume, 96, n=96, seed=0),
    _e("ghz_128", ghz, 128, n=128),
    _e("deutsch_jozsa_128", deutsch_jozsa, 128, n=128, seed=0),
    _e("qaoa_regular3_128", qaoa_maxcut, 128, note="QAOA p=2 on a random 3-regular graph",
       graph_or_n=128, p=2, seed=0, kind="regular", degree=3),
    _e("random_cx_128", random_cx, 128, n=128, depth=64, seed=0),
    _e("efficient_su2_128", efficient_su2, 128, n=128, reps=2, seed=0),
    _e("ripple_carry_adder_63", ripple_carry_adder, 128, note="Cuccaro, 63-bit", n_bits=63),
    _e("cp_fraction_128", cp_fraction, 128,
       note="DisQCO anchor: random CP, depth 128, half the qubits paired per layer",
       n=128, depth=128, fraction=0.5, seed=0),
    _e("qft_128", qft, 128, note="QFT-128, no swaps", n=128),
    _e("cp_fraction_256", cp_fraction, 256, note="DisQCO random CP, depth 256, fraction 0.5",
       n=256, depth=256, fraction=0.5, seed=0),
    _e("qft_256", qft, 256, note="QFT-256, no swaps", n=256),
]

_BY_NAME = {e.name: e for e in SUITE}
if len(_BY_NAME) != len(SUITE):  # pragma: no cover - guarded by tests
    raise RuntimeError("duplicate SUITE names")


def names(tier: str | None = None) -> list[str]:
    """SUITE names, all or of one tier ("quick"/"full")."""
    return [e.name for e in SUITE if tier is None or e.tier == tier]


def quick() -> list[SuiteEntry]:
    """The quick tier."""
    return [e for e in SUITE if e.tier == "quick"]


def get(name: str) -> SuiteEntry:
    """The SUITE entry called ``name``."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown suite circuit {name!r}; known: {', '.join(_BY_NAME)}") from None


# --------------------------------------------------------------------------------------------
# The bundled QASM files
# --------------------------------------------------------------------------------------------

#: SUITE circuits up to this many qubits are bundled as QASM 2 under circuits/suite/.
BUNDLE_MAX_QUBITS = 64
#: Bundled files are skipped above this size (kept out of git; built on demand instead).
BUNDLE_MAX_BYTES = 200_000

#: The small README examples: file name -> (builder, QASM version).
EXAMPLES: dict[str, tuple[Callable[[], QuantumCircuit], int]] = {
    "qft_16.qasm": (partial(qft, 16, swaps=False), 2),
    "qaoa_maxcut_12.qasm": (partial(qaoa_maxcut, 12, p=1, seed=0, kind="gnp", prob=0.5), 2),
    "ghz_8.qasm": (partial(ghz, 8), 2),
    "random_10.qasm": (partial(random_mixed, 10, depth=8, seed=0), 2),
    "qft_8_qasm3.qasm": (partial(qft, 8, swaps=False), 3),
}

_GENERATED_BY = "generated by benchmarks/generate_circuits.py; do not edit"


def bundle_files(max_qubits: int = BUNDLE_MAX_QUBITS) -> dict[str, str]:
    """Relative path -> file text of every bundled QASM file (examples and small suite
    circuits). Deterministic: the same text on every run."""
    files: dict[str, str] = {}
    for fname, (build, version) in EXAMPLES.items():
        qc = build()
        text = qasm2_text(qc, [_GENERATED_BY]) if version == 2 else \
            qasm3_text(qc, [_GENERATED_BY])
        files[fname] = text
    for entry in SUITE:
        if entry.num_qubits > max_qubits:
            continue
        text = qasm2_text(entry.build(), [f"suite entry {entry.name} ({entry.tier})",
                                          _GENERATED_BY])
        if len(text.encode()) > BUNDLE_MAX_BYTES:
            continue
        files[f"suite/{entry.name}.qasm"] = text
    return files


def write_bundle(out_dir: str | Path, max_qubits: int = BUNDLE_MAX_QUBITS) -> list[Path]:
    """Write :func:`bundle_files` under ``out_dir``; return the paths written."""
    out = Path(out_dir)
    written = []
    for rel, text in bundle_files(max_qubits).items():
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        written.append(path)
    return written
