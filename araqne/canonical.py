"""Name single-qubit gates by what they do, so their basis roles are seen.

Transpilers emit generic ``u(theta, phi, lam)`` gates (DisQCO's benchmarks are transpiled to
``u`` + ``cp``).  A generic ``u`` closes every packet, yet ``u(0, phi, lam)`` is a phase gate
(Z-diagonal), ``u(pi, phi, lam)`` a bit flip with phases (Z-anti-diagonal) and
``u(theta, -pi/2, pi/2)`` is ``rx(theta)`` (X-diagonal).  :func:`canonical_single_qubit` rewrites
them (and ``rx(pi)``, ``ry(pi)``) into gates of the table whose roles say so, up to global
phase, vectorised over the IR arrays.
"""

from __future__ import annotations

import numpy as np

from .ir import KIND, KIND_NP, Circuit

_TWO_PI = 2.0 * np.pi


def _near(x: np.ndarray, target: float, tol: float = 1e-10) -> np.ndarray:
    d = np.mod(x - target + np.pi, _TWO_PI) - np.pi
    return np.abs(d) < tol


def canonical_single_qubit(circ: Circuit) -> Circuit:
    """Return ``circ`` with special-angle one-qubit gates renamed (equal up to global phase).

    ``u(0, phi, lam)`` -> ``p(phi + lam)``; ``u(pi, phi, lam)`` -> ``p(lam + pi); x; p(phi)``;
    ``u(pi/2, 0, pi)`` -> ``h``; ``u(theta, -pi/2, pi/2)`` -> ``rx(theta)``;
    ``u(theta, 0, 0)`` -> ``ry(theta)``; ``rx(pi)`` -> ``x``; ``ry(pi)`` -> ``y``.
    """
    m = circ.num_ops
    if m == 0:
        return circ
    kind = circ.kind.astype(np.int64)
    pstart = circ.pptr[:-1]
    is_u = kind == KIND["u"]
    is_rx = kind == KIND["rx"]
    is_ry = kind == KIND["ry"]
    if not (is_u.any() or is_rx.any() or is_ry.any()):
        return circ
    par = circ.params
    theta = np.zeros(m)
    phi = np.zeros(m)
    lam = np.zeros(m)
    iu = np.flatnonzero(is_u)
    theta[iu], phi[iu], lam[iu] = par[pstart[iu]], par[pstart[iu] + 1], par[pstart[iu] + 2]
    ir_ = np.flatnonzero(is_rx | is_ry)
    theta[ir_] = par[pstart[ir_]]

    u_phase = is_u & _near(theta, 0.0)
    u_flip = is_u & _near(theta, np.pi)
    u_h = is_u & ~u_phase & ~u_flip & _near(theta, np.pi / 2) & _near(phi, 0.0) & \
        _near(lam, np.pi)
    rest = is_u & ~u_phase & ~u_flip & ~u_h
    u_rx = rest & _near(phi, -np.pi / 2) & _near(lam, np.pi / 2)
    u_ry = rest & ~u_rx & _near(phi, 0.0) & _near(lam, 0.0)
    rx_x = is_rx & _near(theta, np.pi)
    ry_y = is_ry & _near(theta, np.pi)
    if not (u_phase | u_flip | u_h | u_rx | u_ry | rx_x | ry_y).any():
        return circ

    # new kind per op (flip ops expand to three: p, x, p)
    new_kind = kind.copy()
    new_kind[u_phase] = KIND["p"]
    new_kind[u_h] = KIND["h"]
    new_kind[u_rx] = KIND["rx"]
    new_kind[u_ry] = KIND["ry"]
    new_kind[rx_x] = KIND["x"]
    new_kind[ry_y] = KIND["y"]
    count = np.where(u_flip, 3, 1)
    out_m = int(count.sum())
    first = np.cumsum(count) - count  # position of each op's first output
    src = np.repeat(np.arange(m), count)
    piece = np.arange(out_m) - np.repeat(first, count)
    out_kind = new_kind[src]
    flip_src = u_flip[src]
    out_kind[flip_src & (piece == 0)] = KIND["p"]
    out_kind[flip_src & (piece == 1)] = KIND["x"]
    out_kind[flip_src & (piece == 2)] = KIND["p"]

    # parameters
    nparam = KIND_NP[out_kind]
    out_pptr = np.zeros(out_m + 1, dtype=np.int64)
    np.cumsum(nparam, out=out_pptr[1:])
    out_params = np.empty(int(out_pptr[-1]), dtype=np.float64)
    keep = ~(u_phase | u_flip | u_h | u_rx | u_ry | rx_x | ry_y)[src]
    # unchanged ops copy their parameters
    for j in range(int(KIND_NP.max())):
        sel = keep & (nparam > j)
        out_params[out_pptr[:-1][sel] + j] = par[circ.pptr[src[sel]] + j]
    one = out_pptr[:-1]
    sel = u_phase[src]
    out_params[one[sel]] = phi[src[sel]] + lam[src[sel]]
    sel = (u_rx | u_ry)[src]
    out_params[one[sel]] = theta[src[sel]]
    sel = flip_src & (piece == 0)
    out_params[one[sel]] = lam[src[sel]] + np.pi
    sel = flip_src & (piece == 2)
    out_params[one[sel]] = phi[src[sel]]

    # operands: every rewritten op is one-qubit, so operand counts are unchanged per piece
    nq = np.diff(circ.qptr)
    out_nq = nq[src]
    out_qptr = np.zeros(out_m + 1, dtype=np.int64)
    np.cumsum(out_nq, out=out_qptr[1:])
    offs = np.arange(int(out_qptr[-1])) - np.repeat(out_qptr[:-1], out_nq)
    out_qargs = circ.qargs[np.repeat(circ.qptr[:-1][src], out_nq) + offs]

    out = Circuit(
        num_qubits=circ.num_qubits, num_clbits=circ.num_clbits,
        kind=out_kind.astype(np.int16), qptr=out_qptr, qargs=out_qargs, pptr=out_pptr,
        params=out_params, clbit=circ.clbit[src], cond=circ.cond[src],
        conditions=circ.conditions, qregs=circ.qregs, cregs=circ.cregs, name=circ.name)
    return out
