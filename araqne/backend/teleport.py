"""Protocol gadgets: the LOCC building blocks the emitter strings together.

Each gadget appends statements to a :class:`araqne.backend.schedule.Program` (``prog.op`` for a
local statement of one QPU, ``prog.epr`` for the one two-QPU statement, a Bell pair).  Qubits are
named by their OpenQASM text (``"qpu0[3]"``, ``"comm1[0]"``); communication qubits handed in must
be in ``|0>`` and are left in ``|0>`` (``reset``) when the gadget frees them.

Linked copies (cat-entangler / cat-disentangler; Eisert, Jacobs, Papadopoulos, Plenio,
PRA 62, 052317 (2000)).  For a qubit ``a|0> + b|1>`` a Z-basis copy turns it into
``a|00> + b|11>`` across QPUs: every gate diagonal in Z on the qubit (``rz``, the control of
``cx``, either side of ``cz``...) may then act on either party.  An X-basis copy is the same in the
conjugate basis, ``a|++> + b|-->`` for ``a|+> + b|->``, so gates diagonal in X (the target of
``cx``, ``rx``, ``rxx``...) may act on either party:

============  ======================================================  ==========================
basis          entangler (source ``r`` and half ``e`` on A, copy ``c``  disentangler
               on B)
============  ======================================================  ==========================
Z              ``epr e, c; cx r, e; m = measure e; if (m) x c;``        ``h c; m' = measure c;``
               ``reset e;``                                             ``if (m') z r; reset c;``
X              ``epr e, c; h e; cx e, r; h e; m = measure e;``          ``m' = measure c;``
               ``if (m) x c; h c; reset e;``                            ``if (m') x r; reset c;``
============  ======================================================  ==========================

(``h e; cx e, r; h e`` equals ``h r; cx r, e; h r``: the Z entangler conjugated by H on the
source, after which ``h c`` maps the copy into the X basis.)  The source may itself be a copy
(copy of a copy, used to relay along a path); the disentangler's correction may act on any party
(the root is used).  An operation anti-diagonal in the copy's basis applied to the root (``x`` or
``y`` on a Z copy, ``z`` or ``y`` on an X copy) must be followed by :func:`flip_copy` on every live
copy.

State teleportation (Bennett et al. 1993): ``epr e, c; cx q, e; h q; m0 = measure q;
m1 = measure e; if (m1) x c; if (m0) z c; reset q; reset e;`` moves the state of ``q`` (A) onto
``c`` (B).
"""

from __future__ import annotations

from ..ir import ROLE_X, ROLE_Z
from .schedule import CLS_1Q, CLS_MR


def cat_entangle(prog, basis: int, src_qpu: int, src: str, half: str, dst_qpu: int, copy: str,
                 **record) -> dict:
    """Make ``copy`` (on ``dst_qpu``) a linked copy of ``src`` (on ``src_qpu``) in ``basis``.

    Parameters
    ----------
    prog : Program
        Where statements go.
    basis : int
        ``ROLE_Z`` or ``ROLE_X``.
    src_qpu, src : int, str
        QPU and qubit being copied (a data qubit or an existing copy).
    half : str
        A free communication qubit of ``src_qpu`` (consumed, then reset).
    dst_qpu, copy : int, str
        QPU and free communication qubit receiving the copy.
    record
        Extra schedule fields of the Bell pair (window, path, serves...).

    Returns
    -------
    dict
        The Bell-pair record (``consumed`` set to the step where the copy is ready).
    """
    pair = prog.epr(src_qpu, half, dst_qpu, copy, **record)
    pid = pair.n
    if basis == ROLE_Z:
        first = prog.op2(src_qpu, f"cx {src}, {half};", src, half)
    elif basis == ROLE_X:
        first = prog.op1(src_qpu, f"h {half};", half)
        prog.op2(src_qpu, f"cx {half}, {src};", half, src)
        prog.op1(src_qpu, f"h {half};", half)
    else:
        raise ValueError(f"linked copies exist in the Z or X basis only (got role {basis})")
    bit = prog.new_bit()
    prog.measure(src_qpu, half, bit)
    done = prog.if1(dst_qpu, bit, f"x {copy};", copy, pid)
    if basis == ROLE_X:
        done = prog.op1(dst_qpu, f"h {copy};", copy)
    freed = prog.op1(src_qpu, f"reset {half};", half, CLS_MR)
    table = prog.pairs
    table.ready[pid] = first - 1
    table.consumed[pid] = done
    table.released[pid] = max(freed, done)
    return pair


def cat_disentangle(prog, basis: int, copy_qpu: int, copy: str, root_qpu: int, root: str,
                    pair: dict | None = None) -> int:
    """Release the linked copy ``copy`` (on ``copy_qpu``) of ``root`` (on ``root_qpu``).

    Measures the copy in the basis conjugate to ``basis``, corrects the root (``z`` for a Z copy,
    ``x`` for an X copy) and resets the copy.  Returns the step of the reset (also written to
    ``pair["released"]`` when given: the record :func:`cat_entangle` returned, or its number).
    """
    pid = None if pair is None else (pair if isinstance(pair, int) else pair.n)
    if basis == ROLE_Z:
        prog.op1(copy_qpu, f"h {copy};", copy)
        fix = "z"
    elif basis == ROLE_X:
        fix = "x"
    else:
        raise ValueError(f"linked copies exist in the Z or X basis only (got role {basis})")
    bit = prog.new_bit()
    prog.measure(copy_qpu, copy, bit)
    prog.if1(root_qpu, bit, f"{fix} {root};", root, pid)
    step = prog.op1(copy_qpu, f"reset {copy};", copy, CLS_MR)
    if pid is not None:
        rel = prog.pairs.released
        if step > rel[pid]:
            rel[pid] = step
    return step


def flip_copy(prog, basis: int, qpu: int, copy: str, cond=None) -> int:
    """Flip a live copy after an anti-diagonal operation on its root (``x`` on a Z copy, ``z``
    on an X copy).  ``cond`` is ``(template, bits)`` of a classical condition (see
    :func:`araqne.backend.emission.condition_template`), or ``None``."""
    gate = "x" if basis == ROLE_Z else "z"
    text = f"{gate} {copy};"
    if cond is None:
        return prog.op(qpu, text, (copy,), cls=CLS_1Q)
    template, bits = cond
    return prog.op(qpu, template.replace("\x00", text), (copy,), read=bits, cls=CLS_1Q)


def teleport_state(prog, src_qpu: int, src: str, half: str, dst_qpu: int, recv: str,
                   **record) -> dict:
    """Teleport the state of ``src`` (on ``src_qpu``) onto ``recv`` (a free communication qubit
    of ``dst_qpu``), using the free communication qubit ``half`` of ``src_qpu``.

    ``src`` and ``half`` are reset afterwards.  Returns the Bell-pair record
    (``protocol="state"``; ``consumed`` = step where ``recv`` holds the state).
    """
    record.setdefault("protocol", "state")
    pair = prog.epr(src_qpu, half, dst_qpu, recv, **record)
    pid = pair.n
    first = prog.op2(src_qpu, f"cx {src}, {half};", src, half)
    prog.op1(src_qpu, f"h {src};", src)
    b0 = prog.new_bit()
    b1 = prog.new_bit()
    prog.measure(src_qpu, src, b0)
    prog.measure(src_qpu, half, b1)
    prog.if1(dst_qpu, b1, f"x {recv};", recv, pid)
    done = prog.if1(dst_qpu, b0, f"z {recv};", recv, pid)
    f1 = prog.op1(src_qpu, f"reset {src};", src, CLS_MR)
    f2 = prog.op1(src_qpu, f"reset {half};", half, CLS_MR)
    table = prog.pairs
    table.ready[pid] = first - 1
    table.consumed[pid] = done
    table.released[pid] = max(done, f1, f2)
    return pair
