"""Issue #8 part 5: the same input, options and seed give byte-identical output files.

``araqne partition ... --out DIR`` is run in separate processes (``python -m araqne.cli``)
several times -- repeated, under different ``PYTHONHASHSEED`` values, from different working
directories -- and every file of ``DIR`` is compared byte for byte.

One exception, marked: ``summary.json`` holds ``timings``, the wall-clock seconds of each stage,
which differ from run to run, so ``summary.json`` is *not* byte-identical across runs
(``test_summary_json_is_byte_identical`` is an expected failure that records this).  Everywhere
else it is compared with ``timings`` removed and every other byte equal (the file is re-serialised
only after removing that one key, and the re-serialised text of the rest must match exactly).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("qiskit_qasm3_import")

ROOT = Path(__file__).resolve().parents[1]
CIRCUITS = ROOT / "circuits"
CLUSTERS = ROOT / "examples" / "clusters"

#: Key of summary.json that holds wall-clock times (not reproducible by nature).
TIMINGS = "timings"

DYNAMIC_QASM = """OPENQASM 2.0;
include "qelib1.inc";
qreg q[6];
creg c[6];
h q[0];
cx q[0], q[3];
ccx q[0], q[3], q[5];
measure q[3] -> c[3];
if (c == 8) x q[1];
swap q[1], q[4];
rzz(0.3) q[2], q[5];
reset q[3];
cu(0.1, 0.2, 0.3, 0.4) q[4], q[2];
measure q -> c;
"""

TREE_NETWORK = {
    "qpu": [{"name": "a", "qubits": 3, "comm_qubits": 1},
            {"name": "b", "qubits": 2, "comm_qubits": 2},
            {"name": "c", "qubits": 3, "comm_qubits": 1},
            {"name": "d", "qubits": 4, "comm_qubits": 3}],
    "link": [{"between": ["b", "a"]}, {"between": ["b", "c"]}, {"between": ["c", "d"]}],
}

# (id, circuit, options): circuits and clusters that exercise every stage that could depend on
# iteration order or hashing: QASM 2 and 3, dynamic circuits, general networks (Steiner
# costs), heterogeneous capacities and durations, few communication qubits (the comm-aware
# candidates), QEC codes, routing on a coupling map.
CASES = [
    ("qft16-line", "circuits/qft_16.qasm", ["-k", "4", "--topology", "line", "--seed", "7"]),
    ("qaoa12-ring-comm1", "circuits/qaoa_maxcut_12.qasm",
     ["-k", "3", "--topology", "ring", "--comm-qubits", "1", "--seed", "3"]),
    ("qft8-qasm3-star", "circuits/qft_8_qasm3.qasm",
     ["-k", "3", "--topology", "star", "--capacity", "4", "--seed", "11", "--effort", "2"]),
    ("random10-hetero-route", "circuits/random_10.qasm",
     ["--network", "examples/clusters/hetero_line.toml", "--seed", "5", "--route"]),
    ("dynamic-tree", "{tmp}/dynamic.qasm", ["--network", "{tmp}/tree.json", "--seed", "2"]),
    ("ghz8-surface", "circuits/ghz_8.qasm",
     ["--network", "examples/clusters/surface_d5.toml", "--seed", "0"]),
    ("uccsd12-no-reorder", "circuits/suite/uccsd_like_12.qasm",
     ["-k", "4", "--seed", "9", "--no-reorder", "--no-comm-aware"]),
]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("inputs")
    (tmp / "dynamic.qasm").write_text(DYNAMIC_QASM)
    (tmp / "tree.json").write_text(json.dumps(TREE_NETWORK))
    return tmp


def _args(items: list[str], tmp: Path) -> list[str]:
    out = []
    for item in items:
        item = item.replace("{tmp}", str(tmp))
        if item.startswith(("circuits/", "examples/")):
            item = str(ROOT / item)  # absolute: the runs may start in different folders
        out.append(item)
    return out


def _partition(circuit: str, options: list[str], out: Path, tmp: Path, *, hashseed: str = "0",
               cwd: Path = ROOT) -> dict[str, bytes]:
    """Run ``python -m araqne.cli partition`` in a fresh process; return the files of ``out``."""
    env = dict(os.environ)
    env["PYTHONHASHSEED"] = hashseed
    cmd = [sys.executable, "-m", "araqne.cli", "partition", *_args([circuit], tmp),
           *_args(options, tmp), "--out", str(out), "--quiet"]
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, (cmd, proc.stdout, proc.stderr)
    files = {p.name: p.read_bytes() for p in sorted(out.iterdir())}
    assert {"summary.json", "distributed.qasm", "schedule.json", "qpu0.qasm"} <= set(files)
    return files


def _without_timings(data: bytes) -> bytes:
    """summary.json with the wall-clock ``timings`` removed, serialised as araqne writes it."""
    summary = json.loads(data)
    assert isinstance(summary.pop(TIMINGS), dict)
    return (json.dumps(summary, indent=2) + "\n").encode()


def _assert_same(a: dict[str, bytes], b: dict[str, bytes], what: str) -> None:
    assert sorted(a) == sorted(b), what
    for name in a:
        if name == "summary.json":
            # MARKED: summary.json is compared without its wall-clock "timings" (see the module
            # doc); everything else in it must be byte-identical.
            assert _without_timings(a[name]) == _without_timings(b[name]), f"{what}: {name}"
        else:
            assert a[name] == b[name], f"{what}: {name} differs"


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_two_processes_write_identical_files(case, inputs, tmp_path):
    _, circuit, options = case
    first = _partition(circuit, options, tmp_path / "a", inputs)
    second = _partition(circuit, options, tmp_path / "b", inputs)
    _assert_same(first, second, "two runs")


@pytest.mark.slow
@pytest.mark.parametrize("case", [CASES[1], CASES[3], CASES[4]], ids=[CASES[i][0]
                                                                      for i in (1, 3, 4)])
def test_hash_seed_and_working_directory_do_not_change_outputs(case, inputs, tmp_path):
    """Set and string iteration order depends on ``PYTHONHASHSEED``; outputs must not."""
    _, circuit, options = case
    reference = _partition(circuit, options, tmp_path / "ref", inputs, hashseed="0")
    for i, hashseed in enumerate(["1", "4242", "random"]):
        cwd = tmp_path if i == 1 else ROOT
        other = _partition(circuit, options, tmp_path / f"h{i}", inputs, hashseed=hashseed,
                           cwd=cwd)
        _assert_same(reference, other, f"PYTHONHASHSEED={hashseed} cwd={cwd}")


def test_summary_timings_are_the_only_difference(inputs, tmp_path):
    """summary.json differs between runs in ``timings`` alone: its other keys and their order
    are equal, and ``timings`` holds only per-stage seconds."""
    _, circuit, options = CASES[0]
    a = json.loads(_partition(circuit, options, tmp_path / "a", inputs)["summary.json"])
    b = json.loads(_partition(circuit, options, tmp_path / "b", inputs)["summary.json"])
    assert list(a) == list(b)
    for key in a:
        if key != TIMINGS:
            assert a[key] == b[key], key
    assert set(a[TIMINGS]) == set(b[TIMINGS])
    assert all(isinstance(v, float) and v >= 0 for v in a[TIMINGS].values())


@pytest.mark.xfail(strict=True, reason="summary.json holds wall-clock 'timings', so it is not "
                                        "byte-identical across runs (reported in issue #8; "
                                        "remove this mark when timings move out of it or "
                                        "can be turned off)")
def test_summary_json_is_byte_identical(inputs, tmp_path):
    _, circuit, options = CASES[2]
    a = _partition(circuit, options, tmp_path / "a", inputs)["summary.json"]
    b = _partition(circuit, options, tmp_path / "b", inputs)["summary.json"]
    assert a == b


def test_api_in_process_matches_the_cli(inputs, tmp_path):
    """:meth:`PartitionResult.output_files` of :func:`araqne.distribute` in this process gives
    the bytes the CLI writes from another process (timings aside)."""
    import araqne
    from araqne.frontend import load
    from araqne.network import Network

    path = str(ROOT / "circuits" / "qaoa_maxcut_12.qasm")
    cli = _partition(path, ["-k", "3", "--topology", "ring", "--comm-qubits", "1", "--seed", "3"],
                     tmp_path / "cli", inputs)
    circ = load(path)
    net = Network.uniform(3, -(-circ.num_qubits // 3), comm_qubits=1, topology="ring")
    api = {k: v.encode() for k, v in araqne.distribute(circ, net, seed=3).output_files().items()}
    _assert_same(cli, api, "CLI vs API")
