"""Qiskit face of araqne: transpiler passes and the ``init`` stage plugin.

Thin wrappers over :func:`araqne.api.partition`; no logic of their own.

- :class:`PartitionPass` (analysis) stores the :class:`~araqne.api.PartitionResult` of the
  circuit in ``property_set["araqne_partition"]``.
- :class:`DistributePass` (transformation) replaces the circuit by the combined distributed
  circuit: data registers ``qpu<i>``, communication registers ``comm<i>``, the input's classical
  registers, and ``epr`` as the only operation spanning two QPUs (one per Bell pair consumed).
- :func:`distributed_pass_manager` chains the two.
- :class:`AraqneInitPlugin` is registered as the ``init`` stage plugin ``"araqne"``, so
  ``transpile(qc, init_method="araqne", optimization_level=0)`` distributes ``qc``.

Example
-------
>>> from araqne.qiskit import distributed_pass_manager
>>> from araqne.suite import qft
>>> pm = distributed_pass_manager(3, seed=0)
>>> out = pm.run(qft(12))
>>> result = pm.property_set["araqne_partition"]
>>> out.count_ops()["epr"] == result.emit().ebits
True

The plugin's cluster
--------------------
:func:`~qiskit.compiler.transpile` has no option that could carry a cluster description, so the
plugin reads, in this order:

1. the options of an active :func:`plugin_options` context (``network``, ``seed``, ``effort``);
2. the environment: ``ARAQNE_NETWORK`` (a cluster file path, ``"k"`` or ``"k:capacity"``),
   ``ARAQNE_SEED``, ``ARAQNE_EFFORT``;
3. defaults: 2 all-to-all QPUs of capacity ``ceil(n / 2)``, effort 1.

The seed is ``seed_transpiler`` when :func:`transpile` is given one (and no context seed is
set), else ``ARAQNE_SEED``, else 0.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import struct
from pathlib import Path
from typing import Any, Iterator, Union

from qiskit.circuit import QuantumCircuit
from qiskit.converters import circuit_to_dag, dag_to_circuit
from qiskit.dagcircuit import DAGCircuit
from qiskit.transpiler import PassManager
from qiskit.transpiler.basepasses import AnalysisPass, TransformationPass
from qiskit.transpiler.passmanager_config import PassManagerConfig
from qiskit.transpiler.preset_passmanagers.plugin import PassManagerStagePlugin

from .errors import UsageError
from .network import Network

__all__ = [
    "PROPERTY_KEY",
    "NetworkSpec",
    "PartitionPass",
    "DistributePass",
    "distributed_pass_manager",
    "resolve_network",
    "circuit_of",
    "plugin_options",
    "plugin_settings",
    "AraqneInitPlugin",
]

PROPERTY_KEY = "araqne_partition"
"""Property-set key of the :class:`~araqne.api.PartitionResult`."""

_FINGERPRINT_KEY = "araqne_partition_fingerprint"
ENV_NETWORK = "ARAQNE_NETWORK"
ENV_SEED = "ARAQNE_SEED"
ENV_EFFORT = "ARAQNE_EFFORT"
DEFAULT_QPUS = 2

NetworkSpec = Union[Network, int, str, os.PathLike, None]
"""A cluster: a :class:`~araqne.network.Network`, a QPU count ``k`` (uniform all-to-all,
capacity ``ceil(n / k)``), a string ``"k"`` or ``"k:capacity"``, a path to a cluster file (TOML
or JSON), or ``None`` (2 QPUs)."""

_K_SPEC = re.compile(r"^\s*(\d+)\s*(?::\s*(\d+)\s*)?$")


def resolve_network(network: NetworkSpec, num_qubits: int) -> Network:
    """The :class:`~araqne.network.Network` that ``network`` describes for ``num_qubits``.

    Parameters
    ----------
    network : Network, int, str, os.PathLike or None
        See :data:`NetworkSpec`.
    num_qubits : int
        Qubits of the circuit (sets the default capacity ``ceil(n / k)``).

    Returns
    -------
    Network

    Raises
    ------
    UsageError
        A malformed ``"k:capacity"`` or a bad type.
    InputError
        The cluster file cannot be read or is invalid.
    """
    from .api import default_network

    if network is None:
        return default_network(num_qubits, DEFAULT_QPUS)
    if isinstance(network, Network):
        return network
    if isinstance(network, bool):
        raise UsageError(f"network: expected a Network, a QPU count or a path (got {network!r})")
    if isinstance(network, int):
        return default_network(num_qubits, network)
    if isinstance(network, str):
        m = _K_SPEC.match(network)
        if m:
            cap = int(m.group(2)) if m.group(2) is not None else None
            return default_network(num_qubits, int(m.group(1)), cap)
    if isinstance(network, (str, os.PathLike)):
        return Network.from_file(Path(network))
    raise UsageError(f"network: expected a Network, a QPU count or a path "
                     f"(got {type(network).__name__})")


# ------------------------------------------------------------------------------ conversion


def _node_key(node) -> str:
    return f"{node._node_id:012d}"


def circuit_of(dag: DAGCircuit) -> QuantumCircuit:
    """The circuit of ``dag``, its operations in the order they were added where possible.

    :func:`qiskit.converters.dag_to_circuit` lists commuting operations in an order of its own;
    this lists them by node id (a topological order, smallest id first), which for a DAG made
    by :func:`~qiskit.converters.circuit_to_dag` is the circuit's own order.  The partition and
    the emitted programs then match :func:`araqne.api.partition` on the circuit itself.  DAGs
    with classical variables or stretches go through ``dag_to_circuit``.
    """
    if dag.num_vars or dag.num_stretches:
        return dag_to_circuit(dag)
    qc = QuantumCircuit(dag.qubits, dag.clbits, *dag.qregs.values(), *dag.cregs.values(),
                        name=dag.name or None, global_phase=dag.global_phase)
    data = qc._data
    nodes = dag.topological_op_nodes(key=_node_key)
    try:
        for node in nodes:
            data.append(node._to_circuit_instruction())
    except AttributeError:  # private helper gone: the public, slower way
        qc = dag_to_circuit(dag)
    qc.metadata = dict(dag.metadata or {})
    return qc


# ------------------------------------------------------------------------------ fingerprint


def _fingerprint(qc: QuantumCircuit) -> str:
    """A digest of the circuit's instructions (names, parameters, operands), for reuse checks."""
    h = hashlib.blake2b(digest_size=16)
    _feed(h, qc)
    return h.hexdigest()


def _feed(h, qc: QuantumCircuit) -> None:
    qidx = {q: i for i, q in enumerate(qc.qubits)}
    cidx = {c: i for i, c in enumerate(qc.clbits)}
    h.update(struct.pack("<qq", qc.num_qubits, qc.num_clbits))
    for reg in qc.cregs:
        h.update(f"c:{reg.name}:{reg.size};".encode())
    for inst in qc.data:
        op = inst.operation
        h.update(op.name.encode())
        h.update(b"(")
        for p in op.params:
            if isinstance(p, QuantumCircuit):
                _feed(h, p)
            else:
                h.update(repr(p).encode())
            h.update(b",")
        cond = getattr(op, "condition", None)
        if cond is not None:
            h.update(repr(cond).encode())
        h.update(b")")
        h.update(struct.pack(f"<{len(inst.qubits)}q", *(qidx.get(q, -1) for q in inst.qubits)))
        h.update(b"|")
        h.update(struct.pack(f"<{len(inst.clbits)}q", *(cidx.get(c, -1) for c in inst.clbits)))
        h.update(b";")


# ------------------------------------------------------------------------------------ passes


class PartitionPass(AnalysisPass):
    """Partition the circuit over a cluster; store the result in the property set.

    Sets ``property_set["araqne_partition"]`` to the :class:`~araqne.api.PartitionResult` of
    :func:`araqne.api.partition` on the DAG's circuit; the circuit is not changed.

    Parameters
    ----------
    network : Network, int, str or os.PathLike
        The cluster (see :data:`NetworkSpec`); an int ``k`` means ``k`` uniform all-to-all QPUs of
        capacity ``ceil(n / k)``.
    seed : int
        Random seed of the partitioner.
    effort : float
        Work budget of the partitioner.

    Examples
    --------
    >>> from qiskit.transpiler import PassManager
    >>> pm = PassManager([PartitionPass(4, seed=1)])
    >>> _ = pm.run(qc)                                                   # doctest: +SKIP
    >>> pm.property_set["araqne_partition"].ebits                       # doctest: +SKIP
    """

    def __init__(self, network: NetworkSpec, seed: int = 0, effort: float = 1.0):
        super().__init__()
        self.network = network
        self.seed = int(seed)
        self.effort = float(effort)

    def run(self, dag: DAGCircuit) -> None:
        """Partition ``dag``'s circuit and store the result under ``"araqne_partition"``."""
        qc = circuit_of(dag)
        result = _partition(qc, self.network, self.seed, self.effort)
        self.property_set[PROPERTY_KEY] = result
        self.property_set[_FINGERPRINT_KEY] = _fingerprint(qc)


class DistributePass(TransformationPass):
    """Replace the circuit by its distributed form over a cluster.

    The output holds, per QPU ``i``, a data register ``qpu<i>`` and a communication register
    ``comm<i>``, then the input's classical registers and a register of protocol measurements.
    Every operation acts within one QPU, except ``epr a, b`` (``h a; cx a, b``) between
    communication qubits of two linked QPUs: one per Bell pair consumed.  Where each input
    qubit lives is ``property_set["araqne_partition"].emit().layout_initial`` /
    ``layout_final`` (``[qpu, slot]`` pairs).

    A partition already in ``property_set["araqne_partition"]`` is reused when it was made (by
    :class:`PartitionPass`) for the same circuit, network, seed and effort; otherwise the
    circuit is partitioned here and the result stored there.

    Parameters
    ----------
    network : Network, int, str or os.PathLike
        The cluster (see :data:`NetworkSpec`).
    seed : int
        Random seed of the partitioner.
    effort : float
        Work budget of the partitioner.
    """

    def __init__(self, network: NetworkSpec, seed: int = 0, effort: float = 1.0):
        super().__init__()
        self.network = network
        self.seed = int(seed)
        self.effort = float(effort)

    def run(self, dag: DAGCircuit) -> DAGCircuit:
        """Return the DAG of the combined distributed circuit."""
        qc = circuit_of(dag)
        fp = _fingerprint(qc)
        result = self.property_set[PROPERTY_KEY]
        if not self._reusable(result, fp, qc.num_qubits):
            result = _partition(qc, self.network, self.seed, self.effort)
            self.property_set[PROPERTY_KEY] = result
            self.property_set[_FINGERPRINT_KEY] = fp
        out = result.to_circuit()
        # The IR (and so the emitted program) drops the input's global phase; keep it.
        out.global_phase = out.global_phase + qc.global_phase
        out.name = qc.name
        if qc.metadata:
            out.metadata = dict(qc.metadata)
        return circuit_to_dag(out)

    def _reusable(self, result: Any, fp: str, num_qubits: int) -> bool:
        if result is None or self.property_set[_FINGERPRINT_KEY] != fp:
            return False
        if result.seed != self.seed or result.effort != self.effort:
            return False
        return result.network == resolve_network(self.network, num_qubits)


def _partition(qc: QuantumCircuit, network: NetworkSpec, seed: int, effort: float):
    from .api import partition
    return partition(qc, resolve_network(network, qc.num_qubits), seed=seed, effort=effort)


def distributed_pass_manager(network: NetworkSpec, seed: int = 0,
                             effort: float = 1.0) -> PassManager:
    """A pass manager that partitions and distributes a circuit over ``network``.

    Parameters
    ----------
    network : Network, int, str or os.PathLike
        The cluster (see :data:`NetworkSpec`).
    seed : int
        Random seed of the partitioner.
    effort : float
        Work budget of the partitioner.

    Returns
    -------
    qiskit.transpiler.PassManager
        :class:`PartitionPass` then :class:`DistributePass`; after ``pm.run(qc)``,
        ``pm.property_set["araqne_partition"]`` is the :class:`~araqne.api.PartitionResult`.
    """
    return PassManager([PartitionPass(network, seed=seed, effort=effort),
                        DistributePass(network, seed=seed, effort=effort)])


# ------------------------------------------------------------------------------ the plugin


_OPTIONS: dict[str, Any] = {}


@contextlib.contextmanager
def plugin_options(network: NetworkSpec = None, seed: int | None = None,
                   effort: float | None = None) -> Iterator[None]:
    """Set the cluster, seed and effort of the ``"araqne"`` transpiler plugin for a block.

    Options given here take precedence over ``ARAQNE_NETWORK``, ``ARAQNE_SEED``,
    ``ARAQNE_EFFORT`` and ``seed_transpiler``; ``None`` leaves an option to them.  Not
    thread-safe (one process-wide setting), and read when the pass manager is built (by
    :func:`~qiskit.compiler.transpile` or
    :func:`~qiskit.transpiler.generate_preset_pass_manager`).

    Examples
    --------
    >>> from qiskit import transpile
    >>> with plugin_options(network=4, seed=1):                          # doctest: +SKIP
    ...     out = transpile(qc, init_method="araqne", optimization_level=0)
    """
    saved = dict(_OPTIONS)
    for key, value in (("network", network), ("seed", seed), ("effort", effort)):
        if value is not None:
            _OPTIONS[key] = value
    try:
        yield
    finally:
        _OPTIONS.clear()
        _OPTIONS.update(saved)


def _env_number(name: str, kind):
    text = os.environ.get(name, "").strip()
    if not text:
        return None
    try:
        return kind(text)
    except ValueError:
        raise UsageError(f"{name}={text!r}: expected a{'n integer' if kind is int else ' number'}"
                         ) from None


def plugin_settings(pass_manager_config: PassManagerConfig | None = None) -> dict[str, Any]:
    """The ``network``, ``seed`` and ``effort`` the ``"araqne"`` plugin uses now.

    See :func:`plugin_options` and the module documentation for the order of precedence.
    """
    network = _OPTIONS.get("network")
    if network is None:
        network = os.environ.get(ENV_NETWORK, "").strip() or None
    seed = _OPTIONS.get("seed")
    if seed is None and pass_manager_config is not None:
        seed = pass_manager_config.seed_transpiler
    if seed is None:
        seed = _env_number(ENV_SEED, int)
    effort = _OPTIONS.get("effort")
    if effort is None:
        effort = _env_number(ENV_EFFORT, float)
    return {"network": network if network is not None else DEFAULT_QPUS,
            "seed": 0 if seed is None else int(seed),
            "effort": 1.0 if effort is None else float(effort)}


class AraqneInitPlugin(PassManagerStagePlugin):
    """``init`` stage plugin ``"araqne"``: distribute the circuit over a cluster.

    ``transpile(qc, init_method="araqne", optimization_level=0)`` returns the combined
    distributed circuit (see :class:`DistributePass`).  The cluster, seed and effort come from
    :func:`plugin_settings`.  Later stages run on the distributed circuit: give no coupling map
    or target smaller than the distributed circuit, and use ``optimization_level=0`` (or
    ``basis_gates`` containing ``epr``) so that no later pass merges or re-synthesises ``epr``.
    """

    def pass_manager(self, pass_manager_config: PassManagerConfig,
                     optimization_level: int | None = None) -> PassManager:
        """:func:`distributed_pass_manager` with the plugin's settings."""
        return distributed_pass_manager(**plugin_settings(pass_manager_config))
