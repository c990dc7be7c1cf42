"""Issue #8 part 5: the same input, options and seed give byte-identical output files.

``araqne partition ... --out DIR`` is run in separate processes (``python -m araqne.cli``)
several times -- repeated, under different ``PYTHONHASHSEED`` values, from different working
directories, with the circuit's path typed differently -- and every file of ``DIR`` is
compared byte for byte, ``summary.json`` included: it holds no wall-clock time (the stage
times are printed by ``--json`` and in the table, never written) and names the input by its
file name and :func:`araqne.api.circuit_sha256`, not by the path as typed.

``araqne bench --out`` files hold times and run metadata by nature; their reproducible part is
the columns :data:`araqne.bench.REPRODUCIBLE_COLUMNS` (the e-bits and the partition digest),
which must be equal whatever ``--jobs``.
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
               cwd: Path = ROOT, threads: str | None = None) -> dict[str, bytes]:
    """Run ``python -m araqne.cli partition`` in a fresh process; return the files of ``out``."""
    env = dict(os.environ)
    env["PYTHONHASHSEED"] = hashseed
    if threads is not None:
        env["ARAQNE_THREADS"] = threads
    cmd = [sys.executable, "-m", "araqne.cli", "partition", *_args([circuit], tmp),
           *_args(options, tmp), "--out", str(out), "--quiet", "--no-timings"]
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, (cmd, proc.stdout, proc.stderr)
    files = {p.name: p.read_bytes() for p in sorted(out.iterdir())}
    assert {"summary.json", "distributed.qasm", "schedule.json", "qpu0.qasm"} <= set(files)
    return files


def _assert_same(a: dict[str, bytes], b: dict[str, bytes], what: str) -> None:
    assert sorted(a) == sorted(b), what
    for name in a:
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


@pytest.mark.parametrize("case", [CASES[0], CASES[6]], ids=[CASES[0][0], CASES[6][0]])
def test_thread_count_does_not_change_outputs(case, inputs, tmp_path):
    """The parallel searches keep the first best result in task order: one thread or four
    give the same files."""
    _, circuit, options = case
    one = _partition(circuit, options, tmp_path / "t1", inputs, threads="1")
    four = _partition(circuit, options, tmp_path / "t4", inputs, threads="4")
    _assert_same(one, four, "ARAQNE_THREADS=1 against 4")


def test_summary_json_is_byte_identical(inputs, tmp_path):
    _, circuit, options = CASES[2]
    a = _partition(circuit, options, tmp_path / "a", inputs)["summary.json"]
    b = _partition(circuit, options, tmp_path / "b", inputs)["summary.json"]
    assert a == b


def test_wall_clock_times_are_only_in_the_timings_of_summary_json(tmp_path):
    """The output contract puts the stage times in summary.json (``timings``, last key): two
    default runs differ there and nowhere else, ``--no-timings`` leaves them out, and --json
    prints them (benchmarks/bench_scale.py reads them there)."""
    env = dict(os.environ, PYTHONHASHSEED="0")
    base = [sys.executable, "-m", "araqne.cli", "partition", str(CIRCUITS / "qft_16.qasm"),
            "-k", "4"]
    runs = []
    for name in ("a", "b"):
        proc = subprocess.run(base + ["--out", str(tmp_path / name), "--json"], cwd=ROOT,
                              env=env, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
        runs.append((json.loads(proc.stdout), tmp_path / name))
    (printed, out_a), (_, out_b) = runs
    written = json.loads((out_a / "summary.json").read_text())
    timings = written.pop("timings")
    assert list(json.loads((out_a / "summary.json").read_text()))[-1] == "timings"
    assert {"frontend", "hypergraph", "partition", "backend"} <= set(timings)
    assert all(isinstance(v, float) and v >= 0 for v in timings.values())
    assert set(printed.pop("timings")) >= set(timings)
    assert printed == written
    other = json.loads((out_b / "summary.json").read_text())
    other.pop("timings")
    assert other == written
    for name in ("distributed.qasm", "schedule.json", "qpu0.qasm"):
        assert (out_a / name).read_bytes() == (out_b / name).read_bytes(), name
    proc = subprocess.run(base + ["--out", str(tmp_path / "c"), "--quiet", "--no-timings"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert json.loads((tmp_path / "c" / "summary.json").read_text()) == written

    def keys(node):
        if isinstance(node, dict):
            for k, v in node.items():
                yield k
                yield from keys(v)
        elif isinstance(node, list):
            for v in node:
                yield from keys(v)

    for name in ("summary.json", "schedule.json"):
        doc = json.loads((tmp_path / "c" / name).read_text())
        for key in keys(doc):  # no other wall-clock field anywhere
            assert not any(w in key for w in ("timings", "seconds", "date", "wall")), (name, key)


def test_input_is_the_file_name_and_the_circuit_hash(tmp_path):
    """The same file typed as a relative, absolute or roundabout path, or copied elsewhere
    under the same name (with a comment added), gives the same bytes; a changed circuit
    changes the hash."""
    from araqne.api import circuit_sha256
    from araqne.frontend import load

    src = CIRCUITS / "ghz_8.qasm"
    copy_dir = tmp_path / "elsewhere"
    copy_dir.mkdir()
    (copy_dir / "ghz_8.qasm").write_bytes(src.read_bytes() + b"// a trailing comment\n")
    typed = [("circuits/ghz_8.qasm", ROOT), (str(src), tmp_path),
             ("./circuits/../circuits/ghz_8.qasm", ROOT), ("ghz_8.qasm", copy_dir)]
    runs = []
    for i, (path, cwd) in enumerate(typed):
        env = dict(os.environ, PYTHONHASHSEED="0")
        out = tmp_path / f"o{i}"
        cmd = [sys.executable, "-m", "araqne.cli", "partition", path, "-k", "2", "--out",
               str(out), "--quiet", "--no-timings"]
        proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True,
                              timeout=300)
        assert proc.returncode == 0, proc.stderr
        runs.append({p.name: p.read_bytes() for p in sorted(out.iterdir())})
    for other in runs[1:]:
        _assert_same(runs[0], other, "path typed differently")
    summary = json.loads(runs[0]["summary.json"])
    assert summary["input"] == "ghz_8.qasm"
    assert summary["circuit_sha256"] == circuit_sha256(load(src))
    changed = src.read_text().replace("h q[0];", "x q[0];")
    assert changed != src.read_text()
    assert circuit_sha256(load(changed)) != summary["circuit_sha256"]


@pytest.mark.slow
def test_bench_reproducible_columns_are_equal_across_jobs(tmp_path):
    """``araqne bench --out`` with --jobs 1 and --jobs 2 (and another hash seed): the CSV
    restricted to REPRODUCIBLE_COLUMNS is byte-identical, and so are those fields of the JSON
    cases; the other columns are times and may differ."""
    import csv
    import io

    from araqne.bench import REPRODUCIBLE_COLUMNS

    texts, docs = [], []
    for jobs, hashseed in (("1", "0"), ("2", "77")):
        env = dict(os.environ, PYTHONHASHSEED=hashseed)
        out = tmp_path / f"bench_{jobs}.json"
        cmd = [sys.executable, "-m", "araqne.cli", "bench", "--only",
               "bernstein_vazirani_16,qaoa_regular3_16", "--qpus", "2,4", "--repeat", "1",
               "--no-memory", "--jobs", jobs, "--out", str(out), "--quiet"]
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=600)
        assert proc.returncode == 0, proc.stderr
        rows = list(csv.DictReader(io.StringIO(out.with_suffix(".csv").read_text())))
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(REPRODUCIBLE_COLUMNS)
        for row in rows:
            writer.writerow([row[c] for c in REPRODUCIBLE_COLUMNS])
        texts.append(buf.getvalue().encode())
        docs.append([[case[c] for c in REPRODUCIBLE_COLUMNS]
                     for case in json.loads(out.read_text())["cases"]])
    assert texts[0] == texts[1]
    assert docs[0] == docs[1]
    assert len(docs[0]) == 4


def test_api_in_process_matches_the_cli(inputs, tmp_path):
    """:meth:`PartitionResult.output_files` of :func:`araqne.distribute` in this process gives
    the bytes the CLI writes from another process."""
    import araqne
    from araqne.frontend import load
    from araqne.network import Network

    path = str(ROOT / "circuits" / "qaoa_maxcut_12.qasm")
    cli = _partition(path, ["-k", "3", "--topology", "ring", "--comm-qubits", "1", "--seed", "3"],
                     tmp_path / "cli", inputs)
    circ = load(path)
    net = Network.uniform(3, -(-circ.num_qubits // 3), comm_qubits=1, topology="ring")
    result = araqne.distribute(circ, net, seed=3)
    api = {k: v.encode() for k, v in result.output_files(timings=False).items()}
    _assert_same(cli, api, "CLI vs API")
