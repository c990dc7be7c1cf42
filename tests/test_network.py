"""Tests of the network model: file loading and its refusals, graph answers, QEC numbers."""

from __future__ import annotations

import itertools
import json
import random
from collections import deque
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from araqne import qec
from araqne.errors import InfeasibleError, InputError, UsageError
from araqne.network import (BRIDGES, GENERIC_DURATIONS, MODALITY_DURATIONS, Link, Network, QPU)

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "clusters"

# ---------------------------------------------------------------- helpers


def qpus_toml(*specs: str) -> str:
    """``[[qpu]]`` blocks from ``"name:qubits"`` specs."""
    out = []
    for spec in specs:
        name, qubits = spec.split(":")
        out.append(f'[[qpu]]\nname = "{name}"\nqubits = {qubits}\n')
    return "\n".join(out)


def link_toml(a: str, b: str, extra: str = "") -> str:
    return f'\n[[link]]\nbetween = ["{a}", "{b}"]\n{extra}'


def load(tmp_path: Path, text: str, name: str = "cluster.toml") -> Network:
    path = tmp_path / name
    path.write_text(text)
    return Network.from_file(path)


def refuse(tmp_path, text, exc, line, fragment, name="cluster.toml"):
    """Load ``text``; expect ``exc`` whose one-line message starts ``file:line: `` (or
    ``file: `` when ``line`` is None) and contains ``fragment``."""
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(exc) as info:
        Network.from_file(path)
    msg = str(info.value)
    assert type(info.value) is exc
    assert "\n" not in msg
    prefix = f"{path}:{line}: " if line is not None else f"{path}: "
    assert msg.startswith(prefix), msg
    assert fragment in msg, msg
    return msg


BASE = qpus_toml("a:4", "b:4")

# ---------------------------------------------------------------- refusals

REFUSALS = [
    # (id, text, exception, line, fragment)
    ("malformed", "[[qpu]]\nname = \"a\"\nqubits = \n", InputError, "3:10",
     "malformed TOML"),
    ("unknown-qpu-key", qpus_toml("a:4", "b:4") + '\n[[qpu]]\nname = "c"\nqbits = 4\n',
     InputError, 11, "qpu[2]: unknown key 'qbits' (did you mean 'qubits'?)"),
    ("unknown-top-key", 'qpus = 3\n' + BASE, InputError, 1,
     "unknown top-level key 'qpus' (did you mean 'qpu'?)"),
    ("unknown-link-key", BASE + link_toml("a", "b", "fidelty = 0.9\n"), InputError, 11,
     "link[0]: unknown key 'fidelty' (did you mean 'fidelity'?)"),
    ("type-qubits", '[[qpu]]\nname = "a"\nqubits = "4"\n', InputError, 3,
     "qpu[0]: 'qubits' must be an integer (got string \"4\")"),
    ("type-qubits-float", '[[qpu]]\nname = "a"\nqubits = 4.0\n', InputError, 3,
     "'qubits' must be an integer (got float 4.0)"),
    ("type-bool", '[[qpu]]\nname = "a"\nqubits = true\n', InputError, 3,
     "'qubits' must be an integer (got boolean true)"),
    ("type-name", '[[qpu]]\nname = 1\nqubits = 4\n', InputError, 2,
     "'name' must be a string"),
    ("type-between", BASE + '\n[[link]]\nbetween = ["a", "b", "a"]\n', InputError, 10,
     "link[0]: 'between' must be a list of two QPU names"),
    ("type-fidelity", BASE + link_toml("a", "b", 'fidelity = "high"\n'), InputError, 11,
     "'fidelity' must be a finite number"),
    ("type-qpu-table", '[qpu]\nname = "a"\nqubits = 4\n', InputError, 1,
     "'qpu' must be an array of tables"),
    ("type-coupling", '[[qpu]]\nname = "a"\nqubits = 4\ncoupling = [[0, 1, 2]]\n', InputError,
     4, "'coupling' must be one of"),
    ("missing-qpu", 'bridge = "injection"\n', InputError, None, "missing required key 'qpu'"),
    ("missing-name", '[[qpu]]\nqubits = 4\n', InputError, 1,
     "qpu[0]: missing required key 'name'"),
    ("missing-qubits", BASE + '\n[[qpu]]\nname = "c"\n', InputError, 9,
     "qpu[2]: missing required key 'qubits'"),
    ("missing-between", BASE + '\n[[link]]\nrate_hz = 1.0\n', InputError, 9,
     "link[0]: missing required key 'between'"),
    ("duplicate-name", qpus_toml("a:4", "b:4", "a:3"), InputError, 10,
     "qpu[2]: duplicate QPU name 'a' (also qpu[0])"),
    ("unknown-qpu", BASE + link_toml("a", "bb"), InputError, 10,
     "link[0]: 'between' names unknown QPU 'bb' (did you mean 'b'?)"),
    ("self-link", BASE + link_toml("a", "a"), InputError, 10,
     "link[0]: self-link: QPU 'a' is linked to itself"),
    ("duplicate-link", BASE + link_toml("a", "b") + link_toml("b", "a"), InputError, 13,
     "link[1]: duplicate link between 'b' and 'a' (first at link[0])"),
    ("zero-qubits", qpus_toml("a:0"), InputError, 3, "'qubits' must be a positive integer"),
    ("negative-qubits", qpus_toml("a:-3"), InputError, 3,
     "'qubits' must be a positive integer (got -3)"),
    ("negative-comm", '[[qpu]]\nname = "a"\nqubits = 4\ncomm_qubits = -1\n', InputError, 4,
     "'comm_qubits' must be a non-negative integer (got -1)"),
    ("fidelity-zero", BASE + link_toml("a", "b", "fidelity = 0.0\n"), InputError, 11,
     "'fidelity' must be in (0, 1] (got 0.0)"),
    ("fidelity-high", BASE + link_toml("a", "b", "fidelity = 1.5\n"), InputError, 11,
     "'fidelity' must be in (0, 1] (got 1.5)"),
    ("rate-zero", BASE + link_toml("a", "b", "rate_hz = 0\n"), InputError, 11,
     "'rate_hz' must be > 0 (got 0)"),
    ("rate-negative", BASE + link_toml("a", "b", "rate_hz = -1e3\n"), InputError, 11,
     "'rate_hz' must be > 0"),
    ("memory-zero", BASE + link_toml("a", "b", "memory_s = 0.0\n"), InputError, 11,
     "'memory_s' must be > 0"),
    ("rate-nan", BASE + link_toml("a", "b", "rate_hz = nan\n"), InputError, 11,
     "'rate_hz' must be a finite number"),
    ("distance-even", '[[qpu]]\nname = "a"\nqubits = 100\ncode = "surface"\ndistance = 4\n',
     InputError, 5, "distance must be an odd integer >= 3 (got 4)"),
    ("distance-one", '[[qpu]]\nname = "a"\nqubits = 100\ncode = "surface"\ndistance = 1\n',
     InputError, 5, "distance must be an odd integer >= 3 (got 1)"),
    ("distance-missing", '[[qpu]]\nname = "a"\nqubits = 100\ncode = "surface"\n', InputError,
     1, "missing required key 'distance'"),
    ("distance-no-code", '[[qpu]]\nname = "a"\nqubits = 100\ndistance = 3\n', InputError, 4,
     "'distance' is set but 'code' is not"),
    ("unknown-code", '[[qpu]]\nname = "a"\nqubits = 100\ncode = "surfce"\ndistance = 3\n',
     InputError, 4, "unknown code 'surfce' (did you mean 'surface'?)"),
    ("small-block", '[[qpu]]\nname = "a"\nqubits = 48\ncode = "surface"\ndistance = 5\n',
     InputError, 3, "is smaller than one surface-code block of distance 5 (49 physical qubits)"),
    ("mixed-no-bridge", '[[qpu]]\nname = "a"\nqubits = 40\ncode = "surface"\ndistance = 3\n'
     + '\n[[qpu]]\nname = "b"\nqubits = 40\n', InputError, 7,
     "qpu[1]: QPU 'b' has no code but qpu[0] 'a' has code 'surface' distance 3; declare a "
     "top-level bridge = \"injection\""),
    ("mixed-distance", '[[qpu]]\nname = "a"\nqubits = 100\ncode = "surface"\ndistance = 3\n'
     + '\n[[qpu]]\nname = "b"\nqubits = 100\ncode = "surface"\ndistance = 5\n', InputError, 11,
     "bridge = \"lattice-surgery\""),
    ("surgery-uncoded", 'bridge = "lattice-surgery"\n[[qpu]]\nname = "a"\nqubits = 40\n'
     + 'code = "surface"\ndistance = 3\n\n[[qpu]]\nname = "b"\nqubits = 40\n', InputError, 8,
     "joins coded QPUs only"),
    ("unknown-bridge", 'bridge = "glue"\n' + BASE, InputError, 1, "unknown bridge 'glue'"),
    ("bridge-table", '[bridge]\nkind = "lattice-sugery"\n\n' + BASE, InputError, 2,
     "bridge: unknown bridge 'lattice-sugery' (did you mean 'lattice-surgery'?)"),
    ("coupling-name", '[[qpu]]\nname = "a"\nqubits = 4\ncoupling = "ring"\n', InputError, 4,
     "unknown coupling 'ring'"),
    ("coupling-range", '[[qpu]]\nname = "a"\nqubits = 4\ncoupling = [[0, 4]]\n', InputError, 4,
     "names a qubit outside 0..3"),
    ("duration", '[[qpu]]\nname = "a"\nqubits = 4\nt_2q = 0\n', InputError, 4,
     "'t_2q' must be a positive duration"),
    ("disconnected", qpus_toml("a:4", "b:4", "c:4") + link_toml("a", "b"), InfeasibleError,
     None, "no path between QPU 'a' and QPU 'c'"),
]


@pytest.mark.parametrize("text,exc,line,fragment", [r[1:] for r in REFUSALS],
                         ids=[r[0] for r in REFUSALS])
def test_refusals(tmp_path, text, exc, line, fragment):
    refuse(tmp_path, text, exc, line, fragment)


def test_refuse_malformed_json(tmp_path):
    refuse(tmp_path, '{\n"qpu": [],\n}\n', InputError, "3:1", "malformed JSON",
           name="c.json")


def test_refuse_json_duplicate_key(tmp_path):
    text = '{"qpu": [\n {"name": "a",\n  "qubits": 4,\n  "qubits": 5}]}\n'
    refuse(tmp_path, text, InputError, 4, "duplicate key 'qubits'", name="c.json")


def test_refuse_json_semantic(tmp_path):
    text = json.dumps({"qpu": [{"name": "a", "qubits": 4}, {"name": "b", "qbits": 4}]})
    msg = refuse(tmp_path, text, InputError, None, "qpu[1]: unknown key 'qbits'",
                 name="c.json")
    assert "(did you mean 'qubits'?)" in msg


def test_refuse_missing_file(tmp_path):
    with pytest.raises(InputError, match="cannot read network file"):
        Network.from_file(tmp_path / "nope.toml")


def test_example_message_format(tmp_path):
    """The exact form the issue asks for."""
    path = tmp_path / "cluster.toml"
    path.write_text(qpus_toml("a:4", "b:4") + '\n[[qpu]]\nname = "c"\nqbits = 4\n')
    with pytest.raises(InputError) as info:
        Network.from_file(path)
    assert str(info.value) == f"{path}:11: qpu[2]: unknown key 'qbits' (did you mean 'qubits'?)"


def test_validate_programmatic():
    Network([QPU("a", 4), QPU("b", 4)], [Link(0, 1)]).validate()
    with pytest.raises(InputError, match=r"link\[0\]: QPU index 5 is out of range"):
        Network([QPU("a", 4)], [Link(0, 5)]).validate()
    with pytest.raises(InputError, match=r"qpu\[1\]: duplicate QPU name 'a'"):
        Network([QPU("a", 4), QPU("a", 4)]).validate()
    with pytest.raises(InfeasibleError):
        Network([QPU("a", 4), QPU("b", 4), QPU("c", 4)], [Link(0, 1)]).validate()


# ---------------------------------------------------------------- examples, round trips


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*")), ids=lambda p: p.name)
def test_examples_round_trip(tmp_path, path):
    net = Network.from_file(path)
    out = tmp_path / "again.json"
    out.write_text(json.dumps(net.to_dict()))
    again = Network.from_file(out)
    assert again == net
    assert again.describe() == net.describe()
    json.dumps(net.describe())  # JSON-ready


def test_examples_content():
    ring = Network.from_file(EXAMPLES / "ring6.toml")
    assert ring.k == 6 and not ring.all_to_all and ring.distances().max() == 3
    line = Network.from_file(EXAMPLES / "hetero_line.toml")
    assert line.capacities().tolist() == [40, 20, 20, 10]
    assert line.path(0, 3) == [0, 1, 2, 3]
    assert line.qpus[2].durations()["t_2q"] == 1.5e-4
    surf = Network.from_file(EXAMPLES / "surface_d5.toml")
    assert surf.capacities().tolist() == [500 // 49] * 4
    assert surf.physical_capacities().tolist() == [500] * 4
    assert surf.physical_bell_pairs_per_ebit(0, 1) == 25
    assert surf.physical_bell_pairs_per_ebit(0, 2) == 50  # two hops
    a2a = Network.from_file(EXAMPLES / "all_to_all4.json")
    assert a2a.all_to_all and a2a.links == [] and a2a.k == 4


def test_toml_json_equivalence(tmp_path):
    toml = """
bridge = "lattice-surgery"

[[qpu]]
name = "a"
qubits = 200
comm_qubits = 3
modality = "trapped ion"
code = "surface"
distance = 3
coupling = [[0, 1], [1, 2]]
t_measure = 2e-4

[[qpu]]
name = "b"
qubits = 200
code = "surface"
distance = 5

[[link]]
between = ["a", "b"]
rate_hz = 1.0e5
fidelity = 0.95
memory_s = 1.0e-3
"""
    data = {"bridge": "lattice-surgery",
            "qpu": [{"name": "a", "qubits": 200, "comm_qubits": 3, "modality": "trapped ion",
                     "code": "surface", "distance": 3, "coupling": [[0, 1], [1, 2]],
                     "t_measure": 2e-4},
                    {"name": "b", "qubits": 200, "code": "surface", "distance": 5}],
            "link": [{"between": ["a", "b"], "rate_hz": 1.0e5, "fidelity": 0.95,
                      "memory_s": 1.0e-3}]}
    from_toml = load(tmp_path, toml)
    from_json = load(tmp_path, json.dumps(data, indent=1), "cluster.json")
    assert from_toml == from_json == Network.from_dict(data)
    assert from_toml.describe() == from_json.describe()
    assert from_toml.capacities().tolist() == [200 // 17, 200 // 49]
    # lattice-surgery bridge: the seam protects to the larger distance
    assert from_toml.physical_bell_pairs_per_ebit(0, 1) == 25
    assert from_toml.qpus[0].durations() == {**MODALITY_DURATIONS["trapped-ion"],
                                             "t_measure": 2e-4}
    assert from_toml.qpus[0].coupling_edges() == [(0, 1), (1, 2)]


def test_bridge_table_and_injection(tmp_path):
    net = load(tmp_path, '[bridge]\nkind = "injection"\n\n'
               '[[qpu]]\nname = "a"\nqubits = 17\ncode = "surface"\ndistance = 3\n'
               '\n[[qpu]]\nname = "b"\nqubits = 5\n')
    assert net.bridge == "injection" and set(BRIDGES) >= {"injection", "lattice-surgery"}
    assert net.capacities().tolist() == [1, 5]
    assert net.physical_bell_pairs_per_ebit(0, 1) == 1
    d = net.describe()
    assert d["qpus"][0]["logical_qubits"] == 1 and d["qpus"][0]["block_size"] == 17
    assert d["links"][0]["physical_bell_pairs_per_ebit"] == 1


def test_describe_fields():
    net = Network.from_file(EXAMPLES / "surface_d5.toml")
    d = net.describe()
    q = d["qpus"][0]
    for key in ("name", "data_qubits", "comm_qubits", "code", "distance", "logical_qubits"):
        assert key in q
    assert (q["data_qubits"], q["logical_qubits"], q["code"], q["distance"]) == (500, 10,
                                                                                 "surface", 5)
    assert len(d["links"]) == 4 and d["links"][0]["between"] == ["n0", "n1"]
    assert d["links"][0]["fidelity"] == 0.95


# ---------------------------------------------------------------- distances, paths, Steiner


def test_line_ring_star_grid():
    line = Network.uniform(5, 4, topology="line")
    assert line.distances()[0].tolist() == [0, 1, 2, 3, 4]
    assert line.path(4, 1) == [4, 3, 2, 1]
    assert line.steiner_cost(2, [0, 4]) == 4
    assert line.steiner_tree(0, [2, 4]) == [(0, 1), (1, 2), (2, 3), (3, 4)]

    ring = Network.uniform(6, 4, topology="ring")
    assert ring.distances()[0].tolist() == [0, 1, 2, 3, 2, 1]
    assert ring.path(0, 3) == [0, 1, 2, 3]  # tie broken towards the smaller index
    assert ring.path(3, 0) == [3, 2, 1, 0]
    assert ring.steiner_cost(0, [2, 4]) == 4
    assert ring.steiner_cost(0, [1, 2, 3, 4, 5]) == 5
    assert ring.steiner_cost(0, [3]) == 3

    star = Network.uniform(5, 4, topology="star")
    assert star.distances()[1].tolist() == [1, 0, 2, 2, 2]
    assert star.path(1, 3) == [1, 0, 3]
    assert star.steiner_cost(1, [2, 3, 4]) == 4
    assert star.steiner_tree(1, [2, 3]) == [(0, 1), (0, 2), (0, 3)]

    grid = Network.uniform(9, 4, topology="grid")  # 3 x 3
    assert grid.distances()[0, 8] == 4
    assert grid.path(0, 8) == [0, 1, 2, 5, 8]
    assert grid.steiner_cost(0, [2, 6, 8]) == 6
    assert grid.steiner_cost(4, [0, 2, 6, 8]) == 6

    a2a = Network.uniform(4, 4)
    assert a2a.steiner_cost(0, [1, 2, 3]) == 3
    assert a2a.steiner_tree(2, [0, 3]) == [(0, 2), (2, 3)]
    assert a2a.path(1, 3) == [1, 3] and a2a.path(2, 2) == [2]
    assert a2a.steiner_cost(1, [1]) == 0 and a2a.steiner_tree(1, []) == []


def test_cache_follows_link_changes():
    net = Network.uniform(4, 4, topology="line")
    assert net.distances()[0, 3] == 3
    net.links.append(Link(0, 3))
    assert net.distances()[0, 3] == 1
    assert net.steiner_cost(0, [2, 3]) == 2


def test_pickle_and_copy_after_queries():
    import copy
    import pickle

    net = Network.uniform(5, 4, topology="ring")
    net.steiner_cost(0, [2, 3])
    for again in (pickle.loads(pickle.dumps(net)), copy.deepcopy(net)):
        assert again == net and again.steiner_cost(0, [2, 3]) == 3


def test_distances_copy_is_safe():
    net = Network.uniform(3, 4, topology="line")
    d = net.distances()
    d[0, 2] = 99
    assert net.distances()[0, 2] == 2


def random_connected(rng: random.Random, n: int, extra: int) -> list[tuple[int, int]]:
    edges = set()
    order = list(range(n))
    rng.shuffle(order)
    for i in range(1, n):
        a, b = order[i], order[rng.randrange(i)]
        edges.add((min(a, b), max(a, b)))
    for _ in range(extra):
        a, b = rng.sample(range(n), 2)
        edges.add((min(a, b), max(a, b)))
    return sorted(edges)


def brute_steiner(n: int, edges, terminals: set[int]) -> int:
    """Fewest edges of a tree spanning ``terminals``: smallest connected node set containing
    them, minus one (unit weights)."""
    adj = {i: set() for i in range(n)}
    for a, b in edges:
        adj[a].add(b)
        adj[b].add(a)
    others = [v for v in range(n) if v not in terminals]
    for size in range(len(others) + 1):
        for extra in itertools.combinations(others, size):
            nodes = terminals | set(extra)
            start = next(iter(nodes))
            seen = {start}
            queue = deque([start])
            while queue:
                u = queue.popleft()
                for v in adj[u] & nodes:
                    if v not in seen:
                        seen.add(v)
                        queue.append(v)
            if seen == nodes:
                return len(nodes) - 1
    raise AssertionError("disconnected")


def assert_tree(net: Network, root: int, targets, tree, cost: int):
    terminals = set(targets) | {root}
    assert len(tree) == cost
    assert set(tree) <= set(net.edges())
    nodes = {v for e in tree for v in e} | {root}
    assert terminals <= nodes
    assert len(tree) == len(nodes) - 1
    adj = {v: [] for v in nodes}
    for a, b in tree:
        adj[a].append(b)
        adj[b].append(a)
    seen, stack = {root}, [root]
    while stack:
        for v in adj[stack.pop()]:
            if v not in seen:
                seen.add(v)
                stack.append(v)
    assert seen == nodes


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**9), n=st.integers(2, 9), extra=st.integers(0, 6),
       t=st.integers(1, 6))
def test_steiner_exact_small(seed, n, extra, t):
    """k <= 12: costs come from the table; trees from its back-pointers."""
    rng = random.Random(seed)
    edges = random_connected(rng, n, extra)
    net = Network([QPU(f"q{i}", 1) for i in range(n)], [Link(a, b) for a, b in edges])
    root = rng.randrange(n)
    targets = rng.sample(range(n), min(t, n))
    cost = net.steiner_cost(root, targets)
    assert cost == brute_steiner(n, edges, set(targets) | {root})
    assert_tree(net, root, targets, net.steiner_tree(root, targets), cost)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**9), n=st.integers(13, 16), extra=st.integers(0, 8),
       t=st.integers(2, 5))
def test_steiner_exact_dreyfus_wagner(seed, n, extra, t):
    """k > 12: per-query Dreyfus-Wagner on the terminals."""
    rng = random.Random(seed)
    edges = random_connected(rng, n, extra)
    net = Network([QPU(f"q{i}", 1) for i in range(n)], [Link(a, b) for a, b in edges])
    assert net.steiner_table() is None
    root = rng.randrange(n)
    targets = rng.sample(range(n), t)
    cost = net.steiner_cost(root, targets)
    assert cost == brute_steiner(n, edges, set(targets) | {root})
    assert_tree(net, root, targets, net.steiner_tree(root, targets), cost)


def test_steiner_approximation_many_terminals():
    net = Network.uniform(25, 4, topology="grid")
    targets = list(range(1, 25, 2)) + [24, 20]  # 14 targets + root: approximate
    cost = net.steiner_cost(0, targets)
    tree = net.steiner_tree(0, targets)
    assert_tree(net, 0, targets, tree, cost)
    assert len(set(targets)) <= cost <= 2 * 24


def test_steiner_table():
    rng = random.Random(7)
    for n in (1, 2, 5, 8):
        edges = random_connected(rng, n, 3) if n > 1 else []
        net = Network([QPU(f"q{i}", 1) for i in range(n)], [Link(a, b) for a, b in edges])
        table = net.steiner_table()
        assert table.shape == (n, 1 << n) and table.dtype == np.int64
        assert table.flags.c_contiguous
        for r in range(n):
            assert table[r, 0] == 0
            for mask in range(1 << n):
                targets = [i for i in range(n) if mask >> i & 1]
                assert table[r, mask] == net.steiner_cost(r, targets)
                assert table[r, mask] == table[r, mask | (1 << r)]
    a2a = Network.uniform(5, 4).steiner_table()
    assert all(a2a[r, m] == bin(m | 1 << r).count("1") - 1 for r in range(5) for m in range(32))
    assert Network.uniform(13, 4, topology="ring").steiner_table() is None
    assert Network.uniform(12, 4, topology="ring").steiner_table().shape == (12, 4096)


# ---------------------------------------------------------------- QEC


@pytest.mark.parametrize("d,block,pairs", [(3, 17, 9), (5, 49, 25), (7, 97, 49)])
def test_surface_code_numbers(d, block, pairs):
    code = qec.CODES["surface"]
    assert code.block_size(d) == block == 2 * d * d - 1
    assert code.bell_pairs_per_logical_ebit(d) == pairs
    assert code.cycle_time_factor(d) == d
    assert code.check_distance(d) is None
    assert code.logical_qubits(10 * block + block - 1, d) == 10
    assert qec.CODES["unrotated-surface"].block_size(d) == (2 * d - 1) ** 2
    net = Network.uniform(3, 3 * block, code="surface", distance=d, topology="line")
    assert net.capacities().tolist() == [3, 3, 3]
    assert net.physical_bell_pairs_per_ebit(0, 1) == pairs
    assert net.physical_bell_pairs_per_ebit(0, 2) == 2 * pairs
    assert net.physical_bell_pairs_per_ebit(1, 1) == 0


def test_code_registry():
    class Repetition(qec.Code):
        name = "repetition"

        def block_size(self, distance):
            return 2 * distance - 1

        def bell_pairs_per_logical_ebit(self, distance):
            return distance

        def cycle_time_factor(self, distance):
            return 1.0

    qec.register_code("test-repetition", Repetition())
    try:
        with pytest.raises(ValueError):
            qec.register_code("test-repetition", Repetition())
        with pytest.raises(TypeError):
            qec.register_code("test-bad", object())
        net = Network.from_dict({"qpu": [{"name": "a", "qubits": 12, "code": "test-repetition",
                                          "distance": 3}] * 1})
        assert net.capacities().tolist() == [2]
    finally:
        del qec.CODES["test-repetition"]
    with pytest.raises(InputError, match="unknown code 'color'"):
        qec.get_code("color")


def test_uniform_code_flags():
    with pytest.raises(UsageError, match="--distance is required"):
        Network.uniform(2, 100, code="surface")
    with pytest.raises(UsageError, match="odd integer"):
        Network.uniform(2, 100, code="surface", distance=2)
    with pytest.raises(UsageError, match="smaller than one"):
        Network.uniform(2, 10, code="surface", distance=3)
    with pytest.raises(UsageError, match="unknown code"):
        Network.uniform(2, 100, code="toric", distance=3)


# ---------------------------------------------------------------- timing data


def test_durations():
    assert QPU("a", 4).durations() == GENERIC_DURATIONS
    assert QPU("a", 4, modality="Neutral Atom").durations() == MODALITY_DURATIONS["neutral-atom"]
    assert QPU("a", 4, modality="my lab's qudits").durations() == GENERIC_DURATIONS
    q = QPU("a", 4, modality="photonic", t_1q=2e-9)
    assert q.durations() == {**MODALITY_DURATIONS["photonic"], "t_1q": 2e-9}
    for table in MODALITY_DURATIONS.values():
        assert set(table) == {"t_1q", "t_2q", "t_measure"}
        assert all(0 < v < 1e-2 for v in table.values())


def test_coupling_maps():
    assert QPU("a", 4).coupling_edges() is None
    assert QPU("a", 4, coupling="line").coupling_edges() == [(0, 1), (1, 2), (2, 3)]
    assert QPU("a", 4, coupling="grid").coupling_edges() == [(0, 1), (0, 2), (1, 3), (2, 3)]
    hh = QPU("a", 30, coupling="heavy-hex").coupling_edges()
    nodes = {v for e in hh for v in e}
    assert nodes == set(range(30)) and len(hh) >= 29
