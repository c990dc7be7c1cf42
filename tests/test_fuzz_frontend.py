"""Issue #8 part 4: a bounded-time fuzz target for the QASM frontend.

Valid OpenQASM 2 and 3 programs are mutated by Hypothesis -- truncated, characters and bytes
flipped, tokens deleted, duplicated, swapped or replaced (keywords, punctuation, huge numbers,
non-decimal literals, unicode), braces and parentheses nested deeply -- and fed to
:func:`araqne.frontend.load_qasm` (text) and :func:`araqne.frontend.load` (bytes).  The only
allowed outcomes are a :class:`~araqne.ir.Circuit` or an :class:`~araqne.errors.InputError` whose
message is one line.  Any other exception fails, and so does a crash of the interpreter or an
example that runs longer than ``HANG_SECONDS``.

Each example runs in a worker process (started once, restarted after a hang or a crash) under an
address-space limit of ``WORKER_MEMORY`` bytes: a hang inside Qiskit's compiled code cannot be
interrupted by a signal, so the worker is killed instead, and a runaway allocation fails in the
worker instead of exhausting the machine.  The runs are deterministic (``derandomize=True``, no
example database) and not shrunk (a hanging example would make shrinking slow); the failing
input is printed as it was generated.

Register sizes: the frontend accepts registers up to ``MAX_QUBITS`` (10 million) qubits, and a
declaration of a few million qubits legitimately takes tens of seconds to build in Qiskit.  The
number mutations therefore insert either small values or values far above the limit (which must
be refused at once); sizes in between are a load test, not a fuzz input.
"""

from __future__ import annotations

import base64
import json
import os
import re
import select
import struct
import subprocess
import sys
import time

import pytest
from hypothesis import (HealthCheck, Phase, currently_in_test_context, event, given, note,
                        settings)
from hypothesis import strategies as st

pytest.importorskip("qiskit_qasm3_import")

from araqne.frontend import load_qasm  # noqa: E402
from araqne.ir import Circuit  # noqa: E402

#: An example running longer than this (seconds) is a hang.
HANG_SECONDS = 10.0

#: Address-space limit of the worker process (bytes).
WORKER_MEMORY = 4 << 30

QASM2 = '''OPENQASM 2.0;
include "qelib1.inc";
// a comment
gate majority a,b,c { cx c,b; cx c,a; ccx a,b,c; }
gate rot(theta, phi) a { rz(theta) a; ry(phi/2) a; }
opaque magic(x) a;
qreg q[4];
creg c[4];
h q[0];
cx q[0],q[1];
u3(pi/2, 0.1, -0.3) q[2];
u2(0, pi) q[3];
rot(1e-3, -pi) q[3];
majority q[0],q[1],q[2];
rzz(0.25) q[0], q[3];
cu1(sin(0.3)) q[1], q[2];
barrier q;
measure q[0] -> c[0];
if(c==1) x q[3];
reset q[1];
swap q[1], q[2];
measure q -> c;
'''

QASM3 = '''OPENQASM 3.0;
include "stdgates.inc";
/* a block
   comment */
gate g(theta, phi) a, b { rz(theta) a; cx a, b; ry(phi) b; }
qubit[4] q;
bit[4] c;
h q[0];
cx q[0], q[1];
g(0.5, pi / 3) q[1], q[2];
ctrl @ x q[0], q[3];
inv @ s q[2];
pow(2) @ t q[1];
U(0.1, 0.2, 0.3) q[0];
c[0] = measure q[0];
if (c[0]) { x q[3]; } else { z q[3]; }
if (c == 3) { rx(0.1) q[1]; }
for int i in [0:2] { rx(0.1) q[0]; }
box { h q[2]; }
barrier q;
reset q[2];
c = measure q;
'''

QASM3_OLD = '''OPENQASM 3;
include "stdgates.inc";
qreg q[3];
creg c[3];
crz(0.25) q[0], q[1];
cp(pi/4) q[1], q[2];
ccx q[0], q[1], q[2];
measure q -> c;
'''

HEADERLESS = '''include "qelib1.inc";
qreg q[2];
h q[0];
cx q[0], q[1];
'''

SEEDS = (QASM2, QASM3, QASM3_OLD, HEADERLESS)

_TOKEN = re.compile(r"[A-Za-z_$][\w$]*|\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\s+|.", re.S)
_NUMBER = re.compile(r"\d+(?:\.\d*)?(?:[eE][-+]?\d+)?")

KEYWORDS = [
    "OPENQASM", "include", "qreg", "creg", "qubit", "bit", "int", "uint", "float", "angle",
    "bool", "const", "let", "gate", "opaque", "def", "defcal", "return", "measure", "reset",
    "barrier", "if", "else", "for", "while", "in", "break", "continue", "box", "delay", "U",
    "CX", "ctrl", "negctrl", "inv", "pow", "@", "->", "==", "!=", "&&", "||", "!", "~", "<<",
    "**", "[", "]", "{", "}", "(", ")", ";", ",", ":", "=", "+", "-", "*", "/", "%", '"',
    "pi", "π", "tau", "τ", "euler", "ℇ", "\"qelib1.inc\"", "\"stdgates.inc\"", "\"x.inc\"",
    "q", "c", "q[0]", "c[0]", "h", "cx", "x", "rz", "u3", "input", "output", "extern", "switch",
    "case", "default", "stretch", "duration", "array", "#pragma", "@annotation", "//", "/*",
    "*/", "\\", "\x00", "\t", "\n", "\r", "\u2028", "\ufeff", "\U0001F600",
]

HUGE_NUMBERS = [
    "0", "1", "2", "7", "-1", "-0", "00", "0.0", "1e-400", "1e400", "1e308", "-1e308",
    "1.7976931348623157e309", "nan", "inf", "NaN", "10000001", "99999999", "2147483648",
    "4294967296", "9223372036854775808", "18446744073709551617", "1" + "0" * 40,
    "9" * 400, "0" * 300 + "3", "1_000", "0x10", "0xFFFFFFFFFFFF", "0b101", "0o17", "1.5",
    "3.", ".5", "1e3", "2**64", "1/0", "0/0", "-(1)", "π",
]

unicode_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=8)


_WORKER = r"""
import base64, json, math, resource, struct, sys, traceback
limit = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
from araqne.errors import InputError
from araqne.frontend import load, load_qasm
from araqne.ir import Circuit
inp, out = sys.stdin.buffer, sys.stdout.buffer
while True:
    head = inp.read(4)
    if len(head) < 4:
        break
    req = json.loads(inp.read(struct.unpack("<I", head)[0]))
    try:
        if req["kind"] == "text":
            res = load_qasm(req["text"])
        else:
            res = load(base64.b64decode(req["data"]))
        reply = {"outcome": "circuit" if isinstance(res, Circuit) else "other",
                 "type": type(res).__name__, "message": ""}
        if isinstance(res, Circuit) and not all(math.isfinite(float(x)) for x in res.params):
            params = [float(x) for x in res.params]
            reply = {"outcome": "non-finite", "type": "Circuit",
                     "message": f"circuit with non-finite parameters {params}"}
    except InputError as err:
        reply = {"outcome": "input_error", "type": type(err).__name__, "message": str(err)}
    except BaseException as err:
        reply = {"outcome": "other", "type": type(err).__name__, "message": str(err),
                 "traceback": traceback.format_exc()}
    body = json.dumps(reply).encode()
    out.write(struct.pack("<I", len(body)) + body)
    out.flush()
"""


class Worker:
    """A process that loads programs on request; killed and restarted when it hangs or dies."""

    def __init__(self):
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _WORKER, str(WORKER_MEMORY)], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)

    def stop(self):
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait()
            self.proc = None

    def _read(self, n: int, deadline: float) -> bytes | None:
        buf = b""
        fd = self.proc.stdout.fileno()
        while len(buf) < n:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                return None
            chunk = os.read(fd, n - len(buf))
            if not chunk:
                return None
            buf += chunk
        return buf

    def run(self, request: dict, timeout: float) -> dict:
        """The worker's reply, or ``{"outcome": "hang"}`` / ``{"outcome": "crash"}``."""
        if self.proc is None or self.proc.poll() is not None:
            self.stop()
            self.start()
            timeout += 30.0  # the first request also pays for the imports
        body = json.dumps(request).encode()
        try:
            self.proc.stdin.write(struct.pack("<I", len(body)) + body)
            self.proc.stdin.flush()
        except BrokenPipeError:
            pass
        deadline = time.monotonic() + timeout
        head = self._read(4, deadline)
        reply = None if head is None else self._read(struct.unpack("<I", head)[0], deadline)
        if reply is None:
            code = self.proc.poll()
            self.stop()
            if code is None:
                return {"outcome": "hang", "message": f"no answer within {timeout:.0f} s"}
            return {"outcome": "crash", "message": f"worker exited with code {code}"}
        return json.loads(reply)


_worker = Worker()


@pytest.fixture(scope="module", autouse=True)
def _worker_process():
    yield
    _worker.stop()


def _check(request: dict, timeout: float = HANG_SECONDS) -> dict:
    """Run one request and assert the outcome is allowed."""
    start = time.perf_counter()
    reply = _worker.run(request, timeout)
    if currently_in_test_context():
        note(f"took {time.perf_counter() - start:.2f} s")
    outcome = reply["outcome"]
    assert outcome in ("circuit", "input_error"), \
        f"{outcome}: {reply.get('type', '')}: {reply.get('message', '')}\n" \
        f"{reply.get('traceback', '')}"
    if outcome == "input_error":
        msg = reply["message"]
        assert msg.strip(), "empty InputError message"
        assert len(msg.splitlines()) == 1, f"message is not one line: {msg!r}"
    return reply


def _text(text: str) -> dict:
    return {"kind": "text", "text": text}


def _bytes(data: bytes) -> dict:
    return {"kind": "bytes", "data": base64.b64encode(data).decode()}


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


@st.composite
def mutation(draw, text: str) -> str:
    """One random mutation of ``text``."""
    kind = draw(st.sampled_from([
        "truncate", "flip_char", "delete_token", "duplicate_token", "swap_tokens",
        "insert_keyword", "replace_number", "insert_unicode", "nest_braces", "nest_parens",
        "replace_token", "delete_span", "repeat_line",
    ]))
    if not text:
        return draw(st.sampled_from(KEYWORDS))
    toks = _tokens(text)
    if kind == "truncate":
        return text[:draw(st.integers(0, len(text) - 1))]
    if kind == "flip_char":
        i = draw(st.integers(0, len(text) - 1))
        code = ord(text[i]) ^ (1 << draw(st.integers(0, 7)))
        if 0xD800 <= code <= 0xDFFF:
            code = 0xFFFD
        return text[:i] + chr(code) + text[i + 1:]
    if kind == "delete_token":
        i = draw(st.integers(0, len(toks) - 1))
        return "".join(toks[:i] + toks[i + 1:])
    if kind == "duplicate_token":
        i = draw(st.integers(0, len(toks) - 1))
        return "".join(toks[:i + 1] + [toks[i]] + toks[i + 1:])
    if kind == "swap_tokens":
        i = draw(st.integers(0, len(toks) - 1))
        j = draw(st.integers(0, len(toks) - 1))
        toks[i], toks[j] = toks[j], toks[i]
        return "".join(toks)
    if kind == "insert_keyword":
        i = draw(st.integers(0, len(toks)))
        return "".join(toks[:i] + [draw(st.sampled_from(KEYWORDS))] + toks[i:])
    if kind == "replace_token":
        i = draw(st.integers(0, len(toks) - 1))
        toks[i] = draw(st.sampled_from(KEYWORDS + HUGE_NUMBERS))
        return "".join(toks)
    if kind == "replace_number":
        spots = [m.span() for m in _NUMBER.finditer(text)]
        if not spots:
            return text + draw(st.sampled_from(HUGE_NUMBERS))
        a, b = spots[draw(st.integers(0, len(spots) - 1))]
        return text[:a] + draw(st.sampled_from(HUGE_NUMBERS)) + text[b:]
    if kind == "insert_unicode":
        i = draw(st.integers(0, len(text)))
        return text[:i] + draw(unicode_text) + text[i:]
    if kind == "nest_braces":
        depth = draw(st.sampled_from([1, 2, 7, 50, 300, 3000]))
        i = draw(st.integers(0, len(text)))
        j = draw(st.integers(i, len(text)))
        open_, close = draw(st.sampled_from([("{", "}"), ("if (c[0]) {", "}"), ("box {", "}"),
                                             ("{", ""), ("", "}")]))
        return text[:i] + open_ * depth + text[i:j] + close * depth + text[j:]
    if kind == "nest_parens":
        depth = draw(st.sampled_from([1, 3, 40, 500, 2000]))
        spots = [m.span() for m in _NUMBER.finditer(text)]
        if not spots:
            return "(" * depth + text
        a, b = spots[draw(st.integers(0, len(spots) - 1))]
        open_, close = draw(st.sampled_from([("(", ")"), ("-", ""), ("(", ""), ("sin(", ")"),
                                             ("[", "]")]))
        return text[:a] + open_ * depth + text[a:b] + close * depth + text[b:]
    if kind == "delete_span":
        i = draw(st.integers(0, len(text) - 1))
        j = draw(st.integers(i, min(len(text), i + 40)))
        return text[:i] + text[j:]
    # repeat_line
    lines = text.splitlines(keepends=True)
    i = draw(st.integers(0, len(lines) - 1))
    return "".join(lines[:i + 1] + [lines[i]] * draw(st.integers(1, 20)) + lines[i + 1:])


@st.composite
def mutated_programs(draw) -> str:
    text = draw(st.sampled_from(SEEDS))
    for _ in range(draw(st.sampled_from([1, 1, 1, 2, 2, 3, 4]))):
        text = draw(mutation(text))
    return text


# ---------------------------------------------------------------------------- known bugs
# Frontend bugs found by this fuzzer are reported (issue #8), reproduced by a test below and,
# while open, listed here: generated inputs that would hit one are skipped (counted as a
# Hypothesis event) and its reproduction is a strict xfail.  None is open.  Fixed so far: size
# designators the MAX_QUBITS prescan did not read (hex, octal, binary, ``_``, expressions,
# ``const``, comments), ``for`` ranges materialised before the MAX_UNROLLED_OPS check, and
# OpenQASM 3 parse time quadratic in the nesting of parentheses (now refused above
# MAX_NESTING).


def _known_bug(text: str) -> str | None:
    """The open known bug ``text`` may hit, or None (there is none at present)."""
    return None


COMMON = dict(deadline=None, derandomize=True, database=None, print_blob=True,
              phases=[Phase.explicit, Phase.generate],
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                     HealthCheck.filter_too_much])


def test_seeds_are_valid():
    for text in SEEDS:
        assert isinstance(load_qasm(text), Circuit)


@settings(max_examples=800, **COMMON)
@given(text=mutated_programs())
def test_load_qasm_mutated_text(text):
    note(repr(text))
    bug = _known_bug(text)
    if bug:
        event(f"skipped: known bug ({bug})")
        return
    event(_check(_text(text))["outcome"])


@settings(max_examples=250, **COMMON)
@given(text=mutated_programs(), flips=st.lists(st.tuples(st.integers(0, 10**6),
                                                         st.integers(0, 255)), max_size=4),
       cut=st.one_of(st.none(), st.integers(0, 10**6)))
def test_load_mutated_bytes(text, flips, cut):
    """The bytes path of :func:`load` (UTF-8 decoding, NUL bytes, BOM) on byte-level mutations."""
    data = bytearray(text.encode("utf-8"))
    if not data:
        data = bytearray(b"x")
    for pos, value in flips:
        data[pos % len(data)] = value
    if cut is not None:
        data = data[:cut % (len(data) + 1)]
    note(repr(bytes(data)))
    bug = _known_bug(bytes(data).decode("utf-8", "replace"))
    if bug:
        event(f"skipped: known bug ({bug})")
        return
    event(_check(_bytes(bytes(data)))["outcome"])


@pytest.mark.parametrize("text", [
    "",
    "   \n\t",
    "OPENQASM 4.0;\nqubit q;\n",
    "OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[" + "9" * 30 + "];\n",
    "OPENQASM 3.0;\nqubit[" + "9" * 30 + "] q;\n",
    "OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[1];\nrz(" + "(" * 5000 + "1" + ")" * 5000
    + ") q[0];\n",
    "OPENQASM 3.0;\ninclude \"stdgates.inc\";\nqubit[1] q;\n" + "{" * 5000 + "h q[0];"
    + "}" * 5000 + "\n",
    "OPENQASM 3.0;\ninclude \"stdgates.inc\";\nqubit[1] q;\nrz(" + "-" * 5000 + "1) q[0];\n",
    "\ufeffOPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[1];\nh q[0];\n",
    "OPENQASM 2.0;\ninclude \"/dev/zero\";\nqreg q[1];\n",
    "OPENQASM 3.0;\nqubit[0x_] q;\n",
    "include \"qelib1.inc\";\nqreg q[" + "(" * 300 + "2];\nh q[0];\n",  # found by fuzzing
    "OPENQASM 3.0;\nqubit[2" + "**2" * 600 + "] q;\n",
    "OPENQASM 3.0;\nqubit[1/0] q;\n",
    "OPENQASM 3.0;\nqubit[-5] q;\n",
    "OPENQASM 3.0;\nqubit[1] q;\nfor int i in [0:0:5] { x q[0]; }\n",
    "OPENQASM 3.0;\nqubit[1] q;\nfor int i in [5:0] { x q[0]; }\n",
    "OPENQASM 3.0;\nqubit[1] q;\nrz(" + "(" * 65 + "1" + ")" * 65 + ") q[0]; /*",
])
def test_edge_cases(text):
    _check(_text(text))


# A register of 100 million qubits must be refused at once, however its size is written.
OVERSIZED = [
    "qubit[100000000] q;",
    "qreg q[100000000];",
    "qubit [ 100000000 ] q;",
    "qubit[99999999]/**/q;",
    "qubit[0x5F5E100] q;",
    "qubit[100_000_000] q;",
    "qubit[0o575360400] q;",
    "qubit[0b101111101011110000100000000] q;",
    "qubit[10000000 * 10] q;",
    "qubit[(1 + 9) * 10000000] q;",
    "qubit[2**70] q;",
    "bit[0x5F5E100] c;",
    "qreg q[0x3B9ACA00];",
    "creg c[1000000000];",
    "/* // */ qubit[99999999] q;",
    "qubit[/**/99999999] q;",
    "qubit[/* ] */ 99999999] q;",
    "qubit[\n99999999\n] q;",
    "// /*\nqubit[99999999] q;",
    "#pragma /*\nqubit[99999999] q;\n// */",
    "include \"/*\"; qubit[99999999] q; // */",
    "const int n = 1000000000;\nqubit[n] q;",
    "const uint[32] n = 0x3B9ACA00;\nqubit[n] q;",
    "qubit[6000000] a;\nqubit[6000000] b;",
    "qubit[" + "-" * 1000 + "100000000] q;",  # an even chain of minus signs
    "qubit[" + "0 + " * 2000 + "100000000] q;",  # a designator longer than any window
]


@pytest.mark.parametrize("decl", OVERSIZED)
def test_oversized_registers_are_refused_quickly(decl):
    text = "OPENQASM 3.0;\ninclude \"stdgates.inc\";\n" + decl + "\n"
    _check(_text(QASM3_OLD))  # starts the worker if needed: the timing below is the load alone
    start = time.perf_counter()
    reply = _check(_text(text), timeout=2.0)
    assert reply["outcome"] == "input_error", reply
    assert "exceeds the limit" in reply["message"] or "above the limit" in reply["message"], reply
    lines = decl.split("\n")
    declaring = max(i for i, s in enumerate(lines) if re.search(r"qubit|qreg|creg|bit\[", s)
                    and not s.startswith("//"))
    assert reply["message"].startswith(f"<string>:{declaring + 3}:"), reply
    assert time.perf_counter() - start < 2.0


@pytest.mark.parametrize("text", [
    "OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[100000000];\n",
    "OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[2];\n// qreg r[100000000];\n"
    "qreg r[100000000];\n",
])
def test_qasm2_oversized_registers_are_refused_quickly(text):
    start = time.perf_counter()
    reply = _check(_text(text), timeout=2.0)
    assert reply["outcome"] == "input_error" and "exceeds the limit" in reply["message"], reply
    assert time.perf_counter() - start < 2.0


@pytest.mark.parametrize("text, qubits", [
    # commented out, in a string or an annotation: not a declaration
    ("OPENQASM 3.0;\nqubit[2] q; // qubit[99999999] r;\n", 2),
    ("OPENQASM 3.0;\nqubit[2] q; /* qubit[99999999] r;\n qubit[99999999] s; */\n", 2),
    ("OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[2]; // qreg r[99999999];\n", 2),
    # sizes written otherwise, within the limit
    ("OPENQASM 3.0;\nqubit[0x4] q;\n", 4),
    ("OPENQASM 3.0;\nqubit[1_0] q;\n", 10),
    ("OPENQASM 3.0;\nqubit[2 * (1 + 2)] q;\n", 6),
    ("OPENQASM 3.0;\nqubit[/* big */ 3] q;\n", 3),
])
def test_small_registers_however_written_are_read(text, qubits):
    assert load_qasm(text).num_qubits == qubits


def test_nesting_limit_is_exact():
    """Parentheses nested MAX_NESTING deep are read; one more level is refused, with the
    line and column of the deepest one."""
    from araqne.errors import InputError
    from araqne.frontend import MAX_NESTING

    head = "OPENQASM 3.0;\ninclude \"stdgates.inc\";\nqubit[1] q;\n"
    ok = head + "rz(" + "(" * (MAX_NESTING - 1) + "1" + ")" * (MAX_NESTING - 1) + ") q[0];\n"
    assert load_qasm(ok).num_ops == 1
    deep = head + "rz(" + "(" * MAX_NESTING + "1" + ")" * MAX_NESTING + ") q[0];\n"
    with pytest.raises(InputError, match=rf"^<string>:4:{MAX_NESTING + 3}: expression nests "
                                         rf"{MAX_NESTING + 1} parentheses deep"):
        load_qasm(deep)
    # unbalanced closing parentheses do not hide the depth that follows them
    with pytest.raises(InputError, match="parentheses deep"):
        load_qasm(head + ")" * 200 + "\nrz(" + "(" * 100 + "1" + ")" * 100 + ") q[0];\n")
    # OpenQASM 2 (Qiskit's own parser is linear in the depth) keeps deep nesting
    qasm2 = ("OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[1];\nrz(" + "(" * 500 + "1"
             + ")" * 500 + ") q[0];\n")
    assert load_qasm(qasm2).num_ops == 1


@pytest.mark.parametrize("line", ["h q[18446744073709551616];",
                                  "cx q[0], q[99999999999999999999999];"])
def test_qasm2_huge_integer_is_an_input_error(line):
    text = "OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[2];\n" + line + "\n"
    reply = _check(_text(text))
    assert reply["outcome"] == "input_error"


@pytest.mark.parametrize("text", [
    "OPENQASM 3.0;\ninclude \"stdgates.inc\";\nqubit[1] q;\nrx(() q[0];\n",
    "GPENQASM 3.0;\nqubit[1] q;\n",
    "OPENQASM π;\nqubit[1] q;\n",
    "OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[2];\nh q[18446744073709551616];\n",
])
def test_syntax_errors_print_nothing(text, capfd):
    """No parser prints on its own (a Rust panic message, ANTLR's 'line L:C ...'): the CLI's
    error must stay one line."""
    from araqne.errors import InputError

    with pytest.raises(InputError):
        load_qasm(text)
    captured = capfd.readouterr()
    assert captured.err == "" and captured.out == "", captured


def test_nested_expressions_are_handled_quickly():
    text = ("OPENQASM 3.0;\ninclude \"stdgates.inc\";\nqubit[1] q;\nrz(" + "sin(" * 40 + "("
            + "sin(" * 400 + "3" + ")" * 441 + ") q[0];\n")
    _check(_text(QASM3_OLD))  # starts the worker if needed: the timing below is the load alone
    start = time.perf_counter()
    reply = _check(_text(text), timeout=4.0)
    assert reply["outcome"] in ("circuit", "input_error")
    assert time.perf_counter() - start < 4.0


@pytest.mark.parametrize("text", [
    "OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[1];\nrz(1e400) q[0];\n",
    "OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[1];\nu3(1e400-1e400, 1, 2) q[0];\n",
    "OPENQASM 3.0;\ninclude \"stdgates.inc\";\nqubit[1] q;\nrz(1" + "0" * 309 + ") q[0];\n",
])
def test_non_finite_angles_are_input_errors(text):
    reply = _check(_text(text))
    assert reply["outcome"] == "input_error", reply


@pytest.mark.parametrize("loops", [
    "for int i in [0:1000000000] { rx(0.1) q[0]; }",
    "for int i in [0:0x7FFFFFFFFFFFFFFF] { rx(0.1) q[0]; }",
    "for int i in [0:3000] { for int j in [0:4000] { rx(0.1) q[0]; } }",
])
def test_huge_for_loop_is_refused_quickly(loops):
    text = "OPENQASM 3.0;\ninclude \"stdgates.inc\";\nqubit[1] q;\n" + loops + "\n"
    _check(_text(QASM3_OLD))  # starts the worker if needed: the timing below is the load alone
    start = time.perf_counter()
    reply = _check(_text(text), timeout=4.0)
    assert reply["outcome"] == "input_error", reply
    assert "'for' loop" in reply["message"] and "to more than 10000000 operations" in \
        reply["message"], reply
    assert reply["message"].startswith("<string>:4:1: "), reply
    assert time.perf_counter() - start < 4.0


def test_for_loop_unrolls_with_and_without_its_variable():
    """The body is walked as is when it ignores the loop variable, bound per value when not."""
    text = ("OPENQASM 3.0;\ninclude \"stdgates.inc\";\nqubit[1] q;\n"
            "for int i in [0:2] { rx(0.5) q[0]; }\n"
            "for int i in [0:2] { for int j in [1:2] { rx(0.25 * j + i) q[0]; } }\n")
    circ = load_qasm(text)
    assert list(circ.params) == [0.5, 0.5, 0.5, 0.25, 0.5, 1.25, 1.5, 2.25, 2.5]
