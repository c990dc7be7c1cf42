"""The ``araqne`` command line: a thin face over :mod:`araqne.api`.

Commands
--------
``araqne partition FILE --qpus K [...]``
    Partition a circuit and print a table per QPU.  With ``--out DIR`` the programs are written and
    written (``summary.json``, ``distributed.qasm``, ``qpu<i>.qasm``, ``schedule.json``) atomically;
    without it only circuits small enough for the API to emit (to count the Bell pairs really
    consumed) are emitted, so huge circuits stay fast and their e-bits are the cost-model
    figure.  ``--verify`` emits and checks the distributed program by simulation.  ``--route``
    routes each QPU program onto its coupling map (SABRE) and reports the SWAPs added; with
    ``--out`` it also writes ``qpu<i>.routed.qasm`` and ``routing.json``.
``araqne verify FILE --qpus K [...]``
    Partition, emit and verify; prints the report line; exit 0 on pass, 1 on fail.

The cluster is either ``--qpus K [--capacity C] [--comm-qubits M] [--topology T] [--code NAME
--distance D]`` (identical QPUs) or ``--network FILE`` (TOML or JSON).  The two are exclusive: a
network file says the communication qubits of each QPU itself, so ``--comm-qubits`` with
``--network`` is a usage error (like ``--qpus``, ``--capacity`` and ``--topology``).

Errors
------
Every deliberate failure is an :class:`~araqne.errors.AraqneError`: the CLI prints one line
``araqne: error: <message>`` on stderr and exits with its code (2 for usage errors, 1 for bad input
or an infeasible request).  Option parsing errors of click are printed in the same one-line form
and exit 2.  A failed verification exits 1.  Anything else is a bug: one line ``araqne: error:
internal error: ...`` and exit 3.  Ctrl-C exits 130 and leaves no partial ``--out`` folder.
``--debug`` shows the traceback instead of the one line.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import math
import os
import secrets
import shutil
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

import click

from . import __version__
from .errors import AraqneError, InputError, UsageError

#: Largest distributed program (data plus communication qubits) ``--verify`` simulates by default.
VERIFY_MAX_QUBITS = 26


class VerificationFailed(AraqneError):
    """The distributed program does not match the input circuit."""

    exit_code = 1


class OutputError(AraqneError):
    """``--out`` cannot be written (permissions, disk full, ...)."""

    exit_code = 1


# ------------------------------------------------------------------------------------------------
# errors: one line on stderr and an exit code


def _fail(message: str, code: int) -> None:
    click.echo(f"araqne: error: {message}", err=True)
    sys.exit(code)


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _guarded(func):
    """Turn AraqneError (and unexpected errors) into one line on stderr and an exit code."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        debug = kwargs.get("debug", False)
        try:
            with warnings.catch_warnings():
                if kwargs.get("quiet", False):
                    warnings.simplefilter("ignore")
                return func(*args, **kwargs)
        except AraqneError as err:
            if debug:
                raise
            _fail(_one_line(err), err.exit_code)
        except KeyboardInterrupt:
            if debug:
                raise
            _fail("interrupted; nothing was written", 130)
        except BrokenPipeError:
            # stdout closed early (``araqne ... | head``): stop quietly, as Python recommends.
            with contextlib.suppress(Exception):
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, sys.stdout.fileno())
            sys.exit(1)
        except MemoryError:
            if debug:
                raise
            _fail("out of memory; try a smaller circuit or a lower --effort", 1)
        except Exception as err:  # noqa: BLE001 - a bug: say so in one line
            if debug:
                raise
            _fail(_one_line(f"internal error: {type(err).__name__}: {err} (rerun with --debug "
                            f"for the traceback, and please report it)"), 3)

    return wrapper


class _Group(click.Group):
    """A click group that prints click's own usage errors as one line too."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.NoArgsIsHelpError as err:  # plain ``araqne``: show the help
            err.show()
            sys.exit(err.exit_code)
        except click.ClickException as err:
            msg = _one_line(err.format_message())
            ctx = getattr(err, "ctx", None)
            if isinstance(err, click.UsageError) and ctx is not None:
                msg += f" (see '{ctx.command_path} --help')"
            _fail(msg, err.exit_code)
        except click.Abort:  # Ctrl-C while click parsed the options
            _fail("interrupted; nothing was written", 130)
        sys.exit(rv if isinstance(rv, int) else 0)


# ------------------------------------------------------------------------------------------------
# progress: a spinner on stderr for stages longer than about a second


class _UI:
    """What the command prints: nothing under --quiet, only JSON under --json."""

    def __init__(self, quiet: bool, as_json: bool):
        self.quiet = quiet
        self.as_json = as_json
        try:
            tty = sys.stderr.isatty()
        except (AttributeError, ValueError):
            tty = False
        self.progress = tty and not quiet and not as_json

    @property
    def talk(self) -> bool:
        """Human-readable output on stdout."""
        return not self.quiet and not self.as_json

    @contextlib.contextmanager
    def stage(self, text: str, delay: float = 1.0):
        """Show a spinner with ``text`` on stderr if the stage lasts more than ``delay`` s."""
        if not self.progress:
            yield
            return
        from rich.console import Console
        status = Console(stderr=True).status(text)
        lock = threading.Lock()
        state = {"started": False, "done": False}

        def start():
            with lock:
                if not state["done"]:
                    status.start()
                    state["started"] = True

        timer = threading.Timer(delay, start)
        timer.daemon = True
        timer.start()
        try:
            yield
        finally:
            timer.cancel()
            with lock:
                state["done"] = True
                if state["started"]:
                    status.stop()


# ------------------------------------------------------------------------------------------------
# shared options and steps


def _check_effort(ctx, param, value):
    if value is not None and not (math.isfinite(value) and value > 0):
        raise click.BadParameter(f"must be a positive number (got {value})")
    return value


def _cluster_options(func):
    """--qpus, --capacity, --comm-qubits, --topology, --code, --distance, --network."""
    options = [
        click.option("--qpus", "-k", type=click.IntRange(min=1), default=None,
                     help="Number of identical QPUs (at most the number of qubits)."),
        click.option("--capacity", "-c", type=click.IntRange(min=1), default=None,
                     help="Data qubits per QPU (physical qubits with --code)  "
                          "[default: ceil(n/k)]"),
        click.option("--comm-qubits", type=click.IntRange(min=0), default=None,
                     help="Communication qubits per QPU  [default: 2]"),
        click.option("--topology", type=click.Choice(["all", "line", "ring", "star", "grid"]),
                     default=None, help="Links between the QPUs  [default: all]"),
        click.option("--code", type=str, default=None,
                     help="QEC code every QPU runs (e.g. surface); needs --capacity, --distance."),
        click.option("--distance", type=click.IntRange(min=1), default=None,
                     help="Code distance for --code."),
        click.option("--network", "network_file", type=click.Path(path_type=Path), default=None,
                     help="Cluster file (TOML or JSON); excludes the options above."),
        click.option("--seed", type=click.IntRange(0, 2**32 - 1), default=0, show_default=True,
                     help="Random seed (equal seeds give identical outputs)."),
        click.option("--effort", type=float, default=1.0, show_default=True,
                     callback=_check_effort,
                     help="Partitioner work budget (more restarts when larger)."),
        click.option("--no-reorder", "no_reorder", is_flag=True,
                     help="Emit operations in input order (no commutation-aware reordering)."),
        click.option("--no-comm-aware", "no_comm_aware", is_flag=True,
                     help="Keep the cost model's best partition even when communication qubits "
                          "run short (no comm-aware candidates)."),
        click.option("--no-detach", "no_detach", is_flag=True,
                     help="Run every remote gate beside one of its qubits (no gates on a third "
                          "QPU between linked copies)."),
        click.option("--no-teleport", "no_teleport", is_flag=True,
                     help="Keep every qubit on one QPU for the whole circuit (no state "
                          "teleportation between time slices)."),
        click.option("--no-simplify", "no_simplify", is_flag=True,
                     help="Partition the circuit exactly as written (no cancellation of adjacent "
                          "inverse gates, no H-CZ-H read as CX)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _common_options(func):
    options = [
        click.option("--json", "as_json", is_flag=True,
                     help="Print JSON on stdout and nothing else."),
        click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors (and --json)."),
        click.option("--debug", is_flag=True, help="Show tracebacks."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@dataclasses.dataclass
class _Cluster:
    qpus: int | None
    capacity: int | None
    comm_qubits: int | None
    topology: str | None
    code: str | None
    distance: int | None
    network_file: Path | None


def _check_cluster(cl: _Cluster):
    """Usage errors of the cluster options; reads --network.  Returns the Network or None."""
    if cl.network_file is not None:
        given = [name for name, value in (("--qpus", cl.qpus), ("--capacity", cl.capacity),
                                          ("--comm-qubits", cl.comm_qubits),
                                          ("--topology", cl.topology), ("--code", cl.code),
                                          ("--distance", cl.distance)) if value is not None]
        if given:
            raise UsageError(f"--network describes the whole cluster; drop {', '.join(given)} "
                             f"(set such values per QPU in the network file)")
        from .network import Network
        return Network.from_file(cl.network_file)
    if cl.qpus is None:
        raise UsageError("missing option --qpus K (or --network FILE)")
    if cl.code is not None and cl.capacity is None:
        raise UsageError("--code needs --capacity (physical qubits per QPU)")
    if cl.code is None and cl.distance is not None:
        raise UsageError("--distance needs --code")
    return None


def _build_network(cl: _Cluster, network, circ):
    """The Network of the options, once the circuit is known."""
    if network is not None:
        return network
    if cl.qpus > circ.num_qubits:
        raise UsageError(f"--qpus {cl.qpus} is more than the {circ.num_qubits} qubits of "
                         f"{circ.name}; use at most {circ.num_qubits} QPUs")
    comm = 2 if cl.comm_qubits is None else cl.comm_qubits
    topology = cl.topology or "all"
    if cl.code is not None:
        from .network import Network
        return Network.uniform(cl.qpus, cl.capacity, comm_qubits=comm, topology=topology,
                               code=cl.code, distance=cl.distance)
    from .api import default_network
    return default_network(circ.num_qubits, cl.qpus, cl.capacity, comm_qubits=comm,
                           topology=topology)


def _check_out(out: Path | None, force: bool, inputs) -> None:
    """Refuse an --out that cannot or must not be replaced, before any work."""
    if out is None:
        return
    if out.is_symlink():
        raise UsageError(f"--out {out}: is a symbolic link; give the folder itself")
    if out.exists():
        if not out.is_dir():
            raise UsageError(f"--out {out}: exists and is not a folder")
        if any(out.iterdir()) and not force:
            raise UsageError(f"--out {out}: folder is not empty (use --force to replace it)")
        target = out.resolve()
        cwd = Path.cwd().resolve()
        guarded = [cwd] + [Path(p).resolve() for p in inputs if p is not None]
        for path in guarded:
            if path == target or target in path.parents:
                what = ("the current folder or one above it" if path == cwd
                        else f"the folder holding {path.name}")
                raise UsageError(f"--out {out}: refusing to replace {what}")
    ancestor = out.absolute().parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir() or not os.access(ancestor, os.W_OK | os.X_OK):
        raise UsageError(f"--out {out}: cannot create it in {ancestor} (not a writable folder)")


def _write_outputs(out: Path, force: bool, files: dict[str, str]) -> None:
    """Write ``files`` into ``out`` atomically: into a temporary folder, then renamed."""
    if out.exists():
        if not out.is_dir():
            raise UsageError(f"--out {out}: exists and is not a folder")
        if any(out.iterdir()) and not force:
            raise UsageError(f"--out {out}: folder is not empty (use --force to replace it)")
    tmp = old = None
    try:
        parent = out.resolve().parent
        parent.mkdir(parents=True, exist_ok=True)
        tmp = parent / f".{out.name}.tmp-{secrets.token_hex(6)}"
        tmp.mkdir()  # unlike mkdtemp, honours the umask: the folder becomes --out
        for name, text in files.items():
            with open(tmp / name, "w", encoding="utf-8", newline="\n") as fh:
                fh.write(text)
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=parent))
            os.replace(out, old / "x")
            try:
                os.replace(tmp, out)
            except BaseException:
                os.replace(old / "x", out)  # put the previous folder back
                raise
        else:
            os.replace(tmp, out)
    except OSError as err:
        raise OutputError(f"--out {out}: cannot write: {err.strerror or err}") from None
    finally:
        if tmp is not None and tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
        if old is not None and old.exists():
            shutil.rmtree(old, ignore_errors=True)


def _load(ui: _UI, circuit: Path):
    from .frontend import load
    t0 = time.perf_counter()
    with ui.stage(f"reading {circuit}"):
        circ = load(circuit)
    return circ, time.perf_counter() - t0


def _partition_circuit(ui: _UI, circ, network, seed: int, effort: float, t_frontend: float,
                       strategy: dict):
    from . import api
    with ui.stage(f"partitioning {circ.num_qubits} qubits over {network.k} QPUs"):
        result = api.partition(circ, network, seed=seed, effort=effort, **strategy)
    result.timings["frontend"] = round(t_frontend, 6)  # the CLI read the file itself
    return result


def _check_verify_size(circ, max_qubits: int, flag: str | None) -> None:
    """Refuse at once a circuit the simulator cannot hold (the program has even more qubits)."""
    if circ.num_qubits > max_qubits:
        limit = f"{max_qubits} ({flag})" if flag else f"{max_qubits}"
        raise InputError(f"{circ.name}: {circ.num_qubits} qubits is more than the verification "
                         f"limit of {limit}; statevector simulation needs 2^n amplitudes")


def _verify(ui: _UI, result, samples: int, shots: int, seed: int, max_qubits: int,
            flag: str | None = None):
    """Simulate the emitted program against its input; a program too large for the limit is
    refused naming the circuit and the option that sets the limit (``flag``, if any)."""
    from .verification import verify_program
    em = result.emit()
    with ui.stage("verifying by simulation"):
        source = result.source if result.source is not None else result.circuit  # as read
        try:
            return verify_program(source, em.distributed_qasm, em.layout_initial,
                                  em.layout_final, samples=samples, shots=shots, seed=seed,
                                  max_qubits=max_qubits)
        except InputError as err:
            text = str(err)
            if not text.startswith("distributed program has"):
                raise
            text = text.replace(" (max_qubits)", f" ({flag})" if flag else "")
            raise InputError(f"{result.circuit.name}: {text}") from None


def _plain(value):
    """JSON form of numpy scalars and arrays."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _report_dict(report) -> dict:
    out = {"passed": bool(report.passed), "summary": report.summary()}
    out.update(dataclasses.asdict(report))
    return json.loads(json.dumps(out, default=_plain))


def _ends_per_qpu(summary: dict) -> list[int] | None:
    """E-bits each QPU holds one end of, from the emitted per-link counts ("i-j" keys)."""
    ends = [0] * len(summary["qpus"])
    try:
        for key, count in summary["ebits_per_link"].items():
            a, b = (int(x) for x in key.split("-"))
            ends[a] += int(count)
            ends[b] += int(count)
    except (ValueError, IndexError, AttributeError):
        return None
    return ends


def _timings(result) -> dict[str, float]:
    """Seconds spent per stage (wall clock), rounded to the microsecond."""
    return {k: round(float(v), 6) for k, v in result.timings.items()}


def _print_timings(result) -> None:
    """One line of wall-clock seconds per stage (they vary from run to run, so they are
    printed here and with ``--json``, never written to ``--out``)."""
    stages = ", ".join(f"{k} {v:.2f} s" for k, v in _timings(result).items())
    click.echo(f"wall clock: {stages}")


def _print_table(summary: dict, title: str | None = None) -> None:
    """The per-QPU table; ``title`` (default: the summary's ``input``) names the circuit."""
    from rich.console import Console
    from rich.table import Table
    console = Console()
    emitted = bool(summary.get("emitted"))
    console.print(f"{title or summary['input']}: {summary['num_qubits']} qubits, "
                  f"{summary['num_two_qubit_gates']} two-qubit gates, "
                  f"{len(summary['qpus'])} QPUs", highlight=False)
    table = Table()
    table.add_column("QPU")
    table.add_column("data qubits / capacity", justify="right")
    table.add_column("peak comm qubits / available" if emitted else "comm qubits",
                     justify="right")
    table.add_column("e-bits (ends)", justify="right")
    ends = _ends_per_qpu(summary) if emitted else None
    for i, row in enumerate(summary["qpus"]):
        comm = (f"{row['peak_comm_in_use']} / {row['comm_qubits']}" if "peak_comm_in_use" in row
                else str(row["comm_qubits"]))
        table.add_row(row["name"], f"{row['data_qubits']} / {row['capacity']}", comm,
                      str(row["ebits"] if ends is None else ends[i]))
    console.print(table)
    line = f"e-bits: [bold]{summary['ebits']}[/bold]"
    if emitted and summary["ebits_model"] != summary["ebits"]:
        line += (f" (cost model {summary['ebits_model']}; copies re-made where communication "
                 f"qubits ran short)")
    elif not emitted:
        line += " (cost model; programs not emitted: use --out or --verify)"
    console.print(line, highlight=False)
    physical = summary.get("physical_bell_pairs")
    if physical is not None and physical != summary["ebits"]:
        console.print(f"physical Bell pairs (QEC): [bold]{physical}[/bold]", highlight=False)
    routing = summary.get("routing")
    if routing is not None:
        routed = [r for r in routing["qpus"] if r["routed"]]
        parts = [f"{r['name']} ({r['coupling']}) {r['swaps_added']}, depth "
                 f"{r['depth_before']} -> {r['depth_after']}" for r in routed]
        console.print(f"SWAPs added by routing: [bold]{routing['swaps_added']}[/bold]"
                      + (f" ({'; '.join(parts)})" if parts else
                         " (no QPU declares a coupling map)"), highlight=False)
    timing = summary.get("timing")
    if timing is not None:
        from .backend.timing import format_seconds
        line = (f"time: [bold]{format_seconds(timing['makespan_s'])}[/bold] with Bell pairs on "
                f"demand, {format_seconds(timing['makespan_buffered_s'])} buffered (gates alone "
                f"{format_seconds(timing['makespan_gates_s'])})")
        critical = timing.get("critical_link")
        if critical:
            link = timing["per_link"][critical]
            line += (f"; critical link {link['between'][0]}-{link['between'][1]} "
                     f"(busy {link['busy_fraction_buffered']:.0%})")
        console.print(line, highlight=False)
        if timing["fidelity"] < 1 or timing["memory_factor_buffered"] < 1:
            console.print(f"Bell-pair fidelity (product over e-bits): {timing['fidelity']:.4g}, "
                          f"with memory decay {timing['fidelity_buffered']:.4g}",
                          highlight=False)


# ------------------------------------------------------------------------------------------------
# commands


@click.group(name="araqne", cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="araqne")
def main() -> None:
    """araqne: distribute a quantum circuit over networked QPUs with the fewest Bell pairs."""


@main.command()
@click.argument("circuit", type=click.Path(path_type=Path))
@_cluster_options
@click.option("--out", "-o", type=click.Path(path_type=Path), default=None,
              help="Emit the programs and write summary.json, distributed.qasm, qpu<i>.qasm "
                   "and schedule.json into this folder.")
@click.option("--force", is_flag=True, help="Replace a non-empty --out folder.")
@click.option("--verify", "do_verify", is_flag=True,
              help="Emit and check the distributed program by simulation (exit 1 on failure; "
                   "--out is then not written).")
@click.option("--route", "do_route", is_flag=True,
              help="Route each QPU program onto its coupling map (SABRE) and report the SWAPs "
                   "added; with --out also write qpu<i>.routed.qasm and routing.json.")
@click.option("--no-timings", "no_timings", is_flag=True,
              help="Leave the wall-clock stage times out of summary.json, so that equal runs "
                   "write byte-identical files.")
@_common_options
def partition(circuit, qpus, capacity, comm_qubits, topology, code, distance, network_file, seed,
              effort, no_reorder, no_comm_aware, no_detach, no_teleport, no_simplify, out, force,
              do_verify,
              do_route, no_timings, as_json, quiet, debug):
    """Partition CIRCUIT (OpenQASM 2 or 3) over a cluster of QPUs.

    The e-bits are those the emitted programs consume.  Circuits of more than 300,000
    operations are emitted only with --out (or --verify); without, their e-bits are the cost
    model's.
    """
    cluster = _Cluster(qpus, capacity, comm_qubits, topology, code, distance, network_file)
    strategy = {"reorder": not no_reorder, "comm_aware": not no_comm_aware,
                "detach": not no_detach, "teleport": not no_teleport,
                "simplify": not no_simplify}
    _guarded(_partition)(circuit, cluster, seed, effort, out, force, do_verify, as_json,
                         strategy=strategy, quiet=quiet, debug=debug, do_route=do_route,
                         timings=not no_timings)


@contextlib.contextmanager
def _file_hint(cluster: _Cluster, circuit):
    """Name the circuit in refusals that suggest ``--comm-qubits`` (raised deep in emission,
    where no file is known), and point them at the network file when the cluster came from
    one (``--comm-qubits`` is then refused as a usage error)."""
    try:
        yield
    except AraqneError as err:
        flag = "with --comm-qubits"
        text = str(err)
        if not text.endswith(flag):
            raise
        if cluster.network_file is not None:
            text = text[:-len(flag)] + f"in 'comm_qubits' of that QPU in {cluster.network_file}"
        raise type(err)(f"{circuit}: {text}") from err


def _partition(circuit, cluster, seed, effort, out, force, do_verify, as_json, strategy=None,
               quiet=False, debug=False, do_route=False, timings=True):
    with _file_hint(cluster, circuit):
        _partition_inner(circuit, cluster, seed, effort, out, force, do_verify, as_json,
                         strategy, quiet, do_route, timings)


def _partition_inner(circuit, cluster, seed, effort, out, force, do_verify, as_json, strategy,
                     quiet, do_route, timings=True):
    ui = _UI(quiet, as_json)
    _check_out(out, force, [circuit, cluster.network_file])
    network = _check_cluster(cluster)
    circ, t_frontend = _load(ui, circuit)
    network = _build_network(cluster, network, circ)
    if do_verify:
        _check_verify_size(circ, VERIFY_MAX_QUBITS, None)
    result = _partition_circuit(ui, circ, network, seed, effort, t_frontend, strategy or {})
    if out is not None or do_verify or do_route:
        with ui.stage("emitting the programs"):
            result.emit()
    if do_route:
        with ui.stage("routing the QPU programs"):
            result.route(seed)
    report = _verify(ui, result, 3, 8, seed, VERIFY_MAX_QUBITS) if do_verify else None
    summary = result.summary()
    files = None
    if report is None or report.passed:
        if out is not None:  # written before anything is printed: no success table, then error
            files = result.output_files(timings=timings)
            with ui.stage(f"writing {out}"):
                _write_outputs(out, force, files)
    if as_json:
        printed = dict(summary)
        printed["timings"] = _timings(result)  # wall-clock (with the writing of --out)
        if report is not None:
            printed["verification"] = _report_dict(report)
        click.echo(json.dumps(printed, indent=2))
    elif ui.talk:
        _print_table(summary, title=str(circuit))
        _print_timings(result)
        if report is not None and report.passed:
            click.echo(f"verification: {report.summary()}")
        if files is not None:
            click.echo(f"wrote {out}: {', '.join(files)}")
    if report is not None and not report.passed:
        note = "; nothing was written" if out is not None else ""
        raise VerificationFailed(f"verification failed: {report.summary()}{note}")


@main.command()
@click.argument("circuit", type=click.Path(path_type=Path))
@_cluster_options
@click.option("--samples", type=click.IntRange(min=1), default=3, show_default=True,
              help="Random product input states.")
@click.option("--shots", type=click.IntRange(min=1), default=8, show_default=True,
              help="Runs of the distributed program per input state.")
@click.option("--max-qubits", type=click.IntRange(min=1), default=VERIFY_MAX_QUBITS,
              show_default=True, help="Refuse a distributed program with more qubits.")
@_common_options
def verify(circuit, qpus, capacity, comm_qubits, topology, code, distance, network_file, seed,
           effort, no_reorder, no_comm_aware, no_detach, no_teleport, no_simplify, samples, shots,
           max_qubits,
           as_json, quiet, debug):
    """Distribute CIRCUIT and check the distributed program against it by simulation.

    Prints the report line; exit 0 when it passes, 1 when it fails.
    """
    cluster = _Cluster(qpus, capacity, comm_qubits, topology, code, distance, network_file)
    strategy = {"reorder": not no_reorder, "comm_aware": not no_comm_aware,
                "detach": not no_detach, "teleport": not no_teleport,
                "simplify": not no_simplify}
    _guarded(_verify_command)(circuit, cluster, seed, effort, samples, shots, max_qubits,
                              as_json, strategy=strategy, quiet=quiet, debug=debug)


def _verify_command(circuit, cluster, seed, effort, samples, shots, max_qubits, as_json,
                    strategy=None, quiet=False, debug=False):
    with _file_hint(cluster, circuit):
        _verify_inner(circuit, cluster, seed, effort, samples, shots, max_qubits, as_json,
                      strategy, quiet)


def _verify_inner(circuit, cluster, seed, effort, samples, shots, max_qubits, as_json, strategy,
                  quiet):
    ui = _UI(quiet, as_json)
    network = _check_cluster(cluster)
    circ, t_frontend = _load(ui, circuit)
    network = _build_network(cluster, network, circ)
    _check_verify_size(circ, max_qubits, "--max-qubits")
    result = _partition_circuit(ui, circ, network, seed, effort, t_frontend, strategy or {})
    with ui.stage("emitting the programs"):
        em = result.emit()
    report = _verify(ui, result, samples, shots, seed, max_qubits, "--max-qubits")
    if as_json:
        printed = _report_dict(report)
        printed["ebits"] = int(em.ebits)
        click.echo(json.dumps(printed, indent=2))
    elif ui.talk and report.passed:
        click.echo(f"{report.summary()}; e-bits: {int(em.ebits)}")
    if not report.passed:
        raise VerificationFailed(f"verification failed: {report.summary()}")


from .bench import bench  # noqa: E402  (registered last: they use the helpers above)
from .plot import plot  # noqa: E402

main.add_command(bench)
main.add_command(plot)


if __name__ == "__main__":  # pragma: no cover
    main()
