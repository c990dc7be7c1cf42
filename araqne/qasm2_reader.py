"""Fast reader of the common OpenQASM 2 subset, straight into the IR arrays.

Qiskit's QASM 2 parser builds a ``QuantumCircuit`` (a Python object per gate), which the
frontend then walks; at a million gates that costs seconds.  This module reads the subset that
large generated files use with one numba pass over the bytes of the program and fills the IR
arrays directly:

* ``OPENQASM 2.0;`` then ``include "qelib1.inc";`` (comments ``//`` and whitespace anywhere);
* ``qreg`` / ``creg`` declarations (anywhere, as OpenQASM 2 allows);
* the gates of ``qelib1.inc`` (and the built-ins ``U``, ``CX``) on indexed qubits, with
  parameters that are constant expressions of numbers and ``pi`` with ``+ - * /``, unary minus
  and parentheses;
* ``measure q[i] -> c[j];``, ``reset q[i];``, ``barrier`` (dropped), ``if (c == v) gate ...;``.

Anything else (user ``gate`` or ``opaque`` definitions, register-wide broadcasting, other
includes, functions such as ``sin``, ``^``, any input the subset does not cover or that looks
wrong: undeclared registers, indices out of range, duplicate operands, leading zeros...)
makes :func:`read_qasm2` return ``None``, and the caller falls back to the Qiskit-based path,
which reads everything and words every error.  On the subset both paths give the same IR: the
same kinds, operands, parameters (bit for bit: expressions are folded in IEEE double in the
order Qiskit folds them, and decimal literals are correctly rounded), classical bits,
conditions, registers and name.

Gates of ``qelib1.inc`` outside the distribution basis (``swap``, ``ccx``, ``c3x``...) expand
to the pieces the Qiskit path gives for them, computed once per gate through that very path.
"""

from __future__ import annotations

import math
import os

import numpy as np
from numba import njit

from .canonical import canonical_single_qubit
from .ir import GATES, KIND, KIND_MEASURE, KIND_NP, KIND_NQ, KIND_RESET, Circuit, Condition
from .jit import borrowing

__all__ = ["read_qasm2", "eval_expr"]

# --------------------------------------------------------------------------------- gate table

#: qelib1.inc (and built-in) gates read directly: name -> (kind, qubits, params)
_DIRECT = {g.name: (i, g.num_qubits, g.num_params) for i, g in enumerate(GATES)
           if g.name not in ("measure", "reset", "rzx")}
_DIRECT.update({"u1": (KIND["p"], 1, 1), "u3": (KIND["u"], 1, 3), "cu1": (KIND["cp"], 2, 1),
                "U": (KIND["u"], 1, 3), "CX": (KIND["cx"], 2, 0)})
#: gates that are not in the distribution basis, no parameters: expanded by a template
_TEMPLATED = {"swap": 2, "ccx": 3, "cswap": 3, "csx": 2, "rccx": 3, "rc3x": 4, "c3x": 4,
              "c3sqrtx": 4, "c4x": 5}
#: names a register may not take (gates, keywords, functions, constants)
_RESERVED = frozenset(list(_DIRECT) + list(_TEMPLATED) + [
    "u2", "cu3", "u0", "delay", "rzx", "pi", "sin", "cos", "tan", "exp", "ln", "sqrt", "asin",
    "acos", "atan", "OPENQASM", "include", "qreg", "creg", "gate", "opaque", "measure", "reset",
    "barrier", "if"])

_HALF_PI = math.pi / 2
_MAXQ = 5  # most qubits of a qelib1 gate (c4x)
_MAXP = 4  # most parameters (cu)

_TABLES: dict = {}


def _template(name: str, nq: int) -> list:
    """Pieces ``(kind, qubit positions, params)`` the Qiskit path gives for gate ``name``."""
    from .frontend import _Converter, _parse2

    qs = ",".join(f"q[{i}]" for i in range(nq))
    qc = _parse2(f'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[{nq}];\n{name} {qs};\n',
                 "<template>", None)
    conv = _Converter(qc)
    conv.run("<template>")
    pieces, qa, pa = [], 0, 0
    for k in conv.kind:
        nqk, npk = int(KIND_NQ[k]), int(KIND_NP[k])
        pieces.append((int(k), tuple(int(q) for q in conv.qargs[qa:qa + nqk]),
                       tuple(float(p) for p in conv.params[pa:pa + npk])))
        qa += nqk
        pa += npk
    return pieces


def _table(templated: bool):
    """Flat arrays describing every gate name the kernel knows (built once).

    ``templated``: include the gates expanded by templates (building those parses a small
    program per gate through Qiskit, about a second: done only for programs that may use them).
    """
    if templated in _TABLES:
        return _TABLES[templated]
    entries = []  # (name, nq, np, pieces) ; a piece: (kind, qpos, psrc, pconst)
    for name, (k, nq, npar) in _DIRECT.items():
        entries.append((name, nq, npar, [(k, tuple(range(nq)), tuple(range(npar)),
                                          (0.0,) * npar)]))
    entries.append(("u2", 1, 2, [(KIND["u"], (0,), (-1, 0, 1), (_HALF_PI, 0.0, 0.0))]))
    entries.append(("cu3", 2, 3, [(KIND["cu"], (0, 1), (0, 1, 2, -1), (0.0, 0.0, 0.0, 0.0))]))
    for name, nq in (_TEMPLATED.items() if templated else ()):
        pieces = [(k, qpos, (-1,) * len(ps), ps) for k, qpos, ps in _template(name, nq)]
        entries.append((name, nq, 0, pieces))
    raw = b"".join(e[0].encode() for e in entries)
    name_bytes = np.frombuffer(raw, dtype=np.uint8).copy()
    name_ptr = np.zeros(len(entries) + 1, dtype=np.int64)
    name_ptr[1:] = np.cumsum([len(e[0]) for e in entries])
    ent_nq = np.array([e[1] for e in entries], dtype=np.int64)
    ent_np = np.array([e[2] for e in entries], dtype=np.int64)
    piece_ptr = np.zeros(len(entries) + 1, dtype=np.int64)
    piece_ptr[1:] = np.cumsum([len(e[3]) for e in entries])
    pieces = [p for e in entries for p in e[3]]
    piece_kind = np.array([p[0] for p in pieces], dtype=np.int64)
    piece_q = np.full((len(pieces), 2), -1, dtype=np.int64)
    piece_src = np.full((len(pieces), _MAXP), -1, dtype=np.int64)
    piece_const = np.zeros((len(pieces), _MAXP), dtype=np.float64)
    for i, (k, qpos, psrc, pconst) in enumerate(pieces):
        piece_q[i, :len(qpos)] = qpos
        piece_src[i, :len(psrc)] = psrc
        piece_const[i, :len(pconst)] = pconst
    table = (name_bytes, name_ptr, ent_nq, ent_np, piece_ptr, piece_kind, piece_q, piece_src,
             piece_const)
    _TABLES[templated] = table
    return table


# ------------------------------------------------------------------------------ numba scanner

_POW10 = np.array([1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13,
                   1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22], dtype=np.float64)

# status codes of the kernel (anything but OK: fall back)
_OK = 0
_FAIL = 1


@borrowing
def _skip(b, pos):
    """Skip whitespace and ``//`` comments; -1 on ``/*`` (not read here)."""
    n = b.shape[0]
    while pos < n:
        c = b[pos]
        if c == 32 or c == 10 or c == 9 or c == 13:
            pos += 1
        elif c == 47 and pos + 1 < n and b[pos + 1] == 47:
            while pos < n and b[pos] != 10:
                pos += 1
        elif c == 47 and pos + 1 < n and b[pos + 1] == 42:
            return -1
        else:
            break
    return pos


@borrowing
def _ident_end(b, pos):
    """End of the identifier starting at ``pos`` (``pos`` itself when none starts there)."""
    n = b.shape[0]
    if pos >= n:
        return pos
    c = b[pos]
    if not ((97 <= c <= 122) or (65 <= c <= 90)):
        return pos
    pos += 1
    while pos < n:
        c = b[pos]
        if (97 <= c <= 122) or (65 <= c <= 90) or (48 <= c <= 57) or c == 95:
            pos += 1
        else:
            break
    return pos


@borrowing
def _eq(b, s, e, word):
    """Whether ``b[s:e]`` spells ``word`` (a uint8 array)."""
    if e - s != word.shape[0]:
        return False
    for i in range(e - s):
        if b[s + i] != word[i]:
            return False
    return True


@borrowing
def _same(b, s1, e1, s2, e2):
    if e1 - s1 != e2 - s2:
        return False
    for i in range(e1 - s1):
        if b[s1 + i] != b[s2 + i]:
            return False
    return True


@borrowing
def _uint(b, pos):
    """Unsigned decimal integer at ``pos``: (value, end); end == -1 when malformed
    (none, a leading zero, or more than 18 digits)."""
    n = b.shape[0]
    start = pos
    v = 0
    while pos < n and 48 <= b[pos] <= 57:
        v = v * 10 + (b[pos] - 48)
        pos += 1
    nd = pos - start
    if nd == 0 or nd > 18 or (nd > 1 and b[start] == 48):
        return 0, -1
    return v, pos


@borrowing
def _number(b, pos, pow10):
    """Decimal literal ``D+(.D+)?([eE][+-]?D+)?`` at ``pos``.

    Returns ``(value, end, exact)``: ``exact`` is False when the value is not certainly the
    correctly rounded double (more than 15 significant digits, or a large exponent): ``value``
    is then an approximation (nonzero when the literal is) and the caller converts the
    expression again in Python.  ``end`` is -1 for a malformed literal.
    """
    n = b.shape[0]
    start = pos
    m = 0
    sig = 0
    dropped = 0  # integer digits beyond the 18 kept in m
    while pos < n and 48 <= b[pos] <= 57:
        d = b[pos] - 48
        if sig > 0 or d != 0:
            sig += 1
        if sig <= 18:
            m = m * 10 + d
        else:
            dropped += 1
        pos += 1
    nint = pos - start
    if nint == 0:
        return 0.0, -1, False
    is_int = True
    frac = 0
    if pos < n and b[pos] == 46:
        is_int = False
        pos += 1
        fs = pos
        while pos < n and 48 <= b[pos] <= 57:
            d = b[pos] - 48
            if sig > 0 or d != 0:
                sig += 1
            if sig <= 18:
                m = m * 10 + d
                frac += 1
            pos += 1
        if pos == fs:
            return 0.0, -1, False
    if is_int and nint > 1 and b[start] == 48:
        return 0.0, -1, False  # Qiskit refuses leading zeros in integers
    exp = 0
    if pos < n and (b[pos] == 101 or b[pos] == 69):
        pos += 1
        neg = False
        if pos < n and (b[pos] == 43 or b[pos] == 45):
            neg = b[pos] == 45
            pos += 1
        es = pos
        while pos < n and 48 <= b[pos] <= 57:
            if pos - es < 6:
                exp = exp * 10 + (b[pos] - 48)
            pos += 1
        if pos == es or pos - es > 5:
            return 0.0, -1, False
        if neg:
            exp = -exp
    if pos < n and ((97 <= b[pos] <= 122) or (65 <= b[pos] <= 90) or b[pos] == 95
                    or b[pos] == 46):
        return 0.0, -1, False
    e10 = exp - frac + dropped
    if m == 0:
        return 0.0, pos, True
    # Clinger's fast path: m and 10**|e10| exact doubles, one correctly rounded operation
    if sig <= 15 and m <= 9007199254740992:
        if 0 <= e10 <= 22:
            return float(m) * pow10[e10], pos, True
        if -22 <= e10 < 0:
            return float(m) / pow10[-e10], pos, True
    # otherwise an approximation (nonzero, as the literal is), converted again in Python
    return float(m) * 10.0 ** e10, pos, False


@borrowing
def _apply(vals, nv, op):
    """Pop operands for ``op`` (``+ - * /`` or ``n``: negate) and push the result."""
    if op == 110:
        if nv < 1:
            return -1
        vals[nv - 1] = -vals[nv - 1]
        return nv
    if nv < 2:
        return -1
    x = vals[nv - 2]
    y = vals[nv - 1]
    if op == 43:
        r = x + y
    elif op == 45:
        r = x - y
    elif op == 42:
        r = x * y
    else:
        if y == 0.0:
            return -1  # Qiskit refuses a division by zero: let it say so
        r = x / y
    vals[nv - 2] = r
    return nv - 1


@borrowing
def _prec(op):
    if op == 43 or op == 45:
        return 1
    if op == 42 or op == 47:
        return 2
    return 3  # unary minus


@borrowing
def _expr(b, pos, pow10, vals, ops):
    """Constant expression at ``pos`` up to a ``,`` or ``)`` at depth 0.

    Returns ``(value, end, exact)``; ``end`` -1 when the expression is outside the subset (the
    whole file then falls back), ``exact`` False when a literal needs Python's conversion.
    Operators fold left to right with the usual precedence, as Qiskit folds them.
    """
    nv = 0
    no = 0
    depth = 0
    exact = True
    expect = True  # an operand (or a unary minus / an opening parenthesis) comes next
    while True:
        pos = _skip(b, pos)
        if pos < 0 or pos >= b.shape[0]:
            return 0.0, -1, False
        c = b[pos]
        if expect:
            if c == 45:  # unary minus
                ops[no] = 110
                no += 1
                pos += 1
            elif c == 40:
                ops[no] = 40
                no += 1
                depth += 1
                pos += 1
            elif 48 <= c <= 57:
                v, end, ok = _number(b, pos, pow10)
                if end < 0:
                    return 0.0, -1, False
                exact = exact and ok
                vals[nv] = v
                nv += 1
                pos = end
                expect = False
            elif c == 112 and pos + 1 < b.shape[0] and b[pos + 1] == 105 and \
                    _ident_end(b, pos) == pos + 2:
                vals[nv] = np.pi
                nv += 1
                pos += 2
                expect = False
            else:
                return 0.0, -1, False
        else:
            if c == 43 or c == 45 or c == 42 or c == 47:
                p = _prec(c)
                while no > 0 and ops[no - 1] != 40 and _prec(ops[no - 1]) >= p:
                    nv = _apply(vals, nv, ops[no - 1])
                    no -= 1
                    if nv < 0:
                        return 0.0, -1, False
                ops[no] = c
                no += 1
                pos += 1
                expect = True
            elif c == 41 and depth > 0:
                while no > 0 and ops[no - 1] != 40:
                    nv = _apply(vals, nv, ops[no - 1])
                    no -= 1
                    if nv < 0:
                        return 0.0, -1, False
                no -= 1  # the '('
                depth -= 1
                pos += 1
            elif (c == 44 or c == 41) and depth == 0:
                while no > 0:
                    nv = _apply(vals, nv, ops[no - 1])
                    no -= 1
                    if nv < 0:
                        return 0.0, -1, False
                if nv != 1:
                    return 0.0, -1, False
                return vals[0], pos, exact
            else:
                return 0.0, -1, False
        if no >= ops.shape[0] - 1 or nv >= vals.shape[0] - 1:
            return 0.0, -1, False


@njit(cache=True)
def _grow_i(a, need):
    if need <= a.shape[0]:
        return a
    out = np.empty(max(need, 2 * a.shape[0]), dtype=a.dtype)
    out[:a.shape[0]] = a
    return out


@njit(cache=True)
def _grow_f(a, need):
    if need <= a.shape[0]:
        return a
    out = np.empty(max(need, 2 * a.shape[0]), dtype=a.dtype)
    out[:a.shape[0]] = a
    return out


@borrowing
def _find_reg(b, s, e, reg_s, reg_e, nreg):
    for r in range(nreg):
        if _same(b, s, e, reg_s[r], reg_e[r]):
            return r
    return -1


@borrowing
def _bit(b, pos, reg_s, reg_e, reg_size, nreg):
    """``ID [ INT ]`` at ``pos``: (register, index, end); end -1 on anything else."""
    s = pos
    e = _ident_end(b, pos)
    if e == s:
        return -1, -1, -1
    r = _find_reg(b, s, e, reg_s, reg_e, nreg)
    if r < 0:
        return -1, -1, -1
    pos = _skip(b, e)
    if pos < 0 or pos >= b.shape[0] or b[pos] != 91:
        return -1, -1, -1
    pos = _skip(b, pos + 1)
    if pos < 0:
        return -1, -1, -1
    idx, pos = _uint(b, pos)
    if pos < 0:
        return -1, -1, -1
    pos = _skip(b, pos)
    if pos < 0 or pos >= b.shape[0] or b[pos] != 93:
        return -1, -1, -1
    if idx >= reg_size[r]:
        return -1, -1, -1
    return r, idx, pos + 1


@borrowing
def _expect(b, pos, ch):
    """Position after the character ``ch`` following optional blanks, or -1."""
    pos = _skip(b, pos)
    if pos < 0 or pos >= b.shape[0] or b[pos] != ch:
        return -1
    return pos + 1


@njit(cache=True)
def _scan(b, pow10, word_bytes, word_ptr, kind_np, name_bytes, name_ptr, ent_nq, ent_np,
          piece_ptr, piece_kind,
          piece_q, piece_src, piece_const):
    """Read the program; see the module doc.  Returns the status and the flat arrays."""
    n = b.shape[0]
    # most pieces one statement expands to (c4x: over a hundred): the output grows by that
    maxp = 1
    for t in range(piece_ptr.shape[0] - 1):
        maxp = max(maxp, piece_ptr[t + 1] - piece_ptr[t])
    words = [word_bytes[word_ptr[i]:word_ptr[i + 1]] for i in range(word_ptr.shape[0] - 1)]
    cap = 1024
    kind = np.empty(cap, dtype=np.int16)
    # measurements and conditioned operations are few: kept as sparse (op index, value) lists
    ms_at = np.empty(64, dtype=np.int64)
    ms_bit = np.empty(64, dtype=np.int64)
    nms = 0
    cd_at = np.empty(64, dtype=np.int64)
    cd_reg = np.empty(64, dtype=np.int64)
    cd_val = np.empty(64, dtype=np.int64)
    ncd = 0
    qargs = np.empty(2 * cap, dtype=np.int64)
    params = np.empty(cap, dtype=np.float64)
    # parameters to convert in Python: (flat index, expression start, end)
    slow = np.empty(3 * 64, dtype=np.int64)
    nslow = 0
    m = 0
    nqa = 0
    npa = 0
    maxreg = 64
    reg_s = np.empty(maxreg, dtype=np.int64)
    reg_e = np.empty(maxreg, dtype=np.int64)
    reg_size = np.empty(maxreg, dtype=np.int64)
    reg_off = np.empty(maxreg, dtype=np.int64)
    reg_q = np.empty(maxreg, dtype=np.bool_)
    nreg = 0
    nqubits = 0
    nclbits = 0
    vals = np.empty(64, dtype=np.float64)
    ops = np.empty(64, dtype=np.int64)
    sp = np.zeros(_MAXP, dtype=np.float64)
    sexact = np.zeros(_MAXP, dtype=np.bool_)
    sstart = np.zeros(_MAXP, dtype=np.int64)
    send = np.zeros(_MAXP, dtype=np.int64)
    sq = np.zeros(_MAXQ, dtype=np.int64)
    bar_r = np.empty(64, dtype=np.int64)
    bar_i = np.empty(64, dtype=np.int64)
    nregs_out = np.zeros(1, dtype=np.int64)
    fail = (_FAIL, 0, kind[:0], qargs[:0], params[:0], ms_at[:0], ms_bit[:0], cd_at[:0],
            cd_reg[:0], cd_val[:0],
            slow[:0], reg_s[:0], reg_e[:0], reg_size[:0], reg_q[:0], nregs_out)
    # header: OPENQASM 2.0 ; include "qelib1.inc" ;
    pos = _skip(b, 0)
    if pos < 0:
        return fail
    e = _ident_end(b, pos)
    if not _eq(b, pos, e, words[0]):
        return fail
    pos = _skip(b, e)
    if pos < 0 or pos + 3 > n or b[pos] != 50 or b[pos + 1] != 46 or b[pos + 2] != 48:
        return fail
    pos = _expect(b, pos + 3, 59)
    if pos < 0:
        return fail
    pos = _skip(b, pos)
    if pos < 0:
        return fail
    e = _ident_end(b, pos)
    if not _eq(b, pos, e, words[1]):
        return fail
    pos = _skip(b, e)
    if pos < 0 or not _eq(b, pos, min(pos + 12, n), words[2]):
        return fail
    pos = _expect(b, pos + 12, 59)
    if pos < 0:
        return fail
    while True:
        pos = _skip(b, pos)
        if pos < 0:
            return fail
        if pos >= n:
            break
        s = pos
        e = _ident_end(b, pos)
        if e == s:
            return fail
        cond_r = -1
        cond_v = 0
        if _eq(b, s, e, words[3]):  # if ( ID == INT )
            pos = _expect(b, e, 40)
            if pos < 0:
                return fail
            pos = _skip(b, pos)
            if pos < 0:
                return fail
            s2 = pos
            e2 = _ident_end(b, pos)
            cond_r = _find_reg(b, s2, e2, reg_s, reg_e, nreg)
            if cond_r < 0 or reg_q[cond_r]:
                return fail
            pos = _skip(b, e2)
            if pos < 0 or pos + 2 > n or b[pos] != 61 or b[pos + 1] != 61:
                return fail
            pos = _skip(b, pos + 2)
            if pos < 0:
                return fail
            cond_v, pos = _uint(b, pos)
            if pos < 0:
                return fail
            pos = _expect(b, pos, 41)
            if pos < 0:
                return fail
            pos = _skip(b, pos)
            if pos < 0:
                return fail
            s = pos
            e = _ident_end(b, pos)
            if e == s:
                return fail
        if _eq(b, s, e, words[4]) or _eq(b, s, e, words[5]):  # qreg / creg
            if cond_r >= 0 or nreg == maxreg:
                return fail
            quantum = _eq(b, s, e, words[4])
            pos = _skip(b, e)
            if pos < 0 or pos == e:
                return fail
            rs = pos
            re_ = _ident_end(b, pos)
            if re_ == rs or _find_reg(b, rs, re_, reg_s, reg_e, nreg) >= 0:
                return fail
            pos = _expect(b, re_, 91)
            if pos < 0:
                return fail
            pos = _skip(b, pos)
            if pos < 0:
                return fail
            size, pos = _uint(b, pos)
            if pos < 0 or size == 0:
                return fail
            pos = _expect(b, pos, 93)
            if pos < 0:
                return fail
            pos = _expect(b, pos, 59)
            if pos < 0:
                return fail
            reg_s[nreg] = rs
            reg_e[nreg] = re_
            reg_size[nreg] = size
            reg_q[nreg] = quantum
            if quantum:
                reg_off[nreg] = nqubits
                nqubits += size
            else:
                reg_off[nreg] = nclbits
                nclbits += size
            nreg += 1
            continue
        if _eq(b, s, e, words[6]):  # barrier: dropped, arguments checked
            if cond_r >= 0:
                return fail
            pos = e
            nb = 0
            while True:
                pos = _skip(b, pos)
                if pos < 0 or nb == 64:
                    return fail
                as_ = pos
                ae = _ident_end(b, pos)
                r = _find_reg(b, as_, ae, reg_s, reg_e, nreg)
                if r < 0 or not reg_q[r]:
                    return fail
                pos = _skip(b, ae)
                if pos < 0 or pos >= n:
                    return fail
                idx = -1
                if b[pos] == 91:
                    r, idx, pos = _bit(b, as_, reg_s, reg_e, reg_size, nreg)
                    if pos < 0:
                        return fail
                for t in range(nb):
                    if bar_r[t] == r and (bar_i[t] == idx or bar_i[t] < 0 or idx < 0):
                        return fail
                bar_r[nb] = r
                bar_i[nb] = idx
                nb += 1
                pos = _skip(b, pos)
                if pos < 0 or pos >= n:
                    return fail
                if b[pos] == 44:
                    pos += 1
                    continue
                if b[pos] == 59:
                    pos += 1
                    break
                return fail
            continue
        # an operation: grow the output for the worst case of one statement (maxp pieces)
        need = m + maxp
        if need > kind.shape[0]:
            kind = _grow_i(kind, need)
        if ncd + maxp > cd_at.shape[0]:
            cd_at = _grow_i(cd_at, ncd + maxp)
            cd_reg = _grow_i(cd_reg, ncd + maxp)
            cd_val = _grow_i(cd_val, ncd + maxp)
        if nms + 1 > ms_at.shape[0]:
            ms_at = _grow_i(ms_at, nms + 1)
            ms_bit = _grow_i(ms_bit, nms + 1)
        qargs = _grow_i(qargs, nqa + 2 * maxp)
        params = _grow_f(params, npa + _MAXP * maxp)
        if _eq(b, s, e, words[7]) or _eq(b, s, e, words[8]):  # measure / reset
            is_measure = _eq(b, s, e, words[7])
            pos = _skip(b, e)
            if pos < 0 or pos == e:
                return fail
            r, idx, pos = _bit(b, pos, reg_s, reg_e, reg_size, nreg)
            if pos < 0 or not reg_q[r]:
                return fail
            q = reg_off[r] + idx
            cb = -1
            if is_measure:
                pos = _skip(b, pos)
                if pos < 0 or pos + 2 > n or b[pos] != 45 or b[pos + 1] != 62:
                    return fail
                pos = _skip(b, pos + 2)
                if pos < 0:
                    return fail
                r, idx, pos = _bit(b, pos, reg_s, reg_e, reg_size, nreg)
                if pos < 0 or reg_q[r]:
                    return fail
                cb = reg_off[r] + idx
            pos = _expect(b, pos, 59)
            if pos < 0:
                return fail
            kind[m] = KIND_MEASURE if is_measure else KIND_RESET
            if is_measure:
                ms_at[nms] = m
                ms_bit[nms] = cb
                nms += 1
            if cond_r >= 0:
                cd_at[ncd] = m
                cd_reg[ncd] = cond_r
                cd_val[ncd] = cond_v
                ncd += 1
            qargs[nqa] = q
            nqa += 1
            m += 1
            continue
        # a gate of the table
        ent = -1
        for t in range(name_ptr.shape[0] - 1):
            ln = name_ptr[t + 1] - name_ptr[t]
            if ln != e - s:
                continue
            ok = True
            for i in range(ln):
                if b[s + i] != name_bytes[name_ptr[t] + i]:
                    ok = False
                    break
            if ok:
                ent = t
                break
        if ent < 0:
            return fail
        npar = ent_np[ent]
        nq = ent_nq[ent]
        pos = _skip(b, e)
        if pos < 0 or pos >= n:
            return fail
        if b[pos] == 40:
            if npar == 0:
                pos = _skip(b, pos + 1)
                if pos < 0 or pos >= n or b[pos] != 41:
                    return fail
                pos += 1
            else:
                pos += 1
                for j in range(npar):
                    ps = _skip(b, pos)
                    if ps < 0:
                        return fail
                    v, pe, ex = _expr(b, ps, pow10, vals, ops)
                    if pe < 0:
                        return fail
                    sp[j] = v
                    sexact[j] = ex
                    sstart[j] = ps
                    send[j] = pe
                    sep = 44 if j < npar - 1 else 41
                    if b[pe] != sep:
                        return fail
                    pos = pe + 1
        elif npar > 0:
            return fail
        for j in range(nq):
            pos = _skip(b, pos)
            if pos < 0:
                return fail
            r, idx, pos = _bit(b, pos, reg_s, reg_e, reg_size, nreg)
            if pos < 0 or not reg_q[r]:
                return fail
            q = reg_off[r] + idx
            for t in range(j):
                if sq[t] == q:
                    return fail
            sq[j] = q
            sep = 44 if j < nq - 1 else 59
            pos = _expect(b, pos, sep)
            if pos < 0:
                return fail
        for pc in range(piece_ptr[ent], piece_ptr[ent + 1]):
            k = piece_kind[pc]
            kind[m] = k
            if cond_r >= 0:
                cd_at[ncd] = m
                cd_reg[ncd] = cond_r
                cd_val[ncd] = cond_v
                ncd += 1
            for j in range(2):
                if piece_q[pc, j] >= 0:
                    qargs[nqa] = sq[piece_q[pc, j]]
                    nqa += 1
            for j in range(_MAXP):
                src = piece_src[pc, j]
                if src >= 0:
                    params[npa] = sp[src]
                    if not sexact[src]:
                        if 3 * nslow + 3 > slow.shape[0]:
                            slow = _grow_i(slow, 6 * nslow + 6)
                        slow[3 * nslow] = npa
                        slow[3 * nslow + 1] = sstart[src]
                        slow[3 * nslow + 2] = send[src]
                        nslow += 1
                    npa += 1
                elif j < kind_np[k]:
                    params[npa] = piece_const[pc, j]
                    npa += 1
            m += 1
    nregs_out[0] = nreg
    return (_OK, 0, kind[:m], qargs[:nqa], params[:npa], ms_at[:nms], ms_bit[:nms],
            cd_at[:ncd], cd_reg[:ncd], cd_val[:ncd], slow[:3 * nslow], reg_s[:nreg], reg_e[:nreg],
            reg_size[:nreg], reg_q[:nreg], nregs_out)


# ------------------------------------------------------------------------- Python reference

def eval_expr(src: str) -> float:
    """Fold a constant expression of the subset as the kernel (and Qiskit) does.

    Numbers are converted with ``float`` (correctly rounded), ``pi`` is ``math.pi``, and
    ``+ - * /`` fold left to right with the usual precedence, unary minus binding tightest.
    Raises ValueError outside the subset.  The plain-Python reference of the kernel's
    :func:`_expr`, used for literals the kernel cannot convert exactly.
    """
    import re

    tokens = re.findall(r"\s*(?:(\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)|(pi)\b|([-+*/()]))", src)
    if "".join("".join(t) for t in tokens) != "".join(src.split()):
        raise ValueError(f"not a constant expression of the subset: {src!r}")
    vals: list[float] = []
    ops: list[str] = []
    prec = {"+": 1, "-": 1, "*": 2, "/": 2, "n": 3}

    def apply(op):
        if op == "n":
            vals[-1] = -vals[-1]
            return
        y = vals.pop()
        x = vals.pop()
        if op == "/" and y == 0.0:
            raise ValueError("division by zero")
        vals.append(x + y if op == "+" else x - y if op == "-" else x * y if op == "*"
                    else x / y)

    expect = True
    for num, pi, sym in tokens:
        if expect:
            if sym == "-":
                ops.append("n")
            elif sym == "(":
                ops.append("(")
            elif num:
                vals.append(float(num))
                expect = False
            elif pi:
                vals.append(math.pi)
                expect = False
            else:
                raise ValueError(f"unexpected {sym!r}")
        elif sym in prec:
            while ops and ops[-1] != "(" and prec[ops[-1]] >= prec[sym]:
                apply(ops.pop())
            ops.append(sym)
            expect = True
        elif sym == ")":
            while ops and ops[-1] != "(":
                apply(ops.pop())
            if not ops:
                raise ValueError("unbalanced parenthesis")
            ops.pop()
        else:
            raise ValueError(f"unexpected {num or pi or sym!r}")
    while ops:
        op = ops.pop()
        if op == "(":
            raise ValueError("unbalanced parenthesis")
        apply(op)
    if len(vals) != 1 or expect:
        raise ValueError(f"malformed expression {src!r}")
    return vals[0]


# ------------------------------------------------------------------------------ entry point

_WORDS = ("OPENQASM", "include", '"qelib1.inc"', "if", "qreg", "creg", "barrier", "measure",
          "reset")
_WORD_BYTES = np.frombuffer("".join(_WORDS).encode(), dtype=np.uint8).copy()
_WORD_PTR = np.cumsum([0] + [len(w) for w in _WORDS]).astype(np.int64)


def read_qasm2(text: str, name: str, include_path=None) -> Circuit | None:
    """Read an OpenQASM 2 program of the common subset into the IR, or None to fall back.

    Parameters
    ----------
    text : str
        The program.
    name : str
        Name stored in the IR (file name), as the Qiskit path stores it.
    include_path : sequence of str, optional
        Directories searched for includes; a ``qelib1.inc`` in one of them replaces Qiskit's
        own (Qiskit reads it), so the subset does not apply.

    Returns
    -------
    Circuit or None
        The circuit, already through :func:`araqne.canonical.canonical_single_qubit` and
        validated exactly as :func:`araqne.frontend.load_qasm` would return it; None when the
        program is outside the subset or anything about it is doubtful.
    """
    if "OPENQASM" not in text[:4096] or "qelib1.inc" not in text[:8192]:
        return None
    for d in include_path or ():
        if os.path.exists(os.path.join(str(d), "qelib1.inc")):
            return None
    try:
        raw = text.encode("ascii")
    except UnicodeEncodeError:
        return None  # non-ASCII text (even in comments): let the full parser judge
    b = np.frombuffer(raw, dtype=np.uint8)
    table = _table(any(name in text for name in _TEMPLATED))
    (status, _, kind, qargs, params, ms_at, ms_bit, cd_at, cd_reg, cd_val, slow, reg_s, reg_e,
     reg_size, reg_q, _) = _scan(b, _POW10, _WORD_BYTES, _WORD_PTR, KIND_NP, *table)
    del b, raw
    if status != _OK:
        return None
    # exact-size copies: the kernel's buffers grew by doubling
    kind, qargs, params = kind.copy(), qargs.copy(), params.copy()
    # registers: names must be valid, not reserved
    qregs, cregs, coff = [], [], []
    off_c = 0
    for s, e, size, quantum in zip(reg_s.tolist(), reg_e.tolist(), reg_size.tolist(),
                                   reg_q.tolist()):
        rname = text[s:e]
        if rname in _RESERVED or not rname[0].islower():
            return None
        if quantum:
            qregs.append((rname, int(size)))
            coff.append(-1)
        else:
            cregs.append((rname, int(size)))
            coff.append(off_c)
            off_c += int(size)
    nq = sum(s for _, s in qregs)
    nc = sum(s for _, s in cregs)
    if nq == 0:
        return None
    # parameters the kernel could not convert exactly
    if slow.size:
        sl = slow.reshape(-1, 3)
        try:
            for i, s, e in sl.tolist():
                params[i] = eval_expr(text[s:e])
        except ValueError:
            return None
    if not np.all(np.isfinite(params)):
        return None
    m = kind.shape[0]
    qptr = np.zeros(m + 1, dtype=np.int64)
    np.cumsum(KIND_NQ[kind], out=qptr[1:])
    pptr = np.zeros(m + 1, dtype=np.int64)
    np.cumsum(KIND_NP[kind], out=pptr[1:])
    # conditions, numbered in order of first use
    cond = np.full(m, -1, dtype=np.int64)
    conditions: list[Condition] = []
    clbit = np.full(m, -1, dtype=np.int64)
    clbit[ms_at] = ms_bit
    at = cd_at
    if at.size:
        regs_size = reg_size.tolist()
        pairs = np.stack([cd_reg, cd_val], axis=1)
        uniq, first, inv = np.unique(pairs, axis=0, return_index=True, return_inverse=True)
        order = np.argsort(first, kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(order.shape[0])
        cond[at] = rank[inv.reshape(-1)]
        coffs = coff
        for r, v in uniq[order].tolist():
            base = coffs[r]
            conditions.append(Condition(tuple(range(base, base + regs_size[r])), int(v), False))
    circ = Circuit(num_qubits=nq, num_clbits=nc, kind=kind, qptr=qptr, qargs=qargs, pptr=pptr,
                   params=params, clbit=clbit, cond=cond, conditions=conditions, qregs=qregs,
                   cregs=cregs, name=name)
    try:
        circ = canonical_single_qubit(circ)
    except OverflowError:
        return None
    if not np.all(np.isfinite(circ.params)):
        return None
    try:
        circ.validate()
    except ValueError:
        return None
    return circ
