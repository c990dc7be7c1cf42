"""The ``araqne`` command line: a thin face over :mod:`araqne.api`.

Every deliberate failure is an :class:`~araqne.errors.AraqneError`: the CLI prints its one-line
message on stderr and exits with its code (2 for usage errors, 1 for bad input or an infeasible
request).  ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import click

from . import __version__
from .errors import AraqneError, UsageError


def _fail(message: str, code: int) -> None:
    click.echo(f"araqne: error: {message}", err=True)
    sys.exit(code)


def _guarded(func):
    """Turn AraqneError (and unexpected errors) into one line on stderr and an exit code."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        debug = kwargs.get("debug", False)
        try:
            return func(*args, **kwargs)
        except AraqneError as err:
            if debug:
                raise
            _fail(str(err), err.exit_code)
        except KeyboardInterrupt:
            _fail("interrupted; nothing was written", 130)
        except MemoryError:
            if debug:
                raise
            _fail("out of memory; try a smaller circuit or fewer restarts (--effort)", 1)
        except Exception as err:  # noqa: BLE001 - a bug: say so in one line
            if debug:
                raise
            _fail(f"internal error: {type(err).__name__}: {err} (rerun with --debug for the "
                  f"traceback, and please report it)", 3)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="araqne")
def main() -> None:
    """araqne: distribute a quantum circuit over networked QPUs with the fewest Bell pairs."""


def _network_from_options(num_qubits: int, qpus, capacity, comm_qubits, topology, network_file):
    from .api import default_network
    from .network import Network
    if network_file is not None:
        if qpus is not None or capacity is not None:
            raise UsageError("give either --network or --qpus/--capacity, not both")
        return Network.from_file(network_file)
    if qpus is None:
        raise UsageError("missing option --qpus (or --network FILE)")
    return default_network(num_qubits, qpus, capacity, comm_qubits=comm_qubits,
                           topology=topology)


def _write_outputs(out: Path, force: bool, files: dict[str, str]) -> None:
    """Write ``files`` into ``out`` atomically: into a temporary folder, then renamed."""
    if out.exists():
        if not out.is_dir():
            raise UsageError(f"--out {out}: exists and is not a folder")
        if any(out.iterdir()) and not force:
            raise UsageError(f"--out {out}: folder is not empty (use --force to replace it)")
    parent = out.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=parent))
    try:
        for name, text in files.items():
            (tmp / name).write_text(text, encoding="utf-8")
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=parent))
            os.replace(out, old / "x")
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _print_table(summary: dict, stream_json: bool) -> None:
    from rich.console import Console
    from rich.table import Table
    console = Console()
    table = Table(title=f"{summary['input']}: {summary['num_qubits']} qubits, "
                        f"{summary['num_two_qubit_gates']} two-qubit gates on "
                        f"{len(summary['qpus'])} QPUs")
    table.add_column("QPU")
    table.add_column("data qubits", justify="right")
    table.add_column("capacity", justify="right")
    table.add_column("comm qubits", justify="right")
    table.add_column("e-bits (ends)", justify="right")
    for row in summary["qpus"]:
        table.add_row(row["name"], str(row["data_qubits"]), str(row["capacity"]),
                      str(row.get("peak_comm_in_use", row["comm_qubits"])), str(row["ebits"]))
    console.print(table)
    console.print(f"e-bits: [bold]{summary['ebits']}[/bold]")


@main.command()
@click.argument("circuit", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--qpus", "-k", type=int, default=None, help="Number of QPUs (uniform cluster).")
@click.option("--capacity", "-c", type=int, default=None,
              help="Data qubits per QPU (default ceil(n/k)).")
@click.option("--comm-qubits", type=int, default=2, show_default=True,
              help="Communication qubits per QPU.")
@click.option("--topology", type=click.Choice(["all", "line", "ring", "star", "grid"]),
              default="all", show_default=True, help="Links of the uniform cluster.")
@click.option("--network", "network_file", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Cluster description (TOML or JSON).")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")
@click.option("--effort", type=float, default=1.0, show_default=True,
              help="Partitioner work budget (more restarts when larger).")
@click.option("--out", "-o", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for summary.json (and the distributed programs).")
@click.option("--force", is_flag=True, help="Replace a non-empty --out folder.")
@click.option("--json", "as_json", is_flag=True, help="Print summary.json on stdout only.")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
def partition(circuit, qpus, capacity, comm_qubits, topology, network_file, seed, effort, out,
              force, as_json, debug):
    """Partition CIRCUIT (OpenQASM 2 or 3) over a cluster of QPUs."""
    _guarded(_partition)(circuit, qpus, capacity, comm_qubits, topology, network_file, seed,
                         effort, out, force, as_json, debug=debug)


def _partition(circuit, qpus, capacity, comm_qubits, topology, network_file, seed, effort, out,
               force, as_json, debug=False):
    from . import api
    from .frontend import load
    if out is not None and out.exists() and any(out.iterdir()) and not force:
        raise UsageError(f"--out {out}: folder is not empty (use --force to replace it)")
    circ = load(circuit)
    network = _network_from_options(circ.num_qubits, qpus, capacity, comm_qubits, topology,
                                    network_file)
    result = api.partition(circ, network, seed=seed, effort=effort)
    summary = result.summary()
    if out is not None:
        _write_outputs(out, force, {"summary.json": json.dumps(summary, indent=2) + "\n"})
    if as_json:
        click.echo(json.dumps(summary, indent=2))
    else:
        _print_table(summary, False)
        if out is not None:
            click.echo(f"wrote {out}/summary.json")


if __name__ == "__main__":  # pragma: no cover
    main()
