"""Verification of a distributed program against its input circuit by simulation.

The backend writes one OpenQASM 3 program for the whole cluster (see the output contract in
``DESIGN.md``): per QPU ``i`` a data register ``qpu<i>`` and a communication register ``comm<i>``,
the input's classical registers under their own names, extra classical bits for protocol
measurements, the gate ``epr a, b { h a; cx a, b; }``, mid-circuit measurements, ``if``
corrections and ``reset`` of communication qubits.  Two layouts say where input qubit ``q`` lives
at the start (``layout_initial``) and at the end (``layout_final``) of the program.

Two checks are made, chosen from the input circuit, and one from the program alone:

``"statevector"`` (the input is unitary up to final measurements and leading resets)
    For each of ``samples`` random product input states (Haar-random ``u(theta, phi, lam)|0>``
    per input qubit; ``|0>`` for a qubit the input resets first), the ideal output state of the
    input circuit (final measurements removed) is compared with ``shots`` runs of the
    distributed program (its final measurements into output bits removed; each run follows its
    own protocol measurement outcomes): the fidelity ``<psi|rho|psi>`` of the ideal state with
    the reduced state ``rho`` of the data qubits at their final places (communication qubits
    and unused slots traced out) must be 1 in every run.  Separately, every final measurement
    of the input must be made by the distributed program on the qubit's final place into the
    same classical bit, and no other measurement may write an output bit.
``"distribution"`` (the input has mid-circuit measurements, non-leading resets or classical
control)
    Both circuits are sampled (``dist_shots`` shots) from the same random product inputs; the
    distributions of the input's classical bits must agree within a statistical tolerance on
    their total variation distance.
locality (always)
    Only ``epr`` between communication qubits may touch two QPUs (``contract_errors``).

The state check runs on one of two engines.  ``"numpy"`` (the default) simulates trajectories
holding only the live qubits (idle communication qubits and unused slots never enter the state;
measured and reset ones leave it) and defers measurements, so that a correct protocol costs one
trajectory per input state whatever ``shots`` is, while an outcome-dependent one is sampled shot
by shot (see the comment above :class:`_Compiler`).  ``"aer"`` follows the plain recipe: Aer
statevector simulation with ``save_statevector(pershot=True)``, the fidelity taken by a partial
inner product in numpy.  Both give the same numbers where the outcomes agree (tested).  The
distribution check uses Aer.

Public: :func:`verify_program`, :func:`verify_circuits`, :func:`load_program`,
:class:`VerifyReport`.  Parsing program text needs ``qiskit-qasm3-import``; the Aer engine and
the distribution check need ``qiskit-aer``.
"""

from __future__ import annotations

import math
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from araqne.errors import InputError

__all__ = ["VerifyReport", "verify_program", "verify_circuits", "load_program"]

#: Fidelity below ``1 - FIDELITY_ATOL`` fails the state check (float rounding stays far below).
FIDELITY_ATOL = 1e-6

#: Bytes of per-shot statevectors one simulator call may return; larger batches are split.
_STATE_BUDGET = 1 << 30

_CONTROL_FLOW = ("if_else", "while_loop", "for_loop", "switch_case", "box")
_IGNORED = ("barrier", "delay")


@dataclass
class VerifyReport:
    """Result of a verification.

    Attributes
    ----------
    method : str
        ``"statevector"`` (fidelity of the final data state per shot) or ``"distribution"``
        (classical output distributions compared, for inputs with mid-circuit measurement,
        reset or classical control).
    worst_fidelity : float
        Minimum of ``fidelities``.
    fidelities : list of float
        ``"statevector"``: one fidelity ``<psi|rho|psi>`` per shot, sample-major
        (``samples * shots`` values).  ``"distribution"``: one classical fidelity
        (squared Bhattacharyya coefficient of the two sampled distributions) per sample.
    num_qubits_simulated : int
        Qubits of the distributed program (the simulated register).
    samples, shots : int
        Random input states tried, and shots per input state.
    tvds : list of float
        ``"distribution"`` only: total variation distance per sample.
    tvd_tolerances : list of float
        ``"distribution"`` only: the statistical tolerance each TVD was held to.
    measurement_errors : list of str
        Problems with final measurements (``"statevector"``: a measured input qubit not
        measured at its final place into the same bit, or a protocol measurement writing an
        output bit; ``"distribution"``: a missing output register).
    measured : int
        Number of final measurements of the input checked.
    seed : int
        Seed of the random input states and of the simulator.
    engine : str
        Simulator used: ``"numpy"`` (trajectory engine of this module) or ``"aer"``.
    contract_errors : list of str
        Operations breaking the locality rule of the output contract (an operation other than
        ``epr`` touching two QPUs, or ``epr`` not between communication qubits).
    """

    method: str
    worst_fidelity: float
    fidelities: list
    num_qubits_simulated: int
    samples: int
    shots: int
    tvds: list = field(default_factory=list)
    tvd_tolerances: list = field(default_factory=list)
    measurement_errors: list = field(default_factory=list)
    measured: int = 0
    seed: int = 0
    engine: str = "aer"
    contract_errors: list = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """True when every check passed."""
        if self.measurement_errors or self.contract_errors:
            return False
        if self.method == "distribution":
            return all(t <= tol for t, tol in zip(self.tvds, self.tvd_tolerances))
        return self.worst_fidelity >= 1.0 - FIDELITY_ATOL

    def summary(self) -> str:
        """One line for logs and the CLI."""
        verdict = "PASS" if self.passed else "FAIL"
        if self.method == "distribution":
            worst_tvd = max(self.tvds, default=0.0)
            core = (f"distribution check, {self.samples} input states x {self.shots} shots, "
                    f"worst TVD {worst_tvd:.4f} "
                    f"(tolerance {min(self.tvd_tolerances, default=0.0):.4f})")
        else:
            core = (f"statevector check, {self.samples} input states x {self.shots} shots, "
                    f"worst fidelity {self.worst_fidelity:.9f}, {self.measured} final measurements")
        extra = ""
        if self.measurement_errors:
            extra += f"; {len(self.measurement_errors)} measurement errors"
        if self.contract_errors:
            extra += f"; {len(self.contract_errors)} operations across QPUs"
        return (f"{verdict}: {core} on {self.num_qubits_simulated} qubits "
                f"({self.engine}){extra}")


# --------------------------------------------------------------------------------------------
# loading


_BIT_DECL = re.compile(r"\bbit\s+([A-Za-z_]\w*)\s*;")
_INDEXED_CMP = re.compile(r"([A-Za-z_]\w*\s*\[\s*\d+\s*\])\s*(==|!=)\s*([01])\b(?!\s*\.)")


def _count_declared_qubits(text: str) -> int | float:
    """Qubits declared by OpenQASM 3 text, counted without parsing the program
    (:func:`araqne.frontend.declared_qubits`: any literal form, constant expressions,
    comments skipped); ``math.inf`` for a size beyond 2**64."""
    from .frontend import declared_qubits

    n = declared_qubits(text, 3)
    return math.inf if n is None else n


def _normalise_conditions(text: str) -> str:
    """Rewrite ``bit == 0/1`` conditions into the ``bit == false/true`` the importer accepts.

    ``qiskit_qasm3_import`` accepts ``if (b)``, ``if (b == true)`` and ``if (reg == 3)``, but
    rejects comparing a single bit with an integer (``if (m[0] == 1)``), which is valid
    OpenQASM 3 and what a code generator naturally writes.
    """
    def indexed(m: re.Match) -> str:
        return f"{m.group(1)} {m.group(2)} {'true' if m.group(3) == '1' else 'false'}"

    text = _INDEXED_CMP.sub(indexed, text)
    scalars = set(_BIT_DECL.findall(text))
    if scalars:
        names = "|".join(re.escape(s) for s in sorted(scalars))
        pat = re.compile(rf"(?<![\w\[])({names})\s*(==|!=)\s*([01])\b")
        text = pat.sub(indexed, text)
    return text


def _read_text(source) -> str:
    """Program text: ``source`` itself, or the file it names (no newline, no ``;``)."""
    if not isinstance(source, (str, os.PathLike)):
        raise InputError(f"distributed program: expected OpenQASM 3 text, a path or a "
                         f"QuantumCircuit, got {type(source).__name__}")
    if isinstance(source, os.PathLike) or ("\n" not in source and ";" not in source):
        try:
            with open(source, encoding="utf-8") as fh:
                return fh.read()
        except OSError as exc:
            raise InputError(f"{source}: cannot read distributed program ({exc.strerror})"
                             ) from None
    return source


def load_program(source, *, max_qubits: int | None = None):
    """Parse a combined OpenQASM 3 program into a Qiskit circuit.

    Parameters
    ----------
    source : str or os.PathLike
        Program text, or the path of a file holding it.
    max_qubits : int, optional
        Refuse, before parsing, a program declaring more qubits than this.

    Returns
    -------
    qiskit.QuantumCircuit

    Raises
    ------
    InputError
        The text cannot be parsed, or declares more than ``max_qubits`` qubits.
    """
    text = _read_text(source)
    if max_qubits is not None:
        _check_limit(_count_declared_qubits(text), max_qubits)
    import qiskit.qasm3 as qasm3

    try:
        return qasm3.loads(_normalise_conditions(text))
    except Exception as exc:  # the importer raises several types; all mean bad input here
        msg = " ".join(str(exc).split())
        raise InputError(f"distributed program: cannot parse OpenQASM 3: {msg}") from None


def _check_limit(n: int | float, max_qubits: int) -> None:
    if n > max_qubits:
        shown = "more than 2**64" if n == math.inf else n
        raise InputError(
            f"distributed program has {shown} qubits, more than the verification limit of "
            f"{max_qubits} (max_qubits); statevector simulation needs 2^n amplitudes")


def _as_qiskit(circuit):
    """The input circuit as a Qiskit circuit (Qiskit, araqne IR, QASM text or path)."""
    from qiskit import QuantumCircuit

    if isinstance(circuit, QuantumCircuit):
        return circuit
    from araqne import frontend  # lazy: only needed for non-Qiskit inputs

    if isinstance(circuit, (str, os.PathLike)):
        circuit = frontend.load(circuit)
    return frontend.to_qiskit(circuit)


# --------------------------------------------------------------------------------------------
# layouts


_PLACE = re.compile(r"^\s*([A-Za-z_]\w*)\s*\[\s*(\d+)\s*\]\s*$")


def _place_key(place) -> tuple[str, int]:
    """A layout entry as (register name, index)."""
    if isinstance(place, str):
        m = _PLACE.match(place)
        if not m:
            raise InputError(f"layout: cannot read place {place!r} (expected e.g. 'qpu0[3]')")
        return m.group(1), int(m.group(2))
    try:
        qpu, slot = place
    except (TypeError, ValueError):
        raise InputError(f"layout: place {place!r} is not a (qpu, slot) pair") from None
    reg = qpu if isinstance(qpu, str) else f"qpu{int(qpu)}"
    return reg, int(slot)


def _layout_positions(layout, input_qc, dist_qc, which: str) -> list[int]:
    """Flat qubit index in ``dist_qc`` of every input qubit, from a layout."""
    n = input_qc.num_qubits
    entries: dict[int, Any] = {}
    if isinstance(layout, Mapping):
        for key, place in layout.items():
            if isinstance(key, (int, np.integer)) or (isinstance(key, str) and key.isdigit()):
                q = int(key)
            else:
                try:
                    q = input_qc.find_bit(key).index
                except Exception:
                    raise InputError(f"{which}: key {key!r} is not an input qubit") from None
            entries[q] = place
    else:
        arr = list(layout)
        entries = dict(enumerate(arr))
    missing = [q for q in range(n) if q not in entries]
    if missing:
        raise InputError(f"{which}: no place for input qubit {missing[0]} "
                         f"({len(missing)} of {n} missing)")
    extra = [q for q in entries if not 0 <= q < n]
    if extra:
        raise InputError(f"{which}: input qubit {extra[0]} out of range (input has {n} qubits)")
    regs = {r.name: r for r in dist_qc.qregs}
    pos = []
    for q in range(n):
        name, idx = _place_key(entries[q])
        reg = regs.get(name)
        if reg is None:
            raise InputError(f"{which}: input qubit {q} placed on {name}[{idx}], but the "
                             f"distributed program has no register {name}")
        if not 0 <= idx < reg.size:
            raise InputError(f"{which}: input qubit {q} placed on {name}[{idx}], but {name} "
                             f"has {reg.size} qubits")
        pos.append(dist_qc.find_bit(reg[idx]).index)
    if len(set(pos)) != n:
        dup = Counter(pos).most_common(1)[0][0]
        qs = [q for q in range(n) if pos[q] == dup]
        raise InputError(f"{which}: input qubits {qs[0]} and {qs[1]} share one place")
    return pos


# --------------------------------------------------------------------------------------------
# circuit surgery


def _inline(qc, supported: frozenset):
    """Copy of ``qc`` with every operation the simulator lacks replaced by its definition."""
    from qiskit.circuit import ControlFlowOp

    if all(inst.operation.name in supported and not isinstance(inst.operation, ControlFlowOp)
           for inst in qc.data):
        return qc
    out = qc.copy_empty_like()

    def emit(inst, qmap, cmap, depth):
        op = inst.operation
        qubits = [qmap[q] for q in inst.qubits] if qmap else list(inst.qubits)
        clbits = [cmap[c] for c in inst.clbits] if cmap else list(inst.clbits)
        if isinstance(op, ControlFlowOp):
            if qmap or cmap:
                raise InputError(f"control flow inside the definition of a gate ({op.name})")
            op = op.replace_blocks([_inline(b, supported) for b in op.blocks])
            out.append(op, qubits, clbits, copy=False)
        elif op.name in supported:
            out.append(op, qubits, clbits, copy=False)
        else:
            defn = getattr(op, "definition", None)
            if defn is None or depth > 64:
                raise InputError(f"operation '{op.name}' has no definition the simulator "
                                 "can run")
            sub_q = dict(zip(defn.qubits, qubits))
            sub_c = dict(zip(defn.clbits, clbits))
            out.global_phase += defn.global_phase
            for sub in defn.data:
                emit(sub, sub_q, sub_c, depth + 1)

    for inst in qc.data:
        emit(inst, None, None, 0)
    return out


def _analyse_input(qc):
    """Classify the input circuit.

    Returns
    -------
    dynamic : str or None
        Why the input needs the distribution check (None: unitary up to final measurements).
    final : list of int
        Indices in ``qc.data`` of final measurements.
    leading_reset : set of int
        Input qubits whose first operation is a reset (prepared in |0> instead of randomly).
    """
    from qiskit.circuit import ControlFlowOp

    index = {q: i for i, q in enumerate(qc.qubits)}
    started: set[int] = set()
    leading_reset: set[int] = set()
    last_measure: dict[int, int] = {}  # qubit -> data index of a measurement not yet followed
    dynamic = None
    for k, inst in enumerate(qc.data):
        op = inst.operation
        name = op.name
        if name in _IGNORED:
            continue
        qs = [index[q] for q in inst.qubits]
        if isinstance(op, ControlFlowOp):
            dynamic = dynamic or f"classical control ({name})"
        elif name == "measure":
            q = qs[0]
            if q in last_measure:
                dynamic = dynamic or "mid-circuit measurement"
            last_measure[q] = k
            started.add(q)
            continue
        elif name == "reset":
            q = qs[0]
            if q not in started:
                leading_reset.add(q)
                started.add(q)
                continue
            dynamic = dynamic or "mid-circuit reset"
        elif getattr(op, "_condition", None) is not None:
            dynamic = dynamic or "classical condition"
        for q in qs:
            if q in last_measure:
                dynamic = dynamic or "mid-circuit measurement"
                del last_measure[q]
            started.add(q)
    final = sorted(last_measure.values())
    return dynamic, final, leading_reset


def _random_angles(rng: np.random.Generator, n: int, fixed: set[int]) -> np.ndarray:
    """Haar-random single-qubit states as u(theta, phi, lam) angles; qubits in ``fixed`` get |0>."""
    theta = np.arccos(1.0 - 2.0 * rng.random(n))
    phi = rng.uniform(0.0, 2.0 * math.pi, n)
    lam = rng.uniform(0.0, 2.0 * math.pi, n)
    ang = np.stack([theta, phi, lam], axis=1)
    for q in fixed:
        ang[q] = 0.0
    return ang


def _prepared(qc, positions: Sequence[int], angles: np.ndarray, drop: set[int] = frozenset()):
    """``qc`` preceded by u(angles[q]) on qubit ``positions[q]``, without instructions ``drop``."""
    from qiskit.circuit.library import UGate

    out = qc.copy_empty_like()
    for q, (t, p, l) in enumerate(angles):
        if t != 0.0 or p != 0.0 or l != 0.0:
            out.append(UGate(float(t), float(p), float(l)), [qc.qubits[positions[q]]], [],
                       copy=False)
    for k, inst in enumerate(qc.data):
        if k not in drop:
            out.append(inst.operation, inst.qubits, inst.clbits, copy=False)
    return out


def _bit_key(qc, bit) -> tuple:
    """(register name, index) of a classical bit, or ('', flat index) for a loose bit."""
    loc = qc.find_bit(bit)
    if loc.registers:
        reg, idx = loc.registers[0]
        return reg.name, idx
    return "", loc.index


def _walk(data, qmap=None, cmap=None, top=None):
    """Yield ``(top, op, qubits, clbits, nested)`` over ``data`` and every control-flow block.

    ``top`` is the index of the enclosing top-level instruction; qubits and clbits are those of
    the outer circuit (block bits mapped by position), so are classical bits of conditions
    (see :func:`_condition_bits`, whose result goes through ``cmap`` of the block).
    """
    from qiskit.circuit import ControlFlowOp

    qmap = qmap or {}
    cmap = cmap or {}
    for k, inst in enumerate(data):
        t = k if top is None else top
        qubits = [qmap.get(q, q) for q in inst.qubits]
        clbits = [cmap.get(c, c) for c in inst.clbits]
        op = inst.operation
        cond = [cmap.get(b, b) for b in _condition_bits(op)] if isinstance(
            op, ControlFlowOp) else []
        yield t, op, qubits, clbits, top is not None, cond
        if isinstance(op, ControlFlowOp):
            for block in op.blocks:
                yield from _walk(block.data, {**qmap, **dict(zip(block.qubits, qubits))},
                                 {**cmap, **dict(zip(block.clbits, clbits))}, t)


def _match_final_measurements(input_qc, final_idx, dist_qc, final_pos):
    """Find the distributed program's counterpart of each final measurement of the input.

    Several final measurements of the input may write one output bit; the bit then holds the
    last one's outcome.  The distributed program may make the earlier ones too (each from the
    place of its own qubit), but its last write of the bit must come from the place of the
    input's last writer.

    Returns
    -------
    drop : set of int
        Top-level indices of ``dist_qc.data`` holding final measurements into output bits
        (matched or not), which the state check removes.
    errors : list of str
    """
    from qiskit.circuit import ControlFlowOp

    in_index = {q: i for i, q in enumerate(input_qc.qubits)}
    # output bit -> distributed qubits of the input's final measurements into it, in order
    writers: dict[tuple, list[int]] = {}
    for k in final_idx:
        inst = input_qc.data[k]
        key = _bit_key(input_qc, inst.clbits[0])
        writers.setdefault(key, []).append(final_pos[in_index[inst.qubits[0]]])
    expected = {key: qs[-1] for key, qs in writers.items()}  # the last writer's value stays
    output_keys = {_bit_key(input_qc, c) for c in input_qc.clbits}
    d_index = {q: i for i, q in enumerate(dist_qc.qubits)}
    dist_regs = {r.name: r.size for r in dist_qc.cregs}
    errors: list[str] = []
    for name, size in ((r.name, r.size) for r in input_qc.cregs):
        if dist_regs.get(name) is None:
            errors.append(f"output register {name} is missing from the distributed program")
        elif dist_regs[name] < size:
            errors.append(f"output register {name} has {dist_regs[name]} bits, input has {size}")

    # last top-level instruction touching each distributed qubit
    last_touch: dict[int, int] = {}
    for k, inst in enumerate(dist_qc.data):
        if inst.operation.name in _IGNORED:
            continue
        for q in inst.qubits:
            last_touch[d_index[q]] = k
    found: dict[tuple, tuple[int, int]] = {}  # output bit -> (top index, qubit) of its last write
    seen: set[tuple] = set()  # (output bit, qubit) pairs measured so far
    drop: set[int] = set()
    read_bits: set[tuple] = set()
    for top, op, qubits, clbits, nested, cond in _walk(dist_qc.data):
        if isinstance(op, ControlFlowOp):
            read_bits.update(_bit_key(dist_qc, b) for b in cond)
            continue
        if op.name != "measure":
            continue
        key = _bit_key(dist_qc, clbits[0])
        if key not in output_keys:
            continue  # a protocol bit
        q = d_index[qubits[0]]
        label = f"{key[0]}[{key[1]}]"
        if not nested and last_touch.get(q) == top:
            drop.add(top)  # a final measurement, right or wrong: the state check looks before it
        if key not in writers:
            errors.append(f"distributed program writes output bit {label}, which the input "
                          "does not measure at the end")
        elif q not in writers[key]:
            errors.append(f"output bit {label} is measured from {_qubit_label(dist_qc, q)}, "
                          f"expected {_qubit_label(dist_qc, expected[key])}")
        elif nested:
            errors.append(f"output bit {label} is measured under a condition")
        elif (key, q) in seen:
            errors.append(f"output bit {label} is measured twice from "
                          f"{_qubit_label(dist_qc, q)}")
        elif last_touch.get(q) != top:
            errors.append(f"{_qubit_label(dist_qc, q)} is used after its final measurement "
                          f"into {label}")
        else:
            seen.add((key, q))
            found[key] = (top, q)
    missing_regs = {e.split()[2] for e in errors if e.startswith("output register")}
    for key in expected:
        label = f"{key[0]}[{key[1]}]"
        if key[0] in missing_regs or any(f"bit {label} " in e for e in errors):
            continue
        if key not in found:
            errors.append(f"output bit {label} is never measured (expected from "
                          f"{_qubit_label(dist_qc, expected[key])})")
        elif found[key][1] != expected[key]:
            errors.append(f"output bit {label} is last written from "
                          f"{_qubit_label(dist_qc, found[key][1])}, expected "
                          f"{_qubit_label(dist_qc, expected[key])} (the input's last "
                          "measurement into it)")
    for key in sorted(read_bits & set(found)):
        errors.append(f"output bit {key[0]}[{key[1]}] is read by a condition; the state check "
                      "cannot remove its measurement")
    return drop, errors


def _condition_bits(op) -> list:
    """Classical bits read by a control-flow operation's condition or target."""
    from qiskit.circuit import Clbit, ClassicalRegister

    cond = getattr(op, "condition", None)
    if cond is None:
        cond = getattr(op, "target", None)
    if cond is None:
        return []
    if isinstance(cond, tuple):
        cond = cond[0]
    if isinstance(cond, Clbit):
        return [cond]
    if isinstance(cond, ClassicalRegister):
        return list(cond)
    try:
        from qiskit.circuit.classical import expr

        bits = []
        for var in expr.iter_vars(cond):
            v = var.var
            if isinstance(v, Clbit):
                bits.append(v)
            elif isinstance(v, ClassicalRegister):
                bits.extend(v)
        return bits
    except Exception:  # pragma: no cover - an expression form we do not know
        return []


_QPU_REG = re.compile(r"^(qpu|comm)(\d+)$")


def _locality_errors(qc, limit: int = 10) -> list[str]:
    """Operations that break the output contract's locality rule.

    Only ``epr`` between communication qubits may touch two QPUs; every other operation must
    stay on one QPU (``qpu<i>`` and ``comm<i>`` registers).  Qubits of other registers are not
    judged.
    """
    from qiskit.circuit import ControlFlowOp

    where: dict = {}
    for reg in qc.qregs:
        m = _QPU_REG.match(reg.name)
        if m:
            for i, q in enumerate(reg):
                where[q] = (int(m.group(2)), m.group(1), f"{reg.name}[{i}]")
    errors: list[str] = []
    count = 0

    def walk(data, qmap):
        nonlocal count
        for inst in data:
            op = inst.operation
            qubits = [qmap.get(q, q) for q in inst.qubits]
            if isinstance(op, ControlFlowOp):
                for block in op.blocks:
                    walk(block.data, dict(zip(block.qubits, qubits)))
                continue
            if len(qubits) < 2 or op.name in _IGNORED:
                continue
            places = [where.get(q) for q in qubits]
            if any(p is None for p in places):
                continue
            labels = ", ".join(p[2] for p in places)
            if op.name == "epr":
                bad = len({p[0] for p in places}) < 2 or any(p[1] != "comm" for p in places)
                msg = f"epr {labels}: not between communication qubits of two QPUs"
            else:
                bad = len({p[0] for p in places}) > 1
                msg = f"{op.name} {labels} acts across QPUs (only epr may)"
            if bad:
                count += 1
                if len(errors) < limit:
                    errors.append(msg)

    walk(qc.data, {})
    if count > limit:
        errors.append(f"... and {count - limit} more operations across QPUs")
    return errors


def _qubit_label(qc, index: int) -> str:
    loc = qc.find_bit(qc.qubits[index])
    if loc.registers:
        reg, i = loc.registers[0]
        return f"{reg.name}[{i}]"
    return f"qubit {index}"


# --------------------------------------------------------------------------------------------
# simulation


def _simulator(required: bool = True):
    """Aer statevector simulator; None when qiskit-aer is missing and not ``required``."""
    try:
        from qiskit_aer import AerSimulator
    except ImportError:  # pragma: no cover - depends on the environment
        if not required:
            return None
        raise InputError("this verification needs qiskit-aer (pip install 'araqne[verify]')"
                         ) from None
    return AerSimulator(method="statevector")


def _supported(sim) -> frozenset:
    """Operation names left as they are (Aer's basis; the standard gates without Aer)."""
    if sim is not None:
        names = set(sim.configuration().basis_gates)
    else:
        from qiskit.circuit.library import get_standard_gate_name_mapping

        names = set(get_standard_gate_name_mapping()) | set(_CONTROL_FLOW)
    names.update(("measure", "reset", "barrier", "delay"))
    return frozenset(names)


def _fidelity(state: np.ndarray, ideal: np.ndarray, positions: Sequence[int]) -> float:
    """``<ideal| rho |ideal>`` with ``rho`` the reduced state of ``state`` on ``positions``.

    ``state`` is a little-endian statevector of ``n`` qubits; ``ideal`` one of
    ``len(positions)`` qubits whose qubit ``q`` is qubit ``positions[q]`` of ``state``.
    Computed as ``|| <ideal| state ||^2`` (a partial inner product), never forming ``rho``.
    """
    n = int(round(math.log2(state.shape[0])))
    m = len(positions)
    st = state.reshape((2,) * n)
    idl = ideal.reshape((2,) * m)
    # axis a of a reshaped little-endian vector is qubit (count - 1 - a)
    v = np.tensordot(idl.conj(), st,
                     axes=([m - 1 - q for q in range(m)], [n - 1 - p for p in positions]))
    return _norm2(np.asarray(v))


def _aer_seed(seed: int, *path: int) -> int:
    """A simulator seed far from every other one derived from ``seed``."""
    return int(np.random.SeedSequence([seed, *path]).generate_state(1, dtype=np.uint32)[0])


def _run(sim, circuits, shots: int, seed: int, **options):
    """Run ``circuits`` on Aer; a failed run is an :class:`InputError`.

    Aer's qubit truncation (dropping qubits it deems idle) is off: it breaks on circuits with
    classical control ("Failed to load circuits: unordered_map::at") and on circuits that
    measure nothing ("No counts for experiment"), and saves little here, where every input
    qubit is prepared in a random state and the programs' communication qubits are used.
    """
    options.setdefault("enable_truncation", False)
    result = sim.run(circuits, shots=shots, seed_simulator=seed, **options).result()
    if not result.success:  # pragma: no cover - Aer reports its own failures
        raise InputError(f"simulation failed: {result.status}")
    return result


# --------------------------------------------------------------------------------------------
# numpy trajectory engine
#
# A trajectory state holds, as a tensor with one axis per qubit, only the *live* qubits; every
# other qubit is known to be in a computational basis state (``val[q]`` in {0, 1}; -1 = live).
# Fresh communication qubits and unused slots never enter the tensor until a gate puts them in
# superposition, reset qubits leave it, SWAP is a relabelling, and a gate that keeps a known
# basis state a basis state (a classically controlled X, a diagonal gate) updates the label.
#
# Measurements are deferred: a measured qubit stays in the tensor as the coherent *record* of
# its bits, and an ``if`` on those bits becomes a gate controlled by the record.  A record is
# resolved when its qubit is reset or used again, or at the end: if it is then in a product
# state with the rest and its bits are read no more, every outcome leaves the same state and
# the trajectory goes on undivided; otherwise the outcome is sampled, and with several shots
# left the shots split binomially (one branch is pushed on a stack).  A correct protocol thus
# costs one trajectory per input state however many shots are asked for, while a protocol whose
# result depends on an outcome is sampled shot by shot like a real run.  Global phases of a
# whole trajectory are dropped.


class _Unsupported(Exception):
    """A construct the numpy engine does not run (loops, switch, stores); Aer runs it."""


_GATE, _SWAP, _MEASURE, _RESET = 0, 1, 2, 3
_EPS = 1e-12
#: 1 - purity of a record's reduced state below which it counts as unentangled
_PRODUCT_TOL = 1e-10
_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _operand_tensor(mat: np.ndarray, k: int) -> np.ndarray:
    """A little-endian 2^k matrix as a tensor ``[out_0..out_k-1, in_0..in_k-1]`` (operand order)."""
    t = np.asarray(mat, dtype=complex).reshape((2,) * (2 * k))
    perm = [k - 1 - j for j in range(k)] + [2 * k - 1 - j for j in range(k)]
    return np.ascontiguousarray(t.transpose(perm))


class _Compiler:
    """Flatten a circuit into rows ``(code, qubits, payload, cond, reads)``.

    ``cond`` is a tuple of ``(test, bits)`` (all must hold), ``reads`` the bits they read.
    ``if_else`` blocks become guarded rows (refused when a block writes a bit its own condition
    reads); gates without a matrix are inlined from their definition; runs of unconditional
    one-qubit gates on a qubit are multiplied into one.
    """

    def __init__(self, qc, drop=frozenset()):
        self.cindex = {c: i for i, c in enumerate(qc.clbits)}
        self.cache: dict = {}
        self.ops: list = []
        self.last1q: dict = {}
        qindex = {q: i for i, q in enumerate(qc.qubits)}
        for k, inst in enumerate(qc.data):
            if k in drop:
                continue
            self.emit(inst.operation, [qindex[q] for q in inst.qubits],
                      [self.cindex[c] for c in inst.clbits], (), self.cindex, 0)
        self.reads: dict[int, list[int]] = {}
        self.writes: dict[int, list[int]] = {}
        self.touches: dict[int, list[int]] = {}
        for i, (code, qs, payload, _, reads) in enumerate(self.ops):
            for b in reads:
                self.reads.setdefault(b, []).append(i)
            if code == _MEASURE:
                self.writes.setdefault(payload, []).append(i)
            for q in (qs if isinstance(qs, tuple) else (qs,)):
                self.touches.setdefault(q, []).append(i)

    def discarded(self, q: int, after: int) -> bool:
        """Whether qubit ``q`` is next reset unconditionally (or never touched) from ``after``."""
        import bisect

        t = self.touches.get(q, ())
        i = bisect.bisect_left(t, after)
        if i == len(t):
            return True
        code, _, _, cond, _ = self.ops[t[i]]
        return code == _RESET and not cond

    def read_later(self, bit: int, after: int) -> bool:
        """Whether some row at index >= ``after`` reads ``bit`` before it is written again."""
        import bisect

        r = self.reads.get(bit, ())
        i = bisect.bisect_left(r, after)
        if i == len(r):
            return False
        w = self.writes.get(bit, ())
        j = bisect.bisect_left(w, after)
        return j == len(w) or r[i] <= w[j]

    def push(self, code, qs, payload, cond):
        reads = frozenset().union(*(bits for _, bits in cond)) if cond else frozenset()
        if code == _GATE and len(qs) == 1 and not cond:
            i = self.last1q.get(qs[0])
            if i is not None:  # fuse with the previous one-qubit gate on this qubit
                prev = self.ops[i]
                self.ops[i] = (_GATE, qs, payload @ prev[2], (), reads)
                return
            self.last1q[qs[0]] = len(self.ops)
        else:
            for q in (qs if isinstance(qs, tuple) else (qs,)):
                self.last1q.pop(q, None)
        self.ops.append((code, qs, payload, cond, reads))

    def block(self, block, qs, cs, cond, depth):
        qmap = dict(zip(block.qubits, qs))
        cmap = dict(zip(block.clbits, cs))
        for inst in block.data:
            self.emit(inst.operation, [qmap[q] for q in inst.qubits],
                      [cmap[c] for c in inst.clbits], cond, cmap, depth)

    def emit(self, op, qs, cs, cond, cmap, depth):
        from qiskit.circuit import ControlFlowOp, Gate

        name = op.name
        if name in _IGNORED or name.startswith("save_"):
            return
        if name == "measure":
            self.push(_MEASURE, qs[0], cs[0], cond)
        elif name == "reset":
            self.push(_RESET, qs[0], None, cond)
        elif name == "if_else":
            test, bits = self.condition(op.condition, cmap)
            start = len(self.ops)
            self.block(op.blocks[0], qs, cs, cond + ((test, bits),), depth)
            if len(op.blocks) > 1 and op.blocks[1] is not None:
                self.block(op.blocks[1], qs, cs,
                           cond + ((lambda cl, t=test: not t(cl), bits),), depth)
            if any(row[0] == _MEASURE and row[2] in bits for row in self.ops[start:]):
                raise _Unsupported("a conditional block writes the bit it is conditioned on")
        elif name == "box":
            self.block(op.blocks[0], qs, cs, cond, depth)
        elif isinstance(op, ControlFlowOp) or not isinstance(op, Gate) and op.definition is None:
            raise _Unsupported(name)
        elif name == "swap":
            self.push(_SWAP, tuple(qs), None, cond)
        else:
            tensor = self.tensor(op)
            if tensor is not None:
                self.push(_GATE, tuple(qs), tensor, cond)
                return
            if op.definition is None or depth > 64:
                raise _Unsupported(name)
            self.block(op.definition, qs, cs, cond, depth + 1)

    def tensor(self, op):
        from qiskit.circuit import Gate

        standard = getattr(op, "_standard_gate", None) is not None
        if not standard and not (isinstance(op, Gate) and op.definition is None):
            return None
        try:
            key = (op.name, op.num_qubits, tuple(float(p) for p in op.params)) if standard else None
        except TypeError:
            raise _Unsupported(f"unbound parameter in {op.name}") from None
        if key is not None and key in self.cache:
            return self.cache[key]
        try:
            mat = op.to_matrix()
        except Exception:
            return None
        t = _operand_tensor(mat, op.num_qubits)
        if key is not None:
            self.cache[key] = t
        return t

    def bit(self, b, cmap) -> int:
        i = cmap.get(b)
        return self.cindex[b] if i is None else i

    def condition(self, cond, cmap):
        """``(test, bits)``: a predicate on the classical memory and the bits it reads."""
        from qiskit.circuit import Clbit, ClassicalRegister

        if isinstance(cond, tuple):
            target, value = cond
            if isinstance(target, Clbit):
                i, v = self.bit(target, cmap), int(bool(value))
                return (lambda cl: cl[i] == v), frozenset((i,))
            if isinstance(target, ClassicalRegister):
                idx = [self.bit(b, cmap) for b in target]
                return (lambda cl: _register_value(cl, idx) == int(value)), frozenset(idx)
        bits: set[int] = set()
        f = self.expr(cond, cmap, bits)
        return (lambda cl: bool(f(cl))), frozenset(bits)

    def expr(self, node, cmap, bits):
        import operator

        from qiskit.circuit import Clbit, ClassicalRegister
        from qiskit.circuit.classical import expr, types

        if isinstance(node, expr.Var):
            v = node.var
            if isinstance(v, Clbit):
                i = self.bit(v, cmap)
                bits.add(i)
                return lambda cl: bool(cl[i])
            if isinstance(v, ClassicalRegister):
                idx = [self.bit(b, cmap) for b in v]
                bits.update(idx)
                return lambda cl: _register_value(cl, idx)
            raise _Unsupported("classical variable")
        if isinstance(node, expr.Value):
            val = node.value
            return lambda cl: val
        if isinstance(node, expr.Cast):
            f = self.expr(node.operand, cmap, bits)
            if isinstance(node.type, types.Bool):
                return lambda cl: bool(f(cl))
            return lambda cl: int(f(cl))
        if isinstance(node, expr.Index):
            f = self.expr(node.target, cmap, bits)
            g = self.expr(node.index, cmap, bits)
            return lambda cl: bool((f(cl) >> g(cl)) & 1)
        if isinstance(node, expr.Unary):
            f = self.expr(node.operand, cmap, bits)
            if node.op is expr.Unary.Op.LOGIC_NOT:
                return lambda cl: not f(cl)
            if node.op is expr.Unary.Op.BIT_NOT:
                width = getattr(node.type, "width", None)
                if width is None:
                    return lambda cl: not f(cl)
                mask = (1 << width) - 1
                return lambda cl: ~f(cl) & mask
            raise _Unsupported(f"expression {node.op.name}")
        if isinstance(node, expr.Binary):
            ops = {"BIT_AND": operator.and_, "BIT_OR": operator.or_, "BIT_XOR": operator.xor,
                   "EQUAL": operator.eq, "NOT_EQUAL": operator.ne, "LESS": operator.lt,
                   "LESS_EQUAL": operator.le, "GREATER": operator.gt,
                   "GREATER_EQUAL": operator.ge, "SHIFT_LEFT": operator.lshift,
                   "SHIFT_RIGHT": operator.rshift}
            f = self.expr(node.left, cmap, bits)
            g = self.expr(node.right, cmap, bits)
            name = node.op.name
            if name == "LOGIC_AND":
                return lambda cl: bool(f(cl)) and bool(g(cl))
            if name == "LOGIC_OR":
                return lambda cl: bool(f(cl)) or bool(g(cl))
            if name in ops:
                fn = ops[name]
                return lambda cl: fn(f(cl), g(cl))
            raise _Unsupported(f"expression {name}")
        raise _Unsupported(f"expression {type(node).__name__}")


def _register_value(cl, idx) -> int:
    v = 0
    for k, i in enumerate(idx):
        v |= int(cl[i]) << k
    return v


def _sum_prod(x: np.ndarray, y: np.ndarray) -> float:
    """``sum(x * y)`` of two real arrays of one shape, without temporaries."""
    if x.ndim == 0:
        return float(x * y)
    if x.ndim > len(_LETTERS):
        return float(np.dot(x.ravel(), y.ravel()))
    s = _LETTERS[: x.ndim]
    return float(np.einsum(f"{s},{s}->", x, y))


def _norm2(x: np.ndarray) -> float:
    """Squared norm of a (possibly strided) complex array."""
    return _sum_prod(x.real, x.real) + _sum_prod(x.imag, x.imag)


def _inner(x: np.ndarray, y: np.ndarray) -> complex:
    """``<x|y>`` of two complex arrays of one shape."""
    re = _sum_prod(x.real, y.real) + _sum_prod(x.imag, y.imag)
    im = _sum_prod(x.real, y.imag) - _sum_prod(x.imag, y.real)
    return complex(re, im)


def _axis_sel(ndim: int, fixed: dict) -> tuple:
    """Index fixing axes ``a`` to ``v``; always a view (the trailing Ellipsis keeps 0-d views)."""
    sel = [slice(None)] * ndim
    for a, v in fixed.items():
        sel[a] = v
    return tuple(sel) + (Ellipsis,)


def _gate1(psi: np.ndarray, a: int, U: np.ndarray, exact: bool) -> np.ndarray:
    """Apply the 2x2 matrix ``U`` on axis ``a`` of ``psi`` in place (or as a view).

    Unless ``exact``, a global phase may be dropped and the result may be a new view.
    """
    n = psi.ndim
    lo, hi = psi[_axis_sel(n, {a: 0})], psi[_axis_sel(n, {a: 1})]
    u00, u01, u10, u11 = U[0, 0], U[0, 1], U[1, 0], U[1, 1]
    if abs(u01) <= _EPS and abs(u10) <= _EPS:
        if not exact:
            u00, u11 = 1.0, u11 / u00
        if abs(u00 - 1.0) > _EPS:
            lo *= u00
        if abs(u11 - 1.0) > _EPS:
            hi *= u11
        return psi
    if abs(u00) <= _EPS and abs(u11) <= _EPS:
        if not exact:
            psi = np.flip(psi, a)
            r = u10 / u01
            if abs(r - 1.0) > _EPS:
                psi[_axis_sel(n, {a: 1})] *= r
            return psi
        t = lo.copy()
        if u01 == 1.0:
            np.copyto(lo, hi)
        else:
            np.multiply(hi, u01, out=lo)
        if u10 == 1.0:
            np.copyto(hi, t)
        else:
            np.multiply(t, u10, out=hi)
        return psi
    t0 = lo.copy()
    lo *= u00
    t1 = np.empty_like(lo)
    np.multiply(hi, u01, out=t1)
    lo += t1
    hi *= u11
    np.multiply(t0, u10, out=t1)
    hi += t1
    return psi


def _apply_controlled(psi, R, axes) -> bool:
    """In place and exactly, a two-qubit gate |0><0| (x) I + |1><1| (x) B; False if not one."""
    R4 = R.reshape(2, 2, 2, 2)
    for c in (0, 1):
        Rc = R4 if c == 0 else R4.transpose(1, 0, 3, 2)
        if (np.abs(Rc[0, :, 1, :]).max() > _EPS or np.abs(Rc[1, :, 0, :]).max() > _EPS
                or np.abs(Rc[0, :, 0, :] - np.eye(2)).max() > _EPS):
            continue
        ac, at = axes[c], axes[1 - c]
        sub = psi[_axis_sel(psi.ndim, {ac: 1})]
        _gate1(sub, at - (at > ac), Rc[1, :, 1, :], exact=True)
        return True
    return False


def _apply_exact(sub: np.ndarray, T: np.ndarray, axes: list[int]) -> None:
    """Apply gate tensor ``T`` (all operands live, on ``axes``) to ``sub`` in place, exactly."""
    k = len(axes)
    dim = 1 << k
    M = T.reshape(dim, dim)
    if k == 1:
        _gate1(sub, axes[0], M, exact=True)
        return
    d = np.diag(M)
    if np.abs(M - np.diag(d)).max() <= _EPS:
        for i in range(dim):
            if abs(d[i] - 1.0) > _EPS:
                fixed = {a: (i >> (k - 1 - t)) & 1 for t, a in enumerate(axes)}
                sub[_axis_sel(sub.ndim, fixed)] *= d[i]
        return
    if k == 2 and _apply_controlled(sub, T, axes):
        return
    new = np.tensordot(T, sub, axes=(list(range(k, 2 * k)), axes))
    sub[...] = np.moveaxis(new, list(range(k)), axes)


class _Traj:
    """One trajectory (or ``count`` identical ones): state, classical memory, records."""

    __slots__ = ("psi", "order", "val", "cl", "rec", "pc", "count")

    def __init__(self, psi, order, val, cl, rec, pc, count):
        self.psi, self.order, self.val, self.cl = psi, order, val, cl
        self.rec, self.pc, self.count = rec, pc, count

    def activate(self, q: int) -> None:
        """Put qubit ``q`` (in a known basis state) into the tensor."""
        e = np.zeros(2, dtype=complex)
        e[self.val[q]] = 1.0
        self.psi = np.multiply.outer(e, self.psi)
        self.order = [q] + self.order
        self.val[q] = -1

    def holder(self, bit: int):
        for q, bits in self.rec.items():
            if bit in bits:
                return q
        return None

    def forget(self, bit: int) -> None:
        """``bit`` is about to be overwritten: no record holds it any more."""
        for bits in self.rec.values():
            bits.discard(bit)


def _apply(tr: _Traj, T: np.ndarray, qs: tuple) -> None:
    """Apply gate tensor ``T`` (operand order) unconditionally on qubits ``qs``."""
    val = tr.val
    k = len(qs)
    act = [j for j in range(k) if val[qs[j]] < 0]
    R = T
    if len(act) < k:
        R = T[(slice(None),) * k + tuple(slice(None) if val[q] < 0 else val[q] for q in qs)]
    outs = list(range(k))
    new, upd = [], []
    for j in range(k):
        q = qs[j]
        if val[q] < 0:
            continue
        ax = outs.index(j)
        s0, s1 = R.take(0, axis=ax), R.take(1, axis=ax)
        if np.abs(s1).max() <= _EPS:
            R = s0
            outs.pop(ax)
            upd.append((q, 0))
        elif np.abs(s0).max() <= _EPS:
            R = s1
            outs.pop(ax)
            upd.append((q, 1))
        else:
            new.append(j)
    if new and act:
        for j in new:
            tr.activate(qs[j])
        _apply(tr, T, qs)
        return
    for q, v in upd:
        val[q] = v
    if not act:
        if new:
            tr.psi = np.multiply.outer(R, tr.psi)
            tr.order = [qs[j] for j in outs] + tr.order
            for j in new:
                val[qs[j]] = -1
        return
    axes = [tr.order.index(qs[j]) for j in act]
    na = len(act)
    dim = 1 << na
    M = R.reshape(dim, dim)
    if na == 1:
        tr.psi = _gate1(tr.psi, axes[0], M, exact=False)
        return
    d = np.diag(M)
    if np.abs(M - np.diag(d)).max() <= _EPS:  # diagonal: phases relative to d[0]
        r = d / d[0]
        for i in range(1, dim):
            if abs(r[i] - 1.0) > _EPS:
                fixed = {a: (i >> (na - 1 - t)) & 1 for t, a in enumerate(axes)}
                tr.psi[_axis_sel(tr.psi.ndim, fixed)] *= r[i]
        return
    if na == 2 and _apply_controlled(tr.psi, R, axes):
        return
    tr.psi = np.tensordot(R, tr.psi, axes=(list(range(na, 2 * na)), axes))
    gone = set(axes)
    tr.order = [qs[j] for j in act] + [q for i, q in enumerate(tr.order) if i not in gone]


def _resolve(tr: _Traj, q: int, need: bool, after: int, prog, stack, rng,
             only_product: bool = False) -> bool:
    """Collapse live qubit ``q`` (a record, or a qubit being reset) in trajectory ``tr``.

    ``need``: the qubit's value matters afterwards (it is used again, its bit is read now, or
    it is a final data place).  Otherwise, when it is unentangled and its bits are not read at
    or after row ``after``, every outcome leaves the same state: no sampling, no split.
    A split pushes the outcome-1 branch, which resumes at ``tr.pc``.  With ``only_product``,
    nothing happens (False) unless the qubit can be dropped without sampling.
    """
    bits = tr.rec.pop(q, set())
    a = tr.order.index(q)
    psi = tr.psi
    lo, hi = psi[_axis_sel(psi.ndim, {a: 0})], psi[_axis_sel(psi.ndim, {a: 1})]
    n0, n1 = _norm2(lo), _norm2(hi)
    tot = n0 + n1
    m = None
    if n1 <= 1e-13 * tot:
        m = 0
    elif n0 <= 1e-13 * tot:
        m = 1
    elif not need and not any(prog.read_later(b, after) for b in bits):
        c = _inner(hi, lo)
        if n0 * n1 - abs(c) ** 2 <= _PRODUCT_TOL * tot * tot:
            m = 0 if n0 >= n1 else 1
    if m is None and only_product:
        tr.rec[q] = bits
        return False
    if m is None:
        p1 = n1 / tot
        if tr.count > 1 and len(stack) * hi.nbytes > 4 * _STATE_BUDGET:
            m = int(rng.random() < p1)  # out of memory for branches: the shots go together
        elif tr.count > 1:
            k1 = int(rng.binomial(tr.count, p1))
            if 0 < k1 < tr.count:
                rec = {r: set(b) for r, b in tr.rec.items()}
                other = _Traj(np.array(hi), tr.order[:a] + tr.order[a + 1:], list(tr.val),
                              tr.cl.copy(), rec, tr.pc, k1)
                _settle(other, q, bits, 1, n1)
                stack.append(other)
                tr.count -= k1
                m = 0
            else:
                m = int(k1 == tr.count)
        else:
            m = int(rng.random() < p1)
    tr.psi = hi if m else lo
    tr.order = tr.order[:a] + tr.order[a + 1:]
    _settle(tr, q, bits, m, n1 if m else n0)
    return True


def _settle(tr: _Traj, q: int, bits, m: int, norm2: float) -> None:
    tr.val[q] = m
    for b in bits:
        tr.cl[b] = m
    if norm2 < 1e-100:
        tr.psi = tr.psi / math.sqrt(norm2)


def _trajectories(prog, tr: _Traj, rng, final: set, leaf) -> None:
    """Run the rows of ``prog`` from ``tr`` (``tr.count`` shots); ``leaf(tr)`` at every end."""
    ops = prog.ops
    nops = len(ops)
    stack = [tr]
    while stack:
        tr = stack.pop()
        while True:
            pc = tr.pc
            if pc >= nops:
                if tr.rec:  # resolve the records left at the end
                    q = next(iter(tr.rec))
                    _resolve(tr, q, q in final, nops, prog, stack, rng)
                    continue
                leaf(tr)
                break
            code, qs, payload, cond, reads = ops[pc]
            if cond:
                holders = {h for h in map(tr.holder, reads) if h is not None} if tr.rec else ()
                if holders:
                    if code != _GATE or any(q in tr.rec for q in qs):
                        _resolve(tr, min(holders), True, pc, prog, stack, rng)
                        continue
                    _apply_coherent(tr, payload, qs, cond, sorted(holders))
                    tr.pc = pc + 1
                    _release(tr, holders, prog, final, stack, rng)
                    continue
                if not all(test(tr.cl) for test, _ in cond):
                    tr.pc = pc + 1
                    continue
            if code == _GATE:
                used = [q for q in qs if q in tr.rec] if tr.rec else ()
                if used:
                    _resolve(tr, used[0], True, pc, prog, stack, rng)
                    continue
                _apply(tr, payload, qs)
            elif code == _MEASURE:
                tr.forget(payload)
                if tr.val[qs] >= 0:
                    tr.cl[payload] = tr.val[qs]
                else:
                    tr.rec.setdefault(qs, set()).add(payload)
                    tr.pc = pc + 1
                    _release(tr, (qs,), prog, final, stack, rng)
                    continue
            elif code == _RESET:
                if tr.val[qs] < 0:
                    _resolve(tr, qs, False, pc + 1, prog, stack, rng)
                tr.val[qs] = 0
            else:  # swap: a relabelling (records follow their qubit)
                a, b = qs
                val = tr.val
                if val[a] < 0 and val[b] < 0:
                    tr.order = [b if q == a else a if q == b else q for q in tr.order]
                elif val[a] < 0 or val[b] < 0:
                    live, other = (a, b) if val[a] < 0 else (b, a)
                    tr.order = [other if q == live else q for q in tr.order]
                    val[live], val[other] = val[other], -1
                else:
                    val[a], val[b] = val[b], val[a]
                ra, rb = tr.rec.pop(a, None), tr.rec.pop(b, None)
                if ra is not None:
                    tr.rec[b] = ra
                if rb is not None:
                    tr.rec[a] = rb
            tr.pc = pc + 1


def _release(tr: _Traj, holders, prog, final: set, stack, rng) -> None:
    """Drop records no longer needed (bits not read again, qubit next reset) if unentangled.

    Run once, right after the last read: nothing can entangle the record again before its
    reset, so a record that is still entangled here waits for the reset and is sampled there.
    """
    for h in holders:
        bits = tr.rec.get(h)
        if bits is None or h in final or not prog.discarded(h, tr.pc):
            continue
        if any(prog.read_later(b, tr.pc) for b in bits):
            continue
        _resolve(tr, h, False, tr.pc, prog, stack, rng, only_product=True)


def _apply_coherent(tr: _Traj, T, qs, cond, holders) -> None:
    """A gate conditioned on bits held by records: a gate controlled by the record qubits."""
    import itertools

    for q in qs:
        if tr.val[q] >= 0:
            tr.activate(q)
    cl = tr.cl
    for x in itertools.product((0, 1), repeat=len(holders)):
        for h, v in zip(holders, x):
            for b in tr.rec[h]:
                cl[b] = v
        if not all(test(cl) for test, _ in cond):
            continue
        haxes = [tr.order.index(h) for h in holders]
        sub = tr.psi[_axis_sel(tr.psi.ndim, dict(zip(haxes, x)))]
        axes = []
        for q in qs:
            a = tr.order.index(q)
            axes.append(a - sum(1 for h in haxes if h < a))
        _apply_exact(sub, T, axes)


def _product_state(angles: np.ndarray, places: Sequence[int], num_qubits: int,
                   num_clbits: int, shots: int) -> _Traj:
    """Trajectory in the product state u(angles[j])|0> on qubit ``places[j]``."""
    psi = np.ones((), dtype=complex)
    order: list[int] = []
    val = [0] * num_qubits
    for j, (t, p, _) in enumerate(angles):
        if t == 0.0 and p == 0.0:
            continue
        v = np.array([math.cos(t / 2), complex(math.cos(p), math.sin(p)) * math.sin(t / 2)])
        psi = np.multiply.outer(v, psi)
        order.insert(0, places[j])
        val[places[j]] = -1
    return _Traj(psi, order, val, np.zeros(num_clbits, dtype=np.int8), {}, 0, shots)


def _dense(tr: _Traj, num_qubits: int) -> np.ndarray:
    """Normalised tensor with axis ``j`` = qubit ``j``, from a trajectory state."""
    out = np.zeros((2,) * num_qubits, dtype=complex)
    perm = sorted(range(len(tr.order)), key=lambda i: tr.order[i])
    sel = [slice(None) if tr.val[q] < 0 else tr.val[q] for q in range(num_qubits)]
    out[tuple(sel)] = np.transpose(tr.psi, perm)
    return out / math.sqrt(_norm2(out))


def _trajectory_fidelity(ideal: np.ndarray, tr: _Traj, positions) -> float:
    """``<ideal|rho|ideal>``, ``rho`` the reduced state on ``positions`` of a trajectory."""
    sel, live, axes = [], [], []
    for p in positions:
        if tr.val[p] < 0:
            sel.append(slice(None))
            live.append(len(live))
            axes.append(tr.order.index(p))
        else:
            sel.append(tr.val[p])
    sub = ideal[tuple(sel)]
    if live:
        v = np.tensordot(sub.conj(), tr.psi, axes=(live, axes))
    else:
        v = sub.conj() * tr.psi
    return _norm2(np.asarray(v)) / _norm2(tr.psi)


def _verify_states_numpy(input_qc, dist_qc, init_pos, final_pos, final_idx, drop, angles,
                         shots, seed):
    """The state check with the numpy trajectory engine; raises _Unsupported if it cannot."""
    n_in, n = input_qc.num_qubits, dist_qc.num_qubits
    in_prog = _Compiler(input_qc, drop=set(final_idx))
    d_prog = _Compiler(dist_qc, drop=drop)
    final = set(final_pos)
    fids: list[float] = []
    for s, ang in enumerate(angles):
        rng = np.random.default_rng([seed, s])
        got: list[_Traj] = []
        tr = _product_state(ang, list(range(n_in)), n_in, input_qc.num_clbits, 1)
        _trajectories(in_prog, tr, rng, set(range(n_in)), got.append)
        ideal = _dense(got[0], n_in)
        leaves: list[tuple[float, int]] = []
        tr = _product_state(ang, init_pos, n, dist_qc.num_clbits, shots)
        _trajectories(d_prog, tr, rng, final,
                      lambda t: leaves.append((_trajectory_fidelity(ideal, t, final_pos),
                                               t.count)))
        for f, c in leaves:
            fids.extend([f] * c)
    return fids


def verify_circuits(input_circuit, distributed_circuit, layout_initial, layout_final=None, *,
                    samples: int = 3, shots: int = 8, seed: int = 0, max_qubits: int = 26,
                    dist_shots: int = 4096, tvd_tol: float | None = None,
                    engine: str = "auto") -> VerifyReport:
    """Verify a distributed circuit (already a Qiskit circuit) against the input circuit.

    Parameters
    ----------
    input_circuit : qiskit.QuantumCircuit or araqne.ir.Circuit
        The monolithic circuit that was distributed.
    distributed_circuit : qiskit.QuantumCircuit
        The combined program, with registers ``qpu<i>``/``comm<i>`` and the input's classical
        registers under their own names.
    layout_initial, layout_final : sequence or mapping
        Place of every input qubit at the start and at the end of the program: a sequence
        indexed by input qubit, or a mapping from input qubit (int, digit string or Qiskit
        ``Qubit``), of ``(qpu, slot)`` pairs (meaning ``qpu<qpu>[slot]``), ``(register name,
        index)`` pairs or strings like ``"qpu0[3]"``.  ``layout_final`` defaults to
        ``layout_initial``.
    samples : int
        Random product input states to try.
    shots : int
        Runs of the distributed program per input state (each follows its own branch of the
        protocol measurements).  The distribution check uses ``dist_shots`` instead.
    seed : int
        Seed of the random input states and of the simulator.
    max_qubits : int
        Refuse a distributed program with more qubits than this.
    dist_shots : int
        Shots per input state for the distribution check.
    tvd_tol : float, optional
        Tolerance on the total variation distance of the distribution check; by default three
        times the expected TVD of two samples of one distribution (see Notes).
    engine : {"auto", "numpy", "aer"}
        Simulator of the state check.  ``"numpy"``: trajectories that hold only the live qubits
        (measured or reset qubits leave the state, idle communication qubits never enter it),
        with deferred measurements, so that a correct protocol costs one trajectory per input
        state and only outcome-dependent ones are sampled shot by shot.  ``"aer"``: qiskit-aer
        per-shot statevectors of the whole register.  ``"auto"``: numpy, or Aer for control
        flow numpy does not run (loops, switch, stores).  The distribution check uses Aer.

    Returns
    -------
    VerifyReport

    Raises
    ------
    InputError
        Too many qubits, a layout that does not fit the program, an operation the simulator
        cannot run, a missing qiskit-aer where it is needed.

    Notes
    -----
    The expected TVD of two independent ``N``-shot samples of one distribution ``p`` is about
    ``sqrt(1 / (2 pi N)) * sum_k sqrt(2 p_k)``; the default tolerance is three times that,
    with ``p`` estimated by the pooled samples.
    """
    if samples < 1 or shots < 1:
        raise InputError(f"verification needs samples >= 1 and shots >= 1 "
                         f"(got {samples}, {shots})")
    input_qc = _as_qiskit(input_circuit)
    dist_qc = distributed_circuit
    _check_limit(dist_qc.num_qubits, max_qubits)
    if input_qc.num_qubits > dist_qc.num_qubits:
        raise InputError(f"input circuit has {input_qc.num_qubits} qubits, the distributed "
                         f"program only {dist_qc.num_qubits}")
    if layout_final is None:
        layout_final = layout_initial
    init_pos = _layout_positions(layout_initial, input_qc, dist_qc, "layout_initial")
    final_pos = _layout_positions(layout_final, input_qc, dist_qc, "layout_final")

    if engine not in ("auto", "numpy", "aer"):
        raise InputError(f"unknown verification engine {engine!r} (auto, numpy or aer)")
    contract = _locality_errors(dist_qc)
    sim = _simulator(required=engine == "aer")
    supported = _supported(sim)
    input_qc = _inline(input_qc, supported)
    dist_qc = _inline(dist_qc, supported)
    dynamic, final_idx, leading_reset = _analyse_input(input_qc)
    rng = np.random.default_rng(seed)
    angles = [_random_angles(rng, input_qc.num_qubits, leading_reset) for _ in range(samples)]
    if dynamic is None:
        report = _verify_states(sim, input_qc, dist_qc, init_pos, final_pos, final_idx, angles,
                                shots, seed, engine)
    else:
        if sim is None:
            sim = _simulator(required=True)
        report = _verify_distribution(sim, input_qc, dist_qc, init_pos, angles, dist_shots,
                                      seed, tvd_tol)
    report.contract_errors = contract
    return report


def _verify_states(sim, input_qc, dist_qc, init_pos, final_pos, final_idx, angles, shots, seed,
                   engine):
    drop, errors = _match_final_measurements(input_qc, final_idx, dist_qc, final_pos)
    flat = None
    if engine in ("auto", "numpy"):
        try:
            flat = _verify_states_numpy(input_qc, dist_qc, init_pos, final_pos, final_idx, drop,
                                        angles, shots, seed)
            engine = "numpy"
        except _Unsupported as exc:
            if engine == "numpy":
                raise InputError(f"numpy verification engine cannot run this program ({exc}); "
                                 "use engine='aer'") from None
            engine = "aer"
    if flat is None:
        if sim is None:
            sim = _simulator(required=True)
        flat = _states_aer(sim, input_qc, dist_qc, init_pos, final_pos, final_idx, drop, angles,
                           shots, seed)
    return VerifyReport(method="statevector", worst_fidelity=min(flat), fidelities=flat,
                        num_qubits_simulated=dist_qc.num_qubits, samples=len(angles),
                        shots=shots, measurement_errors=errors, measured=len(final_idx),
                        seed=seed, engine=engine)


def _states_aer(sim, input_qc, dist_qc, init_pos, final_pos, final_idx, drop, angles, shots,
                seed) -> list[float]:
    """The state check with Aer: per-shot statevectors of the whole register."""
    n_in, n = input_qc.num_qubits, dist_qc.num_qubits
    samples = len(angles)

    ideal_circs = []
    for ang in angles:
        c = _prepared(input_qc, range(n_in), ang, drop=set(final_idx))
        c.save_statevector()
        ideal_circs.append(c)
    res = _run(sim, ideal_circs, 1, seed)
    ideals = [np.asarray(res.data(i)["statevector"]) for i in range(samples)]

    # simulator calls whose returned per-shot states fit the memory budget
    per_call = max(1, _STATE_BUDGET // (16 << n))
    fids: list[list[float]] = [[] for _ in range(samples)]
    calls: list[tuple[list[int], int]] = []  # (samples, shots) per call
    if shots <= per_call:
        group = per_call // shots
        for s0 in range(0, samples, group):
            calls.append((list(range(s0, min(samples, s0 + group))), shots))
    else:
        for s in range(samples):
            for k0 in range(0, shots, per_call):
                calls.append(([s], min(per_call, shots - k0)))
    for call, (sample_ids, k) in enumerate(calls):
        circs = []
        for s in sample_ids:
            c = _prepared(dist_qc, init_pos, angles[s], drop=drop)
            c.save_statevector(pershot=True)
            circs.append(c)
        res = _run(sim, circs, k, _aer_seed(seed, 1, call))
        for i, s in enumerate(sample_ids):
            for sv in res.data(i)["statevector"]:
                fids[s].append(_fidelity(np.asarray(sv), ideals[s], final_pos))
        del res
    return [f for per in fids for f in per]


def _marginal(counts: Mapping[str, int], positions: Sequence[int]) -> Counter:
    """Counts over the classical bits ``positions`` (flat indices), keyed by bit strings."""
    out: Counter = Counter()
    for key, c in counts.items():
        bits = key.replace(" ", "")[::-1]
        out["".join(bits[p] for p in positions)] += c
    return out


def _verify_distribution(sim, input_qc, dist_qc, init_pos, angles, dist_shots, seed, tvd_tol):
    errors: list[str] = []
    dist_bits = {}
    for reg in dist_qc.cregs:
        for i, b in enumerate(reg):
            dist_bits.setdefault((reg.name, i), dist_qc.find_bit(b).index)
    in_pos, d_pos = [], []
    for b in input_qc.clbits:
        key = _bit_key(input_qc, b)
        in_pos.append(input_qc.find_bit(b).index)
        if key[0] == "":
            d_pos.append(key[1] if key[1] < dist_qc.num_clbits else None)
        else:
            d_pos.append(dist_bits.get(key))
        if d_pos[-1] is None:
            errors.append(f"output bit {key[0]}[{key[1]}] is missing from the distributed program")
    n_in = input_qc.num_qubits
    in_circs = [_prepared(input_qc, range(n_in), a) for a in angles]
    d_circs = [_prepared(dist_qc, init_pos, a) for a in angles]
    samples = len(angles)
    fids, tvds, tols = [], [], []
    if errors:
        return VerifyReport(method="distribution", worst_fidelity=0.0, fidelities=[0.0] * samples,
                            num_qubits_simulated=dist_qc.num_qubits, samples=samples,
                            shots=dist_shots, tvds=[1.0] * samples, tvd_tolerances=[0.0] * samples,
                            measurement_errors=errors, seed=seed)
    # independent seeds: Aer seeds shot i with seed + i, so nearby seeds share their shots
    r_in = _run(sim, in_circs, dist_shots, _aer_seed(seed, 2, 0))
    r_d = _run(sim, d_circs, dist_shots, _aer_seed(seed, 2, 1))
    for s in range(samples):
        p = _marginal(r_in.get_counts(s), in_pos)
        q = _marginal(r_d.get_counts(s), d_pos)
        keys = set(p) | set(q)
        np_, nq = sum(p.values()), sum(q.values())
        tvd = 0.5 * sum(abs(p[k] / np_ - q[k] / nq) for k in keys)
        bc = sum(math.sqrt(p[k] / np_ * q[k] / nq) for k in keys)
        pooled = [(p[k] + q[k]) / (np_ + nq) for k in keys]
        expected = math.sqrt(1.0 / (2.0 * math.pi * dist_shots)) * sum(math.sqrt(2 * x)
                                                                        for x in pooled)
        tols.append(tvd_tol if tvd_tol is not None else 3.0 * expected)
        tvds.append(tvd)
        fids.append(bc * bc)
    return VerifyReport(method="distribution", worst_fidelity=min(fids), fidelities=fids,
                        num_qubits_simulated=dist_qc.num_qubits, samples=samples,
                        shots=dist_shots, tvds=tvds, tvd_tolerances=tols, seed=seed)


def verify_program(input_circuit, distributed, layout_initial, layout_final=None, *,
                   samples: int = 3, shots: int = 8, seed: int = 0, max_qubits: int = 26,
                   dist_shots: int = 4096, tvd_tol: float | None = None,
                   engine: str = "auto") -> VerifyReport:
    """Verify a combined distributed program against the input circuit by simulation.

    Parameters
    ----------
    input_circuit : qiskit.QuantumCircuit or araqne.ir.Circuit
        The monolithic circuit that was distributed.
    distributed : str, os.PathLike or qiskit.QuantumCircuit
        The combined OpenQASM 3 program (text or file path), or its Qiskit circuit.
    layout_initial, layout_final : sequence or mapping
        Place of each input qubit at the start and at the end; see :func:`verify_circuits`.
    samples, shots, seed, max_qubits, dist_shots, tvd_tol, engine
        See :func:`verify_circuits`.

    Returns
    -------
    VerifyReport
        ``report.passed`` says whether the program is correct; ``report.summary()`` says how
        it was checked.

    Raises
    ------
    InputError
        The program cannot be parsed, has more than ``max_qubits`` qubits (refused before
        parsing), or does not fit the layouts.

    Examples
    --------
    >>> rep = verify_program(qc, open("out/distributed.qasm").read(), [(0, 0), (1, 0)])
    >>> rep.passed, rep.worst_fidelity                                    # doctest: +SKIP
    (True, 1.0000000000000002)
    """
    from qiskit import QuantumCircuit

    if not isinstance(distributed, QuantumCircuit):
        distributed = load_program(distributed, max_qubits=max_qubits)
    return verify_circuits(input_circuit, distributed, layout_initial, layout_final,
                           samples=samples, shots=shots, seed=seed, max_qubits=max_qubits,
                           dist_shots=dist_shots, tvd_tol=tvd_tol, engine=engine)
