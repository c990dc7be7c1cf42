"""The command line: every refusal (issue #8), JSON mode, --out, reproducibility, verification.

``REFUSALS`` is the list of every input the CLI refuses, with its exit code and a piece of its
one-line message.  Each must fail within seconds, print exactly one line on stderr and nothing on
stdout, show no traceback and write no ``--out`` folder.
"""

from __future__ import annotations

import json
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
}


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("cli_inputs")
    for name, text in FILES.items():
        (d / name).parent.mkdir(parents=True, exist_ok=True)
        (d / name).write_text(text, encoding="utf-8")
    (d / "binary.qasm").write_bytes(b"OPENQASM 2.0;\x00\x01\x02\xff")
    (d / "folder.qasm").mkdir()
    (d / "a_file").write_text("x", encoding="utf-8")
    return d


def run(*args, **kwargs):
    return CliRunner().invoke(main, [str(a) for a in args], **kwargs)


# (id, argv with {d} for the inputs folder, exit code, piece of the message)
REFUSALS = [
    # circuit file
    ("missing file", ["partition", "{d}/nope.qasm", "-k", 2], 1, "no such file"),
    ("directory as file", ["partition", "{d}/folder.qasm", "-k", 2], 1, "is a directory"),
    ("empty file", ["partition", "{d}/empty.qasm", "-k", 2], 1, "empty file"),
    ("binary file", ["partition", "{d}/binary.qasm", "-k", 2], 1, "binary file"),
    ("malformed QASM", ["partition", "{d}/malformed.qasm", "-k", 2], 1, "malformed.qasm:4:"),
    ("unknown gate", ["partition", "{d}/unknown_gate.qasm", "-k", 2], 1, "'foo'"),
    ("huge register", ["partition", "{d}/huge.qasm", "-k", 2], 1, "1000000000"),
    ("no qubits", ["partition", "{d}/no_qubits.qasm", "-k", 2], 1, "no qubits"),
    # cluster options
    ("missing --qpus", ["partition", GHZ], 2, "missing option --qpus"),
    ("--qpus 0", ["partition", GHZ, "-k", 0], 2, "'--qpus'"),
    ("--qpus > qubits", ["partition", GHZ, "-k", 9], 2, "--qpus 9 is more than the 8 qubits"),
    ("--capacity 0", ["partition", GHZ, "-k", 2, "-c", 0], 2, "'--capacity'"),
    ("--capacity negative", ["partition", GHZ, "-k", 2, "-c", -3], 2, "'--capacity'"),
    ("cluster too small", ["partition", GHZ, "-k", 2, "-c", 3], 1, "do not fit"),
    ("--comm-qubits negative", ["partition", GHZ, "-k", 2, "--comm-qubits", -1], 2,
     "'--comm-qubits'"),
    ("--comm-qubits 0 with --out", ["partition", GHZ, "-k", 2, "--comm-qubits", 0,
                                    "--out", "{d}/out_comm"], 1, "no communication qubits"),
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
     "cannot read network file"),
    ("network disconnected", ["partition", GHZ, "--network", "{d}/disconnected.toml"], 1,
     "disconnected"),
    ("network unknown key", ["partition", GHZ, "--network", "{d}/unknown_key.toml"], 1,
     "unknown key 'colour'"),
    ("network wrong type", ["partition", GHZ, "--network", "{d}/wrong_type.toml"], 1,
     "'qubits' must be an integer"),
    ("network duplicate names", ["partition", GHZ, "--network", "{d}/duplicate.toml"], 1,
     "duplicate QPU name"),
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
    ("--out not empty", ["partition", GHZ, "-k", 2, "--out", "{d}/full"], 2, "not empty"),
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
    ("verify --samples 0", ["verify", GHZ, "-k", 2, "--samples", 0], 2, "'--samples'"),
    ("verify --shots 0", ["verify", GHZ, "-k", 2, "--shots", 0], 2, "'--shots'"),
]


@pytest.mark.parametrize("argv, code, message", [r[1:] for r in REFUSALS],
                         ids=[r[0] for r in REFUSALS])
def test_refusal(files, argv, code, message):
    argv = [str(a).replace("{d}", str(files)) for a in argv]
    before = sorted(p.name for p in files.iterdir())
    t0 = time.perf_counter()
    res = run(*argv)
    elapsed = time.perf_counter() - t0
    assert res.exit_code == code, res.output
    assert res.stdout == ""
    lines = res.stderr.splitlines()
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("araqne: error: ")
    assert message in lines[0]
    assert "Traceback" not in res.output
    assert elapsed < 20, f"refusal took {elapsed:.1f} s"
    assert sorted(p.name for p in files.iterdir()) == before  # no --out, no temporary folder
    assert (files / "full" / "keep.txt").read_text() == "keep me\n"


def test_refusals_cover_issue_8():
    """The table holds every refusal the issue lists."""
    ids = {r[0] for r in REFUSALS}
    for needed in ("missing file", "directory as file", "empty file", "binary file",
                   "malformed QASM", "unknown gate", "huge register", "no qubits", "--qpus 0",
                   "--qpus > qubits", "--capacity 0", "--capacity negative", "cluster too small",
                   "--comm-qubits 0 with --out", "--comm-qubits 0 with --verify",
                   "network disconnected", "network unknown key", "network wrong type",
                   "network duplicate names", "QPU smaller than a QEC block (file)",
                   "--effort 0", "--out not empty"):
        assert needed in ids


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
    assert summary == json.loads(res.stdout)
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


def _without_timings(text: str) -> dict:
    data = json.loads(text)
    data.pop("timings")
    return data


def test_outputs_are_reproducible(tmp_path):
    for name in ("a", "b"):
        res = run("partition", QFT16, "-k", 4, "--topology", "line", "--seed", 7,
                  "--out", tmp_path / name)
        assert res.exit_code == 0, res.output
    a, b = tmp_path / "a", tmp_path / "b"
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(p.name for p in b.iterdir())
    for name in names:
        if name == "summary.json":  # the stage timings differ; everything else must not
            assert _without_timings((a / name).read_text()) == \
                _without_timings((b / name).read_text())
        else:
            assert (a / name).read_bytes() == (b / name).read_bytes(), name


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
