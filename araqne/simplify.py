"""Exact peephole simplification of the IR before partitioning.

Every gate that survives in the input costs nothing by itself, but a non-diagonal one-qubit gate
on a qubit closes its windows (packets), and every closed window may cost another linked copy.
Two rewrites remove such gates without changing the circuit's unitary (not even its global
phase):

- **Cancellation.**  Two operations adjacent on their qubits that are inverses of each other
  are removed: ``h h``, ``x x``, ``y y``, ``z z``, ``s sdg``, ``t tdg``, ``sx sxdg``, ``cx cx``
  and ``cy cy`` and ``ch ch`` (same control), ``cz cz`` (either order).  The pass is a stack per
  qubit, so nests cancel too (``h x x h`` leaves nothing).  Random circuits that apply a
  Hadamard to every idle qubit of a layer (pytket-dqc's CZ-fraction family) lose about 45% of
  their gates this way.
- **H-CZ-H as CX.**  ``h t; cz c, t; h t``, the three adjacent on ``t``, is ``cx c, t``.  The CX
  target keeps the X basis, so a window of ``t`` may now run through it; transpiled circuits
  (``u(pi/2, 0, pi)`` is exactly ``h``, ``cp(pi)`` exactly ``cz``) get their CX gates back.

Measurements, resets and classically conditioned operations are never rewritten and nothing is
moved across them.  Each kept operation remembers its index in the input (``origin``), so the
schedule's served gates name input operations.

This module imports only :mod:`araqne.ir`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from .ir import KIND, KIND_NQ, Circuit

# gate classes of the rewrite rules (0: never rewritten)
_NONE, _H, _X, _Y, _Z, _S, _SDG, _T, _TDG, _SX, _SXDG, _CX, _CZ, _CY, _CH = range(15)
_CLASS_OF_KIND = {"h": _H, "x": _X, "y": _Y, "z": _Z, "s": _S, "sdg": _SDG, "t": _T,
                  "tdg": _TDG, "sx": _SX, "sxdg": _SXDG, "cx": _CX, "cz": _CZ, "cy": _CY,
                  "ch": _CH}
#: inverse class of each class (_NONE for classes that are not rewritten)
_INVERSE = np.array([_NONE, _H, _X, _Y, _Z, _SDG, _S, _TDG, _T, _SXDG, _SX, _CX, _CZ, _CY, _CH],
                    dtype=np.int64)
#: two-qubit classes whose operands may be swapped (symmetric gates)
_SYMMETRIC = np.zeros(15, dtype=np.bool_)
_SYMMETRIC[_CZ] = True

ANGLE_ATOL = 1e-12
"""Tolerance (radians) within which ``u(pi/2, 0, pi)`` is read as ``h`` and ``cp(pi)`` as
``cz`` (angles compared modulo 2 pi)."""


@dataclass
class Simplified:
    """The simplified circuit and where its operations come from.

    Attributes
    ----------
    circuit : Circuit
        The simplified circuit (same qubits, clbits, registers and name as the input).
    origin : ndarray of int64
        ``origin[i]``: index in the input of operation ``i`` (for an H-CZ-H rewritten as CX,
        the CZ's index).
    removed : int
        Operations of the input that are gone.
    recognised : int
        H-CZ-H triples rewritten as one CX.
    """

    circuit: Circuit
    origin: np.ndarray
    removed: int
    recognised: int

    @property
    def changed(self) -> bool:
        """Whether any rewrite applied."""
        return self.removed > 0


def _near(angle: np.ndarray, target: float) -> np.ndarray:
    """Whether each angle equals ``target`` modulo 2 pi (within :data:`ANGLE_ATOL`)."""
    d = np.mod(angle - target + np.pi, 2 * np.pi) - np.pi
    return np.abs(d) <= ANGLE_ATOL


def gate_classes(circ: Circuit) -> np.ndarray:
    """Rewrite class of every operation (``_NONE`` for conditioned or other operations)."""
    table = np.zeros(int(KIND_NQ.shape[0]), dtype=np.int64)
    for name, c in _CLASS_OF_KIND.items():
        table[KIND[name]] = c
    cls = table[circ.kind]
    p0 = circ.pptr[:-1]
    u = np.flatnonzero(circ.kind == KIND["u"])
    if u.size:
        th, ph, la = (circ.params[p0[u] + j] for j in range(3))
        cls[u[_near(th, np.pi / 2) & _near(ph, 0.0) & _near(la, np.pi)]] = _H
    cp = np.flatnonzero(circ.kind == KIND["cp"])
    if cp.size:
        cls[cp[_near(circ.params[p0[cp]], np.pi)]] = _CZ
    cls[circ.cond >= 0] = _NONE
    return cls


@njit(cache=True)
def _cancel(n, cls, qptr, qargs, alive, inverse, symmetric):
    """One stack pass per qubit: remove adjacent inverse pairs among the ``alive`` operations.

    ``prev[s]`` is the alive operation before operand slot ``s`` on its qubit when it was
    pushed, so removing a pair re-exposes what lay beneath.  Returns the number removed.
    """
    m = cls.shape[0]
    last = np.full(n, -1, dtype=np.int64)
    prev = np.full(qargs.shape[0], -1, dtype=np.int64)
    removed = 0
    for i in range(m):
        if not alive[i]:
            continue
        s0 = qptr[i]
        nq = qptr[i + 1] - s0
        c = cls[i]
        if c != 0:
            p = last[qargs[s0]]
            if p >= 0 and cls[p] == inverse[c] and qptr[p + 1] - qptr[p] == nq:
                t0 = qptr[p]
                match = True
                if nq == 2:
                    a, b = qargs[s0], qargs[s0 + 1]
                    pa, pb = qargs[t0], qargs[t0 + 1]
                    if last[b] != p:
                        match = False
                    elif not (pa == a and pb == b) and not (symmetric[c] and pa == b
                                                            and pb == a):
                        match = False
                if match:
                    alive[p] = False
                    alive[i] = False
                    removed += 2
                    for j in range(nq):
                        last[qargs[t0 + j]] = prev[t0 + j]
                    continue
        for j in range(nq):
            q = qargs[s0 + j]
            prev[s0 + j] = last[q]
            last[q] = i
    return removed


@njit(cache=True)
def _recognise(n, cls, qptr, qargs, alive, to_cx):
    """Rewrite ``h t; cz c, t; h t`` (adjacent on ``t``) as ``cx c, t``.

    Marks both Hadamards dead and sets ``to_cx[i]`` to the target's operand position (0 or 1)
    of every rewritten CZ ``i`` (-1 elsewhere).  Returns the number rewritten.
    """
    m = cls.shape[0]
    nxt = np.full(qargs.shape[0], -1, dtype=np.int64)
    prv = np.full(qargs.shape[0], -1, dtype=np.int64)
    last_slot = np.full(n, -1, dtype=np.int64)
    op_of_slot = np.empty(qargs.shape[0], dtype=np.int64)
    for i in range(m):
        for s in range(qptr[i], qptr[i + 1]):
            op_of_slot[s] = i
    for i in range(m):
        if not alive[i]:
            continue
        for s in range(qptr[i], qptr[i + 1]):
            q = qargs[s]
            ls = last_slot[q]
            if ls >= 0:
                nxt[ls] = s
                prv[s] = ls
            last_slot[q] = s
    count = 0
    used = np.zeros(m, dtype=np.bool_)
    for i in range(m):
        if not alive[i] or cls[i] != 12:  # _CZ
            continue
        s0 = qptr[i]
        for j in (1, 0):
            ps = prv[s0 + j]
            ns = nxt[s0 + j]
            if ps < 0 or ns < 0:
                continue
            p = op_of_slot[ps]
            x = op_of_slot[ns]
            if cls[p] == 1 and cls[x] == 1 and not used[p] and not used[x]:  # _H
                used[p] = True
                used[x] = True
                alive[p] = False
                alive[x] = False
                to_cx[i] = j
                count += 1
                break
    return count


def simplify(circ: Circuit) -> Simplified:
    """Cancel adjacent inverse gates and rewrite H-CZ-H as CX, until nothing changes.

    Parameters
    ----------
    circ : Circuit
        The input (not modified).

    Returns
    -------
    Simplified
        The equivalent circuit, with ``origin`` mapping its operations to the input's.
    """
    m = circ.num_ops
    cur = circ
    origin = np.arange(m, dtype=np.int64)
    recognised = 0
    n = int(circ.num_qubits)
    while cur.num_ops:
        cls = gate_classes(cur)
        if not np.any(cls):
            break
        alive = np.ones(cur.num_ops, dtype=np.bool_)
        to_cx = np.full(cur.num_ops, -1, dtype=np.int64)
        # cancel first: in h h cz h h the pairs go and the cz stays one (a z-window may run
        # through it), where h (cx) h would close the windows on both sides
        removed = _cancel(n, cls, cur.qptr, cur.qargs, alive, _INVERSE, _SYMMETRIC)
        r = _recognise(n, cls, cur.qptr, cur.qargs, alive, to_cx)
        if removed == 0 and r == 0:
            break
        keep = np.flatnonzero(alive)
        cur = _rebuild(cur, keep, to_cx)
        origin = origin[keep]
        recognised += r
    return Simplified(cur, origin, m - cur.num_ops, recognised)


def _rebuild(circ: Circuit, keep: np.ndarray, to_cx: np.ndarray) -> Circuit:
    """The circuit of operations ``keep``, CZs with ``to_cx >= 0`` turned into CX."""
    nq = np.diff(circ.qptr)[keep]
    npar = np.diff(circ.pptr)[keep]
    kind = circ.kind[keep].copy()
    conv = to_cx[keep] >= 0
    kind[conv] = KIND["cx"]
    npar = np.where(conv, 0, npar)
    qptr = np.concatenate([[0], np.cumsum(nq)]).astype(np.int64)
    slots = np.repeat(circ.qptr[:-1][keep], nq) + (np.arange(int(qptr[-1]), dtype=np.int64)
                                                   - np.repeat(qptr[:-1], nq))
    qargs = circ.qargs[slots].copy()
    # a CX's target is its second operand: swap the CZ's operands when the target came first
    flip = np.flatnonzero(conv & (to_cx[keep] == 0))
    if flip.size:
        a = qptr[flip]
        qargs[a], qargs[a + 1] = qargs[a + 1].copy(), qargs[a].copy()
    pptr = np.concatenate([[0], np.cumsum(npar)]).astype(np.int64)
    pslots = np.repeat(circ.pptr[:-1][keep], npar) + (np.arange(int(pptr[-1]), dtype=np.int64)
                                                      - np.repeat(pptr[:-1], npar))
    out = Circuit(num_qubits=circ.num_qubits, num_clbits=circ.num_clbits, kind=kind,
                  qptr=qptr, qargs=qargs, pptr=pptr, params=circ.params[pslots].copy(),
                  clbit=circ.clbit[keep].copy(), cond=circ.cond[keep].copy(),
                  conditions=circ.conditions, qregs=circ.qregs, cregs=circ.cregs,
                  name=circ.name)
    out.validate()
    return out
