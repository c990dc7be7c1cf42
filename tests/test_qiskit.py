"""The Qiskit face: passes, pass manager and the ``init`` stage plugin agree with the CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from qiskit import QuantumCircuit, qasm2, transpile
from qiskit.converters import circuit_to_dag
from qiskit.transpiler import PassManager
from qiskit.transpiler.preset_passmanagers.plugin import list_stage_plugins

import araqne
import araqne.api
from araqne import suite
from araqne.cli import main
from araqne.errors import UsageError
from araqne.network import Network
from araqne.qiskit import (DistributePass, PartitionPass, circuit_of, distributed_pass_manager,
                           plugin_options, plugin_settings, resolve_network)

ROOT = Path(__file__).resolve().parents[1]
CLUSTER = ROOT / "examples" / "clusters" / "all_to_all4.json"
_REG = re.compile(r"^(qpu|comm)(\d+)$")


def _backend_ready() -> bool:
    try:
        import araqne.backend  # noqa: F401
        from araqne.backend import emit  # noqa: F401
        import araqne.verification  # noqa: F401
    except ImportError:
        return False
    return True


needs_backend = pytest.mark.skipif(not _backend_ready(),
                                   reason="araqne.backend (emission) is not importable yet")


def _cli_summary(tmp_path: Path, qc: QuantumCircuit, *args: str) -> dict:
    path = tmp_path / f"{qc.name}.qasm"
    path.write_text(qasm2.dumps(qc), encoding="utf-8")
    res = CliRunner().invoke(main, ["partition", str(path), *args, "--json"])
    assert res.exit_code == 0, res.output
    return json.loads(res.output)


def _partition_pass(qc: QuantumCircuit, network, seed: int = 0):
    pm = PassManager([PartitionPass(network, seed=seed)])
    out = pm.run(qc)
    assert out == qc  # an analysis pass leaves the circuit alone
    return pm.property_set["araqne_partition"]


def _qpu_of(circ: QuantumCircuit, qubit) -> tuple[str, int]:
    regs = circ.find_bit(qubit).registers
    assert regs, f"qubit {qubit} is in no register"
    m = _REG.match(regs[0][0].name)
    assert m, f"qubit in register {regs[0][0].name!r}, not qpu<i>/comm<i>"
    return m.group(1), int(m.group(2))


def _check_local(circ: QuantumCircuit, network: Network) -> int:
    """Assert every multi-qubit instruction is inside one QPU but ``epr``; return #epr."""
    links = None if network.all_to_all else {tuple(sorted(e)) for e in network.edges()}
    eprs = 0
    for inst in circ.data:
        if len(inst.qubits) < 2:
            continue
        places = [_qpu_of(circ, q) for q in inst.qubits]
        qpus = {p[1] for p in places}
        if inst.operation.name == "epr":
            eprs += 1
            assert len(inst.qubits) == 2
            assert all(kind == "comm" for kind, _ in places), places
            assert len(qpus) == 2, places
            if links is not None:
                assert tuple(sorted(qpus)) in links, places
        else:
            assert len(qpus) == 1, f"{inst.operation.name} spans QPUs {sorted(qpus)}"
    return eprs


# ------------------------------------------------------------------------------ the passes


@pytest.mark.parametrize("name,k,seed", [("qft", 3, 0), ("qft", 2, 5), ("cp", 3, 0)])
def test_partition_pass_matches_cli(tmp_path, name, k, seed):
    # cp_fraction(16, 16) at k=3 partitions differently when its commuting gates are listed in
    # dag_to_circuit's order rather than the circuit's: the pass must keep the circuit's order.
    qc = suite.qft(12) if name == "qft" else suite.cp_fraction(16, 16, seed=1)
    summary = _cli_summary(tmp_path, qc, "--qpus", str(k), "--seed", str(seed))
    result = _partition_pass(qc, k, seed=seed)
    assert result.ebits == summary["ebits"]
    assert [int(p) for p in result.assignment] == summary["assignment"]
    assert result.seed == seed and result.network.k == k


def test_partition_pass_matches_cli_network_file(tmp_path):
    qc = suite.qaoa_maxcut(16, seed=3)
    summary = _cli_summary(tmp_path, qc, "--network", str(CLUSTER))
    result = _partition_pass(qc, str(CLUSTER))
    assert result.ebits == summary["ebits"]
    assert [int(p) for p in result.assignment] == summary["assignment"]
    assert result.network == Network.from_file(CLUSTER)


def test_partition_pass_same_as_api():
    qc = suite.cp_fraction(10, 10, seed=1)
    net = Network.uniform(2, 5)
    result = _partition_pass(qc, net, seed=2)
    direct = araqne.api.partition(qc, net, seed=2)
    assert result.ebits == direct.ebits
    assert list(result.assignment) == list(direct.assignment)


@needs_backend
def test_distribute_pass_is_local_with_ebits_epr():
    qc = suite.qft(12)
    net = Network.uniform(3, 4, comm_qubits=8)  # enough comm qubits: no re-made copies
    pm = distributed_pass_manager(net, seed=0)
    out = pm.run(qc)
    result = pm.property_set["araqne_partition"]
    eprs = _check_local(out, net)
    assert eprs == out.count_ops().get("epr", 0)
    assert eprs == result.emit().ebits == result.ebits
    names = {r.name for r in out.qregs}
    assert {f"qpu{i}" for i in range(3)} <= names
    assert names <= {f"qpu{i}" for i in range(3)} | {f"comm{i}" for i in range(3)}


@needs_backend
@pytest.mark.parametrize("network", [2, "3:6", str(ROOT / "examples" / "clusters" / "ring6.toml")])
def test_distribute_pass_other_networks(network):
    qc = suite.cp_fraction(12, 8, seed=4)
    pm = PassManager([DistributePass(network, seed=1)])
    out = pm.run(qc)
    result = pm.property_set["araqne_partition"]
    assert _check_local(out, result.network) == result.emit().ebits >= result.ebits


@needs_backend
def test_distribute_pass_keeps_registers_and_phase():
    qc = suite.ghz(6)
    qc.measure_all()
    qc.global_phase = 0.25
    out = PassManager([DistributePass(2)]).run(qc)
    assert [(r.name, r.size) for r in qc.cregs] == \
        [(r.name, r.size) for r in out.cregs if r.name in {c.name for c in qc.cregs}]
    assert out.global_phase == pytest.approx(0.25)
    assert out.count_ops()["measure"] >= qc.count_ops()["measure"]


@needs_backend
def test_distributed_circuit_verifies():
    pytest.importorskip("qiskit_aer")
    from araqne.verification import verify_circuits
    qc = suite.qft(6)
    pm = distributed_pass_manager(2, seed=0)
    out = pm.run(qc)
    em = pm.property_set["araqne_partition"].emit()
    report = verify_circuits(qc, out, em.layout_initial, em.layout_final, samples=2, shots=4)
    assert report.passed, report.summary()


@needs_backend
def test_distribute_reuses_partition(monkeypatch):
    calls = []
    real = araqne.api.partition

    def counting(*args, **kwargs):
        calls.append(kwargs.get("seed"))
        return real(*args, **kwargs)

    monkeypatch.setattr(araqne.api, "partition", counting)
    qc = suite.qft(8)
    distributed_pass_manager(2, seed=3).run(qc)
    assert calls == [3]  # DistributePass reused PartitionPass's result
    calls.clear()
    PassManager([PartitionPass(2, seed=3), DistributePass(2, seed=4)]).run(qc)
    assert calls == [3, 4]  # another seed: partitioned again
    calls.clear()
    PassManager([PartitionPass(2), DistributePass(3)]).run(qc)
    assert len(calls) == 2  # another network
    calls.clear()
    other = suite.qft(8)
    other.h(0)

    class Swap(PartitionPass):  # partition one circuit, then hand another to DistributePass
        def run(self, dag):
            super().run(circuit_to_dag(qc))
    pm = PassManager([Swap(2), DistributePass(2)])
    pm.run(other)
    assert len(calls) == 2  # another circuit


def test_circuit_of_keeps_the_circuit_order():
    for qc in (suite.cp_fraction(16, 16, seed=1), suite.random_mixed(8, 8, seed=3),
               suite.qft(10)):
        qc.global_phase = 0.5
        back = circuit_of(circuit_to_dag(qc))
        assert back == qc and list(back.data) == list(qc.data)
        assert back.name == qc.name and back.global_phase == qc.global_phase
    # after an edit, still a valid circuit equivalent to the DAG
    qc = suite.qft(6)
    dag = circuit_to_dag(qc)
    node = next(n for n in dag.op_nodes() if n.op.name == "cp")
    from qiskit.circuit.library import CZGate
    dag.substitute_node(node, CZGate())
    assert circuit_to_dag(circuit_of(dag)) == dag


# ------------------------------------------------------------------------------ network specs


def test_resolve_network():
    assert resolve_network(3, 10).capacities().tolist() == [4, 4, 4]
    assert resolve_network("3", 10).capacities().tolist() == [4, 4, 4]
    assert resolve_network("2:7", 10).capacities().tolist() == [7, 7]
    assert resolve_network(None, 9).capacities().tolist() == [5, 5]
    net = Network.uniform(2, 3)
    assert resolve_network(net, 6) is net
    assert resolve_network(CLUSTER, 8) == Network.from_file(CLUSTER)
    assert resolve_network(str(CLUSTER), 8) == Network.from_file(CLUSTER)
    with pytest.raises(UsageError):
        resolve_network(0, 4)
    with pytest.raises(UsageError):
        resolve_network(2.5, 4)


def test_plugin_settings_precedence(monkeypatch):
    from qiskit.transpiler.passmanager_config import PassManagerConfig
    for var in ("ARAQNE_NETWORK", "ARAQNE_SEED", "ARAQNE_EFFORT"):
        monkeypatch.delenv(var, raising=False)
    assert plugin_settings() == {"network": 2, "seed": 0, "effort": 1.0}
    cfg = PassManagerConfig(seed_transpiler=11)
    assert plugin_settings(cfg)["seed"] == 11
    monkeypatch.setenv("ARAQNE_NETWORK", "4:5")
    monkeypatch.setenv("ARAQNE_SEED", "7")
    monkeypatch.setenv("ARAQNE_EFFORT", "0.5")
    assert plugin_settings() == {"network": "4:5", "seed": 7, "effort": 0.5}
    assert plugin_settings(cfg)["seed"] == 11
    with plugin_options(network=3, seed=1):
        assert plugin_settings(cfg) == {"network": 3, "seed": 1, "effort": 0.5}
    assert plugin_settings()["network"] == "4:5"
    monkeypatch.setenv("ARAQNE_SEED", "x")
    with pytest.raises(UsageError):
        plugin_settings()


# ------------------------------------------------------------------------------ the plugin


def test_plugin_is_listed():
    assert "araqne" in list_stage_plugins("init")


@needs_backend
def test_plugin_route_matches_pass(monkeypatch):
    for var in ("ARAQNE_NETWORK", "ARAQNE_SEED", "ARAQNE_EFFORT"):
        monkeypatch.delenv(var, raising=False)
    qc = suite.qft(12)
    net = Network.uniform(3, 4, comm_qubits=8)
    pm = distributed_pass_manager(net, seed=0)
    by_pass = pm.run(qc)
    ebits = pm.property_set["araqne_partition"].ebits

    with plugin_options(network=net, seed=0):
        by_plugin = transpile(qc, init_method="araqne", optimization_level=0)
    assert by_plugin.count_ops()["epr"] == ebits == by_pass.count_ops()["epr"]
    assert _check_local(by_plugin, net) == ebits

    # The network from ARAQNE_NETWORK, the seed from seed_transpiler.
    monkeypatch.setenv("ARAQNE_NETWORK", "3")
    by_env = transpile(qc, init_method="araqne", optimization_level=0, seed_transpiler=0)
    pm = distributed_pass_manager(3, seed=0)
    by_pass = pm.run(qc)
    emitted = pm.property_set["araqne_partition"].emit().ebits
    assert by_env.count_ops().get("epr", 0) == by_pass.count_ops()["epr"] == emitted
    assert _check_local(by_env, resolve_network(3, qc.num_qubits)) == emitted
    assert emitted == araqne.distribute(qc, qpus=3, seed=0).summary()["ebits"]


@needs_backend
def test_plugin_default_two_qpus_at_default_level(monkeypatch):
    monkeypatch.delenv("ARAQNE_NETWORK", raising=False)
    qc = suite.qft(8)
    out = transpile(qc, init_method="araqne", seed_transpiler=0)  # default optimization level
    pm = distributed_pass_manager(2, seed=0)
    pm.run(qc)
    emitted = pm.property_set["araqne_partition"].emit().ebits
    assert _check_local(out, resolve_network(2, 8)) == emitted


def test_top_level_exports():
    import inspect
    assert araqne.Network is Network
    assert araqne.distribute is araqne.api.distribute
    assert araqne.PartitionResult is araqne.api.PartitionResult
    assert araqne.partition is araqne.api.partition
    assert inspect.signature(araqne.partition) == inspect.signature(araqne.api.partition)
    qc = suite.qft(6)
    result = araqne.partition(qc, qpus=2, seed=1)
    assert isinstance(result, araqne.PartitionResult)
    assert araqne.cost(result.circuit, result.assignment, result.gate_qpu, result.network,
                       result.packets) == result.ebits == araqne.objective.cost(
        result.circuit, result.assignment, result.gate_qpu, result.network, result.packets)
    from araqne.partitioner import partition_hypergraph  # the package still works
    assert callable(partition_hypergraph)
    with pytest.raises(AttributeError):
        araqne.no_such_name  # noqa: B018


@needs_backend
def test_top_level_verify():
    pytest.importorskip("qiskit_aer")
    report = araqne.verify(suite.qft(6), qpus=2, seed=0, samples=2, shots=4)
    assert report.passed, report.summary()
