"""OpenQASM 3 constants, subroutines and loops that index qubits (:mod:`araqne.qasm3_expand`).

Each program is compared with the same circuit written out flat by hand: the IR must be
identical, so the rewrite can neither drop, reorder nor misplace an operation.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from araqne.errors import InputError
from araqne.frontend import load

H3 = 'OPENQASM 3.0;\ninclude "stdgates.inc";\n'


def ops(text):
    return list(load(text).ops())


def test_loop_variable_indexes_qubits_with_arithmetic():
    looped = H3 + "qubit[4] q;\nfor int i in [0:2] {\n  cx q[i], q[i + 1];\n  rz(0.5 * i) q[3 - i];\n}\n"
    flat = H3 + "qubit[4] q;\n" + "".join(
        f"cx q[{i}], q[{i + 1}];\nrz({0.5 * i}) q[{3 - i}];\n" for i in range(3))
    assert ops(looped) == ops(flat)


def test_steps_sets_and_nested_loops():
    looped = H3 + ("qubit[6] q;\nfor int i in [4:-2:0] { h q[i]; }\n"
                   "for uint i in {5, 1, 3} { x q[i]; }\n"
                   "for int i in [0:1] { for int j in [2:3] { cz q[i], q[j + 2]; } }\n")
    flat = H3 + "qubit[6] q;\n" + "".join(f"h q[{i}];\n" for i in (4, 2, 0)) + \
        "".join(f"x q[{i}];\n" for i in (5, 1, 3)) + \
        "".join(f"cz q[{i}], q[{j + 2}];\n" for i in (0, 1) for j in (2, 3))
    assert ops(looped) == ops(flat)


def test_constants_size_registers_and_angles():
    src = H3 + ("const int n = 3;\nconst float theta = pi / 4;\nqubit[n] q;\n"
                "cp(theta) q[0], q[n - 1];\nrx(2 * theta) q[n - 2];\n")
    flat = H3 + "qubit[3] q;\ncp(pi / 4) q[0], q[2];\nrx(2 * pi / 4) q[1];\n"
    assert ops(src) == ops(flat)


def test_subroutines_are_inlined():
    src = H3 + ("def bell(qubit a, qubit b) { h a; cx a, b; }\n"
                "def ring(qubit[3] r, float t) { for int i in [0:2] { cp(t) r[i], r[(i + 1) % 3]; } }\n"
                "qubit[3] q;\nbit[3] c;\n"
                "bell(q[0], q[2]);\nring(q, 0.25);\nbell(q[1], q[0]);\nc = measure q;\n")
    flat = H3 + ("qubit[3] q;\nbit[3] c;\nh q[0];\ncx q[0], q[2];\n"
                 "cp(0.25) q[0], q[1];\ncp(0.25) q[1], q[2];\ncp(0.25) q[2], q[0];\n"
                 "h q[1];\ncx q[1], q[0];\nc = measure q;\n")
    assert ops(src) == ops(flat)


def test_gate_parameters_shadow_constants():
    src = H3 + ("const float t = 0.5;\nconst int a = 1;\n"
                "gate g(t) a { rz(t) a; h a; }\nqubit[2] q;\ng(0.25) q[a];\nrx(t) q[0];\n")
    flat = H3 + "qubit[2] q;\nrz(0.25) q[1];\nh q[1];\nrx(0.5) q[0];\n"
    assert ops(src) == ops(flat)


def test_loops_over_angles_only_stay_loops_for_qiskit():
    # the variable is only an angle: Qiskit's importer unrolls it as before
    src = H3 + "const int m = 2;\nqubit[1] q;\nfor int i in [0:m] { rz(0.5 * i) q[0]; }\n"
    assert ops(src) == [("rz", (0,), (0.0,)), ("rz", (0,), (0.5,)), ("rz", (0,), (1.0,))]


def test_measurement_targets_follow_the_loop():
    src = H3 + "qubit[3] q;\nbit[3] c;\nfor int i in [0:2] { c[i] = measure q[2 - i]; }\n"
    flat = H3 + "qubit[3] q;\nbit[3] c;\n" + "".join(
        f"c[{i}] = measure q[{2 - i}];\n" for i in range(3))
    a, b = load(src), load(flat)
    assert list(a.ops()) == list(b.ops())
    assert a.clbit.tolist() == b.clbit.tolist()


@settings(max_examples=30, deadline=None)
@given(start=st.integers(0, 5), stop=st.integers(0, 5), step=st.sampled_from([1, 2, -1, -2]),
       shift=st.integers(0, 2))
def test_ranges_are_inclusive_like_openqasm(start, stop, step, shift):
    values = list(range(start, stop + (1 if step > 0 else -1), step))
    src = H3 + f"qubit[8] q;\nfor int i in [{start}:{step}:{stop}] {{ x q[i + {shift}]; }}\n"
    assert ops(src) == [("x", (v + shift,), ()) for v in values]


@pytest.mark.parametrize("body, message, line", [
    ("qubit[2] q;\ndef f(qubit a) { h a; }\nf(q[0], q[1]);\n", "takes 1 arguments, 2 given", 5),
    ("qubit[2] q;\ndef f(qubit a) { f(a); }\nf(q[0]);\n", "nest too deeply", 4),
    ("qubit[2] q;\nfor int i in [0:100000000] { for int j in [0:1] { cx q[j], q[1 - j]; } }\n",
     "more than 10000000", 4),
    ("qubit[2] q;\nfor int i in [0:1999999] { cx q[i % 2], q[1 - i % 2]; }\n",
     "expand to more than 1000000 statements", 4),
    ("qubit[4] q;\ndef f(qubit[2] r) { h r[1]; }\nf(q[1]);\n", "already an indexed qubit", 4),
    ("qubit[4] q;\nbit b;\nfor int i in [0:3] {\n  b = measure q[i];\n  if (b) break;\n}\n",
     "'break' and 'continue' are not supported", 7),
])
def test_bad_expansions_are_one_line_errors(body, message, line):
    with pytest.raises(InputError) as err:
        load(H3 + body, name="prog.qasm")
    text = str(err.value)
    assert "\n" not in text and message in text
    assert text.startswith(f"prog.qasm:{line}:")


def test_cli_reads_a_looped_program(tmp_path):
    f = tmp_path / "chain.qasm"
    f.write_text(H3 + "const int n = 8;\nqubit[n] q;\nh q[0];\n"
                 "for int i in [0:n - 2] { cx q[i], q[i + 1]; }\n")
    out = subprocess.run([sys.executable, "-m", "araqne.cli", "partition", str(f), "--qpus", "2",
                          "--verify", "--json"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert '"ebits": 1' in out.stdout.replace(" ", "").replace('"ebits":1', '"ebits": 1')


def test_expansion_is_capped_before_it_is_built():
    import openqasm3

    from araqne.qasm3_expand import ExpansionError, expand_program
    src = H3 + ("qubit[2] q;\n"
                "def f(qubit[2] r) { for int i in [0:3] { cx r[i % 2], r[(i + 1) % 2]; } }\n"
                "for int k in [0:1] { f(q); }\n")
    program = openqasm3.parse(src)
    # the outer loop indexes nothing: it stays a loop, around the call inlined and unrolled
    out = expand_program(program, 5)
    assert [type(s).__name__ for s in out.statements] == ["Include", "QubitDeclaration",
                                                          "ForInLoop"]
    assert len(out.statements[2].block) == 4
    assert len(program.statements) == 4  # the input is left as it was
    with pytest.raises(ExpansionError) as err:
        expand_program(program, 4)
    assert err.value.line is not None
