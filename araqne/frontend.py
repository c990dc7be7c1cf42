"""Frontend: OpenQASM 2, OpenQASM 3 and Qiskit circuits -> the flat array IR.

Public functions
----------------
:func:`load`
    Anything (path, QASM text, ``QuantumCircuit``) -> :class:`araqne.ir.Circuit`.
:func:`load_qasm`
    QASM 2 or 3 program text -> IR.
:func:`from_qiskit`
    ``QuantumCircuit`` -> IR.
:func:`to_qiskit`
    IR -> ``QuantumCircuit`` (the inverse, for verification and tests).

Conversion rules
----------------
* Gates of :data:`araqne.ir.GATES` map to their kind (Qiskit aliases too: ``u1`` -> ``p``,
  ``u3`` -> ``u``, ``u2(φ,λ)`` -> ``u(π/2,φ,λ)``, ``cu1`` -> ``cp``, ``cu3`` -> ``cu`` with
  γ = 0).
  A gate that is not a Qiskit standard gate but carries a table name (a QASM 3 file defining its own
  ``rzz``, which ``stdgates.inc`` lacks) keeps that kind when its matrix equals the table gate's up
  to global phase.  Everything else is decomposed through ``op.definition`` until every piece is in
  the table; global phase is dropped.  Expansions are cached per (gate, params, arity).
* ``barrier`` and ``delay`` are dropped, as are gates on no qubit.  ``measure`` keeps its classical
  bit, ``reset`` is kept.
* ``if`` on a bit or register compared with an integer is flattened: the true body gets the
  condition, the false body the negated condition.  ``for`` loops over a literal range are unrolled;
  ``box`` scopes are flattened.  Nested ``if``, ``while``, ``switch``, ``break``/``continue`` and
  expression conditions raise :class:`~araqne.errors.InputError`.
* OpenQASM 3 ``const`` numbers, subroutines without a return value and loops whose variable
  indexes qubits or bits are rewritten by :mod:`araqne.qasm3_expand` before Qiskit's importer,
  which refuses them.

Every failure is an :class:`~araqne.errors.InputError` with one line
``<file>:<line>:<col>: <message>`` (line and column 1-based) where the location is known,
``<file>: <message>`` otherwise.

QASM version: the ``OPENQASM 2`` / ``OPENQASM 3`` header decides (it may follow comments).  A
program without a header is read as OpenQASM 2 when it includes ``qelib1.inc``, as OpenQASM 3
otherwise.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import pathlib
import re
import sys

import numpy as np

from .canonical import canonical_single_qubit
from .errors import InputError
from .ir import GATES, KIND, KIND_MEASURE, KIND_NP, KIND_NQ, KIND_RESET, Circuit, Condition

__all__ = ["load", "load_qasm", "from_qiskit", "to_qiskit", "MAX_QUBITS"]

#: Largest number of qubits (or classical bits) a QASM program may declare, checked before parsing.
MAX_QUBITS = 10_000_000

#: Largest number of operations ``for`` loops may unroll to (in all), checked from the loop
#: sizes before any is unrolled.  Unrolling costs about 6 us per operation (25 us when the
#: body reads the loop variable), so this bounds a load to about a minute.
MAX_UNROLLED_OPS = 10_000_000

# Qiskit standard-gate names whose parameters map one to one onto a table kind.
_FAST: dict[str, int] = {
    g.name: i for i, g in enumerate(GATES) if g.name not in ("measure", "reset")
}
_FAST.update({"u1": KIND["p"], "u3": KIND["u"], "cu1": KIND["cp"]})
_KIND_U = KIND["u"]
_KIND_CU = KIND["cu"]

_IGNORED = frozenset(("barrier", "delay"))
_CONTROL_FLOW = {
    "if_else": "if",
    "for_loop": "for",
    "while_loop": "while",
    "switch_case": "switch",
    "break_loop": "break",
    "continue_loop": "continue",
    "box": "box",
}


class _ConvError(Exception):
    """Internal: a conversion failure, with a word to locate in QASM source (``hint``)."""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint


def _fmt(name: str, message: str, line: int | None = None, col: int | None = None) -> str:
    message = " ".join(str(message).split())  # one line
    if line is not None and col is not None:
        return f"{name}:{line}:{col}: {message}"
    if line is not None:
        return f"{name}:{line}: {message}"
    return f"{name}: {message}"


# ---------------------------------------------------------------------------------------------
# entry points
# ---------------------------------------------------------------------------------------------


def load(source, name: str | None = None) -> Circuit:
    """Load a circuit from a path, QASM program text or a Qiskit ``QuantumCircuit``.

    Parameters
    ----------
    source : str, pathlib.Path, bytes or qiskit.QuantumCircuit
        A ``str`` holding ``OPENQASM`` or a newline is program text; any other ``str`` (and any
        ``os.PathLike``) is a path to a ``.qasm`` file.  ``bytes`` are UTF-8 program text.
    name : str, optional
        Name used in messages and stored in the IR (default: the path, ``"<string>"`` or the
        circuit's name).

    Raises
    ------
    InputError
        For any problem with the input: missing, empty or binary file, syntax errors,
        unsupported constructs, unbound parameters, oversized registers.
    """
    from qiskit import QuantumCircuit

    if isinstance(source, QuantumCircuit):
        return from_qiskit(source, name=name if name is not None else (source.name or "circuit"))
    if isinstance(source, (bytes, bytearray)):
        label = name or "<string>"
        return load_qasm(_decode(bytes(source), label), label)
    if isinstance(source, str) and ("OPENQASM" in source or "\n" in source):
        return load_qasm(source, name or "<string>")
    if isinstance(source, (str, os.PathLike)):
        path = pathlib.Path(source)
        label = name or str(source)
        text = _read_file(path, label)
        return load_qasm(text, label, include_path=(str(path.resolve().parent),))
    raise InputError(
        _fmt(name or "<input>", f"cannot load a circuit from a {type(source).__name__}; "
             "give a path, QASM text or a qiskit.QuantumCircuit")
    )


def _read_file(path: pathlib.Path, label: str) -> str:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(_fmt(label, "no such file")) from None
    except IsADirectoryError:
        raise InputError(_fmt(label, "is a directory, not a QASM file")) from None
    except OSError as exc:
        if path.is_dir():
            raise InputError(_fmt(label, "is a directory, not a QASM file")) from None
        raise InputError(_fmt(label, f"cannot read: {exc.strerror or exc}")) from None
    return _decode(data, label)


def _decode(data: bytes, label: str) -> str:
    if b"\x00" in data:
        raise InputError(_fmt(label, "binary file (NUL bytes), not a QASM program"))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(_fmt(label, "not UTF-8 text, not a QASM program", line)) from None
    return text


_HEADER = re.compile(r"OPENQASM\s+([0-9]+)(?:\.([0-9]+))?\s*;")
_QELIB = re.compile(r'include\s+"qelib1\.inc"\s*;')


def _qasm_version(text: str, name: str) -> int:
    """2 or 3, from the header after leading whitespace and comments; see the module doc."""
    pos, n = 0, len(text)
    while pos < n:
        c = text[pos]
        if c.isspace():
            pos += 1
        elif text.startswith("//", pos):
            nl = text.find("\n", pos)
            pos = n if nl < 0 else nl + 1
        elif text.startswith("/*", pos):
            end = text.find("*/", pos + 2)
            pos = n if end < 0 else end + 2
        else:
            break
    m = _HEADER.match(text, pos)
    if m:
        version = int(m.group(1))
        if version not in (2, 3):
            line, col = _linecol(text, pos)
            got = m.group(0)[len("OPENQASM"):].strip(" ;")
            raise InputError(_fmt(name, f"unsupported OpenQASM version {got}", line, col))
        return version
    return 2 if _QELIB.search(text) else 3


def _linecol(text: str, pos: int) -> tuple[int, int]:
    line = text.count("\n", 0, pos) + 1
    col = pos - (text.rfind("\n", 0, pos) + 1) + 1
    return line, col


#: Deepest nesting of parentheses an OpenQASM 3 program may have.  The OpenQASM 3 parser
#: (ANTLR) takes time quadratic in it (441 levels: about 18 s); hand-written and generated
#: programs stay far below.
MAX_NESTING = 64

# What the lexers skip, so that a declaration inside it is not one and a declaration after it
# is.  OpenQASM 2 (Qiskit's lexer): strings and ``//`` comments.  OpenQASM 3 (ANTLR grammar):
# strings in either quote, ``//`` and ``/* */`` comments, and the rest of the line after
# ``pragma`` / ``#pragma`` or an annotation ``@name``, which the lexer takes as raw text.  An
# unterminated block comment runs to the end (the parser then fails anyway).  Only the places
# where one may start are searched for (a regex tried at every position of a 20 MB program
# costs seconds); what starts there is read in Python.
_SKIP_START2 = ('"', "//")
_SKIP_START3 = ('"', "'", "#", "@", "//", "/*", "pragma")
_STRING2 = re.compile(r'"[^"\n]*"')
_STRING3 = re.compile(r'"[^"\r\t\n]+"|\'[^\'\r\t\n]+\'')
_NOT_NEWLINE = re.compile(r"[^\n]")


def _is_word_char(c: str) -> bool:
    return c.isalnum() or c in "_$"


def _skipped_spans(text: str, version: int) -> list[tuple[int, int]]:
    """``(start, end)`` of every string, comment, pragma and annotation of ``text``, in order
    (see the comment above)."""
    starts = _SKIP_START2 if version == 2 else _SKIP_START3
    string = _STRING2 if version == 2 else _STRING3
    find = text.find
    nxt = {tok: find(tok) for tok in starts}  # next occurrence of each, -1 when none is left
    spans = []
    n = len(text)

    def line_end(i: int) -> int:
        nl = find("\n", i)
        return n if nl < 0 else nl

    while True:
        s, tok = n, None
        for t, p in nxt.items():
            if 0 <= p < s:
                s, tok = p, t
        if tok is None:
            return spans
        end = None
        if tok == "/*":
            close = find("*/", s + 2)
            end = n if close < 0 else close + 2
        elif tok == "//":
            end = line_end(s)
        elif tok in ("\"", "'"):
            sm = string.match(text, s)
            end = sm.end() if sm is not None else None
        elif tok == "@":  # an annotation '@' identifier; a lone '@' is the modifier operator
            if s + 1 < n and (text[s + 1].isalpha() or text[s + 1] == "_"):
                end = line_end(s)
        else:  # '#'? 'pragma', a whole word
            word = s + 1 if tok == "#" else s
            if (text.startswith("pragma", word)
                    and (word + 6 == n or not _is_word_char(text[word + 6]))
                    and (tok == "#" or s == 0 or not (_is_word_char(text[s - 1])
                                                      or text[s - 1] == "#"))):
                end = line_end(s)
        if end is None:  # not one after all: a lone quote, '#', '@' or part of a word
            pos = s + 1
        else:
            spans.append((s, end))
            pos = end
        for t, p in nxt.items():
            if 0 <= p < pos:
                nxt[t] = find(t, pos)


def _code_only(text: str, version: int) -> str:
    """``text`` with comments, strings, pragmas and annotations blanked (newlines kept), so
    that positions, lines and columns stay those of ``text``."""
    spans = _skipped_spans(text, version)
    if not spans:
        return text
    parts, pos = [], 0
    for s, e in spans:
        parts.append(text[pos:s])
        piece = text[s:e]
        parts.append(_NOT_NEWLINE.sub(" ", piece) if "\n" in piece else " " * (e - s))
        pos = e
    parts.append(text[pos:])
    return "".join(parts)


class _TooLarge(Exception):
    """An integer expression whose value leaves the 64-bit range."""


class _TooDeep(Exception):
    """An integer expression nested too deeply to read (hundreds of parentheses)."""


_EXPR_TOKEN = re.compile(
    r"\s+|(0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+)(?![\w.])|(\d[\d_]*)(?![\w.])"
    r"|([^\W\d]\w*)|(\*\*|<<|>>|[-+*/%&|^~()])")
_BINARY = {"|": 1, "^": 2, "&": 3, "<<": 4, ">>": 4, "+": 5, "-": 5, "*": 6, "/": 6, "%": 6,
           "**": 8}
_INT_BOUND = 1 << 64


def _int_expr(expr: str, consts: dict):
    """Value of a constant integer expression, or None when it is not one this reads.

    Reads integer literals (decimal, ``0x``, ``0o``, ``0b``, ``_`` separators), names in
    ``consts``, parentheses, unary ``- + ~`` and binary ``** * / % + - << >> & ^ |`` with
    OpenQASM 3 precedence -- a superset of what the OpenQASM 3 importer evaluates in a
    designator, so that an expression this cannot read is one the parser refuses too.

    Raises
    ------
    _TooLarge
        A value (or an intermediate one) outside +-2**64; nothing larger is computed.
    _TooDeep
        Parentheses or ``**`` nested beyond Python's recursion limit.  Unary operators are
        read in a loop, so a chain of thousands of them is read.
    """
    toks = []
    pos, n = 0, len(expr)
    while pos < n:
        m = _EXPR_TOKEN.match(expr, pos)
        if m is None:
            return None
        pos = m.end()
        if m.group(1) or m.group(2):
            literal = (m.group(1) or m.group(2)).replace("_", "")
            try:
                toks.append(int(literal, 0) if m.group(1) else int(literal))
            except ValueError:  # '0x_' and the like
                return None
        elif m.group(3):
            value = consts.get(m.group(3))
            if value is None:
                return None
            if value is _TooLarge or value is _TooDeep:
                raise value
            toks.append(value)
        elif m.group(4):
            toks.append(m.group(4))
    if not toks:
        return None
    at = [0]

    def check(v: int) -> int:
        if abs(v) > _INT_BOUND:
            raise _TooLarge
        return v

    def atom():
        if at[0] >= len(toks):
            return None
        t = toks[at[0]]
        at[0] += 1
        if isinstance(t, int):
            return check(t)
        if t == "(":
            v = binary(0)
            if v is None or at[0] >= len(toks) or toks[at[0]] != ")":
                return None
            at[0] += 1
            return v
        return None

    def power():  # binds tighter than unary minus, right-associative: -2**2 == -(2**2)
        base = atom()
        if base is None or at[0] >= len(toks) or toks[at[0]] != "**":
            return base
        at[0] += 1
        exp = unary()
        if exp is None or exp < 0:
            return None
        if abs(base) >= 2 and exp > 64:
            raise _TooLarge
        return check(base ** exp)

    def unary():
        ops = []
        while at[0] < len(toks) and toks[at[0]] in ("-", "+", "~"):
            ops.append(toks[at[0]])
            at[0] += 1
        v = power()
        for t in reversed(ops):
            if v is None:
                return None
            v = -v if t == "-" else (v if t == "+" else ~v)
        return v

    def binary(level: int):
        left = unary()
        while left is not None and at[0] < len(toks):
            op = toks[at[0]]
            prec = _BINARY.get(op) if isinstance(op, str) else None
            if prec is None or prec == 8 or prec <= level:
                break
            at[0] += 1
            right = binary(prec)
            if right is None:
                return None
            if op in ("/", "%") and right == 0:
                return None
            if op in ("<<", ">>"):
                if right < 0:
                    return None
                if op == "<<" and left != 0 and right > 64:
                    raise _TooLarge
            left = check({"|": lambda a, b: a | b, "^": lambda a, b: a ^ b,
                          "&": lambda a, b: a & b, "<<": lambda a, b: a << b,
                          ">>": lambda a, b: a >> b, "+": lambda a, b: a + b,
                          "-": lambda a, b: a - b, "*": lambda a, b: a * b,
                          "/": lambda a, b: a // b if a * b >= 0 else -(abs(a) // abs(b)),
                          "%": lambda a, b: a % b}[op](left, right))
        return left

    try:
        value = binary(0)
    except RecursionError:
        raise _TooDeep from None
    if value is None or at[0] != len(toks):
        return None
    return value


_WORD = r"[^\W\d][\w$]*"
_DECL_REG = re.compile(r"(qreg|creg)\s+(" + _WORD + r")\s*\[")
_DECL_TYPED = re.compile(r"(qubit|bit)\s*\[")
_DECL_CONST = re.compile(r"const\s+u?int\s*(?:\[[^\];]*\])?\s*(" + _WORD
                         + r")\s*=\s*([^;]*);")
_AFTER_TYPE = re.compile(r"\s*(" + _WORD + ")")


_BRACKETS = re.compile(r"[\[\];{}]")


def _bracket(code: str, open_pos: int) -> int | None:
    """Index of the ``]`` closing the ``[`` at ``open_pos``, or None when a ``;``, ``{`` or
    ``}`` (or the end) comes first."""
    depth = 0
    for m in _BRACKETS.finditer(code, open_pos):
        c = m.group()
        if c == "[":
            depth += 1
        elif c == "]":
            depth -= 1
            if depth == 0:
                return m.start()
        else:
            return None
    return None


def _declarations(code: str, version: int):
    """``(start, quantum, register name, size expression, value)`` of every sized register
    declaration of ``code`` (comments already blanked), in program order.

    ``value`` is the size as an int, None when the expression is not a constant integer this
    reads (the parser then refuses it), or :class:`_TooLarge`.  OpenQASM 3 ``const`` integers
    are known from their declaration on.  Keywords are found with ``str.find`` (a regex
    scanning every position of a 20 MB file costs over a second) and matched only there.
    """
    keywords = ("qreg", "creg") if version == 2 else ("qreg", "creg", "qubit", "bit", "const")
    hits = []
    for kw in keywords:
        pos = code.find(kw)
        while pos >= 0:
            if pos == 0 or not (code[pos - 1].isalnum() or code[pos - 1] in "_$"):
                hits.append((pos, kw))
            pos = code.find(kw, pos + len(kw))
    hits.sort()
    consts: dict = {}
    found = []
    for pos, kw in hits:
        if kw == "const":
            m = _DECL_CONST.match(code, pos)
            if m:
                try:
                    value = _int_expr(m.group(2), consts)
                except (_TooLarge, _TooDeep) as exc:
                    value = type(exc)  # kept: a register sized by it is refused the same way
                if value is None:
                    consts.pop(m.group(1), None)
                else:
                    consts[m.group(1)] = value
            continue
        if kw in ("qreg", "creg"):
            m = _DECL_REG.match(code, pos)
            if not m:
                continue
            reg, open_pos = m.group(2), m.end() - 1
            close = _bracket(code, open_pos)
        else:
            m = _DECL_TYPED.match(code, pos)
            if not m:
                continue
            open_pos = m.end() - 1
            close = _bracket(code, open_pos)
            after = _AFTER_TYPE.match(code, close + 1) if close is not None else None
            if after is None:
                continue  # a cast ``bit[8](x)`` or a type in a parameter list, not a register
            reg = after.group(1)
        if close is None:
            continue
        expr = code[open_pos + 1:close]
        try:
            value = _int_expr(expr, consts)
        except (_TooLarge, _TooDeep) as exc:
            value = type(exc)
        found.append((pos, kw in ("qreg", "qubit"), reg, " ".join(expr.split()), value))
    return found


_FOR_RANGE = re.compile(r"for\s+(?:u?int\s*(?:\[[^\];]*\])?\s+)?" + _WORD + r"\s+in\s*\[")


def _for_ranges(code: str):
    """``(start, number of values)`` of every OpenQASM 3 ``for`` loop over a range ``[a:b]`` or
    ``[a:step:b]`` (end included) whose bounds are constant integers (the number is
    :class:`_TooLarge` for bounds beyond 2**64), found as in
    :func:`_declarations`.  Qiskit lists a range longer than ``sys.maxsize`` as it reads it
    (hours), so loop sizes are checked before parsing."""
    out = []
    pos = code.find("for")
    while pos >= 0:
        if pos == 0 or not (code[pos - 1].isalnum() or code[pos - 1] in "_$"):
            m = _FOR_RANGE.match(code, pos)
            close = _bracket(code, m.end() - 1) if m else None
            if close is not None:
                parts = code[m.end():close].split(":")
                try:
                    bounds = [_int_expr(p, {}) for p in parts]
                except (_TooLarge, _TooDeep) as exc:
                    bounds = None
                    out.append((pos, type(exc)))
                if bounds is not None and len(bounds) in (2, 3) and None not in bounds:
                    first, last = bounds[0], bounds[-1]
                    step = bounds[1] if len(bounds) == 3 else 1
                    if step != 0:
                        out.append((pos, max(0, (last - first) // step + 1)))
        pos = code.find("for", pos + 3)
    return out


_SCALAR_QUBIT = re.compile(r"(?<![\w$])(?:qubit\s+" + _WORD + r"|qreg\s+" + _WORD
                           + r")\s*;")


def declared_qubits(text: str, version: int = 3) -> int | None:
    """Qubits an OpenQASM program declares, read without parsing it (comments and strings
    skipped, sizes in any literal form, constant expressions and ``const`` integers), or None
    when a size is too large to compute (beyond 2**64).

    A size that is not a constant integer is not counted (the parser refuses it).  Used to
    refuse a program too large to simulate before parsing it.
    """
    code = _code_only(text, version)
    total = len(_SCALAR_QUBIT.findall(code)) if version != 2 else 0
    for _, quantum, _, _, value in _declarations(code, version):
        if not quantum:
            continue
        if value is _TooLarge or value is _TooDeep:
            return None
        if isinstance(value, int) and value > 0:
            total += value
    return total


_HUGE_INT = re.compile(r"(?<![\w.])\d{20,}(?![\w.])")


def _huge_integer(text: str):
    """The first match of :data:`_HUGE_INT` in ``text``, or None.

    On a long text the runs of 20 digits or more are found with numpy first (the regex alone
    costs half a second on 20 MB) and the regex only searches from the first of them.
    """
    if len(text) < 200_000:
        return _HUGE_INT.search(text)
    raw = text.encode("utf-8", "surrogatepass")
    data = np.frombuffer(raw, dtype=np.uint8)
    digit = ((data >= 48) & (data <= 57)).view(np.int8)
    edges = np.diff(digit, prepend=np.int8(0), append=np.int8(0))
    starts = np.flatnonzero(edges == 1)
    lengths = np.flatnonzero(edges == -1) - starts
    long_runs = starts[lengths >= 20]
    if not long_runs.size:
        return None
    first = len(raw[:int(long_runs[0])].decode("utf-8", "surrogatepass"))
    return _HUGE_INT.search(text, first)


def _max_nesting(code: str) -> tuple[int, int]:
    """Deepest nesting of parentheses in ``code`` and the character position where it is
    first reached (-1 when there are at most :data:`MAX_NESTING` parentheses).

    An unmatched ``)`` does not go below zero.  Counted with numpy over the parenthesis
    positions only: a 20 MB program costs tens of milliseconds.
    """
    if code.count("(") <= MAX_NESTING:
        return 0, -1
    raw = code.encode("utf-8", "surrogatepass")
    data = np.frombuffer(raw, dtype=np.uint8)
    where = np.flatnonzero((data == 40) | (data == 41))  # '(' and ')'; never inside a
    step = np.where(data[where] == 40, 1, -1).astype(np.int64)  # multi-byte character
    depth = np.cumsum(step)
    depth -= np.minimum(np.minimum.accumulate(depth), 0)  # an extra ')' resets to zero
    i = int(np.argmax(depth))
    best = int(depth[i])
    if best <= MAX_NESTING:
        return best, -1
    return best, len(raw[:int(where[i])].decode("utf-8", "surrogatepass"))


def _prescan(text: str, name: str, version: int | None = None) -> None:
    """Refuse, before any parser sees the program, what would make it hang or exhaust memory.

    * Register declarations above :data:`MAX_QUBITS` qubits (or classical bits), alone or in
      total, however the size is written: decimal, hex, octal or binary literals, ``_``
      separators, constant expressions and ``const`` integers, with comments anywhere --
      Qiskit would allocate them for minutes.
    * Integers of 20 digits or more (Qiskit's OpenQASM 2 lexer panics on them).
    * OpenQASM 3 only: parentheses nested deeper than :data:`MAX_NESTING` (the parser takes
      time quadratic in the depth), and a ``for`` loop over a constant range of more than
      :data:`MAX_UNROLLED_OPS` values (Qiskit lists a range longer than ``sys.maxsize`` as it
      reads it; shorter ones are sized with their body before unrolling, in the conversion).

    Every refusal is an :class:`InputError` ``name:line:col: message``.
    """
    if version is None:
        version = _qasm_version(text, name)
    code = _code_only(text, version)
    huge = _huge_integer(code)  # in code only: a comment may hold any digits
    if huge is not None:
        line, col = _linecol(text, huge.start())
        digits = huge.group()
        shown = digits if len(digits) <= 24 else digits[:24] + "..."
        raise InputError(_fmt(name, f"integer {shown} is too large", line, col))
    if version != 2:
        depth, at = _max_nesting(code)
        if depth > MAX_NESTING:
            line, col = _linecol(text, at)
            raise InputError(_fmt(name, f"expression nests {depth} parentheses deep, more than "
                                        f"the limit of {MAX_NESTING}", line, col))
        for start, count in _for_ranges(code):
            line, col = _linecol(text, start)
            if count is _TooDeep:
                raise InputError(_fmt(name, "'for' range nests too deeply to read", line, col))
            if count is _TooLarge or count > MAX_UNROLLED_OPS:
                shown = "a range of more than 2**64" if count is _TooLarge else str(count)
                raise InputError(_fmt(name, f"'for' loop over {shown} values unrolls to more "
                                            f"than {MAX_UNROLLED_OPS} operations", line, col))
    totals = {"q": 0, "c": 0}
    for start, quantum, reg, expr, value in _declarations(code, version):
        if value is None or (isinstance(value, int) and value < 0):
            continue  # not a constant integer: the parser refuses it with its own message
        what = "qubits" if quantum else "classical bits"
        shown = expr if len(expr) <= 40 else expr[:40] + "..."
        if value is _TooLarge:
            line, col = _linecol(text, start)
            raise InputError(_fmt(name, f"register '{reg}' of {shown} {what} exceeds the limit "
                                        f"of {MAX_QUBITS}", line, col))
        if value is _TooDeep:
            line, col = _linecol(text, start)
            raise InputError(_fmt(name, f"register '{reg}': its size nests too deeply to read",
                                  line, col))
        key = "q" if quantum else "c"
        totals[key] += value
        if totals[key] > MAX_QUBITS:
            line, col = _linecol(text, start)
            size = str(value) if expr == str(value) else f"{value} ({shown})"
            if value > MAX_QUBITS:
                msg = f"register '{reg}' of {size} {what} exceeds the limit of {MAX_QUBITS}"
            else:
                msg = f"register '{reg}' brings the total to {totals[key]} {what}, " \
                      f"above the limit of {MAX_QUBITS}"
            raise InputError(_fmt(name, msg, line, col))


FAST_READER_MIN_CHARS = 1_000_000
"""Smallest OpenQASM 2 text (characters, about 50,000 gates) read by the fast reader; Qiskit
parses smaller ones in well under a second."""


def load_qasm(text: str, name: str = "<string>", include_path=None) -> Circuit:
    """Parse an OpenQASM 2 or 3 program and convert it to the IR.

    QASM 2 of the common subset, from :data:`FAST_READER_MIN_CHARS` characters on, is read
    straight into arrays by :func:`araqne.qasm2_reader.read_qasm2` (same IR, much faster; its
    numba kernels compile once per install, about 20 s, which a small file would not repay);
    any other QASM 2 goes
    through ``qiskit.qasm2.loads`` with the legacy custom instructions (``rzz``,
    ``rxx``, ``cu``, ``cp``, ...); QASM 3 through ``qiskit_qasm3_import`` (the importer behind
    ``qiskit.qasm3.loads``), after :mod:`araqne.qasm3_expand`.  ``include_path`` (QASM 2 only) lists directories searched for
    ``include`` files; :func:`load` passes the file's directory.
    """
    if not isinstance(text, str):
        raise InputError(_fmt(name, "QASM program must be text"))
    if not text.strip():
        raise InputError(_fmt(name, "empty file" if name != "<string>" else "empty program"))
    version = _qasm_version(text, name)
    _prescan(text, name, version)
    if version == 2 and len(text) >= FAST_READER_MIN_CHARS:  # the common subset to arrays
        from .qasm2_reader import read_qasm2
        circ = read_qasm2(text, name, include_path)
        if circ is not None:
            return circ
    qc = _parse2(text, name, include_path) if version == 2 else _parse3(text, name)
    try:
        return _convert(qc, name, nobits_msg="program declares no qubits")
    except _ConvError as exc:
        line = col = None
        if exc.hint:
            loc = _locate(text, exc.hint)
            if loc:
                line, col = loc
        raise InputError(_fmt(name, exc.message, line, col)) from None


# parameters of the gates every QASM 2 program knows (qelib1.inc and Qiskit's legacy set) and of
# QASM 3's builtins and stdgates.inc; the importers report a wrong count only as the failure of a
# gate class's constructor
_GATE_PARAMS_2 = {"U": 3, "CX": 0, "u3": 3, "u2": 2, "u1": 1, "cx": 0, "id": 0, "u0": 1, "u": 3,
                  "p": 1, "x": 0, "y": 0, "z": 0, "h": 0, "s": 0, "sdg": 0, "t": 0, "tdg": 0,
                  "rx": 1, "ry": 1, "rz": 1, "sx": 0, "sxdg": 0, "cz": 0, "cy": 0, "swap": 0,
                  "ch": 0, "ccx": 0, "cswap": 0, "crx": 1, "cry": 1, "crz": 1, "cu1": 1, "cp": 1,
                  "cu3": 3, "csx": 0, "cu": 4, "rxx": 1, "rzz": 1, "rccx": 0, "rc3x": 0,
                  "c3x": 0, "c3sqrtx": 0, "c4x": 0}
_GATE_PARAMS_3 = {"U": 3, "gphase": 1, "p": 1, "x": 0, "y": 0, "z": 0, "h": 0, "s": 0, "sdg": 0,
                  "t": 0, "tdg": 0, "sx": 0, "rx": 1, "ry": 1, "rz": 1, "cx": 0, "cy": 0,
                  "cz": 0, "cp": 1, "crx": 1, "cry": 1, "crz": 1, "ch": 0, "swap": 0, "ccx": 0,
                  "cswap": 0, "cu": 4, "CX": 0, "phase": 1, "cphase": 1, "id": 0, "u1": 1,
                  "u2": 2, "u3": 3}
_CALL_HEAD = re.compile(r"\s*(?:if\s*\([^()]*\)\s*)?"
                        r"(?:(?:ctrl|negctrl|inv|pow)\s*(?:\([^()]*\))?\s*@\s*)*"
                        r"([A-Za-z_]\w*)\s*")
_DEFINED = re.compile(r"\b(?:gate|opaque|def)\s+([A-Za-z_]\w*)")


def _gate_param_error(text: str, name: str, version: int) -> InputError | None:
    """The first call of a standard gate with the wrong number of parameters, as an
    :class:`InputError` at its line and column, or None (gates the program defines itself
    are its own business)."""
    table = dict(_GATE_PARAMS_2 if version == 2 else _GATE_PARAMS_3)
    code = _code_only(text, version)
    for m in _DEFINED.finditer(code):
        table.pop(m.group(1), None)
    start = 0
    for end in [i for i, ch in enumerate(code) if ch in ";{}"] + [len(code)]:
        seg_start, start = start, end + 1
        m = _CALL_HEAD.match(code, seg_start, end)
        if not m or m.group(1) not in table:
            continue
        pos, got = m.end(), 0
        if pos < end and code[pos] == "(":
            depth, got, blank = 0, 1, True
            for j in range(pos, end):
                ch = code[j]
                depth += ch == "("
                depth -= ch == ")"
                if depth == 0:
                    break
                if depth == 1 and ch == ",":
                    got += 1
                elif ch not in "( \t\r\n":
                    blank = False
            if blank:
                got = 0
        want = table[m.group(1)]
        if got != want:
            line, col = _linecol(text, m.start(1))
            plural = "" if want == 1 else "s"
            return InputError(_fmt(name, f"'{m.group(1)}' takes {want} parameter{plural}, but "
                                         f"got {got}", line, col))
    return None


def _parse2(text: str, name: str, include_path):
    import qiskit.qasm2 as qasm2

    kwargs = {"custom_instructions": qasm2.LEGACY_CUSTOM_INSTRUCTIONS}
    if include_path:
        kwargs["include_path"] = tuple(include_path)
    try:
        return qasm2.loads(text, **kwargs)
    except qasm2.QASM2ParseError as exc:
        msg = getattr(exc, "message", None) or str(exc)
        raise InputError(_relocate(msg, name)) from None
    except RecursionError:
        raise InputError(_fmt(name, "program nests too deeply")) from None
    except (KeyboardInterrupt, SystemExit, MemoryError):
        raise
    except BaseException as exc:  # noqa: BLE001 - any parser failure (even a Rust panic) is bad input
        arity = _gate_param_error(text, name, 2)
        if arity is not None:
            raise arity from None
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(_fmt(name, f"OpenQASM 2 parse failed: {detail}")) from None


_INCLUDED = re.compile(r"^\s*'?([^\s:'<>][^:]*?):(\d+),(\d+):\s*(.*?)'?\s*$", re.S)
_LOC_PATTERNS = (
    re.compile(r"^\s*'?<input>:(\d+),(\d+):\s*(.*?)'?\s*$", re.S),
    re.compile(r"^\s*'?\"?L(\d+):C(\d+):\s*(.*?)\"?'?\s*$", re.S),
    re.compile(r"^\s*'?\"?(\d+),(\d+):\s*(.*?)\"?'?\s*$", re.S),
)


def _relocate(msg: str, name: str) -> str:
    """``<input>:4,0: msg`` (0-based column) -> ``name:4:1: msg``; otherwise ``name: msg``."""
    for pat in _LOC_PATTERNS:
        m = pat.match(msg)
        if m:
            return _fmt(name, m.group(3), int(m.group(1)), int(m.group(2)) + 1)
    m = _INCLUDED.match(msg)  # error inside an included file
    if m:
        return _fmt(m.group(1), f"{m.group(4)} (included from {name})", int(m.group(2)),
                    int(m.group(3)) + 1)
    return _fmt(name, msg.strip().strip("'\""))


def _parse3(text: str, name: str):
    try:
        import openqasm3
        from qiskit_qasm3_import import convert
    except ImportError:  # pragma: no cover - dependency missing
        raise InputError(_fmt(name, "OpenQASM 3 input needs the package 'qiskit_qasm3_import' "
                              "(pip install qiskit_qasm3_import)")) from None

    from .qasm3_expand import MAX_EXPANDED, NEEDS_EXPANSION, ExpansionError, expand_program

    text = positional_gate_params(text)
    limit = sys.getrecursionlimit()
    try:
        sys.setrecursionlimit(max(limit, 10_000))
        with contextlib.redirect_stderr(io.StringIO()):  # ANTLR prints its own error lines
            program = openqasm3.parse(text)
            if NEEDS_EXPANSION.search(text):
                # const, def and loops indexing qubits: rewritten before Qiskit's importer
                program = expand_program(program, MAX_EXPANDED)
            return convert(program)
    except ExpansionError as exc:
        raise InputError(_fmt(name, str(exc), exc.line, None if exc.column is None
                              else exc.column + 1)) from None
    except RecursionError:
        raise InputError(_fmt(name, "program nests too deeply")) from None
    except Exception as exc:  # noqa: BLE001 - any importer failure is bad input
        arity = _gate_param_error(text, name, 3)
        raise (arity or InputError(_qasm3_message(exc, name))) from None
    finally:
        sys.setrecursionlimit(limit)


_GATE_HEAD = re.compile(r"\bgate\s+([A-Za-z_]\w*)\s*\(([^)]*)\)")


def positional_gate_params(text: str) -> str:
    """Rename the parameters of every QASM 3 ``gate`` definition to ``_p0000, _p0001, ...``.

    ``qiskit_qasm3_import`` binds a user gate's arguments to its parameters in the order of the
    parameter *names* sorted alphabetically (``gate g(theta, phi, lam)`` receives its first
    argument as ``lam``), which silently changes the circuit.  Names that sort in their
    positional order make the binding right.  Line numbers are kept.
    """
    out, pos = [], 0
    for m in _GATE_HEAD.finditer(text):
        if m.start() < pos:
            continue
        names = [p.strip() for p in m.group(2).split(",") if p.strip()]
        if len(names) < 2:
            continue
        open_ = text.find("{", m.end())
        close = text.find("}", open_) if open_ >= 0 else -1
        if close < 0:
            continue
        mapping = {old: f"_p{i:04d}" for i, old in enumerate(names)}
        pattern = re.compile(r"(?<![\w$])(" + "|".join(map(re.escape, names)) + r")(?!\w)")
        head = text[m.start(): m.start(2)] + ", ".join(mapping[n] for n in names) + \
            text[m.end(2): open_]
        body = pattern.sub(lambda x: mapping[x.group(1)], text[open_: close + 1])
        out.append(text[pos: m.start()])
        out.append(head + body)
        pos = close + 1
    out.append(text[pos:])
    return "".join(out)


def _qasm3_message(exc: BaseException, name: str) -> str:
    """One-line message with location for an exception of the QASM 3 importer chain."""
    seen = []
    e = exc
    while e is not None and len(seen) < 8:
        seen.append(e)
        e = e.__cause__ or e.__context__
    # a message that already carries a location
    for e in seen:
        msg = str(e)
        for pat in _LOC_PATTERNS[1:]:
            m = pat.match(msg)
            if m and m.group(3):
                return _fmt(name, m.group(3), int(m.group(1)), int(m.group(2)) + 1)
    # ANTLR bail-out: the offending token
    for e in seen:
        inner = e.args[0] if getattr(e, "args", None) else None
        tok = getattr(inner, "offendingToken", None) or getattr(e, "offendingToken", None)
        if tok is not None and getattr(tok, "line", None) is not None:
            return _fmt(name, f"syntax error at '{tok.text}'", tok.line, tok.column + 1)
    # an error raised while the importer visited a node: find the node in the traceback
    span = None
    for e in seen:
        tb = e.__traceback__
        while tb is not None:
            node = tb.tb_frame.f_locals.get("node")
            s = getattr(node, "span", None)
            if s is not None and getattr(s, "start_line", None) is not None:
                span = s  # innermost wins
            tb = tb.tb_next
        if span is not None:
            break
    text = next((str(e) for e in seen if str(e).strip("'\" ")), type(exc).__name__)
    text = text.strip().strip("'\"")
    if span is not None:
        return _fmt(name, text, span.start_line, span.start_column + 1)
    return _fmt(name, f"OpenQASM 3 import failed: {text}")


def _locate(text: str, word: str) -> tuple[int, int] | None:
    """Line and column of the first use of ``word`` outside ``//`` comments, or None."""
    for m in re.finditer(r"(?<![\w$])" + re.escape(word) + r"(?!\w)", text):
        start = m.start()
        linestart = text.rfind("\n", 0, start) + 1
        if "//" in text[linestart:start]:
            continue
        return _linecol(text, start)
    return None


def from_qiskit(qc, name: str = "circuit") -> Circuit:
    """Convert a ``qiskit.QuantumCircuit`` to the IR (see the module doc for the rules)."""
    from qiskit import QuantumCircuit

    if not isinstance(qc, QuantumCircuit):
        raise InputError(_fmt(name, f"expected a qiskit.QuantumCircuit, got {type(qc).__name__}"))
    try:
        return _convert(qc, name, nobits_msg="circuit has no qubits")
    except _ConvError as exc:
        raise InputError(_fmt(name, exc.message)) from None


# ---------------------------------------------------------------------------------------------
# conversion
# ---------------------------------------------------------------------------------------------


def _convert(qc, name: str, nobits_msg: str) -> Circuit:
    if qc.num_qubits == 0:
        raise _ConvError(nobits_msg)
    conv = _Converter(qc)
    try:
        circ = canonical_single_qubit(conv.run(name))
    except OverflowError:
        raise _ConvError("a gate angle is too large to be a number") from None
    if not np.all(np.isfinite(circ.params)):
        i = int(np.flatnonzero(~np.isfinite(circ.params))[0])
        op = int(np.searchsorted(circ.pptr, i, side="right") - 1)
        raise _ConvError(f"operation {op} ({GATES[int(circ.kind[op])].name}) has a non-finite "
                         f"angle (inf or nan)")
    try:
        circ.validate()
    except ValueError as exc:
        raise _ConvError(str(exc)) from None
    return circ


def _register_runs(bits, registers, prefix: str) -> list:
    """Registers as ``(name, size)`` covering ``bits`` in order; loose bits get made-up names."""
    by_first = {}
    for reg in registers:
        if len(reg):
            by_first.setdefault(reg[0], []).append(reg)
    names = {reg.name for reg in registers}
    out = []
    i, n, loose = 0, len(bits), 0
    while i < n:
        for reg in by_first.get(bits[i], ()):
            size = len(reg)
            if list(reg) == list(bits[i:i + size]):
                out.append((reg.name, size))
                i += size
                break
        else:
            j = i + 1
            while j < n and bits[j] not in by_first:
                j += 1
            while True:
                rname = f"{prefix}{loose}"
                loose += 1
                if rname not in names:
                    break
            names.add(rname)
            out.append((rname, j - i))
            i = j
    return out


class _Converter:
    """One pass over a circuit, building flat lists of ints and floats."""

    def __init__(self, qc):
        self.qc = qc
        self.kind: list[int] = []
        self.qargs: list[int] = []
        self.params: list = []
        self.cl_at: list[int] = []   # op index of each measure
        self.cl_bit: list[int] = []  # its classical bit
        self.cd_at: list[int] = []   # op index of each conditioned op
        self.cd_idx: list[int] = []  # its condition index
        self.conditions: list[Condition] = []
        self.cond_index: dict[Condition, int] = {}
        self.cache: dict = {}
        self.keep: list = []         # keeps id()-keyed operations alive
        self.unrolled = 0            # operations 'for' loops unroll to (counted up front)
        self.loop_depth = 0          # 'for' loops being unrolled around the current one
        self.reg_bits: dict = {}     # top-level register -> flat clbit indices
        self.top_cmap = None

    # -- top level: the fast path ----------------------------------------------------------
    def run(self, name: str) -> Circuit:
        qc = self.qc
        qidx = {q: i for i, q in enumerate(qc.qubits)}
        cidx = self.top_cmap = {c: i for i, c in enumerate(qc.clbits)}
        fast_get = _FAST.get
        kind, qargs, params = self.kind, self.qargs, self.params
        ka, qa, pe = kind.append, qargs.append, params.extend
        slow = self._slow
        for inst in qc._data:
            k = fast_get(inst.name)
            if k is not None and inst.is_standard_gate():
                ka(k)
                for q in inst.qubits:
                    qa(qidx[q])
                ps = inst.params
                if ps:
                    pe(ps)
            else:
                slow(inst, qidx, cidx, -1)
        return self._finish(name)

    def _finish(self, name: str) -> Circuit:
        qc = self.qc
        kind = np.fromiter(self.kind, dtype=np.int16, count=len(self.kind))
        m = kind.shape[0]
        qptr = np.zeros(m + 1, dtype=np.int64)
        np.cumsum(KIND_NQ[kind], out=qptr[1:])
        pptr = np.zeros(m + 1, dtype=np.int64)
        np.cumsum(KIND_NP[kind], out=pptr[1:])
        qargs = np.fromiter(self.qargs, dtype=np.int64, count=len(self.qargs))
        params = self._param_array()
        if qargs.shape[0] != qptr[-1] or params.shape[0] != pptr[-1]:  # pragma: no cover - bug
            raise _ConvError("internal error: operand counts disagree with gate kinds")
        clbit = np.full(m, -1, dtype=np.int64)
        if self.cl_at:
            clbit[np.array(self.cl_at, dtype=np.int64)] = np.array(self.cl_bit, dtype=np.int64)
        cond = np.full(m, -1, dtype=np.int64)
        if self.cd_at:
            cond[np.array(self.cd_at, dtype=np.int64)] = np.array(self.cd_idx, dtype=np.int64)
        return Circuit(
            num_qubits=qc.num_qubits,
            num_clbits=qc.num_clbits,
            kind=kind,
            qptr=qptr,
            qargs=qargs,
            pptr=pptr,
            params=params,
            clbit=clbit,
            cond=cond,
            conditions=self.conditions,
            qregs=_register_runs(qc.qubits, qc.qregs, "q"),
            cregs=_register_runs(qc.clbits, qc.cregs, "c"),
            name=name,
        )

    def _param_array(self) -> np.ndarray:
        ps = self.params
        try:
            return np.fromiter(ps, dtype=np.float64, count=len(ps))
        except (TypeError, ValueError):
            return np.array([_to_float(p) for p in ps], dtype=np.float64)

    # -- one instruction that is not a plain table gate ---------------------------------------
    def _slow(self, inst, qmap, cmap, cond: int) -> None:
        op = inst.operation
        name = op.name
        if name in _IGNORED:
            return
        if name in _CONTROL_FLOW:
            self._control_flow(inst, qmap, cmap, cond)
            return
        qs = [qmap[q] for q in inst.qubits]
        cs = [cmap[c] for c in inst.clbits]
        if not qs and _is_gate(op):
            return  # global phase and other gates on no qubit
        pieces = self._expand(op, 0)
        kind, qargs, params = self.kind, self.qargs, self.params
        for k, qpos, ps, cpos in pieces:
            i = len(kind)
            kind.append(k)
            for p in qpos:
                qargs.append(qs[p])
            if ps:
                params.extend(ps)
            if cpos >= 0:
                self.cl_at.append(i)
                self.cl_bit.append(cs[cpos])
            if cond >= 0:
                self.cd_at.append(i)
                self.cd_idx.append(cond)

    def _walk(self, block, qmap, cmap, cond: int) -> None:
        """Emit every instruction of a control-flow body (bits already mapped)."""
        fast_get = _FAST.get
        kind, qargs, params = self.kind, self.qargs, self.params
        for inst in block._data:
            k = fast_get(inst.name)
            if k is not None and inst.is_standard_gate():
                if cond >= 0:
                    self.cd_at.append(len(kind))
                    self.cd_idx.append(cond)
                kind.append(k)
                for q in inst.qubits:
                    qargs.append(qmap[q])
                ps = inst.params
                if ps:
                    params.extend(_floats(ps, inst.name))
            else:
                self._slow(inst, qmap, cmap, cond)

    def _condition(self, condition, cmap) -> tuple[tuple[int, ...], int]:
        from qiskit.circuit import ClassicalRegister, Clbit

        if isinstance(condition, tuple) and len(condition) == 2:
            target, value = condition
            if isinstance(target, Clbit):
                return (cmap[target],), int(value)
            if isinstance(target, ClassicalRegister):
                if cmap is not self.top_cmap:
                    return tuple(cmap[b] for b in target), int(value)
                bits = self.reg_bits.get(target)  # many 'if (c == v)' on one wide register
                if bits is None:
                    bits = self.reg_bits[target] = tuple(cmap[b] for b in target)
                return bits, int(value)
        raise _ConvError("'if' with a classical expression condition is not supported "
                         "(only a bit or a register compared with an integer)", "if")

    def _cond_id(self, clbits, value, negate) -> int:
        c = Condition(tuple(clbits), int(value), bool(negate))
        i = self.cond_index.get(c)
        if i is None:
            i = self.cond_index[c] = len(self.conditions)
            self.conditions.append(c)
        return i

    def _control_flow(self, inst, qmap, cmap, cond: int) -> None:
        op = inst.operation
        name = op.name
        word = _CONTROL_FLOW[name]

        def maps(block):
            return (_BlockMap(block, inst, qmap, True), _BlockMap(block, inst, cmap, False))

        if name == "if_else":
            if cond >= 0:
                raise _ConvError("nested control flow ('if' inside an 'if' body) is not supported",
                                 "if")
            clbits, value = self._condition(op.condition, cmap)
            true_body, false_body = op.blocks[0], (op.blocks[1] if len(op.blocks) > 1 else None)
            qm, cm = maps(true_body)
            self._walk(true_body, qm, cm, self._cond_id(clbits, value, False))
            if false_body is not None and len(false_body.data):
                qm, cm = maps(false_body)
                self._walk(false_body, qm, cm, self._cond_id(clbits, value, True))
            return
        if name == "box":
            body = op.blocks[0]
            qm, cm = maps(body)
            self._walk(body, qm, cm, cond)
            return
        if name == "for_loop":
            if cond >= 0:
                raise _ConvError("nested control flow ('for' inside an 'if' body) is not supported",
                                 "for")
            indexset, loop_param, body = op.params
            # the size first, by arithmetic (a range of 10**9 values is never listed), of the
            # whole loop nest at once (an outer loop is not half unrolled before its inner
            # loops add up to too much)
            if self.loop_depth == 0:
                self.unrolled += _unrolled_size(inst.operation)
                if self.unrolled > MAX_UNROLLED_OPS:
                    raise _ConvError(f"'for' loops unroll to more than {MAX_UNROLLED_OPS} "
                                     "operations", "for")
            try:
                values = [int(v) for v in indexset]
            except (TypeError, ValueError):
                raise _ConvError("'for' loop over a non-literal range is not supported",
                                 "for") from None
            if not len(body.data):
                return  # nothing to unroll
            if loop_param is not None and not _reads_parameter(body, loop_param):
                loop_param = None  # the body ignores the loop variable: no copy per value
            self.loop_depth += 1
            try:
                for v in values:
                    b = body.assign_parameters({loop_param: v}) if loop_param is not None \
                        else body
                    qm, cm = maps(b)
                    self._walk(b, qm, cm, -1)
            finally:
                self.loop_depth -= 1
            return
        raise _ConvError(f"'{word}' is not supported (only 'if' on a bit or register, 'for' over "
                         "a literal range and 'box' are flattened)", word)

    # -- decomposition into table gates ------------------------------------------------------
    def _expand(self, op, depth: int) -> tuple:
        """Pieces ``(kind, qubit positions, params, clbit position or -1)`` of one operation."""
        key = _cache_key(op)
        if key is not None:
            hit = self.cache.get(key)
            if hit is not None:
                return hit
        if depth > 64:
            raise _ConvError(f"definition of gate '{op.name}' nests too deeply (recursive?)",
                             op.name)
        pieces = self._expand_uncached(op, depth)
        if key is not None:
            self.cache[key] = pieces
            if key[-1] is not None:
                self.keep.append(op)
        return pieces

    def _expand_uncached(self, op, depth: int) -> tuple:
        from qiskit.circuit import Measure, Reset

        name = op.name
        nq = op.num_qubits
        params = getattr(op, "params", None) or ()
        if isinstance(op, Measure):
            return ((KIND_MEASURE, (0,), (), 0),)
        if isinstance(op, Reset):
            return ((KIND_RESET, (0,), (), -1),)
        k = _FAST.get(name)
        standard = _is_standard(op)
        if standard:
            if k is not None:
                return ((k, tuple(range(nq)), _floats(params, name), -1),)
            if name == "u2":
                phi, lam = _floats(params, name)
                return ((_KIND_U, (0,), (math.pi / 2, phi, lam), -1),)
            if name == "cu3":
                return ((_KIND_CU, (0, 1), _floats(params, name) + (0.0,), -1),)
        elif (k is not None and GATES[k].num_qubits == nq and GATES[k].num_params == len(params)
              and getattr(op, "num_clbits", 0) == 0):
            ps = _floats(params, name)
            if _same_as_table(op, name, ps):
                return ((k, tuple(range(nq)), ps, -1),)
        try:
            defn = op.definition if hasattr(type(op), "definition") else _synthesize(op)
        except _ConvError:
            raise
        except Exception as exc:  # noqa: BLE001 - qiskit synthesis failure
            _raise_unbound(params, name)
            raise _ConvError(f"cannot decompose '{name}': {exc}", name) from None
        if defn is None and hasattr(type(op), "definition"):
            try:  # gates synthesised by a Qiskit plugin only (PermutationGate, ...)
                defn = _synthesize(op)
            except Exception:  # noqa: BLE001 - nothing can synthesise it
                defn = None
        if defn is None:
            _raise_unbound(params, name)
            what = "gate" if _is_gate(op) else "instruction"
            raise _ConvError(f"{what} '{name}' has no definition and is not in the distribution "
                             "basis", name)
        qpos = {b: i for i, b in enumerate(defn.qubits)}
        cpos = {b: i for i, b in enumerate(defn.clbits)}
        out = []
        for inst in defn._data:
            sub = inst.operation
            sname = sub.name
            if sname in _IGNORED:
                continue
            if sname in _CONTROL_FLOW:
                raise _ConvError(f"definition of '{name}' holds control flow ('{sname}'); "
                                 "not supported", name)
            sq = [qpos[q] for q in inst.qubits]
            if not sq and _is_gate(sub):
                continue
            sc = [cpos[c] for c in inst.clbits]
            for k2, qp, ps, cp in self._expand(sub, depth + 1):
                out.append((k2, tuple(sq[p] for p in qp), ps, sc[cp] if cp >= 0 else -1))
        return tuple(out)


def _unrolled_size(op) -> int:
    """Operations a control-flow operation unrolls to (loop nests multiplied out), counting
    each operation once and an empty loop body as one; capped just above
    :data:`MAX_UNROLLED_OPS` (nothing larger is computed)."""
    cap = MAX_UNROLLED_OPS + 1
    if op.name == "for_loop":
        indexset, _, body = op.params
        try:
            count = len(indexset)
        except OverflowError:  # a range longer than sys.maxsize
            return cap
        except TypeError:
            return 0  # not a literal range: refused when it is converted
        return min(cap, count * max(1, _block_size(body)))
    return min(cap, sum(_block_size(block) for block in op.blocks))


def _block_size(block) -> int:
    """Operations ``block`` unrolls to (see :func:`_unrolled_size`), capped likewise."""
    total, cap = 0, MAX_UNROLLED_OPS + 1
    for inst in block._data:
        total += _unrolled_size(inst.operation) if inst.name in _CONTROL_FLOW else 1
        if total >= cap:
            return cap
    return total


def _reads_parameter(block, param) -> bool:
    """Whether an operation of ``block`` (or of a block nested in it) has ``param`` in a
    parameter.  A ``for`` body declares its loop variable whether it reads it or not."""
    for inst in block._data:
        for p in inst.operation.params:
            if hasattr(p, "_data") and hasattr(p, "data"):  # a nested block (QuantumCircuit)
                if _reads_parameter(p, param):
                    return True
            elif param in getattr(p, "parameters", ()):
                return True
    return False


class _BlockMap:
    """Bit -> flat index inside a control-flow body, built on first use.

    A body's bits stand positionally for the instruction's bits; building the map eagerly costs
    a dict over every bit of a wide register for each ``if (c == v)``, so it is deferred.
    """

    __slots__ = ("block", "inst", "outer", "quantum", "map")

    def __init__(self, block, inst, outer, quantum: bool):
        self.block, self.inst, self.outer, self.quantum = block, inst, outer, quantum
        self.map = None

    def __getitem__(self, bit):
        m = self.map
        if m is None:
            outer = self.outer
            if self.quantum:
                inner, args = self.block.qubits, self.inst.qubits
            else:
                inner, args = self.block.clbits, self.inst.clbits
            m = self.map = {b: outer[a] for b, a in zip(inner, args)}
        return m[bit]


def _synthesize(op):
    """Circuit for an operation without ``definition`` (``AnnotatedOperation``, ``Clifford``...),
    from Qiskit's high-level synthesis, or None."""
    from qiskit import QuantumCircuit
    from qiskit.transpiler.passes import HighLevelSynthesis

    qc = QuantumCircuit(op.num_qubits, getattr(op, "num_clbits", 0) or 0)
    qc.append(op, qc.qubits, qc.clbits)
    basis = [g.name for g in GATES]
    out = HighLevelSynthesis(basis_gates=basis)(qc)
    if len(out.data) == 1 and out.data[0].operation is op:
        return None
    return out


def _is_gate(op) -> bool:
    from qiskit.circuit import Gate

    return isinstance(op, Gate)


def _is_standard(op) -> bool:
    try:
        return op._standard_gate is not None
    except AttributeError:
        return False


_GENERIC_CLASSES: tuple | None = None


def _cache_key(op):
    """Key under which an operation's expansion is cached, or None (not cacheable).

    Operations whose class fixes the definition given name and params (Qiskit library gates,
    QASM 2 gate definitions) are keyed by ``(type, name, arity, params)``; generic ``Gate``
    objects, whose definitions may differ under one name, also by identity.
    """
    global _GENERIC_CLASSES
    if _GENERIC_CLASSES is None:
        from qiskit.circuit import AnnotatedOperation, ControlledGate, Gate, Instruction

        _GENERIC_CLASSES = (Gate, Instruction, ControlledGate, AnnotatedOperation)
    cls = type(op)
    ident = None
    params = getattr(op, "params", None)
    if (params is None or cls in _GENERIC_CLASSES
            or not (cls.__module__ or "qiskit.").startswith("qiskit.")):
        ident = id(op)
    elif hasattr(op, "_gates") and hasattr(op, "_bytecode"):
        # qiskit.qasm2 user gate: names are unique within one program, whose gate table
        # (``_gates``) all its gates share
        ident = id(op._gates)
    try:
        pkey = []
        for p in params or ():
            if isinstance(p, np.ndarray):
                pkey.append((p.shape, str(p.dtype), p.tobytes()))
            else:
                pkey.append(p)
        key = (cls, op.name, op.num_qubits, getattr(op, "num_clbits", 0), tuple(pkey), ident)
        hash(key)
    except TypeError:
        return None
    return key


def _to_float(p) -> float:
    if isinstance(p, float):
        return p
    try:
        return float(p)
    except (TypeError, ValueError):
        pass
    free = getattr(p, "parameters", None)
    if free:
        raise _unbound_error(free)
    try:
        c = complex(p)
    except (TypeError, ValueError):
        raise _ConvError(f"parameter {p!r} is not a real number") from None
    if abs(c.imag) > 1e-12 * max(1.0, abs(c.real)):
        raise _ConvError(f"parameter {p} is not a real number") from None
    return c.real


def _floats(params, name: str) -> tuple:
    return tuple(_to_float(p) for p in params)


def _unbound_error(free) -> _ConvError:
    names = sorted(str(getattr(x, "name", x)) for x in free)
    first = names[0]
    plural = "s" if len(names) > 1 else ""
    return _ConvError(f"circuit has unbound parameter{plural} {', '.join(names)}; "
                      "bind it before distributing", first)


def _raise_unbound(params, name) -> None:
    for p in params:
        free = getattr(p, "parameters", None)
        if free and not isinstance(p, np.ndarray):
            raise _unbound_error(free)


_TABLE_MATRIX_CLASSES: dict | None = None


def _same_as_table(op, name: str, ps: tuple) -> bool:
    """Whether a non-standard gate named like a table gate has that gate's matrix (up to phase)."""
    global _TABLE_MATRIX_CLASSES
    if _TABLE_MATRIX_CLASSES is None:
        from qiskit.circuit.library import get_standard_gate_name_mapping

        mapping = get_standard_gate_name_mapping()
        _TABLE_MATRIX_CLASSES = {g.name: type(mapping[g.name]) for g in GATES if g.name in mapping}
    cls = _TABLE_MATRIX_CLASSES.get(name)
    if cls is None:
        return False
    try:
        from qiskit.quantum_info import Operator

        mine = Operator(op).data
        ref = cls(*ps).to_matrix()
    except Exception:  # noqa: BLE001 - cannot tell: decompose instead
        return False
    if mine.shape != ref.shape:
        return False
    idx = np.unravel_index(np.argmax(np.abs(ref)), ref.shape)
    if abs(mine[idx]) < 1e-9:
        return False
    phase = mine[idx] / ref[idx]
    return bool(abs(abs(phase) - 1) < 1e-8 and np.allclose(mine, phase * ref, atol=1e-8))


# ---------------------------------------------------------------------------------------------
# IR -> Qiskit
# ---------------------------------------------------------------------------------------------


def _registers(specs, total: int, cls, default: str):
    if specs and sum(int(s) for _, s in specs) == total:
        return [cls(int(s), n) for n, s in specs if int(s) > 0]
    return [cls(total, default)] if total else []


def to_qiskit(circ: Circuit):
    """Rebuild a ``QuantumCircuit`` from the IR.

    Registers come from ``circ.qregs`` / ``circ.cregs`` (a single ``q`` / ``c`` if they do not add
    up).  A run of consecutive operations with one condition becomes one ``if_test`` block, and a
    run with the negated condition right after it its ``else`` block.
    """
    from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister
    from qiskit.circuit import CircuitInstruction, Measure, Reset
    from qiskit.circuit.library import get_standard_gate_name_mapping

    qregs = _registers(circ.qregs, circ.num_qubits, QuantumRegister, "q")
    cregs = _registers(circ.cregs, circ.num_clbits, ClassicalRegister, "c")
    qc = QuantumCircuit(*qregs, *cregs, name=str(circ.name))
    qubits, clbits = qc.qubits, qc.clbits
    mapping = get_standard_gate_name_mapping()
    classes = [type(mapping[g.name]) if g.name in mapping else None for g in GATES]
    singletons = {}
    kind = circ.kind.tolist()
    qptr, qargs = circ.qptr.tolist(), circ.qargs.tolist()
    pptr, params = circ.pptr.tolist(), circ.params.tolist()
    clbit, cond = circ.clbit.tolist(), circ.cond.tolist()

    def make(i):
        k = kind[i]
        qs = [qubits[q] for q in qargs[qptr[i]:qptr[i + 1]]]
        if k == KIND_MEASURE:
            return CircuitInstruction(Measure(), qs, [clbits[clbit[i]]])
        if k == KIND_RESET:
            return CircuitInstruction(Reset(), qs, [])
        ps = params[pptr[i]:pptr[i + 1]]
        if ps:
            gate = classes[k](*ps)
        else:
            gate = singletons.get(k)
            if gate is None:
                gate = singletons[k] = classes[k]()
        return CircuitInstruction(gate, qs, [])

    cond_regs = {}

    def qiskit_condition(c: Condition):
        bits = [clbits[b] for b in c.clbits]
        if len(bits) == 1:
            return (bits[0], c.value)
        for reg in qc.cregs:
            if list(reg) == bits:
                return (reg, c.value)
        reg = cond_regs.get(c.clbits)
        if reg is None:
            reg = cond_regs[c.clbits] = ClassicalRegister(bits=bits, name=f"_cond{len(cond_regs)}")
            qc.add_register(reg)
        return (reg, c.value)

    m, i = len(kind), 0
    while i < m:
        c = cond[i]
        if c < 0:
            qc._append(make(i))
            i += 1
            continue
        j = i
        while j < m and cond[j] == c:
            j += 1
        first = circ.conditions[c]
        e = j
        if first.negate:  # an 'else' without its 'if': empty true body
            positive, negative = range(0), range(i, j)
        else:
            other = Condition(first.clbits, first.value, True)
            if j < m and cond[j] >= 0 and circ.conditions[cond[j]] == other:
                while e < m and cond[e] == cond[j]:
                    e += 1
            positive, negative = range(i, j), range(j, e)
        qcond = qiskit_condition(Condition(first.clbits, first.value, False))
        with qc.if_test(qcond) as else_:
            for t in positive:
                qc.append(make(t))
        if len(negative):
            with else_:
                for t in negative:
                    qc.append(make(t))
        i = e
    return qc
