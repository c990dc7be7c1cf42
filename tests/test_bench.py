"""``araqne bench``: the runner's records, --check against a baseline, --jobs and Dask.

Runs two small quick-tier circuits at k = 2 and 4.  The end-to-end runs compare e-bits and
partitions (assignment digests), never times, so they do not depend on the machine's load; the
time check itself is tested on made-up documents and on the re-timing of a case that looks
slower.
"""

from __future__ import annotations

import copy
import csv
import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from araqne import bench as B
from araqne.bench import bench

ONLY = "bernstein_vazirani_16,qaoa_regular3_16"
QPUS = "2,4"
SAME = ("circuit", "k", "capacity", "seed", "num_qubits", "num_ops", "ebits", "ebits_model",
        "emitted", "assignment_sha")


def run(*args):
    return CliRunner().invoke(bench, [str(a) for a in args])


def identical(a: list[dict], b: list[dict]) -> bool:
    return [tuple(c[f] for f in SAME) for c in a] == [tuple(c[f] for f in SAME) for c in b]


@pytest.fixture(scope="module")
def baseline(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bench") / "base.json"
    res = run("--only", ONLY, "--qpus", QPUS, "--seed", "0", "--repeat", "1", "--out", out)
    assert res.exit_code == 0, res.output
    return out


def untimed(doc: dict) -> dict:
    """A copy whose baseline times are too short to be checked (e-bits only)."""
    doc = copy.deepcopy(doc)
    for case in doc["cases"]:
        case["seconds"] = case["cpu_seconds"] = 0.001
    return doc


def test_records_json_and_csv(baseline):
    doc = json.loads(baseline.read_text())
    cases = doc["cases"]
    assert [(c["circuit"], c["k"]) for c in cases] == [
        ("bernstein_vazirani_16", 2), ("bernstein_vazirani_16", 4),
        ("qaoa_regular3_16", 2), ("qaoa_regular3_16", 4)]
    for c in cases:
        assert c["capacity"] == -(-c["num_qubits"] // c["k"])
        assert c["ebits"] >= c["ebits_model"] >= 1
        assert c["emitted"] and c["deterministic"]
        assert c["seconds"] > 0 and c["cpu_seconds"] > 0 and c["ref_seconds"] > 0
        assert c["time_ratio"] == pytest.approx(c["cpu_seconds"] / c["ref_seconds"], rel=1e-3)
        assert {"frontend", "hypergraph", "partition"} <= set(c["timings"])
        assert c["peak_mem_mib"] > 0
    meta = doc["metadata"]
    assert meta["command"].startswith("araqne bench --only " + ONLY + " --qpus 2,4 --seed 0")
    assert meta["seed"] == 0 and meta["qpus"] == [2, 4]
    assert "tracemalloc" in meta["memory"]
    rows = list(csv.DictReader(baseline.with_suffix(".csv").open()))
    assert [(r["circuit"], int(r["k"]), int(r["ebits"])) for r in rows] == \
        [(c["circuit"], c["k"], c["ebits"]) for c in cases]
    assert list(rows[0]) == list(B.CSV_COLUMNS)


def test_check_fails_on_a_worsened_result_and_same_seed_is_identical(baseline, tmp_path):
    base = json.loads(baseline.read_text())
    edited = untimed(base)
    worse = edited["cases"][3]           # qaoa_regular3_16 k=4: claim one e-bit fewer
    worse["ebits"] -= 1
    better = edited["cases"][0]          # bernstein_vazirani_16 k=2: claim one more
    better["ebits"] += 1
    better["ebits_model"] += 1
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(edited))
    again = tmp_path / "again.json"
    res = run("--only", ONLY, "--qpus", QPUS, "--repeat", "1", "--no-memory",
              "--check", path, "--out", again)
    assert res.exit_code == 1, res.output
    n = worse["ebits"]
    line = f"regression: qaoa_regular3_16 k=4: e-bits {n + 1} > baseline {n} (+1)"
    assert line in res.stderr.splitlines()
    assert "araqne: error: 1 regression against" in res.stderr
    assert "improvement: bernstein_vazirani_16 k=2: e-bits" in res.stdout
    # the outputs are written before the check fails; same seed twice -> identical results
    doc = json.loads(again.read_text())
    assert identical(doc["cases"], base["cases"])
    assert doc["check"]["passed"] is False and len(doc["check"]["regressions"]) == 1


def test_check_passes_against_itself(baseline, tmp_path):
    path = tmp_path / "same.json"
    path.write_text(json.dumps(untimed(json.loads(baseline.read_text()))))
    res = run("--only", "qaoa_regular3_16", "--qpus", QPUS, "--repeat", "1", "--no-memory",
              "--check", path, "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["check"]["passed"] and not doc["check"]["regressions"]
    assert doc["check"]["time_skipped"] == ["qaoa_regular3_16"]
    assert any("bernstein_vazirani_16 k=2: in the baseline, not run" in n
               for n in doc["check"]["notes"])


def test_jobs_2_identical_to_serial(baseline):
    base = json.loads(baseline.read_text())
    doc = B.run_bench(only=ONLY.split(","), qpus=(2, 4), seed=0, jobs=2, repeat=1,
                      memory=False)
    assert identical(doc["cases"], base["cases"])
    assert doc["metadata"]["jobs"] == 2


def test_dask_local_cluster_identical(baseline, tmp_path):
    distributed = pytest.importorskip("distributed", reason="dask.distributed not installed "
                                      "(pip install 'araqne[dask]')")
    base = json.loads(baseline.read_text())
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        out = tmp_path / "dask.json"
        res = run("--only", ONLY, "--qpus", QPUS, "--repeat", "1", "--no-memory",
                  "--executor", "dask", "--scheduler", cluster.scheduler_address, "--out", out)
    assert res.exit_code == 0, res.output
    doc = json.loads(out.read_text())
    assert identical(doc["cases"], base["cases"])
    assert doc["metadata"]["executor"] == "dask"


def test_dask_missing_is_one_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    res = run("--only", "qaoa_regular3_16", "--qpus", "2", "--executor", "dask",
              "--scheduler", "tcp://127.0.0.1:1")
    assert res.exit_code == 1
    assert res.stderr.strip().splitlines() == [
        "araqne: error: --executor dask needs dask.distributed, which is not installed: "
        "pip install 'araqne[dask]'"]


@pytest.mark.parametrize("args, code, text", [
    (["--executor", "dask"], 2, "needs --scheduler"),
    (["--scheduler", "tcp://x:1"], 2, "--scheduler needs --executor dask"),
    (["--out", "results.csv"], 2, "give the JSON path"),
    (["--only", "nope"], 2, "unknown suite circuit 'nope'"),
    (["--check", "missing.json"], 1, "no such file"),
])
def test_refusals(args, code, text, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = run("--only", "qaoa_regular3_16", "--qpus", "2", *args)
    assert res.exit_code == code, res.output
    assert text in res.stderr and res.stderr.count("\n") == 1


def test_check_refuses_another_seed(baseline):
    res = run("--only", "qaoa_regular3_16", "--qpus", "2", "--seed", "1", "--check", baseline)
    assert res.exit_code == 2
    assert "baseline was run with --seed 0" in res.stderr


def test_malformed_baseline(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{"cases": [{"circuit": "x"}]}')
    res = run("--only", "qaoa_regular3_16", "--qpus", "2", "--check", path)
    assert res.exit_code == 1 and "case 0 lacks k, ebits" in res.stderr


# ------------------------------------------------------------------------------------------------
# the time check on made-up documents


def _doc(rows):
    return {"metadata": {"seed": 0}, "cases": [
        {"circuit": c, "k": k, "seed": 0, "ebits": e, "ebits_model": e, "seconds": s,
         "cpu_seconds": s, "time_ratio": r, "deterministic": True} for c, k, e, s, r in rows]}


def test_time_regression_is_per_circuit_and_skips_short_ones():
    base = _doc([("a", 2, 5, 0.2, 10.0), ("a", 4, 9, 0.3, 15.0),
                 ("b", 2, 1, 0.01, 1.0), ("b", 4, 2, 0.02, 1.0),
                 ("c", 2, 3, 0.5, 20.0)])
    now = _doc([("a", 2, 5, 0.2, 10.0), ("a", 4, 9, 0.9, 45.0),    # 55 / 25 = 2.2x
                ("b", 2, 1, 0.1, 10.0), ("b", 4, 2, 0.1, 10.0),    # 10x, but too short
                ("c", 2, 3, 0.2, 8.0)])                            # faster
    res = B.compare(now, base)
    assert res.regressions == ["a (k=2,4): time ratio 55.00 vs baseline 25.00 (x2.20 > x1.5)"]
    assert res.slower == ["a"]
    assert res.time_skipped == ["b"] and res.time_checked == ["a", "c"]
    assert res.improvements == ["c (k=2): time ratio 8.00 vs baseline 20.00 (x0.40, faster)"]
    # within 1.5x: noise, not a regression
    now["cases"][1]["time_ratio"] = 20.0                             # 30 / 25 = 1.2x
    assert B.compare(now, base).passed


def test_nondeterministic_case_is_a_regression():
    base = _doc([("a", 2, 5, 0.2, 10.0)])
    now = _doc([("a", 2, 5, 0.2, 10.0)])
    now["cases"][0]["deterministic"] = False
    assert "different partitions" in B.compare(now, base).regressions[0]


def test_slower_looking_circuit_is_retimed_before_it_counts(baseline):
    base = json.loads(baseline.read_text())
    base = {"metadata": base["metadata"],
            "cases": [c for c in base["cases"] if c["circuit"] == "qaoa_regular3_16"]}
    for c in base["cases"]:                      # margin against the machine's noise
        c["time_ratio"] *= 3
        c["seconds"] = c["cpu_seconds"] = 1.0
    now = copy.deepcopy(base)
    for c in now["cases"]:                       # a burst of load during the run
        c["time_ratio"] *= 10
    seen = []
    res = B.check(now, base, on_retime=seen.append)
    assert seen == [["qaoa_regular3_16"]]
    assert res.passed, res.regressions
    assert all(c["retimed"] and c["deterministic"] for c in now["cases"])
