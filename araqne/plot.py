"""Figures of a partition: ``araqne plot DIR``.

Reads the folder ``araqne partition CIRCUIT --out DIR`` wrote (``summary.json`` and
``schedule.json``) and draws three figures with matplotlib (the optional ``plot`` extra; files
only, no window: the Agg and SVG canvases are used directly, whatever ``MPLBACKEND`` says):

``<PREFIX>_cluster.<fmt>``
    The cluster: QPUs as nodes whose area grows with the data qubits they hold, links with the
    e-bits they carry as labels and line widths.  On an all-to-all network only the pairs that
    carry e-bits are drawn; on a general network every link is (idle ones thin and dashed).
``<PREFIX>_assignment.<fmt>``
    The assignment: input qubit index against its QPU (hollow markers and a line to the final
    QPU for qubits that end elsewhere).
``<PREFIX>_timeline.<fmt>``
    E-bit consumption per link: the cumulative number of Bell pairs each link has delivered and
    that have been consumed by the step on the x axis (``consumed`` of every pair in
    schedule.json; steps are ASAP layers of distributed.qasm).

``PREFIX`` defaults to ``DIR/plot``.  Missing or malformed files, and a missing matplotlib, are
one-line errors (:class:`~araqne.errors.InputError`, :class:`PlotError`).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import click

from .errors import AraqneError, InputError, UsageError

FIGURES = ("cluster", "assignment", "timeline")


class PlotError(AraqneError):
    """The figures cannot be drawn (matplotlib missing, output not writable)."""

    exit_code = 1


# ------------------------------------------------------------------------------------------------
# reading and checking the inputs


def _read_json(path: Path) -> Any:
    if not path.exists():
        raise InputError(f"{path}: no such file (give a folder written by "
                         f"'araqne partition CIRCUIT --qpus K --out DIR')")
    if not path.is_file():
        raise InputError(f"{path}: is not a file")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text") from None
    except json.JSONDecodeError as err:
        raise InputError(f"{path}: malformed JSON ({err.msg} at line {err.lineno})") from None
    except OSError as err:
        raise InputError(f"{path}: cannot read: {err.strerror or err}") from None


def _int(value, what: str, path: Path, low: int = 0, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low or \
            (high is not None and value >= high):
        bound = f" in [{low}, {high})" if high is not None else f" >= {low}"
        raise InputError(f"{path}: {what} must be an integer{bound} (got {value!r})")
    return value


def _link_key(key, path: Path, k: int) -> tuple[int, int]:
    try:
        a, b = (int(x) for x in str(key).split("-"))
    except ValueError:
        raise InputError(f"{path}: link {key!r} is not of the form 'i-j'") from None
    if not (0 <= a < k and 0 <= b < k) or a == b:
        raise InputError(f"{path}: link {key!r} names QPUs outside 0..{k - 1}")
    return (a, b) if a < b else (b, a)


def load_outputs(folder: Path) -> dict:
    """Read and check ``summary.json`` and ``schedule.json`` of a partition's output folder.

    Returns ``{"k", "names", "data_qubits", "links" (list of (a, b) of the link graph),
    "all_to_all", "ebits_per_link" ({(a, b): n}), "assignment", "final", "pairs" (list of
    ((a, b), consumed step)), "num_steps", "ebits", "input"}``.
    """
    folder = Path(folder)
    if not folder.exists():
        raise InputError(f"{folder}: no such folder")
    if not folder.is_dir():
        raise InputError(f"{folder}: is not a folder (give the --out folder of "
                         f"'araqne partition')")
    spath, tpath = folder / "summary.json", folder / "schedule.json"
    summary, schedule = _read_json(spath), _read_json(tpath)
    if not isinstance(summary, dict):
        raise InputError(f"{spath}: expected a JSON object")
    qpus = summary.get("qpus")
    if not isinstance(qpus, list) or not qpus or not all(isinstance(q, dict) for q in qpus):
        raise InputError(f"{spath}: missing or malformed \"qpus\" list")
    k = len(qpus)
    names = [str(q.get("name", f"qpu{i}")) for i, q in enumerate(qpus)]
    data = [_int(q.get("data_qubits"), f"qpus[{i}].data_qubits", spath)
            for i, q in enumerate(qpus)]
    per_link = summary.get("ebits_per_link")
    if not isinstance(per_link, dict):
        raise InputError(f"{spath}: missing or malformed \"ebits_per_link\"")
    ebits_per_link: dict[tuple[int, int], int] = {}
    for key, count in per_link.items():
        pair = _link_key(key, spath, k)
        ebits_per_link[pair] = ebits_per_link.get(pair, 0) + _int(
            count, f"ebits_per_link[{key!r}]", spath)
    assignment = summary.get("assignment")
    if not isinstance(assignment, list) or not assignment:
        raise InputError(f"{spath}: missing or malformed \"assignment\" list")
    assignment = [_int(p, f"assignment[{q}]", spath, 0, k) for q, p in enumerate(assignment)]
    final = list(assignment)
    layout = summary.get("layout")
    if isinstance(layout, dict) and isinstance(layout.get("final"), list) and \
            len(layout["final"]) == len(assignment):
        try:
            final = [_int(row[0], f"layout.final[{q}]", spath, 0, k)
                     for q, row in enumerate(layout["final"])]
        except (TypeError, IndexError, KeyError):
            raise InputError(f"{spath}: malformed \"layout\"") from None
    network = summary.get("network")
    all_to_all = True
    links: list[tuple[int, int]] = []
    if isinstance(network, dict):
        all_to_all = bool(network.get("all_to_all", True))
        for i, link in enumerate(network.get("links") or []):
            if not isinstance(link, dict):
                raise InputError(f"{spath}: network.links[{i}] is not an object")
            a = _int(link.get("a"), f"network.links[{i}].a", spath, 0, k)
            b = _int(link.get("b"), f"network.links[{i}].b", spath, 0, k)
            links.append((min(a, b), max(a, b)))
    if not links:
        links = [(a, b) for a in range(k) for b in range(a + 1, k)]

    if not isinstance(schedule, dict) or not isinstance(schedule.get("pairs"), list):
        raise InputError(f"{tpath}: missing or malformed \"pairs\" list")
    pairs = []
    for i, rec in enumerate(schedule["pairs"]):
        if not isinstance(rec, dict):
            raise InputError(f"{tpath}: pairs[{i}] is not an object")
        ends = rec.get("path") or rec.get("qpus")
        if not isinstance(ends, list) or len(ends) < 2:
            raise InputError(f"{tpath}: pairs[{i}] has no \"path\" of two QPUs")
        a = _int(ends[0], f"pairs[{i}].path[0]", tpath, 0, k)
        b = _int(ends[-1], f"pairs[{i}].path[-1]", tpath, 0, k)
        step = rec.get("consumed", rec.get("epr_step"))
        pairs.append(((min(a, b), max(a, b)), _int(step, f"pairs[{i}].consumed", tpath)))
    num_steps = schedule.get("num_steps")
    if not isinstance(num_steps, int) or isinstance(num_steps, bool) or num_steps < 0:
        num_steps = max((s for _, s in pairs), default=0)
    return {"k": k, "names": names, "data_qubits": data, "links": sorted(set(links)),
            "all_to_all": all_to_all, "ebits_per_link": ebits_per_link,
            "assignment": assignment, "final": final, "pairs": pairs,
            "num_steps": int(num_steps), "ebits": summary.get("ebits"),
            "input": str(summary.get("input", folder.name))}


# ------------------------------------------------------------------------------------------------
# drawing


def _matplotlib():
    try:
        import matplotlib  # noqa: F401
        from matplotlib.figure import Figure
    except ImportError:
        raise PlotError("araqne plot needs matplotlib, which is not installed: "
                        "pip install 'araqne[plot]'") from None
    return Figure


def _colors(k: int):
    from matplotlib import colormaps
    cmap = colormaps["tab10" if k <= 10 else "tab20" if k <= 20 else "viridis"]
    if k > 20:
        return [cmap(i / max(1, k - 1)) for i in range(k)]
    return [cmap(i) for i in range(k)]


def _positions(data: dict) -> dict[int, tuple[float, float]]:
    """Node positions: a circle for all-to-all networks, Kamada-Kawai for a link graph (turned
    so that its longest extent is horizontal)."""
    k = data["k"]
    if k == 1:
        return {0: (0.0, 0.0)}
    if not data["all_to_all"]:
        import networkx as nx
        import numpy as np
        g = nx.Graph()
        g.add_nodes_from(range(k))
        g.add_edges_from(data["links"])
        if nx.is_connected(g):
            try:
                raw = nx.kamada_kawai_layout(g)
                xy = np.array([raw[i] for i in range(k)], dtype=float)
                xy -= xy.mean(axis=0)
                _, _, vt = np.linalg.svd(xy, full_matrices=False)
                xy = xy @ vt.T
                scale = np.abs(xy).max() or 1.0
                xy /= scale
                return {i: (float(xy[i, 0]), float(xy[i, 1])) for i in range(k)}
            except Exception:  # noqa: BLE001 - fall back to a circle
                pass
    return {i: (math.cos(math.pi / 2 - 2 * math.pi * i / k),
                math.sin(math.pi / 2 - 2 * math.pi * i / k)) for i in range(k)}


def draw_cluster(data: dict):
    """(a) The cluster graph: QPUs sized by data qubits, links labelled with their e-bits."""
    Figure = _matplotlib()
    from matplotlib.patches import Circle
    k = data["k"]
    pos = _positions(data)
    colors = _colors(k)
    per_link = data["ebits_per_link"]
    edges = set(per_link) | (set() if data["all_to_all"] else set(data["links"]))
    top = max(per_link.values(), default=0) or 1
    gap = min((math.dist(pos[a], pos[b]) for a in range(k) for b in range(a + 1, k)),
              default=1.0)
    r_max = max(0.05, min(0.3, 0.32 * gap))
    most = max(data["data_qubits"], default=1) or 1
    radius = [r_max * max(0.35, math.sqrt(d / most)) for d in data["data_qubits"]]
    xs = [p[0] for p in pos.values()]
    ys = [p[1] for p in pos.values()]
    pad = r_max + 0.15
    width = max(xs) - min(xs) + 2 * pad
    height = max(ys) - min(ys) + 2 * pad + 0.2
    fig = Figure(figsize=(6.4, min(6.4, max(2.6, 6.4 * height / width + 0.5))))
    ax = fig.add_subplot()
    for a, b in sorted(edges):
        n = per_link.get((a, b), 0)
        (xa, ya), (xb, yb) = pos[a], pos[b]
        if n:
            ax.plot([xa, xb], [ya, yb], color="0.35", lw=1.0 + 6.0 * n / top, zorder=1,
                    solid_capstyle="round")
            t = 0.5 if k <= 3 else 0.4  # off the middle: crossing chords keep their labels
            ax.text(xa + t * (xb - xa), ya + t * (yb - ya), str(n), ha="center", va="center",
                    fontsize=9, zorder=3,
                    bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "0.6"})
        else:
            ax.plot([xa, xb], [ya, yb], color="0.75", lw=0.8, ls="--", zorder=1)
    for i in range(k):
        x, y = pos[i]
        ax.add_patch(Circle((x, y), radius[i], facecolor=colors[i], edgecolor="black",
                            zorder=2))
        ax.text(x, y - radius[i] - 0.03, f"{data['names'][i]}\n{data['data_qubits'][i]} qubits",
                ha="center", va="top", fontsize=8, zorder=4)
    ax.set_xlim(min(xs) - pad, max(xs) + pad)
    ax.set_ylim(min(ys) - pad - 0.2, max(ys) + pad)
    ax.set_aspect("equal")
    ax.axis("off")
    kind = "all-to-all: pairs with e-bits" if data["all_to_all"] else "links; dashed: idle"
    total = sum(per_link.values())
    ax.set_title(f"{data['input']}: {k} QPUs, {total} e-bits ({kind})", fontsize=10)
    fig.tight_layout()
    return fig


def draw_assignment(data: dict):
    """(b) The assignment: input qubit index against QPU."""
    Figure = _matplotlib()
    n = len(data["assignment"])
    k = data["k"]
    fig = Figure(figsize=(min(16.0, max(6.4, 0.12 * n + 2)), max(2.8, 0.45 * k + 1.6)))
    ax = fig.add_subplot()
    colors = _colors(k)
    qubits = list(range(n))
    ax.scatter(qubits, data["assignment"], c=[colors[p] for p in data["assignment"]],
               marker="s", s=60 if n <= 64 else 12, edgecolors="black", linewidths=0.4,
               zorder=2, label="initial QPU")
    moved = [q for q in qubits if data["final"][q] != data["assignment"][q]]
    if moved:
        for q in moved:
            ax.plot([q, q], [data["assignment"][q], data["final"][q]], color="0.5", lw=0.8,
                    zorder=1)
        ax.scatter(moved, [data["final"][q] for q in moved], facecolors="none",
                   edgecolors=[colors[data["final"][q]] for q in moved], marker="o", s=50,
                   zorder=2, label="final QPU")
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    ax.set_yticks(range(k))
    ax.set_yticklabels(data["names"])
    ax.set_ylim(-0.6, k - 0.4)
    ax.set_xlim(-0.8, n - 0.2)
    ax.set_xlabel("input qubit")
    ax.set_ylabel("QPU")
    ax.grid(axis="y", color="0.9", zorder=0)
    counts = [data["assignment"].count(p) for p in range(k)]
    ax.set_title(f"{data['input']}: assignment of {n} qubits (per QPU: "
                 f"{', '.join(map(str, counts))})", fontsize=10)
    fig.tight_layout()
    return fig


def draw_timeline(data: dict):
    """(c) Cumulative e-bits consumed per link against the schedule step."""
    Figure = _matplotlib()
    fig = Figure(figsize=(7.2, 4.4))
    ax = fig.add_subplot()
    by_link: dict[tuple[int, int], list[int]] = {}
    for link, step in data["pairs"]:
        by_link.setdefault(link, []).append(step)
    end = max(data["num_steps"], max((s for _, s in data["pairs"]), default=0))
    links = sorted(by_link)
    from matplotlib import colormaps
    cmap = colormaps["tab10" if len(links) <= 10 else "tab20"]
    for i, link in enumerate(links):
        steps = sorted(by_link[link])
        xs = [0] + steps + [end]
        ys = [0] + list(range(1, len(steps) + 1)) + [len(steps)]
        color = cmap(i % cmap.N) if len(links) <= 20 else None
        ax.step(xs, ys, where="post", lw=1.4, color=color,
                label=f"{data['names'][link[0]]}-{data['names'][link[1]]} ({len(steps)})")
    if not links:
        ax.text(0.5, 0.5, "no Bell pairs: every gate is local", ha="center", va="center",
                transform=ax.transAxes)
    ax.set_xlim(0, max(1, end))
    ax.set_ylim(bottom=0)
    from matplotlib.ticker import MaxNLocator
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("step (ASAP layer of distributed.qasm)")
    ax.set_ylabel("cumulative e-bits consumed")
    ax.set_title(f"{data['input']}: e-bits per link, {len(data['pairs'])} in all", fontsize=10)
    if links:
        ax.legend(fontsize=7, ncol=1 if len(links) <= 8 else 2, loc="upper left",
                  title="link (e-bits)", title_fontsize=7)
    ax.grid(color="0.92")
    fig.tight_layout()
    return fig


def output_paths(folder: Path, prefix: str | Path | None, fmt: str) -> dict[str, Path]:
    """Figure name -> file path: ``<PREFIX>_<figure>.<fmt>``; PREFIX defaults to DIR/plot, and a
    PREFIX that is an existing folder (or ends with a slash) means ``PREFIX/plot``."""
    if prefix is None:
        base = Path(folder) / "plot"
    else:
        text = str(prefix)
        base = Path(text)
        if text.endswith(("/", "\\")) or base.is_dir():
            base = base / "plot"
    return {name: base.parent / f"{base.name}_{name}.{fmt}" for name in FIGURES}


def plot_folder(folder: Path, fmt: str = "png", prefix: str | Path | None = None) -> list[Path]:
    """Draw the three figures of a partition output folder; returns the files written."""
    if fmt not in ("png", "svg"):
        raise UsageError(f"--format must be png or svg (got {fmt!r})")
    data = load_outputs(Path(folder))
    _matplotlib()
    paths = output_paths(Path(folder), prefix, fmt)
    import matplotlib
    written = []
    with matplotlib.rc_context({"svg.hashsalt": "araqne", "font.size": 9}):
        figures = {"cluster": draw_cluster, "assignment": draw_assignment,
                   "timeline": draw_timeline}
        for name, draw in figures.items():
            fig = draw(data)
            path = paths[name]
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                meta = {"Date": None} if fmt == "svg" else {"Software": "araqne"}
                fig.savefig(path, format=fmt, dpi=120, metadata=meta)
            except OSError as err:
                raise PlotError(f"{path}: cannot write: {err.strerror or err}") from None
            written.append(path)
    return written


# ------------------------------------------------------------------------------------------------
# the command


def _plot(folder, fmt, prefix, quiet, debug=False):
    for path in plot_folder(folder, fmt, prefix):
        if not quiet:
            click.echo(str(path))


@click.command("plot")
@click.argument("folder", metavar="DIR", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["png", "svg"]), default="png",
              show_default=True, help="Image format.")
@click.option("--out", "-o", "prefix", type=str, default=None,
              help="Prefix of the files: PREFIX_cluster.png, PREFIX_assignment.png, "
                   "PREFIX_timeline.png  [default: DIR/plot]")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors.")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
def plot(folder, fmt, prefix, quiet, debug):
    """Draw the cluster graph, the qubit assignment and the e-bit timeline of DIR.

    DIR is the folder of 'araqne partition CIRCUIT --qpus K --out DIR' (summary.json and
    schedule.json).  Needs matplotlib (pip install 'araqne[plot]').  Prints the files written.
    """
    from .cli import _guarded
    _guarded(_plot)(folder, fmt, prefix, quiet=quiet, debug=debug)


if __name__ == "__main__":  # pragma: no cover
    plot()
