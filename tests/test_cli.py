"""The command line: every refusal (issue #8), JSON mode, --out, reproducibility, verification.

``REFUSALS`` is the list of every input the CLI refuses -- each refusal issue #8 lists is there
(:func:`test_refusals_cover_issue_8` names them), with its expected exit code (2: usage error, 1:
bad input or infeasible request) and a piece of its one-line message naming the problem and the
file, line or option.  Each must fail within seconds, print exactly one line on stderr and
nothing on stdout, show no traceback and write no ``--out`` folder; with ``--debug`` the
exception and its traceback come through instead (except for click's own option parsing
errors, ``CLICK_PARSED``, which are refused before araqne runs and stay one line).
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

import araqne.api
import araqne.cli as cli
import araqne.verification
from araqne.cli import main

ROOT = Path(__file__).resolve().parents[1]
GHZ = ROOT / "circuits" / "ghz_8.qasm"
QFT16 = ROOT / "circuits" / "qft_16.qasm"
QFT8_QASM3 = ROOT / "circuits" / "qft_8_qasm3.qasm"
GHZ32 = ROOT / "circuits" / "suite" / "ghz_32.qasm"
HETERO = ROOT / "examples" / "clusters" / "hetero_line.toml"

QASM2 = 'OPENQASM 2.0;\ninclude "qelib1.inc";\n'

FILES = {
    "empty.qasm": "",
    "malformed.qasm": QASM2 + "qreg q[2];\ncx q[0] q[1];\n",
    "unknown_gate.qasm": QASM2 + "qreg q[2];\nfoo q[0], q[1];\n",
    "huge.qasm": QASM2 + "qreg q[1000000000];\n",
    "no_qubits.qasm": QASM2 + "creg c[2];\n",
    "disconnected.toml": ('[[qpu]]\nname = "a"\nqubits = 8\n[[qpu]]\nname = "b"\nqubits = 8\n'
                          '[[qpu]]\nname = "c"\nqubits = 8\n[[link]]\nbetween = ["a", "b"]\n'),
    "unknown_key.toml": '[[qpu]]\nname = "a"\nqubits = 8\ncolour = "red"\n',
    "wrong_type.toml": '[[qpu]]\nname = "a"\nqubits = "eight"\n',
    "duplicate.toml": '[[qpu]]\nname = "a"\nqubits = 8\n[[qpu]]\nname = "a"\nqubits = 8\n',
    "small_qec.toml": '[[qpu]]\nname = "a"\nqubits = 10\ncode = "surface"\ndistance = 5\n',
    "full/keep.txt": "keep me\n",
    "huge_hex.qasm": "OPENQASM 3.0;\nqubit[0x3B9ACA00] q;\n",
    "huge_const.qasm": "OPENQASM 3.0;\nconst int n = 1000000000;\nqubit[n] q;\n",
    "unsupported.qasm": ('OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[2] q;\nbit[1] c;\n'
                         "c[0] = measure q[0];\nwhile (c[0]) { h q[0]; c[0] = measure q[0]; }\n"),
    "nested.qasm": ('OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[1] q;\nrz('
                    + "sin(" * 300 + "1" + ")" * 300 + ") q[0];\n"),
    "long_loop.qasm": ('OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[1] q;\n'
                       "for int i in [0:1000000000] { rx(0.1) q[0]; }\n"),
    "two_qubits.qasm": 'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[2] q;\ncx q[0], q[1];\n',
    "zero_capacity.toml": '[[qpu]]\nname = "a"\nqubits = 0\n[[qpu]]\nname = "b"\nqubits = 8\n',
    "negative_capacity.toml": ('[[qpu]]\nname = "a"\nqubits = -3\n[[qpu]]\nname = "b"\n'
                               "qubits = 8\n"),
    "too_small.toml": '[[qpu]]\nname = "a"\nqubits = 3\n[[qpu]]\nname = "b"\nqubits = 3\n',
    "no_comm.toml": ('[[qpu]]\nname = "a"\nqubits = 4\ncomm_qubits = 0\n[[qpu]]\nname = "b"\n'
                     "qubits = 4\ncomm_qubits = 0\n"),
    "negative_comm.toml": ('[[qpu]]\nname = "a"\nqubits = 8\ncomm_qubits = -1\n'),
    # a line a - b - c whose middle QPU has one communication qubit: too few for this circuit
    "relay_one_comm.toml": ('[[qpu]]\nname = "a"\nqubits = 3\n[[qpu]]\nname = "b"\nqubits = 3\n'
                            'comm_qubits = 1\n[[qpu]]\nname = "c"\nqubits = 2\n[[link]]\n'
                            'between = ["a", "b"]\n[[link]]\nbetween = ["b", "c"]\n'),
    "multireg.qasm": ('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg a[3];\nqreg b[2];\nqreg anc[2];\n'
                      "h a;\ncx a[0], b[0];\ncx a[1], b[1];\nccx a[0], a[1], anc[0];\n"
                      "cswap b[0], anc[0], anc[1];\ncu3(pi/3, -pi/4, 0.5) a[2], b[0];\n"
                      "crz(pi/7) b[1], a[0];\nrzz(0.3) a[0], anc[1];\nrxx(-0.7) anc[0], b[1];\n"),
    "unknown_link.toml": ('[[qpu]]\nname = "a"\nqubits = 8\n[[qpu]]\nname = "b"\nqubits = 8\n'
                          '[[link]]\nbetween = ["a", "z"]\n'),
    "malformed.toml": '[[qpu]\nname = "a"\n',
    "no_qpu.json": '{"qpu": []}',
    "wrong_type.json": '{"qpu": [{"name": "a", "qubits": 8, "comm_qubits": "two"}]}',
}


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("cli_inputs")
    for name, text in FILES.items():
        (d / name).parent.mkdir(parents=True, exist_ok=True)
        (d / name).write_text(text, encoding="utf-8")
    (d / "binary.qasm").write_bytes(b"OPENQASM 2.0;\x00\x01\x02\xff")
    (d / "latin1.qasm").write_bytes(b"OPENQASM 2.0;\n// caf\xe9\nqreg q[2];\n")
    (d / "folder.qasm").mkdir()
    (d / "a_file").write_text("x", encoding="utf-8")
    return d


def run(*args, **kwargs):
    return CliRunner().invoke(main, [str(a) for a in args], **kwargs)


# (id, argv with {d} for the inputs folder, exit code, piece of the message)
REFUSALS = [
    # circuit file
    ("missing file", ["partition", "{d}/nope.qasm", "-k", 2], 1, "nope.qasm: no such file"),
    ("directory as file", ["partition", "{d}/folder.qasm", "-k", 2], 1,
     "folder.qasm: is a directory"),
    ("empty file", ["partition", "{d}/empty.qasm", "-k", 2], 1, "empty.qasm: empty file"),
    ("binary file", ["partition", "{d}/binary.qasm", "-k", 2], 1, "binary.qasm: binary file"),
    ("not UTF-8", ["partition", "{d}/latin1.qasm", "-k", 2], 1, "latin1.qasm:2: not UTF-8"),
    ("malformed QASM", ["partition", "{d}/malformed.qasm", "-k", 2], 1, "malformed.qasm:4:1: "),
    ("unknown gate", ["partition", "{d}/unknown_gate.qasm", "-k", 2], 1,
     "unknown_gate.qasm:4:1: 'foo'"),
    ("unsupported construct", ["partition", "{d}/unsupported.qasm", "-k", 2], 1,
     "unsupported.qasm:6:1: 'while' is not supported"),
    ("huge register", ["partition", "{d}/huge.qasm", "-k", 2], 1,
     "huge.qasm:3:1: register 'q' of 1000000000 qubits exceeds the limit"),
    ("huge register (hex)", ["partition", "{d}/huge_hex.qasm", "-k", 2], 1,
     "huge_hex.qasm:2:1: register 'q' of 1000000000 (0x3B9ACA00) qubits"),
    ("huge register (const)", ["partition", "{d}/huge_const.qasm", "-k", 2], 1,
     "huge_const.qasm:3:1: register 'q' of 1000000000 (n) qubits"),
    ("deeply nested expression", ["partition", "{d}/nested.qasm", "-k", 2], 1,
     "nested.qasm:4:"),
    ("huge for loop", ["partition", "{d}/long_loop.qasm", "-k", 2], 1,
     "long_loop.qasm:4:1: 'for' loop over 1000000001 values"),
    ("no qubits", ["partition", "{d}/no_qubits.qasm", "-k", 2], 1, "no_qubits.qasm: program "
     "declares no qubits"),
    # cluster options
    ("missing --qpus", ["partition", GHZ], 2, "missing option --qpus K (or --network FILE)"),
    ("--qpus 0", ["partition", GHZ, "-k", 0], 2, "'--qpus'"),
    ("--qpus negative", ["partition", GHZ, "-k", -2], 2, "'--qpus'"),
    ("--qpus > qubits", ["partition", GHZ, "-k", 9], 2, "--qpus 9 is more than the 8 qubits"),
    ("--qpus > qubits (2)", ["partition", "{d}/two_qubits.qasm", "-k", 3], 2,
     "--qpus 3 is more than the 2 qubits of"),
    ("--capacity 0", ["partition", GHZ, "-k", 2, "-c", 0], 2, "'--capacity'"),
    ("--capacity negative", ["partition", GHZ, "-k", 2, "-c", -3], 2, "'--capacity'"),
    ("cluster too small", ["partition", GHZ, "-k", 2, "-c", 3], 1, "do not fit"),
    ("--comm-qubits negative", ["partition", GHZ, "-k", 2, "--comm-qubits", -1], 2,
     "'--comm-qubits'"),
    ("--comm-qubits 0", ["partition", GHZ, "-k", 2, "--comm-qubits", 0], 1,
     f"{GHZ}: QPU {{any}} has no communication qubits"),
    ("--comm-qubits 0 with --out", ["partition", GHZ, "-k", 2, "--comm-qubits", 0,
                                    "--out", "{d}/out_comm"], 1, "with --comm-qubits"),
    ("--comm-qubits 0 with --verify", ["partition", GHZ, "-k", 2, "--comm-qubits", 0,
                                       "--verify"], 1, "no communication qubits"),
    ("--comm-qubits 0 verify", ["verify", GHZ, "-k", 2, "--comm-qubits", 0], 1,
     "no communication qubits"),
    ("unknown topology", ["partition", GHZ, "-k", 2, "--topology", "torus"], 2, "'--topology'"),
    ("--code without --capacity", ["partition", GHZ, "-k", 2, "--code", "surface",
                                   "--distance", 3], 2, "--code needs --capacity"),
    ("--distance without --code", ["partition", GHZ, "-k", 2, "--distance", 3], 2,
     "--distance needs --code"),
    ("unknown code", ["partition", GHZ, "-k", 2, "--code", "nope", "--distance", 3, "-c", 99], 2,
     "unknown code"),
    ("QPU smaller than a QEC block (flags)", ["partition", GHZ, "-k", 2, "--code", "surface",
                                             "--distance", 5, "-c", 10], 2, "smaller than one"),
    # network file
    ("network missing", ["partition", GHZ, "--network", "{d}/nope.toml"], 1,
     "nope.toml: cannot read network file"),
    ("network malformed", ["partition", GHZ, "--network", "{d}/malformed.toml"], 1,
     "malformed.toml:1:6: malformed TOML"),
    ("network without QPUs", ["partition", GHZ, "--network", "{d}/no_qpu.json"], 1,
     "no_qpu.json: 'qpu' is empty"),
    ("network disconnected", ["partition", GHZ, "--network", "{d}/disconnected.toml"], 1,
     "disconnected"),
    ("network unknown key", ["partition", GHZ, "--network", "{d}/unknown_key.toml"], 1,
     "unknown_key.toml:4: qpu[0]: unknown key 'colour'"),
    ("network wrong type", ["partition", GHZ, "--network", "{d}/wrong_type.toml"], 1,
     "wrong_type.toml:3: qpu[0]: 'qubits' must be an integer"),
    ("network wrong type (JSON)", ["partition", GHZ, "--network", "{d}/wrong_type.json"], 1,
     "wrong_type.json: qpu[0]: 'comm_qubits' must be"),
    ("network duplicate names", ["partition", GHZ, "--network", "{d}/duplicate.toml"], 1,
     "duplicate.toml:5: qpu[1]: duplicate QPU name 'a'"),
    ("network link to an unknown QPU", ["partition", GHZ, "--network", "{d}/unknown_link.toml"],
     1, "unknown_link.toml:8: link[0]: 'between' names unknown QPU 'z'"),
    ("network zero capacity", ["partition", GHZ, "--network", "{d}/zero_capacity.toml"], 1,
     "zero_capacity.toml:3: qpu[0]: 'qubits' must be a positive integer (got 0)"),
    ("network negative capacity", ["partition", GHZ, "--network", "{d}/negative_capacity.toml"],
     1, "negative_capacity.toml:3: qpu[0]: 'qubits' must be a positive integer (got -3)"),
    ("network negative comm qubits", ["partition", GHZ, "--network",
                                      "{d}/negative_comm.toml"], 1,
     "negative_comm.toml:4: qpu[0]: 'comm_qubits' must be a non-negative integer"),
    ("network too small", ["partition", GHZ, "--network", "{d}/too_small.toml"], 1,
     "8 qubits do not fit in 2 QPUs holding 6 data qubits"),
    ("network zero comm qubits", ["partition", GHZ, "--network", "{d}/no_comm.toml"], 1,
     # which cx crosses the cut is the partitioner's choice; the message names it
     f"{GHZ}: QPU {{any}} runs there on qubit {{any}}; allow at least 1 in 'comm_qubits' of "
     "that QPU in {d}/no_comm.toml"),
    ("network relay short of comm qubits", ["partition", "{d}/multireg.qasm", "--network",
                                            "{d}/relay_one_comm.toml"], 1,
     "{d}/multireg.qasm: QPU b needs more than its 1 communication qubit(s) at once for "
     "operation {any}; raise them in 'comm_qubits' of that QPU in {d}/relay_one_comm.toml"),
    ("QPU smaller than a QEC block (file)", ["partition", GHZ, "--network",
                                             "{d}/small_qec.toml"], 1, "smaller than one"),
    ("--network with --qpus", ["partition", GHZ, "--network", HETERO, "-k", 2], 2, "drop --qpus"),
    ("--network with --capacity", ["partition", GHZ, "--network", HETERO, "-c", 4], 2,
     "drop --capacity"),
    ("--network with --topology", ["partition", GHZ, "--network", HETERO, "--topology", "ring"],
     2, "drop --topology"),
    ("--network with --comm-qubits", ["partition", GHZ, "--network", HETERO, "--comm-qubits", 4],
     2, "drop --comm-qubits"),
    # run options
    ("--effort 0", ["partition", GHZ, "-k", 2, "--effort", 0], 2, "'--effort'"),
    ("--effort negative", ["partition", GHZ, "-k", 2, "--effort", -1], 2, "'--effort'"),
    ("--effort nan", ["partition", GHZ, "-k", 2, "--effort", "nan"], 2, "'--effort'"),
    ("--seed negative", ["partition", GHZ, "-k", 2, "--seed", -1], 2, "'--seed'"),
    ("unknown option", ["partition", GHZ, "-k", 2, "--colour"], 2, "No such option"),
    ("--qpus not a number", ["partition", GHZ, "-k", "two"], 2, "'--qpus'"),
    # --out
    ("--out not empty", ["partition", GHZ, "-k", 2, "--out", "{d}/full"], 2,
     "--out {d}/full: folder is not empty (use --force"),
    ("--out is a file", ["partition", GHZ, "-k", 2, "--out", "{d}/a_file"], 2,
     "not a folder"),
    ("--out inside a file", ["partition", GHZ, "-k", 2, "--out", "{d}/a_file/sub"], 2,
     "not a writable folder"),
    ("--out holds the input", ["partition", "{d}/full/../empty.qasm", "-k", 2, "--out", "{d}",
                               "--force"], 2, "refusing to replace"),
    # verification
    ("--verify too large", ["partition", GHZ32, "-k", 2, "--verify"], 1,
     "verification limit of 26"),
    ("verify too large", ["verify", GHZ, "-k", 2, "--max-qubits", 4], 1,
     "verification limit of 4"),
    ("verify program too large", ["verify", GHZ, "-k", 7, "--max-qubits", 10], 1,
     f"{GHZ}: distributed program has {{any}} qubits, more than the verification limit of 10 "
     "(--max-qubits)"),
    ("verify --samples 0", ["verify", GHZ, "-k", 2, "--samples", 0], 2, "'--samples'"),
    ("verify --shots 0", ["verify", GHZ, "-k", 2, "--shots", 0], 2, "'--shots'"),
]

#: Refusals of click's own option parsing: made before araqne runs, so --debug has no
#: traceback of araqne's to show and they stay one line.
CLICK_PARSED = {"--qpus 0", "--qpus negative", "--capacity 0", "--capacity negative",
                "--comm-qubits negative", "unknown topology", "--effort 0", "--effort negative",
                "--effort nan", "--seed negative", "unknown option", "--qpus not a number",
                "verify --samples 0", "verify --shots 0"}


def _argv(argv, files) -> list[str]:
    return [str(a).replace("{d}", str(files)) for a in argv]


@pytest.mark.parametrize("argv, code, message", [r[1:] for r in REFUSALS],
                         ids=[r[0] for r in REFUSALS])
def test_refusal(files, argv, code, message):
    argv = _argv(argv, files)
    message = message.replace("{d}", str(files))
    before = sorted(p.name for p in files.iterdir())
    t0 = time.perf_counter()
    res = run(*argv)
    elapsed = time.perf_counter() - t0
    assert res.exit_code == code, res.output
    assert res.stdout == ""
    lines = res.stderr.splitlines()
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("araqne: error: ")
    # "{any}" in a message stands for text the partitioner chooses
    assert re.search(".+?".join(re.escape(part) for part in message.split("{any}")),
                     lines[0]), lines[0]
    assert "Traceback" not in res.output
    assert elapsed < 10, f"refusal took {elapsed:.1f} s"
    assert sorted(p.name for p in files.iterdir()) == before  # no --out, no temporary folder
    assert (files / "full" / "keep.txt").read_text() == "keep me\n"


def test_refusals_cover_issue_8():
    """The table holds every refusal issue #8 lists ("Clear refusals"), each with the exit code
    the issue asks for: 2 for a usage error, 1 for bad input."""
    issue_8 = {
        # malformed QASM (with line and column), an unknown gate, an unsupported construct
        "malformed QASM": 1, "unknown gate": 1, "unsupported construct": 1,
        # an empty or binary file, a missing file
        "empty file": 1, "binary file": 1, "missing file": 1,
        # a register far too large to handle, a circuit with no qubits
        "huge register": 1, "huge register (hex)": 1, "huge register (const)": 1,
        "no qubits": 1,
        # k < 1, k larger than the qubit count
        "--qpus 0": 2, "--qpus negative": 2, "--qpus > qubits": 2, "network without QPUs": 1,
        # a zero or negative capacity
        "--capacity 0": 2, "--capacity negative": 2, "network zero capacity": 1,
        "network negative capacity": 1,
        # a cluster too small for the circuit
        "cluster too small": 1, "network too small": 1,
        # zero communication qubits where a remote gate is needed
        "--comm-qubits 0": 1, "--comm-qubits 0 with --out": 1, "network zero comm qubits": 1,
        # a disconnected network
        "network disconnected": 1,
        # a network file with unknown keys, wrong types or duplicate names
        "network unknown key": 1, "network wrong type": 1, "network duplicate names": 1,
        # a QPU smaller than one QEC block
        "QPU smaller than a QEC block (flags)": 2, "QPU smaller than a QEC block (file)": 1,
    }
    codes = {r[0]: r[2] for r in REFUSALS}
    for needed, code in issue_8.items():
        assert codes.get(needed) == code, needed


@pytest.mark.parametrize("argv, code, message, click_parsed",
                         [(*r[1:], r[0] in CLICK_PARSED) for r in REFUSALS],
                         ids=[r[0] for r in REFUSALS])
def test_refusal_with_debug_raises(files, argv, code, message, click_parsed):
    """--debug lets the exception (and so its traceback) through; its message is the line
    printed without --debug.  Click's own option errors are refused before araqne runs."""
    from araqne.errors import AraqneError

    argv = _argv(argv, files)
    plain = run(*argv)
    res = run(*argv, "--debug")
    if click_parsed:
        assert res.exit_code == code and res.stderr == plain.stderr
        return
    assert isinstance(res.exception, AraqneError), (res.exception, res.output)
    assert res.exception.exit_code == code
    assert res.exc_info[2] is not None  # the traceback
    assert plain.stderr == f"araqne: error: {' '.join(str(res.exception).split())}\n"
    assert not any(p.name.startswith(".") for p in files.iterdir())  # no temporary folder


def test_debug_prints_the_traceback(files):
    """In a real process, --debug shows Python's traceback on stderr."""
    import subprocess
    import sys

    cmd = [sys.executable, "-m", "araqne.cli", "partition", str(files / "empty.qasm"), "-k",
           "2", "--debug"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert proc.stderr.startswith("Traceback (most recent call last):"), proc.stderr
    assert proc.stderr.rstrip().endswith("empty.qasm: empty file")
    proc = subprocess.run(cmd[:-1], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert proc.stderr == f"araqne: error: {files / 'empty.qasm'}: empty file\n"


def test_internal_error_is_one_line(monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("kaboom\nsecond line")

    monkeypatch.setattr(araqne.api, "partition", boom)
    res = run("partition", GHZ, "-k", 2)
    assert res.exit_code == 3
    assert res.stderr.count("\n") == 1
    assert res.stderr.startswith("araqne: error: internal error: RuntimeError: kaboom")
    assert "Traceback" not in res.output
    res = run("partition", GHZ, "-k", 2, "--debug")
    assert isinstance(res.exception, RuntimeError)  # --debug lets the traceback through


def test_araqne_error_with_debug_raises(files):
    res = run("partition", files / "empty.qasm", "-k", 2, "--debug")
    assert type(res.exception).__name__ == "InputError"


def test_interrupt_writes_nothing(monkeypatch, tmp_path):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(araqne.api, "partition", interrupted)
    out = tmp_path / "out"
    res = run("partition", GHZ, "-k", 2, "--out", out)
    assert res.exit_code == 130
    assert res.stderr == "araqne: error: interrupted; nothing was written\n"
    assert list(tmp_path.iterdir()) == []


def test_interrupt_while_writing_leaves_no_partial_folder(monkeypatch, tmp_path):
    out = tmp_path / "out"
    real_open = open
    calls = []

    def flaky_open(*args, **kwargs):
        calls.append(args[0])
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real_open(*args, **kwargs)

    monkeypatch.setattr(cli, "open", flaky_open, raising=False)
    res = run("partition", GHZ, "-k", 2, "--out", out)
    assert res.exit_code == 130
    assert list(tmp_path.iterdir()) == []  # neither --out nor a temporary folder
    # replacing with --force: the old folder survives an interruption intact
    out.mkdir()
    (out / "old.txt").write_text("old", encoding="utf-8")
    calls.clear()
    res = run("partition", GHZ, "-k", 2, "--out", out, "--force")
    assert res.exit_code == 130
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
    assert [p.name for p in out.iterdir()] == ["old.txt"]


def test_json_prints_json_only():
    res = run("partition", QFT16, "-k", 2, "--json")
    assert res.exit_code == 0, res.output
    assert res.stderr == ""
    summary = json.loads(res.stdout)
    assert summary["num_qubits"] == 16
    assert len(summary["assignment"]) == 16
    assert {q["name"] for q in summary["qpus"]} == {"qpu0", "qpu1"}


def test_without_out_the_cli_does_not_emit(monkeypatch):
    """Without --out or --verify the CLI asks for no emission (the API may still emit to
    choose among candidate partitions)."""
    real = araqne.api.partition

    def partition(*args, **kwargs):
        result = real(*args, **kwargs)

        def no_emit():
            raise AssertionError("the CLI emitted without --out")

        result.emit = no_emit
        return result

    monkeypatch.setattr(araqne.api, "partition", partition)
    res = run("partition", QFT16, "-k", 4, "--topology", "ring")
    assert res.exit_code == 0, res.output
    assert "e-bits:" in res.stdout
    assert "qpu3" in res.stdout


def test_quiet_prints_nothing(tmp_path):
    res = run("partition", GHZ, "-k", 2, "--quiet", "--out", tmp_path / "o")
    assert res.exit_code == 0
    assert res.output == ""
    assert (tmp_path / "o" / "summary.json").exists()
    res = run("partition", GHZ, "-k", 2, "--quiet", "--json")
    assert json.loads(res.stdout)["num_qubits"] == 8


def test_out_writes_the_four_kinds_of_files(tmp_path):
    out = tmp_path / "deep" / "out"
    res = run("partition", QFT16, "-k", 3, "--out", out, "--json")
    assert res.exit_code == 0, res.output
    names = sorted(p.name for p in out.iterdir())
    assert names == ["distributed.qasm", "qpu0.qasm", "qpu1.qasm", "qpu2.qasm",
                     "schedule.json", "summary.json"]
    assert sorted(p.name for p in out.parent.iterdir()) == ["out"]  # no temporary leftovers
    summary = json.loads((out / "summary.json").read_text())
    printed = json.loads(res.stdout)
    assert isinstance(summary.pop("timings"), dict)  # wall clock, as the contract asks
    assert isinstance(printed.pop("timings"), dict)  # printed too (with the writing of --out)
    assert summary == printed
    assert "ebits_model" in summary and "peak_comm_in_use" in summary["qpus"][0]
    json.loads((out / "schedule.json").read_text())
    assert (out / "distributed.qasm").read_text().startswith("OPENQASM 3")
    # a second run refuses the folder, --force replaces it (stale files go)
    (out / "stale.txt").write_text("stale", encoding="utf-8")
    res = run("partition", QFT16, "-k", 2, "--out", out)
    assert res.exit_code == 2 and "not empty" in res.stderr
    assert (out / "stale.txt").exists()
    res = run("partition", QFT16, "-k", 2, "--out", out, "--force")
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in out.iterdir()) == ["distributed.qasm", "qpu0.qasm",
                                                     "qpu1.qasm", "schedule.json",
                                                     "summary.json"]
    assert f"wrote {out}" in res.stdout
    # an empty existing folder is fine without --force
    empty = tmp_path / "empty"
    empty.mkdir()
    assert run("partition", GHZ, "-k", 2, "--out", empty).exit_code == 0
    assert (empty / "schedule.json").exists()


def test_outputs_are_reproducible(tmp_path):
    for name in ("a", "b"):
        res = run("partition", QFT16, "-k", 4, "--topology", "line", "--seed", 7,
                  "--out", tmp_path / name, "--no-timings")
        assert res.exit_code == 0, res.output
    a, b = tmp_path / "a", tmp_path / "b"
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(p.name for p in b.iterdir())
    for name in names:  # summary.json too: --no-timings leaves the wall-clock times out
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_table_prints_the_path_and_the_stage_times():
    res = run("partition", GHZ, "-k", 2)
    assert res.exit_code == 0, res.output
    assert res.stdout.startswith(f"{GHZ}: 8 qubits")
    line = [x for x in res.stdout.splitlines() if x.startswith("wall clock: ")]
    assert len(line) == 1 and "partition" in line[0] and line[0].endswith(" s"), res.stdout


def test_network_file():
    res = run("partition", GHZ, "--network", HETERO, "--json")
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    assert [q["name"] for q in summary["qpus"]] == ["big", "mid1", "mid2", "small"]


def test_verify_command_passes():
    res = run("verify", GHZ, "--qpus", 2)
    assert res.exit_code == 0, res.output
    assert res.stdout.startswith("PASS")
    res = run("verify", GHZ, "--qpus", 2, "--json", "--samples", 2, "--shots", 2)
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    assert report["passed"] is True and report["samples"] == 2 and report["ebits"] >= 1


def test_partition_verify_qasm3(tmp_path):
    res = run("partition", QFT8_QASM3, "--qpus", 2, "--verify")
    assert res.exit_code == 0, res.output
    assert "verification: PASS" in res.stdout
    assert "worst fidelity" in res.stdout
    res = run("partition", QFT8_QASM3, "--qpus", 2, "--verify", "--json", "--out",
              tmp_path / "o")
    assert res.exit_code == 0, res.output
    printed = json.loads(res.stdout)
    assert printed["verification"]["passed"] is True
    assert printed["verification"]["method"] in ("statevector", "distribution")
    written = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert "verification" not in written


def test_failed_verification_exits_1_and_writes_nothing(monkeypatch, tmp_path):
    real = araqne.verification.verify_program

    def wrong(*args, **kwargs):
        report = real(*args, **kwargs)
        report.worst_fidelity = 0.5
        report.fidelities = [0.5]
        return report

    monkeypatch.setattr(araqne.verification, "verify_program", wrong)
    res = run("partition", GHZ, "-k", 2, "--verify", "--out", tmp_path / "o")
    assert res.exit_code == 1
    assert res.stderr.startswith("araqne: error: verification failed: FAIL")
    assert res.stderr.count("\n") == 1
    assert list(tmp_path.iterdir()) == []
    res = run("verify", GHZ, "-k", 2, "--json")
    assert res.exit_code == 1
    assert json.loads(res.stdout)["passed"] is False


def test_help_and_version():
    assert run("--version").exit_code == 0
    res = run("partition", "--help")
    assert res.exit_code == 0 and "--comm-qubits" in res.stdout
    assert run("verify", "--help").exit_code == 0
