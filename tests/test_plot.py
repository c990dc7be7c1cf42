"""``araqne plot DIR``: the three figures of a real ``araqne partition --out DIR`` run, rendered
headless (MPLBACKEND=Agg) as PNG and SVG, and its one-line refusals."""

from __future__ import annotations

import json
import shutil
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

from araqne.cli import main
from araqne.plot import FIGURES, load_outputs, plot

ROOT = Path(__file__).resolve().parents[1]
QFT16 = ROOT / "circuits" / "qft_16.qasm"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def run(*args):
    return CliRunner().invoke(plot, [str(a) for a in args])


@pytest.fixture(scope="module")
def outdir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("plot") / "qft16"
    res = CliRunner().invoke(main, ["partition", str(QFT16), "--qpus", "4", "--out", str(out),
                                    "--quiet"])
    assert res.exit_code == 0, res.output
    return out


@pytest.fixture(autouse=True)
def headless(monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")


def test_reads_the_partition_outputs(outdir):
    data = load_outputs(outdir)
    summary = json.loads((outdir / "summary.json").read_text())
    assert data["k"] == 4 and data["data_qubits"] == [4, 4, 4, 4]
    assert data["assignment"] == summary["assignment"]
    assert sum(data["ebits_per_link"].values()) == summary["ebits"] == len(data["pairs"])
    assert data["all_to_all"]


@pytest.mark.parametrize("fmt", ["png", "svg"])
def test_renders_the_three_figures(outdir, tmp_path, fmt):
    pytest.importorskip("matplotlib")
    prefix = tmp_path / "figs" / "qft16"
    res = run(outdir, "--format", fmt, "--out", prefix)
    assert res.exit_code == 0, res.output
    paths = [Path(line) for line in res.stdout.splitlines()]
    assert paths == [tmp_path / "figs" / f"qft16_{name}.{fmt}" for name in FIGURES]
    for path in paths:
        data = path.read_bytes()
        assert len(data) > 1000
        if fmt == "png":
            assert data.startswith(PNG_MAGIC)
        else:
            root = ET.fromstring(data)
            assert root.tag.endswith("svg")


def test_default_prefix_is_inside_the_folder(outdir, tmp_path):
    pytest.importorskip("matplotlib")
    folder = tmp_path / "copy"
    shutil.copytree(outdir, folder)
    res = run(folder, "--quiet")
    assert res.exit_code == 0 and res.stdout == ""
    for name in FIGURES:
        assert (folder / f"plot_{name}.png").read_bytes().startswith(PNG_MAGIC)


def test_general_network_and_moved_qubits(tmp_path):
    """A line of QPUs (idle links drawn dashed) and a layout whose final QPU differs."""
    pytest.importorskip("matplotlib")
    folder = tmp_path / "line"
    res = CliRunner().invoke(main, ["partition", str(ROOT / "circuits" / "random_10.qasm"),
                                    "--qpus", "3", "--topology", "line", "--out", str(folder),
                                    "--quiet"])
    assert res.exit_code == 0, res.output
    summary = json.loads((folder / "summary.json").read_text())
    summary["layout"]["final"][0] = [(summary["assignment"][0] + 1) % 3, 0]
    (folder / "summary.json").write_text(json.dumps(summary))
    assert not load_outputs(folder)["all_to_all"]
    res = run(folder, "--out", tmp_path / "line")
    assert res.exit_code == 0, res.output
    assert len(res.stdout.splitlines()) == 3


@pytest.mark.parametrize("damage, text", [
    ("no_folder", "no such folder"),
    ("no_schedule", "schedule.json: no such file"),
    ("bad_json", "summary.json: malformed JSON"),
    ("bad_assignment", "assignment[0] must be an integer in [0, 4)"),
    ("bad_link", "link 'x' is not of the form 'i-j'"),
    ("no_pairs", "schedule.json: missing or malformed \"pairs\" list"),
])
def test_refuses_absent_or_malformed_files(outdir, tmp_path, damage, text):
    folder = tmp_path / "d"
    shutil.copytree(outdir, folder)
    summary = json.loads((folder / "summary.json").read_text())
    if damage == "no_folder":
        folder = tmp_path / "missing"
    elif damage == "no_schedule":
        (folder / "schedule.json").unlink()
    elif damage == "bad_json":
        (folder / "summary.json").write_text("{ not json")
    elif damage == "bad_assignment":
        summary["assignment"][0] = 7
        (folder / "summary.json").write_text(json.dumps(summary))
    elif damage == "bad_link":
        summary["ebits_per_link"] = {"x": 1}
        (folder / "summary.json").write_text(json.dumps(summary))
    elif damage == "no_pairs":
        (folder / "schedule.json").write_text("{}")
    res = run(folder, "--out", tmp_path / "p")
    assert res.exit_code == 1, res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("araqne: error: ") and text in lines[0]
    assert not list(tmp_path.glob("p_*"))


def test_missing_matplotlib_is_one_line(outdir, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    res = run(outdir, "--out", tmp_path / "p")
    assert res.exit_code == 1
    assert res.stderr.strip().splitlines() == [
        "araqne: error: araqne plot needs matplotlib, which is not installed: "
        "pip install 'araqne[plot]'"]
