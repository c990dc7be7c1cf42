"""Packets: the windows of each qubit's timeline that one linked copy can serve.

A window of qubit ``q`` is a maximal run of ``q``'s operations that all keep one basis (Z or X):
while it lasts, a linked copy of ``q`` on another QPU (one e-bit, cat-entangler) stands in for
``q`` in every two-qubit gate of the window whose role on ``q`` is that basis.  A window opens at
a two-qubit gate whose role on ``q`` is Z or X and closes at the first operation on ``q`` that
does not keep its basis (``h``, the target of a ``ch``, a measurement, a two-qubit gate in the
other basis, which opens the next window).

The result is a :class:`Packets` of flat arrays, computed in one numba pass over the IR.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from .ir import KIND_NQ, KIND_ROLE, ROLE_OTHER, Circuit


@dataclass
class Packets:
    """Windows of every qubit and the window of every two-qubit gate operand.

    Attributes
    ----------
    slot_window : ndarray of int64, aligned with ``Circuit.qargs``
        Window served by that operand of a two-qubit gate, or -1 when the operand's role is
        ``ROLE_OTHER`` (the gate then runs where that qubit lives) or the op is not a
        two-qubit gate.
    root : ndarray of int64, shape (w,)
        Qubit of each window.
    basis : ndarray of int8, shape (w,)
        ``ROLE_Z`` or ``ROLE_X``: the basis of each window's linked copies.
    first, last : ndarray of int64, shape (w,)
        Index of the first and last two-qubit operation of each window.
    """

    slot_window: np.ndarray
    root: np.ndarray
    basis: np.ndarray
    first: np.ndarray
    last: np.ndarray

    @property
    def num_windows(self) -> int:
        """Number of windows."""
        return int(self.root.shape[0])


@njit(cache=True)
def _windows_kernel(kind, qptr, qargs, num_qubits, kind_nq, kind_role):
    m = kind.shape[0]
    slot_window = np.full(qargs.shape[0], -1, dtype=np.int64)
    cur = np.full(num_qubits, -1, dtype=np.int64)
    cur_basis = np.zeros(num_qubits, dtype=np.int8)
    cap = 16
    root = np.empty(cap, dtype=np.int64)
    basis = np.empty(cap, dtype=np.int8)
    first = np.empty(cap, dtype=np.int64)
    last = np.empty(cap, dtype=np.int64)
    nw = 0
    for i in range(m):
        k = kind[i]
        nq = kind_nq[k]
        base = qptr[i]
        for j in range(nq):
            q = qargs[base + j]
            r = kind_role[k, j]
            if nq != 2:
                if cur[q] >= 0 and (r & cur_basis[q]) == 0:
                    cur[q] = -1
                continue
            if r == ROLE_OTHER:
                cur[q] = -1
                continue
            if cur[q] >= 0 and cur_basis[q] == r:
                w = cur[q]
                last[w] = i
            else:
                if nw == cap:
                    cap *= 2
                    root2 = np.empty(cap, dtype=np.int64)
                    basis2 = np.empty(cap, dtype=np.int8)
                    first2 = np.empty(cap, dtype=np.int64)
                    last2 = np.empty(cap, dtype=np.int64)
                    root2[:nw] = root[:nw]
                    basis2[:nw] = basis[:nw]
                    first2[:nw] = first[:nw]
                    last2[:nw] = last[:nw]
                    root, basis, first, last = root2, basis2, first2, last2
                w = nw
                nw += 1
                root[w] = q
                basis[w] = r
                first[w] = i
                last[w] = i
                cur[q] = w
                cur_basis[q] = r
            slot_window[base + j] = w
    return slot_window, root[:nw].copy(), basis[:nw].copy(), first[:nw].copy(), last[:nw].copy()


def find_windows(circ: Circuit) -> Packets:
    """Compute the windows (packets) of every qubit of ``circ`` in program order.

    Parameters
    ----------
    circ : Circuit
        The circuit in IR form.

    Returns
    -------
    Packets
        Window of every two-qubit operand and the root, basis and span of every window.
    """
    slot_window, root, basis, first, last = _windows_kernel(
        circ.kind.astype(np.int64), circ.qptr, circ.qargs, circ.num_qubits, KIND_NQ, KIND_ROLE)
    return Packets(slot_window, root, basis, first, last)
