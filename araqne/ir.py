"""Flat array intermediate representation (IR) of a circuit.

A circuit of millions of gates must fit in memory and stream through numba kernels, so the IR
holds no Python object per gate: every operation is a row of a few numpy arrays.

Gate kinds come from one table, :data:`GATES`. Each kind fixes its name (the OpenQASM 3 stdgates
name, also valid OpenQASM 2 with ``qelib1.inc``), its qubit and parameter counts and, per
operand, its *basis role*: which computational basis the operation keeps (maps basis states to
basis states up to phase).  A role is a bit set:

``ROLE_Z``
    diagonal or anti-diagonal in the Z basis (``rz``, ``s``, ``x``, the control of ``cx``, either
    qubit of ``cz``/``cp``/``rzz``).  A linked copy of the operand in the Z basis survives it.
``ROLE_X``
    diagonal or anti-diagonal in the X basis (``rx``, ``sx``, ``z``, the target of ``cx``, either
    qubit of ``rxx``).
``ROLE_OTHER`` (0)
    neither (``h``, ``ry``, ``u``, the target of ``ch``, measurement, reset): closes every window.

Whether an operation on the operand is diagonal or anti-diagonal in a basis is given by
:data:`ZFLIP` / :data:`XFLIP` (anti-diagonal: the operation flips a linked copy, so the
backend flips each live copy too).

This module imports nothing else of araqne.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

ROLE_OTHER = 0
ROLE_Z = 1
ROLE_X = 2
ROLE_ZX = ROLE_Z | ROLE_X


class GateSpec(NamedTuple):
    """One gate kind of the distribution basis.

    Attributes
    ----------
    name : str
        OpenQASM name (stdgates.inc / qelib1.inc).
    num_qubits : int
        Number of qubit operands.
    num_params : int
        Number of real parameters.
    roles : tuple of int
        Basis role per operand (``ROLE_*`` bit set).
    zflip : tuple of bool
        Per operand: the gate is anti-diagonal (a bit flip up to phase) in the Z basis.
    xflip : tuple of bool
        Per operand: the gate is anti-diagonal in the X basis.
    """

    name: str
    num_qubits: int
    num_params: int
    roles: tuple
    zflip: tuple = (False, False)
    xflip: tuple = (False, False)


Z, X, O, ZX = ROLE_Z, ROLE_X, ROLE_OTHER, ROLE_ZX

#: The distribution basis.  The index in this tuple is the gate's kind code in the IR.
GATES: tuple[GateSpec, ...] = (
    # one-qubit gates
    GateSpec("id", 1, 0, (ZX,)),
    GateSpec("x", 1, 0, (ZX,), zflip=(True,), xflip=(False,)),
    GateSpec("y", 1, 0, (ZX,), zflip=(True,), xflip=(True,)),
    GateSpec("z", 1, 0, (ZX,), zflip=(False,), xflip=(True,)),
    GateSpec("h", 1, 0, (O,)),
    GateSpec("s", 1, 0, (Z,)),
    GateSpec("sdg", 1, 0, (Z,)),
    GateSpec("t", 1, 0, (Z,)),
    GateSpec("tdg", 1, 0, (Z,)),
    GateSpec("sx", 1, 0, (X,)),
    GateSpec("sxdg", 1, 0, (X,)),
    GateSpec("rx", 1, 1, (X,)),
    GateSpec("ry", 1, 1, (O,)),
    GateSpec("rz", 1, 1, (Z,)),
    GateSpec("p", 1, 1, (Z,)),
    GateSpec("u", 1, 3, (O,)),
    # two-qubit gates: at least one operand keeps a basis, so a linked copy can serve it
    GateSpec("cx", 2, 0, (Z, X)),
    GateSpec("cz", 2, 0, (Z, Z)),
    GateSpec("cp", 2, 1, (Z, Z)),
    GateSpec("crz", 2, 1, (Z, Z)),
    GateSpec("rzz", 2, 1, (Z, Z)),
    GateSpec("rxx", 2, 1, (X, X)),
    GateSpec("crx", 2, 1, (Z, X)),
    GateSpec("rzx", 2, 1, (Z, X)),
    GateSpec("cy", 2, 0, (Z, O)),
    GateSpec("ch", 2, 0, (Z, O)),
    GateSpec("cry", 2, 1, (Z, O)),
    GateSpec("cu", 2, 4, (Z, O)),
    # non-unitary operations
    GateSpec("measure", 1, 0, (O,)),
    GateSpec("reset", 1, 0, (O,)),
)

KIND: dict[str, int] = {g.name: i for i, g in enumerate(GATES)}
"""Kind code of each gate name of the distribution basis."""

KIND_MEASURE = KIND["measure"]
KIND_RESET = KIND["reset"]
KIND_CX = KIND["cx"]

#: per kind: number of qubits, number of params (numpy, for kernels)
KIND_NQ = np.array([g.num_qubits for g in GATES], dtype=np.int64)
KIND_NP = np.array([g.num_params for g in GATES], dtype=np.int64)
#: per kind and operand position (2 columns, unused columns 0): role bits
KIND_ROLE = np.array([list(g.roles) + [0] * (2 - len(g.roles)) for g in GATES], dtype=np.int8)
#: per kind and operand position: anti-diagonal in Z (flip the Z-copy) / in X (flip the X-copy)
ZFLIP = np.array([list(g.zflip[: g.num_qubits]) + [False] * (2 - g.num_qubits) for g in GATES],
                 dtype=np.bool_)
XFLIP = np.array([list(g.xflip[: g.num_qubits]) + [False] * (2 - g.num_qubits) for g in GATES],
                 dtype=np.bool_)


@dataclass(frozen=True)
class Condition:
    """Classical condition of an operation: ``if (bits == value)`` (or ``!=`` when negated).

    ``clbits`` are indices into the circuit's flat classical bit list, least significant first
    (as a register compares in OpenQASM).
    """

    clbits: tuple[int, ...]
    value: int
    negate: bool = False


@dataclass
class Circuit:
    """A circuit in the flat array IR.

    All operations, in program order, are rows ``i`` of the arrays below; no Python object per
    operation exists.  Qubit and classical-bit indices are flat (registers concatenated in
    declaration order).

    Attributes
    ----------
    num_qubits, num_clbits : int
        Sizes of the flat qubit and classical-bit index spaces.
    kind : ndarray of int16, shape (m,)
        Kind code of each operation (index into :data:`GATES`).
    qptr : ndarray of int64, shape (m + 1,)
        CSR offsets: operands of operation ``i`` are ``qargs[qptr[i]:qptr[i+1]]``.
    qargs : ndarray of int64
        Qubit operands.  For two-qubit gates, operand order is the gate's (control first).
    pptr : ndarray of int64, shape (m + 1,)
        CSR offsets into ``params``.
    params : ndarray of float64
        Real parameters (angles in radians).
    clbit : ndarray of int64, shape (m,)
        Classical bit written by a ``measure``, else -1.
    cond : ndarray of int64, shape (m,)
        Index into ``conditions`` for a classically controlled operation, else -1.
    conditions : list of Condition
        Distinct classical conditions.
    qregs, cregs : list of (str, int)
        Input register names and sizes, for naming outputs like the input.
    name : str
        Where the circuit came from (file name or circuit name), for messages.
    """

    num_qubits: int
    num_clbits: int
    kind: np.ndarray
    qptr: np.ndarray
    qargs: np.ndarray
    pptr: np.ndarray
    params: np.ndarray
    clbit: np.ndarray
    cond: np.ndarray
    conditions: list = field(default_factory=list)
    qregs: list = field(default_factory=list)
    cregs: list = field(default_factory=list)
    name: str = "circuit"

    @property
    def num_ops(self) -> int:
        """Number of operations."""
        return int(self.kind.shape[0])

    def num_two_qubit(self) -> int:
        """Number of two-qubit gates."""
        return int(np.count_nonzero(KIND_NQ[self.kind] == 2))

    def roles(self) -> np.ndarray:
        """Basis role of every operand, aligned with ``qargs`` (int8)."""
        nq = np.diff(self.qptr)
        pos = np.arange(self.qargs.shape[0], dtype=np.int64) - np.repeat(self.qptr[:-1], nq)
        return KIND_ROLE[np.repeat(self.kind, nq), pos]

    def validate(self) -> None:
        """Check array shapes and index ranges; raise ValueError on the first problem."""
        m = self.num_ops
        if self.qptr.shape != (m + 1,) or self.pptr.shape != (m + 1,):
            raise ValueError("IR: pointer arrays have the wrong length")
        if m and (self.kind.min() < 0 or self.kind.max() >= len(GATES)):
            raise ValueError("IR: unknown gate kind code")
        if not np.array_equal(np.diff(self.qptr), KIND_NQ[self.kind]):
            raise ValueError("IR: operand counts disagree with gate kinds")
        if not np.array_equal(np.diff(self.pptr), KIND_NP[self.kind]):
            raise ValueError("IR: parameter counts disagree with gate kinds")
        if self.qargs.size and (self.qargs.min() < 0 or self.qargs.max() >= self.num_qubits):
            raise ValueError("IR: qubit index out of range")
        two = KIND_NQ[self.kind] == 2
        if np.any(self.qargs[self.qptr[:-1][two]] == self.qargs[self.qptr[:-1][two] + 1]):
            raise ValueError("IR: two-qubit gate acting twice on one qubit")

    def op(self, i: int) -> tuple[str, tuple[int, ...], tuple[float, ...]]:
        """Operation ``i`` as ``(name, qubits, params)``; for messages and tests, not hot loops."""
        return (
            GATES[int(self.kind[i])].name,
            tuple(int(q) for q in self.qargs[self.qptr[i]: self.qptr[i + 1]]),
            tuple(float(p) for p in self.params[self.pptr[i]: self.pptr[i + 1]]),
        )

    def ops(self):
        """Iterate ``op(i)`` over all operations (slow; for tests and small circuits)."""
        for i in range(self.num_ops):
            yield self.op(i)


def from_ops(num_qubits: int, ops, num_clbits: int = 0, name: str = "circuit") -> Circuit:
    """Build an IR circuit from ``(name, qubits, params[, clbit])`` tuples.

    A convenience for tests and small generators; the frontend builds arrays directly.
    """
    kind, qargs, qptr, params, pptr, clbit = [], [], [0], [], [0], []
    for op in ops:
        gname, qs, ps = op[0], op[1], op[2] if len(op) > 2 else ()
        spec = GATES[KIND[gname]]
        if len(qs) != spec.num_qubits or len(ps) != spec.num_params:
            raise ValueError(f"bad operands for {gname}: {qs} {ps}")
        kind.append(KIND[gname])
        qargs.extend(qs)
        qptr.append(len(qargs))
        params.extend(ps)
        pptr.append(len(params))
        clbit.append(op[3] if len(op) > 3 else -1)
    m = len(kind)
    circ = Circuit(
        num_qubits=num_qubits,
        num_clbits=num_clbits,
        kind=np.array(kind, dtype=np.int16),
        qptr=np.array(qptr, dtype=np.int64),
        qargs=np.array(qargs, dtype=np.int64),
        pptr=np.array(pptr, dtype=np.int64),
        params=np.array(params, dtype=np.float64),
        clbit=np.array(clbit, dtype=np.int64),
        cond=np.full(m, -1, dtype=np.int64),
        qregs=[("q", num_qubits)],
        cregs=[("c", num_clbits)] if num_clbits else [],
        name=name,
    )
    circ.validate()
    return circ
